/**
 * Where does one DDPG update spend its time? Wraps every kernel of a backend with a timer,
 * runs N updates on a fixed replay buffer and prints per-op milliseconds per update.
 *
 *   B=wasm P=paper npx tsx bench/src/profile-update.ts
 *   B=wasm P=tuned npx tsx bench/src/profile-update.ts
 *   B=js   P=td3   npx tsx bench/src/profile-update.ts
 * @module
 */
import { DDPG, makeConfig, TD3 } from '@chainrule/ddpg';
import * as T from '@chainrule/tensor';
import { getKernel, Rng, registerKernel, setBackend } from '@chainrule/tensor';

const B = process.env.B ?? 'js';
setBackend(B);
const times = new Map<string, [number, number]>();
// Every kernel name the ops layer can run.
const OPS = [
  ...T.UNARY_OPS,
  ...T.BINARY_OPS,
  ...T.COMPARISON_OPS,
  ...['clip', 'where', 'broadcastTo', 'sum', 'max', 'min', 'matmul', 'fusedDense', 'transpose'],
  ...['slice', 'pad', 'concat', 'gather', 'scatterAdd', 'cast', 'increment', 'adamUpdate', 'lerp'],
];
for (const op of OPS) {
  const k = getKernel(op, B);
  if (!k) continue;
  registerKernel({
    ...k,
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
const preset = (process.env.P ?? 'paper') as 'paper' | 'tuned' | 'td3';
const cfg = makeConfig(preset, {});
const ag = new (preset === 'td3' ? TD3 : DDPG)(
  { obsDim: 3, actDim: 1, actionLow: [-2], actionHigh: [2] },
  cfg,
  0,
);
const r = new Rng(5);
// Enough transitions that update() runs (tuned and td3 wait for 1000).
for (let i = 0; i < Math.max(cfg.learningStarts, cfg.batchSize) + 44; i++)
  ag.observe({
    obs: [r.uniform(), r.uniform(), r.uniform()],
    action: [r.uniform()],
    reward: -r.uniform(),
    nextObs: [r.uniform(), r.uniform(), r.uniform()],
    terminated: false,
    truncated: false,
  });
for (let i = 0; i < 3; i++) ag.update();
times.clear();
const N = 20;
const t0 = performance.now();
for (let i = 0; i < N; i++) ag.update();
const total = (performance.now() - t0) / N;
let kern = 0;
for (const [, [t]] of times) kern += t / N;
console.log(B, total.toFixed(1), 'ms/update;', kern.toFixed(1), 'ms in kernels');
for (const [op, [t, n]] of [...times].sort((a, b) => b[1][0] - a[1][0]).slice(0, 12))
  console.log(op.padEnd(12), (t / N).toFixed(2), 'ms', n / N, 'calls');
