import { Rng } from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dareResidual, findEnv, LqrEnv, makeEnv, type Policy, solveDare } from '../src/envs/index.ts';

const dt = 0.1;

/** The cost of `policy` over `horizon` steps, averaged over a fixed batch of initial states. */
function meanCost(env: LqrEnv, starts: number[][], policy: Policy, horizon = 100): number {
  let total = 0;
  for (const x0 of starts) {
    const c = -env.rolloutReturn(x0, policy, horizon);
    total += Number.isFinite(c) ? c : Number.POSITIVE_INFINITY;
  }
  return total / starts.length;
}

function gainPolicy(k0: number, k1: number): Policy {
  return (x) => [-(k0 * x[0]! + k1 * x[1]!)];
}

describe('LQR-v0: Riccati solution', () => {
  const env = new LqrEnv();
  const P = env.riccatiSolution();
  const [[k0, k1]] = env.optimalGain() as [[number, number]];

  it('satisfies the DARE (residual computed by hand for the double integrator)', () => {
    // A = [[1, dt], [0, 1]], B = [b1, b2] = [dt^2/2, dt], Q = I, R = 0.1
    const b1 = 0.5 * dt * dt;
    const b2 = dt;
    const [p11, p12, p22] = [P[0]![0]!, P[0]![1]!, P[1]![1]!];
    expect(P[1]![0]).toBe(p12);
    // A^T P A for A = [[1, dt], [0, 1]]:
    const apa11 = p11;
    const apa12 = dt * p11 + p12;
    const apa22 = dt * dt * p11 + 2 * dt * p12 + p22;
    // A^T P B (a column): P B = [p11 b1 + p12 b2, p12 b1 + p22 b2]; A^T (PB) = [pb1, dt pb1 + pb2]
    const pb1 = p11 * b1 + p12 * b2;
    const pb2 = p12 * b1 + p22 * b2;
    const g1 = pb1;
    const g2 = dt * pb1 + pb2;
    const s = 0.1 + b1 * pb1 + b2 * pb2; // R + B^T P B
    const r11 = 1 + apa11 - (g1 * g1) / s - p11;
    const r12 = apa12 - (g1 * g2) / s - p12;
    const r22 = 1 + apa22 - (g2 * g2) / s - p22;
    for (const r of [r11, r12, r22]) expect(Math.abs(r)).toBeLessThan(1e-10);
    // K = (R + B^T P B)^-1 B^T P A = [g1, g2] / s
    expect(k0).toBeCloseTo(g1 / s, 12);
    expect(k1).toBeCloseTo(g2 / s, 12);
    // P is positive definite and the closed loop A - BK is stable (2x2 eigenvalues)
    expect(p11).toBeGreaterThan(0);
    expect(p11 * p22 - p12 * p12).toBeGreaterThan(0);
    const m = [
      [1 - b1 * k0, dt - b1 * k1],
      [-b2 * k0, 1 - b2 * k1],
    ];
    const tr = m[0]![0]! + m[1]![1]!;
    const det = m[0]![0]! * m[1]![1]! - m[0]![1]! * m[1]![0]!;
    const disc = tr * tr - 4 * det;
    const rho =
      disc >= 0
        ? Math.max(Math.abs((tr + Math.sqrt(disc)) / 2), Math.abs((tr - Math.sqrt(disc)) / 2))
        : Math.sqrt(det);
    expect(rho).toBeLessThan(1);
    expect(
      Math.abs(
        dareResidual(env.A, env.B, env.Q, env.R, P)
          .flat()
          .reduce((a, v) => Math.max(a, Math.abs(v)), 0),
      ),
    ).toBeLessThan(1e-10);
  });

  it('solves a 3-state, 2-action system (Bellman optimality at random states)', () => {
    const A = [
      [1.1, 0.2, 0],
      [0, 0.9, 0.3],
      [0.1, 0, 1.05],
    ];
    const B = [
      [0.1, 0],
      [0, 0.2],
      [0.05, 0.1],
    ];
    const Q = [
      [2, 0.5, 0],
      [0.5, 1, 0],
      [0, 0, 0.5],
    ];
    const R = [
      [0.5, 0.1],
      [0.1, 0.3],
    ];
    const sol = solveDare(A, B, Q, R);
    expect(sol.residual).toBeLessThan(1e-9);
    const lqr = new LqrEnv({ A, B, Q, R, actionBound: 1e6 });
    expect(lqr.stateNames).toEqual(['x0', 'x1', 'x2']);
    expect(lqr.actionSpace.size).toBe(2);
    const rng = new Rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const x = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
      const u = lqr.optimalAction(x);
      // V(x) = min_u [c(x, u) + V(Ax + Bu)], attained at u*
      const q = (uu: ArrayLike<number>): number =>
        lqr.stageCost(x, uu) + lqr.optimalCost(lqr.nextState(x, uu));
      expect(q(u)).toBeCloseTo(lqr.optimalCost(x), 9);
      for (let j = 0; j < 4; j++) {
        const du = [rng.normal(0, 0.1), rng.normal(0, 0.1)];
        expect(q([u[0]! + du[0]!, u[1]! + du[1]!])).toBeGreaterThanOrEqual(q(u) - 1e-12);
      }
    }
  });

  it('rejects bad matrices and unstabilisable systems', () => {
    expect(() => new LqrEnv({ A: [[1, 0]], B: [[1]] })).toThrow(/LQR-v0\.constructor: A must be square/);
    expect(() => new LqrEnv({ R: -1 })).toThrow(/R must be positive definite/);
    expect(
      () =>
        new LqrEnv({
          Q: [
            [1, 2],
            [0, 1],
          ],
        }),
    ).toThrow(/Q must be symmetric/);
    expect(() => new LqrEnv({ A: [[1]] })).toThrow(/A and B together/);
    expect(() => new LqrEnv({ A: [[2]], B: [[0]] })).toThrow(/did not converge/);
  });
});

