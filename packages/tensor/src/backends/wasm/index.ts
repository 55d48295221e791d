/**
 * The `wasm` backend: tensors in WebAssembly memory, float32 kernels hand-written in
 * WebAssembly SIMD (kernels/*.wat, compiled by `pnpm build:wasm`). Not the default: select
 * it with `setBackend('wasm')`, `withBackend('wasm', ...)` or `CHAINRULE_BACKEND=wasm`.
 * @module
 */
import { backendByName, registerBackend } from '../../backend.ts';
import { createWasmBackend, wasmHeapStats } from './backend.ts';

export { type SimdPath, setThreads, type ThreadsStatus, threadsReady } from './backend.ts';

import type { WasmMemoryStats } from './memory.ts';
import './kernels.ts';

registerBackend('wasm', createWasmBackend);

export type { WasmStorage } from './backend.ts';
export type { WasmMemoryStats } from './memory.ts';

/**
 * The wasm backend's memory counters: bytes and blocks in use, pooled (freed, awaiting
 * reuse), the WebAssembly memory size and how often it grew. Creates the backend if needed.
 */
export function wasmMemoryStats(): WasmMemoryStats {
  backendByName('wasm');
  return wasmHeapStats();
}
