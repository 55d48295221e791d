/**
 * `checkOp`: a one-call property test for an op, typically one made with `defineOp`.
 *
 * fast-check draws input shapes that broadcast together (scalars, size-1 and missing leading
 * dimensions included) and float64 values in the op's domain; at each case the op must pass
 * `gradcheck` and, unless `secondOrder: false`, `gradgradcheck`; an op made with kernels must
 * also agree with its `forward` on each backend that has one. On failure fast-check
 * shrinks the case (smaller ranks and dimensions, values nearer 0) and the report shows the
 * smallest failing case it found, with a line that reproduces it.
 * @module
 */
import * as T from '@chainrule/tensor';
import { ChainruleError, type Tensor } from '@chainrule/tensor';
import fc from 'fast-check';
import type { CustomOp } from '../defineOp.ts';
import { noGrad, Var } from '../var.ts';
import {
  arbBroadcastableShapes,
  arbDistinctTensors,
  arbTensor,
  type ShapeOptions,
  type TensorOptions,
} from './arbitraries.ts';
import {
  type GradcheckFn,
  type GradcheckOptions,
  type GradcheckReport,
  gradcheck,
  gradgradcheck,
} from './gradcheck.ts';

/** Options for {@link checkOp}. */
export interface CheckOpOptions {
  /** How many inputs. Default: the op's `arity`, or 1 for a plain function. */
  arity?: number;
  /**
   * Where input values come from: one domain for every input, or one per input (see
   * `arbTensor`; `OP_DOMAINS` has the ones of the built-in ops). Default `[−2, 2]`.
   */
  domain?: TensorOptions | readonly TensorOptions[];
  /** The shapes drawn. Default ranks 0..3, dimensions 1..3. */
  shapes?: ShapeOptions;
  /** Also check second derivatives with `gradgradcheck`. Default true. */
  secondOrder?: boolean;
  /** How many cases fast-check tries. Default 30. */
  numRuns?: number;
  /** fast-check's seed, so that a run is reproducible. Default 0. */
  seed?: number;
  /** Options for `gradcheck` and `gradgradcheck` (tolerances, `fast`, ...). */
  gradcheck?: GradcheckOptions;
  /** Tolerance of the kernels against `forward`: `|kernel − forward| ≤ atol + rtol·|forward|`. Default 1e-9 each. */
  kernelTolerance?: { atol?: number; rtol?: number };
}

/** One case: the inputs the op was checked at. */
export interface CheckOpCase {
  /** The input shapes (they broadcast together). */
  readonly shapes: readonly (readonly number[])[];
  /** The inputs, float64. */
  readonly inputs: readonly Tensor[];
}

/** What failed at the smallest failing case. */
export interface CheckOpFailure {
  /**
   * `kernel` (a backend's kernel disagrees with `forward`), `gradcheck` (first order),
   * `gradgradcheck` (second order), or `error` (something threw).
   */
  readonly check: 'kernel' | 'gradcheck' | 'gradgradcheck' | 'error';
  /** The report of the check that failed, or `null` when something threw. */
  readonly report: GradcheckReport | null;
  /** The check's message, or the error's. */
  readonly message: string;
}

/** The result of {@link checkOp}. */
export interface CheckOpReport {
  /** True when every case passed. */
  readonly ok: boolean;
  /** The op's name. */
  readonly op: string;
  /** How many cases ran (up to and including the first failure). */
  readonly numRuns: number;
  /** How many times fast-check shrank the first failing case. */
  readonly numShrinks: number;
  /** fast-check's seed. */
  readonly seed: number;
  /** The smallest failing case found, or `null`. */
  readonly counterexample: CheckOpCase | null;
  /** What failed at that case, or `null`. */
  readonly failure: CheckOpFailure | null;
  /** A readable summary; on failure it shows the case, the mismatches and how to reproduce them. */
  readonly message: string;
}

/**
 * Each registered kernel of a `defineOp` op against its `forward`, on the kernel's backend,
 * at the case's inputs; a message for the first element that differs, else null.
 */
