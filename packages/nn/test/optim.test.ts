/**
 * Optimisers against values derived by hand from the published update equations, state
 * save/load, gradient clipping and target-network updates.
 *
 * The objective is f(θ) = ½‖θ − c‖², whose gradient is θ − c. Expected values are computed
 * per coordinate with plain scalar arithmetic written from the equations, never by calling
 * the code under test.
 */

import * as A from '@chainrule/autograd';
import { input, param, type Var } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, Linear, ReLU, Sequential } from '../src/layers.ts';
import { mseLoss } from '../src/losses.ts';
import {
  Adam,
  type AdamOptions,
  clipGradNorm,
  hardUpdate,
  type Optimizer,
  SGD,
  softUpdate,
} from '../src/optim.ts';
import { arr } from './helpers.ts';

const THETA0 = [1, -2, 0.5, 3];
const C = [0, 1, 0.5, -1]; // the third coordinate starts at its optimum: zero gradient

/** Take `steps` optimiser steps on ½‖θ − c‖² (gradient by backward) and record θ after each. */
function trajectory(make: (p: Var) => Optimizer, steps = 3, theta0 = THETA0, c = C): number[][] {
  const p = param(T.tensor(theta0, { dtype: 'float64' }));
  const target = input(T.tensor(c, { dtype: 'float64' }));
  const opt = make(p);
  const out: number[][] = [];
  for (let t = 0; t < steps; t++) {
    opt.zeroGrad();
    A.mul(A.sum(A.square(A.sub(p, target))), 0.5).backward();
    opt.step();
    out.push(arr(p));
  }
  return out;
}

function expectTrajectory(actual: number[][], expected: number[][], digits = 12): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, t) => {
    row.forEach((a, i) => {
      expect(a, `step ${t + 1}, coordinate ${i}`).toBeCloseTo(expected[t]![i]!, digits);
    });
  });
}

interface AdamHand {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  wd?: number;
  decoupled?: boolean;
  amsgrad?: boolean;
}

/**
 * Kingma & Ba (2015), Algorithm 1, one coordinate at a time, with PyTorch's weight decay:
 *   L2 (Adam):        g ← g + λθ
 *   decoupled (AdamW): θ ← θ − lr·λ·θ   (before the Adam step; g is taken at the old θ)
 *   m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²
 *   AMSGrad:          v̂max ← max(v̂max, v), used in place of v
 *   m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ),  θ ← θ − lr·m̂ / (√v̂ + ε)
 */
function adamByHand(h: AdamHand, steps = 3, theta0 = THETA0, c = C): number[][] {
  const theta = [...theta0];
  const m = theta.map(() => 0);
  const v = theta.map(() => 0);
  const vmax = theta.map(() => 0);
  const out: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < theta.length; i++) {
      let g = theta[i]! - c[i]!;
      const wd = h.wd ?? 0;
      if (h.decoupled) theta[i] = theta[i]! - h.lr * wd * theta[i]!;
      else g = g + wd * theta[i]!;
      m[i] = h.b1 * m[i]! + (1 - h.b1) * g;
      v[i] = h.b2 * v[i]! + (1 - h.b2) * g * g;
      vmax[i] = Math.max(vmax[i]!, v[i]!);
      const mHat = m[i]! / (1 - h.b1 ** t);
      const vHat = (h.amsgrad ? vmax[i]! : v[i]!) / (1 - h.b2 ** t);
      theta[i] = theta[i]! - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    }
    out.push([...theta]);
  }
  return out;
}

