import { Rng } from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Env,
  findEnv,
  makeEnv,
  NormalizeObservation,
  PendulumEnv,
  RecordEpisode,
  RescaleAction,
  RunningMeanStd,
  rolloutPolicy,
  ScaleReward,
  TimeLimit,
} from '../src/envs/index.ts';

function directStats(rows: Float64Array[]): { mean: number[]; variance: number[] } {
  const n = rows.length;
  const d = rows[0]!.length;
  const mean = new Array<number>(d).fill(0);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i]! += r[i]!;
  for (let i = 0; i < d; i++) mean[i]! /= n;
  const variance = new Array<number>(d).fill(0);
  for (const r of rows) for (let i = 0; i < d; i++) variance[i]! += (r[i]! - mean[i]!) ** 2;
  for (let i = 0; i < d; i++) variance[i]! /= n;
  return { mean, variance };
}

function randomActions(env: Env, seed: number): () => Float64Array {
  const rng = new Rng(seed);
  return () => env.actionSpace.sample(rng);
}

describe('RescaleAction', () => {
  it('maps [-1, 1] affinely onto the inner bounds and clips outside', () => {
    const env = new RescaleAction(new PendulumEnv());
    expect(Array.from(env.actionSpace.low)).toEqual([-1]);
    expect(Array.from(env.actionSpace.high)).toEqual([1]);
    env.reset({ seed: 0 });
    const torques = [1, -1, 0, 0.5, 3].map((a) => {
      env.step([a]);
      return env.physicalState().torque;
    });
    expect(torques).toEqual([2, -2, 0, 1, 2]);
    expect(() => env.step([Number.NaN])).toThrow(
      /RescaleAction\(Pendulum-v1\)\.step: invalid action \[NaN\].*\[-1, 1\]/,
    );
    const custom = new RescaleAction(new PendulumEnv(), 0, 4);
    expect(Array.from(custom.mapAction([1]))).toEqual([-1]);
    expect(() => new RescaleAction(new PendulumEnv(), 1, 1)).toThrow(/minAction < maxAction/);
    const lqr = new RescaleAction(makeEnv('LQR-v0', { actionBound: 3 }));
    lqr.reset({ initialState: { position: 0, velocity: 0 } });
    expect(lqr.step([0.5]).reward).toBeCloseTo(-0.1 * 1.5 ** 2, 14);
  });
});

describe('ScaleReward', () => {
  it('multiplies rewards', () => {
    const a = new ScaleReward(makeEnv('Pendulum-v1'), 0.1);
    const b = makeEnv('Pendulum-v1');
    a.reset({ seed: 2 });
    b.reset({ seed: 2 });
    const act = randomActions(b, 1);
    for (let t = 0; t < 20; t++) {
      const u = act();
      const ra = a.step(u);
      const rb = b.step(u);
      expect(ra.reward).toBeCloseTo(0.1 * rb.reward, 14);
      expect(ra.observation).toEqual(rb.observation);
    }
    expect(() => new ScaleReward(b, 0)).toThrow(/finite positive/);
    expect(a.maxEpisodeSteps).toBe(200);
  });
});

