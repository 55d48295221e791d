/**
 * @chainrule/tensor/gpujs: the gpu.js backend. Importing this entry registers the `gpujs`
 * backend; select it with `setBackend('gpujs')`, `withBackend('gpujs', ...)` or
 * `CHAINRULE_BACKEND=gpujs`. gpu.js is an optional peer dependency (`npm install gpu.js`),
 * loaded when the backend is first used, in Node (its headless-gl or WebAssembly mode).
 * @module \@chainrule/tensor/gpujs
 */
export {
  GPUJS_MODES,
  type GpujsModeName,
  type GpujsStats,
  type GpujsStorage,
  gpujsLiveTextures,
  gpujsMode,
  gpujsStats,
} from './backends/gpujs/index.ts';
