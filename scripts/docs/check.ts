/**
 * Checks that a Markdown document's code is true: its TypeScript runs, its shown outputs are
 * what the code prints now, its quotes still match the source, and its shell commands name
 * scripts and flags that exist. See `markdown.ts` for the markers.
 * @module
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Block, parseBlocks, rewriteBlocks } from './markdown.ts';

/** One thing wrong with a document, located by the line of the block's opening fence. */
export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface CheckResult {
  readonly problems: Problem[];
  /** The document with every stale output block of a run block regenerated. */
  readonly updated: string;
  /** How many blocks of each kind were checked. */
  readonly counts: Record<Block['kind'], number>;
}

/** Names every `run` block may use without importing them. */
const PRELUDE = [
  "import * as T from '@chainrule/tensor';",
  "import * as A from '@chainrule/autograd';",
  "import * as nn from '@chainrule/nn';",
];

const MARK = '@@chainrule-docs-block@@';
const IMPORT = /^import\s[\s\S]*?from\s*['"][^'"]+['"];?[ \t]*$|^import\s+['"][^'"]+['"];?[ \t]*$/gm;

/** Trailing spaces and blank edges removed, and the repository's path, so outputs read the same anywhere. */
function normalizeOutput(s: string, root: string): string {
  return s
    .split(`${root}/`)
    .join('')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n')
    .replace(/^\n+|\n+$/g, '');
}

/** The run blocks grouped into scripts: a `run` block starts one, `run: continued` extends it. */
export function scripts(blocks: readonly Block[]): number[][] {
  const groups: number[][] = [];
  blocks.forEach((b, i) => {
    if (b.kind !== 'run') return;
    const last = groups[groups.length - 1];
    if (b.continued && last) last.push(i);
    else groups.push([i]);
  });
  return groups;
}

/** One ES module from a script's blocks, printing a marker before each block's output. */
export function buildProgram(blocks: readonly Block[], indices: readonly number[]): string {
  const imports = new Set<string>();
  const bodies: string[] = [];
  for (const i of indices) {
    const b = blocks[i]!;
    for (const m of b.code.match(IMPORT) ?? []) imports.add(m.trim().replace(/;?$/, ';'));
    bodies.push(
      `console.log(${JSON.stringify(`${MARK}${i}`)});\n// --- block at line ${b.line}\n${b.code.replace(IMPORT, '')}`,
    );
  }
  const declared = [...imports].join('\n');
  const prelude = PRELUDE.filter((p) => {
    const name = /\* as (\w+)/.exec(p)![1]!;
    return !new RegExp(`\\bas ${name}\\b|[{,]\\s*${name}\\s*[,}]`).test(declared);
  });
  const keepAlive = prelude.map((p) => `void ${/\* as (\w+)/.exec(p)![1]};`);
  return [
    ...prelude,
    ...imports,
    ...keepAlive,
    '',
    ...bodies,
    `console.log(${JSON.stringify(`${MARK}end`)});`,
    '',
  ].join('\n');
}

type Ran = { stdout: string; error?: string };

/** Run a file with tsx from the repository root (in this process's Node, no second CLI process). */
function tsx(root: string, file: string, args: readonly string[] = []): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file, ...args],
      { cwd: root, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout });
        const lines = `${err.message}\n${stderr}`.split('\n').slice(0, 30).join('\n');
        resolve({ stdout, error: lines });
      },
    );
  });
}

/** Run one script of the document; returns what each of its blocks printed. */
async function runScript(
  root: string,
  blocks: readonly Block[],
  indices: readonly number[],
  name: string,
): Promise<{ outputs: Map<number, string>; error?: string }> {
  const dir = join(root, '.docs-run');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, buildProgram(blocks, indices));
  const res = await tsx(root, file);
  const outputs = new Map<number, string>();
  const parts = res.stdout.split(MARK);
  for (const part of parts.slice(1)) {
    const nl = part.indexOf('\n');
    const key = nl < 0 ? part : part.slice(0, nl);
    if (key !== 'end') outputs.set(Number(key), nl < 0 ? '' : part.slice(nl + 1));
  }
  if (!res.error && !parts.some((p) => p.startsWith('end'))) res.error = 'the script stopped before its end';
  if (!res.error) rmSync(file, { force: true });
  return res.error ? { outputs, error: res.error } : { outputs };
}

