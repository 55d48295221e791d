/**
 * BatchNorm1d's training forward is one fused primitive (`batchNorm`) with a fused
 * first-order backward: it must be the same function as the composite it replaced
 * (mean, biased variance, 1/√(v + ε), scale and shift as separate ops), to float32 rounding
 * on every backend, and to float64 rounding against the composite in float64; its second
 * derivatives (taken through the rule's ops) must match the composite's.
 */

import type { Var } from '@chainrule/autograd';
import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d } from '../src/layers.ts';

const EPS = 1e-5;

/** The composite the layer used before the fused op: the reference. */
function composite(x: Var, gamma: Var, beta: Var, eps: number): Var {
  const c = A.sub(x, A.mean(x, 0, true));
  const v = A.mean(A.square(c), 0, true);
  return A.add(A.mul(A.mul(c, A.reciprocal(A.sqrt(A.add(v, eps)))), gamma), beta);
}

function draw(n: number, c: number, seed: number): { x: Float64Array; g: Float64Array; w: Float64Array } {
  const rng = new T.Rng(seed);
  // float32 values, so the float64 reference sees the very inputs the float32 runs see and
  // the errors measured are those of the arithmetic, not of rounding the inputs.
  const u = (k: number, lo: number, hi: number) =>
    Float64Array.from({ length: k }, () => Math.fround(rng.uniform(lo, hi)));
  return { x: u(n * c, -3, 3), g: u(n * c, -1, 1), w: u(c, 0.5, 2) };
}

/** y and the gradients of Σ y·g with respect to x, γ and β, in `dtype`, fused or composite. */
function run(
  fused: boolean,
  dtype: T.DType,
  n: number,
  c: number,
  d: ReturnType<typeof draw>,
): Float64Array[] {
  return T.tidy(() => {
    const x = A.param(T.tensor(d.x, { shape: [n, c], dtype }));
    const gamma = A.param(T.tensor(d.w, { dtype }));
    const beta = A.param(
      T.tensor(
        d.w.map((v) => v - 1),
        { dtype },
      ),
    );
    const y = fused ? A.batchNormTrain(x, gamma, beta, EPS).y : composite(x, gamma, beta, EPS);
    const up = A.constant(T.tensor(d.g, { shape: [n, c], dtype }));
    const grads = A.grad(A.sum(A.mul(y, up)), [x, gamma, beta]);
    return [y, ...grads].map((v) => Float64Array.from(v.value.dataSync()));
  });
}

/**
 * The largest |a − b| over the largest |b|, or over `floor` when that is larger: dx is a
 * difference of terms of size |g|·γ/σ that nearly cancel for small batches (for N = 2 it is
 * O(ε)), so its rounding is measured against the size of those terms.
 */
