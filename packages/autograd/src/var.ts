/**
 * `Var`: a differentiable value. It wraps a `Tensor` and, when it was computed from other
 * Vars that require gradients, remembers the {@link Node} that made it.
 *
 * This file holds the recorder's state: whether gradients are being recorded (`noGrad`)
 * and whether anomaly mode is on.
 * @module
 */
import {
  ChainruleError,
  type DType,
  invalidateCaptures,
  keep,
  type NestedArray,
  type Tensor,
  tensor,
} from '@chainrule/tensor';
import * as ops from './ops.ts';

let nextId = 1;

/** One recorded op application: the op, its inputs, attributes and what backward needs. */
export interface Node {
  /** A number unique within the process, for pictures and traces. */
  readonly id: number;
  /** The op name: a primitive's key into the gradient table (`rules.ts`), or a `defineOp` name. */
  readonly op: string;
  /** The op's attributes (axes, transpose flags, ...). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** The input Vars. Set to `null` when backward frees the graph. */
  inputs: Var[] | null;
  /** The Var this node produced, for rules that reuse the output (exp, tanh, ...). `null` once freed. */
  output: Var | null;
  /** The forward call site, captured only in anomaly mode. */
  readonly stack: string | undefined;
}

/**
 * A differentiable value: a tensor plus the graph that produced it.
 *
 * - A **leaf** has no creator node: parameters you make with `param`, data with `input`/`constant`.
 * - `requiresGrad` says whether gradients flow into it. Ops whose inputs do not require
 *   gradients record nothing.
 * - `grad` accumulates on leaves across `backward()` calls, as in PyTorch.
 */
export class Var {
  /** A number unique within the process. */
  readonly id: number;
  private _value: Tensor;
  /** The node that produced this Var, or `null` for a leaf or a value computed without recording. */
  readonly node: Node | null;
  /** Whether gradients flow into this Var. */
  requiresGrad: boolean;
  /** The accumulated gradient of a leaf after `backward()`; a plain tensor (detached). */
  grad: Tensor | null = null;
  /** An optional name for pictures and traces, for example `fc1.weight`. */
  name: string | undefined;

  /** Most code uses `param`, `input`, `constant` or the ops rather than this constructor. */
  constructor(value: Tensor, options: { requiresGrad?: boolean; node?: Node | null; name?: string } = {}) {
    this.id = nextId++;
    this._value = value;
    this.node = options.node ?? null;
    this.requiresGrad = options.requiresGrad ?? this.node !== null;
    this.name = options.name;
  }

  /** The value. A parameter's value is a variable (see `param`): update it in place with `value.assign(t)`. */
  get value(): Tensor {
    return this._value;
  }
  /**
   * Replace the value. When the old value is a variable (a parameter's), the new one is made
   * a variable too, so a parameter stays long-lived; the old tensor is not disposed.
   */
  set value(t: Tensor) {
    if (this._value.isVariable) {
      keep(t);
      // Captured updates (T.replayable) hold the old variable object: capture them again.
      invalidateCaptures();
    }
    this._value = t;
  }

  /** True when no recorded op produced this Var. */
  get isLeaf(): boolean {
    return this.node === null;
  }
  /** The shape of the value. */
  get shape(): readonly number[] {
    return this.value.shape;
  }
  /** The dtype of the value. */
  get dtype(): DType {
    return this.value.dtype;
  }
  /** The rank of the value. */
  get rank(): number {
    return this.value.rank;
  }
  /** The number of elements. */
  get size(): number {
    return this.value.size;
  }

  /** A new leaf with the same value that does not require gradients: cuts the graph. */
  detach(): Var {
    return new Var(this.value, { requiresGrad: false, name: this.name });
  }

  /**
   * Backpropagate from this Var, accumulating into `.grad` of every leaf that requires it.
   * @param seed the gradient of some scalar with respect to this Var; required unless this
   *   Var has exactly one element (then it defaults to 1).
   */
  backward(seed?: Var | Tensor, options: { retainGraph?: boolean } = {}): void {
    backwardHook(this, seed, options);
  }

