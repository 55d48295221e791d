import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';
import { expectAllClose } from './helpers.ts';

describe('tensor()', () => {
  it('infers shape from nested arrays and defaults to float32', () => {
    const t = T.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.rank).toBe(2);
    expect(t.size).toBe(6);
    expect(t.dtype).toBe('float32');
    expect(t.dataSync()).toBeInstanceOf(Float32Array);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.toArray()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('handles scalars, 3-D input and empty arrays', () => {
    const s = T.tensor(7);
    expect(s.shape).toEqual([]);
    expect(s.size).toBe(1);
    expect(s.toArray()).toBe(7);
    const c = T.tensor([
      [[1], [2]],
      [[3], [4]],
    ]);
    expect(c.shape).toEqual([2, 2, 1]);
    expect(c.toArray()).toEqual([
      [[1], [2]],
      [[3], [4]],
    ]);
    const e = T.tensor([]);
    expect(e.shape).toEqual([0]);
    expect(e.size).toBe(0);
    expect(e.toArray()).toEqual([]);
    const e2 = T.tensor([[], []]);
    expect(e2.shape).toEqual([2, 0]);
    expect(e2.toArray()).toEqual([[], []]);
  });

  it('rejects ragged nested arrays, naming the position', () => {
    expect(() => T.tensor([[1, 2], [3]])).toThrow(
      /tensor: ragged nested array: expected an array of length 2 at values\[1\], got length 1/,
    );
    expect(() => T.tensor([[1, 2], 3] as T.NestedArray)).toThrow(
      /ragged nested array: expected an array of length 2 at values\[1\], got number/,
    );
    expect(() => T.tensor([1, [2]] as T.NestedArray)).toThrow(
      /ragged nested array: expected a number at values\[1\], got an array/,
    );
    expect(() => T.tensor([['a']] as unknown as T.NestedArray)).toThrow(
      /tensor: expected a number or an array at values\[0\]\[0\], got string/,
    );
  });

  it('accepts flat values with a shape option', () => {
    const t = T.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] });
    expect(t.shape).toEqual([3, 2]);
    expect(t.toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(T.tensor([5], { shape: [] }).toArray()).toBe(5);
  });

  it('rejects a shape option that does not match the number of values', () => {
    expect(() => T.tensor([1, 2, 3], { shape: [2, 2] })).toThrow(
      /tensor: shape \[2,2\] needs 4 values, got 3/,
    );
    expect(() => T.tensor(new Float32Array(5), { shape: [2, 3] })).toThrow(
      /tensor: shape \[2,3\] needs 6 values, got a typed array of length 5/,
    );
    // A NaN dimension reads NaN (JSON.stringify would print null).
    expect(() => T.zeros([Number.NaN, 2])).toThrow('zeros: invalid shape [NaN,2]');
    expect(() => T.tensor([1, 2], { shape: [-2, -1] })).toThrow(/tensor: invalid shape \[-2,-1\]/);
    expect(() => T.tensor(new Float32Array(2), { shape: [1.5] })).toThrow(/tensor: invalid shape \[1.5\]/);
  });

  it('copies typed arrays and infers float64 from a Float64Array', () => {
    const src64 = new Float64Array([0.1, 0.2, 0.3]);
    const t64 = T.tensor(src64);
    expect(t64.dtype).toBe('float64');
    expect(t64.shape).toEqual([3]);
    expect(Array.from(t64.dataSync())).toEqual([0.1, 0.2, 0.3]);
    src64[0] = 99; // the tensor holds a copy
    expect(t64.dataSync()[0]).toBe(0.1);

    const t32 = T.tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] });
    expect(t32.dtype).toBe('float32');
    expect(t32.shape).toEqual([2, 2]);

    // explicit dtype converts
    const down = T.tensor(new Float64Array([0.1]), { dtype: 'float32' });
    expect(down.dtype).toBe('float32');
    expect(down.dataSync()[0]).toBe(Math.fround(0.1));
    const up = T.tensor([0.1, 0.2], { dtype: 'float64' });
    expect(up.dtype).toBe('float64');
    expect(up.dataSync()[0]).toBe(0.1);
  });

  it('rounds plain numbers to float32 by default', () => {
    expect(T.tensor([0.1]).dataSync()[0]).toBe(Math.fround(0.1));
  });
});

