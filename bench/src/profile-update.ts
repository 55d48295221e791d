/**
 * Where does one DDPG update spend its time? Wraps every kernel of a backend with a timer,
 * runs N updates on a fixed replay buffer (replayed, as training runs them) and prints, per
 * preset and thread count, the milliseconds per update by kind of kernel, the main
 * thread's JavaScript (the rest), the time handed to worker threads and the caller's
 * wait for them (spin and wake-up), then the busiest kernels.
 *
 *   npx tsx bench/src/profile-update.ts                       # wasm; tuned and paper; 1 and 2 threads
 *   P=paper THREADS=2 N=50 npx tsx bench/src/profile-update.ts
 *   B=js P=td3 THREADS=1 npx tsx bench/src/profile-update.ts
 *
 * `paper-nobn` is `paper` without BatchNorm: the difference between the two is what
 * BatchNorm costs. Variants run in interleaved rounds (ROUNDS, default 5) and each figure
 * is the median over rounds, so a busy machine affects every variant alike.
 * @module
 */
import { makeConfig, type Td3Config } from '@chainrule/ddpg';
import * as T from '@chainrule/tensor';
import { getKernel, registerKernel, setBackend, setThreads } from '@chainrule/tensor';
import { threadStats } from '../../packages/tensor/src/backends/wasm/backend.ts';
import { readyAgent } from './readyAgent.ts';

const B = process.env.B ?? 'wasm';
setBackend(B);
const PRESETS = (process.env.P ?? 'tuned,paper,paper-nobn').split(',');
const THREADS = (process.env.THREADS ?? '1,2').split(',').map(Number);
const N = Number(process.env.N ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

/** Kind of each kernel, for the summary. */
const KIND: Record<string, string> = {};
for (const op of [...T.UNARY_OPS, ...T.BINARY_OPS, ...T.COMPARISON_OPS, 'clip', 'where', 'broadcastTo'])
  KIND[op] = 'elementwise';
for (const op of ['sum', 'max', 'min']) KIND[op] = 'reductions';
for (const op of ['matmul', 'fusedDense']) KIND[op] = 'matmul';
for (const op of ['transpose', 'slice', 'pad', 'concat', 'gather', 'scatterAdd', 'cast'])
  KIND[op] = 'data movement';
KIND.adamUpdate = 'adam';
KIND.increment = 'adam'; // the optimisers' step counters
KIND.lerp = 'lerp (soft update)';
KIND.batchNorm = 'batchNorm (fused)';
KIND.batchNormGrad = 'batchNorm (fused)';
const KINDS = [...new Set(Object.values(KIND))];

const times = new Map<string, [ms: number, calls: number]>();
for (const op of Object.keys(KIND) as T.KernelName[]) {
  const k = getKernel(op, B);
  if (!k) continue;
  registerKernel({
    ...k,
    op,
    fn: (args) => {
      const t0 = performance.now();
      k.fn(args);
      const e = times.get(op) ?? [0, 0];
      e[0] += performance.now() - t0;
      e[1]++;
      times.set(op, e);
    },
  });
}

function makeAgent(preset: string) {
  const base = preset === 'paper-nobn' ? 'paper' : (preset as 'paper' | 'tuned' | 'td3');
  const cfg = makeConfig(base, preset === 'paper-nobn' ? { batchNorm: false } : {});
  const { learningStarts, batchSize } = cfg as Td3Config;
  return readyAgent(cfg, Math.max(learningStarts, batchSize) + 44);
}

interface Sample {
  total: number;
  kinds: Record<string, number>;
  ops: Map<string, [number, number]>;
  jobs: number;
  jobMs: number;
  waitMs: number;
}
const variants = PRESETS.flatMap((preset) =>
  THREADS.map((threads) => ({ preset, threads, agent: makeAgent(preset), samples: [] as Sample[] })),
);
for (const v of variants) {
  setThreads(v.threads);
  for (let i = 0; i < 5; i++) v.agent.update();
}
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    setThreads(v.threads);
    v.agent.update();
    times.clear();
    threadStats(true);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) v.agent.update();
    const total = (performance.now() - t0) / N;
    const kinds: Record<string, number> = {};
    for (const [op, [t]] of times) kinds[KIND[op]!] = (kinds[KIND[op]!] ?? 0) + t / N;
    const ts = threadStats(true);
    v.samples.push({
      total,
      kinds,
      ops: new Map(times),
      jobs: ts.jobs / N,
      jobMs: ts.jobMs / N,
      waitMs: ts.waitMs / N,
    });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const f = (x: number) => x.toFixed(2);
const cols = variants.map((v) => `${v.preset} ${v.threads}t`);
const rows: [string, (s: Sample) => number][] = [
  ['one update (ms)', (s) => s.total],
  ...KINDS.map((k) => [k, (s: Sample) => s.kinds[k] ?? 0] as [string, (s: Sample) => number]),
  ["main thread's JavaScript (the rest)", (s) => s.total - Object.values(s.kinds).reduce((a, b) => a + b, 0)],
  ['in parallel jobs (hand-off to end)', (s) => s.jobMs],
  ['  of which the caller waits (spin, wake-up)', (s) => s.waitMs],
  ['serial: not in a parallel job', (s) => s.total - s.jobMs],
];
console.log(`${B}, ${N} updates × ${ROUNDS} interleaved rounds, median ms per update (replayed):\n`);
console.log(`| ms per update | ${cols.join(' | ')} |`);
console.log(`|---|${cols.map(() => '---:').join('|')}|`);
for (const [name, get] of rows) {
  const vals = variants.map((v) => median(v.samples.map(get)));
  if (vals.every((x) => x === 0) && name !== 'one update (ms)') continue;
  console.log(`| ${name} | ${vals.map(f).join(' | ')} |`);
}
console.log(
  `| parallel jobs per update | ${variants.map((v) => median(v.samples.map((s) => s.jobs))).join(' | ')} |`,
);
for (const v of variants) {
  const last = v.samples[v.samples.length >> 1]!;
  console.log(`\n${v.preset}, ${v.threads} thread(s): busiest kernels (ms per update, calls, µs per call)`);
  for (const [op, [t, n]] of [...last.ops].sort((a, b) => b[1][0] - a[1][0]).slice(0, 10))
    console.log(
      `  ${op.padEnd(18)} ${(t / N).toFixed(3).padStart(7)} ms ${String(n / N).padStart(5)} calls ${((t / n) * 1000).toFixed(1).padStart(7)} µs`,
    );
}
process.exit(0);
