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
import { KERNELS_WASM_BASE64, KERNELS_WAT_SHA256, SHARED_MAX_PAGES } from './kernels.wasm.ts';
import { WasmHeap, type WasmMemoryStats, wasmApi } from './memory.ts';
import {
  coreCount,
  MAX_CALL_BLOCKS,
  partition,
  type Scratch,
  threadsUnavailable,
  WorkerPool,
} from './threads.ts';

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

/**
 * The SIMD path of the kernels: `fma` (relaxed SIMD: `f32x4.relaxed_madd`, a fused
 * multiply-add where the hardware has one) or `simd` (a multiply, then an add).
 */
export type SimdPath = 'simd' | 'fma';
const PATHS: readonly SimdPath[] = ['simd', 'fma'];

/** The live pieces of the backend: heap, compiled kernels, threads and scratch. */
export interface WasmRuntime {
  readonly heap: WasmHeap;
  /** The exports of the active path's module by name (`matmul`, `bin_add`, `un_exp`, ...). */
  readonly k: Readonly<Record<string, KernelFn>>;
  /** The active SIMD path. */
  readonly path: SimdPath;
  /** The paths this engine runs (`simd` always; `fma` where relaxed SIMD validates). */
  readonly paths: readonly SimdPath[];
  /** Threads that matmul uses above the threshold (1: no worker pool). */
  readonly threads: number;
  /** Why threads are unavailable, if they are. */
  readonly threadsNote: string | undefined;
  /** A scratch block of at least `bytes` bytes, valid until the next `scratch` call. May grow memory. */
  scratch(bytes: number): number;
  /**
   * C = act(A' B' + bias) with the `matmul` export's first 13 arguments (packA/packB are
   * taken here), split across threads when 2mkn reaches the threshold.
   */
  /**
   * Call the export `name` over `count` units of work: `args(i0, i1)` gives its arguments
   * for units [i0, i1). With threads, and when the work is at least the threshold's number
   * of elements (`elements`, see setParallelElements), the units are cut into a few
   * contiguous pieces whose bounds are multiples of `align` (so that only the last piece
   * has a SIMD tail), run by the caller and the workers; otherwise one call. The pieces
   * must write disjoint memory and not depend on each other, so results never depend on
   * the thread count.
   */
  split(
    name: string,
    count: number,
    align: number,
    elements: number,
    args: (i0: number, i1: number) => number[],
  ): void;
  /**
   * Call the export `name` once for each of `count` fixed pieces of work, `args(i)` giving
   * piece i's arguments: across threads when there are threads, at least two pieces, at
   * most MAX_CALL_BLOCKS, and `elements` reaches the threshold; else in order here. The
   * pieces are the same for any thread count (a reduction's fixed blocks), so results are too.
   */
  each(name: string, count: number, elements: number, args: (i: number) => number[]): void;
  matmul(
    a: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    ta: number,
    tb: number,
    kc: number,
    bias: number,
    act: number,
  ): void;
}

let rt: Runtime | undefined;
/** setThreads() before the backend exists: applied when it is created. */
let requestedThreads: number | undefined;
/** Flops (2mkn) from which matmul uses threads; measured with `pnpm bench` (see setParallelThreshold). */
let parallelFlops = 4_000_000;
/**
 * Elements from which elementwise, Adam, lerp and reduction kernels are split across
 * threads: below it the hand-off (about 5-20 µs) costs more than half the kernel saves.
 * Measured with bench/src/split-threshold.ts (see bench/README.md).
 */
let parallelElems = 16384;
/**
 * Blocks per thread in a parallel matmul: more than one, so that a thread that starts
 * late (a busy machine) leaves its blocks to the others instead of holding them up.
 */
let blocksPerThread = 1;

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

/**
 * Let V8 validate relaxed SIMD where it is still behind a flag (Node 20); the flag must be
 * set before the module is compiled. Newer engines have it on; browsers ignore this.
 */
function enableRelaxedSimd(): void {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  try {
    const v8 = proc?.getBuiltinModule?.('node:v8') as
      | { setFlagsFromString?: (f: string) => void }
      | undefined;
    v8?.setFlagsFromString?.('--experimental-wasm-relaxed-simd');
  } catch {
    // Not Node, or flags locked: feature detection below decides.
  }
}

/** `CHAINRULE_WASM_SIMD`, if set: the path to force. */
function envPath(): SimdPath | undefined {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.CHAINRULE_WASM_SIMD;
  if (v === undefined || v === '') return undefined;
  if (v !== 'simd' && v !== 'fma') {
    throw new ChainruleError('CHAINRULE_WASM_SIMD', `expected "simd" or "fma", got ${JSON.stringify(v)}`);
  }
  return v;
}