describe('simple constructors', () => {
  it('zeros / ones / full / scalar / *Like', () => {
    const z = T.zeros([2, 3]);
    expect(z.shape).toEqual([2, 3]);
    expect(z.dtype).toBe('float32');
    expect(Array.from(z.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    const o = T.ones([4], { dtype: 'float64' });
    expect(o.dtype).toBe('float64');
    expect(Array.from(o.dataSync())).toEqual([1, 1, 1, 1]);
    const f = T.full([2, 2], -2.5);
    expect(f.toArray()).toEqual([
      [-2.5, -2.5],
      [-2.5, -2.5],
    ]);
    const s = T.scalar(3.5, 'float64');
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(3.5);
    expect(T.scalar(2).dtype).toBe('float32');
    const zl = T.zerosLike(o);
    expect(zl.shape).toEqual([4]);
    expect(zl.dtype).toBe('float64');
    expect(Array.from(T.onesLike(f).dataSync())).toEqual([1, 1, 1, 1]);
    expect(T.zeros([]).shape).toEqual([]);
    expect(T.zeros([]).size).toBe(1);
    expect(T.zeros([3, 0]).size).toBe(0);
  });

  it('eye: square, rectangular and empty', () => {
    expect(T.eye(3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(T.eye(2, 3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(T.eye(3, 2).toArray()).toEqual([
      [1, 0],
      [0, 1],
      [0, 0],
    ]);
    expect(T.eye(0).shape).toEqual([0, 0]);
    expect(T.eye(1).toArray()).toEqual([[1]]);
    expect(T.eye(2, 2, { dtype: 'float64' }).dtype).toBe('float64');
    expect(() => T.eye(-1)).toThrow(/eye: invalid shape \[-1,-1\]/);
    expect(() => T.eye(2.5)).toThrow(/eye: invalid shape/);
  });

  it('arange: one-argument form, steps, negative steps, empty ranges', () => {
    expect(Array.from(T.arange(5).dataSync())).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(T.arange(2, 6).dataSync())).toEqual([2, 3, 4, 5]);
    expect(Array.from(T.arange(0, 10, 3).dataSync())).toEqual([0, 3, 6, 9]);
    expect(Array.from(T.arange(5, 0, -2).dataSync())).toEqual([5, 3, 1]);
    expect(T.arange(0).shape).toEqual([0]);
    expect(T.arange(3, 1).shape).toEqual([0]);
    expect(T.arange(1, 3, -1).shape).toEqual([0]);
    expectAllClose(T.arange(0, 1, 0.25, { dtype: 'float64' }), [0, 0.25, 0.5, 0.75]);
    expect(T.arange(0, 1, 0.1).size).toBe(10);
    expect(() => T.arange(0, 1, 0)).toThrow(
      /arange: expected finite start, stop and a non-zero step, got 0, 1, 0/,
    );
    expect(() => T.arange(0, Number.POSITIVE_INFINITY)).toThrow(/arange: expected finite start/);
    expect(() => T.arange(Number.NaN)).toThrow(/arange/);
  });

  it('linspace: endpoints included, num 0 and 1', () => {
    const l = T.linspace(0, 1, 5, { dtype: 'float64' });
    expect(Array.from(l.dataSync())).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // the last value is exactly stop even when the step is inexact
    const l3 = T.linspace(0, 0.3, 4, { dtype: 'float64' }).dataSync();
    expect(l3[3]).toBe(0.3);
    expectAllClose(l3, [0, 0.1, 0.2, 0.3]);
    expect(Array.from(T.linspace(2, 5, 1).dataSync())).toEqual([2]);
    expect(T.linspace(2, 5, 0).shape).toEqual([0]);
    expect(Array.from(T.linspace(3, -3, 3).dataSync())).toEqual([3, 0, -3]);
    expect(() => T.linspace(0, 1, -1)).toThrow(/linspace: num must be a non-negative integer, got -1/);
    expect(() => T.linspace(0, 1, 2.5)).toThrow(/num must be a non-negative integer, got 2.5/);
  });
});

describe('random constructors', () => {
  it('rand / randn / uniform are reproducible with the same seed', () => {
    const a = T.rand([3, 4], new T.Rng(1));
    const b = T.rand([3, 4], new T.Rng(1));
    const c = T.rand([3, 4], new T.Rng(2));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    const n1 = T.randn([50], new T.Rng(5), { dtype: 'float64' });
    const n2 = T.randn([50], new T.Rng(5), { dtype: 'float64' });
    expect(Array.from(n1.dataSync())).toEqual(Array.from(n2.dataSync()));
    const u1 = T.uniform([10], -1, 1, new T.Rng(9));
    const u2 = T.uniform([10], -1, 1, new T.Rng(9));
    expect(Array.from(u1.dataSync())).toEqual(Array.from(u2.dataSync()));
  });

  it('draws the same values as the Rng, in row-major order', () => {
    const t = T.rand([2, 3], new T.Rng(11), { dtype: 'float64' });
    const rng = new T.Rng(11);
    expect(Array.from(t.dataSync())).toEqual(Array.from({ length: 6 }, () => rng.uniform()));
    const n = T.randn([4], new T.Rng(11), { dtype: 'float64', mean: 2, std: 3 });
    const rng2 = new T.Rng(11);
    expect(Array.from(n.dataSync())).toEqual(Array.from({ length: 4 }, () => rng2.normal(2, 3)));
  });

  it('advances the generator so consecutive calls differ', () => {
    const rng = new T.Rng(3);
    const a = T.rand([5], rng);
    const b = T.rand([5], rng);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
  });

  it('respects bounds and dtype', () => {
    const u = T.uniform([1000], 2, 3, new T.Rng(4));
    expect(u.dtype).toBe('float32');
    for (const v of u.dataSync()) {
      expect(v).toBeGreaterThanOrEqual(2);
      expect(v).toBeLessThan(3);
    }
    const r = T.rand([1000], new T.Rng(4), { dtype: 'float64' });
    expect(r.dtype).toBe('float64');
    for (const v of r.dataSync()) expect(v >= 0 && v < 1).toBe(true);
    const n = T.randn([2000], new T.Rng(4), { mean: 10, std: 0.1 });
    const m = T.mean(n).item();
    expect(Math.abs(m - 10)).toBeLessThan(0.02);
    // std 0 is allowed and gives the mean
    expect(Array.from(T.randn([3], new T.Rng(1), { mean: 4, std: 0 }).dataSync())).toEqual([4, 4, 4]);
    // low == high is allowed
    expect(Array.from(T.uniform([2], 1, 1, new T.Rng(1)).dataSync())).toEqual([1, 1]);
  });

  it('float32 rand never returns 1, even for the all-ones draw', () => {
    const rng = T.Rng.fromState({ algorithm: 'pcg32', state: '07fffe0000000000', inc: '0000000000000001' });
    const t = T.rand([3], rng);
    for (const v of t.dataSync()) expect(v).toBeLessThan(1);
  });

  it('rejects bad parameters', () => {
    const rng = new T.Rng(1);
    expect(() => T.uniform([2], 1, 0, rng)).toThrow(
      /uniform: expected finite low <= high, got low=1, high=0/,
    );
    expect(() => T.uniform([2], 0, Number.POSITIVE_INFINITY, rng)).toThrow(
      /uniform: expected finite low <= high/,
    );
    expect(() => T.randn([2], rng, { std: -1 })).toThrow(
      /randn: expected a finite mean and std >= 0, got mean=0, std=-1/,
    );
    expect(() => T.randn([2], rng, { mean: Number.NaN })).toThrow(/randn: expected a finite mean/);
    expect(() => T.rand([-1], rng)).toThrow(/uniform: invalid shape \[-1\]/);
    expect(() => T.randn([2], rng, { dtype: 'int8' as T.DType })).toThrow(/randn: unknown dtype "int8"/);
  });
});

describe('reading tensors', () => {
  it('dataSync returns a copy: mutating it does not change the tensor', () => {
    const t = T.tensor([1, 2, 3]);
    const d = t.dataSync();
    d[0] = 100;
    expect(t.dataSync()[0]).toBe(1);
    expect(t.dataSync()).not.toBe(t.dataSync());
    const arr = t.toArray() as number[];
    arr[1] = 100;
    expect(t.toArray()).toEqual([1, 2, 3]);
  });

  it('item() reads one-element tensors of any rank', () => {
    expect(T.scalar(4).item()).toBe(4);
    expect(T.tensor([[2.5]]).item()).toBe(2.5);
    expect(T.tensor([7]).item()).toBe(7);
    expect(() => T.tensor([1, 2]).item()).toThrow(
      /item: expected a tensor with one element, got shape \[2\]/,
    );
  });

  it('toString is readable: dtype, shape, values', () => {
    const s = T.tensor([
      [1, 2],
      [3, 4],
    ]).toString();
    expect(s).toBe('Tensor(float32, [2,2])\n[[1, 2],\n [3, 4]]');
    expect(T.scalar(0.5, 'float64').toString()).toBe('Tensor(float64, [])\n0.5');
    expect(T.tensor([0.1]).toString()).toContain('0.1');
    expect(T.tensor([1e-7, 123456789.5, 2e8], { dtype: 'float64' }).toString()).toContain(
      '[1.0000e-7, 1.2346e+8, 200000000]',
    );
    expect(T.tensor([]).toString()).toBe('Tensor(float32, [0])\n[]');
  });

  it('toString elides long dimensions with ...', () => {
    const s = T.arange(100).toString();
    expect(s).toBe('Tensor(float32, [100])\n[0, 1, 2, ..., 97, 98, 99]');
    const m = T.reshape(T.arange(200), [20, 10]).toString();
    expect(m.startsWith('Tensor(float32, [20,10])\n')).toBe(true);
    expect(m).toContain('[0, 1, 2, ..., 7, 8, 9]');
    expect(m).toContain('[190, 191, 192, ..., 197, 198, 199]');
    expect(m).toContain(' ...');
    expect(m).not.toContain('[30,');
    expect(m.split('\n').length).toBe(1 + 7);
    // exactly 7 is shown in full
    expect(T.arange(7).toString()).toContain('[0, 1, 2, 3, 4, 5, 6]');
    // 3-D separates blocks with a blank line
    expect(T.zeros([2, 1, 1]).toString()).toBe('Tensor(float32, [2,1,1])\n[[[0]],\n\n [[0]]]');
  });

  it('a disposed tensor prints as disposed', () => {
    const t = T.zeros([2]);
    t.dispose();
    expect(t.isDisposed).toBe(true);
    expect(t.toString()).toBe('Tensor(float32, [2], disposed)');
  });
});
