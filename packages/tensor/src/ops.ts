/**
 * Ops. Each op validates its input, computes the output shape and dtype, then runs the
 * kernel of the active backend (see `run.ts`). Errors name the op, the shapes or values
 * given and what was expected.
 * @module
 */

import { getBackend } from './backend.ts';
import { allocTyped, type DType, isDType } from './dtype.ts';
import { ChainruleError, fmtShape } from './errors.ts';
import {
  ACTIVATIONS,
  type Activation,
  type AdamAttrs,
  type BinaryOp,
  type ComparisonOp,
  type UnaryOp,
} from './kernels.ts';
import { runKernel } from './run.ts';
import {
  assertValidShape,
  broadcastShapes,
  normalizeAxes,
  normalizeAxis,
  type Shape,
  shapesEqual,
  sizeOf,
} from './shape.ts';
import { inferReshape, type NestedArray, Tensor } from './tensor.ts';

/** A tensor, or a plain number that is treated as a scalar of the other operand's dtype. */
export type TensorLike = Tensor | number;

function checkTensor(op: string, x: unknown, name = 'x'): Tensor {
  if (!(x instanceof Tensor)) {
    throw new ChainruleError(op, `${name} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  return x;
}

function scalarTensor(value: number, dtype: DType): Tensor {
  const data = allocTyped(dtype, 1);
  data[0] = value;
  return Tensor.fromTyped(data, []);
}

// ---------------------------------------------------------------- unary

function unary(op: UnaryOp, x: Tensor): Tensor {
  checkTensor(op, x);
  return runKernel(op, [x], [{ shape: x.shape, dtype: x.dtype }])[0]!;
}

/** Elementwise −x. */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/** Elementwise eˣ. */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** Elementwise natural logarithm (−Infinity at 0, NaN below 0, as in IEEE arithmetic). */
export const log = (x: Tensor): Tensor => unary('log', x);
/** Elementwise square root (NaN below 0). */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** Elementwise x². */
export const square = (x: Tensor): Tensor => unary('square', x);
/** Elementwise |x|. */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** Elementwise sign: −1, 0 or 1; 0 at ±0 and at NaN, as PyTorch's and tfjs's `sign` give. */
export const sign = (x: Tensor): Tensor => unary('sign', x);
/** Elementwise 1/x. */
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
/** Elementwise tanh. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/** Elementwise logistic sigmoid 1/(1+e⁻ˣ), computed without overflow. */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** Elementwise max(x, 0). */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** Elementwise sine (radians). */
export const sin = (x: Tensor): Tensor => unary('sin', x);
/** Elementwise cosine (radians). */
export const cos = (x: Tensor): Tensor => unary('cos', x);
/** Elementwise ln(1 + x), accurate for small |x| (where `log(1 + x)` loses the digits of x). */
export const log1p = (x: Tensor): Tensor => unary('log1p', x);
/** Elementwise eˣ − 1, accurate for small |x| (where `exp(x) − 1` cancels). */
export const expm1 = (x: Tensor): Tensor => unary('expm1', x);
/** Elementwise Gauss error function erf(x) = 2/√π ∫₀ˣ e^(−t²) dt. */
export const erf = (x: Tensor): Tensor => unary('erf', x);

/**
 * Elementwise clamp: min(max(x, min), max). When min > max every element becomes `max`, as in
 * PyTorch's `clamp` and NumPy's `clip` (not an error). NaN bounds are an error.
 */
export function clip(x: Tensor, min: number, max: number): Tensor {
  if (Number.isNaN(min) || Number.isNaN(max)) {
    throw new ChainruleError('clip', `expected min and max not NaN, got min=${min}, max=${max}`);
  }
  checkTensor('clip', x);
  return runKernel('clip', [x], [{ shape: x.shape, dtype: x.dtype }], { min, max })[0]!;
}

// ---------------------------------------------------------------- binary

function binary(op: BinaryOp | ComparisonOp, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new ChainruleError(op, 'at least one operand must be a Tensor, got two numbers');
  }
  const ta = typeof a === 'number' ? scalarTensor(a, (b as Tensor).dtype) : checkTensor(op, a, 'a');
  const tb = typeof b === 'number' ? scalarTensor(b, ta.dtype) : checkTensor(op, b, 'b');
  if (ta.dtype !== tb.dtype) {
    throw new ChainruleError(op, `dtype mismatch: a is ${ta.dtype}, b is ${tb.dtype}; cast one with cast()`);
  }
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const out = runKernel(op, [ta, tb], [{ shape, dtype: ta.dtype }])[0]!;
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return out;
}

/** a + b, with NumPy broadcasting. */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
/** a − b, with broadcasting. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
/** a · b elementwise, with broadcasting. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
/** a / b elementwise, with broadcasting. */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
/** aᵇ elementwise, with broadcasting. */
export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('pow', a, b);
/** The larger of a and b elementwise (NaN if either is NaN). */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** The smaller of a and b elementwise (NaN if either is NaN). */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
/** The angle of the point (x, y): atan2(y, x) elementwise, in (−π, π], with C's signed-zero cases. */
export const atan2 = (y: TensorLike, x: TensorLike): Tensor => binary('atan2', y, x);
/** 1 where a == b, else 0. */
export const equal = (a: TensorLike, b: TensorLike): Tensor => binary('equal', a, b);
/** 1 where a != b, else 0. */
export const notEqual = (a: TensorLike, b: TensorLike): Tensor => binary('notEqual', a, b);
/** 1 where a < b, else 0. */
export const less = (a: TensorLike, b: TensorLike): Tensor => binary('less', a, b);
/** 1 where a <= b, else 0. */
export const lessEqual = (a: TensorLike, b: TensorLike): Tensor => binary('lessEqual', a, b);
/** 1 where a > b, else 0. */
export const greater = (a: TensorLike, b: TensorLike): Tensor => binary('greater', a, b);
/** 1 where a >= b, else 0. */
export const greaterEqual = (a: TensorLike, b: TensorLike): Tensor => binary('greaterEqual', a, b);

/** Pick `a` where `cond` is non-zero, else `b`; all three broadcast together. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  checkTensor('where', cond, 'cond');
  const dtype = a instanceof Tensor ? a.dtype : b instanceof Tensor ? b.dtype : cond.dtype;
  const ta = typeof a === 'number' ? scalarTensor(a, dtype) : checkTensor('where', a, 'a');
  const tb = typeof b === 'number' ? scalarTensor(b, dtype) : checkTensor('where', b, 'b');
  if (ta.dtype !== tb.dtype || cond.dtype !== ta.dtype) {
    throw new ChainruleError(
      'where',
      `dtype mismatch: cond ${cond.dtype}, a ${ta.dtype}, b ${tb.dtype}; expected one dtype`,
    );
  }
  const shape = broadcastShapes('where', cond.shape, ta.shape, tb.shape);
  const out = runKernel('where', [cond, ta, tb], [{ shape, dtype: ta.dtype }])[0]!;
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return out;
}

// ---------------------------------------------------------------- reductions

/** Axes to reduce: one axis, several, or all when omitted. */
export type Axes = number | readonly number[] | undefined;

function reduce(op: 'sum' | 'max' | 'min', x: Tensor, axes: Axes, keepDims: boolean): Tensor {
  checkTensor(op, x);
  const ax = normalizeAxes(op, axes, x.rank);
  if (op !== 'sum' && ax.some((a) => x.shape[a] === 0)) {
    throw new ChainruleError(op, `cannot reduce over an empty dimension of shape ${fmtShape(x.shape)}`);
  }
  const keepShape = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const out = runKernel(op, [x], [{ shape: keepShape, dtype: x.dtype }], { axes: ax })[0]!;
  if (keepDims) return out;
  const r = out.reshape(x.shape.filter((_, i) => !ax.includes(i)));
  out.dispose();
  return r;
}

/**
 * Sum over `axes` (default: all).
 *
 * Accuracy of a float32 sum S of n terms, u = 2^-24 (`sum-accuracy.test.ts` checks each at
 * n = 2^22 to 2^24):
 * - `js` (the reference) accumulates in float64: |Δ| ≤ u·|S| + n·2^-53·Σ|x|, i.e. within
 *   about one rounding of the exact sum;
 * - `wasm` adds float32 blocks of at most 1024 terms (64 rows along a leading axis) in
 *   float64: |Δ| ≤ u·|S| + 68·u·Σ|x|, whatever n;
 * - `gpujs` (r ≤ 65535 terms per output; longer sums run on `js`) adds ⌈√r⌉-term float32
 *   blocks in float32: |Δ| ≤ u·|S| + (2√r + 1)·u·Σ|x| ≤ u·|S| + 513·u·Σ|x|.
 *
 * A single float32 running sum would err by up to n·u·Σ|x|: it stops growing at 2^24.
 */
export const sum = (x: Tensor, axes?: Axes, keepDims = false): Tensor => reduce('sum', x, axes, keepDims);
/** Maximum over `axes` (default: all). NaN propagates. */
export const max = (x: Tensor, axes?: Axes, keepDims = false): Tensor => reduce('max', x, axes, keepDims);
/** Minimum over `axes` (default: all). NaN propagates. */
export const min = (x: Tensor, axes?: Axes, keepDims = false): Tensor => reduce('min', x, axes, keepDims);

/** The number of elements reduced over `axes`. */
export function reducedCount(op: string, shape: Shape, axes: Axes): number {
  return normalizeAxes(op, axes, shape.length).reduce((n, a) => n * shape[a]!, 1);
}

/**
 * Mean over `axes` (default: all). A composite: sum / count, so {@link sum}'s accuracy (plus
 * one rounding). Over an empty axis the count is 0 and the mean is NaN (0/0), as in PyTorch
 * and NumPy.
 */
export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  checkTensor('mean', x);
  const n = reducedCount('mean', x.shape, axes);
  const s = sum(x, axes, keepDims);
  const out = div(s, n);
  s.dispose();
  return out;
}

/**
 * The divisor of {@link variance}: n − correction, floored at 0 as PyTorch does, so too few
 * degrees of freedom give NaN (0/0) or Infinity rather than an error.
 */
export function varianceDivisor(n: number, correction: number): number {
  return Math.max(0, n - correction);
}

/**
 * Variance over `axes` (default: all): Σ(x − mean)² / max(0, n − correction).
 * `correction` 0 (default) is the biased (population) variance; 1 is the unbiased one. With
 * no degrees of freedom left (n ≤ correction) the result is NaN, as in PyTorch.
 */
export function variance(x: Tensor, axes?: Axes, keepDims = false, correction = 0): Tensor {
  checkTensor('variance', x);
  if (!Number.isFinite(correction) || correction < 0) {
    throw new ChainruleError('variance', `correction must be a finite number >= 0, got ${correction}`);
  }
  const n = reducedCount('variance', x.shape, axes);
  const m = mean(x, axes, true);
  const d = sub(x, m);
  const d2 = square(d);
  const s = sum(d2, axes, keepDims);
  const out = div(s, varianceDivisor(n, correction));
  for (const t of [m, d, d2, s]) t.dispose();
  return out;
}

// ---------------------------------------------------------------- matmul

/** Options for `matmul`. */
export interface MatmulOptions {
  /** Use aᵀ (the last two dimensions swapped). */
  transposeA?: boolean;
  /** Use bᵀ (the last two dimensions swapped). */
  transposeB?: boolean;
}

/**
 * How NumPy's `matmul` reads 1-D operands: a vector `a` is a row `[1, k]` and a vector `b` a
 * column `[k, 1]`, and the added dimension is dropped from the result. Transpose flags have no
 * meaning for a vector and are an error there.
 */
export function matmulVectors(
  aShape: Shape,
  bShape: Shape,
  options: MatmulOptions = {},
): { a: number[]; b: number[]; out: (shape: number[]) => number[] } {
  if (aShape.length === 0 || bShape.length === 0) {
    throw new ChainruleError(
      'matmul',
      `expected tensors of rank >= 1, got a ${fmtShape(aShape)} and b ${fmtShape(bShape)}; use mul for a scalar`,
    );
  }
  const aVec = aShape.length === 1;
  const bVec = bShape.length === 1;
  if ((aVec && options.transposeA) || (bVec && options.transposeB)) {
    throw new ChainruleError(
      'matmul',
      `a transpose flag was set for a 1-D operand (a ${fmtShape(aShape)}, b ${fmtShape(bShape)}); a vector has no transpose`,
    );
  }
  return {
    a: aVec ? [1, aShape[0]!] : [...aShape],
    b: bVec ? [bShape[0]!, 1] : [...bShape],
    out: (shape) =>
      shape.filter((_, i) => !((aVec && i === shape.length - 2) || (bVec && i === shape.length - 1))),
  };
}

/** The output shape of matmul (1-D operands by NumPy's rules), or a clear error. */
export function matmulShape(aShape: Shape, bShape: Shape, options: MatmulOptions = {}): number[] {
  const v = matmulVectors(aShape, bShape, options);
  return v.out(matmulShape2(v.a, v.b, options));
}

function matmulShape2(aShape: Shape, bShape: Shape, options: MatmulOptions): number[] {
  const { transposeA = false, transposeB = false } = options;
  const flags = `(transposeA=${transposeA}, transposeB=${transposeB})`;
  const ra = aShape.length;
  const rb = bShape.length;
  const m = transposeA ? aShape[ra - 1]! : aShape[ra - 2]!;
  const ka = transposeA ? aShape[ra - 2]! : aShape[ra - 1]!;
  const kb = transposeB ? bShape[rb - 1]! : bShape[rb - 2]!;
  const n = transposeB ? bShape[rb - 2]! : bShape[rb - 1]!;
  if (ka !== kb) {
    throw new ChainruleError(
      'matmul',
      `inner dimensions differ: a ${fmtShape(aShape)} gives k=${ka}, b ${fmtShape(bShape)} gives k=${kb} ${flags}; expected equal`,
    );
  }
  const batch = broadcastShapes('matmul', aShape.slice(0, -2), bShape.slice(0, -2));
  return [...batch, m, n];
}

/**
 * Matrix product a·b over the last two dimensions; leading (batch) dimensions broadcast. A 1-D
 * operand is a vector, as in NumPy's `matmul`: `[k]·[k]` is a scalar, `[k]·[..., k, n]` is
 * `[..., n]` and `[..., m, k]·[k]` is `[..., m]`.
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  checkTensor('matmul', a, 'a');
  checkTensor('matmul', b, 'b');
  if (a.dtype !== b.dtype)
    throw new ChainruleError('matmul', `dtype mismatch: a is ${a.dtype}, b is ${b.dtype}`);
  const v = matmulVectors(a.shape, b.shape, options);
  const shape2 = matmulShape2(v.a, v.b, options);
  const attrs = { transposeA: options.transposeA ?? false, transposeB: options.transposeB ?? false };
  const a2 = a.rank === 1 ? reshape(a, v.a) : a;
  const b2 = b.rank === 1 ? reshape(b, v.b) : b;
  const out = runKernel('matmul', [a2, b2], [{ shape: shape2, dtype: a.dtype }], attrs)[0]!;
  if (a2 !== a) a2.dispose();
  if (b2 !== b) b2.dispose();
  if (a.rank > 1 && b.rank > 1) return out;
  const r = reshape(out, v.out(shape2));
  out.dispose();
  return r;
}

/** True when `from` broadcasts to `to` under NumPy's rules without changing `to`. */
export function broadcastsTo(from: Shape, to: Shape): boolean {
  if (from.length > to.length) return false;
  return from.every((d, i) => d === 1 || d === to[to.length - from.length + i]);
}

/** The activations `fusedDense` supports: the same type as {@link Activation}, under its older name. */
export type DenseActivation = Activation;

/**
 * The fused dense forward `act(x @ w + b)`, for x [batch, in], w [in, out] and a bias b of
 * shape [out] or any shape that broadcasts to [batch, out]. Backends may implement the [out]
 * case as one kernel; the result equals the unfused ops.
 */
export function fusedDense(
  x: Tensor,
  w: Tensor,
  b: Tensor | undefined,
  activation: DenseActivation = 'linear',
): Tensor {
  checkTensor('fusedDense', x);
  checkTensor('fusedDense', w, 'w');
  if (!ACTIVATIONS.includes(activation)) {
    throw new ChainruleError(
      'fusedDense',
      `unknown activation "${activation}"; expected ${ACTIVATIONS.slice(0, -1).join(', ')} or ${ACTIVATIONS.at(-1)}`,
    );
  }
  if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0]) {
    throw new ChainruleError(
      'fusedDense',
      `expected x [batch, in] and w [in, out], got x ${fmtShape(x.shape)} and w ${fmtShape(w.shape)}`,
    );
  }
  if (x.dtype !== w.dtype || (b && b.dtype !== x.dtype)) {
    throw new ChainruleError('fusedDense', `dtype mismatch: x ${x.dtype}, w ${w.dtype}, b ${b?.dtype}`);
  }
  const shape = [x.shape[0]!, w.shape[1]!];
  if (b && !(b.rank === 1 && b.shape[0] === w.shape[1])) {
    // Any other bias that broadcasts to [batch, out] ([1, out], [batch, 1], a scalar, ...):
    // the unfused ops, since the fused kernels add one bias row.
    if (!broadcastsTo(b.shape, shape)) {
      throw new ChainruleError(
        'fusedDense',
        `bias ${fmtShape(b.shape)} does not broadcast to the output ${fmtShape(shape)}; expected [${w.shape[1]}] or a shape that broadcasts to it`,
      );
    }
    const z = runKernel('fusedDense', [x, w], [{ shape, dtype: x.dtype }], { activation: 'linear' })[0]!;
    const zb = add(z, b);
    z.dispose();
    if (activation === 'linear') return zb;
    const y = unary(activation, zb);
    zb.dispose();
    return y;
  }
  const inputs = b ? [x, w, b] : [x, w];
  return runKernel('fusedDense', inputs, [{ shape, dtype: x.dtype }], { activation })[0]!;
}

// ---------------------------------------------------------------- shape ops

/** A tensor with a new shape and the same elements (one dimension may be −1). Shares storage. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  checkTensor('reshape', x);
  return new Tensor(inferReshape('reshape', x.shape, shape), x.dtype, x.storage);
}

/** Insert a dimension of size 1 at `axis`. */
export function expandDims(x: Tensor, axis: number): Tensor {
  checkTensor('expandDims', x);
  const a = normalizeAxis('expandDims', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Remove dimensions of size 1 (all, or those in `axes`, which must be 1). */
export function squeeze(x: Tensor, axes?: Axes): Tensor {
  checkTensor('squeeze', x);
  const ax =
    axes === undefined
      ? x.shape.flatMap((d: number, i: number) => (d === 1 ? [i] : []))
      : normalizeAxes('squeeze', axes, x.rank);
  for (const a of ax) {
    if (x.shape[a] !== 1)
      throw new ChainruleError(
        'squeeze',
        `axis ${a} of shape ${fmtShape(x.shape)} has size ${x.shape[a]}, expected 1`,
      );
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !ax.includes(i)),
  );
}

/** Permute dimensions: output dimension i is input dimension perm[i]. Default: reverse. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  checkTensor('transpose', x);
  const p = perm ? [...perm] : x.shape.map((_, i) => x.rank - 1 - i);
  const sorted = [...p].sort((a, b) => a - b);
  if (p.length !== x.rank || !sorted.every((v, i) => v === i)) {
    throw new ChainruleError(
      'transpose',
      `perm ${JSON.stringify(perm)} is not a permutation of 0..${x.rank - 1} for shape ${fmtShape(x.shape)}`,
    );
  }
  const shape = p.map((i) => x.shape[i]!);
  return runKernel('transpose', [x], [{ shape, dtype: x.dtype }], { perm: p })[0]!;
}

/** Alias of {@link transpose} with an explicit permutation. */
export const permute = (x: Tensor, perm: readonly number[]): Tensor => transpose(x, perm);

/** Broadcast `x` to `shape` under NumPy's rules (a materialised copy). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  checkTensor('broadcastTo', x);
  assertValidShape('broadcastTo', shape);
  const b = broadcastShapes('broadcastTo', x.shape, shape);
  if (!shapesEqual(b, shape)) {
    throw new ChainruleError('broadcastTo', `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  return runKernel('broadcastTo', [x], [{ shape, dtype: x.dtype }])[0]!;
}

/**
 * The block starting at `begin` with extent `size` (−1 means "to the end") in each dimension.
 * Missing trailing entries take the whole dimension.
 */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  checkTensor('slice', x);
  if (begin.length > x.rank || (size && size.length !== begin.length)) {
    throw new ChainruleError(
      'slice',
      `begin ${JSON.stringify(begin)} and size ${JSON.stringify(size)} must have equal length <= rank ${x.rank} of ${fmtShape(x.shape)}`,
    );
  }
  const b = x.shape.map((_, i) => begin[i] ?? 0);
  const s = x.shape.map((d, i) => {
    const want = size?.[i] ?? -1;
    return want === -1 ? d - b[i]! : want;
  });
  for (let i = 0; i < x.rank; i++) {
    const ok =
      Number.isInteger(b[i]) &&
      Number.isInteger(s[i]) &&
      b[i]! >= 0 &&
      s[i]! >= 0 &&
      b[i]! + s[i]! <= x.shape[i]!;
    if (!ok) {
      throw new ChainruleError(
        'slice',
        `out of range in dimension ${i}: begin ${b[i]} size ${s[i]} for shape ${fmtShape(x.shape)}; expected 0 <= begin and begin + size <= ${x.shape[i]}`,
      );
    }
  }
  return runKernel('slice', [x], [{ shape: s, dtype: x.dtype }], { begin: b })[0]!;
}

/**
 * Check `paddings` for `pad` and split it into a crop (the negative widths, as a slice's
 * begin and size) and the non-negative widths the kernel adds, as PyTorch's `F.pad` reads
 * negative widths.
 */
export function splitPaddings(
  op: string,
  shape: Shape,
  paddings: readonly (readonly [number, number])[],
): { begin: number[]; size: number[]; widths: [number, number][]; cropped: boolean } {
  if (
    !Array.isArray(paddings as unknown) ||
    paddings.length !== shape.length ||
    !paddings.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isInteger(v)))
  ) {
    throw new ChainruleError(
      op,
      `expected ${shape.length} pairs of integers [before, after] for shape ${fmtShape(shape)}, got ${JSON.stringify(paddings)}`,
    );
  }
  const begin: number[] = [];
  const size: number[] = [];
  const widths: [number, number][] = [];
  let cropped = false;
  shape.forEach((d, i) => {
    const [before, after] = paddings[i] as readonly [number, number];
    const b = Math.max(0, -before);
    const s = d - b - Math.max(0, -after);
    if (s < 0) {
      throw new ChainruleError(
        op,
        `paddings[${i}] = [${before}, ${after}] crops ${b + Math.max(0, -after)} elements from dimension ${i} of size ${d} in ${fmtShape(shape)}; expected at most ${d}`,
      );
    }
    if (b > 0 || s < d) cropped = true;
    begin.push(b);
    size.push(s);
    widths.push([Math.max(0, before), Math.max(0, after)]);
  });
  return { begin, size, widths, cropped };
}