/** `CHAINRULE_THREADS`, if set: a whole number ≥ 1. */
function envThreads(): number | undefined {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.CHAINRULE_THREADS;
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new ChainruleError(
      'CHAINRULE_THREADS',
      `expected a whole number of threads ≥ 1, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/** Check a thread count from the API. */
export function checkThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new ChainruleError('setThreads', `expected a whole number of threads ≥ 1, got ${n}`);
  }
  return n;
}

interface Runtime extends WasmRuntime {
  path: SimdPath;
  k: Readonly<Record<string, KernelFn>>;
  threads: number;
  readonly instances: Partial<Record<SimdPath, Record<string, KernelFn>>>;
  readonly pool: WorkerPool | undefined;
}

function createRuntime(): Runtime {
  const api = wasmApi;
  if (!api) throw new ChainruleError('wasm', 'WebAssembly is not available in this JavaScript engine');
  const forced = envPath();
  const wanted = requestedThreads ?? envThreads() ?? coreCount();
  const threadsNote = threadsUnavailable();
  const memKind = threadsNote === undefined ? 'shared' : 'local';
  enableRelaxedSimd();
  // Feature detection: the fma module itself must validate (relaxed SIMD, and shared
  // memory when chosen); the simd one is the fallback that every SIMD engine runs.
  const bytes = (path: SimdPath) => decodeBase64(KERNELS_WASM_BASE64[`${path}_${memKind}`]);
  const fmaBytes = bytes('fma');
  const paths: SimdPath[] = api.validate(fmaBytes) ? ['simd', 'fma'] : ['simd'];
  if (forced && !paths.includes(forced)) {
    throw new ChainruleError(
      'CHAINRULE_WASM_SIMD',
      `"${forced}" was asked for, but this engine does not validate relaxed SIMD (f32x4.relaxed_madd); use "simd" or unset it`,
    );
  }
  const heap = new WasmHeap(32, memKind === 'shared' ? SHARED_MAX_PAGES : undefined);
  const modules: Partial<Record<SimdPath, object>> = {};
  const instances: Partial<Record<SimdPath, Record<string, KernelFn>>> = {};
  for (const path of paths) {
    try {
      modules[path] = new api.Module(path === 'fma' ? fmaBytes : bytes(path));
    } catch (e) {
      throw new ChainruleError(
        'wasm',
        `cannot compile the ${path} kernels (WebAssembly SIMD is required): ${(e as Error).message}`,
      );
    }
    instances[path] = new api.Instance(modules[path]!, { env: { memory: heap.memory } })
      .exports as unknown as Record<string, KernelFn>;
  }
  const path = forced ?? paths[paths.length - 1]!;
  heap.zeroFill = instances.simd!.zero as (ptr: number, bytes: number) => void;
  const pool =
    threadsNote === undefined
      ? new WorkerPool(
          PATHS.map((p) => modules[p]),
          heap.memory,
          Object.keys(instances.simd!),
        )
      : undefined;
  let scratchPtr = 0;
  let scratchCls = 0;
  const threadScratch: { ptr: number; cls: number }[] = [];
  const r: Runtime = {
    heap,
    k: instances[path]!,
    path,
    paths,
    threads: 1,
    threadsNote,
    instances,
    pool,
    scratch(bytes: number): number {
      if (bytes > scratchCls) {
        heap.free(scratchPtr, scratchCls);
        const b = heap.alloc(bytes, false);
        scratchPtr = b.ptr;
        scratchCls = b.cls;
      }
      return scratchPtr;
    },
    split(name, count, align, elements, args) {
      if (r.threads < 2 || !pool || elements < parallelElems || count < 2 * align) {
        r.k[name]!(...args(0, count));
        return;
      }
      // Twice as many pieces as threads: a thread that starts late leaves its second
      // piece to the others.
      const units = Math.ceil(count / align);
      const parts = Math.min(units, r.threads * 2);
      const blocks: number[][] = [];
      for (let p = 0; p < parts; p++) {
        const i0 = Math.floor((p * units) / parts) * align;
        const i1 = Math.min(count, Math.floor(((p + 1) * units) / parts) * align);
        if (i1 > i0) blocks.push(args(i0, i1));
      }
      if (pool.size !== r.threads - 1) pool.resize(r.threads - 1);
      const kernels = r.k;
      const f = kernels[name]!;
      pool.runCalls(PATHS.indexOf(r.path), name, blocks, (a) => f(...a));
    },
    each(name, count, elements, args) {
      const f = r.k[name]!;
      if (r.threads < 2 || !pool || elements < parallelElems || count < 2 || count > MAX_CALL_BLOCKS) {
        for (let i = 0; i < count; i++) f(...args(i));
        return;
      }
      const blocks: number[][] = [];
      for (let i = 0; i < count; i++) blocks.push(args(i));
      if (pool.size !== r.threads - 1) pool.resize(r.threads - 1);
      pool.runCalls(PATHS.indexOf(r.path), name, blocks, (a) => f(...a));
    },
    matmul(a, b, c, m, k, n, ta, tb, kc, bias, act) {
      const kcEff = Math.max(1, Math.min(k, kc));
      const blocks =
        r.threads > 1 && pool && 2 * m * k * n >= parallelFlops
          ? partition(m, n, r.threads * blocksPerThread)
          : undefined;
      if (!blocks || blocks.length < 2) {
        const aBytes = Math.ceil(m / 4) * 4 * kcEff * 4;
        const packA = r.scratch(aBytes + 8 * kcEff * 4);
        r.k.matmul!(a, b, c, m, k, n, ta, tb, packA, packA + aBytes, kc, bias, act, 0, m, 0, n, 256);
        return;
      }
      // Each thread packs its own rows of A and its own panels of B: scratch per thread,
      // sized for the largest block, all taken before any thread starts (taking it may
      // grow the memory).
      let rows = 0;
      for (const blk of blocks) rows = Math.max(rows, blk.i1 - blk.i0);
      const aBytes = Math.ceil(rows / 4) * 4 * kcEff * 4;
      const need = aBytes + 8 * kcEff * 4 + 128;
      const scratch: Scratch[] = [];
      for (let t = 0; t < r.threads; t++) {
        let sc = threadScratch[t];
        if (!sc || sc.cls < need) {
          if (sc) heap.free(sc.ptr, sc.cls);
          sc = heap.alloc(need, false);
          threadScratch[t] = sc;
        }
        scratch.push([sc.ptr, sc.ptr + aBytes, sc.ptr + aBytes + 8 * kcEff * 4]);
      }
      if (pool!.size !== r.threads - 1) pool!.resize(r.threads - 1);
      const kernels = r.k;
      pool!.runMatmul(
        PATHS.indexOf(r.path),
        [a, b, c, m, k, n, ta, tb, 0, 0, kc, bias, act],
        blocks,
        scratch,
        (args) => kernels.matmul!(...args),
      );
    },
  };
  setRuntimeThreads(r, wanted);
  return r;
}

/**
 * Record the thread count. Workers start on the first product big enough to use them (a
 * program of small products never pays for starting them); extra ones are parked at once.
 */
function setRuntimeThreads(r: Runtime, n: number): void {
  r.threads = r.pool ? n : 1;
  if (r.pool && r.pool.size > r.threads - 1) r.pool.resize(r.threads - 1);
}

/**
 * Use `n` threads for the wasm backend's matmuls and large elementwise, Adam and reduction kernels (default: the
 * `CHAINRULE_THREADS` environment variable, else the number of cores). Results do not
 * depend on it. Where threads are unavailable (no SharedArrayBuffer, as on a page that is
 * not cross-origin isolated) the backend stays on one thread; `getBackendInfo().threads`
 * says how many run. In a browser, await {@link threadsReady} after raising it.
 */
export function setThreads(n: number): void {
  checkThreads(n);
  requestedThreads = n;
  if (rt) setRuntimeThreads(rt, n);
}

/**
 * The matmul size (flops, 2mkn) from which threads are used; smaller products run on
 * the calling thread, where handing off would cost more than it saves. For tests and
 * tuning; returns the previous value.
 */
export function setParallelThreshold(flops: number): number {
  if (!(flops >= 0)) {
    throw new ChainruleError('setParallelThreshold', `expected a number of flops ≥ 0, got ${flops}`);
  }
  const prev = parallelFlops;
  parallelFlops = flops;
  return prev;
}

/**
 * How many blocks per thread a parallel matmul is cut into (default 1): more blocks even
 * out a late worker, fewer pack A or B fewer times. One was 5–10% faster than three on
 * every DDPG update and matmul shape measured (bench/README.md, "Where one update's time
 * goes"). Results do not depend on it. For
 * tuning (`BLOCKS=1,3 npx tsx bench/src/update-threads.ts`); returns the previous value.
 */
export function setMatmulBlocksPerThread(n: number): number {
  if (!Number.isInteger(n) || n < 1) {
    throw new ChainruleError('setMatmulBlocksPerThread', `expected an integer ≥ 1, got ${n}`);
  }
  const prev = blocksPerThread;
  blocksPerThread = n;
  return prev;
}

/**
 * Profiling counters of the worker pool (all 0 without threads): parallel jobs, their
 * milliseconds from hand-off to end, and the caller's milliseconds waiting for workers
 * after its own last block. `reset` zeroes them.
 */
export function threadStats(reset = false): { jobs: number; jobMs: number; waitMs: number } {
  const s = rt?.pool?.stats;
  if (!s) return { jobs: 0, jobMs: 0, waitMs: 0 };
  const out = { ...s };
  if (reset) {
    s.jobs = 0;
    s.jobMs = 0;
    s.waitMs = 0;
  }
  return out;
}

/**
 * The number of elements from which elementwise, Adam, lerp and reduction kernels use
 * threads (smaller ones run on the calling thread). For tests and tuning; returns the
 * previous value.
 */
export function setParallelElements(n: number): number {
  if (!(n >= 0)) {
    throw new ChainruleError('setParallelElements', `expected a number of elements ≥ 0, got ${n}`);
  }
  const prev = parallelElems;
  parallelElems = n;
  return prev;
}

/** Blocks of matmuls that worker threads (not the caller) computed so far (0 without threads). */
export function blocksByWorkers(): number {
  return rt?.pool?.blocksByWorkers ?? 0;
}

/** What {@link threadsReady} resolves to. */
export interface ThreadsStatus {
  /** Threads the wasm backend's kernels run on now, the caller's included (1: no workers). */
  readonly threads: number;
  /** Why the backend runs on one thread although more were asked for, if it does. */
  readonly note?: string;
}

/**
 * Start the wasm backend's worker threads now and resolve once they run, with the thread
 * count and, where threads are unavailable, why (`note`, also `getBackendInfo().threadsNote`).
 *
 * A browser must await it before its first op: a Web Worker starts only after the thread
 * that created it returns to its event loop, and chainrule's ops are synchronous, so without
 * it every op of a synchronous training loop runs on the calling thread. Node needs it only
 * to start the workers ahead of time (otherwise the first large matmul starts them). Where
 * threads are unavailable (a page that is not cross-origin isolated, a page's main thread,
 * no SharedArrayBuffer) it resolves at once with 1 thread. Call it again after
 * `setThreads(n)` raises the count. Creates the backend if needed.
 */
export async function threadsReady(): Promise<ThreadsStatus> {
  rt ??= createRuntime();
  const r = rt;
  if (r.pool && r.threads > 1) {
    if (r.pool.size !== r.threads - 1) r.pool.resize(r.threads - 1);
    await r.pool.online();
  }
  return r.threadsNote === undefined ? { threads: r.threads } : { threads: 1, note: r.threadsNote };
}

/**
 * Switch the SIMD path of the running backend (tests run both; `CHAINRULE_WASM_SIMD` picks
 * it at start-up). Both modules work on the same memory, so tensors stay valid. Returns
 * the previous path.
 */
export function setSimdPath(path: SimdPath): SimdPath {
  rt ??= createRuntime();
  const inst = rt.instances[path];
  if (!inst) {
    throw new ChainruleError(
      'wasm',
      `the "${path}" SIMD path is not available here (available: ${rt.paths.join(', ')})`,
    );
  }
  const prev = rt.path;
  rt.path = path;
  rt.k = inst;
  return prev;
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
    replayable: true,
    fill(storage: Storage, dtype: DType, size: number, value: number): void {
      const s = storage as WasmStorage;
      checkLive(s);
      (dtype === 'float64' ? heap.f64(s.ptr, size) : heap.f32(s.ptr, size)).fill(value);
    },
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
        simdPath: rt!.path,
        simdPaths: [...rt!.paths],
        threads: rt!.threads,
        ...(rt!.threadsNote ? { threadsNote: rt!.threadsNote } : {}),
        blocksByWorkers: rt!.pool?.blocksByWorkers ?? 0,
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

/**
 * The SIMD peak of one core for a path, in GFLOP/s: the `peak_madd` kernel (12 chains of
 * four-lane multiply-adds held in registers: fused with `fma`, a mul and an add with
 * `simd`), timed on the calling thread; the best of `trials` runs of about `ms` ms each.
 * A kernel's GFLOP/s divided by this says how close it is to what wasm SIMD can do here.
 */
export function simdPeakGflops(path: SimdPath, trials = 5, ms = 40): number {
  rt ??= createRuntime();
  const inst = rt.instances[path];
  if (!inst) {
    throw new ChainruleError('simdPeakGflops', `the "${path}" SIMD path is not available here`);
  }
  const f = inst.peak_madd!;
  // Calibrate the round count to about `ms` ms, then keep the fastest trial.
  let iters = 1 << 16;
  for (;;) {
    const t0 = performance.now();
    f(iters);
    const dt = performance.now() - t0;
    if (dt >= ms / 4 || iters >= 1 << 30) {
      iters = Math.min(2 ** 31 - 1, Math.ceil((iters * ms) / Math.max(dt, 1e-3)));
      break;
    }
    iters *= 4;
  }
  let best = 0;
  for (let t = 0; t < trials; t++) {
    const t0 = performance.now();
    f(iters);
    const dt = performance.now() - t0;
    best = Math.max(best, (iters * 96) / (dt * 1e6));
  }
  return best;
}