function checkKernels(
  op: Pick<CustomOp, 'opName' | 'definition' | 'attrs'>,
  inputs: readonly Tensor[],
  tol: { atol: number; rtol: number },
): string | null {
  const backends = Object.keys(op.definition.kernels ?? {}).filter((b) => T.listBackends().includes(b));
  for (const backend of backends) {
    const [viaKernel, viaForward] = T.withBackend(backend, () => [
      noGrad(() => (op as unknown as GradcheckFn)(...inputs.map((t) => new Var(t)))).value.dataSync(),
      T.tidy(() => op.definition.forward(inputs, op.attrs)).dataSync(),
    ]);
    if (viaKernel.length !== viaForward.length) {
      return `the ${backend} kernel of ${op.opName} gave ${viaKernel.length} elements, forward ${viaForward.length}`;
    }
    for (let k = 0; k < viaKernel.length; k++) {
      const a = viaKernel[k]!;
      const b = viaForward[k]!;
      if (!(Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b)) && !(Number.isNaN(a) && Number.isNaN(b))) {
        return `the ${backend} kernel of ${op.opName} disagrees with its forward at element ${k}: kernel ${a}, forward ${b} (atol ${tol.atol}, rtol ${tol.rtol})`;
      }
    }
  }
  return null;
}

/** Thrown inside the property so that fast-check sees a failure and keeps the report. */
class CaseFailed extends Error {
  constructor(readonly failure: CheckOpFailure) {
    super(failure.message);
  }
}

function domainFor(domain: CheckOpOptions['domain'], i: number, what: string): TensorOptions {
  if (domain === undefined) return {};
  if (Array.isArray(domain)) {
    const d = (domain as readonly TensorOptions[])[i];
    if (!d) throw new ChainruleError(what, `domain has ${domain.length} entries; expected one per input`);
    return d;
  }
  return domain as TensorOptions;
}

function arbCase(arity: number, options: CheckOpOptions, what: string): fc.Arbitrary<CheckOpCase> {
  const { maxRank = 3, maxDim = 3, ...restShapes } = options.shapes ?? {};
  const domains = Array.from({ length: arity }, (_, i) => domainFor(options.domain, i, what));
  return arbBroadcastableShapes(arity, { maxRank, maxDim, ...restShapes }).chain((shapes) => {
    // Ties across inputs matter for max-like ops: `distinct` then spans all the inputs.
    const tensors = domains.some((d) => d.distinct)
      ? arbDistinctTensors(shapes, domains[0])
      : fc.tuple(...shapes.map((s, i) => arbTensor(s, domains[i])));
    return tensors.map((inputs) => ({ shapes, inputs }));
  });
}

function describeCase(c: CheckOpCase): string {
  return c.inputs
    .map((t, i) => `  input ${i}: shape [${t.shape.join(',')}] = ${JSON.stringify(t.toArray())}`)
    .join('\n');
}

function reproduce(name: string, c: CheckOpCase, check: CheckOpFailure['check']): string {
  if (check === 'kernel') {
    const tensors = c.inputs.map((t) => `tensor(${JSON.stringify(t.toArray())}, { dtype: 'float64' })`);
    return `${name}(${tensors.map((t) => `input(${t})`).join(', ')}) on each backend with a kernel`;
  }
  const fn = check === 'gradgradcheck' ? 'gradgradcheck' : 'gradcheck';
  const args = c.inputs.map((_, i) => `x${i}`).join(', ');
  const tensors = c.inputs.map((t) => `tensor(${JSON.stringify(t.toArray())}, { dtype: 'float64' })`);
  return `${fn}((${args}) => ${name}(${args}), [${tensors.join(', ')}])`;
}

/**
 * Property-test an op's gradient rule: at random inputs of random, mutually broadcastable
 * shapes, the op must pass `gradcheck` and (unless `secondOrder: false`) `gradgradcheck`.
 * A failing case is shrunk by fast-check to a small one. Deterministic for a given `seed`.
 *
 * @param op an op made by `defineOp` (its name and arity are used), or any function of Vars
 *   (give `arity` for it).
 * @returns a report; {@link assertCheckOp} throws its message instead.
 * @example
 * const r = checkOp(softplus);
 * r.ok // true, or r.message shows the smallest failing case
 */