describe('Adam: the first three steps against Algorithm 1 by hand', () => {
  it('defaults (β = 0.9, 0.999; ε = 1e-8), lr 0.1: step 1 moves every coordinate by lr·sign(g)', () => {
    const got = trajectory((p) => new Adam([p], { lr: 0.1 }));
    // Step 1: m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) = ±0.1 (0 where g = 0).
    // θ₀ − c = [1, −3, 0, 4]  →  θ₁ = [0.9, −1.9, 0.5, 2.9]  (to within lr·ε)
    expectTrajectory([got[0]!], [[0.9, -1.9, 0.5, 2.9]], 7);
    // Step 2 for the first coordinate, written out: g = 0.9,
    //   m = 0.9·0.1 + 0.1·0.9 = 0.18,  v = 0.999·0.001 + 0.001·0.81 = 0.001809,
    //   m̂ = 0.18/0.19,  v̂ = 0.001809/0.001999,  θ₂ = 0.9 − 0.1·m̂/(√v̂ + 1e-8)
    const theta2 = 0.9 - (0.1 * (0.18 / 0.19)) / (Math.sqrt(0.001809 / 0.001999) + 1e-8);
    expect(got[1]![0]!).toBeCloseTo(theta2, 7);
    expectTrajectory(got, adamByHand({ lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8 }));
  });

  it('other betas, eps and lr', () => {
    const h = { lr: 0.05, b1: 0.5, b2: 0.9, eps: 1e-3 };
    const got = trajectory((p) => new Adam([p], { lr: 0.05, betas: [0.5, 0.9], eps: 1e-3 }));
    expectTrajectory(got, adamByHand(h));
  });

  it("L2 weight decay (PyTorch's Adam): g ← g + λθ", () => {
    const got = trajectory((p) => new Adam([p], { lr: 0.1, weightDecay: 0.5 }));
    expectTrajectory(got, adamByHand({ lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.5 }));
    // Coordinate 3 has zero loss gradient, so only the L2 term moves it: step 1 is −lr·sign(λθ).
    expect(got[0]![2]!).toBeCloseTo(0.4, 7);
  });

  it('decoupled weight decay (AdamW): θ ← θ − lr·λ·θ, then the Adam step', () => {
    const got = trajectory((p) => new Adam([p], { lr: 0.1, weightDecay: 0.5, decoupledWeightDecay: true }));
    expectTrajectory(got, adamByHand({ lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.5, decoupled: true }));
    // Coordinate 3: the loss gradient is 0 at step 1, so θ₁ = 0.5·(1 − 0.1·0.5) = 0.475 exactly
    // (the Adam step is 0/(0 + ε) = 0). L2 would instead have moved it by a full lr.
    expect(got[0]![2]!).toBeCloseTo(0.475, 12);
    const l2 = trajectory((p) => new Adam([p], { lr: 0.1, weightDecay: 0.5 }));
    expect(l2[0]![2]!).not.toBeCloseTo(0.475, 3);
  });

  it('AMSGrad uses the running maximum of v (checked where v falls, so it matters)', () => {
    // β₂ = 0.5 and lr = 0.5 on a 1-D problem: g shrinks from 1 to 0.5, v₂ = 0.25 + 0.125 < v₁ = 0.5.
    const h = { lr: 0.5, b1: 0.9, b2: 0.5, eps: 1e-8 };
    const make = (amsgrad: boolean) => (p: Var) => new Adam([p], { lr: 0.5, betas: [0.9, 0.5], amsgrad });
    const ams = trajectory(make(true), 3, [1], [0]);
    const plain = trajectory(make(false), 3, [1], [0]);
    expectTrajectory(ams, adamByHand({ ...h, amsgrad: true }, 3, [1], [0]));
    expectTrajectory(plain, adamByHand(h, 3, [1], [0]));
    // Both take the same first step (θ₁ = 0.5); from step 2 on AMSGrad's larger v̂ gives smaller steps.
    expect(ams[0]![0]!).toBeCloseTo(0.5, 7);
    expect(ams[1]![0]!).toBeGreaterThan(plain[1]![0]!);
    // Step 2 by hand (θ₁ = 0.5 up to ε): g = 0.5, m = 0.09 + 0.05 = 0.14, v = 0.25 + 0.125 = 0.375
    //   but vmax = 0.5; m̂ = 0.14/0.19, v̂ = 0.5/0.75, θ₂ = 0.5 − 0.5·m̂/(√v̂ + ε)
    expect(ams[1]![0]!).toBeCloseTo(0.5 - (0.5 * (0.14 / 0.19)) / (Math.sqrt(0.5 / 0.75) + 1e-8), 7);
  });

  it('parameters without a gradient are skipped: stepCount advances, their own step does not', () => {
    const a = param(T.tensor([1, 2], { dtype: 'float64' }));
    const b = param(T.tensor([3], { dtype: 'float64' }));
    const opt = new Adam([a, b], { lr: 0.1 });
    A.sum(A.square(a)).backward();
    opt.step();
    expect(arr(b)).toEqual([3]);
    expect(opt.stepCount).toBe(1);
    expect(opt.parameterSteps).toEqual([1, 0]);
    expect(opt.stateDict().steps).toEqual([1, 0]);
    expect(opt.stateDict().tensors['1.m']!.dataSync()[0]).toBe(0);
  });
});

