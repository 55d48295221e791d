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
 * The primitives: the op names the built-in ops record. Each has exactly one rule in the
 * gradient table (`rules.ts`), whose type is built from this list, so a primitive without a
 * rule is a compile error. Composite ops (`mean`, `stack`, ...) record primitives; ops made
 * with `defineOp` record their own names and keep their rules in a separate registry.
 */
export const PRIMITIVES = [
  ...T.UNARY_OPS,
  'clip',
  ...T.BINARY_OPS,
  'where',
  'sum',
  'max',
  'min',
  'matmul',
  'fusedDense',
  'reshape',
  'transpose',
  'broadcastTo',
  'slice',
  'pad',
  'concat',
  'gather',
  'scatterAdd',
  'cast',
] as const;
/** One of {@link PRIMITIVES}. */
export type Primitive = (typeof PRIMITIVES)[number];

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

/**
 * Apply a primitive: compute the value, and record a node when some input requires a
 * gradient. This function is the whole recorder.
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

const un =
  (op: (typeof T.UNARY_OPS)[number]) =>
  (x: Var): Var =>
    record(op, [asVar(op, x)], {}, () => (T[op] as (t: Tensor) => Tensor)(x.value));

/** −x */ export const neg = un('neg');
/** eˣ */ export const exp = un('exp');
/** ln x */ export const log = un('log');
/** √x */ export const sqrt = un('sqrt');
/** x² */ export const square = un('square');
/** |x|; its gradient at 0 is 0 (the subgradient sign(0) = 0). */ export const abs = un('abs');
/** sign(x); its gradient is 0 everywhere. */ export const sign = un('sign');
/** 1/x */ export const reciprocal = un('reciprocal');
/** tanh x */ export const tanh = un('tanh');
/** 1/(1+e⁻ˣ) */ export const sigmoid = un('sigmoid');
/** max(x, 0); its gradient at 0 is 0. */ export const relu = un('relu');
/** sin x (radians). A primitive: it needs a kernel (wasm has no sine instruction). */ export const sin =
  un('sin');
/** cos x (radians). A primitive, as `sin`. */ export const cos = un('cos');
/**
 * ln(1 + x). A primitive, not `log(add(x, 1))`: 1 + x rounds away the digits of a small x
 * (log(1 + 1e−10) is off by 8e−8 relative in float64), which softplus and the losses meet.
 */
export const log1p = un('log1p');
/** eˣ − 1. A primitive, not `sub(exp(x), 1)`, which cancels for small |x| (as `log1p`); elu uses it. */
export const expm1 = un('expm1');
/** The error function. A primitive: no composite of the other primitives computes it; gelu uses it. */
export const erf = un('erf');

/** Clamp to [min, max]; the gradient is 1 inside the closed interval and 0 outside. */
export function clip(x: Var, min: number, max: number): Var {
  return record('clip', [asVar('clip', x)], { min, max }, () => T.clip(x.value, min, max));
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
    return record(op, [va, vb], {}, () => T[op](va.value, vb.value));
  };
}

/** a + b with broadcasting. */ export const add = bin('add');
/** a − b with broadcasting. */ export const sub = bin('sub');
/** a·b elementwise with broadcasting. */ export const mul = bin('mul');
/** a/b elementwise with broadcasting. */ export const div = bin('div');
/** aᵇ elementwise with broadcasting. */ export const pow = bin('pow');
/** max(a, b); at a tie each side gets half the gradient (PyTorch's convention). */ export const maximum =
  bin('maximum');
/** min(a, b); at a tie each side gets half the gradient (PyTorch's convention). */ export const minimum =
  bin('minimum');
/**
 * atan2(y, x), the angle of the point (x, y) in (−π, π] (PyTorch's `atan2`). A primitive:
 * `atan(y/x)` loses the quadrant and divides by 0. Its gradient is NaN at (0, 0), as PyTorch's.
 */
export const atan2 = bin('atan2');

function cmp(op: (typeof T.COMPARISON_OPS)[number]) {
  return (a: VarLike, b: VarLike): Var => {
    const dt = firstDType([a, b]);
    return constant(T[op](asVar(op, a, dt).value, asVar(op, b, dt).value));
  };
}

/** 1 where a == b else 0 (not differentiable: a constant). */ export const equal = cmp('equal');
/** 1 where a != b else 0 (a constant). */ export const notEqual = cmp('notEqual');
/** 1 where a < b else 0 (a constant). */ export const less = cmp('less');
/** 1 where a <= b else 0 (a constant). */ export const lessEqual = cmp('lessEqual');
/** 1 where a > b else 0 (a constant). */ export const greater = cmp('greater');
/** 1 where a >= b else 0 (a constant). */ export const greaterEqual = cmp('greaterEqual');

/** a where cond ≠ 0, else b. `cond` gets no gradient. */
export function where(cond: Var, a: VarLike, b: VarLike): Var {
  const dt = firstDType([a, b]) ?? cond.dtype;
  const va = asVar('where', a, dt);
  const vb = asVar('where', b, dt);
  const c = asVar('where', cond, dt);
  return record('where', [c, va, vb], {}, () => T.where(c.value, va.value, vb.value));
}

// ---------------------------------------------------------------- reductions

/** Sum over axes (default all). */
export function sum(x: Var, axes?: T.Axes, keepDims = false): Var {
  const ax = T.normalizeAxes('sum', axes, x.rank);
  return record('sum', [asVar('sum', x)], { axes: ax, keepDims }, () => T.sum(x.value, ax, keepDims));
}