/**
 * Pad with the constant `value` (default 0): `paddings[i] = [before, after]` for each
 * dimension. A negative width crops that many elements from that side, as PyTorch's `F.pad`.
 */
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  checkTensor('pad', x);
  if (typeof value !== 'number') {
    throw new ChainruleError('pad', `value must be a number, got ${typeof value}`);
  }
  const { begin, size, widths, cropped } = splitPaddings('pad', x.shape, paddings);
  const src = cropped ? slice(x, begin, size) : x;
  const shape = src.shape.map((d, i) => d + widths[i]![0] + widths[i]![1]);
  const out = runKernel('pad', [src], [{ shape, dtype: x.dtype }], { paddings: widths, value })[0]!;
  if (src !== x) src.dispose();
  return out;
}

/** Join tensors along an existing axis; the other dimensions must agree. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) {
    throw new ChainruleError('concat', 'expected a non-empty array of tensors');
  }
  for (let i = 0; i < tensors.length; i++) checkTensor('concat', tensors[i], `tensors[${i}]`);
  const first = tensors[0]!;
  const ax = normalizeAxis('concat', axis, first.rank);
  let total = 0;
  for (const t of tensors) {
    const same = t.rank === first.rank && t.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!same) {
      throw new ChainruleError(
        'concat',
        `shapes ${tensors.map((u) => fmtShape(u.shape)).join(', ')} differ outside axis ${ax}; expected equal other dimensions`,
      );
    }
    if (t.dtype !== first.dtype) {
      throw new ChainruleError('concat', `dtype mismatch: ${tensors.map((u) => u.dtype).join(', ')}`);
    }
    total += t.shape[ax]!;
  }
  const shape = [...first.shape];
  shape[ax] = total;
  return runKernel('concat', tensors, [{ shape, dtype: first.dtype }], { axis: ax })[0]!;
}

/** Join tensors of equal shape along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) {
    throw new ChainruleError('stack', 'expected a non-empty array of tensors');
  }
  const first = checkTensor('stack', tensors[0], 'tensors[0]');
  for (const t of tensors) {
    checkTensor('stack', t, 'tensors[i]');
    if (!shapesEqual(t.shape, first.shape)) {
      throw new ChainruleError(
        'stack',
        `shapes ${tensors.map((u) => fmtShape(u.shape)).join(', ')} differ; expected all equal`,
      );
    }
  }
  const ax = normalizeAxis('stack', axis, first.rank + 1);
  const expanded = tensors.map((t) => expandDims(t, ax));
  const out = concat(expanded, ax);
  for (const e of expanded) e.dispose();
  return out;
}

/**
 * Indices for {@link gather} and {@link scatterAdd}: a flat list (rank 1), nested arrays of
 * any rank, or a tensor holding integer values (its shape is the index shape).
 */
