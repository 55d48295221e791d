/**
 * The bench's worker: the Node bench's `ddpg update tuned b256` case (bench/src: the `tuned`
 * agent from makeConfig('tuned') with Pendulum's spaces, the bench's seeded initial
 * parameters and its fixed batch of 256; one iteration is `updateOn(batch)` in a tidy
 * scope, replayed after capture) on the wasm backend, on 1 thread and on all threads.
 *
 * The two variants alternate in rounds (the order flipping each round), so that other
 * work on the machine slows both alike; each round starts with one untimed update after
 * the switch, and the reported figure is the median of all timed updates of a variant.
 * @module
 */
import { makeConfig } from '@chainrule/ddpg';
import { getBackendInfo, setBackend, setThreads, threadsReady, tidy } from '@chainrule/tensor';
import { CASE } from '../../../bench/src/cases.ts';
import { batchTensors, benchAgent } from '../../../bench/src/contenders/chainrule-nets.ts';
import { ddpgBatch } from '../../../bench/src/inputs.ts';
import { TUNED_PRESET } from '../../../bench/src/specs.ts';
import type { BenchReply, BenchRequest, UpdateBenchResult } from './protocol.ts';

/** The Node bench's agent seed (contenders/chainrule.ts). */
const AGENT_SEED = 1;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Use `n` threads, and wait until the pool's workers run (they start only while we are idle). */
async function useThreads(n: number): Promise<number> {
  setThreads(n);
  return (await threadsReady()).threads;
}

async function run({ rounds, perRound }: BenchRequest): Promise<UpdateBenchResult> {
  setBackend('wasm');
  const all = navigator.hardwareConcurrency;
  const threads = await useThreads(all);
  if (threads < 2) {
    const note = getBackendInfo().threadsNote;
    throw new Error(
      `only ${threads} thread here (hardwareConcurrency ${all}): ${String(note ?? 'one core')}`,
    );
  }
  const cfg = makeConfig(TUNED_PRESET.name);
  const agent = benchAgent(TUNED_PRESET, cfg, AGENT_SEED);
  const batch = batchTensors(ddpgBatch(TUNED_PRESET.batch));
  const update = () => {
    const stats = tidy(() => agent.updateOn(batch));
    if (!Number.isFinite(stats.criticLoss)) throw new Error(`critic loss is ${stats.criticLoss}`);
  };
  // Capture and first replays, on both thread counts.
  for (const n of [1, threads]) {
    await useThreads(n);
    for (let i = 0; i < 3; i++) update();
  }
  const why = agent.compiledUpdate.stats().eagerReason;
  if (why) throw new Error(`the update is not replayed: ${why}`);
  const samples = { oneThread: [] as number[], allThreads: [] as number[] };
  const roundMedians = { oneThread: [] as number[], allThreads: [] as number[] };
  let blocksByWorkers = 0;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [1, threads] : [threads, 1];
    for (const n of order) {
      await useThreads(n);
      update();
      const before = Number(getBackendInfo().blocksByWorkers ?? 0);
      const ms: number[] = [];
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        update();
        ms.push(performance.now() - t0);
      }
      const key = n === 1 ? 'oneThread' : 'allThreads';
      if (n > 1) blocksByWorkers += Number(getBackendInfo().blocksByWorkers ?? 0) - before;
      samples[key].push(...ms);
      roundMedians[key].push(median(ms));
    }
  }
  const updateMs1Thread = median(samples.oneThread);
  const updateMsAllThreads = median(samples.allThreads);
  return {
    case: CASE.ddpgTuned,
    updateMs1Thread,
    updateMsAllThreads,
    threads,
    speedup: updateMs1Thread / updateMsAllThreads,
    roundMedians,
    rounds,
    perRound,
    blocksByWorkers,
    crossOriginIsolated: self.crossOriginIsolated,
    simdPath: String(getBackendInfo().simdPath),
    userAgent: navigator.userAgent,
  };
}

self.onmessage = (e: MessageEvent<BenchRequest>) => {
  run(e.data).then(
    (result) => self.postMessage({ ok: true, result } satisfies BenchReply),
    (err: unknown) => self.postMessage({ ok: false, message: (err as Error).message } satisfies BenchReply),
  );
};
