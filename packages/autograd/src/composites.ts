/**
 * Activations and normalisers built from the primitives, as tinygrad builds them: none has
 * a gradient rule of its own, so first and higher derivatives come from the primitives'
 * rules. Each follows PyTorch's definition, including its numerically stable form:
 *
 * - `logsumexp`, `softmax` and `logSoftmax` subtract the maximum, taken on a detached copy
 *   so that no gradient flows through it (the result does not depend on it);
 * - `softplus` returns x itself above its threshold;
 * - branches that `where` discards are computed on a safe input (0 in place of the
 *   discarded values), so that an overflow there cannot reach the gradient as 0·∞ = NaN.
 *
 * @module
 */
import * as T from '@chainrule/tensor';
import { ChainruleError } from '@chainrule/tensor';
import {
  abs,
  add,
  div,
  equal,
  erf,
  exp,
  expm1,
  greater,
  log,
  log1p,
  max,
  mul,
  reciprocal,
  reshape,
  sigmoid,
  sqrt,
  sub,
  sum,
  tanh,
  where,
} from './ops.ts';
import type { Var } from './var.ts';

/**
 * 1/√x (PyTorch's `rsqrt`). A composite: PyTorch's CPU kernel also computes 1/sqrt(x), so
 * the two roundings agree with it; a primitive would gain neither accuracy nor speed here.
 */
export function rsqrt(x: Var): Var {
  return reciprocal(sqrt(x));
}

/** Options of {@link softplus}. */
export interface SoftplusOptions {
  /** The sharpness β. Default 1. */
  beta?: number;
  /** Above β·x > threshold the result is x itself (PyTorch's linear regime). Default 20. */
  threshold?: number;
}

function checkNumber(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new ChainruleError(op, `${name} must be a number, got ${String(v)}`);
  }
  return v;
}

/**
 * softplus(x) = ln(1 + e^(βx))/β, and x where βx > threshold (PyTorch's `softplus`).
 * e^(βx) is computed on βx with the linear regime's elements replaced by 0, so it never
 * overflows: softplus(1e4) = 1e4 with gradient 1, softplus(−1e4) = 0 with gradient 0.
 */
export function softplus(x: Var, options: SoftplusOptions = {}): Var {
  const beta = checkNumber('softplus', 'beta', options.beta ?? 1);
  const threshold = checkNumber('softplus', 'threshold', options.threshold ?? 20);
  const bx = beta === 1 ? x : mul(x, beta);
  const linear = greater(bx, threshold);
  const soft = log1p(exp(where(linear, 0, bx)));
  return where(linear, x, beta === 1 ? soft : mul(soft, 1 / beta));
}

/**
 * elu(x) = x for x > 0, α(eˣ − 1) otherwise (PyTorch's `elu`; its gradient at 0 is α, as
 * PyTorch's). eˣ − 1 is `expm1`, on x with the positive elements replaced by 0.
 */
export function elu(x: Var, alpha = 1): Var {
  checkNumber('elu', 'alpha', alpha);
  const pos = greater(x, 0);
  return where(pos, x, mul(expm1(where(pos, 0, x)), alpha));
}

/** SELU's α and scale (Klambauer et al. 2017, eq. 14): PyTorch's 1.6732632423543772848… and 1.0507009873554804934…, rounded to float64. */
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** selu(x) = scale·elu(x, α) with Klambauer et al.'s constants (PyTorch's `selu`). */
export function selu(x: Var): Var {
  const pos = greater(x, 0);
  return where(pos, mul(x, SELU_SCALE), mul(expm1(where(pos, 0, x)), SELU_ALPHA * SELU_SCALE));
}

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** `'none'` (default): the exact x·Φ(x) with erf; `'tanh'`: Hendrycks & Gimpel's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/**
 * gelu(x) = x·Φ(x) = ½x(1 + erf(x/√2)) (PyTorch's `gelu`), or with `approximate: 'tanh'`
 * ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (Hendrycks & Gimpel 2016, §2).
 */
export function gelu(x: Var, options: GeluOptions = {}): Var {
  const approximate = options.approximate ?? 'none';
  const half = mul(x, 0.5);
  if (approximate === 'none') return mul(half, add(erf(mul(x, Math.SQRT1_2)), 1));
  if (approximate === 'tanh') {
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(half, add(tanh(inner), 1));
  }
  throw new ChainruleError(
    'gelu',
    `approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`,
  );
}

/** silu(x) = x·σ(x), also called swish (PyTorch's `silu`). */
export function silu(x: Var): Var {
  return mul(x, sigmoid(x));
}

/** The maximum over `axes` with kept dimensions, on a detached copy: a constant shift. */
function detachedMax(x: Var, axes: number[]): Var {
  return max(x.detach(), axes, true);
}

/**
 * Run `fn` along `axis` of x. A scalar is treated as a vector of one element, as PyTorch's
 * dim wrapping does (axis −1 or 0 of a 0-d tensor).
 */
function alongAxis(op: string, x: Var, axis: number, fn: (v: Var, ax: number) => Var): Var {
  if (x.rank > 0) return fn(x, T.normalizeAxis(op, axis, x.rank));
  T.normalizeAxis(op, axis, 1);
  return reshape(fn(reshape(x, [1]), 0), []);
}

/**
 * softmax(x)ᵢ = e^(xᵢ − m) / Σⱼ e^(xⱼ − m) along `axis` (default the last), with m the
 * detached maximum (PyTorch's `softmax(x, dim)`). A row containing +∞ gives NaN, as in PyTorch.
 */
export function softmax(x: Var, axis = -1): Var {
  return alongAxis('softmax', x, axis, (v, ax) => {
    const e = exp(sub(v, detachedMax(v, [ax])));
    return div(e, sum(e, ax, true));
  });
}

/** log softmax(x) = x − m − ln Σ e^(x − m) along `axis` (default the last; PyTorch's `log_softmax`). */
export function logSoftmax(x: Var, axis = -1): Var {
  return alongAxis('logSoftmax', x, axis, (v, ax) => {
    const shifted = sub(v, detachedMax(v, [ax]));
    return sub(shifted, log(sum(exp(shifted), ax, true)));
  });
}

/**
 * ln Σ eˣ over `axes` (default all; PyTorch's `logsumexp(x, dim, keepdim)`), computed as
 * m + ln Σ e^(x − m) with m the detached maximum. As in PyTorch, an infinite m is replaced by
 * 0, so a slice of −∞ gives −∞ (not NaN) and one containing +∞ gives +∞.
 */
export function logsumexp(x: Var, axes?: T.Axes, keepDims = false): Var {
  const ax = T.normalizeAxes('logsumexp', axes, x.rank);
  const m0 = detachedMax(x, ax);
  const m = where(equal(abs(m0), Number.POSITIVE_INFINITY), 0, m0);
  const out = add(log(sum(exp(sub(x, m)), ax, true)), m);
  if (keepDims) return out;
  return reshape(
    out,
    x.shape.filter((_, i) => !ax.includes(i)),
  );
}
