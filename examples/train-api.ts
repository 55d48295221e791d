/**
 * Train, resume and evaluate a DDPG agent through the library API, without the CLI.
 *
 *   npx tsx examples/train-api.ts [steps]     # default 3000 steps, in a temporary run directory
 *
 * DDPG with the `lqr` preset (a linear policy) on LQR-v0, whose optimal return is known, so
 * the evaluation can be read as a cost ratio to the optimum.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { evaluatePolicy } from '@chainrule/ddpg';
import { loadRun, train } from '@chainrule/ddpg-node';

/** What {@link trainAndEvaluate} found. */
export interface TrainApiResult {
  /** The step the resumed run continued from. */
  resumedFrom: number;
  steps: number;
  /** Mean return of the loaded policy on 5 fresh episodes, and of the optimal policy on the same. */
  evalMean: number;
  optimalMean: number;
  /** Cost ratio to the optimum (1 is optimal). */
  costRatio: number;
}

/** Train half of `steps`, resume to `steps`, load the run and evaluate it. */
export async function trainAndEvaluate(steps: number, out: string): Promise<TrainApiResult> {
  // A new run: the config is the preset plus overrides; everything else has defaults.
  await train({
    env: 'LQR-v0',
    seed: 0,
    steps: Math.floor(steps / 2),
    config: { preset: 'lqr', learningStarts: 100, batchSize: 64 },
    out,
    evalEvery: 0,
    evalEpisodes: 5,
  });
  // Continue it: the run's own config applies; only the step count changes.
  let resumedFrom = -1;
  await train({
    out,
    resume: true,
    steps,
    onStart: (s) => {
      resumedFrom = s.fromStep;
    },
  });
  // Load the latest checkpoint and evaluate it on fresh episodes.
  const run = loadRun(out);
  const r = evaluatePolicy(run.agent, run.env, { episodes: 5, seed: 123, normStats: run.normStats });
  const optimalMean = r.optimalReturnMean!;
  return { resumedFrom, steps: run.step, evalMean: r.mean, optimalMean, costRatio: r.mean / optimalMean };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const steps = Number(process.argv[2] ?? 3000);
  const out = mkdtempSync(join(tmpdir(), 'chainrule-train-api-'));
  try {
    const r = await trainAndEvaluate(steps, out);
    console.log(
      `resumed from step ${r.resumedFrom} to ${r.steps}; eval return ${r.evalMean.toFixed(2)}, optimum ${r.optimalMean.toFixed(2)}, cost ratio ${r.costRatio.toFixed(2)}`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
