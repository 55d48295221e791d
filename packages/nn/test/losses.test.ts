/**
 * Loss values worked by hand (PyTorch's definitions) and the losses' error paths.
 */
import { input } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { huberLoss, mseLoss, type Reduction, smoothL1Loss } from '../src/losses.ts';
import { arr } from './helpers.ts';

const v = (xs: number[]) => input(T.tensor(xs, { dtype: 'float64' }));
const close = (actual: number[], expected: number[]) => {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    expect(a).toBeCloseTo(expected[i]!, 12);
  });
};

describe('loss values', () => {
  it('mseLoss: (pred − target)², reduced', () => {
    // d = [1, −2, 0.5]: squares [1, 4, 0.25], sum 5.25, mean 1.75
    const [p, t] = [v([1, -1, 3]), v([0, 1, 2.5])];
    close(arr(mseLoss(p, t)), [1.75]);
    close(arr(mseLoss(p, t, { reduction: 'sum' })), [5.25]);
    close(arr(mseLoss(p, t, { reduction: 'none' })), [1, 4, 0.25]);
    expect(mseLoss(p, t).shape).toEqual([]);
  });

  it('huberLoss: ½d² for |d| ≤ δ, else δ(|d| − ½δ)', () => {
    // δ = 1, d = [0.5, −2, 1]: [0.125, 1·(2 − 0.5) = 1.5, 0.5 (the boundary is quadratic)]
    const [p, t] = [v([0.5, -2, 1]), v([0, 0, 0])];
    close(arr(huberLoss(p, t, { reduction: 'none' })), [0.125, 1.5, 0.5]);
    close(arr(huberLoss(p, t)), [(0.125 + 1.5 + 0.5) / 3]);
    // δ = 2, d = [3, −1]: [2·(3 − 1) = 4, 0.5]
    close(arr(huberLoss(v([3, -1]), v([0, 0]), { reduction: 'sum', delta: 2 })), [4.5]);
  });

  it('smoothL1Loss: 0.5d²/β for |d| < β, else |d| − 0.5β (equal to huber/β)', () => {
    // β = 2, d = [1, 3]: [0.5·1/2 = 0.25, 3 − 1 = 2]
    close(arr(smoothL1Loss(v([1, 3]), v([0, 0]), { beta: 2, reduction: 'none' })), [0.25, 2]);
    // β = 1 (default) equals huber with δ = 1
    const [p, t] = [v([0.3, -4, 1.5]), v([0, 1, -1])];
    close(arr(smoothL1Loss(p, t)), arr(huberLoss(p, t)));
  });

  it('the gradient of mean-reduced MSE is 2(pred − target)/n', () => {
    const p = input(T.tensor([1, -1, 3], { dtype: 'float64' }), { requiresGrad: true });
    mseLoss(p, v([0, 1, 2.5])).backward();
    close(arr(p.grad!), [(2 * 1) / 3, (2 * -2) / 3, (2 * 0.5) / 3]);
  });
});

describe('loss errors', () => {
  const losses = [
    ['mseLoss', mseLoss],
    ['huberLoss', huberLoss],
    ['smoothL1Loss', smoothL1Loss],
  ] as const;

  for (const [name, loss] of losses) {
    it(`${name}: a shape mismatch and an unknown reduction name the loss`, () => {
      expect(() => loss(v([1, 2, 3]), v([1, 2]))).toThrow(
        new RegExp(`^${name}: prediction \\[3\\] and target \\[2\\] must have the same shape$`),
      );
      const col = input(T.zeros([3, 1]));
      expect(() => loss(col, input(T.zeros([3])))).toThrow(/prediction \[3,1\] and target \[3\]/);
      expect(() => loss(v([1]), v([1]), { reduction: 'avg' as Reduction })).toThrow(
        new RegExp(`^${name}: unknown reduction "avg"; expected 'mean', 'sum' or 'none'$`),
      );
    });
  }

  it('huber delta and smooth-L1 beta must be positive', () => {
    expect(() => huberLoss(v([1]), v([1]), { delta: 0 })).toThrow(/^huberLoss: delta must be > 0, got 0$/);
    expect(() => huberLoss(v([1]), v([1]), { delta: Number.NaN })).toThrow(/delta must be > 0, got NaN/);
    expect(() => smoothL1Loss(v([1]), v([1]), { beta: -1 })).toThrow(
      /^smoothL1Loss: beta must be > 0, got -1$/,
    );
  });
});
