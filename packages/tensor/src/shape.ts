/**
 * Shape arithmetic: sizes, strides, NumPy broadcasting and axis normalisation.
 * @module
 */
import { ChainruleError, fmtShape } from './errors.ts';

/** A tensor shape: one non-negative integer per dimension, outermost first. */
export type Shape = readonly number[];

/** The number of elements of a shape (1 for a scalar shape `[]`). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** True when two shapes are identical. */
export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throw unless `shape` is an array of non-negative integers. */
export function assertValidShape(op: string, shape: unknown): asserts shape is number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ChainruleError(
      op,
      // Arrays element by element: JSON.stringify would print a NaN dimension as null.
      `invalid shape ${Array.isArray(shape) ? `[${shape.map(String).join(',')}]` : JSON.stringify(shape)}; expected an array of non-negative integers`,
    );
  }
}

/**
 * The broadcast shape of several shapes under NumPy's rules: align from the right; each
 * dimension pair must be equal or one of them must be 1.
 */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const offset = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i]!;
      const o = out[offset + i]!;
      if (o === d || d === 1) continue;
      if (o === 1) out[offset + i] = d;
      else {
        throw new ChainruleError(
          op,
          `shapes ${shapes.map(fmtShape).join(' and ')} are not broadcastable (dimension ${i - s.length} is ${o} vs ${d}); expected equal sizes or 1`,
        );
      }
    }
  }
  return out;
}

/**
 * Normalise an axis or list of axes for a tensor of `rank`: negative axes count from
 * the end; `undefined` means every axis. Returns sorted unique axes. A 0-d tensor accepts
 * axis 0 and −1 and has no axis to name (so `[]`), as PyTorch's dim wrapping treats a scalar
 * as a vector of one element: `sum(scalar, 0)` is the scalar.
 */
export function normalizeAxes(
  op: string,
  axes: number | readonly number[] | undefined,
  rank: number,
): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  if (rank === 0) {
    for (const a of list) {
      if (a !== 0 && a !== -1) {
        throw new ChainruleError(
          op,
          `axis ${a} is out of range for a tensor of rank 0; expected 0 or -1 (a scalar's one wrapped axis)`,
        );
      }
    }
    if (list.length > 1)
      throw new ChainruleError(op, `axis ${list[1]} is repeated in ${JSON.stringify(list)}`);
    return [];
  }
  const seen = new Set<number>();
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= rank) {
      throw new ChainruleError(
        op,
        `axis ${a} is out of range for a tensor of rank ${rank}; expected an integer in [${-rank}, ${rank - 1}]`,
      );
    }
    const n = a < 0 ? a + rank : a;
    if (seen.has(n)) throw new ChainruleError(op, `axis ${a} is repeated in ${JSON.stringify(list)}`);
    seen.add(n);
  }
  return [...seen].sort((x, y) => x - y);
}

/** Normalise one axis (negative counts from the end) for `rank` ≥ 1. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  // A single axis must exist, so a 0-d tensor's wrapped axis (see normalizeAxes) is refused.
  if (rank === 0) {
    throw new ChainruleError(op, `axis ${axis} is out of range for a tensor of rank 0; expected rank >= 1`);
  }
  return normalizeAxes(op, axis, rank)[0]!;
}

/**
 * Strides that read an input of `inShape` as if it were broadcast to `outShape`
 * (stride 0 along broadcast dimensions). The result has `outShape.length` entries.
 */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const strides = stridesOf(inShape);
  const out = new Array<number>(outShape.length).fill(0);
  const offset = outShape.length - inShape.length;
  for (let i = 0; i < inShape.length; i++) out[offset + i] = inShape[i] === 1 ? 0 : strides[i]!;
  return out;
}