export type Indices = ArrayLike<number> | NestedArray | Tensor;

/** Read `indices` into a flat list and its shape (range is checked by {@link checkIndices}). */
export function readIndices(op: string, indices: Indices): { data: number[]; shape: number[] } {
  if (indices instanceof Tensor) return { data: Array.from(indices.dataSync()), shape: [...indices.shape] };
  if (typeof indices === 'number') return { data: [indices], shape: [] };
  if (typeof indices !== 'object' || indices === null || typeof indices.length !== 'number') {
    throw new ChainruleError(
      op,
      `indices must be an array or a Tensor, got ${indices === null ? 'null' : typeof indices}`,
    );
  }
  const shape: number[] = [];
  let level: unknown = indices;
  while (
    typeof level === 'object' &&
    level !== null &&
    typeof (level as ArrayLike<unknown>).length === 'number'
  ) {
    const l = level as ArrayLike<unknown>;
    shape.push(l.length);
    if (l.length === 0) break;
    level = l[0];
  }
  const data: number[] = [];
  const walk = (v: unknown, dim: number, path: string): void => {
    if (dim === shape.length) {
      data.push(v as number);
      return;
    }
    const l = v as ArrayLike<unknown>;
    if (typeof l !== 'object' || l === null || l.length !== shape[dim]) {
      throw new ChainruleError(
        op,
        `indices are ragged at ${path}: expected ${shape[dim]} entries like indices${'[0]'.repeat(dim)}`,
      );
    }
    for (let i = 0; i < l.length; i++) walk(l[i], dim + 1, `${path}[${i}]`);
  };
  walk(indices, 0, 'indices');
  return { data, shape };
}

