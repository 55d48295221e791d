/**
 * The shape ops' wider forms: gather along any axis with indices of any rank, matmul with
 * 1-D operands (NumPy's rules), pad with a value and negative widths, dense with a bias that
 * broadcasts. Values and gradients of a weighted sum were printed by PyTorch 1.13 (float64,
 * the line above each case); each op also passes gradcheck and gradgradcheck.
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';
import { assertGradcheck, assertGradgradcheck } from '../src/testing/index.ts';

const t64 = (v: T.NestedArray) => T.tensor(v, { dtype: 'float64' });
const p64 = (v: T.NestedArray) => A.param(t64(v));
const nested = (v: Var) => v.value.toArray();
/** grad of sum(y · w) for each input: PyTorch's `autograd.grad((y * w).sum(), inputs)`. */
const weighted = (y: Var, w: T.NestedArray, inputs: Var[]) =>
  A.grad(A.sum(A.mul(y, A.param(t64(w)))), inputs).map(nested);

describe('gather along any axis, indices of any rank (tf.gather)', () => {
  const x = () =>
    p64([
      [0.5, -1.25, 2.0],
      [1.5, 0.25, -0.75],
    ]);
  it('values and gradient match PyTorch', () => {
    // x.index_select(1, idx.flatten()).reshape(2, 2, 2), idx = [[2, 0], [2, 2]]
    const xv = x();
    const y = A.gather(
      xv,
      [
        [2, 0],
        [2, 2],
      ],
      1,
    );
    expect(y.shape).toEqual([2, 2, 2]);
    expect(nested(y)).toEqual([
      [
        [2.0, 0.5],
        [2.0, 2.0],
      ],
      [
        [-0.75, 1.5],
        [-0.75, -0.75],
      ],
    ]);
    const w = [
      [
        [-1, -0.5],
        [0, 0.5],
      ],
      [
        [1, 1.5],
        [2, 2.5],
      ],
    ];
    expect(weighted(y, w, [xv])).toEqual([
      [
        [-0.5, 0, -0.5],
        [1.5, 0, 5.5],
      ],
    ]);
  });

  it('a scalar index drops the axis; a negative axis counts from the end', () => {
    expect(nested(A.gather(x(), 1, -1))).toEqual([-1.25, 0.25]);
    expect(A.gather(x(), [[1]], 0).shape).toEqual([1, 1, 3]);
    expect(A.gather(x(), T.tensor([[0, 1, 0]]), 0).shape).toEqual([1, 3, 3]);
  });

  it.each([0, 1, 2])('gradcheck and gradgradcheck along axis %i (repeated indices)', (axis) => {
    const x3 = T.randn([2, 3, 4], new T.Rng(axis), { dtype: 'float64' });
    const idx = [
      [1, 0],
      [1, 1],
    ];
    const f = (v: Var) => A.mul(A.gather(v, idx, axis), A.gather(v, idx, axis));
    assertGradcheck(f, [x3]);
    assertGradgradcheck(f, [x3]);
  });

  it('scatterAdd is gather’s adjoint along the same axis, with its own gradients', () => {
    const u = T.randn([2, 3, 2], new T.Rng(7), { dtype: 'float64' });
    const f = (v: Var) => A.square(A.scatterAdd(v, [2, 0, 2], 4, 1));
    assertGradcheck(f, [u]);
    assertGradgradcheck(f, [u]);
    // Indices of rank 2 at axis 1: updates [2, 1, 3, 2] hold their shape [1, 3] there.
    const y = A.scatterAdd(A.param(T.reshape(u, [2, 1, 3, 2])), [[2, 0, 2]], 4, 1);
    expect(y.shape).toEqual([2, 4, 2]);
  });
});

