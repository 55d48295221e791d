/**
 * Observation and action spaces. Only Gymnasium's `Box` is needed for continuous control.
 * @module
 */
import type { Rng } from '@chainrule/tensor';
import { fmtBounds, fmtValues } from './errors.ts';

function product(shape: readonly number[]): number {
  let p = 1;
  for (const d of shape) p *= d;
  return p;
}

function toBound(
  value: number | ArrayLike<number>,
  size: number | undefined,
  what: string,
): Float64Array | number {
  if (typeof value === 'number') return value;
  if (value === null || typeof value !== 'object' || typeof value.length !== 'number') {
    throw new TypeError(`Box: ${what} must be a number or an array of numbers, got ${String(value)}`);
  }
  if (size !== undefined && value.length !== size) {
    throw new RangeError(
      `Box: ${what} has ${value.length} element(s) but the shape [${size}] needs ${size}: ${fmtValues(value)}`,
    );
  }
  return Float64Array.from(value);
}

/**
 * A (possibly unbounded) box in R^n: every element `x[i]` lies in `[low[i], high[i]]`.
 * Bounds may be `-Infinity` / `Infinity`; they may never be NaN, and `low <= high`
 * element-wise. Elements are stored flat (row-major) in `Float64Array`s; `shape` is
 * kept for documentation and checks (all environments here use a 1-D shape).
 *
 * @example
 * ```ts
 * const torque = new Box(-2, 2, [1]);
 * torque.contains([1.5]); // true
 * torque.clip([3]);       // Float64Array [2]
 * const obs = new Box([-1, -1, -8], [1, 1, 8]); // shape [3] inferred
 * ```
 */
export class Box {
  /** Lower bounds, one per element. */
  readonly low: Float64Array;
  /** Upper bounds, one per element. */
  readonly high: Float64Array;
  /** The shape, e.g. `[3]`; the product of its entries is `size`. */
  readonly shape: number[];

  /**
   * @param low a scalar (broadcast to every element) or one bound per element.
   * @param high a scalar (broadcast) or one bound per element.
   * @param shape the shape; required when both bounds are scalars, otherwise inferred as
   *   `[n]` from the array bound(s) (and checked against them when given).
   * @throws RangeError / TypeError if the shape is invalid, the bound lengths disagree
   *   with it, a bound is NaN, or some `low[i] > high[i]`.
   */
  constructor(low: number | ArrayLike<number>, high: number | ArrayLike<number>, shape?: readonly number[]) {
    let resolved: number[];
    if (shape !== undefined) {
      if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
        throw new RangeError(
          `Box: shape must be an array of non-negative integers, got ${Array.isArray(shape) ? fmtValues(shape) : String(shape)}`,
        );
      }
      resolved = [...shape];
    } else if (typeof low !== 'number') {
      resolved = [low.length];
    } else if (typeof high !== 'number') {
      resolved = [high.length];
    } else {
      throw new RangeError('Box: a shape is required when both low and high are scalars');
    }
    const size = product(resolved);
    const lo = toBound(low, size, 'low');
    const hi = toBound(high, size, 'high');
    this.low = typeof lo === 'number' ? new Float64Array(size).fill(lo) : lo;
    this.high = typeof hi === 'number' ? new Float64Array(size).fill(hi) : hi;
    this.shape = resolved;
    for (let i = 0; i < size; i++) {
      const l = this.low[i]!;
      const h = this.high[i]!;
      if (Number.isNaN(l) || Number.isNaN(h)) {
        throw new RangeError(
          `Box: bounds must not be NaN, got low ${fmtValues(this.low)} high ${fmtValues(this.high)}`,
        );
      }
      if (l > h) {
        throw new RangeError(
          `Box: low must be <= high element-wise, but low[${i}] = ${l} > high[${i}] = ${h}`,
        );
      }
    }
  }

  /** The number of elements (the product of `shape`). */
  get size(): number {
    return this.low.length;
  }

  /** True when every bound is finite (so {@link Box.sample} is uniform and rescaling is possible). */
  isBounded(): boolean {
    for (let i = 0; i < this.size; i++) {
      if (!Number.isFinite(this.low[i]!) || !Number.isFinite(this.high[i]!)) return false;
    }
    return true;
  }

  /**
   * True when `x` has exactly `size` elements, none NaN, each within its bounds
   * (bounds inclusive).
   */
  contains(x: ArrayLike<number>): boolean {
    if (x === null || typeof x !== 'object' || x.length !== this.size) return false;
    for (let i = 0; i < this.size; i++) {
      const v = x[i];
      if (typeof v !== 'number' || Number.isNaN(v) || v < this.low[i]! || v > this.high[i]!) return false;
    }
    return true;
  }

  /**
   * Clip `x` element-wise into the box (NaN stays NaN).
   * @param x `size` numbers.
   * @param out optional destination (may be `x` itself when it is a Float64Array).
   * @returns the clipped values (a new array unless `out` is given).
   * @throws RangeError if `x` does not have `size` elements.
   */
  clip(x: ArrayLike<number>, out: Float64Array = new Float64Array(this.size)): Float64Array {
    if (x.length !== this.size || out.length !== this.size) {
      throw new RangeError(`Box.clip: expected ${this.size} element(s), got ${x.length}: ${fmtValues(x)}`);
    }
    for (let i = 0; i < this.size; i++) {
      const v = x[i]!;
      out[i] = Math.min(Math.max(v, this.low[i]!), this.high[i]!);
    }
    return out;
  }

  /**
   * A random element, as Gymnasium's `Box.sample`: uniform on bounded coordinates,
   * standard normal on unbounded ones, `low + Exp(1)` / `high - Exp(1)` on half-bounded ones.
   * @param rng the generator to draw from.
   */
  sample(rng: Rng): Float64Array {
    const out = new Float64Array(this.size);
    for (let i = 0; i < this.size; i++) {
      const l = this.low[i]!;
      const h = this.high[i]!;
      const finiteL = Number.isFinite(l);
      const finiteH = Number.isFinite(h);
      if (finiteL && finiteH) out[i] = rng.uniform(l, h);
      else if (finiteL) out[i] = l - Math.log(1 - rng.uniform());
      else if (finiteH) out[i] = h + Math.log(1 - rng.uniform());
      else out[i] = rng.normal();
    }
    return out;
  }

  /** A readable description, e.g. `Box([-2, 2], shape [1])`. */
  toString(): string {
    return `Box(${fmtBounds(this.low, this.high)}, shape [${this.shape.join(', ')}])`;
  }
}
