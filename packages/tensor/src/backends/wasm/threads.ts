/**
 * Threads for the wasm backend: a pool of `worker_threads` workers over the backend's one
 * shared WebAssembly memory, each with its own instance of the same kernels.
 *
 * A matmul (or fused dense layer) above a size threshold is cut into blocks of whole
 * output tiles (see `partition`), a few per thread. The calling thread and the workers
 * then claim blocks one at a time from a shared counter until none is left, so a worker
 * that is slow to wake (a busy machine) costs nothing: the caller takes its blocks. No
 * reduction is ever split: every element of C is the same k-ordered sum whoever computes
 * it, so results are bit-identical for any thread count and any schedule.
 *
 * Hand-off is through a small SharedArrayBuffer with Atomics, never a message per op: the
 * caller writes the job, publishes it in the claim word (job tag and next block) and
 * notifies; workers spin briefly, then sleep in `Atomics.wait`; claims are
 * compare-exchanges on the claim word, and each finished block increments a counter that
 * the caller waits on (spin, then wait).
 *
 * Workers are `unref`'d once they run, so they never keep the process alive. An exception
 * in a worker (a wasm trap, say) is caught there, its message written to shared memory, and
 * re-thrown at the caller as a ChainruleError once every block is done.
 *
 * In Node the workers are `worker_threads`. In a browser they are Web Workers, started from
 * a Blob of the same program, and only where the caller may block (a Web Worker, not the
 * page's main thread, where `Atomics.wait` throws) on a cross-origin-isolated page (the only
 * place with SharedArrayBuffer). A Web Worker starts only after its creator returns to its
 * event loop, and chainrule's ops are synchronous, so a browser program awaits
 * `threadsReady()` (backend.ts) before its first op; until then the caller does every block.
 * @module
 */
import { ChainruleError } from '../../errors.ts';

// Control block layout (Int32 words): a header, the job's arguments, the block table,
// then one slot per worker (its scratch pointers), then one error text per worker.
const CLAIM = 0; // job tag << TAG_SHIFT | next unclaimed block
const COMPLETED = 1; // blocks finished in the current job
const FAILED = 2; // 0, or 1 + the index of the first worker that failed
const PATH = 3; // SIMD path index of the job
const NBLOCKS = 4;
const ACTIVE = 5; // workers with index < ACTIVE take part; the others stay asleep
const BY_WORKERS = 6; // blocks computed by workers since the control block was made
const KIND = 7; // the job's kind: KIND_MATMUL, or KIND_CALL (any export, arguments per block)
const ARGS = 8; // matmul: the export's 13 leading arguments (packA/packB unused); call: export index, argument count
const KIND_MATMUL = 0;
const KIND_CALL = 1;
/** Blocks per job at most (the claim word's low bits). */
export const MAX_BLOCKS = 1024;
const TAG_SHIFT = 10;
const TAG_MASK = 0x1fffff;
const BLOCKS = 32; // 4 words per block: i0, i1, j0, j1
const SLOTS = BLOCKS + 4 * MAX_BLOCKS; // 4 words per worker: packA, packB, tile, error length
const ERR_BYTES = 512;
/** Blocks of a call job at most, and arguments per block (float64 slots: i32 and f32 are exact in them). */
export const MAX_CALL_BLOCKS = 64;
export const MAX_CALL_ARGS = 24;
/** The matmul export's argument count. */
export const MATMUL_ARGS = 18;
/** Iterations of Atomics.load before a waiting thread sleeps: tens of µs on x64. */
const SPIN = 20_000;

/** Byte offset of the call jobs' argument table (float64, 8-byte aligned) after the error texts. */
function callArgsAt(workers: number): number {
  return Math.ceil(((SLOTS + 4 * workers) * 4 + workers * ERR_BYTES) / 8) * 8;
}

function controlBytes(workers: number): number {
  return callArgsAt(workers) + MAX_CALL_BLOCKS * MAX_CALL_ARGS * 8;
}

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
    out.push(
      byCols
        ? { i0: 0, i1: m, j0: a * 8, j1: Math.min(n, b * 8) }
        : { i0: a * 4, i1: Math.min(m, b * 4), j0: 0, j1: n },
    );
  }
  return out;
}

