/**
 * fast-check arbitraries for shapes and tensors, with value domains that keep clear of the
 * points where finite differences are meaningless: kinks (relu, abs, sign, clip bounds),
 * ties (max, min, maximum, minimum) and domain edges (log, sqrt, reciprocal).
 * @module
 */
import * as T from '@chainrule/tensor';
import { ChainruleError, type DType, type Tensor } from '@chainrule/tensor';
import fc from 'fast-check';

/** Options for {@link arbShape} and {@link arbBroadcastableShapes}. */
export interface ShapeOptions {
  /** The smallest rank. Default 0 (a scalar). */
  minRank?: number;
  /** The largest rank. Default 3. */
  maxRank?: number;
  /** The smallest dimension. Default 1 (no empty tensors). */
  minDim?: number;
  /** The largest dimension. Default 4. */
  maxDim?: number;
}

/** Shapes of rank `minRank..maxRank` with dimensions in `minDim..maxDim`. Shrinks towards `[]`. */
export function arbShape(options: ShapeOptions = {}): fc.Arbitrary<number[]> {
  const { minRank = 0, maxRank = 3, minDim = 1, maxDim = 4 } = options;
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * `n` shapes that broadcast together under NumPy's rules. Each is a full shape with some
 * leading dimensions dropped and some others set to 1, so the cases include size-1
 * dimensions and missing leading dimensions. `minRank` applies to the full shape; with
 * `firstFull` the first shape is the full shape itself (the broadcast result).
 */
export function arbBroadcastableShapes(
  n: number,
  options: ShapeOptions & { firstFull?: boolean } = {},
): fc.Arbitrary<number[][]> {
  if (!Number.isInteger(n) || n < 1) {
    throw new ChainruleError('arbBroadcastableShapes', `n must be a positive integer, got ${n}`);
  }
  return arbShape(options).chain((full) => {
    // Each dimension becomes 1 with probability 1/4 (and shrinks towards 1).
    const spec = fc.record({
      drop: fc.integer({ min: 0, max: full.length }),
      ones: fc.array(
        fc.nat(3).map((k) => k === 0),
        { minLength: full.length, maxLength: full.length },
      ),
    });
    const derived = (m: number) =>
      fc
        .array(spec, { minLength: m, maxLength: m })
        .map((specs) =>
          specs.map(({ drop, ones }) => full.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d))),
        );
    return options.firstFull ? derived(n - 1).map((rest) => [[...full], ...rest]) : derived(n);
  });
}

/** How far from a kink, a tie or a domain edge values keep by default. Far larger than gradcheck's eps. */
export const KINK_MARGIN = 1e-3;

/** A predicate for {@link TensorOptions.avoid}: true for values within `margin` of any of `points`. */
export function avoidNear(points: readonly number[], margin = KINK_MARGIN): (x: number) => boolean {
  return (x) => points.some((p) => Math.abs(x - p) < margin);
}

/** Options for {@link arbTensor}. */
export interface TensorOptions {
  /** The smallest value. Default −2. */
  min?: number;
  /** The largest value. Default 2. */
  max?: number;
  /**
   * Values to keep away from: a predicate that is true for values to avoid, or `'kinks'`
   * (within {@link KINK_MARGIN} of 0, the kink of relu, abs and sign).
   */
  avoid?: ((x: number) => boolean) | 'kinks';
  /**
   * All elements at least `minGap` apart (for max/min reductions and maximum/minimum), so
   * no two elements are tied. Default false.
   */
  distinct?: boolean;
  /** The smallest gap between elements when `distinct`. Default 0.01. */
  minGap?: number;
  /** The dtype. Default float64. */
  dtype?: DType;
}

