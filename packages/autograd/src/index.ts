/**
 * @chainrule/autograd: a minimal reverse-mode autograd over @chainrule/tensor.
 *
 * Read it in this order: `var.ts` (the value and the recorder's state), `ops.ts` (the
 * recorder: each op computes and records a node), `rules.ts` (the gradient table: the
 * chain rule, one entry per op), `engine.ts` (the backward pass). `defineOp.ts` adds ops,
 * with their rules, from outside.
 * @module \@chainrule/autograd
 */

export {
  elu,
  type GeluOptions,
  gelu,
  logSoftmax,
  logsumexp,
  rsqrt,
  type SoftplusOptions,
  selu,
  silu,
  softmax,
  softplus,
} from './composites.ts';
export {
  type CustomOp,
  customOpNames,
  type DefineOpOptions,
  defineOp,
  type OpDefinition,
} from './defineOp.ts';
export {
  backward,
  formatTrace,
  type GradOptions,
  grad,
  type TraceStep,
  traceBackward,
  type Unbroadcast,
  unbroadcast,
} from './engine.ts';
export { valueAndGrad, vjp } from './functional.ts';
export * from './ops.ts';
export { GRAD_RULES, type GradRule, type RuleContext } from './rules.ts';
export {
  constant,
  detectAnomaly,
  enableGrad,
  freeze,
  input,
  isAnomalyMode,
  isGradEnabled,
  type LeafValue,
  type Node,
  noGrad,
  param,
  setAnomalyMode,
  unfreeze,
  Var,
  type VariableOptions,
  variable,
  zeroGrad,
} from './var.ts';
export { toDot, toMermaid } from './viz.ts';
