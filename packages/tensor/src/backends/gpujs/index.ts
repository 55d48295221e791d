/**
 * The `gpujs` backend: float32 kernels generated for gpu.js (https://gpu.rocks) and run
 * in one of its modes. Not the default: select it with `setBackend('gpujs')`,
 * `withBackend('gpujs', ...)` or `CHAINRULE_BACKEND=gpujs`.
 *
 * The mode comes from `CHAINRULE_GPUJS_MODE` (`gpu`, `headlessgl`, `webgpu`, `webasm`,
 * `cpu`); unset, it is auto-detected: headless-gl when it can create a context and run a
 * test kernel, else gpu.js's `webasm` mode. Registering the backend is free: gpu.js is
 * loaded and a GPU created only when the backend is first used.
 * @module
 */
import { backendByName, registerBackend } from '../../backend.ts';
import { createGpujsBackend, GPUJS_MODES, type GpujsModeName, type GpujsStats, stats } from './backend.ts';
import './kernels.ts';

registerBackend('gpujs', createGpujsBackend);

export type { GpujsStats, GpujsStorage } from './backend.ts';
export { GPUJS_MODES, type GpujsModeName };

/** The gpu.js mode the `gpujs` backend runs in (`headlessgl`, `webasm` or `cpu`). Creates the backend if needed. */
export function gpujsMode(): string {
  return backendByName('gpujs').info!().mode as string;
}

/** Textures currently owned by gpujs tensors (0 outside the GL modes). Creates the backend if needed. */
export function gpujsLiveTextures(): number {
  backendByName('gpujs');
  return stats().liveTextures;
}

/** The gpujs backend's counters: live textures and storages, kernels compiled, cache hits. */
export function gpujsStats(): GpujsStats {
  backendByName('gpujs');
  return stats();
}
