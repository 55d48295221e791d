/**
 * The kernel contract: the names of the kernels and the attributes each one receives.
 *
 * `ops.ts` (which validates and calls kernels) and every backend (which implements them)
 * import this file and nothing of each other, as tfjs-core's `kernel_names.ts` is shared by
 * its ops, gradients and backends. A backend never imports another backend.
 * @module
 */

/** The activations a fused kernel can apply (`fusedDense`, and the layers built on it). */
export const ACTIVATIONS = ['linear', 'relu', 'tanh', 'sigmoid'] as const;
/** One of {@link ACTIVATIONS}: `linear` is the identity. */
export type Activation = (typeof ACTIVATIONS)[number];

/** Attributes of `clip`. */
export interface ClipAttrs {
  min: number;
  max: number;
}

/** Attributes of the reductions `sum`, `max` and `min`: the axes, already normalised. */
export interface ReduceAttrs {
  axes: number[];
}

/** Attributes of `matmul`. */
export interface MatmulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/** Attributes of the fused dense forward `act(x @ W + b)`. */
export interface FusedDenseAttrs {
  activation: Activation;
}

/** Attributes of `transpose`: output dimension i is input dimension `perm[i]`. */
export interface TransposeAttrs {
  perm: number[];
}

/** Attributes of `slice`: where the block starts; its extent is the output's shape. */
export interface SliceAttrs {
  begin: number[];
}

/** Attributes of `pad`: `[before, after]` elements per dimension (non-negative), set to `value`. */
export interface PadAttrs {
  paddings: [number, number][];
  value: number;
}

/** Attributes of `concat`. */
export interface ConcatAttrs {
  axis: number;
}

/**
 * Attributes of `gather` and `scatterAdd`: flat indices along `axis`, already range-checked.
 * Read both tensors as [outer, n, inner] around `axis` (n the axis size or the index count).
 */
export interface IndexAttrs {
  indices: Int32Array;
  axis: number;
}

/**
 * Attributes of the fused Adam update (see `adamUpdate` in ops.ts): the fixed
 * hyperparameters. The step t and the learning rate are its last two inputs (0-d tensors),
 * after p, g, m, v (and vmax), so that a replay reads their current values.
 */
export interface AdamAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  amsgrad: boolean;
}

/** Attributes of `lerp`. */
export interface LerpAttrs {
  t: number;
}

/**
 * Attributes of the fused training-mode batch norm (`batchNorm`) and of its fused first-order
 * backward (`batchNormGrad`): the ε added to the biased batch variance.
 */
export interface BatchNormAttrs {
  eps: number;
}

/** No attributes. */
export type NoAttrs = Record<string, never>;

/** Attributes of `reshape` (an op without a kernel: it shares storage). */
export interface ReshapeAttrs {
  shape: number[];
}

/** One entry of {@link OPS}. `attrs` carries the attribute type only; at run time it is undefined. */
export interface OpEntry<A, Kind extends OpKind, Primitive extends boolean, HasKernel extends boolean> {
  /** The attributes the kernel receives (a type marker: no value at run time). */
  readonly attrs: A;
  /** unary / binary / comparison kernels are generated from one formula each; `other` are written out. */
  readonly kind: Kind;
  /** A primitive of @chainrule/autograd: it records the op and has exactly one gradient rule for it. */
  readonly primitive: Primitive;
  /** False for an op no backend implements (`reshape` shares storage). */
  readonly kernel: HasKernel;
}

/** The families of {@link OPS}. */
export type OpKind = 'unary' | 'binary' | 'comparison' | 'other';

const typeOnly = <A>(): A => undefined as A;
/** An elementwise unary primitive without attributes: `y = f(x)`. */
const unary = () => ({ attrs: typeOnly<NoAttrs>(), kind: 'unary', primitive: true, kernel: true }) as const;
/** An elementwise binary primitive, broadcasting as NumPy. */
const binary = () => ({ attrs: typeOnly<NoAttrs>(), kind: 'binary', primitive: true, kernel: true }) as const;
/** A comparison: broadcasting, 0 or 1; autograd treats its result as a constant. */
const comparison = () =>
  ({ attrs: typeOnly<NoAttrs>(), kind: 'comparison', primitive: false, kernel: true }) as const;
/** A primitive with attributes `A`: a kernel and one gradient rule. */
const primitive = <A = NoAttrs>() =>
  ({ attrs: typeOnly<A>(), kind: 'other', primitive: true, kernel: true }) as const;
/** A kernel that autograd does not differentiate (optimiser and target-network updates). */
const kernelOnly = <A = NoAttrs>() =>
  ({ attrs: typeOnly<A>(), kind: 'other', primitive: false, kernel: true }) as const;
/** A primitive of autograd with no kernel (a view of its input's storage). */
const viewOnly = <A = NoAttrs>() =>
  ({ attrs: typeOnly<A>(), kind: 'other', primitive: true, kernel: false }) as const;

