/**
 * Reusable properties of a correct reverse-mode engine, for any differentiable `f`.
 *
 * Each property is a check that returns `true` or throws an Error describing the violation,
 * so it can be the predicate of `fc.property` (fast-check treats a throw as a failure and
 * reports the message) or be called directly in a test:
 *
 * ```ts
 * fc.assert(fc.property(arbProgram(), (p) => propVjpLinear(p.f, p.inputs)));
 * ```
 * @module
 */
import * as T from '@chainrule/tensor';
import { Rng, type Tensor } from '@chainrule/tensor';
import { grad } from '../engine.ts';
import { vjp } from '../functional.ts';
import * as op from '../ops.ts';
import { enableGrad, noGrad, Var } from '../var.ts';
import type { GradcheckFn } from './gradcheck.ts';

/** Options shared by the properties. */
export interface PropertyOptions {
  /** Seed of the random cotangents and directions. Default 0. */
  seed?: number;
  /** Absolute tolerance. Defaults differ per property. */
  atol?: number;
  /** Relative tolerance. Defaults differ per property. */
  rtol?: number;
}

type Input = Tensor | Var;

function float64Copies(inputs: readonly Input[]): Tensor[] {
  return inputs.map((x) => T.cast(x instanceof Var ? x.value : x, 'float64'));
}

function leaves(ts: readonly Tensor[]): Var[] {
  return ts.map((t) => new Var(t, { requiresGrad: true }));
}

function randomLike(y: Var, rng: Rng): Tensor {
  return T.randn(y.shape, rng, { dtype: y.dtype });
}

function data(x: Var | Tensor): Float64Array {
  return Float64Array.from((x instanceof Var ? x.value : x).dataSync());
}

/** Throw unless `actual[k] ≈ expected[k]` for every k. */
function expectClose(
  what: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  atol: number,
  rtol: number,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} vs expected ${expected.length}`);
  }
  for (let k = 0; k < actual.length; k++) {
    const a = actual[k]!;
    const e = expected[k]!;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`${what}: element ${k} is ${a}, expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * The VJP is linear in its cotangent: `vjp(a·u + b·w) = a·vjp(u) + b·vjp(w)` for random
 * cotangents `u`, `w` and scalars `a`, `b` (float64, default tolerance 1e-9).
 */
export function propVjpLinear(
  f: GradcheckFn,
  inputs: readonly Input[],
  options: PropertyOptions & { a?: number; b?: number } = {},
): true {
  const { seed = 0, atol = 1e-9, rtol = 1e-9, a = 1.5, b = -0.75 } = options;
  const rng = new Rng(seed);
  const [y, back] = enableGrad(() => vjp(f, ...float64Copies(inputs)));
  const u = randomLike(y, rng);
  const w = randomLike(y, rng);
  const combo = T.add(T.mul(u, a), T.mul(w, b));
  const gCombo = back(combo);
  const gu = back(u);
  const gw = back(w);
  gCombo.forEach((g, i) => {
    const expected = data(gu[i]!).map((x, k) => a * x + b * data(gw[i]!)[k]!);
    expectClose(`propVjpLinear: input ${i}`, data(g), expected, atol, rtol);
  });
  return true;
}

/**
 * The adjoint identity `⟨v, J u⟩ = ⟨Jᵀ v, u⟩`: `J u` from a float64 central difference of
 * `f` along random directions `u` (all inputs at once), `Jᵀ v` from the engine.
 */
export function propAdjointIdentity(
  f: GradcheckFn,
  inputs: readonly Input[],
  options: PropertyOptions & { eps?: number } = {},
): true {
  // eps 1e-5 balances truncation (eps²) against rounding (1/eps) for O(100) outputs.
  const { seed = 0, atol = 1e-5, rtol = 1e-4, eps = 1e-5 } = options;
  const rng = new Rng(seed);
  const xs = float64Copies(inputs);
  const [y, back] = enableGrad(() => vjp(f, ...xs));
  const v = randomLike(y, rng);
  const us = xs.map((x) => rng.fillNormal(new Float64Array(x.size)));
  const at = (sign: number) =>
    noGrad(() => {
      const moved = xs.map((x, i) => {
        const d = data(x).map((val, k) => val + sign * eps * us[i]![k]!);
        return new Var(T.tensor(d, { shape: x.shape, dtype: 'float64' }));
      });
      return data(f(...moved));
    });
  const plus = at(1);
  const minus = at(-1);
  const ju = plus.map((p, k) => (p - minus[k]!) / (2 * eps));
  const lhs = dot(data(v), ju);
  const rhs = back(v).reduce((s, g, i) => s + dot(data(g), us[i]!), 0);
  expectClose(
    'propAdjointIdentity: ⟨v, Ju⟩ (finite differences) vs ⟨Jᵀv, u⟩ (engine)',
    [rhs],
    [lhs],
    atol,
    rtol,
  );
  return true;
}

