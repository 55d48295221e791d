import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';
import { expectAllClose, naiveMatmul, TOL } from './helpers.ts';

const f64 = (v: T.NestedArray) => T.tensor(v, { dtype: 'float64' });
const arr = (t: T.Tensor) => Array.from(t.dataSync());

const SAMPLE = [-3, -1.5, -0.5, 0, 0.25, 1, 2.5, 40];

describe('unary ops', () => {
  const reference: Record<(typeof T.UNARY_OPS)[number], (x: number) => number> = {
    neg: (x) => -x,
    exp: Math.exp,
    log: Math.log,
    sqrt: Math.sqrt,
    square: (x) => x * x,
    abs: Math.abs,
    sign: Math.sign,
    reciprocal: (x) => 1 / x,
    tanh: Math.tanh,
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    relu: (x) => Math.max(x, 0),
    sin: Math.sin,
    cos: Math.cos,
    log1p: Math.log1p,
    expm1: Math.expm1,
    // glibc's erf (Python's math.erf) at SAMPLE
    erf: (x) =>
      ({
        '-3': -0.9999779095030014,
        '-1.5': -0.9661051464753108,
        '-0.5': -0.5204998778130465,
        '0': 0,
        '0.25': 0.2763263901682369,
        '1': 0.8427007929497149,
        '2.5': 0.999593047982555,
        '40': 1,
      })[String(x)]!,
  };

  for (const op of T.UNARY_OPS) {
    it(`${op} matches the Math reference (float64) and keeps shape and dtype`, () => {
      const x = T.tensor(SAMPLE, { shape: [2, 4], dtype: 'float64' });
      const y = (T[op] as (t: T.Tensor) => T.Tensor)(x);
      expect(y.shape).toEqual([2, 4]);
      expect(y.dtype).toBe('float64');
      expectAllClose(y, SAMPLE.map(reference[op]), TOL.f64);
    });
  }

  it('float32 results are the float32 rounding of the exact result (js reference backend)', () => {
    T.withBackend('js', () => {
      const x = T.tensor([0.3, 1.7, 2.2]);
      expect(arr(T.exp(x))).toEqual(Array.from(x.dataSync(), (v) => Math.fround(Math.exp(v))));
      expect(arr(T.sqrt(x))).toEqual(Array.from(x.dataSync(), (v) => Math.fround(Math.sqrt(v))));
    });
  });

  it('follows IEEE at the edges', () => {
    expect(arr(T.log(f64([0, -1])))).toEqual([Number.NEGATIVE_INFINITY, Number.NaN]);
    expect(arr(T.sqrt(f64([-1])))).toEqual([Number.NaN]);
    expect(arr(T.reciprocal(f64([0])))).toEqual([Number.POSITIVE_INFINITY]);
    expect(arr(T.sign(f64([Number.NaN, -0, 5])))).toEqual([0, 0, 1]);
    expect(arr(T.relu(f64([Number.NaN, -2])))).toEqual([Number.NaN, 0]);
  });

  it('log1p and expm1 keep the digits of small x; erf agrees with glibc to a few ulps', () => {
    expect(arr(T.log1p(f64([1e-20, -1, -2])))).toEqual([1e-20, Number.NEGATIVE_INFINITY, Number.NaN]);
    expect(arr(T.expm1(f64([1e-20, -1000, 1000])))).toEqual([1e-20, -1, Number.POSITIVE_INFINITY]);
    const erfRef: [number, number][] = [
      [1e-10, 1.1283791670955126e-10],
      [0.9999, 0.8426592780487595],
      [1.0001, 0.8427422995485203],
      [3.7, 0.9999998328489421],
      [5.99, 1],
    ];
    const got = arr(T.erf(f64(erfRef.map(([x]) => x))));
    erfRef.forEach(([x, want], i) => {
      expect(Math.abs(got[i]! - want), `erf(${x})`).toBeLessThanOrEqual(8 * 2 ** -52 * Math.abs(want));
    });
    expect(arr(T.erf(f64([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0])))).toEqual([
      Number.NaN,
      1,
      -1,
      -0,
    ]);
  });

  it('atan2(y, x) follows Math.atan2, signed zeros and infinities included', () => {
    const y = [1, 1, -1, 0, -0, 0, -0, Number.POSITIVE_INFINITY, 1];
    const x = [1, -1, -1, 0, 0, -0, -0, Number.POSITIVE_INFINITY, 0];
    expect(arr(T.atan2(f64(y), f64(x)))).toEqual(y.map((v, i) => Math.atan2(v, x[i]!)));
  });

  it('sigmoid does not overflow for large |x|', () => {
    const y = arr(T.sigmoid(f64([-1000, -40, 0, 40, 1000])));
    expect(y[0]).toBe(0);
    expect(y[2]).toBe(0.5);
    expect(y[4]).toBe(1);
    expect(y.every((v) => Number.isFinite(v))).toBe(true);
    expect(y[1]).toBeCloseTo(Math.exp(-40), 25);
  });

  it('clip clamps to [min, max]', () => {
    expect(arr(T.clip(f64([-5, -1, 0, 1, 5]), -1, 2))).toEqual([-1, -1, 0, 1, 2]);
    expect(arr(T.clip(f64([3]), 2, 2))).toEqual([2]);
  });

  it('work on scalars and empty tensors', () => {
    expect(T.neg(T.scalar(2)).item()).toBe(-2);
    const e = T.exp(T.zeros([0, 3]));
    expect(e.shape).toEqual([0, 3]);
    expect(e.size).toBe(0);
  });
});