/**
 * The contract: every op by name, with the attribute type its kernel receives and how
 * autograd treats it. Kernel names, the autograd primitives, the unary/binary/comparison lists
 * and the attribute types are all derived from this one record, so adding an op is one line
 * here (then its js kernel, its rule and its doc row; see docs/autograd.md, "Adding an op").
 */
export const OPS = {
  neg: unary(),
  exp: unary(),
  log: unary(),
  sqrt: unary(),
  square: unary(),
  abs: unary(),
  sign: unary(),
  reciprocal: unary(),
  tanh: unary(),
  sigmoid: unary(),
  relu: unary(),
  sin: unary(),
  cos: unary(),
  log1p: unary(),
  expm1: unary(),
  erf: unary(),
  clip: primitive<ClipAttrs>(),
  add: binary(),
  sub: binary(),
  mul: binary(),
  div: binary(),
  pow: binary(),
  maximum: binary(),
  minimum: binary(),
  atan2: binary(),
  equal: comparison(),
  notEqual: comparison(),
  less: comparison(),
  lessEqual: comparison(),
  greater: comparison(),
  greaterEqual: comparison(),
  where: primitive(),
  sum: primitive<ReduceAttrs>(),
  max: primitive<ReduceAttrs>(),
  min: primitive<ReduceAttrs>(),
  matmul: primitive<MatmulAttrs>(),
  fusedDense: primitive<FusedDenseAttrs>(),
  reshape: viewOnly<ReshapeAttrs>(),
  transpose: primitive<TransposeAttrs>(),
  broadcastTo: primitive(),
  slice: primitive<SliceAttrs>(),
  pad: primitive<PadAttrs>(),
  concat: primitive<ConcatAttrs>(),
  gather: primitive<IndexAttrs>(),
  scatterAdd: primitive<IndexAttrs>(),
  cast: primitive(),
  batchNorm: primitive<BatchNormAttrs>(),
  batchNormGrad: kernelOnly<BatchNormAttrs>(),
  increment: kernelOnly(),
  adamUpdate: kernelOnly<AdamAttrs>(),
  lerp: kernelOnly<LerpAttrs>(),
};

type Ops = typeof OPS;
/** The name of any op of the contract. */
export type OpName = keyof Ops;
type NamesWhere<P> = { [K in OpName]: Ops[K] extends P ? K : never }[OpName];

/** Every op of the contract, by name, with its attributes (`reshape`'s too, which has no kernel). */
export type OpAttrs = { [K in OpName]: Ops[K]['attrs'] };
/** The name of a built-in kernel. */
export type KernelName = NamesWhere<{ kernel: true }>;
/** Every built-in kernel, by name, with the attributes it receives. */
export type KernelAttrs = { [K in KernelName]: Ops[K]['attrs'] };
/** The name of an autograd primitive (an op with one gradient rule). */
export type PrimitiveName = NamesWhere<{ primitive: true }>;
/** One of {@link UNARY_OPS}. */
export type UnaryOp = NamesWhere<{ kind: 'unary' }>;
/** One of {@link BINARY_OPS}. */
export type BinaryOp = NamesWhere<{ kind: 'binary' }>;
/** One of {@link COMPARISON_OPS}. */
export type ComparisonOp = NamesWhere<{ kind: 'comparison' }>;

const names = <N extends OpName>(keep: (e: Ops[OpName]) => boolean): readonly N[] =>
  Object.freeze((Object.keys(OPS) as OpName[]).filter((k) => keep(OPS[k])) as N[]);

/** The names of all built-in kernels (custom ops must pick other names). */
export const KERNEL_NAMES: readonly KernelName[] = names<KernelName>((e) => e.kernel);
/** The autograd primitives, in the order of {@link OPS}. */
export const PRIMITIVE_NAMES: readonly PrimitiveName[] = names<PrimitiveName>((e) => e.primitive);
/** The elementwise unary kernels without attributes. */
export const UNARY_OPS: readonly UnaryOp[] = names<UnaryOp>((e) => e.kind === 'unary');
/** The elementwise binary kernels (NumPy broadcasting). */
export const BINARY_OPS: readonly BinaryOp[] = names<BinaryOp>((e) => e.kind === 'binary');
/** The comparison kernels: broadcasting, results are 0 or 1. */
export const COMPARISON_OPS: readonly ComparisonOp[] = names<ComparisonOp>((e) => e.kind === 'comparison');

/**
 * The attribute argument of a kernel call: optional for a kernel without attributes,
 * required (and checked) for the others.
 */
export type AttrsArg<K extends KernelName> = KernelAttrs[K] extends NoAttrs
  ? [attrs?: KernelAttrs[K]]
  : [attrs: KernelAttrs[K]];
