/**
 * The core training loop without Node's sinks: a run paused (aborted) and continued in
 * memory equals an uninterrupted one, and a timer set during training fires within about
 * the loop's yield interval, not at the end of an episode.
 */
import { describe, expect, it } from 'vitest';
import {
  type EpisodeMetrics,
  makeAgent,
  makeConfig,
  makeRunEnv,
  runTrainingLoop,
  type TrainingSink,
} from '../src/index.ts';

const config = makeConfig('td3', {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  startSteps: 20,
  bufferSize: 1000,
});
const setup = (maxEpisodeSteps = 30) => {
  const { env, norm } = makeRunEnv('Pendulum-v1', config, maxEpisodeSteps);
  return { env, norm, agent: makeAgent(env, config, 1) };
};
const rows = (into: EpisodeMetrics[]): TrainingSink => ({
  episode: (e) => {
    const { wallSeconds: _, ...row } = e.row;
    into.push({ ...row, wallSeconds: 0 });
  },
});

describe('runTrainingLoop', () => {
  it('paused mid-episode and continued from the returned state, it equals an uninterrupted run', async () => {
    const straightRows: EpisodeMetrics[] = [];
    const a = setup();
    await runTrainingLoop({
      envId: 'Pendulum-v1',
      seed: 1,
      steps: 100,
      ...a,
      evalEvery: 0,
      evalEpisodes: 1,
      sinks: [rows(straightRows)],
    });

    const pausedRows: EpisodeMetrics[] = [];
    const b = setup();
    const controller = new AbortController();
    const stopAt45: TrainingSink = { step: (e) => (e.step === 45 ? controller.abort() : undefined) };
    const first = await runTrainingLoop({
      envId: 'Pendulum-v1',
      seed: 1,
      steps: 100,
      ...b,
      evalEvery: 0,
      evalEpisodes: 1,
      signal: controller.signal,
      sinks: [rows(pausedRows), stopAt45],
    });
    expect(first.status).toBe('interrupted');
    expect(first.state.step).toBe(45);
    expect(first.state.current?.length).toBe(15);
    const second = await runTrainingLoop({
      envId: 'Pendulum-v1',
      seed: 1,
      steps: 100,
      ...b,
      evalEvery: 0,
      evalEpisodes: 1,
      sinks: [rows(pausedRows)],
      from: first.state,
    });
    expect(second.status).toBe('done');
    expect(pausedRows).toEqual(straightRows);
    expect(b.agent.updates).toBe(a.agent.updates);
  });

  it('a timer set during training fires in the middle of an episode (yieldEveryMs 20), not at its end', async () => {
    // One 600-step episode: a loop that yielded only at episode ends would fire it after step 600.
    const s = setup(600);
    let firedAfter = -1;
    const t0 = performance.now();
    let stepAtFire = -1;
    let step = 0;
    setTimeout(() => {
      firedAfter = performance.now() - t0;
      stepAtFire = step;
    }, 10);
    await runTrainingLoop({
      envId: 'Pendulum-v1',
      seed: 1,
      steps: 600,
      ...s,
      evalEvery: 0,
      evalEpisodes: 1,
      yieldEveryMs: 20,
      sinks: [{ step: (e) => void (step = e.step) }],
    });
    expect(firedAfter).toBeGreaterThan(0);
    expect(stepAtFire).toBeGreaterThan(0);
    expect(stepAtFire).toBeLessThan(600);
  });
});
