/**
 * crossEntropyLoss, nllLoss and bceWithLogitsLoss: against PyTorch (fixtures/torch-losses.json,
 * made by packages/autograd/test/fixtures/make_torch_reference.py) to 1e-9 relative in
 * float64, values and the gradient of a weighted sum; gradcheck and gradgradcheck; and
 * clear errors for bad shapes and targets.
 */
import type { Var } from '@chainrule/autograd';
import * as A from '@chainrule/autograd';
import { assertGradcheck, assertGradgradcheck } from '@chainrule/autograd/testing';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { type Case, firstMismatch, readFixture, toTensor } from '../../autograd/test/torchFixture.ts';
import { bceWithLogitsLoss, crossEntropyLoss, nllLoss } from '../src/index.ts';

const fixture = readFixture(new URL('./fixtures/torch-losses.json', import.meta.url));
const f64 = (v: T.NestedArray) => T.tensor(v, { dtype: 'float64' });
const mismatch = (what: string, got: ArrayLike<number>, want: Case['value'], atol = 0) =>
  firstMismatch(what, got, want, 1e-9, atol);

function loss(c: Case, x: Var, t: Var): Var {
  const o = c.options as Record<string, never>;
  switch (c.op) {
    case 'crossEntropyLoss':
      return crossEntropyLoss(x, t, o);
    case 'nllLoss':
      return nllLoss(o.logSoftmaxFirst ? A.logSoftmax(x, 1) : x, t, o);
    default:
      return bceWithLogitsLoss(x, t, {
        reduction: o.reduction,
        posWeight: o.posWeight ? f64(o.posWeight) : undefined,
      });
  }
}

/**
 * PyTorch 1.13's bce-with-logits computes ln(1 + e^(−|x|)) as ln(e^0 + e^(−|x|)), and its
 * gradient as σ(x) − t: both are accurate in absolute terms only, so where the loss is tiny
 * (x = 50, t = 1: 1.9e−22) it gives exactly 0. chainrule keeps the relative digits (log1p),
 * so for this loss the comparison adds an absolute 1e−15 to the relative 1e−9.
 */
const ATOL: Record<string, number> = { bceWithLogitsLoss: 1e-15 };

describe(`classification losses agree with PyTorch ${fixture.torch} to 1e-9 relative (float64; see ATOL)`, () => {
  it.each(fixture.cases.map((c, i) => [`${c.op} ${JSON.stringify(c.options)} #${i}`, c] as const))(
    '%s',
    (_, c) => {
      const xs = c.inputs.map((t, i) => (c.grads[i] ? A.param(toTensor(t)) : A.constant(toTensor(t))));
      const y = loss(c, xs[0]!, xs[1]!);
      expect(y.shape).toEqual(c.value.shape);
      expect(mismatch('value', y.value.dataSync(), c.value, ATOL[c.op])).toBeNull();
      const wrt = xs.filter((_, i) => c.grads[i]);
      const gs = A.grad(A.sum(A.mul(y, A.constant(toTensor(c.weight)))), wrt);
      let k = 0;
      c.grads.forEach((want, i) => {
        if (want) expect(mismatch(`grad[${i}]`, gs[k++]!.value.dataSync(), want, ATOL[c.op])).toBeNull();
      });
    },
  );
});

