/**
 * `pnpm docs:check` and `pnpm docs:update`: run the code of README.md and docs/*.md.
 *
 *   tsx scripts/docs.ts [check|update] [FILE.md ...]
 *
 * `check` (the default) exits 1 when any block fails: code that throws, an output block that
 * no longer matches what its code prints, an excerpt that drifted from its source, or a shell
 * command naming a script or flag that does not exist. `update` rewrites the stale output
 * blocks of run blocks in place (atomically) and then checks again. See
 * scripts/docs/markdown.ts for the markers that say how each block is checked.
 */
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkDocument } from './docs/check.ts';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The documents whose code is checked: README.md and docs/*.md. */
export function documents(root = ROOT): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const [mode = 'check', ...files] = positionals;
  if (values.help || (mode !== 'check' && mode !== 'update')) {
    console.log('usage: tsx scripts/docs.ts [check|update] [FILE.md ...]');
    console.log('  check   run every code block of README.md and docs/*.md; exit 1 on any problem');
    console.log('  update  regenerate stale output blocks in place, then check');
    return values.help ? 0 : 2;
  }
  let failed = 0;
  for (const file of files.length > 0 ? files : documents()) {
    let result = await checkDocument(ROOT, file);
    if (mode === 'update' && result.problems.some((p) => p.message.startsWith('stale output'))) {
      const path = join(ROOT, file);
      writeFileSync(`${path}.tmp`, result.updated);
      renameSync(`${path}.tmp`, path);
      console.log(`${file}: output blocks regenerated`);
      result = await checkDocument(ROOT, file);
    }
    const c = result.counts;
    const summary = `${c.run} ran, ${c.output} outputs, ${c.quote} quotes, ${c.shell} shell`;
    if (result.problems.length === 0) console.log(`ok   ${file} (${summary})`);
    for (const p of result.problems) {
      failed++;
      console.log(`FAIL ${p.file}:${p.line}: ${p.message}`);
    }
  }
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
