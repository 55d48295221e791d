/**
 * examples/train-api.ts, executed. (docs/ddpg.md's "Use it as a library" block runs in
 * scripts/test/docs.test.ts, with every other block of the docs.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainAndEvaluate } from '../../../examples/train-api.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-ddpg-docs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

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
