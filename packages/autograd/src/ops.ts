/**
 * Differentiable ops. Each one computes its value with @chainrule/tensor and, when any
 * input requires a gradient and recording is on, records a {@link Node} so that backward
 * can find the op's rule in the gradient table (`rules.ts`).
 *
 * Composite ops (`mean`, `variance`, `stack`, ...) are built from the primitives, so the
 * gradient table only needs the primitives.
 * @module
 */
import * as T from '@chainrule/tensor';
import { ChainruleError, type DType, type Tensor } from '@chainrule/tensor';
import { isAnomalyMode, isGradEnabled, makeNode, Var } from './var.ts';

export type { Axes, MatmulOptions } from '@chainrule/tensor';

/**
 * The primitives: the op names the built-in ops record, derived from the kernel contract
 * (`OPS` in @chainrule/tensor's kernels.ts, the entries marked primitive). Each has exactly one
 * rule in the gradient table (`rules.ts`), whose type is built from this list, so a primitive
 * without a rule is a compile error. Composite ops (`mean`, `stack`, ...) record primitives;
 * ops made with `defineOp` record their own names and keep their rules in a separate registry.
 */
export const PRIMITIVES: readonly Primitive[] = T.PRIMITIVE_NAMES;
/** One of {@link PRIMITIVES}. */
export type Primitive = T.PrimitiveName;

/** What a primitive's node records beyond its kernel's attributes (what its rule needs). */
interface RecordedExtras {
  sum: { keepDims: boolean };
  max: { keepDims: boolean };
  min: { keepDims: boolean };
  broadcastTo: { shape: number[] };
  slice: { size: number[] };
  concat: { sizes: number[] };
  gather: { size: number };
  scatterAdd: { size: number };
  cast: { dtype: DType };
}

/** The attributes each primitive records, which its rule reads: the kernel's, plus {@link RecordedExtras}. */
export type PrimitiveAttrs = {
  [P in Primitive]: P extends keyof RecordedExtras
    ? (T.OpAttrs[P] extends T.NoAttrs ? unknown : T.OpAttrs[P]) & RecordedExtras[P]
    : T.OpAttrs[P];
};

const primitiveSet: ReadonlySet<string> = new Set(PRIMITIVES);
/** True when `op` is a built-in primitive (its rule is in the gradient table). */
export function isPrimitive(op: string): op is Primitive {
  return primitiveSet.has(op);
}

/** A Var, or a number treated as a constant scalar. */
export type VarLike = Var | number;

function asVar(op: string, x: VarLike, like?: DType): Var {
  if (x instanceof Var) return x;
  if (typeof x === 'number') return new Var(T.scalar(x, like ?? 'float32'), { requiresGrad: false });
  throw new ChainruleError(op, `expected a Var or a number, got ${x === null ? 'null' : typeof x}`);
}

function firstDType(xs: readonly VarLike[]): DType | undefined {
  for (const x of xs) if (x instanceof Var) return x.dtype;
  return undefined;
}

function checkFinite(op: string, inputs: readonly Var[], out: Tensor, stack: string | undefined): void {
  if (T.allFinite(out)) return;
  const badInput = inputs.findIndex((v) => !T.allFinite(v.value));
  const where = stack ? `\nForward call site:\n${stack}` : '';
  if (badInput >= 0) {
    throw new ChainruleError(
      op,
      `anomaly: input ${badInput} already contains NaN or Infinity (it came from outside the recorded graph)${where}`,
    );
  }
  throw new ChainruleError(
    op,
    `anomaly: the forward pass produced NaN or Infinity from finite inputs${where}`,
  );
}

/** {@link record} for a built-in primitive: its attributes are checked against {@link PrimitiveAttrs}. */
function recordPrimitive<P extends Primitive>(
  op: P,
  inputs: Var[],
  attrs: PrimitiveAttrs[P],
  compute: () => Tensor,
): Var {
  return record(op, inputs, attrs as Record<string, unknown>, compute);
}

/**
 * Apply an op: compute the value, and record a node when some input requires a gradient.
 * This function is the whole recorder. Built-in ops go through its typed form for primitives;
 * `defineOp` calls it with its own names.
 */
export function record(
  op: string,
  inputs: Var[],
  attrs: Record<string, unknown>,
  compute: () => Tensor,
): Var {
  const value = compute();
  const recordIt = isGradEnabled() && inputs.some((v) => v.requiresGrad);
  const node = recordIt ? makeNode(op, inputs, attrs) : null;
  if (isAnomalyMode()) checkFinite(op, inputs, value, node?.stack);
  const out = new Var(value, { node, requiresGrad: recordIt });
  if (node) node.output = out;
  return out;
}