describe('Adam counts bias-correction steps per parameter (PyTorch’s state["step"])', () => {
  /** p = q = 1; step 1: only q has gradient 1; step 2: both have gradient 1. */
  const skipThenBoth = (opt: Adam, p: Var, q: Var) => {
    q.grad = T.tensor([1], { dtype: 'float64' });
    opt.step();
    p.grad = T.tensor([1], { dtype: 'float64' });
    q.grad = T.tensor([1], { dtype: 'float64' });
    opt.step();
  };
  // torch.optim.Adam / AdamW([p, q], lr=0.1, ...) on the same schedule (torch 1.13, float64).
  const cases: [string, AdamOptions, number, number][] = [
    ['Adam', {}, 0.900000001, 0.8000000020000007],
    ['AMSGrad', { amsgrad: true }, 0.900000001, 0.8000000020000007],
    ['AdamW', { weightDecay: 0.1, decoupledWeightDecay: true }, 0.890000001, 0.7811000019900006],
    ['Adam with L2', { weightDecay: 0.1 }, 0.9000000009090909, 0.8000248483897221],
  ];
  it.each(cases)('%s: a parameter first updated on step 2 is corrected as its step 1', (_, o, ep, eq) => {
    const p = param(T.tensor([1], { dtype: 'float64' }));
    const q = param(T.tensor([1], { dtype: 'float64' }));
    const opt = new Adam([p, q], { lr: 0.1, ...o });
    skipThenBoth(opt, p, q);
    // With one global step p would get 1 − 0.1·(0.1/0.19)/√(0.001/0.001999) = 0.925586.
    expect(arr(p)[0]).toBeCloseTo(ep, 12);
    expect(arr(q)[0]).toBeCloseTo(eq, 12);
    expect(opt.parameterSteps).toEqual([1, 2]);
    expect(opt.stepCount).toBe(2);
  });

  it('the per-parameter steps round-trip through stateDict', () => {
    const p = param(T.tensor([1], { dtype: 'float64' }));
    const q = param(T.tensor([1], { dtype: 'float64' }));
    const opt = new Adam([p, q], { lr: 0.1 });
    q.grad = T.tensor([1], { dtype: 'float64' });
    opt.step();
    const state = opt.stateDict();
    expect(state.steps).toEqual([0, 1]);
    const p2 = param(T.tensor([1], { dtype: 'float64' }));
    const q2 = param(T.tensor([1], { dtype: 'float64' }));
    const restored = new Adam([p2, q2], { lr: 0.1 });
    restored.loadStateDict(state);
    expect(restored.parameterSteps).toEqual([0, 1]);
    for (const [x, y] of [
      [p, q],
      [p2, q2],
    ] as const) {
      x.grad = T.tensor([1], { dtype: 'float64' });
      y.grad = T.tensor([1], { dtype: 'float64' });
    }
    opt.step();
    restored.step();
    expect(arr(p2)).toEqual(arr(p));
    expect(arr(p2)[0]).toBeCloseTo(0.900000001, 12);
  });

  it('an older state with one global step gives that step to every parameter', () => {
    const p = param(T.tensor([1, 2], { dtype: 'float64' }));
    const q = param(T.tensor([3], { dtype: 'float64' }));
    const opt = new Adam([p, q], { lr: 0.1 });
    const { steps: _, ...old } = { ...opt.stateDict(), step: 7 };
    opt.loadStateDict(old);
    expect(opt.stepCount).toBe(7);
    expect(opt.parameterSteps).toEqual([7, 7]);
  });

  it('steps of the wrong length or kind are a clear error that changes nothing', () => {
    const p = param(T.tensor([1], { dtype: 'float64' }));
    const opt = new Adam([p], { lr: 0.1 });
    const good = opt.stateDict();
    expect(() => opt.loadStateDict({ ...good, steps: [1, 2] })).toThrow(
      /adam\.loadStateDict.*steps must be one non-negative integer per parameter \(1\).*got steps \[1,2\]/,
    );
    expect(() => opt.loadStateDict({ ...good, steps: [-1] })).toThrow(/got steps \[-1\]/);
    expect(() => opt.loadStateDict({ ...good, steps: [1.5] })).toThrow(/got steps \[1\.5\]/);
    expect(opt.parameterSteps).toEqual([0]);
  });
});