function checkIndices(op: string, indices: readonly number[], rows: number): Int32Array {
  const idx = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= rows) {
      throw new ChainruleError(
        op,
        `index ${v} at position ${i} is out of range; expected an integer in [0, ${rows})`,
      );
    }
    idx[i] = v;
  }
  return idx;
}

/**
 * Slices of `x` along `axis` at `indices`, as `tf.gather(x, indices, axis)`: the output's
 * shape is `x.shape[:axis] + indices.shape + x.shape[axis+1:]`, and
 * `out[..., i₁…iₖ, ...] = x[..., indices[i₁…iₖ], ...]`. The kernel sees flat indices; the index
 * rank is a reshape.
 */
export function gather(x: Tensor, indices: Indices, axis = 0): Tensor {
  checkTensor('gather', x);
  if (x.rank === 0) throw new ChainruleError('gather', 'cannot gather from a scalar; expected rank >= 1');
  const ax = normalizeAxis('gather', axis, x.rank);
  const { data, shape: idxShape } = readIndices('gather', indices);
  const idx = checkIndices('gather', data, x.shape[ax]!);
  const flat = [...x.shape.slice(0, ax), idx.length, ...x.shape.slice(ax + 1)];
  const out = runKernel('gather', [x], [{ shape: flat, dtype: x.dtype }], { indices: idx, axis: ax })[0]!;
  const shape = [...x.shape.slice(0, ax), ...idxShape, ...x.shape.slice(ax + 1)];
  if (shapesEqual(shape, flat)) return out;
  const r = reshape(out, shape);
  out.dispose();
  return r;
}

