/**
 * Checks that a Markdown document's code is true: its TypeScript runs, its shown outputs are
 * what the code prints now, its excerpts still match the source, and its shell commands name
 * scripts and flags that exist. See `markdown.ts` for the block kinds.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { type Block, outputOwners, parseBlocks, rewriteBlocks } from './markdown.ts';

/** One thing wrong with a document, located by the line of the block's opening fence. */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface CheckResult {
  readonly problems: Problem[];
  /** The document with every `output` block regenerated (equal to the input when nothing is stale). */
  readonly updated: string;
  /** How many blocks of each kind were checked. */
  readonly counts: Record<Block['kind'], number>;
}

/** Names every `ts` block may use without importing them. */
const PRELUDE = [
  "import * as T from '@chainrule/tensor';",
  "import * as A from '@chainrule/autograd';",
  "import * as nn from '@chainrule/nn';",
];

const MARK = '@@chainrule-docs-block@@';
const IMPORT = /^import\s[\s\S]*?from\s*['"][^'"]+['"];?[ \t]*$|^import\s+['"][^'"]+['"];?[ \t]*$/gm;

function normalizeOutput(s: string): string {
  return s
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n')
    .replace(/^\n+|\n+$/g, '');
}

/** Build one ES module from the document's `run` blocks, with a marker printed before each. */
export function buildProgram(blocks: readonly Block[]): { source: string; runIndices: number[] } {
  const imports = new Set<string>();
  const bodies: string[] = [];
  const runIndices: number[] = [];
  blocks.forEach((b, i) => {
    if (b.kind !== 'run') return;
    // `ts fresh` starts a new scope: the blocks after it no longer see earlier declarations.
    if (runIndices.length > 0 && b.info.split(/\s+/).includes('fresh')) bodies.push('}\n{');
    runIndices.push(i);
    for (const m of b.code.match(IMPORT) ?? []) imports.add(m.trim().replace(/;?$/, ';'));
    const body = b.code.replace(IMPORT, '');
    bodies.push(`console.log(${JSON.stringify(`${MARK}${i}`)});\n// --- block at line ${b.line}\n${body}`);
  });
  const declared = [...imports].join('\n');
  const prelude = PRELUDE.filter((p) => {
    const name = /\* as (\w+)/.exec(p)![1]!;
    return !new RegExp(`\\bas ${name}\\b|[{,]\\s*${name}\\s*[,}]`).test(declared);
  });
  const source = [
    ...prelude,
    ...imports,
    '{',
    ...bodies,
    '}',
    `console.log(${JSON.stringify(`${MARK}end`)});`,
    '',
  ];
  return { source: source.join('\n'), runIndices };
}

/** Run the program with tsx from the repository root; returns stdout per `run` block index. */
function runProgram(
  root: string,
  name: string,
  source: string,
): { outputs: Map<number, string>; error?: string } {
  const dir = join(root, '.docs-run');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, source);
  const res = spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, CHAINRULE_DOCS_RUN: '1' },
  });
  const outputs = new Map<number, string>();
  const parts = (res.stdout ?? '').split(MARK);
  for (const part of parts.slice(1)) {
    const nl = part.indexOf('\n');
    const key = nl < 0 ? part : part.slice(0, nl);
    if (key === 'end') continue;
    outputs.set(Number(key), nl < 0 ? '' : part.slice(nl + 1));
  }
  const finished = parts.some((p) => p.startsWith('end'));
  if (res.status !== 0 || !finished) {
    const why = res.error ? String(res.error) : `exit code ${res.status}`;
    return { outputs, error: `${why}\n${(res.stderr ?? '').split('\n').slice(0, 30).join('\n')}` };
  }
  rmSync(file, { force: true });
  return { outputs };
}

/** Drop `// ...` elisions and trailing comments, keep code. */
function codeLines(code: string): string[] {
  return code
    .split('\n')
    .map((l) => l.replace(/\s+\/\/.*$/, '').trim())
    .filter((l) => l.length > 0 && !l.startsWith('//') && !/^\.\.\.$/.test(l));
}

/** An excerpt's code lines must appear in the quoted file, in the same order. */
export function checkExcerpt(root: string, block: Block): string | undefined {
  const path = join(root, block.excerptOf!);
  if (!existsSync(path)) return `excerpt of ${block.excerptOf}, which does not exist`;
  const source = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.replace(/\s+\/\/.*$/, '').trim());
  let at = 0;
  for (const line of codeLines(block.code)) {
    const found = source.indexOf(line, at);
    if (found < 0)
      return `excerpt of ${block.excerptOf} is stale: line ${JSON.stringify(line)} is not in the file (in this order)`;
    at = found + 1;
  }
  return undefined;
}

interface Command {
  readonly script: string;
  readonly args: string[];
}