describe('binary ops', () => {
  it('add/sub/mul/div/pow/maximum/minimum elementwise', () => {
    const a = f64([1, -2, 3, 4]);
    const b = f64([2, 2, -1, 0.5]);
    expect(arr(T.add(a, b))).toEqual([3, 0, 2, 4.5]);
    expect(arr(T.sub(a, b))).toEqual([-1, -4, 4, 3.5]);
    expect(arr(T.mul(a, b))).toEqual([2, -4, -3, 2]);
    expect(arr(T.div(a, b))).toEqual([0.5, -1, -3, 8]);
    expect(arr(T.pow(a, b))).toEqual([1, 4, 1 / 3, 2]);
    expect(arr(T.maximum(a, b))).toEqual([2, 2, 3, 4]);
    expect(arr(T.minimum(a, b))).toEqual([1, -2, -1, 0.5]);
  });

  it('maximum/minimum propagate NaN from either side', () => {
    const a = f64([Number.NaN, 1, Number.NaN]);
    const b = f64([1, Number.NaN, Number.NaN]);
    expect(arr(T.maximum(a, b))).toEqual([Number.NaN, Number.NaN, Number.NaN]);
    expect(arr(T.minimum(a, b))).toEqual([Number.NaN, Number.NaN, Number.NaN]);
  });

  it('comparisons give 0/1', () => {
    const a = f64([1, 2, 3, Number.NaN]);
    const b = f64([2, 2, 2, Number.NaN]);
    expect(arr(T.equal(a, b))).toEqual([0, 1, 0, 0]);
    expect(arr(T.notEqual(a, b))).toEqual([1, 0, 1, 1]);
    expect(arr(T.less(a, b))).toEqual([1, 0, 0, 0]);
    expect(arr(T.lessEqual(a, b))).toEqual([1, 1, 0, 0]);
    expect(arr(T.greater(a, b))).toEqual([0, 0, 1, 0]);
    expect(arr(T.greaterEqual(a, b))).toEqual([0, 1, 1, 0]);
  });

  it('accept numbers as scalars of the other operand dtype, on either side', () => {
    const x = f64([1, 2, 3]);
    expect(arr(T.sub(x, 1))).toEqual([0, 1, 2]);
    expect(arr(T.sub(10, x))).toEqual([9, 8, 7]);
    expect(arr(T.div(1, x))).toEqual([1, 0.5, 1 / 3]);
    expect(arr(T.pow(x, 2))).toEqual([1, 4, 9]);
    expect(arr(T.pow(2, x))).toEqual([2, 4, 8]);
    expect(T.mul(x, 2).dtype).toBe('float64');
    const y = T.tensor([1]);
    expect(T.add(y, 0.1).dtype).toBe('float32');
    expect(T.add(y, 0.1).item()).toBe(Math.fround(1 + Math.fround(0.1)));
    expect(arr(T.greater(x, 1.5))).toEqual([0, 1, 1]);
  });

  it('broadcast [3,1] with [4] to [3,4], and scalars with anything', () => {
    const a = f64([[0], [10], [20]]);
    const b = f64([1, 2, 3, 4]);
    const c = T.add(a, b);
    expect(c.shape).toEqual([3, 4]);
    expect(c.toArray()).toEqual([
      [1, 2, 3, 4],
      [11, 12, 13, 14],
      [21, 22, 23, 24],
    ]);
    expect(T.mul(T.scalar(2, 'float64'), a).toArray()).toEqual([[0], [20], [40]]);
    expect(T.add(T.zeros([2, 0]), T.zeros([1, 1])).shape).toEqual([2, 0]);
    expect(T.add(T.zeros([1, 3, 1]), T.zeros([2, 1, 5])).shape).toEqual([2, 3, 5]);
  });

  it('where picks by condition with broadcasting and numbers', () => {
    const cond = f64([[1], [0]]);
    const a = f64([1, 2, 3]);
    const out = T.where(cond, a, -1);
    expect(out.shape).toEqual([2, 3]);
    expect(out.toArray()).toEqual([
      [1, 2, 3],
      [-1, -1, -1],
    ]);
    expect(arr(T.where(f64([0, 2, -1]), 5, 6))).toEqual([6, 5, 5]);
    expect(T.where(f64([1]), 5, 6).dtype).toBe('float64');
  });
});