describe('SGD: the first three steps against the PyTorch update equations by hand', () => {
  // PyTorch's SGD: g ← g + λθ; with momentum μ: b₁ = g, bₜ = μbₜ₋₁ + (1 − τ)g;
  // g ← g + μb (Nesterov) or g ← b; θ ← θ − lr·g. Here θ₀ = 1, c = 0, so g = θ.
  const run = (opts: ConstructorParameters<typeof SGD>[1]) =>
    trajectory((p) => new SGD([p], opts), 3, [1], [0]).map((r) => r[0]!);

  it('plain: θ ← θ − lr·g', () => {
    // 1 − 0.1·1 = 0.9; 0.9 − 0.09 = 0.81; 0.81 − 0.081 = 0.729
    expectTrajectory([run({ lr: 0.1 })], [[0.9, 0.81, 0.729]]);
  });

  it('momentum 0.9', () => {
    // t1: b = 1, θ = 0.9.  t2: g = 0.9, b = 0.9 + 0.9 = 1.8, θ = 0.72.
    // t3: g = 0.72, b = 1.62 + 0.72 = 2.34, θ = 0.72 − 0.234 = 0.486
    expectTrajectory([run({ lr: 0.1, momentum: 0.9 })], [[0.9, 0.72, 0.486]]);
  });

  it('Nesterov momentum 0.9', () => {
    // t1: b = 1, g' = 1 + 0.9 = 1.9, θ = 0.81.
    // t2: g = 0.81, b = 0.9 + 0.81 = 1.71, g' = 0.81 + 1.539 = 2.349, θ = 0.5751.
    // t3: g = 0.5751, b = 1.539 + 0.5751 = 2.1141, g' = 0.5751 + 1.90269 = 2.47779, θ = 0.327321
    expectTrajectory([run({ lr: 0.1, momentum: 0.9, nesterov: true })], [[0.81, 0.5751, 0.327321]]);
  });

  it('dampening 0.5 (not applied to the first buffer)', () => {
    // t1: b = 1, θ = 0.9.  t2: g = 0.9, b = 0.9 + 0.45 = 1.35, θ = 0.765.
    // t3: g = 0.765, b = 1.215 + 0.3825 = 1.5975, θ = 0.765 − 0.15975 = 0.60525
    expectTrajectory([run({ lr: 0.1, momentum: 0.9, dampening: 0.5 })], [[0.9, 0.765, 0.60525]]);
  });

  it('L2 weight decay 0.1: g = θ + 0.1θ, so θ shrinks by 0.89 a step', () => {
    expectTrajectory([run({ lr: 0.1, weightDecay: 0.1 })], [[0.89, 0.7921, 0.704969]]);
  });
});

/** A small regression problem to train with a real network. */
function regression(initSeed: number) {
  const rng = new Rng(initSeed);
  const net = new Sequential(
    new Linear(3, 5, { rng }),
    new BatchNorm1d(5),
    new ReLU(),
    new Linear(5, 2, { rng }),
  );
  const data = new Rng(12345); // the same data whatever the initial weights
  const x = input(T.randn([8, 3], data));
  const y = input(T.randn([8, 2], data));
  const stepOnce = (opt: Optimizer) => {
    opt.zeroGrad();
    mseLoss(net.forward(x), y).backward();
    opt.step();
  };
  return { net, stepOnce };
}

