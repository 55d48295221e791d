/**
 * `gradcheck` and `gradgradcheck`: compare the gradients the engine computes with central
 * finite differences, in float64.
 *
 * For `y = f(x₀, x₁, …)` and a random cotangent `v` shaped like `y` (ones when `y` has one
 * element), the analytic side is the vector-Jacobian product `vᵀ J` from {@link grad}; the
 * numeric side perturbs one element at a time:
 *
 *     (⟨v, f(…, xᵢ + ε eⱼ, …)⟩ − ⟨v, f(…, xᵢ − ε eⱼ, …)⟩) / 2ε
 *
 * Elements match when `|analytic − numeric| ≤ atol + rtol·|numeric|`.
 * @module
 */
import * as T from '@chainrule/tensor';
import { ChainruleError, Rng, type Tensor } from '@chainrule/tensor';
import { grad } from '../engine.ts';
import * as op from '../ops.ts';
import { enableGrad, noGrad, Var } from '../var.ts';

/** Options for {@link gradcheck} and {@link gradgradcheck}. */
export interface GradcheckOptions {
  /** The finite-difference step. Default `1e-6`. */
  eps?: number;
  /** Absolute tolerance. Default `1e-5`. */
  atol?: number;
  /** Relative tolerance (relative to the numeric value). Default `1e-3`. */
  rtol?: number;
  /**
   * Check `vᵀ J u` along `nDirections` random directions `u` per input (one central
   * difference each) instead of every element. Default `false`.
   */
  fast?: boolean;
  /** Seed of the generator for the cotangent `v` and the directions `u`. Default `0`. */
  seed?: number;
  /** Directions per input in `fast` mode. Default `3`. */
  nDirections?: number;
}

/** One mismatch between the analytic and the numeric derivative. */
export interface GradcheckFailure {
  /** Which input (position in the `inputs` array). */
  readonly input: number;
  /** The element's multi-index within that input, or `null` for a random direction (`fast`). */
  readonly index: number[] | null;
  /** The engine's value of `vᵀ J` at this element (or `vᵀ J u` in `fast` mode). */
  readonly analytic: number;
  /** The central-difference estimate of the same quantity. */
  readonly numeric: number;
}

/** The result of {@link gradcheck}. */
export interface GradcheckReport {
  /** True when every checked element (or direction) matched. */
  readonly ok: boolean;
  /** Every mismatch, in the order checked. */
  readonly failures: GradcheckFailure[];
  /** The largest `|analytic − numeric|` over everything checked. */
  readonly maxAbsError: number;
  /** A one-paragraph summary; on failure it names the input, the index and both values. */
  readonly message: string;
}

/** The differentiable function under test. */
export type GradcheckFn = (...xs: Var[]) => Var;

interface Resolved {
  eps: number;
  atol: number;
  rtol: number;
  fast: boolean;
  seed: number;
  nDirections: number;
}

interface Internal {
  /** Evaluate the numeric side with recording on (the function itself calls `grad`). */
  recordNumeric: boolean;
  /** Names of the inputs, for messages. */
  names: string[];
  /** The cotangent to use (else a random one). */
  cotangent?: Tensor;
  /** Which check is reporting, for messages. */
  what: string;
}

function resolve(options: GradcheckOptions): Resolved {
  const r: Resolved = {
    eps: options.eps ?? 1e-6,
    atol: options.atol ?? 1e-5,
    rtol: options.rtol ?? 1e-3,
    fast: options.fast ?? false,
    seed: options.seed ?? 0,
    nDirections: options.nDirections ?? 3,
  };
  if (!(r.eps > 0) || !(r.atol >= 0) || !(r.rtol >= 0)) {
    throw new ChainruleError(
      'gradcheck',
      `expected eps > 0, atol >= 0 and rtol >= 0, got eps=${r.eps}, atol=${r.atol}, rtol=${r.rtol}`,
    );
  }
  if (!Number.isInteger(r.nDirections) || r.nDirections < 1) {
    throw new ChainruleError('gradcheck', `nDirections must be a positive integer, got ${r.nDirections}`);
  }
  return r;
}

/** A float64 copy of an input: the caller's tensor is never touched again. */
function toFloat64(x: Tensor | Var, i: number, what: string): Tensor {
  const t = x instanceof Var ? x.value : x;
  if (!t || typeof t !== 'object' || !('dtype' in t)) {
    throw new ChainruleError(what, `inputs[${i}] is not a Tensor or a Var`);
  }
  return T.cast(t, 'float64'); // always a copy
}