/** A constant Var (no gradient) computed from Vars: for masks and comparisons. */
function constant(value: Tensor): Var {
  return new Var(value, { requiresGrad: false });
}

// ---------------------------------------------------------------- unary
// The ops made by un/bin/cmp are constants holding functions; `@function` makes TypeDoc list
// them under Functions, with their signatures, like the ops written as functions.

const un =
  (op: (typeof T.UNARY_OPS)[number]) =>
  (x: Var): Var =>
    recordPrimitive(op, [asVar(op, x)], {}, () => (T[op] as (t: Tensor) => Tensor)(x.value));

/**
 * −x
 * @function
 */
export const neg = un('neg');
/**
 * eˣ
 * @function
 */
export const exp = un('exp');
/**
 * ln x
 * @function
 */
export const log = un('log');
/**
 * √x
 * @function
 */
export const sqrt = un('sqrt');
/**
 * x²
 * @function
 */
export const square = un('square');
/**
 * |x|; its gradient at 0 is 0 (the subgradient sign(0) = 0).
 * @function
 */
export const abs = un('abs');
/**
 * sign(x); its gradient is 0 everywhere.
 * @function
 */
export const sign = un('sign');
/**
 * 1/x
 * @function
 */
export const reciprocal = un('reciprocal');
/**
 * tanh x
 * @function
 */
export const tanh = un('tanh');
/**
 * 1/(1+e⁻ˣ)
 * @function
 */
export const sigmoid = un('sigmoid');
/**
 * max(x, 0); its gradient at 0 is 0.
 * @function
 */
export const relu = un('relu');
/**
 * sin x (radians). A primitive: it needs a kernel (wasm has no sine instruction).
 * @function
 */
export const sin = un('sin');
/**
 * cos x (radians). A primitive, as `sin`.
 * @function
 */
export const cos = un('cos');
/**
 * ln(1 + x). A primitive, not `log(add(x, 1))`: 1 + x rounds away the digits of a small x
 * (log(1 + 1e−10) is off by 8e−8 relative in float64), which softplus and the losses meet.
 * @function
 */
export const log1p = un('log1p');
/**
 * eˣ − 1. A primitive, not `sub(exp(x), 1)`, which cancels for small |x| (as `log1p`); elu uses it.
 * @function
 */
export const expm1 = un('expm1');
/**
 * The error function. A primitive: no composite of the other primitives computes it; gelu uses it.
 * @function
 */
export const erf = un('erf');

/** Clamp to [min, max]; the gradient is 1 inside the closed interval and 0 outside. */
export function clip(x: Var, min: number, max: number): Var {
  return recordPrimitive('clip', [asVar('clip', x)], { min, max }, () => T.clip(x.value, min, max));
}

/**
 * x where x > 0, else slope·x: a composite of `where`. Its gradient at 0 is `slope`, as in
 * PyTorch's `leaky_relu` (a `maximum` would split the tie at 0 and give (1 + slope)/2).
 */
export function leakyRelu(x: Var, slope = 0.01): Var {
  return where(greater(x, 0), x, mul(x, slope));
}

// ---------------------------------------------------------------- binary

function bin(op: (typeof T.BINARY_OPS)[number]) {
  return (a: VarLike, b: VarLike): Var => {
    const dt = firstDType([a, b]);
    const va = asVar(op, a, dt);
    const vb = asVar(op, b, dt);
    return recordPrimitive(op, [va, vb], {}, () => T[op](va.value, vb.value));
  };
}

/**
 * a + b with broadcasting.
 * @function
 */
export const add = bin('add');
/**
 * a − b with broadcasting.
 * @function
 */
export const sub = bin('sub');
/**
 * a·b elementwise with broadcasting.
 * @function
 */
export const mul = bin('mul');
/**
 * a/b elementwise with broadcasting.
 * @function
 */
export const div = bin('div');
/**
 * aᵇ elementwise with broadcasting.
 * @function
 */
export const pow = bin('pow');
/**
 * max(a, b); at a tie each side gets half the gradient (PyTorch's convention).
 * @function
 */
export const maximum = bin('maximum');
/**
 * min(a, b); at a tie each side gets half the gradient (PyTorch's convention).
 * @function
 */
export const minimum = bin('minimum');
/**
 * atan2(y, x), the angle of the point (x, y) in (−π, π] (PyTorch's `atan2`). A primitive:
 * `atan(y/x)` loses the quadrant and divides by 0. Its gradient is NaN at (0, 0), as PyTorch's.
 * @function
 */
