/**
 * Fixes found by the published-suite cases (published-second-order.test.ts), each checked
 * here on its own against PyTorch 1.13 (numbers printed by PyTorch, see each case), on the
 * js and wasm backends.
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import * as A from '../src/index.ts';

const arr = (x: A.Var | null, n: number): number[] =>
  x === null ? new Array(n).fill(0) : Array.from(x.value.dataSync());

describe.each(['float64', 'float32'] as const)('rules fixed by the published suites (%s)', (dtype) => {
  it('relu passes the gradient at NaN, as threshold_backward (NaN <= 0 is false)', () => {
    // torch: x = [nan, -1, 0, 2]; grad(x.relu().sum(), x) = [1, 0, 0, 1]
    const x = A.param(T.tensor([Number.NaN, -1, 0, 2], { dtype }));
    expect(arr(A.grad(A.sum(A.relu(x)), x), 4)).toEqual([1, 0, 0, 1]);
  });
  it("dense(..., 'relu') passes the gradient at a NaN pre-activation, like relu", () => {
    // torch: F.linear(x, w).relu() with x = [[nan], [-1], [2]], w = [[1]]: grad of x = [1, 0, 1]
    const x = A.param(T.tensor([[Number.NaN], [-1], [2]], { dtype }));
    const w = A.constant(T.tensor([[1]], { dtype }));
    expect(arr(A.grad(A.sum(A.dense(x, w, undefined, 'relu')), x), 3)).toEqual([1, 0, 1]);
  });
  it("sign(NaN) is 0, and so abs's gradient at NaN (g · sign(x))", () => {
    // torch: x = [nan, 0, -0, 2]; x.sign() = [0, 0, 0, 1]; grad(x.abs().sum(), x) = [0, 0, 0, 1]
    for (const backend of dtype === 'float32' ? (['js', 'wasm'] as const) : (['js'] as const)) {
      T.withBackend(backend, () => {
        const x = A.param(T.tensor([Number.NaN, 0, -0, 2], { dtype }));
        expect(Array.from(T.sign(x.value).dataSync())).toEqual([0, 0, 0, 1]);
        expect(arr(A.grad(A.sum(A.abs(x)), x), 4)).toEqual([0, 0, 0, 1]);
      });
    }
  });
  it('pow(x, 0) has a zero second derivative at x = 0 (not 0·∞ = NaN)', () => {
    // torch: x = [0, -1.5, 2]; x.pow(0.0) is a constant: first and second derivatives 0.
    const x = A.param(T.tensor([0, -1.5, 2], { dtype }));
    const g = A.grad(A.sum(A.pow(x, 0)), x, { createGraph: true });
    expect(arr(g, 3)).toEqual([0, 0, 0]);
    expect(arr(A.grad(A.sum(g), x, { allowUnused: true }), 3)).toEqual([0, 0, 0]);
  });
});