describe('reductions', () => {
  const x = f64([
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    [
      [-1, 0, 7],
      [2, 2, 2],
    ],
  ]); // [2,2,3]

  it('sum over all, one and several axes, with and without keepDims', () => {
    expect(T.sum(x).item()).toBe(33);
    expect(T.sum(x).shape).toEqual([]);
    expect(T.sum(x, undefined, true).shape).toEqual([1, 1, 1]);
    expect(T.sum(x, 0).toArray()).toEqual([
      [0, 2, 10],
      [6, 7, 8],
    ]);
    expect(T.sum(x, -1).toArray()).toEqual([
      [6, 15],
      [6, 6],
    ]);
    expect(T.sum(x, [0, 2]).toArray()).toEqual([12, 21]);
    expect(T.sum(x, [0, 2], true).shape).toEqual([1, 2, 1]);
    expect(T.sum(x, [2, 0], true).toArray()).toEqual([[[12], [21]]]);
    // no axes: a copy
    expect(T.sum(x, []).toArray()).toEqual(x.toArray());
  });

  it('max / min', () => {
    expect(T.max(x).item()).toBe(7);
    expect(T.min(x).item()).toBe(-1);
    expect(T.max(x, 1).toArray()).toEqual([
      [4, 5, 6],
      [2, 2, 7],
    ]);
    expect(T.min(x, [1, 2], true).toArray()).toEqual([[[1]], [[-1]]]);
  });

  it('max / min propagate NaN', () => {
    const n = f64([1, Number.NaN, 3]);
    expect(T.max(n).item()).toBeNaN();
    expect(T.min(n).item()).toBeNaN();
    expect(T.max(f64([Number.NaN, 1])).item()).toBeNaN();
  });

  it('sum over an empty dimension is 0', () => {
    expect(T.sum(T.zeros([0])).item()).toBe(0);
    expect(arr(T.sum(T.zeros([2, 0]), 1))).toEqual([0, 0]);
  });

  it('reductions of a scalar', () => {
    expect(T.sum(T.scalar(3)).item()).toBe(3);
    expect(T.max(T.scalar(3)).item()).toBe(3);
  });

  it('mean and variance', () => {
    const y = f64([
      [1, 2, 3, 4],
      [2, 4, 6, 8],
    ]);
    expect(T.mean(y).item()).toBe(3.75);
    expect(arr(T.mean(y, 1))).toEqual([2.5, 5]);
    expect(T.mean(y, 0, true).shape).toEqual([1, 4]);
    expectAllClose(T.variance(y, 1), [1.25, 5], TOL.f64);
    expectAllClose(T.variance(y, 1, false, 1), [5 / 3, 20 / 3], TOL.f64);
    expect(T.variance(y, 1, true).shape).toEqual([2, 1]);
    const flat = [1, 2, 3, 4, 2, 4, 6, 8];
    const mu = flat.reduce((a, b) => a + b) / flat.length;
    expectAllClose(
      [T.variance(y).item()],
      [flat.reduce((a, b) => a + (b - mu) ** 2, 0) / flat.length],
      TOL.f64,
    );
    expect(T.variance(f64([5])).item()).toBe(0);
  });
});

