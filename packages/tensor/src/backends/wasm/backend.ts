/**
 * The `wasm` backend object: tensors live in WebAssembly memory (see memory.ts) and the
 * kernels (kernels.ts) run hand-written SIMD code compiled from kernels/*.wat.
 *
 * The module is instantiated synchronously on first use of the backend. Storage is
 * released when its last tensor is disposed (by `tidy`, `dispose()` or, as a late
 * safety net, the garbage collector; see docs/memory.md).
 * @module
 */
import type { Backend, Storage } from '../../backend.ts';
import { bytesPerElement, type DType, type TypedArray } from '../../dtype.ts';
import { ChainruleError } from '../../errors.ts';
import type { Tensor } from '../../tensor.ts';
import { KERNELS_WASM_BASE64, KERNELS_WAT_SHA256 } from './kernels.wasm.ts';
import { WasmHeap, type WasmMemoryStats, wasmApi } from './memory.ts';

/** Storage of the `wasm` backend: a block of WebAssembly memory. */
export interface WasmStorage extends Storage {
  /** Byte offset of the elements in the memory; -1 once freed. 0 for an empty tensor. */
  ptr: number;
  /** Bytes used by the elements. */
  readonly bytes: number;
  /** The allocator's size class of the block (0: no block). */
  readonly cls: number;
}

/** An exported kernel: every argument is an i32 pointer/count or an f32. */
export type KernelFn = (...args: number[]) => number;

/** The live pieces of the backend: heap, compiled kernels and a reusable scratch block. */
export interface WasmRuntime {
  readonly heap: WasmHeap;
  /** The module's exports by name (`matmul`, `bin_add`, `un_exp`, `red_rows_sum`, ...). */
  readonly k: Readonly<Record<string, KernelFn>>;
  /** A scratch block of at least `bytes` bytes, valid until the next `scratch` call. May grow memory. */
  scratch(bytes: number): number;
}

let rt: WasmRuntime | undefined;

/** The runtime of the wasm backend; created with the backend. */
export function runtime(): WasmRuntime {
  if (!rt) throw new ChainruleError('wasm', 'the wasm backend has not been created yet');
  return rt;
}

function decodeBase64(b64: string): Uint8Array {
  if (typeof Buffer !== 'undefined') return new Uint8Array(Buffer.from(b64, 'base64'));
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function createRuntime(): WasmRuntime {
  const api = wasmApi;
  if (!api) throw new ChainruleError('wasm', 'WebAssembly is not available in this JavaScript engine');
  const heap = new WasmHeap();
  let module: object;
  try {
    module = new api.Module(decodeBase64(KERNELS_WASM_BASE64));
  } catch (e) {
    throw new ChainruleError(
      'wasm',
      `cannot compile the kernels (WebAssembly SIMD is required): ${(e as Error).message}`,
    );
  }
  const instance = new api.Instance(module, { env: { memory: heap.memory } });
  let scratchPtr = 0;
  let scratchCls = 0;
  return {
    heap,
    k: instance.exports as unknown as Record<string, KernelFn>,
    scratch(bytes: number): number {
      if (bytes > scratchCls) {
        heap.free(scratchPtr, scratchCls);
        const b = heap.alloc(bytes, false);
        scratchPtr = b.ptr;
        scratchCls = b.cls;
      }
      return scratchPtr;
    },
  };
}

/** The pointer of a wasm tensor's elements. */
export function ptrOf(t: Tensor): number {
  return (t.storage as WasmStorage).ptr;
}

/** A fresh view of a wasm tensor's elements (Float32Array or Float64Array by dtype). */
export function viewOf(t: Tensor): TypedArray {
  const heap = runtime().heap;
  const p = ptrOf(t);
  return t.dtype === 'float64' ? heap.f64(p, t.size) : heap.f32(p, t.size);
}

function checkLive(s: WasmStorage): void {
  if (s.ptr < 0) throw new ChainruleError('wasm', 'storage used after it was freed');
}

/** Create the `wasm` backend (the registry calls this once, on first use). */
export function createWasmBackend(): Backend {
  rt ??= createRuntime();
  const { heap } = rt;
  const backend: Backend = {
    name: 'wasm',
    alloc(dtype: DType, size: number): WasmStorage {
      const bytes = size * bytesPerElement(dtype);
      const { ptr, cls } = heap.alloc(bytes, true);
      return { backend, refs: 0, ptr, bytes, cls };
    },
    fromTyped(data: TypedArray): WasmStorage {
      const { ptr, cls } = heap.alloc(data.byteLength, false);
      if (data instanceof Float64Array) heap.f64(ptr, data.length).set(data);
      else heap.f32(ptr, data.length).set(data);
      return { backend, refs: 0, ptr, bytes: data.byteLength, cls };
    },
    read(storage: Storage, dtype: DType, size: number): TypedArray {
      const s = storage as WasmStorage;
      checkLive(s);
      return dtype === 'float64' ? heap.f64(s.ptr, size).slice() : heap.f32(s.ptr, size).slice();
    },
    free(storage: Storage): void {
      const s = storage as WasmStorage;
      if (s.ptr < 0) return;
      heap.free(s.ptr, s.cls);
      s.ptr = -1;
    },
    supportsDType: () => true,
    memory() {
      const m = heap.stats();
      return {
        wasmMemoryBytes: m.memoryBytes,
        wasmBytesInUse: m.bytesInUse,
        wasmBytesPooled: m.bytesPooled,
        wasmGrowCount: m.growCount,
      };
    },
    info() {
      return {
        description: 'hand-written WebAssembly SIMD kernels (float32; float64 math falls back to js)',
        simd: true,
        kernelsSha256: KERNELS_WAT_SHA256,
        memory: heap.stats(),
      };
    },
  };
  return backend;
}

/** Allocator and memory counters of the wasm backend (creates the backend if needed). */
export function wasmHeapStats(): WasmMemoryStats {
  rt ??= createRuntime();
  return rt.heap.stats();
}