export const atan2 = bin('atan2');

function cmp(op: (typeof T.COMPARISON_OPS)[number]) {
  return (a: VarLike, b: VarLike): Var => {
    const dt = firstDType([a, b]);
    return constant(T[op](asVar(op, a, dt).value, asVar(op, b, dt).value));
  };
}

/**
 * 1 where a == b else 0 (not differentiable: a constant).
 * @function
 */
export const equal = cmp('equal');
/**
 * 1 where a != b else 0 (a constant).
 * @function
 */
export const notEqual = cmp('notEqual');
/**
 * 1 where a < b else 0 (a constant).
 * @function
 */
export const less = cmp('less');
/**
 * 1 where a <= b else 0 (a constant).
 * @function
 */
export const lessEqual = cmp('lessEqual');
/**
 * 1 where a > b else 0 (a constant).
 * @function
 */
export const greater = cmp('greater');
/**
 * 1 where a >= b else 0 (a constant).
 * @function
 */
export const greaterEqual = cmp('greaterEqual');

/** a where cond ≠ 0, else b. `cond` gets no gradient. */
export function where(cond: Var, a: VarLike, b: VarLike): Var {
  const dt = firstDType([a, b]) ?? cond.dtype;
  const va = asVar('where', a, dt);
  const vb = asVar('where', b, dt);
  const c = asVar('where', cond, dt);
  return recordPrimitive('where', [c, va, vb], {}, () => T.where(c.value, va.value, vb.value));
}

// ---------------------------------------------------------------- reductions

/** Sum over axes (default all). */
export function sum(x: Var, axes?: T.Axes, keepDims = false): Var {
  const ax = T.normalizeAxes('sum', axes, x.rank);
  return recordPrimitive('sum', [asVar('sum', x)], { axes: ax, keepDims }, () =>
    T.sum(x.value, ax, keepDims),
  );
}

/** Maximum over axes; tied maxima share the gradient equally. */
export function max(x: Var, axes?: T.Axes, keepDims = false): Var {
  const ax = T.normalizeAxes('max', axes, x.rank);
  return recordPrimitive('max', [asVar('max', x)], { axes: ax, keepDims }, () =>
    T.max(x.value, ax, keepDims),
  );
}

/** Minimum over axes; tied minima share the gradient equally. */
export function min(x: Var, axes?: T.Axes, keepDims = false): Var {
  const ax = T.normalizeAxes('min', axes, x.rank);
  return recordPrimitive('min', [asVar('min', x)], { axes: ax, keepDims }, () =>
    T.min(x.value, ax, keepDims),
  );
}

/** Mean over axes: a composite, sum / count. Over an empty axis it is NaN (0/0), as in PyTorch. */
export function mean(x: Var, axes?: T.Axes, keepDims = false): Var {
  const n = T.reducedCount('mean', x.shape, axes);
  return div(sum(x, axes, keepDims), n);
}

/**
 * Variance over axes (biased unless `correction` = 1): a composite,
 * Σ(x − mean)² / max(0, n − correction). With no degrees of freedom left it is NaN, and so is
 * its gradient, as in PyTorch.
 */
export function variance(x: Var, axes?: T.Axes, keepDims = false, correction = 0): Var {
  if (!Number.isFinite(correction) || correction < 0) {
    throw new ChainruleError('variance', `correction must be a finite number >= 0, got ${correction}`);
  }
  const n = T.reducedCount('variance', x.shape, axes);
  const d = sub(x, mean(x, axes, true));
  return div(sum(square(d), axes, keepDims), T.varianceDivisor(n, correction));
}

// ---------------------------------------------------------------- matmul and dense

/**
 * Matrix product over the last two dimensions, with transpose flags and batch broadcasting.
 * A 1-D operand is a vector, by NumPy's rules: a composite that reshapes it to a row (a) or a
 * column (b), multiplies, and drops the added dimension.
 */
export function matmul(a: Var, b: Var, options: T.MatmulOptions = {}): Var {
  const va = asVar('matmul', a);
  const vb = asVar('matmul', b);
  const v = T.matmulVectors(va.shape, vb.shape, options);
  if (va.rank === 1 || vb.rank === 1) {
    const out = matmul(reshape(va, v.a), reshape(vb, v.b), options);
    return reshape(out, v.out([...out.shape]));
  }
  const attrs = { transposeA: options.transposeA ?? false, transposeB: options.transposeB ?? false };
  return recordPrimitive('matmul', [va, vb], attrs, () => T.matmul(va.value, vb.value, attrs));
}

