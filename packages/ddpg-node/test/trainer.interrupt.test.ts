/**
 * An abort stops the run within a step or so of the request, mid-episode included: the
 * checkpoint holds the episode in progress, and the resume equals an uninterrupted run.
 * Sinks given through `train({ sinks })` see the loop's events.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActorCriticAgent, type AgentConfig, makeConfig, type TrainingSink } from '@chainrule/ddpg';
import { afterAll, describe, expect, it } from 'vitest';
import { TrainingInterrupted, type TrainOptions, train } from '../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-interrupt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(root, `run${dirs++}`);

const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 1000,
};

const options = (config: AgentConfig, out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  env: 'Pendulum-v1',
  seed: 7,
  steps: 150,
  config,
  out,
  maxEpisodeSteps: 40,
  evalEvery: 50,
  evalEpisodes: 1,
  checkpointEvery: 80,
  ...extra,
});

const withoutWall = <T extends { wallSeconds?: number }>(rows: T[]) =>
  rows.map(({ wallSeconds: _, ...r }) => r);
const tensors = (a: ActorCriticAgent) =>
  Object.fromEntries(Object.entries(a.tensors()).map(([k, t]) => [k, Array.from(t.dataSync())]));

/** Abort when the step event reports `at` (the loop checks the signal after every step). */
function abortAt(at: number, controller: AbortController): TrainingSink {
  return {
    step: (e) => {
      if (e.step === at) controller.abort();
    },
  };
}

describe('train: an abort mid-episode resumes exactly', () => {
  const configs: [string, AgentConfig][] = [
    ['ActorCriticAgent paper (BatchNorm, OU noise)', makeConfig('paper', tiny)],
    [
      'ActorCriticAgent with parameter noise and observation normalisation',
      makeConfig('td3', { ...tiny, algo: 'ddpg', noise: 'param', normalizeObs: true }),
    ],
    ['TD3 with random start steps', makeConfig('td3', { ...tiny, startSteps: 30 })],
  ];
  for (const [name, config] of configs) {
    it(`${name}: checkpoint at the abort's step, resume equal to the uninterrupted run`, async () => {
      const straight = await train(options(config, newDir()));
      const dir = newDir();
      const controller = new AbortController();
      const err = await train(
        options(config, dir, { signal: controller.signal, sinks: [abortAt(97, controller)] }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TrainingInterrupted);
      const step = (err as TrainingInterrupted).step;
      expect(step).toBe(97);
      const latest = readFileSync(join(dir, 'checkpoints', 'latest'), 'utf8').trim();
      const state = JSON.parse(readFileSync(join(dir, 'checkpoints', latest, 'state.json'), 'utf8'));
      expect(state.step).toBe(step);
      expect(state.loop.current.length).toBe(97 - 80);

      const resumed = await train({ out: dir, resume: true, evalEvery: 50, checkpointEvery: 80 });
      expect(withoutWall(resumed.episodes)).toEqual(withoutWall(straight.episodes));
      expect(withoutWall(resumed.evals)).toEqual(withoutWall(straight.evals));
      expect(tensors(resumed.agent as ActorCriticAgent)).toEqual(tensors(straight.agent as ActorCriticAgent));
      expect((resumed.agent as ActorCriticAgent).meta()).toEqual((straight.agent as ActorCriticAgent).meta());
    });
  }

  it('a sink given to train sees start, episodes, evaluations, checkpoints and the end, in order', async () => {
    const seen: string[] = [];
    const sink: TrainingSink = {
      start: (e) => void seen.push(`start ${e.fromStep}`),
      episode: (e) => void seen.push(`episode ${e.row.episode} at ${e.row.step}`),
      evaluation: (e) => void seen.push(`eval at ${e.row.step}`),
      checkpoint: (e) => void seen.push(`checkpoint ${e.reason} at ${e.step}`),
      end: (e) => void seen.push(`end at ${e.step}`),
    };
    await train(options(makeConfig('td3', tiny), newDir(), { steps: 100, sinks: [sink] }));
    expect(seen).toEqual([
      'start 0',
      'episode 1 at 40',
      'eval at 50',
      'episode 2 at 80',
      'checkpoint periodic at 80',
      'eval at 100',
      'episode 3 at 100',
      'checkpoint end at 100',
      'end at 100',
    ]);
  });

  it('a sink that records a position but cannot rewind is refused, naming what it lacks', async () => {
    const bad: TrainingSink = { name: 'mine', position: () => 0 };
    await expect(
      train(options(makeConfig('td3', tiny), newDir(), { steps: 100, sinks: [bad] })),
    ).rejects.toThrow(
      /sink mine must have all of name, position\(\) and rewind\(\) or none \(it has name, position\)/,
    );
  });
});