describe('matmul with 1-D operands (NumPy rules)', () => {
  const a = () => p64([1, -2, 0.5]);
  it('vector · batched matrices', () => {
    // torch.matmul(a, B), B of shape (2, 3, 2)
    const av = a();
    const B = p64([
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [-1, 0],
        [0.5, 2],
        [1, 1],
      ],
    ]);
    const y = A.matmul(av, B);
    expect(nested(y)).toEqual([
      [-2.5, -3],
      [-1.5, -3.5],
    ]);
    const [ga, gB] = weighted(
      y,
      [
        [1, 2],
        [3, -1],
      ],
      [av, B],
    );
    expect(ga).toEqual([2, 10.5, 19]);
    expect(gB).toEqual([
      [
        [1, 2],
        [-2, -4],
        [0.5, 1],
      ],
      [
        [3, -1],
        [-6, 2],
        [1.5, -0.5],
      ],
    ]);
  });

  it('matrix · vector, and vector · vector is a scalar', () => {
    const av = a();
    const M = p64([
      [1, 2, 3],
      [0, -1, 4],
    ]);
    const y = A.matmul(M, av);
    expect(nested(y)).toEqual([-1.5, 4]);
    expect(weighted(y, [2, -1], [M, av])).toEqual([
      [
        [2, -4, 1],
        [-1, 2, -0.5],
      ],
      [2, 5, 2],
    ]);
    const d = A.matmul(av, av);
    expect(d.shape).toEqual([]);
    expect(d.value.item()).toBe(5.25);
    expect(nested(A.grad(d, av))).toEqual([2, -4, 1]);
  });

  it('gradcheck and gradgradcheck; transpose flags on a vector are an error', () => {
    const rng = new T.Rng(3);
    const v = T.randn([3], rng, { dtype: 'float64' });
    const m = T.randn([2, 3, 3], rng, { dtype: 'float64' });
    for (const f of [
      (p: Var, q: Var) => A.matmul(p, q),
      (p: Var, q: Var) => A.matmul(q, p),
      (p: Var, q: Var) => A.matmul(q, p, { transposeA: true }),
    ]) {
      assertGradcheck(f, [v, m]);
      assertGradgradcheck(f, [v, m]);
    }
    assertGradgradcheck((p: Var) => A.matmul(p, p), [v]);
    expect(() => A.matmul(A.param(v), A.param(m), { transposeA: true })).toThrow(
      /^matmul: a transpose flag was set for a 1-D operand/,
    );
    expect(() => T.matmul(T.scalar(1), T.ones([1]))).toThrow(/^matmul: expected tensors of rank >= 1/);
  });
});

describe('pad with a constant value', () => {
  it('value, gradient and a crop in another dimension', () => {
    const x = p64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const y = A.pad(
      x,
      [
        [1, 0],
        [-1, 1],
      ],
      -1,
    );
    expect(nested(y)).toEqual([
      [-1, -1, -1],
      [2, 3, -1],
      [5, 6, -1],
    ]);
    const f = (v: Var) =>
      A.square(
        A.pad(
          v,
          [
            [1, 0],
            [-1, 1],
          ],
          -1,
        ),
      );
    assertGradcheck(f, [x.value]);
    assertGradgradcheck(f, [x.value]);
  });
});

describe('dense with a broadcastable bias', () => {
  it('a [batch, 1] bias matches PyTorch through relu', () => {
    // torch.relu(X @ W + b), b of shape (3, 1)
    const X = p64([
      [0.5, -1],
      [2, 0.25],
      [1, 1],
    ]);
    const W = p64([
      [1, -2],
      [0.5, 1.5],
    ]);
    const b = p64([[0.1], [-3], [0.2]]);
    const y = A.dense(X, W, b, 'relu');
    const expected = [
      [0.1, 0],
      [0, 0],
      [1.7, 0],
    ];
    const got = (nested(y) as number[][]).flat();
    expected.flat().forEach((e, i) => {
      expect(got[i]).toBeCloseTo(e, 14);
    });
    const [gX, gW, gb] = weighted(
      y,
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [X, W, b],
    );
    expect(gX).toEqual([
      [1, 0.5],
      [0, 0],
      [5, 2.5],
    ]);
    expect(gW).toEqual([
      [5.5, 0],
      [4, 0],
    ]);
    expect(gb).toEqual([[1], [0], [5]]);
  });

  it.each([[[1, 2]], [[3, 1]], [[]]] as number[][][])(
    'gradcheck and gradgradcheck with a bias of shape %j',
    (bs) => {
      const rng = new T.Rng(5);
      const x = T.randn([3, 4], rng, { dtype: 'float64' });
      const w = T.randn([4, 2], rng, { dtype: 'float64' });
      const b = T.randn(bs, rng, { dtype: 'float64' });
      const f = (p: Var, q: Var, r: Var) => A.dense(p, q, r, 'tanh');
      assertGradcheck(f, [x, w, b]);
      assertGradgradcheck(f, [x, w, b]);
      expect(() => A.dense(A.param(x), A.param(w), A.param(T.zeros([4], { dtype: 'float64' })))).toThrow(
        /^dense: bias \[4\] does not broadcast to the output \[3,2\]/,
      );
    },
  );
});