/**
 * The adjoint of {@link gather}: zeros of shape `updates.shape[:axis] + [size] +
 * updates.shape[axis+k:]` (k the index rank), into which each slice of `updates` is added at
 * its index along `axis` (repeated indices add up), as `torch.index_add` / `tf.scatter_nd`.
 */
export function scatterAdd(updates: Tensor, indices: Indices, size: number, axis = 0): Tensor {
  checkTensor('scatterAdd', updates, 'updates');
  const { data, shape: idxShape } = readIndices('scatterAdd', indices);
  if (!Number.isInteger(size) || size < 0)
    throw new ChainruleError('scatterAdd', `size must be a non-negative integer, got ${size}`);
  const k = idxShape.length;
  const outRank = updates.rank - k + 1;
  const ax = outRank >= 1 ? normalizeAxis('scatterAdd', axis, outRank) : 0;
  if (outRank < 1 || !shapesEqual(updates.shape.slice(ax, ax + k), idxShape)) {
    throw new ChainruleError(
      'scatterAdd',
      `updates ${fmtShape(updates.shape)} must hold the indices' shape ${fmtShape(idxShape)} at axis ${axis}`,
    );
  }
  const idx = checkIndices('scatterAdd', data, size);
  const before = updates.shape.slice(0, ax);
  const after = updates.shape.slice(ax + k);
  const flat = [...before, idx.length, ...after];
  const u = shapesEqual(flat, updates.shape) ? updates : reshape(updates, flat);
  const out = runKernel('scatterAdd', [u], [{ shape: [...before, size, ...after], dtype: updates.dtype }], {
    indices: idx,
    axis: ax,
  })[0]!;
  if (u !== updates) u.dispose();
  return out;
}

