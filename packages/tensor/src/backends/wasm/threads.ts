/**
 * Threads for the wasm backend: a pool of `worker_threads` workers over the backend's one
 * shared WebAssembly memory, each with its own instance of the same kernels.
 *
 * A matmul (or fused dense layer) above a size threshold is cut into blocks of whole
 * output tiles, one per thread (see `partition`); the calling thread computes the first
 * block and the workers the others. No reduction is ever split: every element of C is
 * the same k-ordered sum whoever computes it, so results are bit-identical for any
 * thread count.
 *
 * Hand-off is through a small SharedArrayBuffer, one slot per worker, with Atomics: the
 * caller writes the job's arguments, bumps the slot's sequence number and notifies; the
 * worker spins briefly, then sleeps in `Atomics.wait`; when done it stores the sequence
 * number in the slot's `done` word and notifies. No message is posted per op.
 *
 * Workers are `unref`'d, so they never keep the process alive. An exception in a worker
 * (a wasm trap, say) is caught there, its message written to the slot, and re-thrown at
 * the caller as a ChainruleError once every worker has finished the job.
 *
 * Node only: browsers cannot start a worker while the page's thread is blocked waiting
 * for it, and chainrule's ops are synchronous, so there the backend runs on one thread.
 * @module
 */
import { ChainruleError } from '../../errors.ts';

/** Int32 words per worker slot (the first ones are the fields below, then the arguments). */
const SLOT_INTS = 32;
/** Bytes for a worker's error message after the int slots. */
const ERR_BYTES = 1024;
const SEQ = 0;
const DONE = 1;
const STATUS = 2;
const PATH = 3;
const ERR_LEN = 4;
const ARGS = 8;
/** The matmul export's argument count. */
export const MATMUL_ARGS = 18;
/** Iterations of Atomics.load before a waiting thread sleeps: about 20-50 µs on x64. */
const SPIN = 20_000;

/** One block of C: rows [i0, i1) and columns [j0, j1). */
export interface Block {
  i0: number;
  i1: number;
  j0: number;
  j1: number;
}

/**
 * Split C (m×n) into at most `parts` blocks of whole 4×8 tiles: by 8-column panels when
 * there are at least `parts` of them, else by 4-row panels; fewer blocks when C has fewer
 * tiles along both. Each block is a contiguous, balanced range of panels.
 */
export function partition(m: number, n: number, parts: number): Block[] {
  const panels = Math.ceil(n / 8);
  const rows = Math.ceil(m / 4);
  const byCols = panels >= parts || panels >= rows;
  const count = Math.max(1, Math.min(parts, byCols ? panels : rows));
  const total = byCols ? panels : rows;
  const out: Block[] = [];
  for (let w = 0; w < count; w++) {
    const a = Math.floor((w * total) / count);
    const b = Math.floor(((w + 1) * total) / count);
    out.push(byCols ? { i0: 0, i1: m, j0: a * 8, j1: Math.min(n, b * 8) } : { i0: a * 4, i1: Math.min(m, b * 4), j0: 0, j1: n });
  }
  return out;
}

/** The part of node:worker_threads the pool uses. */
interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
}
type WorkerCtor = new (code: string, options: { eval: true; workerData: unknown }) => NodeWorker;