describe('LQR-v0: environment', () => {
  it('one step by hand', () => {
    const env = new LqrEnv();
    const r0 = env.reset({ initialState: { position: 1, velocity: 0.5 } });
    expect(Array.from(r0.observation)).toEqual([1, 0.5]);
    const r = env.step([2]);
    // cost = x^T I x + 0.1 u^2 = 1 + 0.25 + 0.4; x' = [1 + 0.1*0.5 + 0.005*2, 0.5 + 0.1*2]
    expect(r.reward).toBeCloseTo(-1.65, 14);
    expect(r.observation[0]).toBeCloseTo(1.06, 14);
    expect(r.observation[1]).toBeCloseTo(0.7, 14);
    expect(r.terminated).toBe(false);
    // clipping to [-10, 10]
    const r2 = env.step([50]);
    expect(r2.reward).toBeCloseTo(-(1.06 ** 2 + 0.7 ** 2 + 0.1 * 100), 12);
  });

  it('resets x ~ U(-1, 1)^2 from its seeded rng; makeEnv gives a 100-step episode', () => {
    const env = makeEnv('LQR-v0');
    for (let i = 0; i < 100; i++) {
      const { observation } = env.reset();
      expect(observation.every((v) => v >= -1 && v < 1)).toBe(true);
    }
    env.reset({ seed: 1 });
    let n = 0;
    for (;;) {
      n++;
      if (env.step([0]).truncated) break;
    }
    expect(n).toBe(100);
    expect(findEnv(env, LqrEnv)).toBe(env.env);
  });

  it('the action bound never clips the optimal policy', () => {
    const env = new LqrEnv();
    const [[k0, k1]] = env.optimalGain() as [[number, number]];
    expect(Math.abs(k0) + Math.abs(k1)).toBeLessThan(env.actionBound);
    for (const x0 of [
      [1, 1],
      [1, -1],
      [-1, 1],
      [-1, -1],
    ]) {
      let x: ArrayLike<number> = x0;
      for (let t = 0; t < 100; t++) {
        const unclipped = -(k0 * x[0]! + k1 * x[1]!);
        expect(Math.abs(unclipped)).toBeLessThan(env.actionBound);
        expect(env.optimalAction(x)[0]).toBe(unclipped);
        x = env.nextState(x, [unclipped]);
      }
    }
  });
});

