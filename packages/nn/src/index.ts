/**
 * @chainrule/nn: modules, layers, losses, optimisers and safetensors checkpoints as bytes
 * (`encode`/`decode`). This entry runs in Node and in browsers; checkpoint files and atomic
 * writes are in `@chainrule/nn/node`.
 * @module \@chainrule/nn
 */
export { decode, encode } from './checkpoint.ts';
export {
  type BceWithLogitsOptions,
  bceWithLogitsLoss,
  type CrossEntropyOptions,
  crossEntropyLoss,
  type NllLossOptions,
  nllLoss,
} from './classification.ts';
export { type Init, initTensor } from './init.ts';
export {
  type Activation,
  BatchNorm1d,
  type BatchNormOptions,
  LayerNorm,
  type LayerNormOptions,
  LeakyReLU,
  Linear,
  type LinearOptions,
  leakyRelu,
  ReLU,
  relu,
  Sequential,
  Sigmoid,
  sigmoid,
  Tanh,
  tanh,
} from './layers.ts';
export { huberLoss, mseLoss, type Reduction, smoothL1Loss } from './losses.ts';
export { Module, type StateDict } from './module.ts';
export {
  Adam,
  type AdamOptions,
  type ClipGradNormOptions,
  clipGradNorm,
  hardUpdate,
  Optimizer,
  type OptimizerState,
  SGD,
  type SGDOptions,
  softUpdate,
} from './optim.ts';
export * from './safetensors.ts';