function avoidFn(avoid: TensorOptions['avoid']): ((x: number) => boolean) | undefined {
  if (avoid === 'kinks') return avoidNear([0]);
  return avoid;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Tensors of a fixed `shape` with values in `[min, max]`, keeping away from `avoid` and,
 * with `distinct`, from each other. Rejects candidates inside avoided regions, so keep those
 * regions small relative to `[min, max]`.
 *
 * @example arbTensor([2, 3], OP_DOMAINS.log) // positive values for log
 */
export function arbTensor(shape: readonly number[], options: TensorOptions = {}): fc.Arbitrary<Tensor> {
  const { dtype = 'float64' } = options;
  if (options.distinct) return arbDistinctTensors([shape], options).map((ts) => ts[0]!);
  const size = sizeOf(shape);
  return fc
    .array(arbValue(options), { minLength: size, maxLength: size })
    .map((vals) => T.tensor(vals, { shape: [...shape], dtype }));
}

const VALUE_GRID = 1e6;

/** One value of {@link arbTensor}: a multiple of 1e-6 in `[min, max]` outside the avoided regions. */
export function arbValue(options: TensorOptions = {}): fc.Arbitrary<number> {
  const { min = -2, max = 2 } = options;
  if (!(min <= max)) throw new ChainruleError('arbTensor', `expected min <= max, got ${min} > ${max}`);
  const avoid = avoidFn(options.avoid);
  // Multiples of 1e-6, uniform over the range (fc.double would favour denormals and
  // extremes), shrinking towards 0 and printing readably.
  const lo = Math.ceil(min * VALUE_GRID);
  const hi = Math.floor(max * VALUE_GRID);
  const base =
    lo <= hi ? fc.noBias(fc.integer({ min: lo, max: hi })).map((k) => k / VALUE_GRID) : fc.constant(min);
  return avoid ? base.filter((x) => !avoid(x)) : base;
}

/**
 * Tensors of the given shapes whose elements, across all of them, are pairwise at least
 * `minGap` apart (default 0.01): for `maximum(a, b)` with broadcasting, no element of `a`
 * ties an element of `b`. Values lie on a jittered grid in `[min, max]` and also respect `avoid`.
 */
export function arbDistinctTensors(
  shapes: readonly (readonly number[])[],
  options: TensorOptions = {},
): fc.Arbitrary<Tensor[]> {
  const { min = -2, max = 2, minGap = 0.01, dtype = 'float64' } = options;
  const avoid = avoidFn(options.avoid);
  const sizes = shapes.map(sizeOf);
  const total = sizes.reduce((a, b) => a + b, 0);
  const step = 2 * minGap;
  const k = Math.floor((max - min - minGap) / step); // the last cell ends at or below max
  const grid: number[] = [];
  for (let i = 0; i <= k; i++) {
    const lo = min + i * step;
    if (!avoid || (!avoid(lo) && !avoid(lo + minGap))) grid.push(i);
  }
  if (grid.length < total) {
    throw new ChainruleError(
      'arbDistinctTensors',
      `cannot fit ${total} values ${minGap} apart in [${min}, ${max}]; widen the range or lower minGap`,
    );
  }
  return fc
    .tuple(
      fc.uniqueArray(fc.constantFrom(...grid), { minLength: total, maxLength: total }),
      fc.array(fc.double({ min: 0, max: minGap, noNaN: true }), { minLength: total, maxLength: total }),
    )
    .map(([ks, jitter]) => {
      const vals = ks.map((i, j) => min + i * step + jitter[j]!);
      let off = 0;
      return shapes.map((s, i) => {
        const t = T.tensor(vals.slice(off, off + sizes[i]!), { shape: [...s], dtype });
        off += sizes[i]!;
        return t;
      });
    });
}

/** Values away from clip's bounds `lo` and `hi` (where its gradient jumps). */
export function clipDomain(lo: number, hi: number, margin = KINK_MARGIN): TensorOptions {
  return { min: -2, max: 2, avoid: avoidNear([lo, hi], margin) };
}

/**
 * Value domains per op where finite differences are valid: positive values for log, sqrt,
 * reciprocal and pow's base; away from 0 for relu, abs and sign; distinct values for the
 * max/min family; for clip use {@link clipDomain}. Ops not listed are smooth on `[−2, 2]`.
 */
export const OP_DOMAINS: Readonly<Record<string, TensorOptions>> = {
  log: { min: 0.2, max: 3 },
  sqrt: { min: 0.2, max: 3 },
  reciprocal: { min: 0.3, max: 3 },
  pow: { min: 0.3, max: 2 },
  /** A denominator: either sign, away from 0. */
  div: { min: -2, max: 2, avoid: avoidNear([0], 0.3) },
  relu: { avoid: 'kinks' },
  abs: { avoid: 'kinks' },
  sign: { avoid: 'kinks' },
  max: { distinct: true },
  min: { distinct: true },
  maximum: { distinct: true },
  minimum: { distinct: true },
};