describe('NormalizeObservation', () => {
  it('keeps exact running statistics of every observation seen', () => {
    const recorder = new RecordEpisode(new TimeLimit(new PendulumEnv(), 40));
    const env = new NormalizeObservation(recorder);
    const act = randomActions(env, 3);
    const seen: Float64Array[] = [];
    let last: Float64Array = new Float64Array(0);
    for (let ep = 0; ep < 3; ep++) {
      env.reset({ seed: ep });
      for (;;) {
        const r = env.step(act());
        last = r.observation;
        if (r.truncated || r.terminated) break;
      }
      seen.push(...recorder.lastEpisode!.observations);
    }
    expect(seen).toHaveLength(3 * 41);
    const { mean, variance } = directStats(seen);
    const stats = env.getStatistics();
    expect(stats.count).toBe(seen.length);
    mean.forEach((m, i) => {
      expect(stats.mean[i]).toBeCloseTo(m, 12);
    });
    variance.forEach((v, i) => {
      expect(stats.var[i]).toBeCloseTo(v, 12);
    });
    // the returned observation is (raw - mean) / sqrt(var + eps) with the updated statistics
    const raw = seen[seen.length - 1]!;
    for (let i = 0; i < 3; i++)
      expect(last[i]).toBeCloseTo((raw[i]! - mean[i]!) / Math.sqrt(variance[i]! + 1e-8), 10);
  });

  it('freezes, transfers statistics, clips and round-trips its state', () => {
    const train = new NormalizeObservation(makeEnv('MountainCarContinuous-v0'));
    const act = randomActions(train, 4);
    train.reset({ seed: 1 });
    for (let t = 0; t < 30; t++) train.step(act());
    const statsBefore = train.getStatistics();
    train.frozen = true;
    expect(train.update).toBe(false);
    const r = train.step(act());
    expect(train.getStatistics()).toEqual(statsBefore);
    const ps = train.physicalState();
    expect(r.observation).toEqual(train.normalize([ps.position!, ps.velocity!]));

    const evalEnv = new NormalizeObservation(makeEnv('MountainCarContinuous-v0'), { update: false });
    evalEnv.setStatistics(train.getStatistics());
    const o = evalEnv.reset({ seed: 9 }).observation;
    const rawEnv = makeEnv('MountainCarContinuous-v0');
    expect(o).toEqual(train.normalize(rawEnv.reset({ seed: 9 }).observation));
    expect(evalEnv.getStatistics()).toEqual(statsBefore);
    expect(() => evalEnv.setStatistics({ mean: [0], var: [1], count: 1 })).toThrow(
      /expected \{ mean: 2 numbers/,
    );

    train.frozen = false;
    const snap = JSON.parse(JSON.stringify(train.getState()));
    const twin = new NormalizeObservation(makeEnv('MountainCarContinuous-v0'));
    twin.setState(snap);
    for (let t = 0; t < 5; t++) {
      const a = act();
      expect(twin.step(a)).toEqual(train.step(a));
    }
    expect(twin.getStatistics()).toEqual(train.getStatistics());

    const clipped = new NormalizeObservation(makeEnv('Pendulum-v1'), { clip: 0.5 });
    expect(Array.from(clipped.observationSpace.high)).toEqual([0.5, 0.5, 0.5]);
    clipped.reset({ seed: 0 });
    let sawClip = false;
    for (let t = 0; t < 50; t++) {
      const ob = clipped.step(act().map((v) => v * 2)).observation;
      expect(clipped.observationSpace.contains(ob)).toBe(true);
      if (ob.some((v) => Math.abs(v) === 0.5)) sawClip = true;
    }
    expect(sawClip).toBe(true);
  });

  it('RunningMeanStd: batched updates equal one-by-one updates; the Gymnasium prior is close', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 2, maxLength: 2 }), {
          minLength: 1,
          maxLength: 30,
        }),
        fc.integer({ min: 0, max: 30 }),
        (rows, cut) => {
          const one = new RunningMeanStd(2);
          for (const r of rows) one.update(r);
          const batched = new RunningMeanStd(2);
          batched.updateBatch(rows.slice(0, cut));
          batched.updateBatch(rows.slice(cut));
          const scale = 1 + Math.max(...rows.flat().map(Math.abs));
          return (
            one.count === rows.length &&
            batched.count === rows.length &&
            [0, 1].every(
              (i) =>
                Math.abs(one.mean[i]! - batched.mean[i]!) <= 1e-9 * scale &&
                Math.abs(one.var[i]! - batched.var[i]!) <= 1e-9 * scale * scale,
            )
          );
        },
      ),
      { numRuns: 100, seed: 2 },
    );
    const gym = new RunningMeanStd(1, 1e-4);
    const exact = new RunningMeanStd(1);
    for (const v of [1, 2, 3, 4]) {
      gym.update([v]);
      exact.update([v]);
    }
    expect(exact.mean[0]).toBe(2.5);
    expect(exact.var[0]).toBe(1.25);
    expect(gym.count).toBeCloseTo(4.0001, 12);
    expect(gym.mean[0]).toBeCloseTo(2.5, 3);
  });
});

