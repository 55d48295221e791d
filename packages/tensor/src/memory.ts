/**
 * `memory()`: what is alive right now, like tfjs's `tf.memory()`. Tests assert on it to
 * prove that a loop holds flat memory; users print it to find a leak.
 * @module
 */
import { type TensorCounters, tensorCounters } from './tensor.ts';

/** The counters of one backend, plus the backend's own figures (see {@link memory}). */
export type BackendMemoryInfo = TensorCounters & Record<string, number>;

/** The result of {@link memory}. */
export interface MemoryInfo extends TensorCounters {
  /** The same counters per backend that has held a tensor, with each backend's own figures. */
  readonly backends: Record<string, BackendMemoryInfo>;
}

/**
 * Live tensors and bytes, in total and per backend: `numTensors` (not yet disposed or
 * garbage-collected), `numDataBuffers` (distinct storages: a `reshape` view shares its
 * source's), `numBytes` (element bytes in those storages) and `numVariables`. Backends add
 * their own figures: `wasm` reports `wasmMemoryBytes` (the size of its WebAssembly memory,
 * which never shrinks), `wasmBytesInUse` and `wasmBytesPooled` (freed blocks kept for
 * reuse); `gpujs` reports `gpujsLiveTextures`.
 */
export function memory(): MemoryInfo {
  const total = { numTensors: 0, numDataBuffers: 0, numBytes: 0, numVariables: 0 };
  const backends: Record<string, BackendMemoryInfo> = {};
  for (const [backend, c] of tensorCounters()) {
    total.numTensors += c.numTensors;
    total.numDataBuffers += c.numDataBuffers;
    total.numBytes += c.numBytes;
    total.numVariables += c.numVariables;
    backends[backend.name] = { ...c, ...(backend.memory ? backend.memory() : {}) };
  }
  return { ...total, backends };
}