  /** The value as nested arrays. */
  toArray(): NestedArray {
    return this.value.toArray();
  }
  /** The single element as a number. */
  item(): number {
    return this.value.item();
  }
  /** A readable rendering. */
  toString(): string {
    const head = `Var#${this.id}${this.name ? ` "${this.name}"` : ''}${this.node ? ` <${this.node.op}>` : ''}${this.requiresGrad ? ' requiresGrad' : ''}`;
    return `${head}\n${this.value.toString()}`;
  }

  // Method forms of the differentiable ops, for readable chains: x.matmul(w).add(b).relu()
  /** {@link ops.add} */ add(b: Var | number): Var {
    return ops.add(this, b);
  }
  /** {@link ops.sub} */ sub(b: Var | number): Var {
    return ops.sub(this, b);
  }
  /** {@link ops.mul} */ mul(b: Var | number): Var {
    return ops.mul(this, b);
  }
  /** {@link ops.div} */ div(b: Var | number): Var {
    return ops.div(this, b);
  }
  /** {@link ops.pow} */ pow(b: Var | number): Var {
    return ops.pow(this, b);
  }
  /** {@link ops.neg} */ neg(): Var {
    return ops.neg(this);
  }
  /** {@link ops.exp} */ exp(): Var {
    return ops.exp(this);
  }
  /** {@link ops.log} */ log(): Var {
    return ops.log(this);
  }
  /** {@link ops.sqrt} */ sqrt(): Var {
    return ops.sqrt(this);
  }
  /** {@link ops.square} */ square(): Var {
    return ops.square(this);
  }
  /** {@link ops.abs} */ abs(): Var {
    return ops.abs(this);
  }
  /** {@link ops.tanh} */ tanh(): Var {
    return ops.tanh(this);
  }
  /** {@link ops.sigmoid} */ sigmoid(): Var {
    return ops.sigmoid(this);
  }
  /** {@link ops.relu} */ relu(): Var {
    return ops.relu(this);
  }
  /** {@link ops.matmul} */ matmul(b: Var, options?: ops.MatmulOptions): Var {
    return ops.matmul(this, b, options);
  }
  /** {@link ops.sum} */ sum(axes?: ops.Axes, keepDims = false): Var {
    return ops.sum(this, axes, keepDims);
  }
  /** {@link ops.mean} */ mean(axes?: ops.Axes, keepDims = false): Var {
    return ops.mean(this, axes, keepDims);
  }
  /** {@link ops.max} */ max(axes?: ops.Axes, keepDims = false): Var {
    return ops.max(this, axes, keepDims);
  }
  /** {@link ops.reshape} */ reshape(shape: readonly number[]): Var {
    return ops.reshape(this, shape);
  }
  /** {@link ops.transpose} */ transpose(perm?: readonly number[]): Var {
    return ops.transpose(this, perm);
  }
}

// The engine registers itself here, so that var.ts does not import engine.ts (which imports var.ts).
let backwardHook: (y: Var, seed: Var | Tensor | undefined, options: { retainGraph?: boolean }) => void =
  () => {
    throw new ChainruleError(
      'backward',
      'the autograd engine is not loaded; import from @chainrule/autograd',
    );
  };
/** @internal Used by engine.ts. */
export function setBackwardHook(fn: typeof backwardHook): void {
  backwardHook = fn;
}

// ---------------------------------------------------------------- recorder state

let gradEnabled = true;
let anomalyMode = false;

/** True unless inside `noGrad`. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording: results of ops have no creator and do not require gradients. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Run `fn` with recording on (undoes an enclosing `noGrad`). */
export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when anomaly mode is on. */
export function isAnomalyMode(): boolean {
  return anomalyMode;
}

/** Turn anomaly mode on or off globally. Prefer {@link detectAnomaly}. */
export function setAnomalyMode(on: boolean): void {
  anomalyMode = on;
}