/** Convert to another dtype (a copy, even when the dtype is the same). */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor('cast', x);
  if (!isDType(dtype))
    throw new ChainruleError(
      'cast',
      `unknown dtype ${JSON.stringify(dtype)}; expected 'float32' or 'float64'`,
    );
  return runKernel('cast', [x], [{ shape: x.shape, dtype }])[0]!;
}

/** A copy with its own storage. */
export function clone(x: Tensor): Tensor {
  return cast(x, x.dtype);
}

/** True when every element is finite (no NaN or ±Infinity). Reads the data. */
export function allFinite(x: Tensor): boolean {
  const d = x.dataSync();
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return false;
  return true;
}

/** The number of elements of a shape. Re-exported for convenience. */
export { sizeOf };

/** Hyperparameters of {@link adamUpdate}. */
export interface AdamUpdateOptions {
  /**
   * Learning rate: a number (a constant of a capture), or a 0-d tensor that the kernel reads
   * when it runs, so a replayed update follows a learning-rate schedule.
   */
  lr: number | Tensor;
  /** β₁, the first-moment decay. */
  beta1: number;
  /** β₂, the second-moment decay. */
  beta2: number;
  /** ε added to √v̂. */
  eps: number;
  /** Weight decay: L2 added to the gradient, or decoupled (AdamW) when `decoupled`. */
  weightDecay: number;
  /** Decoupled weight decay (AdamW) instead of L2. */
  decoupled: boolean;
  /** Use the maximum of past second moments (AMSGrad); then `vmax` is required. */
  amsgrad: boolean;
  /**
   * The 1-based step number t, for bias correction: a number, or a 0-d tensor read when the
   * kernel runs (an optimiser's step count, advanced with {@link increment}).
   */
  step: number | Tensor;
}

