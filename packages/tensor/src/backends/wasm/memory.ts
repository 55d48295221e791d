/**
 * The wasm backend's heap: one growable `WebAssembly.Memory` and a size-class allocator
 * over it, written in TypeScript (the kernels never allocate).
 *
 * Layout: bytes [0, 1024) are reserved (pointer 0 means "no block"; the kernels use
 * [256, 1024) as per-call scratch). Blocks are carved from a bump pointer above that and
 * are never returned to it: a freed block goes on the free list of its size class and the
 * next request of that class reuses it, so a training loop whose shapes repeat stops
 * growing memory after its first iteration.
 *
 * Size classes: requests up to 256 bytes round up to a multiple of 16; larger ones to one
 * of four classes per power of two (2^e, 1.25·2^e, 1.5·2^e, 1.75·2^e), so at most 25% is
 * wasted. Every block is 16-byte aligned.
 *
 * Growing the memory replaces `memory.buffer` and detaches every view of the old buffer.
 * Never keep a typed-array view across an allocation: make a fresh one with `f32()` /
 * `f64()` after the last allocation of a kernel. A shared memory (for threads) does not
 * detach old views when it grows, but they keep the old length: the same rule holds.
 * @module
 */
import { ChainruleError } from '../../errors.ts';

/** Bytes [0, HEAP_START) are reserved for null and kernel scratch. */
export const HEAP_START = 1024;
/** Slack kept past the last block: kernels may read (never write) up to 32 bytes past a block. */
const GUARD = 64;
const PAGE = 65536;

/** The part of a WebAssembly.Memory the heap uses (the project's TS libs omit WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The WebAssembly JS API, typed locally (no DOM lib): what the backend needs of it. */
export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: object };
  validate(bytes: Uint8Array): boolean;
}

/** `globalThis.WebAssembly`, or undefined where the engine has none. */
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Allocator and memory counters, for tests and `getBackendInfo()`. */
export interface WasmMemoryStats {
  /** Bytes in live blocks (size-class rounded). */
  bytesInUse: number;
  /** Live blocks. */
  blocksInUse: number;
  /** Bytes in freed blocks waiting on free lists for reuse. */
  bytesPooled: number;
  /** Freed blocks waiting for reuse. */
  blocksPooled: number;
  /** Current size of the WebAssembly memory. */
  memoryBytes: number;
  /** How many times the memory has grown. */
  growCount: number;
  /** The bump pointer: bytes ever carved into blocks (plus the reserved area). */
  heapTop: number;
}

/** The size class of a request: the block size actually reserved. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(16, (bytes + 15) & ~15);
  const step = 2 ** (Math.floor(Math.log2(bytes - 1)) - 2);
  return Math.ceil(bytes / step) * step;
}

/** A size-class allocator over a growable WebAssembly memory. */
export class WasmHeap {
  /** The memory the kernels import as `env.memory`. */
  readonly memory: WasmMemory;
  private top = HEAP_START;
  private readonly pools = new Map<number, number[]>();
  private inUse = 0;
  private blocks = 0;
  private pooled = 0;
  private pooledBlocks = 0;
  private grows = 0;

  /**
   * The kernels' `zero` (memory.fill), once they are instantiated: V8's TypedArray.fill
   * on a shared buffer goes element by element (about 10× slower on large blocks).
   */
  zeroFill: ((ptr: number, bytes: number) => void) | undefined;

  /** True when the memory is shared (its buffer a SharedArrayBuffer), so workers can use it. */
  readonly shared: boolean;

  /** `sharedMaxPages`: make a shared memory of at most that many pages (else an ordinary one). */
  constructor(initialPages = 32, sharedMaxPages?: number) {
    if (!wasmApi) throw new ChainruleError('wasm', 'WebAssembly is not available in this JavaScript engine');
    this.shared = sharedMaxPages !== undefined;
    this.memory = new wasmApi.Memory(
      this.shared
        ? { initial: initialPages, maximum: sharedMaxPages, shared: true }
        : { initial: initialPages },
    );
  }

  /**
   * A block of at least `bytes` bytes; returns its pointer and size class (pass both to
   * `free`). Zero-filled when `zero` (fresh memory is already zero; reused blocks are cleared).
   * May grow the memory, which detaches every existing view.
   */
  alloc(bytes: number, zero = true): { ptr: number; cls: number } {
    if (bytes <= 0) return { ptr: 0, cls: 0 };
    const cls = sizeClass(bytes);
    const pool = this.pools.get(cls);
    let ptr: number;
    if (pool && pool.length > 0) {
      ptr = pool.pop()!;
      this.pooled -= cls;
      this.pooledBlocks--;
      if (zero) {
        if (this.zeroFill) this.zeroFill(ptr, bytes);
        else new Uint8Array(this.memory.buffer, ptr, bytes).fill(0);
      }
    } else {
      ptr = this.top;
      this.ensure(ptr + cls + GUARD);
      this.top += cls;
    }
    this.inUse += cls;
    this.blocks++;
    return { ptr, cls };
  }

  /** Return a block from `alloc` to its free list. */
  free(ptr: number, cls: number): void {
    if (cls === 0) return;
    let pool = this.pools.get(cls);
    if (!pool) {
      pool = [];
      this.pools.set(cls, pool);
    }
    pool.push(ptr);
    this.inUse -= cls;
    this.blocks--;
    this.pooled += cls;
    this.pooledBlocks++;
  }

  /** Grow the memory (by at least half its size, to keep growth rare) to hold `end` bytes. */
  private ensure(end: number): void {
    const size = this.memory.buffer.byteLength;
    if (end <= size) return;
    const needed = Math.ceil((end - size) / PAGE);
    const pages = Math.max(needed, Math.ceil(size / PAGE / 2));
    try {
      this.memory.grow(pages);
    } catch {
      try {
        this.memory.grow(needed);
      } catch (e) {
        throw new ChainruleError(
          'wasm',
          `out of WebAssembly memory: cannot grow from ${size} bytes to ${end} bytes (${(e as Error).message}); dispose tensors you no longer need`,
        );
      }
    }
    this.grows++;
  }

  /** A fresh Float32Array view of `len` floats at `ptr`. Do not keep it across allocations. */
  f32(ptr: number, len: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, len);
  }

  /** A fresh Float64Array view of `len` doubles at `ptr` (8-byte aligned: blocks are 16-aligned). */
  f64(ptr: number, len: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, len);
  }

  /** Counters for tests and `getBackendInfo()`. */
  stats(): WasmMemoryStats {
    return {
      bytesInUse: this.inUse,
      blocksInUse: this.blocks,
      bytesPooled: this.pooled,
      blocksPooled: this.pooledBlocks,
      memoryBytes: this.memory.buffer.byteLength,
      growCount: this.grows,
      heapTop: this.top,
    };
  }
}