describe('optimiser state save/load', () => {
  const makers: [string, (ps: Var[]) => Optimizer][] = [
    ['Adam', (ps) => new Adam(ps, { lr: 0.01 })],
    [
      'AdamW + AMSGrad',
      (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.1, decoupledWeightDecay: true, amsgrad: true }),
    ],
    ['SGD Nesterov', (ps) => new SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ];
  for (const [name, make] of makers) {
    it(`${name}: continuing after loadStateDict matches uninterrupted training exactly`, () => {
      const a = regression(1);
      const optA = make(a.net.parameters());
      for (let i = 0; i < 6; i++) a.stepOnce(optA);

      const b = regression(1);
      const optB = make(b.net.parameters());
      for (let i = 0; i < 3; i++) b.stepOnce(optB);
      const modelState = b.net.stateDict();
      const optState = optB.stateDict();
      optB.step(); // state snapshots are copies: later steps do not change them

      const c = regression(99); // different initial weights, overwritten by the load
      c.net.loadStateDict(modelState);
      const optC = make(c.net.parameters());
      optC.loadStateDict(optState);
      expect(optC.stepCount).toBe(3);
      for (let i = 0; i < 3; i++) c.stepOnce(optC);

      const sa = a.net.stateDict();
      const sc = c.net.stateDict();
      for (const k of Object.keys(sa)) expect(arr(sc[k]!), k).toEqual(arr(sa[k]!));
    });
  }

  it('bad state is a clear error and changes nothing', () => {
    const p = param(T.tensor([1, 2, 3]));
    const adam = new Adam([p], { lr: 0.1 });
    const good = adam.stateDict();
    const sgdState = new SGD([p], { lr: 0.1 }).stateDict();
    expect(() => adam.loadStateDict(sgdState)).toThrow(/state is for "sgd", expected "adam"/);
    expect(() => adam.loadStateDict({ ...good, tensors: { ...good.tensors, '0.m': T.zeros([2]) } })).toThrow(
      /0\.m is float32 \[2\], parameter is float32 \[3\]/,
    );
    expect(() =>
      adam.loadStateDict({
        ...good,
        tensors: { ...good.tensors, '0.m': T.zeros([3], { dtype: 'float64' }) },
      }),
    ).toThrow(/0\.m is float64 \[3\], parameter is float32 \[3\]/);
    expect(() => adam.loadStateDict({ ...good, tensors: { '0.m': good.tensors['0.m']! } })).toThrow(
      /missing keys: 0\.v/,
    );
    expect(() =>
      adam.loadStateDict({ ...good, tensors: { ...good.tensors, '1.m': T.zeros([3]), '0.x': T.zeros([3]) } }),
    ).toThrow(/unexpected key 1\.m; unexpected key 0\.x/);
    // Keys must be `${index}.${slot}` exactly.
    for (const k of ['x.m', '-1.m', '0.m.extra', '01.m']) {
      expect(
        () => adam.loadStateDict({ ...good, tensors: { ...good.tensors, [k]: T.zeros([3]) } }),
        k,
      ).toThrow(`unexpected key ${k}`);
    }
    // An AMSGrad state has a vmax slot the plain optimiser does not know, and vice versa.
    const amsState = new Adam([p], { amsgrad: true }).stateDict();
    expect(() => adam.loadStateDict(amsState)).toThrow(/unexpected key 0\.vmax/);
    expect(() => new Adam([p], { amsgrad: true }).loadStateDict(good)).toThrow(/missing keys: 0\.vmax/);
    const sgd = new SGD([p], { lr: 0.1, momentum: 0.9 });
    expect(() => sgd.loadStateDict(good)).toThrow(/state is for "adam", expected "sgd"/);
    expect(() => sgd.loadStateDict({ ...sgdState, tensors: { '0.momentum': T.zeros([4]) } })).toThrow(
      /0\.momentum is float32 \[4\]/,
    );
    // Nothing changed: the failed loads left step 0 and zero moments.
    expect(adam.stepCount).toBe(0);
    expect(arr(adam.stateDict().tensors['0.m']!)).toEqual([0, 0, 0]);
  });
});

