/**
 * Shared test helpers: an `allclose` assertion, naive reference implementations written
 * independently of the kernels (index arithmetic only), and fast-check arbitraries for
 * shapes and tensors.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import * as T from '../src/index.ts';

/** Tolerances used across the suite. */
export const TOL = {
  /** float64 results computed in a different order than the reference: a few ulps of O(1) values. */
  f64: { rtol: 1e-12, atol: 1e-12 },
  /** float32 results of a short chain of ops: float32 eps is 1.19e-7, allow ~100 ulps. */
  f32: { rtol: 1e-5, atol: 1e-5 },
} as const;

/**
 * Assert |actual − expected| <= atol + rtol·|expected| elementwise (NaN matches NaN, ±Infinity
 * must match exactly). Reports the first offending index.
 */
export function expectAllClose(
  actual: ArrayLike<number> | T.Tensor,
  expected: ArrayLike<number> | T.Tensor,
  { rtol = 1e-12, atol = 1e-12 }: { rtol?: number; atol?: number } = {},
): void {
  const a = actual instanceof T.Tensor ? actual.dataSync() : actual;
  const e = expected instanceof T.Tensor ? expected.dataSync() : expected;
  expect(a.length, 'length').toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    if (Number.isNaN(y)) {
      expect(x, `index ${i}: expected NaN`).toBeNaN();
      continue;
    }
    if (!Number.isFinite(y)) {
      expect(x, `index ${i}`).toBe(y);
      continue;
    }
    const ok = Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (!ok) expect.fail(`index ${i}: got ${x}, expected ${y} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Exact elementwise equality of data (NaN equals NaN), and equal shapes when both are tensors. */
export function expectSameTensor(actual: T.Tensor, expected: T.Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe(expected.dtype);
  expect(Array.from(actual.dataSync())).toEqual(Array.from(expected.dataSync()));
}

/** Product of dimensions. */
export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Row-major strides. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The multi-index of flat position `flat` in `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    idx[i] = flat % d;
    flat = Math.floor(flat / d);
  }
  return idx;
}

/** The flat position of a multi-index. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i]! + idx[i]!;
  return flat;
}

/** NumPy broadcast of two shapes, written out directly (no library code). */
export function naiveBroadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error('not broadcastable');
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Read `data` (of `shape`) at an output multi-index under broadcasting. */
export function readBroadcast(
  data: ArrayLike<number>,
  shape: readonly number[],
  outIdx: readonly number[],
): number {
  const off = outIdx.length - shape.length;
  const idx = shape.map((d, i) => (d === 1 ? 0 : outIdx[off + i]!));
  return data[ravel(idx, shape)]!;
}

/** Naive batched matmul with broadcast batch dims: plain triple loop per batch. */
export function naiveMatmul(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  transposeA = false,
  transposeB = false,
): { data: number[]; shape: number[] } {
  const ra = aShape.length;
  const rb = bShape.length;
  const m = transposeA ? aShape[ra - 1]! : aShape[ra - 2]!;
  const k = transposeA ? aShape[ra - 2]! : aShape[ra - 1]!;
  const n = transposeB ? bShape[rb - 2]! : bShape[rb - 1]!;
  const aBatch = aShape.slice(0, -2);
  const bBatch = bShape.slice(0, -2);
  const batch = naiveBroadcastShape(aBatch, bBatch);
  const shape = [...batch, m, n];
  const data = new Array<number>(sizeOf(shape)).fill(0);
  const nb = sizeOf(batch);
  const aMat = aShape[ra - 2]! * aShape[ra - 1]!;
  const bMat = bShape[rb - 2]! * bShape[rb - 1]!;
  const aCols = aShape[ra - 1]!;
  const bCols = bShape[rb - 1]!;
  for (let bi = 0; bi < nb; bi++) {
    const bIdx = unravel(bi, batch);
    const aOff = aBatch.length === 0 ? 0 : ravel(readIdx(aBatch, bIdx), aBatch) * aMat;
    const bOff = bBatch.length === 0 ? 0 : ravel(readIdx(bBatch, bIdx), bBatch) * bMat;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = transposeA ? a[aOff + p * aCols + i]! : a[aOff + i * aCols + p]!;
          const bv = transposeB ? b[bOff + j * bCols + p]! : b[bOff + p * bCols + j]!;
          s += av * bv;
        }
        data[bi * m * n + i * n + j] = s;
      }
    }
  }
  return { data, shape };
}