describe('RecordEpisode', () => {
  it('records the last episode and episode statistics', () => {
    const env = new RecordEpisode(makeEnv('Pendulum-v1'));
    const act = randomActions(env, 5);
    env.reset({ seed: 0 });
    const rewards: number[] = [];
    let info: Record<string, unknown> = {};
    for (;;) {
      const r = env.step(act());
      rewards.push(r.reward);
      if (r.truncated) {
        info = r.info;
        break;
      }
      expect(r.info.episode).toBeUndefined();
    }
    const ep = env.lastEpisode!;
    expect(ep.length).toBe(200);
    expect(ep.observations).toHaveLength(201);
    expect(ep.actions).toHaveLength(200);
    expect(ep.rewards).toEqual(rewards);
    expect(ep.return).toBeCloseTo(
      rewards.reduce((s, v) => s + v, 0),
      9,
    );
    expect(ep.truncated).toBe(true);
    expect(ep.terminated).toBe(false);
    expect(info.episode).toEqual({ return: ep.return, length: 200 });
    expect(env.episodeReturns).toEqual([ep.return]);
    expect(env.episodeLengths).toEqual([200]);
    expect(env.currentEpisode).toBeNull();

    // an episode abandoned by reset is dropped; a terminated one is recorded
    env.reset();
    env.step([0]);
    expect(env.currentEpisode!.length).toBe(1);
    env.reset();
    expect(env.currentEpisode!.length).toBe(0);
    expect(env.episodeCount).toBe(1);
    const car = new RecordEpisode(makeEnv('MountainCarContinuous-v0'));
    car.reset({ initialState: { position: 0.44, velocity: 0.02 } });
    const r = car.step([1]);
    expect(r.terminated).toBe(true);
    expect(car.lastEpisode!.terminated).toBe(true);
    expect(car.lastEpisode!.return).toBeCloseTo(99.9, 12);
    expect(car.episodeReturns).toHaveLength(1);

    // state round trip
    const snap = JSON.parse(JSON.stringify(env.getState()));
    const twin = new RecordEpisode(makeEnv('Pendulum-v1'));
    twin.setState(snap);
    expect(twin.episodeReturns).toEqual(env.episodeReturns);
    expect(twin.lastEpisode).toEqual(env.lastEpisode);
    expect(twin.step([0.3])).toEqual(env.step([0.3]));
  });
});

describe('wrapper chains', () => {
  it('compose, forward spaces and ids, and are found by findEnv', () => {
    const inner = new PendulumEnv();
    const env = new RecordEpisode(
      new NormalizeObservation(new ScaleReward(new RescaleAction(new TimeLimit(inner, 10)), 0.5)),
    );
    expect(env.id).toBe('Pendulum-v1');
    expect(env.maxEpisodeSteps).toBe(10);
    expect(env.unwrapped).toBe(inner);
    expect(findEnv(env, PendulumEnv)).toBe(inner);
    expect(findEnv(env, TimeLimit)).toBeInstanceOf(TimeLimit);
    expect(findEnv(inner, TimeLimit)).toBeUndefined();
    expect(Array.from(env.actionSpace.high)).toEqual([1]);
    expect(String(env)).toBe(
      'RecordEpisode(NormalizeObservation(ScaleReward(RescaleAction(TimeLimit(Pendulum-v1)))))',
    );
    const res = rolloutPolicy(env, () => [0.5], { episodes: 3, seed: 4 });
    expect(res.lengths).toEqual([10, 10, 10]);
    expect(env.episodeCount).toBe(3);
    expect(() => rolloutPolicy(new PendulumEnv(), () => [0])).toThrow(/no maxEpisodeSteps/);
    expect(rolloutPolicy(new PendulumEnv(), () => [0], { maxSteps: 5, episodes: 2 }).meanLength).toBe(5);
    const snap = JSON.parse(JSON.stringify(env.getState()));
    const twin = new RecordEpisode(
      new NormalizeObservation(new ScaleReward(new RescaleAction(new TimeLimit(new PendulumEnv(), 10)), 0.5)),
    );
    twin.setState(snap);
    expect(twin.getState()).toEqual(env.getState());
  });
});