describe('clipGradNorm', () => {
  const setup = () => {
    const a = param(T.tensor([1, 1], { dtype: 'float64' }));
    const b = param(T.tensor([1], { dtype: 'float64' }));
    const noGradParam = param(T.tensor([5], { dtype: 'float64' }));
    a.grad = T.tensor([3, 4], { dtype: 'float64' });
    b.grad = T.tensor([12], { dtype: 'float64' });
    return [a, b, noGradParam] as const;
  };

  it('returns the global norm and leaves gradients alone when it is below maxNorm', () => {
    const [a, b, c] = setup();
    const ga = a.grad;
    expect(clipGradNorm([a, b, c], 13.5)).toBeCloseTo(13, 12); // √(9 + 16 + 144)
    expect(a.grad).toBe(ga);
    expect(arr(b.grad!)).toEqual([12]);
    expect(c.grad).toBeNull();
  });

  it('scales every gradient by maxNorm / norm when the norm is above maxNorm', () => {
    const [a, b, c] = setup();
    expect(clipGradNorm([a, b, c], 6.5)).toBeCloseTo(13, 12); // the norm before clipping
    const s = 6.5 / (13 + 1e-6);
    expect(arr(a.grad!)[0]).toBeCloseTo(3 * s, 12);
    expect(arr(a.grad!)[1]).toBeCloseTo(4 * s, 12);
    expect(arr(b.grad!)[0]).toBeCloseTo(12 * s, 12);
    expect(c.grad).toBeNull();
    expect(clipGradNorm([a, b], 100)).toBeCloseTo(6.5, 5);
  });

  // torch.nn.utils.clip_grad_norm_([a, b], 1.0) with a.grad = [NaN, 1] (or [inf, 1]), b.grad = [3, 4].
  const nonfinite = (first: number) => {
    const a = param(T.tensor([0, 0], { dtype: 'float64' }), { name: 'w' });
    const b = param(T.tensor([0, 0], { dtype: 'float64' }));
    a.grad = T.tensor([first, 1], { dtype: 'float64' });
    b.grad = T.tensor([3, 4], { dtype: 'float64' });
    return [a, b] as const;
  };

  it('a NaN gradient makes the norm NaN and scales every gradient by NaN, as PyTorch does', () => {
    const [a, b] = nonfinite(Number.NaN);
    expect(clipGradNorm([a, b], 1)).toBeNaN();
    expect(arr(a.grad!)).toEqual([Number.NaN, Number.NaN]);
    expect(arr(b.grad!)).toEqual([Number.NaN, Number.NaN]);
  });

  it('an infinite gradient makes the norm Infinity and scales by 0, as PyTorch does', () => {
    const [a, b] = nonfinite(Number.POSITIVE_INFINITY);
    expect(clipGradNorm([a, b], 1)).toBe(Number.POSITIVE_INFINITY);
    expect(arr(a.grad!)).toEqual([Number.NaN, 0]);
    expect(arr(b.grad!)).toEqual([0, 0]);
  });

  it('errorIfNonfinite throws naming the parameter and element, and leaves the gradients alone', () => {
    const [a, b] = nonfinite(Number.NaN);
    expect(() => clipGradNorm([b, a], 1, { errorIfNonfinite: true })).toThrow(
      'clipGradNorm: the total gradient norm is NaN, so the gradients cannot be clipped: parameter 1 "w" (element 0 of its gradient is NaN)',
    );
    expect(arr(b.grad!)).toEqual([3, 4]);
    const [c, d] = nonfinite(Number.NEGATIVE_INFINITY);
    expect(() => clipGradNorm([c, d], 1, { errorIfNonfinite: true })).toThrow(
      /norm is Infinity.*parameter 0 "w" \(element 0 of its gradient is -Infinity\)/,
    );
    // Finite gradients pass with the option on.
    const [e, f] = nonfinite(0);
    expect(clipGradNorm([e, f], 10, { errorIfNonfinite: true })).toBeCloseTo(Math.sqrt(26), 12);
  });
});

