/**
 * docs/autograd.md stays true. Every TypeScript block carries a marker in an HTML comment
 * (invisible on GitHub) that says how it is checked:
 *
 * - `<!-- quote: FILE -->`: the block quotes FILE. Each code line (a trailing `// ...`
 *   comment removed) must occur in some line of FILE, so a quote cannot drift from the code.
 * - `<!-- run -->`: the block runs as its own script (with `A` and `T` imported) and, when a
 *   text block follows, prints exactly that text. Each script is a fresh process, so the
 *   Var and node ids match what the page shows.
 * - `<!-- output: SCRIPT -->` before a text or mermaid block: the block occurs in what
 *   `npx tsx SCRIPT` prints (the repository's path removed).
 *
 * When this fails after a change, rerun the snippet or script and paste its output.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const docPath = join(repoRoot, 'docs/autograd.md');
const run = promisify(execFile);

interface Block {
  readonly lang: string;
  readonly text: string;
  /** The 1-based line of the opening fence. */
  readonly line: number;
  /** The marker comment right above the fence (blank lines allowed), if any. */
  readonly marker: string | null;
}

function parseBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let lastMarker: { text: string; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const m = /^<!-- (.+) -->$/.exec(l.trim());
    if (m) {
      lastMarker = { text: m[1]!, line: i };
      continue;
    }
    const fence = /^(\s*)```(\w*)\s*$/.exec(l);
    if (!fence) continue;
    const indent = fence[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    const between = lastMarker ? lines.slice(lastMarker.line + 1, i).every((x) => x.trim() === '') : false;
    blocks.push({
      lang: fence[2]!,
      text: body.join('\n'),
      line: i + 1,
      marker: between ? lastMarker!.text : null,
    });
    lastMarker = null;
    i = j;
  }
  return blocks;
}

const blocks = parseBlocks(readFileSync(docPath, 'utf8'));
const where = (b: Block) => `docs/autograd.md:${b.line}`;
const normalize = (out: string) => out.split(`${repoRoot}/`).join('').trimEnd();

/** What a script printed, or why it failed; never rejects, so runs can start early. */
type Ran = { ok: true; stdout: string } | { ok: false; error: string };

function tsx(file: string, args: readonly string[] = []): Promise<Ran> {
  // `--import tsx` runs the script in this one Node process (the tsx CLI would start a second).
  return run(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  }).then(
    (r): Ran => ({ ok: true, stdout: normalize(r.stdout) }),
    (e: Error & { stderr?: string }): Ran => ({ ok: false, error: `${e.message}\n${e.stderr ?? ''}` }),
  );
}

function stdoutOf(r: Ran, what: string): string {
  if (!r.ok) throw new Error(`${what} failed:\n${r.error}`);
  return r.stdout;
}

const snippetDir = mkdtempSync(join(repoRoot, 'examples', '.doc-snippets-'));
afterAll(() => rmSync(snippetDir, { recursive: true, force: true }));

// Every script starts now, in parallel; each test awaits its own.
const header = "import * as A from '@chainrule/autograd';\nimport * as T from '@chainrule/tensor';\n";
const snippetRuns = new Map<Block, Promise<Ran>>();
for (const b of blocks.filter((x) => x.marker === 'run')) {
  const file = join(snippetDir, `line-${b.line}.ts`);
  writeFileSync(file, `${header}${b.text}\nvoid T;\n`);
  snippetRuns.set(b, tsx(file));
}
const scriptRuns = new Map<string, Promise<Ran>>();
for (const b of blocks.filter((x) => x.marker?.startsWith('output: '))) {
  const script = b.marker!.slice('output: '.length);
  if (!scriptRuns.has(script)) {
    const [file, ...args] = script.split(/\s+/);
    scriptRuns.set(script, tsx(file!, args));
  }
}

describe('docs/autograd.md', () => {
  it('marks every TypeScript block as a quote or a runnable snippet', () => {
    const unmarked = blocks.filter((b) => b.lang === 'ts' && !/^(quote: |run$)/.test(b.marker ?? ''));
    expect(unmarked.map(where)).toEqual([]);
    expect(blocks.filter((b) => b.marker === 'run').length).toBeGreaterThanOrEqual(4);
  });

  for (const b of blocks.filter((x) => x.marker?.startsWith('quote: '))) {
    const file = b.marker!.slice('quote: '.length);
    it(`the quote at line ${b.line} matches ${file}`, () => {
      const source = readFileSync(join(repoRoot, file), 'utf8')
        .split('\n')
        .map((l) => l.trim());
      const missing = b.text
        .split('\n')
        .map((l) => l.replace(/\s+\/\/ .*$/, '').trim())
        .filter((l) => l !== '' && !l.startsWith('//'))
        .filter((l) => !source.some((s) => s.includes(l)));
      expect(missing, `${where(b)} quotes lines that ${file} no longer has`).toEqual([]);
    });
  }

  blocks.forEach((b, k) => {
    if (b.marker !== 'run') return;
    const next = blocks[k + 1];
    const expected = next && next.lang === 'text' && next.marker === null ? next.text : null;
    it(`the snippet at line ${b.line} runs${expected === null ? '' : ' and prints what the page shows'}`, async () => {
      const stdout = stdoutOf(await snippetRuns.get(b)!, `the snippet at ${where(b)}`);
      if (expected !== null) expect(stdout, where(b)).toBe(expected.trimEnd());
    });
  });

  for (const b of blocks.filter((x) => x.marker?.startsWith('output: '))) {
    const script = b.marker!.slice('output: '.length);
    it(`the output at line ${b.line} is what ${script} prints`, async () => {
      const out = stdoutOf(await scriptRuns.get(script)!, script);
      expect(out, `${where(b)} is not in the output of ${script}`).toContain(b.text.trimEnd());
    });
  }
});