/** Drop `// ...` elisions and trailing comments, keep code. */
function codeLines(code: string): string[] {
  return code
    .split('\n')
    .map((l) => l.replace(/\s+\/\/.*$/, '').trim())
    .filter((l) => l.length > 0 && !l.startsWith('//') && !/^\.\.\.$/.test(l));
}

/** A quote's code lines (trailing comments aside) must each still occur in the quoted file. */
export function checkQuote(root: string, block: Block): string | undefined {
  const path = join(root, block.target!);
  if (!existsSync(path)) return `quotes ${block.target}, which does not exist`;
  const source = readFileSync(path, 'utf8')
    .split('\n')
    .map((l) => l.trim());
  const missing = codeLines(block.code).filter((l) => !source.some((s) => s.includes(l)));
  if (missing.length === 0) return undefined;
  return `quotes lines that ${block.target} no longer has: ${missing.map((l) => JSON.stringify(l)).join(', ')}`;
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
    // Our TypeScript CLIs: run by tsx, or by node with tsx's loader (`train`, `sweep`: so that
    // Ctrl-C reaches them directly).
    if (flags.length === 0 || !/^(tsx |node --import tsx )/.test(command)) continue;
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
export async function checkDocument(root: string, file: string): Promise<CheckResult> {
  const path = file.startsWith('/') ? file : join(root, file);
  const rel = relative(root, path);
  const markdown = readFileSync(path, 'utf8');
  const blocks = parseBlocks(markdown);
  const problems: Problem[] = [];
  const counts: Record<Block['kind'], number> = {
    run: 0,
    quote: 0,
    output: 0,
    shell: 0,
    prose: 0,
    unmarked: 0,
  };
  for (const b of blocks) counts[b.kind]++;
  const at = (b: Block, message: string) => problems.push({ file: rel, line: b.line, message });

  for (const b of blocks) {
    if (b.kind === 'unmarked') {
      at(
        b,
        'a TypeScript block with no marker: put <!-- run -->, <!-- run: continued --> or <!-- quote: FILE --> above it',
      );
    }
    if (
      b.kind === 'run' &&
      b.continued &&
      !blocks.slice(0, blocks.indexOf(b)).some((x) => x.kind === 'run')
    ) {
      at(b, '<!-- run: continued --> with no run block before it');
    }
  }

  // Every script and every quoted program starts at once; each is awaited below.
  const stem = rel.replace(/\W+/g, '_');
  const groups = scripts(blocks);
  const runs = groups.map((g) => runScript(root, blocks, g, `${stem}_${blocks[g[0]!]!.line}`));
  const programs = new Map<string, Promise<Ran>>();
  for (const b of blocks) {
    if (b.kind !== 'output' || b.target === null || programs.has(b.target)) continue;
    const [script, ...args] = b.target.split(/\s+/);
    programs.set(b.target, tsx(root, script!, args));
  }

  const outputs = new Map<number, string>();
  for (const [k, run] of runs.entries()) {
    const res = await run;
    for (const [i, out] of res.outputs) outputs.set(i, out);
    if (res.error) {
      const failed = [...res.outputs.keys()].pop() ?? groups[k]![0]!;
      at(blocks[failed]!, `the code failed in or after this block: ${res.error}`);
    }
  }

  const updates = new Map<number, string>();
  for (const [i, b] of blocks.entries()) {
    if (b.kind === 'output' && b.outputOf !== null) {
      const actual = outputs.get(b.outputOf);
      if (actual === undefined) continue; // the run failed; reported above
      const want = normalizeOutput(actual, root);
      if (normalizeOutput(b.code, root) !== want) {
        at(b, `stale output of the block at line ${blocks[b.outputOf]!.line}; run \`pnpm docs:update\``);
        updates.set(i, want);
      }
    } else if (b.kind === 'output' && b.target !== null) {
      const res = await programs.get(b.target)!;
      if (res.error) at(b, `\`tsx ${b.target}\` failed: ${res.error}`);
      else if (!normalizeOutput(res.stdout, root).includes(normalizeOutput(b.code, root))) {
        at(b, `stale: this is not in what \`tsx ${b.target}\` prints now; run it and paste its output`);
      }
    } else if (b.kind === 'quote') {
      const p = checkQuote(root, b);
      if (p) at(b, p);
    } else if (b.kind === 'shell') {
      for (const p of checkShell(root, b)) at(b, p);
    }
  }
  return { problems, updated: rewriteBlocks(markdown, blocks, updates), counts };
}