function relErr(a: Float64Array, b: Float64Array, floor = 0): number {
  let err = 0;
  let scale = Math.max(floor, 1e-30);
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

/** max |g| · max γ / min σ over the columns: the size of the terms that make up dx. */
function dxScale(n: number, c: number, d: ReturnType<typeof draw>): number {
  let minSigma = Number.POSITIVE_INFINITY;
  for (let j = 0; j < c; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += d.x[i * c + j]! / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (d.x[i * c + j]! - m) ** 2 / n;
    minSigma = Math.min(minSigma, Math.sqrt(v + EPS));
  }
  const maxAbs = (a: Float64Array) => a.reduce((p, q) => Math.max(p, Math.abs(q)), 0);
  return (maxAbs(d.g) * maxAbs(d.w)) / minSigma;
}

/**
 * The largest Σᵢ |gᵢ·x̂ᵢ| (dγ) or Σᵢ |gᵢ| (dβ) over the columns: the size of the terms each
 * column's sum adds up. The sums themselves can cancel to near 0 (one column, a few rows), so
 * their rounding is measured against this.
 */
function sumScale(n: number, c: number, d: ReturnType<typeof draw>, withXhat: boolean): number {
  let scale = 0;
  for (let j = 0; j < c; j++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += d.x[i * c + j]! / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (d.x[i * c + j]! - m) ** 2 / n;
    let t = 0;
    for (let i = 0; i < n; i++) {
      const xhat = withXhat ? (d.x[i * c + j]! - m) / Math.sqrt(v + EPS) : 1;
      t += Math.abs(d.g[i * c + j]! * xhat);
    }
    scale = Math.max(scale, t);
  }
  return scale;
}

describe('fused batchNorm', () => {
  for (const backend of ['js', 'wasm']) {
    it(`${backend}: y, dx, dγ and dβ of the fused op are within float32 rounding of the composite, and no further from float64`, () => {
      // Errors against float64 summed over the draws: on one draw either float32 form can be
      // the lucky one (a tiny batch leaves dx a near-cancelling difference), so "the fused op
      // is no less accurate than the composite" is judged over all of them.
      const total = { fused: [0, 0, 0, 0], composite: [0, 0, 0, 0] };
      T.withBackend(backend, () => {
        fc.assert(
          fc.property(
            fc.integer({ min: 2, max: 70 }),
            fc.integer({ min: 1, max: 13 }),
            fc.integer({ min: 1, max: 2 ** 30 }),
            (n, c, seed) => {
              const d = draw(n, c, seed);
              const exact = run(false, 'float64', n, c, d);
              const fused = run(true, 'float32', n, c, d);
              const comp = run(false, 'float32', n, c, d);
              const floors = [0, dxScale(n, c, d), sumScale(n, c, d, true), sumScale(n, c, d, false)];
              fused.forEach((f, k) => {
                const label = ['y', 'dx', 'dgamma', 'dbeta'][k]!;
                const fl = floors[k]!;
                const eFused = relErr(f, exact[k]!, fl);
                const eComp = relErr(comp[k]!, exact[k]!, fl);
                // float32 has 2^-24 ≈ 6e-8 relative rounding; sums over ≤ 70 rows grow it.
                expect(eFused, `${label} fused vs float64`).toBeLessThan(2e-5);
                expect(relErr(f, comp[k]!, fl), `${label} fused vs float32 composite`).toBeLessThan(4e-5);
                total.fused[k]! += eFused;
                total.composite[k]! += eComp;
              });
            },
          ),
          { numRuns: 40 },
        );
      });
      ['y', 'dx', 'dgamma', 'dbeta'].forEach((label, k) => {
        expect(
          total.fused[k]!,
          `${label}: the fused op is no less accurate than the composite, over all draws`,
        ).toBeLessThanOrEqual(2 * total.composite[k]! + 1e-6);
      });
    });
  }

  it('float64: the fused op equals the composite to float64 rounding, second derivatives included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        (n, c, seed) => {
          const d = draw(n, c, seed);
          const both = [true, false].map((fused) =>
            T.tidy(() => {
              const x = A.param(T.tensor(d.x, { shape: [n, c], dtype: 'float64' }));
              const gamma = A.param(T.tensor(d.w, { dtype: 'float64' }));
              const beta = A.param(T.tensor(d.w, { dtype: 'float64' }));
              const y = fused ? A.batchNormTrain(x, gamma, beta, EPS).y : composite(x, gamma, beta, EPS);
              const up = A.constant(T.tensor(d.g, { shape: [n, c], dtype: 'float64' }));
              // A loss that is not linear in y, so the second derivative reaches the statistics.
              const loss = A.sum(A.mul(A.square(y), up));
              const [gx, gg] = A.grad(loss, [x, gamma], { createGraph: true });
              const gg2 = A.grad(A.add(A.sum(A.square(gx!)), A.sum(A.square(gg!))), [x, gamma, beta]);
              return [y, gx!, gg!, ...gg2].map((v) => Float64Array.from(v.value.dataSync()));
            }),
          );
          both[0]!.forEach((f, k) => {
            // Gradients with respect to x cancel to O(ε) for N = 2 (see relErr): 1e-8, still
            // far below any float32 difference.
            expect(relErr(f, both[1]![k]!), `output ${k}`).toBeLessThan(1e-8);
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('BatchNorm1d without affine parameters normalises with γ = 1 and β = 0, in training and with trackRunningStats off', () => {
    const d = draw(5, 3, 7);
    for (const options of [{ affine: false }, { affine: false, trackRunningStats: false }]) {
      const bn = new BatchNorm1d(3, { dtype: 'float64', ...options });
      if (options.trackRunningStats === false) bn.eval();
      const y = bn.forward(A.input(T.tensor(d.x, { shape: [5, 3], dtype: 'float64' }))).value.dataSync();
      const ones = A.constant(T.ones([3], { dtype: 'float64' }));
      const zeros = A.constant(T.zeros([3], { dtype: 'float64' }));
      const want = composite(A.input(T.tensor(d.x, { shape: [5, 3], dtype: 'float64' })), ones, zeros, 1e-5);
      expect(relErr(Float64Array.from(y), Float64Array.from(want.value.dataSync()))).toBeLessThan(1e-12);
    }
  });
});
