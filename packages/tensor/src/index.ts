/**
 * @chainrule/tensor: tensors, shapes, broadcasting, a seeded RNG and a kernel registry
 * with pluggable backends. The `js` backend (plain loops) is the readable reference; `wasm`
 * (WebAssembly SIMD) is the default. This entry runs in Node and in browsers; the gpu.js
 * backend is a separate entry, `@chainrule/tensor/gpujs`.
 * @module \@chainrule/tensor
 */
import './backends/js.ts';

export {
  type Backend,
  backendByName,
  type CustomKernelConfig,
  DEFAULT_BACKEND,
  debugLog,
  getBackend,
  getBackendInfo,
  getFallbackCounts,
  getKernel,
  isKernelName,
  type KernelArgs,
  type KernelConfig,
  type KernelFn,
  type KernelFunc,
  type KernelSupports,
  listBackends,
  type RegisteredKernel,
  registerBackend,
  registerCustomKernel,
  registerKernel,
  resetFallbackCounts,
  type Storage,
  setBackend,
  setDebugLogger,
  unregisterCustomKernel,
  withBackend,
} from './backend.ts';
export { type JsStorage, jsBackend, jsData } from './backends/js.ts';
export {
  type SimdPath,
  setThreads,
  type ThreadsStatus,
  threadsReady,
  type WasmMemoryStats,
  wasmMemoryStats,
} from './backends/wasm/index.ts';
export {
  Replayable,
  type ReplayOptions,
  type ReplayStats,
  replayable,
  replayableVariants,
} from './capture.ts';
export { invalidateCaptures, notReplayable } from './capture-hooks.ts';
export {
  arange,
  type CreateOptions,
  eye,
  full,
  linspace,
  ones,
  onesLike,
  rand,
  randn,
  scalar,
  tensor,
  uniform,
  zeros,
  zerosLike,
} from './create.ts';
export {
  allocTyped,
  bytesPerElement,
  DTYPES,
  type DType,
  dtypeOf,
  isDType,
  type TypedArray,
} from './dtype.ts';
export { ChainruleError, fmtShape } from './errors.ts';
export * from './kernels.ts';
export { type BackendMemoryInfo, type MemoryInfo, memory } from './memory.ts';
export * from './ops.ts';
export { Rng, type RngState } from './rng.ts';
export { type OutSpec, runCustomKernel, runKernel } from './run.ts';
export { tidy } from './scope.ts';
export {
  assertValidShape,
  broadcastShapes,
  broadcastStrides,
  normalizeAxes,
  normalizeAxis,
  type Shape,
  shapesEqual,
  stridesOf,
} from './shape.ts';
export { inferReshape, keep, type NestedArray, Tensor, type TensorCounters } from './tensor.ts';