/** The `pnpm SCRIPT ...` commands of a shell block (through npx or not). */
export function pnpmCommands(code: string): Command[] {
  const joined = code.replace(/\\\n/g, ' ');
  const out: Command[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    const m = /^(?:npx\s+(?:-y\s+)?pnpm(?:@[\w.-]+)?|pnpm)\s+(.*)$/.exec(line);
    if (!m) continue;
    const words = m[1]!.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
    const [script, ...args] = words.map((w) => w.replace(/^["']|["']$/g, ''));
    if (script) out.push({ script, args });
  }
  return out;
}

const PNPM_BUILTINS = new Set(['install', 'install-test', 'add', 'exec', 'run', 'test', 'pack', 'i', 'dlx']);

/** Help text per script and subcommand, computed once. */
const helpCache = new Map<string, { text: string; ok: boolean }>();

function helpFor(root: string, command: string, sub: string[]): { text: string; ok: boolean } {
  const key = `${command} ${sub.join(' ')}`;
  const cached = helpCache.get(key);
  if (cached) return cached;
  const res = spawnSync('sh', ['-c', `${command} ${sub.join(' ')} --help`], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` },
  });
  const result = { text: `${res.stdout ?? ''}${res.stderr ?? ''}`, ok: res.status === 0 };
  helpCache.set(key, result);
  return result;
}

/** Each `pnpm SCRIPT` must exist, and for tsx scripts each `--flag` must appear in its `--help`. */
export function checkShell(root: string, block: Block): string[] {
  const scripts: Record<string, string> = JSON.parse(
    readFileSync(join(root, 'package.json'), 'utf8'),
  ).scripts;
  const problems: string[] = [];
  for (const { script, args } of pnpmCommands(block.code)) {
    if (script.startsWith('-')) continue; // pnpm's own flags (--filter ...): nothing of ours to check
    const command = scripts[script];
    if (command === undefined) {
      if (!PNPM_BUILTINS.has(script)) problems.push(`\`pnpm ${script}\`: no such script in package.json`);
      continue;
    }
    const flags = args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]!);
    if (flags.length === 0 || !command.startsWith('tsx ')) continue;
    const sub: string[] = [];
    for (const a of args) {
      if (a.startsWith('-')) break;
      sub.push(a);
    }
    const name = ['pnpm', script, ...sub].join(' ');
    const help = helpFor(root, command, sub);
    if (!help.ok) {
      problems.push(`\`${name} --help\` failed, so its flags cannot be checked`);
      continue;
    }
    for (const f of flags) {
      if (f === '--help') continue;
      if (!new RegExp(`${f.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&')}\\b`).test(help.text)) {
        problems.push(`\`${name}\` has no flag ${f} (not in its --help)`);
      }
    }
  }
  return problems;
}

/** Check one document. `root` is the repository root; `file` is relative to it or absolute. */
export function checkDocument(root: string, file: string): CheckResult {
  const path = file.startsWith('/') ? file : join(root, file);
  const rel = relative(root, path);
  const markdown = readFileSync(path, 'utf8');
  const blocks = parseBlocks(markdown);
  const problems: Problem[] = [];
  const counts: Record<Block['kind'], number> = { run: 0, excerpt: 0, output: 0, shell: 0, prose: 0 };
  for (const b of blocks) counts[b.kind]++;
  const at = (b: Block, message: string) => problems.push({ file: rel, line: b.line, message });

  let outputs = new Map<number, string>();
  if (counts.run > 0) {
    const { source } = buildProgram(blocks);
    const name =
      basename(rel, '.md').replace(/\W/g, '_') + (rel.includes('/') ? `_${rel.split('/')[0]}` : '');
    const res = runProgram(root, name, source);
    outputs = res.outputs;
    if (res.error) {
      const last = [...res.outputs.keys()].pop();
      const b = blocks[last ?? blocks.findIndex((x) => x.kind === 'run')]!;
      at(b, `the document's code failed in or after the block at line ${b.line}: ${res.error}`);
    }
  }

  const updates = new Map<number, string>();
  for (const [outIndex, runIndex] of outputOwners(blocks)) {
    const b = blocks[outIndex]!;
    if (runIndex < 0) {
      at(b, 'an output block with no ts block before it');
      continue;
    }
    const actual = outputs.get(runIndex);
    if (actual === undefined) continue; // the run failed; reported above
    const want = normalizeOutput(actual);
    if (normalizeOutput(b.code) !== want) {
      at(b, `stale output of the block at line ${blocks[runIndex]!.line}; run \`pnpm docs:update\``);
      updates.set(outIndex, want);
    }
  }
  blocks.forEach((b) => {
    if (b.kind === 'excerpt') {
      const p = checkExcerpt(root, b);
      if (p) at(b, p);
    }
    if (b.kind === 'shell') for (const p of checkShell(root, b)) at(b, p);
  });
  return { problems, updated: rewriteBlocks(markdown, blocks, updates), counts };
}
