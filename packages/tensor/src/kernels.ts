/**
 * The kernel contract: the names of the kernels and the attributes each one receives.
 *
 * `ops.ts` (which validates and calls kernels) and every backend (which implements them)
 * import this file and nothing of each other, as tfjs-core's `kernel_names.ts` is shared by
 * its ops, gradients and backends. A backend never imports another backend.
 * @module
 */

/** The elementwise unary kernels without attributes. */
export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'square',
  'abs',
  'sign',
  'reciprocal',
  'tanh',
  'sigmoid',
  'relu',
] as const;
/** One of {@link UNARY_OPS}. */
export type UnaryOp = (typeof UNARY_OPS)[number];

/** The elementwise binary kernels (NumPy broadcasting). */
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const;
/** One of {@link BINARY_OPS}. */
export type BinaryOp = (typeof BINARY_OPS)[number];

/** The comparison kernels: broadcasting, results are 0 or 1. */
export const COMPARISON_OPS = ['equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual'] as const;
/** One of {@link COMPARISON_OPS}. */
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

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

/** Attributes of `pad`: `[before, after]` zeros per dimension. */
export interface PadAttrs {
  paddings: [number, number][];
}

/** Attributes of `concat`. */
export interface ConcatAttrs {
  axis: number;
}

/** Attributes of `gather` and `scatterAdd`: row indices, already range-checked. */
export interface IndexAttrs {
  indices: Int32Array;
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

/** No attributes. */
export type NoAttrs = Record<string, never>;

/**
 * Every built-in kernel, by name, with the attributes it receives. A backend may implement
 * any subset; ops fall back to the `js` reference kernel for the rest (see `run.ts`).
 */
export interface KernelAttrs
  extends Record<UnaryOp | BinaryOp | ComparisonOp, NoAttrs>,
    Record<'sum' | 'max' | 'min', ReduceAttrs>,
    Record<'gather' | 'scatterAdd', IndexAttrs> {
  clip: ClipAttrs;
  where: NoAttrs;
  matmul: MatmulAttrs;
  fusedDense: FusedDenseAttrs;
  transpose: TransposeAttrs;
  broadcastTo: NoAttrs;
  slice: SliceAttrs;
  pad: PadAttrs;
  concat: ConcatAttrs;
  cast: NoAttrs;
  increment: NoAttrs;
  adamUpdate: AdamAttrs;
  lerp: LerpAttrs;
}

/** The name of a built-in kernel. */
export type KernelName = keyof KernelAttrs;

/** The names of all built-in kernels (custom ops must pick other names). */
export const KERNEL_NAMES: readonly KernelName[] = [
  ...UNARY_OPS,
  'clip',
  ...BINARY_OPS,
  ...COMPARISON_OPS,
  'where',
  'sum',
  'max',
  'min',
  'matmul',
  'fusedDense',
  'transpose',
  'broadcastTo',
  'slice',
  'pad',
  'concat',
  'gather',
  'scatterAdd',
  'cast',
  'increment',
  'adamUpdate',
  'lerp',
] satisfies readonly KernelName[];