/** The activation of `dense` as differentiable ops (for a bias the fused kernel does not take). */
function activate(z: Var, activation: T.DenseActivation): Var {
  switch (activation) {
    case 'linear':
      return z;
    case 'relu':
      return relu(z);
    case 'tanh':
      return tanh(z);
    case 'sigmoid':
      return sigmoid(z);
  }
}

/**
 * The fused dense layer `act(x @ w + b)` for x [batch, in], w [in, out], b [out].
 * Backends may run it as one kernel; its gradient rule is the chain rule through
 * the activation, the bias add and the matmul. A bias of another shape that broadcasts to
 * [batch, out] (`[1, out]`, `[batch, 1]`, a scalar) runs as the composite `act(dense(x, w) + b)`.
 */
export function dense(x: Var, w: Var, b: Var | undefined, activation: T.DenseActivation = 'linear'): Var {
  if (b && !(b.rank === 1 && b.shape[0] === w.shape[1])) {
    if (x.rank === 2 && w.rank === 2) {
      const out = [x.shape[0]!, w.shape[1]!];
      if (!T.broadcastsTo(b.shape, out)) {
        throw new ChainruleError(
          'dense',
          `bias ${T.fmtShape(b.shape)} does not broadcast to the output ${T.fmtShape(out)}; expected [${w.shape[1]}] or a shape that broadcasts to it`,
        );
      }
      T.fusedDense(x.value, w.value, undefined, activation).dispose(); // validates the activation
    }
    return activate(add(dense(x, w, undefined), b), activation);
  }
  const inputs = b ? [x, w, b] : [x, w];
  return recordPrimitive('fusedDense', inputs, { activation }, () =>
    T.fusedDense(x.value, w.value, b?.value, activation),
  );
}

/** The results of {@link batchNormTrain}: y records the op; the statistics are constants. */
export interface BatchNormOutput {
  /** γ·(x − mean)/√(var + ε) + β, `[N, C]`. */
  y: Var;
  /** The per-feature batch mean, `[C]` (no gradient: for running statistics). */
  mean: Tensor;
  /** The per-feature biased batch variance, `[C]` (no gradient). */
  var: Tensor;
}

/**
 * Training-mode batch normalisation of x `[N, C]` over its rows, one fused primitive: the
 * same function as the composite γ·(x − mean(x))/√(variance(x) + ε) + β (biased variance),
 * gradient through the batch statistics included. Its statistics come back as constants.
 */
export function batchNormTrain(x: Var, gamma: Var, beta: Var, eps: number): BatchNormOutput {
  let stats: { mean: Tensor; var: Tensor } | undefined;
  const y = recordPrimitive('batchNorm', [x, gamma, beta], { eps }, () => {
    const r = T.batchNormTrain(x.value, gamma.value, beta.value, eps);
    stats = { mean: r.mean, var: r.var };
    return r.y;
  });
  return { y, mean: stats!.mean, var: stats!.var };
}

// ---------------------------------------------------------------- shape ops

/** Same elements, new shape (one dimension may be −1). */
export function reshape(x: Var, shape: readonly number[]): Var {
  const to = T.inferReshape('reshape', x.shape, shape);
  return recordPrimitive('reshape', [asVar('reshape', x)], { shape: to }, () => T.reshape(x.value, to));
}