describe('LQR-v0: scoring policies against the optimum', () => {
  const env = new LqrEnv();
  const [[k0, k1]] = env.optimalGain() as [[number, number]];
  const rng = new Rng(123);
  const starts = Array.from({ length: 16 }, () => [rng.uniform(-1, 1), rng.uniform(-1, 1)]);

  it('optimalCost matches a long rollout; finite-horizon bounds hold', () => {
    for (const x0 of starts.slice(0, 6)) {
      const v = env.optimalCost(x0);
      expect(-env.optimalReturn(x0, 2000)).toBeCloseTo(v, 9);
      const j100 = -env.optimalReturn(x0, 100);
      const tv = env.finiteHorizonOptimalCost(x0, 100);
      expect(j100).toBeLessThanOrEqual(v + 1e-12);
      expect(tv).toBeLessThanOrEqual(j100 + 1e-12);
      expect((j100 - tv) / j100).toBeLessThan(1e-8);
    }
  });

  it('the optimal policy beats random and zero actions; rolloutPolicy uses the same starts', () => {
    const opt = env.evaluateOptimalPolicy(16, 0);
    const act = new Rng(4);
    const random = env.rolloutPolicy(() => [act.uniform(-10, 10)], 16, 0);
    const zero = env.rolloutPolicy(() => [0], 16, 0);
    expect(opt.meanReturn).toBeGreaterThan(random.meanReturn);
    expect(opt.meanReturn).toBeGreaterThan(zero.meanReturn);
    expect(opt.returns).toHaveLength(16);
    expect(opt.meanLength).toBe(100);
    // the same seed gives the same initial states: the optimal policy evaluated twice agrees exactly
    expect(env.evaluateOptimalPolicy(16, 0).returns).toEqual(opt.returns);
    // and each episode's return equals optimalReturn from that episode's initial state
    const probe = makeEnv('LQR-v0');
    const x0 = probe.reset({ seed: 3 }).observation;
    expect(opt.returns[3]).toBeCloseTo(env.optimalReturn(x0, 100), 10);
    // a slightly-off gain is within 5% of the optimum; doing nothing is not
    const near = env.rolloutPolicy(gainPolicy(1.05 * k0, 0.95 * k1), 16, 0);
    expect(Math.abs(near.meanReturn - opt.meanReturn) / Math.abs(opt.meanReturn)).toBeLessThan(0.05);
    expect(Math.abs(zero.meanReturn - opt.meanReturn) / Math.abs(opt.meanReturn)).toBeGreaterThan(0.05);
  });

  it('perturbing K never improves the expected cost over a fixed batch of initial states', () => {
    const optimal = meanCost(env, starts, env.optimalPolicy());
    // A stationary gain can beat u = -K*x on a 100-step episode by at most the gap between
    // the stationary and the time-varying finite-horizon optimum, which is tiny:
    const tvOptimal = starts.reduce((s, x0) => s + env.finiteHorizonOptimalCost(x0, 100), 0) / starts.length;
    const gap = optimal - tvOptimal;
    expect(gap).toBeGreaterThanOrEqual(-1e-12);
    expect(gap / optimal).toBeLessThan(1e-8);
    fc.assert(
      fc.property(
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.constantFrom(1e-3, 0.1, 1, 3),
        (d0, d1, size) => {
          const perturbed = meanCost(env, starts, gainPolicy(k0 + size * d0 * k0, k1 + size * d1 * k1));
          return perturbed >= optimal - gap - 1e-12;
        },
      ),
      { numRuns: 60, seed: 1 },
    );
  });
});