/**
 * The float dtype that holds per-call scalars (a step count, a learning rate) exactly on the
 * active backend: float64 where it is stored, else float32 (gpu.js).
 */
export function scalarDType(): DType {
  return getBackend().supportsDType('float64') ? 'float64' : 'float32';
}

/** A 0-d tensor argument of an op that is read as a number by its kernel. */
function checkScalarInput(op: string, name: string, x: number | Tensor): Tensor {
  if (typeof x === 'number') return scalarTensor(x, scalarDType());
  checkTensor(op, x, name);
  if (x.size !== 1)
    throw new ChainruleError(
      op,
      `${name} must be a number or a one-element tensor, got ${fmtShape(x.shape)}`,
    );
  return x;
}

/**
 * One bias-corrected Adam step for one parameter (Kingma & Ba 2015, Algorithm 1, with
 * PyTorch's L2 / AdamW weight decay). A fused kernel: returns the new parameter and the
 * new moment estimates `[p, m, v]` (and `vmax` with AMSGrad).
 *
 * `lr` and `step` are kernel *inputs* (0-d tensors; numbers become constants), not
 * attributes: a captured update (`T.replayable`) reads them anew on every replay, as
 * PyTorch's `capturable` Adam keeps `step` and `lr` on the device for CUDA Graphs.
 */
export function adamUpdate(
  p: Tensor,
  g: Tensor,
  m: Tensor,
  v: Tensor,
  vmax: Tensor | undefined,
  options: AdamUpdateOptions,
): Tensor[] {
  for (const [name, t] of [['grad', g], ['m', m], ['v', v], ...(vmax ? [['vmax', vmax]] : [])] as [
    string,
    Tensor,
  ][]) {
    checkTensor('adamUpdate', t, name);
    if (!shapesEqual(t.shape, p.shape) || t.dtype !== p.dtype) {
      throw new ChainruleError(
        'adamUpdate',
        `${name} is ${t.dtype} ${fmtShape(t.shape)}; expected the parameter's ${p.dtype} ${fmtShape(p.shape)}`,
      );
    }
  }
  if (options.amsgrad && !vmax) throw new ChainruleError('adamUpdate', 'amsgrad needs the vmax state');
  if (typeof options.step === 'number' && (!Number.isInteger(options.step) || options.step < 1)) {
    throw new ChainruleError('adamUpdate', `step must be an integer >= 1, got ${options.step}`);
  }
  if (typeof options.lr === 'number' && !Number.isFinite(options.lr)) {
    throw new ChainruleError('adamUpdate', `lr must be a finite number, got ${options.lr}`);
  }
  const step = checkScalarInput('adamUpdate', 'step', options.step);
  const lr = checkScalarInput('adamUpdate', 'lr', options.lr);
  const spec = { shape: p.shape, dtype: p.dtype };
  const state = options.amsgrad ? [p, g, m, v, vmax!] : [p, g, m, v];
  const outs = options.amsgrad ? [spec, spec, spec, spec] : [spec, spec, spec];
  const attrs: AdamAttrs = {
    beta1: options.beta1,
    beta2: options.beta2,
    eps: options.eps,
    weightDecay: options.weightDecay,
    decoupled: options.decoupled,
    amsgrad: options.amsgrad,
  };
  // The attributes are fixed hyperparameters; what changes from step to step is an input.
  const out = runKernel('adamUpdate', [...state, step, lr], outs, attrs);
  if (step !== options.step) step.dispose();
  if (lr !== options.lr) lr.dispose();
  return out;
}

/**
 * x + 1, exactly, for counters kept in tensors (an optimiser's step count, so that a replayed
 * update advances it). Any dtype, on every backend; float64 counts exactly up to 2⁵³.
 */
