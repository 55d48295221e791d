/**
 * docs/ddpg.md's "Use it as a library" block and examples/train-api.ts, executed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { trainAndEvaluate } from '../../../examples/train-api.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-ddpg-docs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const docs = fileURLToPath(new URL('../../../docs/ddpg.md', import.meta.url));
const index = fileURLToPath(new URL('../src/index.ts', import.meta.url));

describe('docs/ddpg.md: "Use it as a library"', () => {
  it('the code block runs as written', async () => {
    const md = readFileSync(docs, 'utf8');
    const section = md.slice(md.indexOf('## 12. Use it as a library'));
    const code = section.match(/```ts\n([\s\S]*?)```/)![1]!;
    expect(code).toContain("from '@chainrule/ddpg'");
    // The block imports the package by name; here it runs against the source.
    const file = join(root, 'library.ts');
    writeFileSync(file, code.replace("'@chainrule/ddpg'", JSON.stringify(index)));
    const logged: unknown[][] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      logged.push(a);
    });
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      spy.mockRestore();
    }
    const [trained, loaded, updates] = logged;
    expect(trained![1]).toBeLessThan(0); // the LQR optimum
    expect(trained![2]).toMatchObject({ learningStarts: { preset: 1000, value: 200 } });
    expect(loaded![0]).toBe(400);
    expect(loaded![2]).toBeLessThan(0);
    expect(updates![0]).toBe(50);
  }, 120_000);
});

describe('examples/train-api.ts', () => {
  it('trains, resumes from the middle, loads and evaluates through the API', async () => {
    const r = await trainAndEvaluate(400, join(root, 'example'));
    expect(r.resumedFrom).toBe(200);
    expect(r.steps).toBe(400);
    expect(r.optimalMean).toBeLessThan(0);
    // No policy beats the optimum on the same episodes.
    expect(r.costRatio).toBeGreaterThanOrEqual(1 - 1e-9);
  }, 120_000);
});
