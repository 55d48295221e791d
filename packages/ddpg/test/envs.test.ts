import { Rng } from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  angleNormalize,
  Box,
  EnvError,
  envSpec,
  listEnvs,
  MountainCarContinuousEnv,
  makeEnv,
  PendulumEnv,
} from '../src/envs/index.ts';

const close = (actual: ArrayLike<number>, expected: number[], digits = 12): void => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(actual[i]).toBeCloseTo(e, digits);
  });
};
/** Observations are float32, as Gymnasium's: equal to the float64 value by hand, rounded to float32. */
const close32 = (actual: ArrayLike<number>, expected: number[]): void => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(Math.abs(actual[i]! - e), `element ${i}: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(
      2 ** -24 * Math.abs(e) + 2 ** -149,
    );
  });
};

describe('Box', () => {
  it('validates its bounds and shape', () => {
    expect(() => new Box(1, 0, [1])).toThrow(/low\[0\] = 1 > high\[0\] = 0/);
    expect(() => new Box([0, Number.NaN], [1, 1])).toThrow(/NaN/);
    expect(() => new Box([0, 0], [1, 1, 1])).toThrow(/3 element/);
    expect(() => new Box(0, 1)).toThrow(/shape is required/);
    // A NaN dimension reads NaN, not JSON's null.
    expect(() => new Box(0, 1, [Number.NaN])).toThrow(
      'Box: shape must be an array of non-negative integers, got [NaN]',
    );
    expect(() => new Box(0, 1, [1.5])).toThrow(/shape/);
    const box = new Box([-1, -1, -8], [1, 1, 8]);
    expect(box.shape).toEqual([3]);
    expect(box.size).toBe(3);
    expect(new Box(-2, 2, [2, 3]).size).toBe(6);
  });

  it('contains, clips and samples', () => {
    const box = new Box([-1, 0], [1, 2]);
    expect(box.contains([0, 2])).toBe(true);
    expect(box.contains([0, 2.01])).toBe(false);
    expect(box.contains([0])).toBe(false);
    expect(box.contains([Number.NaN, 1])).toBe(false);
    expect(Array.from(box.clip([-5, 5]))).toEqual([-1, 2]);
    expect(Array.from(box.clip([0.5, 1]))).toEqual([0.5, 1]);
    expect(() => box.clip([1])).toThrow(/expected 2/);
    const rng = new Rng(1);
    for (let i = 0; i < 100; i++) expect(box.contains(box.sample(rng))).toBe(true);
    const half = new Box(
      [0, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
      [Number.POSITIVE_INFINITY, 3, Number.POSITIVE_INFINITY],
    );
    expect(half.isBounded()).toBe(false);
    for (let i = 0; i < 100; i++) {
      const s = half.sample(rng);
      expect(half.contains(s)).toBe(true);
      expect(s.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('angleNormalize', () => {
  it('matches Python ((x + pi) % 2pi) - pi, also for negative angles', () => {
    expect(angleNormalize(0.5)).toBeCloseTo(0.5, 14);
    expect(angleNormalize(2 * Math.PI + 0.5)).toBeCloseTo(0.5, 12);
    expect(angleNormalize((-3 * Math.PI) / 2)).toBeCloseTo(Math.PI / 2, 12);
    expect(angleNormalize(-Math.PI)).toBeCloseTo(-Math.PI, 14);
    fc.assert(
      fc.property(fc.double({ min: -100, max: 100, noNaN: true }), (x) => {
        const y = angleNormalize(x);
        const turns = (x - y) / (2 * Math.PI);
        return y >= -Math.PI && y <= Math.PI && Math.abs(turns - Math.round(turns)) < 1e-9;
      }),
    );
  });
});

describe('Pendulum-v1', () => {
  it('one step from theta = pi/2, thetaDot = 0 with u = 1, by hand', () => {
    const env = new PendulumEnv();
    const r0 = env.reset({ initialState: { theta: Math.PI / 2, thetaDot: 0 } });
    close(r0.observation, [0, 1, 0]);
    const r = env.step([1]);
    // g = 10, m = l = 1, dt = 0.05:
    // thetaDot' = 0 + (3*10/(2*1) * sin(pi/2) + 3/(1*1^2) * 1) * 0.05 = (15 + 3) * 0.05 = 0.9
    // theta'    = pi/2 + 0.9 * 0.05 = pi/2 + 0.045
    // cost      = (pi/2)^2 + 0.1 * 0^2 + 0.001 * 1^2
    // cos(pi/2 + a) = -sin(a), sin(pi/2 + a) = cos(a)
    close32(r.observation, [-Math.sin(0.045), Math.cos(0.045), 0.9]);
    expect(r.reward).toBeCloseTo(-((Math.PI * Math.PI) / 4 + 0.001), 12);
    expect(r.terminated).toBe(false);
    expect(r.truncated).toBe(false);
    const s = env.physicalState();
    expect(s.theta).toBeCloseTo(Math.PI / 2 + 0.045, 12);
    expect(s.thetaDot).toBeCloseTo(0.9, 12);
    expect(s.torque).toBe(1);
  });

  it('one step from upright with thetaDot = 1 and u = -2, by hand', () => {
    const env = new PendulumEnv();
    env.reset({ initialState: { theta: 0, thetaDot: 1 } });
    const r = env.step([-2]);
    // cost = 0 + 0.1 * 1 + 0.001 * 4 = 0.104
    // thetaDot' = 1 + (15 * sin 0 + 3 * -2) * 0.05 = 1 - 0.3 = 0.7;  theta' = 0.7 * 0.05 = 0.035
    expect(r.reward).toBeCloseTo(-0.104, 12);
    close32(r.observation, [Math.cos(0.035), Math.sin(0.035), 0.7]);
  });

  it('uses the option g', () => {
    const env = new PendulumEnv({ g: 9.81 });
    env.reset({ initialState: { theta: Math.PI / 2, thetaDot: 0 } });
    // thetaDot' = (3 * 9.81 / 2) * 0.05 = 0.73575
    close32([env.step([0]).observation[2]!], [0.73575]);
  });

  it('normalises the angle in the cost', () => {
    const env = new PendulumEnv();
    env.reset({ initialState: { theta: 2 * Math.PI + 0.5, thetaDot: 0 } });
    expect(env.step([0]).reward).toBeCloseTo(-0.25, 12);
    env.reset({ initialState: { theta: (-3 * Math.PI) / 2, thetaDot: 0 } });
    expect(env.step([0]).reward).toBeCloseTo(-(Math.PI * Math.PI) / 4, 12);
  });

  it('clips the speed at +-8 before integrating the angle', () => {
    const env = new PendulumEnv();
    env.reset({ initialState: { theta: Math.PI / 2, thetaDot: 7.5 } });
    const r = env.step([2]);
    // unclipped thetaDot' = 7.5 + (15 + 6) * 0.05 = 8.55 -> clipped to 8
    // theta' = pi/2 + 8 * 0.05 = pi/2 + 0.4  (NOT pi/2 + 8.55 * 0.05)
    expect(r.observation[2]).toBe(8);
    expect(env.physicalState().theta).toBeCloseTo(Math.PI / 2 + 0.4, 12);
    close32(r.observation, [-Math.sin(0.4), Math.cos(0.4), 8]);
    // cost uses the pre-step speed 7.5
    expect(r.reward).toBeCloseTo(-((Math.PI * Math.PI) / 4 + 0.1 * 56.25 + 0.001 * 4), 12);

    env.reset({ initialState: { theta: -Math.PI / 2, thetaDot: -7.5 } });
    env.step([-2]);
    expect(env.physicalState().thetaDot).toBe(-8);
    expect(env.physicalState().theta).toBeCloseTo(-Math.PI / 2 - 0.4, 12);
  });

  it('clips out-of-range torques (dynamics and cost)', () => {
    const env = new PendulumEnv();
    env.reset({ initialState: { theta: 0, thetaDot: 0 } });
    const r = env.step([5]);
    // u = clip(5, -2, 2) = 2: cost = 0.001 * 4; thetaDot' = 3 * 2 * 0.05 = 0.3
    expect(r.reward).toBeCloseTo(-0.004, 14);
    expect(r.observation[2]).toBe(Math.fround(0.3));
    expect(env.physicalState().torque).toBe(2);
    expect(env.step([-1e9]).observation[2]).toBeLessThan(0.3);
    expect(env.physicalState().torque).toBe(-2);
  });

  it('resets theta ~ U(-pi, pi), thetaDot ~ U(-1, 1); never terminates', () => {
    const env = new PendulumEnv();
    let minTh = Number.POSITIVE_INFINITY;
    let maxTh = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < 300; i++) {
      const { observation } = env.reset();
      const { theta, thetaDot } = env.physicalState();
      expect(Math.abs(theta!)).toBeLessThanOrEqual(Math.PI);
      expect(Math.abs(thetaDot!)).toBeLessThanOrEqual(1);
      expect(env.observationSpace.contains(observation)).toBe(true);
      minTh = Math.min(minTh, theta!);
      maxTh = Math.max(maxTh, theta!);
    }
    expect(minTh).toBeLessThan(-2.8);
    expect(maxTh).toBeGreaterThan(2.8);
    const rng = new Rng(5);
    env.reset({ seed: 1 });
    for (let t = 0; t < 500; t++) {
      const r = env.step(env.actionSpace.sample(rng));
      expect(r.terminated).toBe(false);
      expect(env.observationSpace.contains(r.observation)).toBe(true);
      expect(r.reward).toBeLessThanOrEqual(0);
      expect(r.reward).toBeGreaterThanOrEqual(-(Math.PI ** 2 + 0.1 * 64 + 0.001 * 4));
    }
  });
});

describe('MountainCarContinuous-v0', () => {
  it('one step from the valley, by hand', () => {
    const env = new MountainCarContinuousEnv();
    env.reset({ initialState: { position: -0.5, velocity: 0 } });
    const r = env.step([1]);
    // velocity' = 0 + 1 * 0.0015 - 0.0025 * cos(3 * -0.5);  position' = -0.5 + velocity'
    const v = 0 + 1 * 0.0015 - 0.0025 * Math.cos(-1.5);
    close32(r.observation, [-0.5 + v, v]);
    expect(v).toBeCloseTo(0.001323157, 8);
    expect(r.reward).toBeCloseTo(-0.1, 15);
    expect(r.terminated).toBe(false);
  });

  it('clips the velocity to +-0.07 before moving', () => {
    const env = new MountainCarContinuousEnv();
    env.reset({ initialState: { position: -0.5, velocity: 0.07 } });
    // 0.07 + 0.0015 - 0.0025 * cos(-1.5) = 0.0713 > 0.07 -> 0.07; position = -0.5 + 0.07
    const r = env.step([1]);
    close32(r.observation, [-0.43, 0.07]);
  });

  it('stops at the left wall: position clamps to -1.2 and a leftward velocity becomes 0', () => {
    const env = new MountainCarContinuousEnv();
    env.reset({ initialState: { position: -1.19, velocity: -0.02 } });
    const r = env.step([-1]);
    // velocity' = -0.02 - 0.0015 - 0.0025 * cos(-3.57) = -0.01922... ; position' = -1.2092 < -1.2
    const v = -0.02 - 0.0015 - 0.0025 * Math.cos(3 * -1.19);
    expect(-1.19 + v).toBeLessThan(-1.2);
    expect(Array.from(r.observation)).toEqual([Math.fround(-1.2), 0]);
    expect(r.reward).toBeCloseTo(-0.1, 15);
    // at the wall pushing right: velocity becomes positive and is kept. The stored state is
    // float32 (Gymnasium's), so the step starts from fround(-1.2).
    const r2 = env.step([1]);
    const x0 = Math.fround(-1.2);
    const v2 = 0 + 0.0015 - 0.0025 * Math.cos(3 * x0);
    expect(v2).toBeGreaterThan(0);
    close32(r2.observation, [x0 + v2, v2]);
  });

  it('terminates at the goal with +100 (minus the action penalty)', () => {
    const env = new MountainCarContinuousEnv();
    env.reset({ initialState: { position: 0.44, velocity: 0.02 } });
    const r = env.step([0.5]);
    const v = 0.02 + 0.5 * 0.0015 - 0.0025 * Math.cos(3 * 0.44);
    close32(r.observation, [0.44 + v, v]);
    expect(0.44 + v).toBeGreaterThanOrEqual(0.45);
    expect(r.terminated).toBe(true);
    expect(r.truncated).toBe(false);
    expect(r.reward).toBeCloseTo(100 - 0.1 * 0.25, 12);
    expect(() => env.step([0])).toThrow(
      /MountainCarContinuous-v0\.step: the episode has terminated; call reset\(\)/,
    );
    // goal_velocity option: the same transition is not terminal when 0.03 is required
    const strict = new MountainCarContinuousEnv({ goalVelocity: 0.03 });
    strict.reset({ initialState: { position: 0.44, velocity: 0.02 } });
    const r2 = strict.step([0.5]);
    expect(r2.terminated).toBe(false);
    expect(r2.reward).toBeCloseTo(-0.025, 14);
  });

  it('clips the force but charges the raw action, as Gymnasium does', () => {
    const a = new MountainCarContinuousEnv();
    const b = new MountainCarContinuousEnv();
    a.reset({ initialState: { position: -0.3, velocity: 0.01 } });
    b.reset({ initialState: { position: -0.3, velocity: 0.01 } });
    const ra = a.step([2.8]);
    const rb = b.step([1]);
    expect(Array.from(ra.observation)).toEqual(Array.from(rb.observation)); // the force is clipped to 1
    expect(ra.reward).toBeCloseTo(-0.784, 15); // 0.1 · 2.8², not 0.1 · 1²
    expect(rb.reward).toBeCloseTo(-0.1, 15);
    expect(a.physicalState()).toEqual(b.physicalState());
  });

  it('resets position ~ U(-0.6, -0.4), velocity 0', () => {
    const env = new MountainCarContinuousEnv();
    for (let i = 0; i < 200; i++) {
      const { observation } = env.reset();
      expect(observation[0]).toBeGreaterThanOrEqual(-0.6);
      expect(observation[0]).toBeLessThan(-0.4);
      expect(observation[1]).toBe(0);
    }
    expect(() => env.reset({ initialState: { position: 0.7, velocity: 0 } })).toThrow(/outside/);
  });
});

describe('errors', () => {
  it('rejects NaN, non-finite and wrong-length actions with a clear message', () => {
    const env = new PendulumEnv();
    env.reset({ seed: 0 });
    expect(() => env.step([Number.NaN])).toThrow(EnvError);
    expect(() => env.step([Number.NaN])).toThrow(
      'Pendulum-v1.step: invalid action [NaN]: element 0 is NaN; expected 1 finite number(s) in [-2, 2]',
    );
    expect(() => env.step([1, 2])).toThrow(
      /Pendulum-v1\.step: invalid action \[1, 2\]: it has 2 element\(s\); expected 1/,
    );
    expect(() => env.step([Number.POSITIVE_INFINITY])).toThrow(/element 0 is Infinity/);
    expect(() => env.step(5 as unknown as number[])).toThrow(/not an array/);
    const car = makeEnv('MountainCarContinuous-v0');
    car.reset();
    expect(() => car.step([Number.NaN])).toThrow(
      /MountainCarContinuous-v0\.step: invalid action \[NaN\].*\[-1, 1\]/,
    );
    // a rejected action does not advance the env
    const before = env.physicalState();
    expect(() => env.step([Number.NaN])).toThrow();
    expect(env.physicalState()).toEqual(before);
  });

  it('rejects step (and physicalState) before reset', () => {
    expect(() => new PendulumEnv().step([0])).toThrow(
      'Pendulum-v1.step: called before reset(); call reset() to start an episode',
    );
    expect(() => new MountainCarContinuousEnv().physicalState()).toThrow(/before reset/);
    expect(() => makeEnv('LQR-v0').step([0])).toThrow(/TimeLimit\(LQR-v0\)\.step: called before reset\(\)/);
  });

  it('rejects bad seeds and initial states', () => {
    const env = new PendulumEnv();
    expect(() => env.reset({ seed: -1 })).toThrow(
      /Pendulum-v1\.reset: seed must be a non-negative safe integer/,
    );
    expect(() => env.reset({ seed: 1.5 })).toThrow(/seed/);
    expect(() => env.reset({ initialState: { theta: 0 } })).toThrow(/initialState\.thetaDot is undefined/);
    expect(() => env.reset({ initialState: { theta: 0, thetaDot: 0, x: 1 } })).toThrow(/unknown key/);
    expect(() => env.reset({ initialState: { theta: 0, thetaDot: 9 } })).toThrow(/outside/);
    expect(() => new PendulumEnv({ g: Number.NaN })).toThrow(/g must be/);
  });
});

describe('registry', () => {
  it('lists and makes the registered envs, wrapped in TimeLimit', () => {
    expect(listEnvs()).toEqual(['Pendulum-v1', 'MountainCarContinuous-v0', 'LQR-v0']);
    expect(envSpec('Pendulum-v1')?.maxEpisodeSteps).toBe(200);
    expect(envSpec('nope')).toBeUndefined();
    const p = makeEnv('Pendulum-v1');
    expect(p.id).toBe('Pendulum-v1');
    expect(p.maxEpisodeSteps).toBe(200);
    expect(p.env).toBeInstanceOf(PendulumEnv);
    expect(Array.from(p.observationSpace.high)).toEqual([1, 1, 8]);
    expect(Array.from(p.actionSpace.low)).toEqual([-2]);
    const c = makeEnv('MountainCarContinuous-v0');
    expect(c.maxEpisodeSteps).toBe(999);
    // float32 bounds, as Gymnasium's Box(dtype=np.float32)
    expect(Array.from(c.observationSpace.low)).toEqual([-1.2, -0.07].map(Math.fround));
    expect(Array.from(c.observationSpace.high)).toEqual([0.6, 0.07].map(Math.fround));
    expect(makeEnv('LQR-v0').maxEpisodeSteps).toBe(100);
    expect(makeEnv('LQR-v0', { maxEpisodeSteps: 7 }).maxEpisodeSteps).toBe(7);
    expect(makeEnv('Pendulum-v1', { g: 9.81 }).env.g).toBe(9.81);
    expect(p.unwrapped).toBe(p.env);
    expect(p.env.unwrapped).toBe(p.env);
  });

  it('rejects unknown ids and bad limits', () => {
    expect(() => makeEnv('CartPole-v1')).toThrow(
      'makeEnv: unknown environment "CartPole-v1"; known: Pendulum-v1, MountainCarContinuous-v0, LQR-v0',
    );
    expect(() => makeEnv('Pendulum-v1', { maxEpisodeSteps: 0 })).toThrow(
      /maxEpisodeSteps must be a positive integer/,
    );
  });
});

describe('seeding', () => {
  it('the same seed gives the same initial state; different seeds differ', () => {
    for (const id of listEnvs()) {
      const a = makeEnv(id);
      const b = makeEnv(id);
      const oa = a.reset({ seed: 42 }).observation;
      expect(Array.from(b.reset({ seed: 42 }).observation)).toEqual(Array.from(oa));
      expect(Array.from(b.reset({ seed: 43 }).observation)).not.toEqual(Array.from(oa));
      // re-seeding mid-stream gives the same state again
      a.reset();
      expect(Array.from(a.reset({ seed: 42 }).observation)).toEqual(Array.from(oa));
    }
  });

  it('reset without a seed continues the stream reproducibly', () => {
    const a = makeEnv('Pendulum-v1');
    const b = makeEnv('Pendulum-v1');
    const seqA = [a.reset({ seed: 7 }), a.reset(), a.reset()].map((r) => Array.from(r.observation));
    const seqB = [b.reset({ seed: 7 }), b.reset(), b.reset()].map((r) => Array.from(r.observation));
    expect(seqA).toEqual(seqB);
    expect(seqA[1]).not.toEqual(seqA[0]);
    // the constructor seed (default 0) is the stream before any seeded reset
    expect(Array.from(makeEnv('Pendulum-v1').reset().observation)).toEqual(
      Array.from(makeEnv('Pendulum-v1').reset({ seed: 0 }).observation),
    );
    expect(Array.from(makeEnv('Pendulum-v1', { seed: 3 }).reset().observation)).toEqual(
      Array.from(makeEnv('Pendulum-v1').reset({ seed: 3 }).observation),
    );
  });

  it('the same seed and actions give the same trajectory', () => {
    const run = (): number[] => {
      const env = makeEnv('Pendulum-v1');
      env.reset({ seed: 11 });
      const rng = new Rng(2);
      const out: number[] = [];
      for (let t = 0; t < 50; t++) out.push(env.step([rng.uniform(-2, 2)]).reward);
      return out;
    };
    expect(run()).toEqual(run());
  });
});

describe('TimeLimit', () => {
  it('truncates Pendulum at exactly 200 steps', () => {
    const env = makeEnv('Pendulum-v1');
    env.reset({ seed: 0 });
    for (let t = 1; t <= 200; t++) {
      const r = env.step([0]);
      expect(r.terminated).toBe(false);
      expect(r.truncated).toBe(t === 200);
      expect(env.elapsedSteps).toBe(t);
    }
    expect(() => env.step([0])).toThrow(
      /TimeLimit\(Pendulum-v1\)\.step: the episode already ended after 200 step\(s\)/,
    );
    env.reset();
    expect(env.elapsedSteps).toBe(0);
    expect(env.step([0]).truncated).toBe(false);
  });

  it('truncates MountainCarContinuous at exactly 999 steps', () => {
    const env = makeEnv('MountainCarContinuous-v0');
    env.reset({ seed: 0 });
    let steps = 0;
    for (;;) {
      const r = env.step([0]);
      steps++;
      expect(r.terminated).toBe(false);
      if (r.truncated) break;
    }
    expect(steps).toBe(999);
  });

  it('honours maxEpisodeSteps; a terminating last step is terminated AND truncated, as in Gymnasium', () => {
    const env = makeEnv('Pendulum-v1', { maxEpisodeSteps: 3 });
    env.reset();
    expect([env.step([0]), env.step([0]), env.step([0])].map((r) => r.truncated)).toEqual([
      false,
      false,
      true,
    ]);
    const car = makeEnv('MountainCarContinuous-v0', { maxEpisodeSteps: 1 });
    car.reset({ initialState: { position: 0.44, velocity: 0.02 } });
    const r = car.step([0]);
    expect(r.terminated).toBe(true);
    expect(r.truncated).toBe(true);
    expect(() => car.step([0])).toThrow(/already ended/);
  });
});

describe('snapshots', () => {
  it('getState/setState round-trips through JSON and resumes exactly', () => {
    for (const id of listEnvs()) {
      const env = makeEnv(id);
      env.reset({ seed: 5 });
      const rng = new Rng(9);
      const act = (): Float64Array => env.actionSpace.sample(rng).map((v) => v * 0.5);
      for (let t = 0; t < 10; t++) env.step(act());
      const snap = JSON.parse(JSON.stringify(env.getState()));
      const twin = makeEnv(id);
      twin.setState(snap);
      expect(twin.physicalState()).toEqual(env.physicalState());
      expect(twin.elapsedSteps).toBe(10);
      const actions = Array.from({ length: 5 }, act);
      for (const a of actions) expect(twin.step(a)).toEqual(env.step(a));
      // the RNG stream continues identically too
      expect(Array.from(twin.reset().observation)).toEqual(Array.from(env.reset().observation));
    }
  });

  it('rejects snapshots of another env or config', () => {
    const p = new PendulumEnv({ g: 9.81 });
    p.reset();
    expect(() => new PendulumEnv().setState(p.getState())).toThrow(/config/);
    expect(() => new MountainCarContinuousEnv().setState(p.getState())).toThrow(
      /snapshot is for "Pendulum-v1"/,
    );
    expect(() => makeEnv('Pendulum-v1').setState(p.getState())).toThrow(/expected a TimeLimit snapshot/);
    expect(() =>
      makeEnv('Pendulum-v1', { maxEpisodeSteps: 5 }).setState(makeEnv('Pendulum-v1').getState()),
    ).toThrow(/maxSteps/);
  });
});