describe('gradcheck and gradgradcheck', () => {
  const logits = f64([
    [0.3, -1.2, 2.0],
    [1.5, 0.1, -0.4],
    [-0.7, 0.9, 0.2],
  ]);
  const probs = f64([
    [0.2, 0.5, 0.3],
    [0.1, 0.1, 0.8],
    [0.6, 0.3, 0.1],
  ]);
  const idx = A.constant(f64([2, -100, 1]));
  const fns: [string, (x: Var) => Var][] = [
    [
      'crossEntropyLoss (indices, ignoreIndex, labelSmoothing)',
      (x) => crossEntropyLoss(x, idx, { labelSmoothing: 0.1 }),
    ],
    ['crossEntropyLoss (probabilities)', (x) => crossEntropyLoss(x, A.constant(probs), { reduction: 'sum' })],
    ['nllLoss', (x) => nllLoss(A.logSoftmax(x, 1), idx)],
    [
      'bceWithLogitsLoss (posWeight)',
      (x) => bceWithLogitsLoss(x, A.constant(probs), { posWeight: f64([2, 1, 0.5]) }),
    ],
  ];
  it.each(fns)('%s', (_, f) => {
    assertGradcheck(f, [logits]);
    assertGradgradcheck(f, [logits]);
  });

  it('bceWithLogitsLoss also differentiates in the target, and its gradient at logit 0 is σ(0) − t', () => {
    assertGradcheck((x, t) => bceWithLogitsLoss(x, t), [logits, probs]);
    const x = A.param(f64([0, 0]));
    const [g] = A.grad(bceWithLogitsLoss(x, A.constant(f64([0, 1])), { reduction: 'sum' }), [x]);
    expect(Array.from(g!.value.dataSync())).toEqual([0.5, -0.5]);
  });
});

describe('values worked by hand', () => {
  it('crossEntropyLoss of uniform logits is ln C; all targets ignored gives NaN (as PyTorch)', () => {
    const x = A.constant(f64([[0, 0, 0, 0]]));
    expect(crossEntropyLoss(x, f64([3])).value.dataSync()[0]).toBeCloseTo(Math.log(4), 14);
    expect(crossEntropyLoss(x, f64([-100])).value.dataSync()[0]).toBeNaN();
    expect(crossEntropyLoss(A.constant(f64([0, 0])), f64(1)).shape).toEqual([]);
  });
});

describe('bad input names the op, the value and what was expected', () => {
  const x = A.constant(
    f64([
      [1, 2, 3],
      [4, 5, 6],
    ]),
  );
  it('class indices', () => {
    expect(() => crossEntropyLoss(x, f64([0, 1.5]))).toThrow(
      /crossEntropyLoss: target\[1\] = 1.5 is not a class index: expected an integer in \[0, 3\) or ignoreIndex \(-100\)/,
    );
    expect(() => crossEntropyLoss(x, f64([0, 3]))).toThrow(/target\[1\] = 3 is not a class index/);
    expect(() => nllLoss(x, f64([-1, 0]))).toThrow(/nllLoss: target\[0\] = -1 is not a class index/);
    expect(() => nllLoss(x, f64([Number.NaN, 0]))).toThrow(/target\[0\] = NaN/);
  });
  it('shapes', () => {
    expect(() => crossEntropyLoss(x, f64([0, 1, 2]))).toThrow(
      /crossEntropyLoss: input \[2,3\] needs a target of class indices \[2\] or of class probabilities \[2,3\], got \[3\]/,
    );
    expect(() => crossEntropyLoss(A.constant(f64(1)), f64(0))).toThrow(
      /crossEntropyLoss: input must have shape \[C\]/,
    );
    expect(() => bceWithLogitsLoss(x, f64([1, 0]))).toThrow(
      /bceWithLogitsLoss: target \[2\] must have the input's shape \[2,3\]/,
    );
    expect(() => bceWithLogitsLoss(x, T.zerosLike(x.value), { posWeight: f64([1, 2]) })).toThrow(/posWeight/);
  });
  it('options', () => {
    expect(() => crossEntropyLoss(x, f64([0, 1]), { labelSmoothing: 1.5 })).toThrow(
      /crossEntropyLoss: labelSmoothing must be in \[0, 1\], got 1.5/,
    );
    expect(() => crossEntropyLoss(x, f64([0, 1]), { reduction: 'avg' as 'mean' })).toThrow(
      /crossEntropyLoss: unknown reduction "avg"/,
    );
    expect(() => nllLoss(x, f64([0, 1]), { ignoreIndex: 0.5 })).toThrow(
      /nllLoss: ignoreIndex must be an integer, got 0.5/,
    );
  });
});