describe('softUpdate and hardUpdate', () => {
  const net = (seed: number) =>
    new Sequential(new Linear(2, 3, { rng: new Rng(seed) }), new BatchNorm1d(3), new ReLU());
  /** Give the BatchNorm running statistics distinct values by running a training batch. */
  const trainBatch = (m: Sequential, seed: number) => m.forward(input(T.randn([4, 2], new Rng(seed))));

  it("Polyak averaging θ' ← τθ + (1 − τ)θ' for parameters; buffers copied by default", () => {
    const target = net(1);
    const source = net(2);
    trainBatch(source, 3);
    const before = target.stateDict();
    const src = source.stateDict();
    softUpdate(target, source, 0.1);
    const after = target.stateDict();
    for (const [n] of target.namedParameters()) {
      const expected = arr(src[n]!).map((s, i) => 0.1 * s + 0.9 * arr(before[n]!)[i]!);
      arr(after[n]!).forEach((v, i) => {
        expect(v, n).toBeCloseTo(expected[i]!, 6);
      });
    }
    expect(arr(after['1.runningMean']!)).toEqual(arr(src['1.runningMean']!));
    expect(arr(after['1.runningVar']!)).toEqual(arr(src['1.runningVar']!));
  });

  it("buffers: 'polyak' averages them and 'none' leaves them alone", () => {
    const source = net(2);
    trainBatch(source, 3);
    const rm = arr(source.stateDict()['1.runningMean']!);
    const polyak = net(1);
    softUpdate(polyak, source, 0.25, { buffers: 'polyak' });
    arr(polyak.stateDict()['1.runningMean']!).forEach((v, i) => {
      expect(v).toBeCloseTo(0.25 * rm[i]! + 0.75 * 0, 6);
    });
    const none = net(1);
    softUpdate(none, source, 0.25, { buffers: 'none' });
    expect(arr(none.stateDict()['1.runningMean']!)).toEqual([0, 0, 0]);
    expect(arr(none.stateDict()['1.runningVar']!)).toEqual([1, 1, 1]);
  });

  it('tau 1 copies and tau 0 keeps', () => {
    const source = net(2);
    const t1 = net(1);
    softUpdate(t1, source, 1);
    expect(arr(t1.stateDict()['0.weight']!)).toEqual(arr(source.stateDict()['0.weight']!));
    const t0 = net(1);
    const w = arr(t0.stateDict()['0.weight']!);
    softUpdate(t0, source, 0);
    expect(arr(t0.stateDict()['0.weight']!)).toEqual(w);
  });

  it('hardUpdate copies parameters AND BatchNorm running statistics, as independent copies', () => {
    const target = net(1);
    const source = net(2);
    trainBatch(source, 3);
    hardUpdate(target, source);
    const s = source.stateDict();
    const t = target.stateDict();
    expect(Object.keys(t)).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '1.runningMean',
      '1.runningVar',
    ]);
    for (const k of Object.keys(s)) expect(arr(t[k]!), k).toEqual(arr(s[k]!));
    // Training the source further does not move the target.
    trainBatch(source, 4);
    const opt = new SGD(source.parameters(), { lr: 1 });
    for (const p of source.parameters()) p.grad = T.onesLike(p.value);
    opt.step();
    const t2 = target.stateDict();
    for (const k of Object.keys(t)) expect(arr(t2[k]!), k).toEqual(arr(t[k]!));
  });
});

/**
 * The repro of issue 24: a Linear layer trained with a learning-rate schedule set between
 * steps, once eagerly and once through a captured update (`T.replayable`). Both read the
 * rate and the step counts from 0-d variables, so the replayed twin follows the schedule.
 */