/** The multi-index of flat position `flat` in `shape` (row-major). */
export function unravelIndex(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = flat % n;
    flat = Math.floor(flat / n);
  }
  return idx;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(8) : String(x);
}

function callF(f: GradcheckFn, xs: Var[], what: string): Var {
  const y = f(...xs);
  if (!(y instanceof Var)) throw new ChainruleError(what, `f must return a Var, got ${typeof y}`);
  return y;
}

/** ⟨v, f(values)⟩ with recording off (or on, for functions that call `grad` themselves). */
function evalDot(f: GradcheckFn, values: Tensor[], v: Float64Array, internal: Internal): number {
  const run = () => {
    const xs = values.map((t) => new Var(t, { requiresGrad: internal.recordNumeric }));
    return callF(f, xs, internal.what).value.dataSync();
  };
  const y = internal.recordNumeric ? enableGrad(run) : noGrad(run);
  if (y.length !== v.length) {
    throw new ChainruleError(
      internal.what,
      `f's output changed size under a small perturbation (${v.length} → ${y.length} elements)`,
    );
  }
  return dot(v, y);
}

function withData(t: Tensor, data: Float64Array): Tensor {
  return T.tensor(data, { shape: t.shape, dtype: 'float64' });
}

/** The core of gradcheck and gradgradcheck. */
function check(
  f: GradcheckFn,
  inputs: readonly (Tensor | Var)[],
  options: GradcheckOptions,
  internal: Internal,
): GradcheckReport {
  const o = resolve(options);
  const what = internal.what;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new ChainruleError(what, 'expected a non-empty array of inputs');
  }
  const xs64 = inputs.map((x, i) => toFloat64(x, i, what));
  const rng = new Rng(o.seed);

  // Analytic side: vᵀJ for every input at once.
  const leaves = xs64.map((t) => new Var(t, { requiresGrad: true }));
  const y = enableGrad(() => callF(f, leaves, what));
  if (!T.allFinite(y.value)) {
    const message = `${what}: f's output contains NaN or Infinity at the given inputs; move the inputs into f's domain`;
    return { ok: false, failures: [], maxAbsError: Number.NaN, message };
  }
  const vT =
    internal.cotangent ??
    (y.size === 1 ? T.ones(y.shape, { dtype: y.dtype }) : T.randn(y.shape, rng, { dtype: y.dtype }));
  const v = Float64Array.from(vT.dataSync());
  const analytic: Float64Array[] = y.requiresGrad
    ? grad(y, leaves, { gradOutputs: vT, allowUnused: true }).map((g) =>
        Float64Array.from(g.value.dataSync()),
      )
    : xs64.map((t) => new Float64Array(t.size)); // f does not depend on its inputs: zero gradient

  const failures: GradcheckFailure[] = [];
  let maxAbsError = 0;
  let checked = 0;
  const compare = (input: number, index: number[] | null, a: number, n: number) => {
    checked++;
    const err = Math.abs(a - n);
    if (Number.isNaN(err)) maxAbsError = Number.NaN;
    else if (err > maxAbsError) maxAbsError = err;
    if (!(err <= o.atol + o.rtol * Math.abs(n))) failures.push({ input, index, analytic: a, numeric: n });
  };

  xs64.forEach((x, i) => {
    const base = x.dataSync() as Float64Array;
    const at = (data: Float64Array) => {
      const vals = xs64.slice();
      vals[i] = withData(x, data);
      return evalDot(f, vals, v, internal);
    };
    if (!o.fast) {
      for (let j = 0; j < base.length; j++) {
        const plus = base.slice();
        plus[j]! += o.eps;
        const minus = base.slice();
        minus[j]! -= o.eps;
        const numeric = (at(plus) - at(minus)) / (2 * o.eps);
        compare(i, unravelIndex(j, x.shape), analytic[i]![j]!, numeric);
      }
    } else {
      for (let d = 0; d < o.nDirections; d++) {
        const u = rng.fillNormal(new Float64Array(base.length));
        const plus = base.map((b, j) => b + o.eps * u[j]!);
        const minus = base.map((b, j) => b - o.eps * u[j]!);
        const numeric = (at(plus) - at(minus)) / (2 * o.eps);
        compare(i, null, dot(analytic[i]!, u), numeric);
      }
    }
  });

  const ok = failures.length === 0;
  const message = ok
    ? `${what} passed: ${checked} ${o.fast ? 'directions' : 'elements'} checked, max abs error ${fmt(maxAbsError)}`
    : formatFailures(what, failures, internal.names, o, checked, maxAbsError);
  return { ok, failures, maxAbsError, message };
}