export function increment(x: Tensor): Tensor {
  checkTensor('increment', x);
  return runKernel('increment', [x], [{ shape: x.shape, dtype: x.dtype }])[0]!;
}

/**
 * Linear interpolation (1 − t)·a + t·b for tensors of one shape and dtype, in one pass
 * (exact at t = 0 and t = 1). Target
 * networks use it for Polyak averaging: lerp(target, online, τ).
 */
export function lerp(a: Tensor, b: Tensor, t: number): Tensor {
  checkTensor('lerp', a, 'a');
  checkTensor('lerp', b, 'b');
  if (!shapesEqual(a.shape, b.shape) || a.dtype !== b.dtype) {
    throw new ChainruleError(
      'lerp',
      `a is ${a.dtype} ${fmtShape(a.shape)} and b is ${b.dtype} ${fmtShape(b.shape)}; expected the same shape and dtype`,
    );
  }
  if (!Number.isFinite(t)) throw new ChainruleError('lerp', `t must be finite, got ${t}`);
  return runKernel('lerp', [a, b], [{ shape: a.shape, dtype: a.dtype }], { t })[0]!;
}

/** The results of {@link batchNormTrain}. */
export interface BatchNormResult {
  /** γ·(x − mean)/√(var + ε) + β, `[N, C]`. */
  y: Tensor;
  /** The per-feature batch mean, `[C]`. */
  mean: Tensor;
  /** The per-feature *biased* batch variance (divided by N), `[C]`. */
  var: Tensor;
}

/** The inputs of the batch-norm kernels: x `[N, C]` (N ≥ 1), and `[C]` vectors of x's dtype. */
function checkBatchNorm(op: string, x: Tensor, vectors: [string, Tensor][], eps: number): void {
  checkTensor(op, x, 'x');
  if (x.rank !== 2 || x.shape[0]! < 1) {
    throw new ChainruleError(op, `x must be [batch, features] with batch >= 1, got ${fmtShape(x.shape)}`);
  }
  const c = x.shape[1]!;
  for (const [name, v] of vectors) {
    checkTensor(op, v, name);
    if (v.rank !== 1 || v.shape[0] !== c || v.dtype !== x.dtype) {
      throw new ChainruleError(
        op,
        `${name} is ${v.dtype} ${fmtShape(v.shape)}; expected ${x.dtype} [${c}] to match x ${fmtShape(x.shape)}`,
      );
    }
  }
  if (!(eps > 0) || !Number.isFinite(eps))
    throw new ChainruleError(op, `eps must be a finite number > 0, got ${eps}`);
}

/**
 * Training-mode batch normalisation over the rows of x `[N, C]` in one kernel (Ioffe &
 * Szegedy 2015, Alg. 1): the batch mean and biased variance of each feature, then
 * y = γ·(x − mean)/√(var + ε) + β. Returns the statistics too, for running averages.
 */
export function batchNormTrain(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): BatchNormResult {
  checkBatchNorm(
    'batchNormTrain',
    x,
    [
      ['gamma', gamma],
      ['beta', beta],
    ],
    eps,
  );
  const c = x.shape[1]!;
  const [y, mean, v] = runKernel(
    'batchNorm',
    [x, gamma, beta],
    [
      { shape: x.shape, dtype: x.dtype },
      { shape: [c], dtype: x.dtype },
      { shape: [c], dtype: x.dtype },
    ],
    { eps },
  );
  return { y: y!, mean: mean!, var: v! };
}

/** The results of {@link batchNormGrad}. */
export interface BatchNormGrads {
  /** ∂L/∂x, `[N, C]`. */
  dx: Tensor;
  /** ∂L/∂γ = Σₙ g·x̂, `[C]`. */
  dgamma: Tensor;
  /** ∂L/∂β = Σₙ g, `[C]`. */
  dbeta: Tensor;
}

/**
 * The first-order backward of {@link batchNormTrain} in one kernel, given the upstream
 * gradient g `[N, C]`: it recomputes the batch statistics from x (two passes, cheaper than
 * keeping them) and returns dx = γ/(N·σ)·(N·g − Σg − x̂·Σ(g·x̂)), dγ and dβ.
 * Not differentiable: autograd's rule uses it only when the backward is not recorded.
 */
export function batchNormGrad(g: Tensor, x: Tensor, gamma: Tensor, eps: number): BatchNormGrads {
  checkBatchNorm('batchNormGrad', x, [['gamma', gamma]], eps);
  checkTensor('batchNormGrad', g, 'g');
  if (!shapesEqual(g.shape, x.shape) || g.dtype !== x.dtype) {
    throw new ChainruleError(
      'batchNormGrad',
      `g is ${g.dtype} ${fmtShape(g.shape)}; expected ${x.dtype} ${fmtShape(x.shape)} like x`,
    );
  }
  const c = x.shape[1]!;
  const [dx, dgamma, dbeta] = runKernel(
    'batchNormGrad',
    [g, x, gamma],
    [
      { shape: x.shape, dtype: x.dtype },
      { shape: [c], dtype: x.dtype },
      { shape: [c], dtype: x.dtype },
    ],
    { eps },
  );
  return { dx: dx!, dgamma: dgamma!, dbeta: dbeta! };
}
