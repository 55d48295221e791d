/**
 * Degenerate inputs where PyTorch returns a value rather than an error: chainrule returns the
 * same value and gradient (torch 1.13, float64; each expected number was printed by the
 * PyTorch line in the comment above it). Documented in docs/autograd.md, "Conventions".
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';

const f64 = (v: number[]) => A.param(T.tensor(v, { dtype: 'float64' }));
const arr = (v: Var | T.Tensor | null): number[] => {
  if (v === null) throw new Error('expected a value, got null');
  return Array.from((v instanceof A.Var ? v.value : v).dataSync());
};

describe("sign's gradient is zero, not missing", () => {
  it('grad(sign(x), x, { gradOutputs }) is zeros without allowUnused', () => {
    // torch.autograd.grad(torch.sign(x), x, torch.ones(3)) -> [0, 0, 0]
    const x = f64([-1, 0, 2]);
    const g = A.grad(A.sign(x), x, { gradOutputs: T.ones([3], { dtype: 'float64' }) });
    expect(arr(g)).toEqual([0, 0, 0]);
  });

  it('x.grad after sum(sign(x)).backward() is zeros', () => {
    // torch.sign(x).sum().backward(); x.grad -> [0, 0, 0]
    const x = f64([-1, 0, 2]);
    A.sum(A.sign(x)).backward();
    expect(x.grad).not.toBeNull();
    expect(arr(x.grad)).toEqual([0, 0, 0]);
  });

  it('a zero gradient adds nothing where sign meets other paths', () => {
    const x = f64([-1, 0, 2]);
    expect(arr(A.grad(A.sum(A.add(A.sign(x), A.mul(x, 3))), x))).toEqual([3, 3, 3]);
  });
});

describe('clip with min > max', () => {
  it('gives max everywhere, with a zero gradient (torch.clamp)', () => {
    // y = torch.clamp(x, min=3, max=0) -> [0, 0, 0]; grad(y.sum(), x) -> [0, 0, 0]
    for (const v of [
      [-1, 0, 2],
      [-1, 4, 2],
    ]) {
      const x = f64(v);
      const y = A.clip(x, 3, 0);
      expect(arr(y)).toEqual([0, 0, 0]);
      expect(arr(A.grad(A.sum(y), x))).toEqual([0, 0, 0]);
    }
    expect(arr(T.clip(T.tensor([-5, 5]), 1, -1))).toEqual([-1, -1]);
  });

  it('a NaN bound is still an error (PyTorch answers differ between versions)', () => {
    expect(() => A.clip(f64([1]), Number.NaN, 1)).toThrow(/^clip: expected min and max not NaN/);
  });
});

describe('mean and variance without elements or degrees of freedom are NaN', () => {
  it('mean over an empty axis is NaN, its gradient empty', () => {
    // e = torch.zeros(2, 0); e.mean(1) -> [nan, nan]; grad(e.mean(1).sum(), e) -> shape (2, 0)
    const e = A.param(T.zeros([2, 0], { dtype: 'float64' }));
    const m = A.mean(e, 1);
    expect(m.shape).toEqual([2]);
    expect(arr(m).every(Number.isNaN)).toBe(true);
    expect(A.grad(A.sum(m), e).shape).toEqual([2, 0]);
    // torch.zeros(0).mean() -> nan
    expect(Number.isNaN(A.mean(A.param(T.zeros([0], { dtype: 'float64' }))).value.item())).toBe(true);
    expect(Number.isNaN(T.mean(T.zeros([3, 0])).item())).toBe(true);
  });

  it('variance with n <= correction is NaN, and so is its gradient', () => {
    // v = torch.var(torch.tensor([3.]), 0, correction=1) -> nan; grad(v, x) -> [nan]
    const one = f64([3]);
    const v = A.variance(one, undefined, false, 1);
    expect(Number.isNaN(v.value.item())).toBe(true);
    expect(Number.isNaN(arr(A.grad(v, one))[0]!)).toBe(true);
    // torch.var(torch.zeros(0), 0, correction=0) -> nan
    expect(Number.isNaN(A.variance(A.param(T.zeros([0], { dtype: 'float64' }))).value.item())).toBe(true);
    // torch.var(torch.tensor([3., 5.]), 0, correction=3) -> inf (the divisor is floored at 0)
    expect(T.variance(T.tensor([3, 5], { dtype: 'float64' }), 0, false, 3).item()).toBe(
      Number.POSITIVE_INFINITY,
    );
    // torch.var(torch.tensor([3.]), 0, unbiased=False) -> 0, gradient [0]
    const biased = A.variance(one);
    expect(biased.value.item()).toBe(0);
    expect(arr(A.grad(biased, one))).toEqual([0]);
  });
});

describe('pad with negative widths crops (F.pad)', () => {
  it('value and gradient', () => {
    // F.pad(x, (-1, 1), value=7.) -> [0, 2, 7]
    const x = f64([-1, 0, 2]);
    expect(arr(A.pad(x, [[-1, 1]], 7))).toEqual([0, 2, 7]);
    // grad((F.pad(x, (-1, 2), value=7.) * 2).sum(), x) -> [0, 2, 2]
    expect(arr(A.grad(A.sum(A.mul(A.pad(x, [[-1, 2]], 7), 2)), x))).toEqual([0, 2, 2]);
    expect(
      arr(
        T.pad(T.tensor([[1, 2, 3]]), [
          [0, 0],
          [-1, -1],
        ]),
      ),
    ).toEqual([2]);
  });

  it('cropping more than the dimension is an error, as in PyTorch', () => {
    expect(() => A.pad(f64([1, 2]), [[-2, -1]])).toThrow(/^pad: paddings\[0\] = \[-2, -1\] crops 3 elements/);
  });
});