function formatFailures(
  what: string,
  failures: readonly GradcheckFailure[],
  names: readonly string[],
  o: Resolved,
  checked: number,
  maxAbsError: number,
): string {
  const shown = failures.slice(0, 5).map((fl) => {
    const where = fl.index ? `at index [${fl.index.join(',')}]` : 'along a random direction';
    const name = names[fl.input] ?? `input ${fl.input}`;
    return `  ${name} ${where}: analytic ${fmt(fl.analytic)} vs numeric ${fmt(fl.numeric)} (|diff| ${fmt(Math.abs(fl.analytic - fl.numeric))} > ${fmt(o.atol + o.rtol * Math.abs(fl.numeric))})`;
  });
  const more = failures.length > 5 ? `\n  … and ${failures.length - 5} more` : '';
  return `${what} failed: ${failures.length} of ${checked} ${o.fast ? 'directions' : 'elements'} differ (atol ${o.atol}, rtol ${o.rtol}, eps ${o.eps}, max abs error ${fmt(maxAbsError)}):\n${shown.join('\n')}${more}`;
}

/**
 * Check the gradient of `f` at `inputs` against central finite differences, in float64.
 *
 * Every input is cast to a fresh float64 leaf (the caller's tensors are never mutated). The
 * analytic side is `grad(f(xs), xs, { gradOutputs: v })` with `v` a seeded random cotangent
 * (ones for a one-element output); the numeric side perturbs each element of each input by
 * ±`eps` under `noGrad`. With `fast: true` it checks `vᵀ J u` along `nDirections` random
 * directions `u` per input instead.
 *
 * @example
 * const r = gradcheck((x) => sum(tanh(x)), [tensor([0.5, -1], { dtype: 'float64' })]);
 * r.ok // true
 */
export function gradcheck(
  f: GradcheckFn,
  inputs: readonly (Tensor | Var)[],
  options: GradcheckOptions = {},
): GradcheckReport {
  return check(f, inputs, options, {
    recordNumeric: false,
    names: inputs.map((_, i) => `input ${i}`),
    what: 'gradcheck',
  });
}

/** Like {@link gradcheck}, but throws an Error carrying the report's message on failure. */
export function assertGradcheck(
  f: GradcheckFn,
  inputs: readonly (Tensor | Var)[],
  options: GradcheckOptions = {},
): GradcheckReport {
  const r = gradcheck(f, inputs, options);
  if (!r.ok) throw new Error(r.message);
  return r;
}

/**
 * Check second derivatives, as PyTorch's `gradgradcheck` does: the vector-Jacobian product
 * `(xs, v) ↦ vᵀ J_f(xs)` (computed by {@link grad} with `createGraph: true`, flattened and
 * concatenated over the inputs) is itself gradchecked with respect to both `xs` and the
 * cotangent `v`. The cotangent and the outer cotangent are seeded random vectors.
 *
 * The report's input indices run over `[...inputs, v]`: index `inputs.length` is `v`.
 */
export function gradgradcheck(
  f: GradcheckFn,
  inputs: readonly (Tensor | Var)[],
  options: GradcheckOptions = {},
): GradcheckReport {
  const what = 'gradgradcheck';
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new ChainruleError(what, 'expected a non-empty array of inputs');
  }
  const xs64 = inputs.map((x, i) => toFloat64(x, i, what));
  const n = xs64.length;
  const y0 = noGrad(() =>
    callF(
      f,
      xs64.map((t) => new Var(t)),
      what,
    ),
  );
  const rng = new Rng((options.seed ?? 0) + 0x9e37);
  const v = T.randn(y0.shape, rng, { dtype: 'float64' });
  const vjpFn: GradcheckFn = (...args) => {
    const xs = args.slice(0, n);
    const y = callF(f, xs, what);
    let seed = args[n]!;
    if (seed.dtype !== y.dtype) seed = op.cast(seed, y.dtype);
    const gs = grad(y, xs, { gradOutputs: seed, createGraph: true, allowUnused: true });
    const flat = gs.map((g) => op.reshape(g, [g.size]));
    return flat.length === 1 ? flat[0]! : op.concat(flat, 0);
  };
  const names = [...inputs.map((_, i) => `input ${i}`), `input ${n} (the cotangent v)`];
  return check(vjpFn, [...xs64, v], options, { recordNumeric: true, names, what });
}

/** Like {@link gradgradcheck}, but throws an Error carrying the report's message on failure. */
export function assertGradgradcheck(
  f: GradcheckFn,
  inputs: readonly (Tensor | Var)[],
  options: GradcheckOptions = {},
): GradcheckReport {
  const r = gradgradcheck(f, inputs, options);
  if (!r.ok) throw new Error(r.message);
  return r;
}
