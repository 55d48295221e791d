/**
 * Every code block of README.md and docs/*.md, checked (scripts/docs/check.ts): run blocks
 * run, shown outputs match what the code prints now, quotes match their source files, and
 * shell commands name scripts and flags that exist. `pnpm docs:update` regenerates stale
 * outputs of run blocks.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDocument, checkQuote, pnpmCommands } from '../docs/check.ts';
import { parseBlocks } from '../docs/markdown.ts';
import { documents, ROOT } from '../docs.ts';

describe('the documents run as written', () => {
  for (const doc of documents()) {
    it(`${doc}: every code block checks`, async () => {
      const { problems } = await checkDocument(ROOT, doc);
      expect(problems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([]);
    });
  }
});

describe('the checker catches what it claims to catch', () => {
  const dir = mkdtempSync(join(ROOT, '.docs-run-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  it('a stale output block is reported and regenerated', async () => {
    const doc = write(
      'stale.md',
      '<!-- run -->\n```ts\nconsole.log(T.tensor([1, 2]).shape);\n```\n\n```text\n[ 3 ]\n```\n',
    );
    const res = await checkDocument(ROOT, doc);
    expect(res.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^stale output/)]);
    expect(res.updated).toContain('```text\n[ 2 ]\n```');
  });
  it('continued blocks share one script; code that throws names its block', async () => {
    const doc = write(
      'throws.md',
      '<!-- run -->\n```ts\nconst x = T.tensor([1, 2]);\n```\n\n<!-- run: continued -->\n```ts\nx.reshape([3]);\n```\n',
    );
    const res = await checkDocument(ROOT, doc);
    expect(res.problems).toHaveLength(1);
    expect(res.problems[0]!.line).toBe(7);
    expect(res.problems[0]!.message).toMatch(/reshape/);
  });
  it('an unmarked TypeScript block is an error', async () => {
    const doc = write('unmarked.md', '```ts\nconst x = 1;\n```\n');
    const res = await checkDocument(ROOT, doc);
    expect(res.problems.map((p) => p.message)).toEqual([expect.stringMatching(/no marker/)]);
  });
  it('a quote that drifted from its file is reported', () => {
    const [ok, bad] = parseBlocks(
      '<!-- quote: scripts/docs.ts -->\n```ts\nexport function documents(root = ROOT): string[] {\n```\n' +
        '<!-- quote: scripts/docs.ts -->\n```ts\nexport function documents(root = HERE): string[] {\n```\n',
    );
    expect(checkQuote(ROOT, ok!)).toBeUndefined();
    expect(checkQuote(ROOT, bad!)).toMatch(/no longer has/);
  });
  it('shell commands: unknown scripts and flags are reported', async () => {
    expect(pnpmCommands('npx -y pnpm@10.34.9 train --seed 1   # comment\npnpm bench --quick')).toEqual([
      { script: 'train', args: ['--seed', '1'] },
      { script: 'bench', args: ['--quick'] },
    ]);
    const doc = write('shell.md', '```bash\npnpm no-such-script\npnpm train --no-such-flag 3\n```\n');
    const msgs = (await checkDocument(ROOT, doc)).problems.map((p) => p.message);
    expect(msgs).toEqual([
      expect.stringMatching(/`pnpm no-such-script`: no such script/),
      expect.stringMatching(/no flag --no-such-flag/),
    ]);
  });
});
