/**
 * Exact resume: an N-step run interrupted after its checkpoint at ~N/2 and resumed to N ends
 * with exactly the same agent and metrics as an uninterrupted N-step run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActorCriticAgent, type AgentConfig, makeConfig } from '@chainrule/ddpg';
import { getBackend, listBackends, setBackend } from '@chainrule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { ResumeConflictError, type TrainOptions, train } from '../src/index.ts';

const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 10_000,
};

const root = mkdtempSync(join(tmpdir(), 'chainrule-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(root, `run${dirs++}`);

class Interrupted extends Error {}

function options(config: AgentConfig, out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    env: 'Pendulum-v1',
    seed: 3,
    steps: 160,
    config,
    out,
    maxEpisodeSteps: 40,
    evalEvery: 60,
    evalEpisodes: 1,
    checkpointEvery: 80,
    saveReplay: true,
    resume: false,
    ...extra,
  };
}

/** Every tensor of the agent (networks, targets, optimiser moments) as plain numbers. */
function agentState(agent: ActorCriticAgent): Record<string, number[]> {
  return Object.fromEntries(Object.entries(agent.tensors()).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

const withoutWall = <T extends { wallSeconds?: number }>(rows: T[]) =>
  rows.map(({ wallSeconds: _, ...r }) => r);

function csvWithoutWall(file: string): string[] {
  // wallSeconds is the last column of metrics.csv.
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(',').slice(0, -1).join(','));
}

async function compare(config: AgentConfig, extra: Partial<TrainOptions> = {}) {
  const straightDir = newDir();
  const straight = await train(options(config, straightDir, extra));

  // The same run, killed at the first episode end after its mid-run checkpoint was written.
  const dir = newDir();
  let checkpointed = false;
  await expect(
    train(
      options(config, dir, {
        ...extra,
        onProgress: () => {
          if (checkpointed) throw new Interrupted('simulated crash');
          if (existsSync(join(dir, 'checkpoints', 'latest'))) checkpointed = true;
        },
      }),
    ),
  ).rejects.toBeInstanceOf(Interrupted);
  const latest = readFileSync(join(dir, 'checkpoints', 'latest'), 'utf8').trim();
  const state = JSON.parse(readFileSync(join(dir, 'checkpoints', latest, 'state.json'), 'utf8'));
  expect(state.step).toBeGreaterThanOrEqual(80);
  expect(state.step).toBeLessThan(160);
  expect(state.replay).toBe(true);

  // The resume is told only where the run is: config, env and seed come from it.
  const resumed = await train({ out: dir, resume: true, evalEvery: 60, checkpointEvery: 80 });

  expect(resumed.summary.steps).toBe(straight.summary.steps);
  expect(resumed.summary.evalReturnMean).toBe(straight.summary.evalReturnMean);
  expect(withoutWall(resumed.episodes)).toEqual(withoutWall(straight.episodes));
  expect(withoutWall(resumed.evals)).toEqual(withoutWall(straight.evals));
  expect(resumed.agent.updates).toBe(straight.agent.updates);
  expect(agentState(resumed.agent as ActorCriticAgent)).toEqual(
    agentState(straight.agent as ActorCriticAgent),
  );
  expect((resumed.agent as ActorCriticAgent).meta()).toEqual((straight.agent as ActorCriticAgent).meta());
  // The files agree too (up to wall-clock times).
  expect(csvWithoutWall(join(dir, 'metrics.csv'))).toEqual(csvWithoutWall(join(straightDir, 'metrics.csv')));
  expect(readFileSync(join(dir, 'eval.csv'), 'utf8')).toBe(
    readFileSync(join(straightDir, 'eval.csv'), 'utf8'),
  );
  return { straight, resumed };
}

describe('train: --resume reproduces an uninterrupted run exactly', () => {
  // The js backend is the reference; wasm (the default) must be just as reproducible.
  for (const backend of ['js', 'wasm'].filter((b) => listBackends().includes(b))) {
    it(`DDPG, paper preset (BatchNorm, OU noise, weight decay), tiny networks, ${backend} backend`, async () => {
      const previous = getBackend().name;
      setBackend(backend);
      try {
        const { straight } = await compare(makeConfig('paper', tiny));
        expect(straight.agent.updates).toBeGreaterThan(140);
        expect(straight.summary.backend).toBe(backend);
      } finally {
        setBackend(previous);
      }
    });
  }

  it('TD3 preset (twin critics, policy delay, target smoothing, random start steps)', async () => {
    await compare(makeConfig('td3', { ...tiny, startSteps: 60, learningStarts: 30 }));
  });

  it('DDPG with parameter noise, Gaussian σ decay and observation normalisation', async () => {
    await compare(makeConfig('td3', { ...tiny, algo: 'ddpg', noise: 'param', normalizeObs: true }));
    await compare(makeConfig('td3', { ...tiny, algo: 'ddpg', noiseDecay: 0.99, rewardScale: 0.1 }), {
      env: 'LQR-v0',
    });
  });

  it('a resume keeps the run config; a different seed, env or hyperparameter is refused, naming each', async () => {
    const dir = newDir();
    const config = makeConfig('td3', { ...tiny, actorLr: 1e-4, tau: 0.01 });
    await train(options(config, dir, { steps: 80, evalEvery: 0 }));
    await expect(train(options(config, dir, { seed: 4, resume: true }))).rejects.toThrow(
      /seed is 3 in the run, 4 given/,
    );
    await expect(train({ out: dir, resume: true, env: 'LQR-v0' })).rejects.toThrow(
      /env is "Pendulum-v1" in the run, "LQR-v0" given/,
    );
    const conflict = train({ out: dir, resume: true, config: { actorLr: 0.5, preset: 'paper', tau: 0.01 } });
    await expect(conflict).rejects.toBeInstanceOf(ResumeConflictError);
    await expect(
      train({ out: dir, resume: true, config: { actorLr: 0.5, preset: 'paper', tau: 0.01 } }),
    ).rejects.toThrow(
      /config\.actorLr is 0\.0001 in the run, 0\.5 given; config\.preset is "td3" in the run, "paper" given/,
    );
    // Without the flags, the run's own config applies (not the preset's defaults), and is kept on disk.
    const r = await train({ out: dir, resume: true, steps: 120, evalEvery: 0 });
    expect(r.agent.config).toEqual(config);
    expect(r.summary.steps).toBe(120);
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).config).toEqual(config);
  });

  it('a resume of a missing directory is a clear error; of a run without a checkpoint, starts over and says so', async () => {
    const missing = join(root, 'nowhere');
    await expect(train({ out: missing, resume: true })).rejects.toThrow(`no run directory at ${missing}`);
    await expect(train({ resume: true })).rejects.toThrow(/--resume needs the run directory/);

    const config = makeConfig('td3', tiny);
    const dir = newDir();
    // Killed in its first episode: run.json and a log row, no checkpoint.
    await expect(
      train(
        options(config, dir, {
          onProgress: () => {
            throw new Interrupted('simulated crash');
          },
        }),
      ),
    ).rejects.toBeInstanceOf(Interrupted);
    const notes: (string | undefined)[] = [];
    const resumed = await train({ out: dir, resume: true, onStart: (s) => notes.push(s.note) });
    expect(notes[0]).toMatch(/has no complete checkpoint yet, so the run starts again from step 0/);
    const straight = await train(options(config, newDir()));
    expect(withoutWall(resumed.episodes)).toEqual(withoutWall(straight.episodes));
    expect(csvWithoutWall(join(dir, 'metrics.csv'))).toHaveLength(1 + straight.episodes.length);
  });
});
