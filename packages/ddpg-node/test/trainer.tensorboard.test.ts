/**
 * The TensorBoard event files of a training run, read back by the independent readers: the
 * seeds' Reward and Qmax Value equal metrics.csv, one value per episode, and a run stopped and
 * resumed reads as the uninterrupted one.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig } from '@chainrule/ddpg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainingInterrupted, type TrainOptions, train } from '../src/index.ts';
import { eventFiles, TENSORBOARD_TAGS as T } from '../src/tensorboard/index.ts';
import { named, python, pythonReadRun } from './tfevents/independent.ts';
import { readEventFile, scalarsOfRun } from './tfevents/reader.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-tb-train-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const options = (out: string): TrainOptions => ({
  env: 'Pendulum-v1',
  seed: 3,
  steps: 300,
  maxEpisodeSteps: 25,
  evalEvery: 100,
  evalEpisodes: 1,
  checkpointEvery: 100,
  keepCheckpoints: 1,
  out,
  config: makeConfig('tuned', {
    actorHidden: [8],
    criticHidden: [8],
    batchSize: 8,
    learningStarts: 60,
    startSteps: 40,
    bufferSize: 1000,
  }),
});

/** Columns of a CSV file as numbers (an empty cell is null). */
function csv(path: string): Record<string, (number | null)[]> {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const names = head!.split(',');
  const cols: Record<string, (number | null)[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const r of rows)
    r.split(',').forEach((v, i) => {
      cols[names[i]!]!.push(v === '' ? null : Number(v));
    });
  return cols;
}

/** [step, float32 value] pairs of a CSV column, leaving out empty cells. */
function series(cols: Record<string, (number | null)[]>, column: string): [number, number][] {
  return cols
    .step!.map((s, i) => [s!, cols[column]![i]!] as const)
    .filter(([, v]) => v !== null)
    .map(([s, v]) => [s, Math.fround(v!)]);
}

const withoutSpeed = (run: Map<string, [number, number][]>) => {
  const copy = new Map(run);
  copy.delete(T.stepsPerSecond);
  return copy;
};

describe('a training run’s TensorBoard event files', () => {
  const straight = join(root, 'straight');
  beforeAll(async () => {
    await train(options(straight));
  }, 120_000);

  const expectMatchesCsv = (run: Map<string, [number, number][]>) => {
    const episodes = csv(join(straight, 'metrics.csv'));
    const evals = csv(join(straight, 'eval.csv'));
    // One Reward per episode, at the step it ended.
    expect(run.get(T.reward)).toEqual(series(episodes, 'return'));
    expect(run.get(T.reward)).toHaveLength(300 / 25);
    // Qmax Value from the first episode with updates on.
    expect(run.get(T.qmax)).toEqual(series(episodes, 'avgMaxQ'));
    expect(run.get(T.qmax)!.length).toBeGreaterThan(5);
    expect(run.get(T.criticLoss)).toEqual(series(episodes, 'criticLoss'));
    expect(run.get(T.actorLoss)).toEqual(series(episodes, 'actorLoss'));
    expect(run.get(T.explorationScale)).toEqual(series(episodes, 'sigma'));
    expect(run.get(T.evalMean)).toEqual(series(evals, 'mean'));
    expect(run.get(T.evalStd)).toEqual(series(evals, 'std'));
    expect(run.get(T.stepsPerSecond)?.map(([s]) => s)).toEqual(series(episodes, 'return').map(([s]) => s));
    for (const [, v] of run.get(T.stepsPerSecond)!) expect(v).toBeGreaterThan(0);
  };

  it('one file, its series equal metrics.csv and eval.csv (our reader)', () => {
    expect(eventFiles(straight)).toHaveLength(1);
    expectMatchesCsv(scalarsOfRun(straight, eventFiles(straight)));
  });

  it.skipIf(!python.ok)(
    named('Python reads Reward and Qmax Value equal to metrics.csv, one per episode', python),
    () => {
      expectMatchesCsv(pythonReadRun(straight));
    },
  );

  it('--no-tensorboard (tensorboard: false) writes no event file', async () => {
    const out = join(root, 'off');
    await train({ ...options(out), steps: 100, tensorboard: false });
    expect(existsSync(join(out, 'metrics.csv'))).toBe(true);
    expect(readdirSync(out).filter((f) => f.includes('tfevents'))).toEqual([]);
  });

  it('a run stopped and resumed twice reads as the uninterrupted one, from a new file per session', async () => {
    const out = join(root, 'stopped');
    // Stopped mid-episode (episodes are 25 steps), the second right after the evaluation at 200.
    for (const stopAt of [110, 200]) {
      const controller = new AbortController();
      await expect(
        train({
          ...options(out),
          ...(stopAt === 110
            ? {}
            : { out, resume: true, env: undefined, seed: undefined, config: undefined }),
          sinks: [
            {
              step: (e) => {
                if (e.step >= stopAt) controller.abort();
              },
            },
          ],
          signal: controller.signal,
        }),
      ).rejects.toBeInstanceOf(TrainingInterrupted);
    }
    await train({ out, resume: true, evalEvery: 100, checkpointEvery: 100, keepCheckpoints: 1 });
    expect(eventFiles(out)).toHaveLength(3);
    // Each later session marks its restart one step past the checkpoint it continues from.
    expect(eventFiles(out).map((f) => readEventFile(join(out, f)).events[1])).toMatchObject([
      { step: 1, sessionStatus: 1 },
      { step: 111, sessionStatus: 1 },
      { step: 201, sessionStatus: 1 },
    ]);
    const want = withoutSpeed(scalarsOfRun(straight, eventFiles(straight)));
    expect(withoutSpeed(scalarsOfRun(out, eventFiles(out)))).toEqual(want);
    if (python.ok) expect(withoutSpeed(pythonReadRun(out))).toEqual(want);
  }, 120_000);
});
