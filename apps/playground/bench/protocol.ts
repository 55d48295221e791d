/**
 * Messages between the browser bench page and its worker (see worker.ts).
 * @module
 */

/** Page → worker: how many interleaved rounds, and timed updates per variant per round. */
export interface BenchRequest {
  rounds: number;
  perRound: number;
}

/** Worker → page: the timings, or why the bench failed. */
export type BenchReply = { ok: true; result: UpdateBenchResult } | { ok: false; message: string };

/** One bench run in the browser. Times in milliseconds. */
export interface UpdateBenchResult {
  /** The Node bench's case name. */
  case: string;
  /** Median over every timed update of the round-robin, on 1 thread. */
  updateMs1Thread: number;
  /** The same on `threads` threads. */
  updateMsAllThreads: number;
  /** navigator.hardwareConcurrency, and the count threadsReady() confirmed. */
  threads: number;
  /** updateMs1Thread ÷ updateMsAllThreads. */
  speedup: number;
  /** Per round: the median of that round's updates, for each variant. */
  roundMedians: { oneThread: number[]; allThreads: number[] };
  rounds: number;
  perRound: number;
  /** Blocks (of matmuls and split kernels) the pool's workers computed during the all-threads updates (0: no sharing). */
  blocksByWorkers: number;
  crossOriginIsolated: boolean;
  simdPath: string;
  userAgent: string;
}
