/**
 * The benchmark harness: the {@link Contender} model and the per-contender protocol
 * (setup → check → leak-checked timed run with tinybench → teardown).
 *
 * @module
 */

import { Bench } from 'tinybench';
import { type BenchCase, compareOutput } from './cases.ts';

/**
 * One implementation of one benchmark case. Contenders are plain objects; see
 * `contenders/tfjs.ts` for complete examples.
 *
 * Protocol, in this order, for each contender:
 * 1. `setup()`: build inputs (from `inputs.ts`), models and optimisers. Not timed.
 * 2. `run()` once, then `output()` (if present) is compared with the case's float64
 *    reference. A mismatch marks the row `mismatch`: it is still timed but left out of
 *    every ratio.
 * 3. tinybench warm-up, then timed `run()` calls. `liveObjects()` (if present) is read
 *    before and after: a growth means the contender leaks and the row becomes `error`.
 * 4. `teardown()`: free everything (also called after a failure).
 *
 * Cases marked `singleShot` (end-to-end runs) skip steps 2–3: the first `run()` after
 * `setup()` is timed and is the only sample.
 */
export interface Contender {
  /** A case name from `cases.ts` (e.g. `'matmul 64x400x300'`). */
  readonly case: string;
  /** The implementation, e.g. `'tfjs'` or `'chainrule'`. */
  readonly impl: string;
  /** The backend, e.g. `'wasm'`, `'cpu'`, `'js'`, `'gpujs'`. */
  readonly backend: string;
  /** FLOPs of one `run()` if it differs from the case's count. */
  readonly flops?: number;
  /** Optional one-line remark shown in the Markdown report. */
  readonly note?: string;
  setup(): Promise<void> | void;
  /** One measured iteration. Must finish all work (read results back) before returning. */
  run(): void | Promise<void>;
  /** The result of the last `run()`, in the case's documented layout. */
  output?(): Float32Array;
  teardown?(): Promise<void> | void;
  /** Number of live engine objects (e.g. `tf.memory().numTensors`), for the leak check. */
  liveObjects?(): number;
}

/** `impl-backend`, e.g. `tfjs-wasm`. */
export const contenderId = (c: { impl: string; backend: string }): string => `${c.impl}-${c.backend}`;

/** The baseline every ratio is computed against. */
export const BASELINE = { impl: 'tfjs', backend: 'wasm' } as const;

export type RowStatus = 'ok' | 'mismatch' | 'error';

/** One row of `latest.json`. Timing fields are `null` when nothing was timed. */
export interface ResultRow {
  case: string;
  impl: string;
  backend: string;
  medianMs: number | null;
  p10Ms: number | null;
  p90Ms: number | null;
  samples: number;
  gflops?: number;
  /**
   * gflops as a share of one core's measured wasm SIMD peak (`machine.wasmPeak`, the best
   * path): 1 is one core at the peak, so a 2-thread row can reach 2 and PyTorch's AVX2 more.
   */
  peakShare?: number;
  /** tfjs-wasm median / this median, same run; `null` when either side is not `ok`. */
  speedupVsTfjsWasm: number | null;
  status: RowStatus;
  error?: string;
  note?: string;
}

/** How many samples to take. */
export interface SamplingPlan {
  /** Time budget of the timed phase (tinybench `time`), ms. */
  readonly timeMs: number;
  /** Target sample count (tinybench `iterations`), reduced for slow tasks. */
  readonly samples: number;
  /** Never fewer samples than this. */
  readonly minSamples: number;
  /** Aim to keep one contender's timed phase under this, ms (sets the sample count). */
  readonly maxTaskMs: number;
  /** Warm-up time budget, ms, and iterations (after the untimed check run). */
  readonly warmupMs: number;
  readonly warmupIterations: number;
  /** Skip the tinybench warm-up when one iteration takes longer than this, ms. */
  readonly noWarmupAboveMs: number;
}

export const FULL_PLAN: SamplingPlan = {
  timeMs: 2000,
  samples: 30,
  minSamples: 3,
  maxTaskMs: 30_000,
  warmupMs: 300,
  warmupIterations: 5,
  noWarmupAboveMs: 1000,
};

export const QUICK_PLAN: SamplingPlan = {
  timeMs: 150,
  samples: 5,
  minSamples: 2,
  maxTaskMs: 4000,
  warmupMs: 0,
  warmupIterations: 2,
  noWarmupAboveMs: 500,
};

/** Linear-interpolation quantile (R type 7) of ascending-sorted samples. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

/** Progress hooks of {@link runContender}. */
export interface RunHooks {
  stage?(stage: 'setup' | 'check' | 'timing' | 'teardown'): void;
  log?(message: string): void;
}

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const isPromise = (v: unknown): v is Promise<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