describe('matmul', () => {
  it('2-D product', () => {
    const a = f64([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const b = f64([
      [1, 0, -1],
      [2, 1, 0],
    ]);
    expect(T.matmul(a, b).toArray()).toEqual([
      [5, 2, -1],
      [11, 4, -3],
      [17, 6, -5],
    ]);
    expect(T.matmul(a, a, { transposeA: true }).toArray()).toEqual([
      [35, 44],
      [44, 56],
    ]);
    expect(T.matmul(a, a, { transposeB: true }).shape).toEqual([3, 3]);
    expect(T.matmul(b, a, { transposeA: true, transposeB: true }).toArray()).toEqual(
      T.transpose(T.matmul(a, b)).toArray(),
    );
  });

  it('identity and k = 0', () => {
    const a = T.rand([4, 5], new T.Rng(1), { dtype: 'float64' });
    expect(arr(T.matmul(T.eye(4, 4, { dtype: 'float64' }), a))).toEqual(arr(a));
    const z = T.matmul(T.zeros([3, 0]), T.zeros([0, 2]));
    expect(z.shape).toEqual([3, 2]);
    expect(arr(z)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('batched with broadcast batch dims', () => {
    const rng = new T.Rng(2);
    const a = T.randn([2, 1, 3, 4], rng, { dtype: 'float64' });
    const b = T.randn([5, 4, 2], rng, { dtype: 'float64' });
    const c = T.matmul(a, b);
    expect(c.shape).toEqual([2, 5, 3, 2]);
    const ref = naiveMatmul(a.dataSync(), a.shape, b.dataSync(), b.shape);
    expectAllClose(c, ref.data, TOL.f64);
  });

  it('large transposeA (scratch-transpose path, m·k > 4096) matches the naive loop', () => {
    const rng = new T.Rng(3);
    for (const [tA, tB] of [
      [true, false],
      [true, true],
    ] as const) {
      const a = T.randn([2, 70, 65], rng, { dtype: 'float64' }); // k=70, m=65 when transposed
      const b = T.randn(tB ? [3, 70] : [70, 3], rng, { dtype: 'float64' });
      const c = T.matmul(a, b, { transposeA: tA, transposeB: tB });
      expect(c.shape).toEqual([2, 65, 3]);
      const ref = naiveMatmul(a.dataSync(), a.shape, b.dataSync(), b.shape, tA, tB);
      expectAllClose(c, ref.data, { rtol: 1e-10, atol: 1e-10 });
    }
  });

  it('propagates NaN and Infinity even when multiplied by 0 (IEEE: 0·∞ = NaN)', () => {
    const zeros = f64([[0, 0]]);
    const bad = f64([
      [Number.NaN, 1],
      [Number.POSITIVE_INFINITY, 1],
    ]);
    expect(arr(T.matmul(zeros, bad))).toEqual([Number.NaN, 0]);
    expect(arr(T.matmul(f64([[0]]), f64([[Number.POSITIVE_INFINITY]])))).toEqual([Number.NaN]);
    const y = T.fusedDense(zeros, bad, undefined);
    expect(arr(y)).toEqual([Number.NaN, 0]);
  });

  it('fusedDense equals act(x @ w + b) for every activation', () => {
    const rng = new T.Rng(4);
    const x = T.randn([5, 3], rng, { dtype: 'float64' });
    const w = T.randn([3, 4], rng, { dtype: 'float64' });
    const b = T.randn([4], rng, { dtype: 'float64' });
    const lin = T.add(T.matmul(x, w), b);
    const acts = { linear: (t: T.Tensor) => t, relu: T.relu, tanh: T.tanh, sigmoid: T.sigmoid };
    for (const [name, f] of Object.entries(acts)) {
      const y = T.fusedDense(x, w, b, name as T.DenseActivation);
      expect(y.shape).toEqual([5, 4]);
      expectAllClose(y, f(lin), TOL.f64);
    }
    expectAllClose(T.fusedDense(x, w, undefined), T.matmul(x, w), TOL.f64);
  });
});

describe('shape ops', () => {
  it('reshape shares storage and infers -1', () => {
    const x = T.arange(6);
    const r = T.reshape(x, [2, -1]);
    expect(r.shape).toEqual([2, 3]);
    expect(x.reshape([-1, 2]).shape).toEqual([3, 2]);
    expect(r.storage).toBe(x.storage);
    // dispose the original: the view keeps the storage alive
    x.dispose();
    expect(arr(r)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(T.reshape(T.zeros([0, 3]), [-1, 3]).shape).toEqual([0, 3]);
    expect(T.reshape(T.scalar(1), [1, 1]).shape).toEqual([1, 1]);
    expect(T.reshape(T.tensor([5]), []).shape).toEqual([]);
  });

  it('expandDims / squeeze', () => {
    const x = T.zeros([2, 3]);
    expect(T.expandDims(x, 0).shape).toEqual([1, 2, 3]);
    expect(T.expandDims(x, 2).shape).toEqual([2, 3, 1]);
    expect(T.expandDims(x, -1).shape).toEqual([2, 3, 1]);
    expect(T.expandDims(x, 1).shape).toEqual([2, 1, 3]);
    const y = T.zeros([1, 2, 1, 3, 1]);
    expect(T.squeeze(y).shape).toEqual([2, 3]);
    expect(T.squeeze(y, 2).shape).toEqual([1, 2, 3, 1]);
    expect(T.squeeze(y, [0, -1]).shape).toEqual([2, 1, 3]);
    expect(T.squeeze(T.zeros([1])).shape).toEqual([]);
  });

  it('transpose / permute', () => {
    const x = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(T.transpose(x).toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    const y = T.reshape(T.arange(24, undefined, 1, { dtype: 'float64' }), [2, 3, 4]);
    const p = T.permute(y, [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
    // out[i,j,k] = y[j,k,i]
    expect((p.toArray() as number[][][])[3]![1]![2]).toBe(1 * 12 + 2 * 4 + 3);
    expect(T.transpose(y).shape).toEqual([4, 3, 2]);
    expect(T.transpose(T.scalar(2)).item()).toBe(2);
  });

  it('broadcastTo materialises', () => {
    const x = f64([[1], [2]]);
    const b = T.broadcastTo(x, [3, 2, 2]);
    expect(b.toArray()).toEqual([
      [
        [1, 1],
        [2, 2],
      ],
      [
        [1, 1],
        [2, 2],
      ],
      [
        [1, 1],
        [2, 2],
      ],
    ]);
    expect(T.broadcastTo(T.scalar(3), [2]).toArray()).toEqual([3, 3]);
    expect(T.broadcastTo(x, [2, 1]).toArray()).toEqual([[1], [2]]);
  });

  it('slice', () => {
    const x = T.reshape(T.arange(12, undefined, 1, { dtype: 'float64' }), [3, 4]);
    expect(T.slice(x, [1, 1], [2, 2]).toArray()).toEqual([
      [5, 6],
      [9, 10],
    ]);
    expect(T.slice(x, [1]).toArray()).toEqual([
      [4, 5, 6, 7],
      [8, 9, 10, 11],
    ]);
    expect(T.slice(x, [0, 2], [-1, -1]).shape).toEqual([3, 2]);
    expect(T.slice(x, [3, 0], [0, 4]).shape).toEqual([0, 4]);
    expect(T.slice(x, []).toArray()).toEqual(x.toArray());
  });

  it('pad', () => {
    const x = f64([
      [1, 2],
      [3, 4],
    ]);
    expect(
      T.pad(x, [
        [1, 0],
        [0, 2],
      ]).toArray(),
    ).toEqual([
      [0, 0, 0, 0],
      [1, 2, 0, 0],
      [3, 4, 0, 0],
    ]);
    expect(T.pad(T.scalar(1), []).item()).toBe(1);
  });

  it('concat / stack', () => {
    const a = f64([
      [1, 2],
      [3, 4],
    ]);
    const b = f64([[5, 6]]);
    expect(T.concat([a, b]).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(T.concat([a, T.transpose(b)], 1).toArray()).toEqual([
      [1, 2, 5],
      [3, 4, 6],
    ]);
    expect(T.concat([a, T.transpose(b)], -1).shape).toEqual([2, 3]);
    expect(T.concat([a]).toArray()).toEqual(a.toArray());
    expect(T.concat([a, T.zeros([0, 2], { dtype: 'float64' })]).shape).toEqual([2, 2]);
    expect(T.stack([a, a]).shape).toEqual([2, 2, 2]);
    expect(T.stack([a, T.neg(a)], 2).toArray()).toEqual([
      [
        [1, -1],
        [2, -2],
      ],
      [
        [3, -3],
        [4, -4],
      ],
    ]);
    expect(T.stack([T.scalar(1), T.scalar(2)]).toArray()).toEqual([1, 2]);
  });

  it('gather / scatterAdd', () => {
    const x = f64([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(T.gather(x, [2, 0, 2]).toArray()).toEqual([
      [5, 6],
      [1, 2],
      [5, 6],
    ]);
    expect(T.gather(x, new Int32Array([1])).shape).toEqual([1, 2]);
    expect(T.gather(x, []).shape).toEqual([0, 2]);
    const u = f64([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    // repeated indices accumulate
    expect(T.scatterAdd(u, [2, 0, 2], 4).toArray()).toEqual([
      [2, 2],
      [0, 0],
      [4, 4],
      [0, 0],
    ]);
    expect(T.scatterAdd(f64([1, 2]), [1, 1], 2).toArray()).toEqual([0, 3]);
  });

  it('cast / clone', () => {
    const x = T.tensor([0.1, 1e40]);
    expect(x.dataSync()[1]).toBe(Number.POSITIVE_INFINITY);
    const y = T.cast(f64([0.1, 1e40]), 'float32');
    expect(y.dtype).toBe('float32');
    expect(arr(y)).toEqual([Math.fround(0.1), Number.POSITIVE_INFINITY]);
    const z = T.cast(y, 'float64');
    expect(z.dtype).toBe('float64');
    expect(z.dataSync()[0]).toBe(Math.fround(0.1));
    const c = T.clone(z);
    expect(c.storage).not.toBe(z.storage);
    expect(arr(c)).toEqual(arr(z));
    z.dispose();
    expect(c.isDisposed).toBe(false);
    expect(arr(c)[0]).toBe(Math.fround(0.1));
  });

  it('allFinite', () => {
    expect(T.allFinite(f64([1, 2]))).toBe(true);
    expect(T.allFinite(f64([1, Number.NaN]))).toBe(false);
    expect(T.allFinite(f64([Number.NEGATIVE_INFINITY]))).toBe(false);
  });
});

describe('dispose', () => {
  it('frees storage when the last reference goes and is idempotent', () => {
    const x = T.zeros([3]);
    const v = T.reshape(x, [1, 3]);
    expect(x.storage.refs).toBe(2);
    x.dispose();
    x.dispose();
    expect(v.storage.refs).toBe(1);
    expect(arr(v)).toEqual([0, 0, 0]);
    v.dispose();
    expect(v.isDisposed).toBe(true);
  });

  it('ops do not dispose their inputs', () => {
    const x = T.tensor([1, 2]);
    T.add(x, 1);
    T.sum(x);
    expect(x.isDisposed).toBe(false);
    expect(arr(x)).toEqual([1, 2]);
  });
});