export function checkOp(op: GradcheckFn, options: CheckOpOptions = {}): CheckOpReport {
  const custom =
    'opName' in op
      ? (op as GradcheckFn & Pick<CustomOp, 'opName' | 'arity' | 'definition' | 'attrs'>)
      : undefined;
  const name = custom ? custom.opName : op.name || 'f';
  const what = `checkOp(${name})`;
  const arity = options.arity ?? custom?.arity ?? 1;
  if (!Number.isInteger(arity) || arity < 1) {
    throw new ChainruleError(what, `arity must be a positive integer, got ${arity}`);
  }
  const { numRuns = 30, seed = 0, secondOrder = true } = options;
  const gc = options.gradcheck ?? {};
  const tol = { atol: options.kernelTolerance?.atol ?? 1e-9, rtol: options.kernelTolerance?.rtol ?? 1e-9 };
  const f: GradcheckFn = (...xs: Var[]) => op(...xs);

  const run = (c: CheckOpCase): CheckOpFailure | null => {
    try {
      const kernel = custom ? checkKernels(custom, c.inputs, tol) : null;
      if (kernel) return { check: 'kernel', report: null, message: kernel };
      const first = gradcheck(f, c.inputs, gc);
      if (!first.ok) return { check: 'gradcheck', report: first, message: first.message };
      if (secondOrder) {
        const second = gradgradcheck(f, c.inputs, gc);
        if (!second.ok) return { check: 'gradgradcheck', report: second, message: second.message };
      }
      return null;
    } catch (e) {
      return { check: 'error', report: null, message: e instanceof Error ? e.message : String(e) };
    }
  };

  const details = fc.check(
    fc.property(arbCase(arity, options, what), (c) => {
      const failure = run(c);
      if (failure) throw new CaseFailed(failure);
    }),
    { numRuns, seed },
  );

  if (!details.failed) {
    const kernels = Object.keys(custom?.definition.kernels ?? {}).filter((b) => T.listBackends().includes(b));
    const checks = [
      ...kernels.map((b) => `the ${b} kernel`),
      'gradcheck',
      ...(secondOrder ? ['gradgradcheck'] : []),
    ];
    const orders = checks.length > 1 ? `${checks.slice(0, -1).join(', ')} and ${checks.at(-1)}` : checks[0];
    return {
      ok: true,
      op: name,
      numRuns: details.numRuns,
      numShrinks: 0,
      seed,
      counterexample: null,
      failure: null,
      message: `${what} passed: ${orders} at ${details.numRuns} random cases (fast-check seed ${seed})`,
    };
  }
  const [c] = details.counterexample!;
  const failure = run(c) ?? {
    check: 'error' as const,
    report: null,
    message: String(details.errorInstance),
  };
  const size = c.inputs.reduce((n, t) => n + t.size, 0);
  const message = [
    `${what} failed (fast-check seed ${seed}, after ${details.numRuns} case(s) and ${details.numShrinks} shrink(s)).`,
    `Smallest failing case (${c.inputs.length} input(s), ${size} element(s)):`,
    describeCase(c),
    failure.check === 'error'
      ? `It threw: ${failure.message}`
      : failure.check === 'kernel'
        ? `Kernel check failed: ${failure.message}`
        : failure.message,
    `Reproduce: ${reproduce(name, c, failure.check)}`,
  ].join('\n');
  return {
    ok: false,
    op: name,
    numRuns: details.numRuns,
    numShrinks: details.numShrinks,
    seed,
    counterexample: c,
    failure,
    message,
  };
}

/** Like {@link checkOp}, but throws an Error carrying the report's message on failure. */
export function assertCheckOp(op: GradcheckFn, options: CheckOpOptions = {}): CheckOpReport {
  const r = checkOp(op, options);
  if (!r.ok) throw new Error(r.message);
  return r;
}