/** Insert a size-1 dimension at `axis` (a reshape). */
export function expandDims(x: Var, axis: number): Var {
  const a = T.normalizeAxis('expandDims', axis, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Drop size-1 dimensions (a reshape). */
export function squeeze(x: Var, axes?: T.Axes): Var {
  const s = T.squeeze(x.value, axes);
  return reshape(x, s.shape);
}

/** Permute dimensions (default: reverse them). */
export function transpose(x: Var, perm?: readonly number[]): Var {
  const p = perm ? [...perm] : x.shape.map((_, i) => x.rank - 1 - i);
  return recordPrimitive('transpose', [asVar('transpose', x)], { perm: p }, () => T.transpose(x.value, p));
}

/** Broadcast to `shape`. Its gradient is the central un-broadcast sum. */
export function broadcastTo(x: Var, shape: readonly number[]): Var {
  return recordPrimitive('broadcastTo', [asVar('broadcastTo', x)], { shape: [...shape] }, () =>
    T.broadcastTo(x.value, shape),
  );
}

/** A block of x: `begin` and `size` per dimension (−1 = to the end). */
export function slice(x: Var, begin: readonly number[], size?: readonly number[]): Var {
  const out = T.slice(x.value, begin, size);
  const b = x.shape.map((_, i) => begin[i] ?? 0);
  return recordPrimitive('slice', [asVar('slice', x)], { begin: b, size: [...out.shape] }, () => out);
}

/**
 * Pad with the constant `value` (default 0), `[before, after]` per dimension. A negative width
 * crops, as PyTorch's `F.pad`: a composite of `slice` and the non-negative `pad`.
 */
export function pad(x: Var, paddings: readonly (readonly [number, number])[], value = 0): Var {
  const vx = asVar('pad', x);
  const { begin, size, widths, cropped } = T.splitPaddings('pad', vx.shape, paddings);
  const src = cropped ? slice(vx, begin, size) : vx;
  if (cropped && widths.every(([b, a]) => b === 0 && a === 0)) return src;
  return recordPrimitive('pad', [src], { paddings: widths, value }, () => T.pad(src.value, widths, value));
}

/** Join along an existing axis. */
export function concat(xs: readonly Var[], axis = 0): Var {
  const values = xs.map((v, i) => asVar(`concat (tensors[${i}])`, v).value);
  const out = T.concat(values, axis);
  const ax = T.normalizeAxis('concat', axis, values[0]!.rank);
  return recordPrimitive('concat', [...xs], { axis: ax, sizes: values.map((v) => v.shape[ax]!) }, () => out);
}

/** Join equal shapes along a new axis (a composite of expandDims and concat). */
export function stack(xs: readonly Var[], axis = 0): Var {
  T.stack(
    xs.map((v) => v.value),
    axis,
  ).dispose(); // validates shapes and axis with a clear error
  const ax = T.normalizeAxis('stack', axis, xs[0]!.rank + 1);
  return concat(
    xs.map((v) => expandDims(v, ax)),
    ax,
  );
}

/**
 * Slices of x along `axis` at `indices` (any rank), as `tf.gather`: the output's shape is
 * `x.shape[:axis] + indices.shape + x.shape[axis+1:]`. The primitive gathers flat indices;
 * the index rank is a reshape. Its gradient is {@link scatterAdd} along the same axis.
 */
export function gather(x: Var, indices: T.Indices, axis = 0): Var {
  const vx = asVar('gather', x);
  if (vx.rank === 0) throw new ChainruleError('gather', 'cannot gather from a scalar; expected rank >= 1');
  const ax = T.normalizeAxis('gather', axis, vx.rank);
  const { data, shape: idxShape } = T.readIndices('gather', indices);
  const idx = Int32Array.from(data);
  const size = vx.shape[ax]!;
  const flat = recordPrimitive('gather', [vx], { indices: idx, axis: ax, size }, () =>
    T.gather(vx.value, data, ax),
  );
  if (idxShape.length === 1) return flat;
  return reshape(flat, [...vx.shape.slice(0, ax), ...idxShape, ...vx.shape.slice(ax + 1)]);
}

/**
 * The adjoint of gather: zeros with `size` slots along `axis`, into which each slice of
 * `updates` is added at its index (repeated indices add up). Its gradient is {@link gather}.
 */
export function scatterAdd(updates: Var, indices: T.Indices, size: number, axis = 0): Var {
  const vu = asVar('scatterAdd', updates);
  const { data, shape: idxShape } = T.readIndices('scatterAdd', indices);
  const k = idxShape.length;
  const outRank = vu.rank - k + 1;
  const ax = outRank >= 1 ? T.normalizeAxis('scatterAdd', axis, outRank) : 0;
  const idx = Int32Array.from(data);
  let flat = vu;
  if (k !== 1) {
    if (outRank < 1 || !T.shapesEqual(vu.shape.slice(ax, ax + k), idxShape)) {
      throw new ChainruleError(
        'scatterAdd',
        `updates ${T.fmtShape(vu.shape)} must hold the indices' shape ${T.fmtShape(idxShape)} at axis ${axis}`,
      );
    }
    flat = reshape(vu, [...vu.shape.slice(0, ax), idx.length, ...vu.shape.slice(ax + k)]);
  }
  return recordPrimitive('scatterAdd', [flat], { indices: idx, axis: ax, size }, () =>
    T.scatterAdd(flat.value, data, size, ax),
  );
}

/** Convert to another dtype. */
export function cast(x: Var, dtype: DType): Var {
  return recordPrimitive('cast', [asVar('cast', x)], { dtype }, () => T.cast(x.value, dtype));
}
