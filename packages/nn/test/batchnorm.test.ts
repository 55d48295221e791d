/**
 * BatchNorm1d semantics (PyTorch's): batch statistics with the biased variance in training,
 * running statistics updated with the unbiased variance, running statistics in eval.
 */
import { input } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d } from '../src/layers.ts';
import { arr } from './helpers.ts';

// A tiny 3×2 batch. Feature 0: 1, 3, 5. Feature 1: 2, 6, 10.
const X = [
  [1, 2],
  [3, 6],
  [5, 10],
];
const x64 = () => input(T.tensor(X, { dtype: 'float64' }));

// Worked by hand:
//   mean                = [3, 6]
//   squared deviations  = feature 0: 4, 0, 4 (sum 8);  feature 1: 16, 0, 16 (sum 32)
//   biased variance     = [8/3, 32/3]      (divide by n = 3; used to normalise)
//   unbiased variance   = [4, 16]          (divide by n − 1 = 2; used for runningVar)
// After one training step with momentum 0.1 from runningMean = 0, runningVar = 1:
//   runningMean = 0.9·0 + 0.1·[3, 6]  = [0.3, 0.6]
//   runningVar  = 0.9·1 + 0.1·[4, 16] = [1.3, 2.5]
// After a second step on the same batch:
//   runningMean = 0.9·[0.3, 0.6] + 0.1·[3, 6]  = [0.57, 1.14]
//   runningVar  = 0.9·[1.3, 2.5] + 0.1·[4, 16] = [1.57, 3.85]
const EPS = 1e-5;

function expectClose(actual: number[], expected: number[], digits = 10): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((a, i) => {
    expect(a).toBeCloseTo(expected[i]!, digits);
  });
}

describe('BatchNorm1d: training mode', () => {
  it('updates the running statistics exactly as worked by hand (momentum 0.1, unbiased variance)', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' });
    expectClose(arr(bn.runningMean), [0, 0]);
    expectClose(arr(bn.runningVar), [1, 1]);
    bn.forward(x64());
    expectClose(arr(bn.runningMean), [0.3, 0.6]);
    expectClose(arr(bn.runningVar), [1.3, 2.5]);
    bn.forward(x64());
    expectClose(arr(bn.runningMean), [0.57, 1.14]);
    expectClose(arr(bn.runningVar), [1.57, 3.85]);
  });

  it('a custom momentum: new = (1 − m)·old + m·batch', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64', momentum: 0.5 });
    bn.forward(x64());
    // 0.5·0 + 0.5·[3, 6] and 0.5·1 + 0.5·[4, 16]
    expectClose(arr(bn.runningMean), [1.5, 3]);
    expectClose(arr(bn.runningVar), [2.5, 8.5]);
  });

  it('normalises with the batch mean and the biased variance, then applies γ and β', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' });
    bn.weight!.value = T.tensor([2, -1], { dtype: 'float64' });
    bn.bias!.value = T.tensor([0.5, 1], { dtype: 'float64' });
    const y = arr(bn.forward(x64()));
    const s0 = Math.sqrt(8 / 3 + EPS);
    const s1 = Math.sqrt(32 / 3 + EPS);
    const expected = [
      [(2 * -2) / s0 + 0.5, (-1 * -4) / s1 + 1],
      [0.5, 1],
      [(2 * 2) / s0 + 0.5, (-1 * 4) / s1 + 1],
    ].flat();
    expectClose(y, expected);
  });

  it('batch size 1 is a clear error, and changes nothing', () => {
    const bn = new BatchNorm1d(2);
    const one = input(T.tensor([[1, 2]]));
    expect(() => bn.forward(one)).toThrow(/training mode needs more than one sample per batch.*\[1,2\]/);
    expectClose(arr(bn.runningMean), [0, 0]);
    expectClose(arr(bn.runningVar), [1, 1]);
  });
});

describe('BatchNorm1d: eval mode', () => {
  it('uses the running statistics and leaves them unchanged', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' });
    bn.forward(x64()); // runningMean [0.3, 0.6], runningVar [1.3, 2.5]
    bn.eval();
    expect(bn.training).toBe(false);
    const y = arr(bn.forward(x64()));
    const expected = X.flatMap(([a, b]) => [
      (a! - 0.3) / Math.sqrt(1.3 + EPS),
      (b! - 0.6) / Math.sqrt(2.5 + EPS),
    ]);
    expectClose(y, expected);
    expectClose(arr(bn.runningMean), [0.3, 0.6]);
    expectClose(arr(bn.runningVar), [1.3, 2.5]);
  });

  it('batch size 1 works in eval mode', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' }).eval();
    bn.weight!.value = T.tensor([3, 1], { dtype: 'float64' });
    bn.bias!.value = T.tensor([1, -1], { dtype: 'float64' });
    const y = arr(bn.forward(input(T.tensor([[2, -4]], { dtype: 'float64' }))));
    // Fresh running statistics: mean 0, var 1.
    expectClose(y, [(3 * 2) / Math.sqrt(1 + EPS) + 1, -4 / Math.sqrt(1 + EPS) - 1]);
  });

  it('train() switches back to batch statistics', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64' }).eval();
    const evalOut = arr(bn.forward(x64()));
    bn.train();
    expect(bn.training).toBe(true);
    const trainOut = arr(bn.forward(x64()));
    expect(trainOut).not.toEqual(evalOut);
    expectClose(
      trainOut.filter((_, i) => i % 2 === 0),
      [-2, 0, 2].map((d) => d / Math.sqrt(8 / 3 + EPS)),
    );
  });
});

describe('BatchNorm1d: options', () => {
  it('affine: false has no parameters and outputs the normalised input', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64', affine: false });
    expect(bn.parameters()).toEqual([]);
    expect(bn.weight).toBeUndefined();
    expect(bn.namedBuffers().map(([n]) => n)).toEqual(['runningMean', 'runningVar']);
    const y = arr(bn.forward(x64()));
    const s0 = Math.sqrt(8 / 3 + EPS);
    const s1 = Math.sqrt(32 / 3 + EPS);
    expectClose(y, [-2 / s0, -4 / s1, 0, 0, 2 / s0, 4 / s1]);
  });

  it('trackRunningStats: false has no buffers and uses batch statistics in eval mode too', () => {
    const bn = new BatchNorm1d(2, { dtype: 'float64', trackRunningStats: false });
    expect(bn.buffers()).toEqual([]);
    const trainOut = arr(bn.forward(x64()));
    bn.eval();
    const evalOut = arr(bn.forward(x64()));
    expectClose(evalOut, trainOut);
    expectClose(
      evalOut.filter((_, i) => i % 2 === 1),
      [-4, 0, 4].map((d) => d / Math.sqrt(32 / 3 + EPS)),
    );
    expect(() => bn.runningMean).toThrow(/no buffer named "runningMean"/);
    // Batch statistics need two samples, in eval mode as well.
    expect(() => bn.forward(input(T.tensor([[1, 2]], { dtype: 'float64' })))).toThrow(/more than one sample/);
  });

  it('float32 by default: parameters and buffers follow the dtype option', () => {
    expect(new BatchNorm1d(3).runningVar.dtype).toBe('float32');
    const bn = new BatchNorm1d(3, { dtype: 'float64' });
    expect(bn.runningMean.dtype).toBe('float64');
    expect(bn.weight!.dtype).toBe('float64');
  });
});
