/**
 * @chainrule/nn: modules, layers, losses, optimisers and safetensors checkpoints.
 * @module
 */
export { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
export { decode, encode, load, loadSync, save, saveSync } from './checkpoint.ts';
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