function readIdx(shape: readonly number[], outIdx: readonly number[]): number[] {
  const off = outIdx.length - shape.length;
  return shape.map((d, i) => (d === 1 ? 0 : outIdx[off + i]!));
}

/** Naive transpose: out[i_0..] = x[i_{perm^-1}...]. */
export function naiveTranspose(
  data: ArrayLike<number>,
  shape: readonly number[],
  perm: readonly number[],
): number[] {
  const outShape = perm.map((p) => shape[p]!);
  const out = new Array<number>(sizeOf(shape));
  for (let o = 0; o < out.length; o++) {
    const oi = unravel(o, outShape);
    const ii = new Array<number>(shape.length);
    perm.forEach((p, d) => {
      ii[p] = oi[d]!;
    });
    out[o] = data[ravel(ii, shape)]!;
  }
  return out;
}

/** Inverse of a permutation. */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

// ---------------------------------------------------------------- arbitraries

/** A shape of rank in [minRank, maxRank] with dimensions in [minDim, maxDim]. */
export function shapeArb(minRank = 0, maxRank = 4, minDim = 1, maxDim = 4): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * `count` mutually broadcastable shapes: start from a common output shape, then for each
 * operand drop some leading dims and replace some dims by 1. The broadcast of the result
 * is not always the starting shape (every operand may have a 1 in the same place).
 */
export function broadcastableArb(count: number, maxRank = 4, maxDim = 4): fc.Arbitrary<number[][]> {
  return shapeArb(0, maxRank, 1, maxDim).chain((out) => {
    const operand = fc
      .tuple(
        fc.integer({ min: 0, max: out.length }),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
      )
      .map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop));
    return fc.array(operand, { minLength: count, maxLength: count });
  });
}

/** Two mutually broadcastable shapes. */
export function broadcastablePairArb(maxRank = 4, maxDim = 4): fc.Arbitrary<[number[], number[]]> {
  return broadcastableArb(2, maxRank, maxDim).map(([a, b]) => [a!, b!]);
}

/** Small-integer values (exact in float32 and float64, so sums and products are exact). */
export const smallInt = fc.integer({ min: -8, max: 8 });

/** Finite doubles in [-lim, lim] (no NaN, no -0 surprises from the generator). */
export const finite = (lim = 4): fc.Arbitrary<number> =>
  fc.double({ min: -lim, max: lim, noNaN: true, noDefaultInfinity: true }).map((x) => (x === 0 ? 0 : x));

/** Flat data for a shape. */
export function dataArb(
  shape: readonly number[],
  value: fc.Arbitrary<number> = smallInt,
): fc.Arbitrary<number[]> {
  const n = sizeOf(shape);
  return fc.array(value, { minLength: n, maxLength: n });
}

/** A tensor of `shape` with values from `value`. */
export function tensorOf(
  shape: readonly number[],
  dtype: T.DType = 'float64',
  value: fc.Arbitrary<number> = smallInt,
): fc.Arbitrary<T.Tensor> {
  return dataArb(shape, value).map((d) => T.tensor(d, { shape, dtype }));
}

/** A random permutation of 0..n-1. */
export function permArb(n: number): fc.Arbitrary<number[]> {
  return fc.shuffledSubarray(
    Array.from({ length: n }, (_, i) => i),
    { minLength: n, maxLength: n },
  );
}
