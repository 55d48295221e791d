/**
 * A kill at any file operation of a checkpoint write leaves a run that resumes to exactly the
 * result of an uninterrupted one. The killed runs are child processes (SIGKILL through the
 * CHAINRULE_FAULT_AT hook: no cleanup, no finally blocks); the resumes run in this process.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ActorCriticAgent, makeConfig } from '@chainrule/ddpg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileOperations, type TrainOptions, train } from '../src/index.ts';
import { eventFiles, TENSORBOARD_TAGS } from '../src/tensorboard/index.ts';
import { python, pythonReadRun } from './tfevents/independent.ts';
import { scalarsOfRun } from './tfevents/reader.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-fault-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const child = fileURLToPath(new URL('./fixtures/train-child.ts', import.meta.url));

// Tiny networks; episodes of 20 steps; checkpoints at steps 40 and 80 (and the end, 100),
// keeping one, so the checkpoint at 80 also removes the one at 40.
const options = (out: string): TrainOptions => ({
  env: 'Pendulum-v1',
  seed: 5,
  steps: 100,
  maxEpisodeSteps: 20,
  evalEvery: 30,
  evalEpisodes: 1,
  checkpointEvery: 40,
  keepCheckpoints: 1,
  out,
  config: makeConfig('td3', {
    actorHidden: [8],
    criticHidden: [8],
    batchSize: 8,
    learningStarts: 16,
    startSteps: 20,
    bufferSize: 1000,
  }),
});

/** Run the training in a child process killed at file operation `n`; resolves with its exit signal. */
function runKilledAt(n: number, out: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, JSON.stringify(options(out))], {
      env: { ...process.env, CHAINRULE_FAULT_AT: String(n) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d) => {
      err += String(d);
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => (signal ? resolve(signal) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

const withoutWall = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const { wallSeconds: _, ...row } = JSON.parse(l);
      return JSON.stringify(row);
    });

const withoutSpeed = (run: Map<string, [number, number][]>) => {
  const copy = new Map(run);
  copy.delete(TENSORBOARD_TAGS.stepsPerSecond);
  return copy;
};

describe('fault injection: a kill at every file operation of a checkpoint write', () => {
  const straightDir = join(root, 'straight');
  let straight: Awaited<ReturnType<typeof train>>;
  let ops: string[];
  let first: number;
  let last: number;

  beforeAll(async () => {
    fileOperations.count = 0;
    fileOperations.log = [];
    straight = await train(options(straightDir));
    ops = fileOperations.log;
    fileOperations.log = undefined;
    // The second checkpoint's operations: from its mkdir to the removal of the first.
    first = ops.findIndex((o) => /mkdir .*ckpt-000002-step-80/.test(o)) + 1;
    last = ops.indexOf('remove ckpt-000001-step-40') + 1;
  }, 60_000);

  it('the write sequence is the one this test expects', () => {
    expect(ops.slice(first - 1, last)).toEqual([
      expect.stringMatching(/^mkdir .*\.tmp-ckpt-000002-step-80$/),
      'write agent.safetensors',
      'write replay.safetensors',
      'write state.json',
      'rename to ckpt-000002-step-80',
      'write latest.tmp',
      'rename latest.tmp to latest',
      'remove ckpt-000001-step-40',
    ]);
  });

  it('resume gives final weights and logs bit-identical to an uninterrupted run, for every N', async () => {
    // N = last + 1 is the first log append after the checkpoint: a kill just after it completed.
    const ns = Array.from({ length: last - first + 2 }, (_, i) => first + i);
    const dirs = ns.map((n) => join(root, `killed-${n}`));
    // Three children at a time: each spends most of its life starting up.
    for (let i = 0; i < ns.length; i += 3) {
      const batch = ns.slice(i, i + 3);
      const signals = await Promise.all(batch.map((n, j) => runKilledAt(n, dirs[i + j]!)));
      expect(signals).toEqual(batch.map(() => 'SIGKILL'));
    }
    const straightAgent = straight.agent as ActorCriticAgent;
    const finalCheckpoint = (dir: string) =>
      join(dir, 'checkpoints', readFileSync(join(dir, 'checkpoints', 'latest'), 'utf8').trim());
    for (const [i, n] of ns.entries()) {
      const dir = dirs[i]!;
      // Keep a copy of what the kill left, for a failure message that can be inspected.
      cpSync(dir, `${dir}-as-killed`, { recursive: true });
      let fromStep = -1;
      const resumed = await train({
        out: dir,
        resume: true,
        evalEvery: 30,
        checkpointEvery: 40,
        keepCheckpoints: 1,
        onStart: (s) => {
          fromStep = s.fromStep;
        },
      });
      const at = `killed at operation ${n} (${ops[n - 1]})`;
      // Until `latest` is renamed the run continues from the previous checkpoint; after, from the new one.
      const switched = n > ops.indexOf('rename latest.tmp to latest', first - 1) + 1;
      expect(fromStep, at).toBe(switched ? 80 : 40);
      expect(resumed.agent.updates, at).toBe(straightAgent.updates);
      const a = (resumed.agent as ActorCriticAgent).tensors();
      for (const [k, t] of Object.entries(straightAgent.tensors()))
        expect(
          Buffer.from(a[k]!.dataSync().buffer).equals(Buffer.from(t.dataSync().buffer)),
          `${at}: ${k}`,
        ).toBe(true);
      // The files too: the final checkpoint's tensors byte for byte, and the logs row for row.
      for (const f of ['agent.safetensors', 'replay.safetensors'])
        expect(
          readFileSync(join(finalCheckpoint(dir), f)).equals(
            readFileSync(join(finalCheckpoint(straightDir), f)),
          ),
          `${at}: ${f}`,
        ).toBe(true);
      expect(readFileSync(join(dir, 'eval.csv'), 'utf8'), at).toBe(
        readFileSync(join(straightDir, 'eval.csv'), 'utf8'),
      );
      expect(withoutWall(join(dir, 'metrics.jsonl')), at).toEqual(
        withoutWall(join(straightDir, 'metrics.jsonl')),
      );
      expect(withoutWall(join(dir, 'eval.jsonl')), at).toEqual(withoutWall(join(straightDir, 'eval.jsonl')));
      // TensorBoard: the killed session's event file, then the resumed one's, read with
      // TensorBoard's restart rule, hold the uninterrupted run's scalars (the speed aside).
      expect(eventFiles(dir), at).toHaveLength(2);
      expect(withoutSpeed(scalarsOfRun(dir, eventFiles(dir))), at).toEqual(
        withoutSpeed(scalarsOfRun(straightDir, eventFiles(straightDir))),
      );
      if (python.ok)
        expect(withoutSpeed(pythonReadRun(dir)), `${at} (Python)`).toEqual(
          withoutSpeed(pythonReadRun(straightDir)),
        );
    }
  }, 300_000);
});