/** The part of node:worker_threads the pool uses. */
interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  once(event: 'online', listener: () => void): void;
}
type WorkerCtor = new (code: string, options: { eval: true; workerData: unknown }) => NodeWorker;

/** The part of a browser's Web Worker the pool uses. */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
}
type WebWorkerCtor = new (url: string) => WebWorker;

/** A started pool worker of either kind: `online` settles once it runs the program. */
interface PoolWorker {
  terminate(): void;
  readonly online: Promise<void>;
}

/** The globals that decide whether threads can run (globalThis; tests pass others). */
export interface ThreadGlobals {
  process?: { getBuiltinModule?: (n: string) => unknown };
  SharedArrayBuffer?: unknown;
  Atomics?: { wait?: unknown };
  Worker?: unknown;
  crossOriginIsolated?: boolean;
  document?: unknown;
}

/** `process.getBuiltinModule` (Node ≥ 20.16), without importing anything at the top level. */
function builtin<T>(name: string, g: ThreadGlobals = globalThis as ThreadGlobals): T | undefined {
  const proc = g.process;
  try {
    return proc?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/** What a browser page needs for SharedArrayBuffer. */
const ISOLATION_HINT =
  'serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';

/** The browser's Worker constructor, when there is one. */
function webWorker(g: ThreadGlobals = globalThis as ThreadGlobals): WebWorkerCtor | undefined {
  return typeof g.Worker === 'function' ? (g.Worker as WebWorkerCtor) : undefined;
}

/** Why threads cannot run here (in the globals `g`), or undefined when they can. */
export function threadsUnavailable(g: ThreadGlobals = globalThis as ThreadGlobals): string | undefined {
  const node = builtin<{ Worker: WorkerCtor }>('node:worker_threads', g)?.Worker;
  if (!node && g.crossOriginIsolated === false) {
    return `the page is not cross-origin isolated, so it has no SharedArrayBuffer (${ISOLATION_HINT})`;
  }
  if (g.SharedArrayBuffer === undefined) return 'SharedArrayBuffer is not available';
  if (typeof g.Atomics?.wait !== 'function') return 'Atomics.wait is not available';
  if (node) return undefined;
  if (!webWorker(g)) return 'neither node:worker_threads nor Web Workers are available';
  if (g.document !== undefined) {
    return "a page's main thread may not block in Atomics.wait; run chainrule in a Web Worker to use threads";
  }
  return undefined;
}

/**
 * The number of cores (Node: os.availableParallelism; a browser:
 * navigator.hardwareConcurrency), or 1 where it cannot be read.
 */
export function coreCount(): number {
  const os = builtin<{ availableParallelism?: () => number; cpus?: () => unknown[] }>('node:os');
  const web = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return Math.max(1, os?.availableParallelism?.() ?? os?.cpus?.().length ?? web ?? 1);
}

// The worker's whole program (CommonJS, run with `eval: true` so no file has to be found
// next to a bundle). Kept in plain JavaScript: it is not compiled.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { modules, memory, control, index, workers, names, callAt } = workerData;
const ctl = new Int32Array(control, 0, ${SLOTS} + 4 * workers);
const callArgs = new Float64Array(control, callAt, ${MAX_CALL_BLOCKS * MAX_CALL_ARGS});
const slot = ${SLOTS} + 4 * index;
const errAt = (${SLOTS} + 4 * workers) * 4 + index * ${ERR_BYTES};
let kernels = [];
let startError;
try {
  kernels = modules.map((m) => m && new WebAssembly.Instance(m, { env: { memory } }).exports);
} catch (e) {
  startError = e;
}
const args = new Array(${MATMUL_ARGS});
let tag = 0;
for (;;) {
  let v = Atomics.load(ctl, ${CLAIM});
  for (let i = 0; (v >>> ${TAG_SHIFT}) === tag && i < ${SPIN}; i++) v = Atomics.load(ctl, ${CLAIM});
  while ((v >>> ${TAG_SHIFT}) === tag) {
    Atomics.wait(ctl, ${CLAIM}, v);
    v = Atomics.load(ctl, ${CLAIM});
  }
  tag = v >>> ${TAG_SHIFT};
  if (index >= ctl[${ACTIVE}]) continue;
  const nb = ctl[${NBLOCKS}];
  const k = kernels[ctl[${PATH}]];
  // How to run block b of this job: a kernel call with its own arguments, or a block of C.
  let run;
  if (ctl[${KIND}] === ${KIND_CALL}) {
    const name = names[ctl[${ARGS}]];
    const a = new Array(ctl[${ARGS} + 1]);
    run = (b) => {
      for (let i = 0; i < a.length; i++) a[i] = callArgs[b * ${MAX_CALL_ARGS} + i];
      k[name](...a);
    };
  } else {
    for (let i = 0; i < 13; i++) args[i] = ctl[${ARGS} + i];
    args[8] = ctl[slot];
    args[9] = ctl[slot + 1];
    args[17] = ctl[slot + 2];
    run = (b) => {
      const t = ${BLOCKS} + 4 * b;
      args[13] = ctl[t];
      args[14] = ctl[t + 1];
      args[15] = ctl[t + 2];
      args[16] = ctl[t + 3];
      k.matmul(...args);
    };
  }
  for (;;) {
    v = Atomics.load(ctl, ${CLAIM});
    const b = v & ${MAX_BLOCKS - 1};
    if ((v >>> ${TAG_SHIFT}) !== tag || b >= nb) break;
    if (Atomics.compareExchange(ctl, ${CLAIM}, v, v + 1) !== v) continue;
    try {
      if (startError) throw startError;
      if (!k) throw new Error('no kernels for SIMD path ' + ctl[${PATH}]);
      run(b);
    } catch (e) {
      const bytes = new TextEncoder().encode(String(e && e.message ? e.message : e)).slice(0, ${ERR_BYTES});
      new Uint8Array(control, errAt, bytes.length).set(bytes);
      ctl[slot + 3] = bytes.length;
      Atomics.compareExchange(ctl, ${FAILED}, 0, index + 1);
    }
    Atomics.add(ctl, ${BY_WORKERS}, 1);
    if (Atomics.add(ctl, ${COMPLETED}, 1) + 1 === nb) Atomics.notify(ctl, ${COMPLETED});
  }
}
`;

/**
 * A Web Worker's wrapper of a worker program (WORKER_SOURCE): the program's one Node call,
 * `require('node:worker_threads').workerData`, is answered from the first message, and the
 * worker says it is online before it enters its loop (which never returns to the event loop).
 */
function webWorkerSource(source: string): string {
  return `
self.onmessage = (e) => {
  self.onmessage = null;
  const require = () => ({ workerData: e.data });
  self.postMessage('online');
  ${source}
};
`;
}

/**
 * Start one pool worker running `source` (WORKER_SOURCE) with `workerData`: a worker_threads
 * worker in Node, else a Web Worker running the same program (see webWorkerSource).
 */
function startWorker(source: string, { workerData }: { eval: true; workerData: unknown }): PoolWorker {
  const NodeWorker = builtin<{ Worker: WorkerCtor }>('node:worker_threads')?.Worker;
  if (NodeWorker) {
    const w = new NodeWorker(source, { eval: true, workerData });
    // Referenced until it runs, so that a script awaiting threadsReady() cannot exit first.
    const online = new Promise<void>((resolve) => {
      w.once('online', () => {
        w.unref();
        resolve();
      });
    });
    return { terminate: () => void w.terminate(), online };
  }
  const Web = webWorker();
  if (!Web) throw new ChainruleError('wasm', 'no worker_threads and no Web Worker to start a thread with');
  const url = URL.createObjectURL(new Blob([webWorkerSource(source)], { type: 'text/javascript' }));
  const w = new Web(url);
  const online = new Promise<void>((resolve, reject) => {
    w.onmessage = () => {
      URL.revokeObjectURL(url);
      w.onmessage = null;
      resolve();
    };
    w.onerror = (e) => {
      URL.revokeObjectURL(url);
      reject(new ChainruleError('wasm', `a worker thread failed to start: ${e.message ?? 'unknown error'}`));
    };
  });
  // A worker that failed after all its callers stopped waiting must not be an unhandled rejection.
  online.catch(() => {});
  w.postMessage(workerData);
  return { terminate: () => w.terminate(), online };
}

/** Scratch of one participant in a job: pointers to its packA, packB and edge tile. */
export type Scratch = readonly [packA: number, packB: number, tile: number];

/** A pool of workers that run matmul blocks on one shared WebAssembly memory. */
export class WorkerPool {
  private readonly workers: PoolWorker[] = [];
  private control = new SharedArrayBuffer(controlBytes(0));
  private ctl = new Int32Array(this.control);
  private callArgs = new Float64Array(this.control, callArgsAt(0), MAX_CALL_BLOCKS * MAX_CALL_ARGS);
  private tag = 0;
  /** The kernels' export names: a call job names its export by index in this list. */
  private readonly names: readonly string[];
  private readonly nameIndex = new Map<string, number>();

  /**
   * `modules`: the compiled `shared`-memory kernels, by SIMD path index (0 simd, 1 fma;
   * undefined where the engine lacks the path); `names`: their export names, which call
   * jobs (runCalls) may name.
   */
  constructor(
    private readonly modules: readonly (object | undefined)[],
    private readonly memory: object,
    names: readonly string[] = [],
  ) {
    this.names = names;
    names.forEach((n, i) => {
      this.nameIndex.set(n, i);
    });
  }

  /** Workers that take part in jobs now. */
  get size(): number {
    return this.active;
  }

  private active = 0;

  /**
   * Let `count` workers take part in jobs. Fewer than are running (0 included): the others
   * sleep, kept for a later increase, which then needs no start-up (in a browser, no wait
   * for new Web Workers). More: every worker is stopped and new ones start on a fresh
   * control block, so that a worker still shutting down can never take a job.
   */
  resize(count: number): void {
    this.active = count;
    if (count <= this.workers.length) {
      this.ctl[ACTIVE] = count;
      return;
    }
    this.stopAll();
    this.control = new SharedArrayBuffer(controlBytes(count));
    this.ctl = new Int32Array(this.control);
    this.callArgs = new Float64Array(this.control, callArgsAt(count), MAX_CALL_BLOCKS * MAX_CALL_ARGS);
    this.ctl[ACTIVE] = count;
    for (let index = 0; index < count; index++) {
      const w = startWorker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          modules: this.modules,
          memory: this.memory,
          control: this.control,
          index,
          workers: count,
          names: this.names,
          callAt: callArgsAt(count),
        },
      });
      this.workers.push(w);
    }
  }

  /**
   * Profiling counters: parallel jobs run, milliseconds from publishing a job to its end,
   * and milliseconds the caller spent waiting for workers after its own last block
   * (spin, sleep and wake-up: the cost of handing off).
   */
  readonly stats = { jobs: 0, jobMs: 0, waitMs: 0 };

  /** Settles once every worker that takes part runs (rejects if one failed to start). */
  async online(): Promise<void> {
    await Promise.all(this.workers.slice(0, this.active).map((w) => w.online));
  }

  /** Blocks that workers (not the caller) have computed: shows that the work was shared. */
  get blocksByWorkers(): number {
    return this.earlierBlocks + Atomics.load(this.ctl, BY_WORKERS);
  }

  private earlierBlocks = 0;

  private stopAll(): void {
    this.earlierBlocks += Atomics.load(this.ctl, BY_WORKERS);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
    this.tag = 0;
  }

  /**
   * Compute every block of C with the `matmul` export: `args` are its 13 leading
   * arguments, `scratch[0]` is the caller's scratch and `scratch[1 + w]` worker w's.
   * The caller runs its blocks through `self(blockArgs)`. Returns when all blocks are
   * done; throws the first error (the caller's, else a worker's).
   */
  runMatmul(
    path: number,
    args: readonly number[],
    blocks: readonly Block[],
    scratch: readonly Scratch[],
    self: (blockArgs: number[]) => void,
  ): void {
    const ctl = this.ctl;
    const nb = blocks.length;
    const t0 = performance.now();
    if (nb > MAX_BLOCKS) throw new ChainruleError('wasm', `at most ${MAX_BLOCKS} blocks per job, got ${nb}`);
    for (let i = 0; i < 13; i++) ctl[ARGS + i] = args[i]!;
    blocks.forEach((b, i) => {
      ctl.set([b.i0, b.i1, b.j0, b.j1], BLOCKS + 4 * i);
    });
    for (let w = 0; w < this.active; w++) {
      const [packA, packB, tile] = scratch[1 + w]!;
      ctl.set([packA, packB, tile, 0], SLOTS + 4 * w);
    }
    ctl[NBLOCKS] = nb;
    ctl[PATH] = path;
    ctl[KIND] = KIND_MATMUL;
    ctl[FAILED] = 0;
    ctl[COMPLETED] = 0;
    this.tag = (this.tag % TAG_MASK) + 1;
    Atomics.store(ctl, CLAIM, this.tag << TAG_SHIFT);
    Atomics.notify(ctl, CLAIM);
    const mine = args.slice();
    const [packA, packB, tile] = scratch[0]!;
    mine[8] = packA;
    mine[9] = packB;
    mine.push(0, 0, 0, 0, tile);
    this.finish(
      nb,
      t0,
      (b) => {
        const blk = blocks[b]!;
        mine[13] = blk.i0;
        mine[14] = blk.i1;
        mine[15] = blk.j0;
        mine[16] = blk.j1;
        self(mine);
      },
      'matmul',
    );
  }

  /**
   * Call the export `name` once per entry of `blocks` (each its full argument list), the
   * caller and the workers claiming blocks as for a matmul; `self` runs the caller's.
   * The blocks must write disjoint memory. Returns when all are done; throws the first error.
   */
  runCalls(
    path: number,
    name: string,
    blocks: readonly (readonly number[])[],
    self: (args: readonly number[]) => void,
  ): void {
    const ctl = this.ctl;
    const nb = blocks.length;
    const t0 = performance.now();
    const fn = this.nameIndex.get(name);
    if (fn === undefined) throw new ChainruleError('wasm', `no kernel export named "${name}"`);
    if (nb > MAX_CALL_BLOCKS)
      throw new ChainruleError('wasm', `at most ${MAX_CALL_BLOCKS} blocks per call job, got ${nb}`);
    const nargs = blocks[0]?.length ?? 0;
    if (nargs > MAX_CALL_ARGS)
      throw new ChainruleError('wasm', `at most ${MAX_CALL_ARGS} arguments per call, got ${nargs}`);
    blocks.forEach((b, i) => {
      this.callArgs.set(b, i * MAX_CALL_ARGS);
    });
    ctl[ARGS] = fn;
    ctl[ARGS + 1] = nargs;
    ctl[NBLOCKS] = nb;
    ctl[PATH] = path;
    ctl[KIND] = KIND_CALL;
    ctl[FAILED] = 0;
    ctl[COMPLETED] = 0;
    this.tag = (this.tag % TAG_MASK) + 1;
    Atomics.store(ctl, CLAIM, this.tag << TAG_SHIFT);
    Atomics.notify(ctl, CLAIM);
    this.finish(nb, t0, (b) => self(blocks[b]!), name);
  }

  /**
   * The caller's part of a published job: claim and run blocks until none is left, wait
   * for the workers' blocks, count the time, and throw the first error.
   */
  private finish(nb: number, t0: number, run: (block: number) => void, what: string): void {
    const ctl = this.ctl;
    let error: unknown;
    for (;;) {
      const v = Atomics.load(ctl, CLAIM);
      const b = v & (MAX_BLOCKS - 1);
      if (b >= nb) break;
      if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) !== v) continue;
      try {
        run(b);
      } catch (e) {
        error ??= e;
      }
      Atomics.add(ctl, COMPLETED, 1);
    }
    const t1 = performance.now();
    let done = Atomics.load(ctl, COMPLETED);
    for (let i = 0; done < nb && i < SPIN; i++) done = Atomics.load(ctl, COMPLETED);
    while (done < nb) {
      Atomics.wait(ctl, COMPLETED, done);
      done = Atomics.load(ctl, COMPLETED);
    }
    const t2 = performance.now();
    this.stats.jobs++;
    this.stats.jobMs += t2 - t0;
    this.stats.waitMs += t2 - t1;
    if (error !== undefined) throw error;
    const failed = ctl[FAILED]!;
    if (failed !== 0) {
      const w = failed - 1;
      const len = ctl[SLOTS + 4 * w + 3]!;
      const at = (SLOTS + 4 * this.workers.length) * 4 + w * ERR_BYTES;
      // TextDecoder refuses views of shared memory: copy the bytes out first.
      const text = new TextDecoder().decode(new Uint8Array(this.control, at, len).slice());
      throw new ChainruleError('wasm', `a ${what} block failed in worker thread ${failed}: ${text}`);
    }
  }

  /** Stop every worker. */
  close(): void {
    this.active = 0;
    this.ctl[ACTIVE] = 0;
    this.stopAll();
  }
}