/**
 * Run `fn` in anomaly mode: every op checks its result, and every gradient rule checks
 * its gradients, for NaN or Infinity. The first one found throws an error that names the
 * op and the forward call site (captured when the op ran).
 */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = anomalyMode;
  anomalyMode = true;
  try {
    return fn();
  } finally {
    anomalyMode = prev;
  }
}

/** @internal Make a node (used by ops.ts). */
export function makeNode(op: string, inputs: Var[], attrs: Record<string, unknown>): Node {
  let stack: string | undefined;
  if (anomalyMode) {
    const raw = new Error().stack ?? '';
    stack = raw
      .split('\n')
      .slice(1)
      // The recorder's own frames, from the sources or the built package (dist/*.js).
      .filter((l) => !/autograd[/\\](src|dist)[/\\](var|ops|engine|defineOp)\.[jt]s/.test(l))
      .join('\n');
  }
  return { id: nextId++, op, attrs, inputs, output: null, stack };
}

// ---------------------------------------------------------------- constructors

/** Options for {@link input} (and {@link constant} and {@link param}, which fix `requiresGrad`). */
export interface VariableOptions {
  /** Whether gradients flow into this leaf (default false; `param` sets true). */
  requiresGrad?: boolean;
  /** A name for pictures and traces. */
  name?: string;
  /** The dtype when building from numbers (default float32). */
  dtype?: DType;
}

/** What a leaf can be made from: a tensor, nested numbers or a typed array. */
export type LeafValue = Tensor | NestedArray | Float32Array | Float64Array;

/**
 * A data leaf: inputs, targets, observations. Its tensor is an ordinary one (`tidy` releases
 * it with the scope that made it), unlike {@link param}'s. Pass `requiresGrad: true` to take
 * gradients with respect to the data itself (a saliency map, the action in DDPG's actor update).
 */
export function input(value: LeafValue, options: VariableOptions = {}): Var {
  const t = isTensor(value) ? value : tensor(value as NestedArray, { dtype: options.dtype });
  return new Var(t, { requiresGrad: options.requiresGrad ?? false, name: options.name });
}

/** A data leaf that never takes a gradient: {@link input} with `requiresGrad: false`. */
export function constant(value: LeafValue, options: Omit<VariableOptions, 'requiresGrad'> = {}): Var {
  return input(value, { ...options, requiresGrad: false });
}

/**
 * A data leaf: the old name of {@link input}.
 * @deprecated "Variable" means a kept, long-lived tensor elsewhere (`keep`, `assign`, tfjs's
 * `tf.variable`), which this is not: `tidy` releases it. Use {@link input} or {@link constant}
 * for data and {@link param} for trainable, kept tensors. To be removed in the next release.
 */
export function variable(value: LeafValue, options: VariableOptions = {}): Var {
  return input(value, options);
}

/**
 * A trainable parameter: a leaf Var that requires gradients, whose value is made a long-lived
 * tensor variable (`keep()` in @chainrule/tensor), as tfjs's `tf.variable`: no `tidy` scope
 * releases it, and optimisers update it in place with `assign()`.
 */
export function param(value: LeafValue, options: Omit<VariableOptions, 'requiresGrad'> = {}): Var {
  const v = input(value, { ...options, requiresGrad: true });
  keep(v.value);
  return v;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'dataSync' in v && 'shape' in v && 'dtype' in v;
}

/** Stop gradients flowing into these leaves (set `requiresGrad = false`). */
export function freeze(vars: Iterable<Var>): void {
  for (const v of vars) v.requiresGrad = false;
}

/** Let gradients flow into these leaves again. */
export function unfreeze(vars: Iterable<Var>): void {
  for (const v of vars) v.requiresGrad = true;
}

/** Clear `.grad` on each Var. */
export function zeroGrad(vars: Iterable<Var>): void {
  for (const v of vars) v.grad = null;
}