function withFlops(row: ResultRow, contender: Contender, benchCase: BenchCase): ResultRow {
  const flops = contender.flops ?? benchCase.flops;
  if (flops !== undefined && row.medianMs !== null && row.medianMs > 0)
    row.gflops = flops / (row.medianMs * 1e6);
  return row;
}

/** Run one contender through the whole protocol and return its result row. */
export async function runContender(
  contender: Contender,
  benchCase: BenchCase,
  plan: SamplingPlan,
  hooks: RunHooks = {},
): Promise<ResultRow> {
  const id = `${contender.case} / ${contenderId(contender)}`;
  const row: ResultRow = {
    case: contender.case,
    impl: contender.impl,
    backend: contender.backend,
    medianMs: null,
    p10Ms: null,
    p90Ms: null,
    samples: 0,
    speedupVsTfjsWasm: null,
    status: 'ok',
    ...(contender.note ? { note: contender.note } : {}),
  };
  const fail = (message: string): ResultRow => {
    row.status = 'error';
    row.error = message;
    hooks.log?.(`ERROR ${id}: ${message}`);
    return row;
  };
  try {
    hooks.stage?.('setup');
    try {
      await contender.setup();
    } catch (e) {
      return fail(`setup failed: ${errText(e)}`);
    }

    // Check run: the first run() (also a first warm-up), then the output check.
    hooks.stage?.(benchCase.singleShot ? 'timing' : 'check');
    let isAsync: boolean;
    let firstMs: number;
    const liveAtStart = contender.liveObjects?.();
    try {
      const t0 = performance.now();
      const r = contender.run();
      isAsync = isPromise(r);
      if (isAsync) await r;
      firstMs = performance.now() - t0;
    } catch (e) {
      return fail(`run failed: ${errText(e)}`);
    }
    if (contender.output && benchCase.reference) {
      let cmp: ReturnType<typeof compareOutput>;
      try {
        cmp = compareOutput(contender.output(), benchCase.reference());
      } catch (e) {
        return fail(`output check failed: ${errText(e)}`);
      }
      if (!cmp.ok) {
        row.status = 'mismatch';
        row.error = `output does not match the float64 reference: ${cmp.message}`;
        hooks.log?.(`MISMATCH ${id}: ${cmp.message}`);
      }
    }

    if (benchCase.singleShot) {
      const live = contender.liveObjects?.();
      if (live !== liveAtStart) return fail(`leak: live objects ${liveAtStart} → ${live} over the run`);
      row.samples = 1;
      row.medianMs = row.p10Ms = row.p90Ms = firstMs;
      return withFlops(row, contender, benchCase);
    }

    // Timed phase, with the leak check around it.
    hooks.stage?.('timing');
    const estimate = Math.max(firstMs, 1e-3);
    const cap = benchCase.maxSamples ?? Number.POSITIVE_INFINITY;
    const samples = Math.min(
      cap,
      Math.max(plan.minSamples, Math.min(plan.samples, Math.floor(plan.maxTaskMs / estimate))),
    );
    const warm = estimate <= plan.noWarmupAboveMs && plan.warmupIterations > 0;
    const bench = new Bench({
      name: id,
      time: estimate * samples > plan.maxTaskMs ? 0 : Math.min(plan.timeMs, plan.maxTaskMs),
      iterations: samples,
      warmup: warm,
      warmupTime: plan.warmupMs,
      warmupIterations: plan.warmupIterations,
      retainSamples: true,
      throws: true,
    });
    bench.add(id, () => contender.run(), { async: isAsync });
    const liveBefore = contender.liveObjects?.();
    try {
      await bench.run();
    } catch (e) {
      return fail(`run failed: ${errText(e)}`);
    }
    const task = bench.tasks[0]!;
    const result = task.result;
    if (result.state !== 'completed' && result.state !== 'aborted-with-statistics') {
      const why = result.state === 'errored' ? errText(result.error) : result.state;
      return fail(`benchmark did not complete: ${why}`);
    }
    if (liveBefore !== undefined) {
      const liveAfter = contender.liveObjects!();
      if (liveAfter !== liveBefore) {
        const runs = result.latency.samplesCount + (warm ? plan.warmupIterations : 0);
        return fail(
          `leak: live objects ${liveBefore} → ${liveAfter} (${liveAfter - liveBefore > 0 ? '+' : ''}${liveAfter - liveBefore}) over ≥${runs} iterations`,
        );
      }
    }
    const sorted = [...(result.latency.samples ?? [])].sort((a, b) => a - b);
    if (sorted.length === 0) return fail('no samples recorded');
    row.samples = sorted.length;
    row.medianMs = quantile(sorted, 0.5);
    row.p10Ms = quantile(sorted, 0.1);
    row.p90Ms = quantile(sorted, 0.9);
    return withFlops(row, contender, benchCase);
  } finally {
    hooks.stage?.('teardown');
    try {
      await contender.teardown?.();
    } catch (e) {
      hooks.log?.(`WARNING ${id}: teardown failed: ${errText(e)}`);
    }
  }
}