/** `process.getBuiltinModule` (Node ≥ 20.16), without importing anything at the top level. */
function builtin<T>(name: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/** Why threads cannot run here, or undefined when they can. */
export function threadsUnavailable(): string | undefined {
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  if (typeof Atomics === 'undefined' || typeof Atomics.wait !== 'function') return 'Atomics.wait is not available';
  if (!builtin<{ Worker: WorkerCtor }>('node:worker_threads')?.Worker) {
    return 'node:worker_threads is not available (browsers run the wasm backend on one thread)';
  }
  return undefined;
}

/** The number of cores (os.availableParallelism), or 1 where it cannot be read. */
export function coreCount(): number {
  const os = builtin<{ availableParallelism?: () => number; cpus?: () => unknown[] }>('node:os');
  return Math.max(1, os?.availableParallelism?.() ?? os?.cpus?.().length ?? 1);
}

// The worker's whole program (CommonJS, run with `eval: true` so no file has to be found
// next to a bundle). Kept in plain JavaScript: it is not compiled.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { modules, memory, control, index } = workerData;
const SLOT_INTS = ${SLOT_INTS}, ERR_BYTES = ${ERR_BYTES}, SPIN = ${SPIN};
const ctl = new Int32Array(control, index * SLOT_INTS * 4, SLOT_INTS);
const err = new Uint8Array(control, control.byteLength - (index + 1) * ERR_BYTES, ERR_BYTES);
let kernels = [];
let startError;
try {
  kernels = modules.map((m) => m && new WebAssembly.Instance(m, { env: { memory } }).exports);
} catch (e) {
  startError = e;
}
const args = new Array(${MATMUL_ARGS});
let seen = 0;
for (;;) {
  let s = Atomics.load(ctl, ${SEQ});
  for (let i = 0; s === seen && i < SPIN; i++) s = Atomics.load(ctl, ${SEQ});
  while (s === seen) {
    Atomics.wait(ctl, ${SEQ}, seen);
    s = Atomics.load(ctl, ${SEQ});
  }
  seen = s;
  try {
    if (startError) throw startError;
    const k = kernels[ctl[${PATH}]];
    if (!k) throw new Error('no kernels for SIMD path ' + ctl[${PATH}]);
    for (let i = 0; i < ${MATMUL_ARGS}; i++) args[i] = ctl[${ARGS} + i];
    k.matmul(...args);
    ctl[${STATUS}] = 0;
  } catch (e) {
    const bytes = new TextEncoder().encode(String(e && e.message ? e.message : e)).slice(0, ERR_BYTES);
    err.set(bytes);
    ctl[${ERR_LEN}] = bytes.length;
    ctl[${STATUS}] = 1;
  }
  Atomics.store(ctl, ${DONE}, s);
  Atomics.notify(ctl, ${DONE});
}
`;

/** A pool of workers that run matmul blocks on one shared WebAssembly memory. */
export class WorkerPool {
  private readonly workers: NodeWorker[] = [];
  private readonly seq: number[] = [];
  private control: SharedArrayBuffer;
  private ctl: Int32Array;

  /**
   * `modules`: the compiled `shared`-memory kernels, by SIMD path index (0 simd, 1 fma;
   * undefined where the engine lacks the path).
   */
  constructor(
    private readonly modules: readonly (object | undefined)[],
    private readonly memory: object,
  ) {
    this.control = new SharedArrayBuffer(SLOT_INTS * 4 + ERR_BYTES);
    this.ctl = new Int32Array(this.control);
  }

  /** Workers running now. */
  get size(): number {
    return this.workers.length;
  }

  /**
   * Run `count` workers. Changing the count stops every worker and starts new ones on a
   * fresh control block, so that a worker still shutting down can never take a job.
   */
  resize(count: number): void {
    if (count === this.workers.length) return;
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
    this.seq.length = 0;
    this.control = new SharedArrayBuffer(Math.max(1, count) * (SLOT_INTS * 4 + ERR_BYTES));
    this.ctl = new Int32Array(this.control);
    if (count === 0) return;
    const { Worker } = builtin<{ Worker: WorkerCtor }>('node:worker_threads')!;
    for (let index = 0; index < count; index++) {
      const w = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { modules: this.modules, memory: this.memory, control: this.control, index },
      });
      w.unref();
      this.workers.push(w);
      this.seq.push(0);
    }
  }

  /**
   * Run `matmul(...args)` with each block's bounds on its own worker (block b on worker
   * b-1; block 0 is the caller's, run by `self`), each with its own scratch
   * (`scratch[b]`: packA, packB, tile), and wait for all of them. Throws the first error.
   */
  runMatmul(
    path: number,
    args: readonly number[],
    blocks: readonly Block[],
    scratch: readonly (readonly [number, number, number])[],
    self: (blockArgs: number[]) => void,
  ): void {
    const ctl = this.ctl;
    const job = (b: number): number[] => {
      const a = args.slice();
      const [packA, packB, tile] = scratch[b]!;
      const { i0, i1, j0, j1 } = blocks[b]!;
      a[8] = packA;
      a[9] = packB;
      a.push(i0, i1, j0, j1, tile);
      return a;
    };
    for (let b = 1; b < blocks.length; b++) {
      const w = b - 1;
      const base = w * SLOT_INTS;
      const a = job(b);
      for (let i = 0; i < MATMUL_ARGS; i++) ctl[base + ARGS + i] = a[i]!;
      ctl[base + PATH] = path;
      const s = (this.seq[w]! + 1) | 0 || 1;
      this.seq[w] = s;
      Atomics.store(ctl, base + SEQ, s);
      Atomics.notify(ctl, base + SEQ);
    }
    let mine: unknown;
    try {
      self(job(0));
    } catch (e) {
      mine = e;
    }
    let theirs: string | undefined;
    for (let b = 1; b < blocks.length; b++) {
      const w = b - 1;
      const base = w * SLOT_INTS;
      const s = this.seq[w]!;
      let d = Atomics.load(ctl, base + DONE);
      for (let i = 0; d !== s && i < SPIN; i++) d = Atomics.load(ctl, base + DONE);
      while (d !== s) {
        Atomics.wait(ctl, base + DONE, d);
        d = Atomics.load(ctl, base + DONE);
      }
      if (ctl[base + STATUS] !== 0 && theirs === undefined) {
        const len = ctl[base + ERR_LEN]!;
        const at = this.control.byteLength - (w + 1) * ERR_BYTES;
        // TextDecoder refuses views of shared memory: copy the bytes out first.
        theirs = `worker ${w + 1}: ${new TextDecoder().decode(new Uint8Array(this.control, at, len).slice())}`;
      }
    }
    if (mine !== undefined) throw mine;
    if (theirs !== undefined) throw new ChainruleError('wasm', `a matmul block failed in a thread: ${theirs}`);
  }

  /** Stop every worker. */
  close(): void {
    this.resize(0);
  }
}