describe('replayed optimiser steps', () => {
  function twin(make: (ps: Var[]) => Optimizer) {
    const net = new Linear(4, 3, { rng: new Rng(7) }); // 15 weights
    const opt = make(net.parameters());
    const fn = (x: T.Tensor, y: T.Tensor) => {
      opt.zeroGrad();
      const loss = mseLoss(net.forward(input(x)), input(y));
      loss.backward();
      opt.step();
      return loss.value;
    };
    return { net, opt, fn };
  }
  const weights = (net: Linear) =>
    net.parameters().flatMap((p) => Array.from(new Uint32Array(p.value.dataSync().buffer)));
  const makers: [string, (ps: Var[]) => Optimizer][] = [
    ['Adam', (ps) => new Adam(ps, { lr: 0.1 })],
    [
      'AdamW + AMSGrad',
      (ps) => new Adam(ps, { lr: 0.1, weightDecay: 0.1, decoupledWeightDecay: true, amsgrad: true }),
    ],
    ['SGD with momentum', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 })],
  ];
  for (const backend of ['wasm', 'js']) {
    for (const [name, make] of makers) {
      it(`${name} on ${backend}: opt.lr = 0.1/(1+i) before each of 30 steps gives bit-identical weights replayed and eager`, () => {
        T.withBackend(backend, () => {
          const eager = twin(make);
          const replayed = twin(make);
          const step = T.replayable(replayed.fn, { poison: true });
          const data = new Rng(3);
          for (let i = 0; i < 30; i++) {
            const x = T.randn([8, 4], data);
            const y = T.randn([8, 3], data);
            eager.opt.lr = 0.1 / (1 + i);
            replayed.opt.lr = 0.1 / (1 + i);
            const a = T.tidy(() => eager.fn(x, y));
            const b = step.call([x, y]);
            expect(b.item(), `loss at step ${i}`).toBe(a.item());
          }
          expect(weights(replayed.net)).toEqual(weights(eager.net));
          expect(step.stats()).toMatchObject({ captures: 1, replays: 28, eagerReason: undefined });
          expect(replayed.opt.stepCount).toBe(30);
          expect(replayed.opt.lr).toBe(0.1 / 30);
          if (replayed.opt instanceof Adam) expect(replayed.opt.parameterSteps).toEqual([30, 30]);
          // The schedule mattered: a constant rate ends elsewhere.
          const constant = twin(make);
          const data2 = new Rng(3);
          for (let i = 0; i < 30; i++) {
            const x = T.randn([8, 4], data2);
            const y = T.randn([8, 3], data2);
            T.tidy(() => constant.fn(x, y));
          }
          expect(weights(constant.net)).not.toEqual(weights(eager.net));
        });
      });
    }
  }

  it('a state saved mid-schedule restores the rate and the counts, and a replayed update resumes exactly', () => {
    const data = new Rng(5);
    const batches = Array.from({ length: 10 }, () => [T.randn([8, 4], data), T.randn([8, 3], data)] as const);
    const a = twin((ps) => new Adam(ps, { lr: 0.1 }));
    for (const [i, [x, y]] of batches.entries()) {
      a.opt.lr = 0.1 / (1 + i);
      T.tidy(() => a.fn(x, y));
    }
    const b = twin((ps) => new Adam(ps, { lr: 0.1 }));
    const stepB = T.replayable(b.fn);
    for (const [i, [x, y]] of batches.slice(0, 5).entries()) {
      b.opt.lr = 0.1 / (1 + i);
      stepB.call([x, y]);
    }
    const c = twin((ps) => new Adam(ps, { lr: 0.5 })); // another rate, overwritten by the load
    c.net.loadStateDict(b.net.stateDict());
    c.opt.loadStateDict(b.opt.stateDict());
    expect(c.opt.lr).toBe(0.1 / 5);
    expect(c.opt.stepCount).toBe(5);
    const stepC = T.replayable(c.fn);
    for (const [i, [x, y]] of batches.slice(5).entries()) {
      c.opt.lr = 0.1 / (6 + i);
      stepC.call([x, y]);
    }
    expect(stepC.stats().replays).toBe(3);
    expect(weights(c.net)).toEqual(weights(a.net));
    expect((c.opt as Adam).parameterSteps).toEqual([10, 10]);
  });

  it('setting opt.lr inside a replayable function ends its capture: it runs eagerly and follows the schedule', () => {
    const eager = twin((ps) => new Adam(ps, { lr: 0.1 }));
    const inside = twin((ps) => new Adam(ps, { lr: 0.1 }));
    let calls = 0;
    const step = T.replayable((x: T.Tensor, y: T.Tensor) => {
      inside.opt.lr = 0.1 / (2 + calls++); // a schedule inside the function
      return inside.fn(x, y);
    });
    const data = new Rng(9);
    for (let i = 0; i < 6; i++) {
      const [x, y] = [T.randn([8, 4], data), T.randn([8, 3], data)];
      eager.opt.lr = 0.1 / (2 + i);
      T.tidy(() => eager.fn(x, y));
      step.call([x, y]);
    }
    expect(weights(inside.net)).toEqual(weights(eager.net));
    expect(step.stats().replays).toBe(0);
    expect(step.stats().eagerReason).toMatch(/it sets Adam\.lr, which a replay would freeze/);
  });

  it('a rate that is not a finite number >= 0 is a clear error', () => {
    const { opt } = twin((ps) => new Adam(ps));
    expect(() => {
      opt.lr = Number.NaN;
    }).toThrow(/Adam\.lr: lr must be a finite number >= 0, got NaN/);
    expect(() => new SGD([param(T.zeros([1]))], { lr: -1 })).toThrow(
      /SGD: lr must be a finite number >= 0, got -1/,
    );
    expect(opt.lr).toBe(1e-3);
  });
});