/**
 * Reuse accumulates: with `y = f(xs)`, the gradient of `y + y` (the same Var consumed
 * twice) is twice the gradient of `y`, and so is the gradient of `f(xs) + f(xs)` (the
 * inputs consumed by two separate graphs).
 */
export function propReuseAccumulates(
  f: GradcheckFn,
  inputs: readonly Input[],
  options: PropertyOptions = {},
): true {
  const { seed = 0, atol = 1e-12, rtol = 1e-12 } = options;
  const rng = new Rng(seed);
  const xs = leaves(float64Copies(inputs));
  enableGrad(() => {
    const y = f(...xs);
    const v = randomLike(y, rng);
    const once = grad(y, xs, { gradOutputs: v, allowUnused: true, retainGraph: true });
    const twice = grad(op.add(y, y), xs, { gradOutputs: v, allowUnused: true });
    const separate = grad(op.add(f(...xs), f(...xs)), xs, { gradOutputs: v, allowUnused: true });
    once.forEach((g, i) => {
      const expected = data(g).map((x) => 2 * x);
      expectClose(`propReuseAccumulates: y + y, input ${i}`, data(twice[i]!), expected, atol, rtol);
      expectClose(`propReuseAccumulates: f(x) + f(x), input ${i}`, data(separate[i]!), expected, atol, rtol);
    });
  });
  return true;
}

/**
 * Forward and backward leave the inputs' data untouched: each input tensor (or Var value) is
 * wrapped as a leaf without copying, `f` runs, backward runs with a random seed, and every
 * input must still hold exactly its original bits. The caller's Vars' `.grad` is not touched.
 */
export function propInputsNotMutated(
  f: GradcheckFn,
  inputs: readonly Input[],
  options: PropertyOptions = {},
): true {
  const { seed = 0 } = options;
  const rng = new Rng(seed);
  const tensors = inputs.map((x) => (x instanceof Var ? x.value : x));
  const before = tensors.map((t) => t.dataSync().slice());
  const xs = tensors.map((t) => new Var(t, { requiresGrad: true }));
  enableGrad(() => {
    const y = f(...xs);
    if (y.requiresGrad) y.backward(y.size === 1 ? undefined : randomLike(y, rng));
  });
  tensors.forEach((t, i) => {
    const after = t.dataSync();
    const orig = before[i]!;
    for (let k = 0; k < orig.length; k++) {
      if (!Object.is(after[k], orig[k])) {
        throw new Error(
          `propInputsNotMutated: input ${i} element ${k} changed from ${orig[k]} to ${after[k]}`,
        );
      }
    }
  });
  return true;
}

/**
 * `backward` twice through a retained graph doubles every leaf's `.grad` (and leaves
 * without a gradient stay `null`).
 */
export function propRetainGraphDoubles(
  f: GradcheckFn,
  inputs: readonly Input[],
  options: PropertyOptions = {},
): true {
  const { seed = 0, atol = 1e-12, rtol = 1e-12 } = options;
  const rng = new Rng(seed);
  const xs = leaves(float64Copies(inputs));
  enableGrad(() => {
    const y = f(...xs);
    if (!y.requiresGrad) return;
    const s = y.size === 1 ? undefined : randomLike(y, rng);
    y.backward(s, { retainGraph: true });
    const first = xs.map((x) => (x.grad ? data(x.grad) : null));
    y.backward(s);
    xs.forEach((x, i) => {
      const g1 = first[i] ?? null;
      if (g1 === null || x.grad === null) {
        if (g1 !== null || x.grad !== null) {
          throw new Error(
            `propRetainGraphDoubles: input ${i} has a gradient after one backward but not both`,
          );
        }
        return;
      }
      expectClose(
        `propRetainGraphDoubles: input ${i}`,
        data(x.grad),
        g1.map((g) => 2 * g),
        atol,
        rtol,
      );
    });
  });
  return true;
}