/** Maximum over axes; tied maxima share the gradient equally. */
export function max(x: Var, axes?: T.Axes, keepDims = false): Var {
  const ax = T.normalizeAxes('max', axes, x.rank);
  return record('max', [asVar('max', x)], { axes: ax, keepDims }, () => T.max(x.value, ax, keepDims));
}

/** Minimum over axes; tied minima share the gradient equally. */
export function min(x: Var, axes?: T.Axes, keepDims = false): Var {
  const ax = T.normalizeAxes('min', axes, x.rank);
  return record('min', [asVar('min', x)], { axes: ax, keepDims }, () => T.min(x.value, ax, keepDims));
}

/** Mean over axes: a composite, sum / count. */
export function mean(x: Var, axes?: T.Axes, keepDims = false): Var {
  const n = T.reducedCount('mean', x.shape, axes);
  if (n === 0)
    throw new ChainruleError(
      'mean',
      `cannot average over an empty dimension of shape ${T.fmtShape(x.shape)}`,
    );
  return div(sum(x, axes, keepDims), n);
}

/** Variance over axes (biased unless `correction` = 1): a composite. */
export function variance(x: Var, axes?: T.Axes, keepDims = false, correction = 0): Var {
  const n = T.reducedCount('variance', x.shape, axes);
  if (n - correction <= 0) {
    throw new ChainruleError(
      'variance',
      `need more than ${correction} element(s), got ${n} over shape ${T.fmtShape(x.shape)}`,
    );
  }
  const d = sub(x, mean(x, axes, true));
  return div(sum(square(d), axes, keepDims), n - correction);
}

// ---------------------------------------------------------------- matmul and dense

/** Matrix product over the last two dimensions, with transpose flags and batch broadcasting. */
export function matmul(a: Var, b: Var, options: T.MatmulOptions = {}): Var {
  const attrs = { transposeA: options.transposeA ?? false, transposeB: options.transposeB ?? false };
  return record('matmul', [asVar('matmul', a), asVar('matmul', b)], attrs, () =>
    T.matmul(a.value, b.value, attrs),
  );
}

/**
 * The fused dense layer `act(x @ w + b)` for x [batch, in], w [in, out], b [out].
 * Backends may run it as one kernel; its gradient rule is the chain rule through
 * the activation, the bias add and the matmul.
 */
export function dense(x: Var, w: Var, b: Var | undefined, activation: T.DenseActivation = 'linear'): Var {
  const inputs = b ? [x, w, b] : [x, w];
  return record('fusedDense', inputs, { activation }, () =>
    T.fusedDense(x.value, w.value, b?.value, activation),
  );
}

// ---------------------------------------------------------------- shape ops

/** Same elements, new shape (one dimension may be −1). */
export function reshape(x: Var, shape: readonly number[]): Var {
  const to = T.inferReshape('reshape', x.shape, shape);
  return record('reshape', [asVar('reshape', x)], { shape: to }, () => T.reshape(x.value, to));
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
  return record('transpose', [asVar('transpose', x)], { perm: p }, () => T.transpose(x.value, p));
}

/** Broadcast to `shape`. Its gradient is the central un-broadcast sum. */
export function broadcastTo(x: Var, shape: readonly number[]): Var {
  return record('broadcastTo', [asVar('broadcastTo', x)], { shape: [...shape] }, () =>
    T.broadcastTo(x.value, shape),
  );
}

/** A block of x: `begin` and `size` per dimension (−1 = to the end). */
export function slice(x: Var, begin: readonly number[], size?: readonly number[]): Var {
  const out = T.slice(x.value, begin, size);
  const b = x.shape.map((_, i) => begin[i] ?? 0);
  return record('slice', [asVar('slice', x)], { begin: b, size: [...out.shape] }, () => out);
}

/** Zero padding, `[before, after]` per dimension. */
export function pad(x: Var, paddings: readonly (readonly [number, number])[]): Var {
  const p = paddings.map((q) => [q[0], q[1]] as [number, number]);
  return record('pad', [asVar('pad', x)], { paddings: p }, () => T.pad(x.value, p));
}

/** Join along an existing axis. */
export function concat(xs: readonly Var[], axis = 0): Var {
  const values = xs.map((v, i) => asVar(`concat (tensors[${i}])`, v).value);
  const out = T.concat(values, axis);
  const ax = T.normalizeAxis('concat', axis, values[0]!.rank);
  return record('concat', [...xs], { axis: ax, sizes: values.map((v) => v.shape[ax]!) }, () => out);
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

/** Rows along axis 0 at `indices`. */
export function gather(x: Var, indices: ArrayLike<number>): Var {
  const idx = Int32Array.from(indices as ArrayLike<number>);
  return record('gather', [asVar('gather', x)], { indices: idx, rows: x.shape[0] }, () =>
    T.gather(x.value, idx),
  );
}

/** The adjoint of gather: `rows` rows with `updates[i]` added into row `indices[i]`. */
export function scatterAdd(updates: Var, indices: ArrayLike<number>, rows: number): Var {
  const idx = Int32Array.from(indices as ArrayLike<number>);
  return record('scatterAdd', [asVar('scatterAdd', updates)], { indices: idx, rows }, () =>
    T.scatterAdd(updates.value, idx, rows),
  );
}

/** Convert to another dtype. */
export function cast(x: Var, dtype: DType): Var {
  return record('cast', [asVar('cast', x)], { dtype }, () => T.cast(x.value, dtype));
}
