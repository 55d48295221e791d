/**
 * Every code block of README.md and docs/*.md, checked: `ts` blocks run, shown outputs match
 * what the code prints now, excerpts match their source files, and shell commands name
 * scripts and flags that exist (scripts/docs/check.ts). `pnpm docs:update` regenerates
 * stale outputs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDocument, checkExcerpt, pnpmCommands } from '../docs/check.ts';
import { parseBlocks } from '../docs/markdown.ts';
import { documents, ROOT } from '../docs.ts';

describe('the documents run as written', () => {
  for (const doc of documents()) {
    it(`${doc}: every code block checks`, () => {
      const { problems } = checkDocument(ROOT, doc);
      expect(problems.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([]);
    });
  }
});

describe('the checker catches what it claims to catch', () => {
  const dir = mkdtempSync(join(ROOT, '.docs-run-test-'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  it('a stale output block is reported and regenerated', () => {
    const doc = write(
      'stale.md',
      '```ts\nconsole.log(T.tensor([1, 2]).shape);\n```\n\n```text output\n[ 3 ]\n```\n',
    );
    const res = checkDocument(ROOT, doc);
    expect(res.problems.map((p) => p.message)).toEqual([expect.stringMatching(/^stale output/)]);
    expect(res.updated).toContain('```text output\n[ 2 ]\n```');
    rmSync(doc);
  });
  it('code that throws fails the document, naming the block', () => {
    const doc = write(
      'throws.md',
      '```ts\nconst x = 1;\n```\n\n```ts\nT.tensor([1, 2]).reshape([3]);\n```\n',
    );
    const res = checkDocument(ROOT, doc);
    expect(res.problems).toHaveLength(1);
    expect(res.problems[0]!.line).toBe(5);
    expect(res.problems[0]!.message).toMatch(/reshape/);
    rmSync(doc);
  });
  it('an excerpt that drifted from its file is reported', () => {
    const [ok, bad] = parseBlocks(
      '```ts excerpt=scripts/docs.ts\nexport function documents(root = ROOT): string[] {\n```\n' +
        '```ts excerpt=scripts/docs.ts\nexport function documents(root = HERE): string[] {\n```\n',
    );
    expect(checkExcerpt(ROOT, ok!)).toBeUndefined();
    expect(checkExcerpt(ROOT, bad!)).toMatch(/stale/);
  });
  it('shell commands: unknown scripts and flags are reported', () => {
    expect(pnpmCommands('npx -y pnpm@10.34.9 train --seed 1   # comment\npnpm bench --quick')).toEqual([
      { script: 'train', args: ['--seed', '1'] },
      { script: 'bench', args: ['--quick'] },
    ]);
    const doc = write('shell.md', '```bash\npnpm no-such-script\npnpm train --no-such-flag 3\n```\n');
    const msgs = checkDocument(ROOT, doc).problems.map((p) => p.message);
    expect(msgs).toEqual([
      expect.stringMatching(/`pnpm no-such-script`: no such script/),
      expect.stringMatching(/no flag --no-such-flag/),
    ]);
    rmSync(dir, { recursive: true, force: true });
  });
});
