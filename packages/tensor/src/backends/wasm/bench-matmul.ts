/**
 * A quick matmul benchmark of the js and wasm backends (not a test):
 *
 *   npx tsx packages/tensor/src/backends/wasm/bench-matmul.ts [m k n] [--runs N]
 *
 * Prints GFLOP/s (2·m·k·n flops per product; median of the runs after a warm-up) for
 * matmul in all four transpose variants and for fusedDense(relu), at 64×400×300 by default:
 * js, then wasm on each SIMD path (`simd`, `fma` where available) with 1 and 2 threads.
 * Output tensors are disposed each run, so the wasm allocator reuses the same blocks.
 * @module
 */
import * as T from '../../index.ts';
import { runtime, setSimdPath } from './backend.ts';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 100;
const dims = args.filter((a, i) => !a.startsWith('--') && i !== runsAt + 1 && /^\d+$/.test(a)).map(Number);
const [m, k, n] = dims.length === 3 ? (dims as [number, number, number]) : [64, 400, 300];

function randomData(size: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  const d = new Float32Array(size);
  for (let i = 0; i < size; i++) d[i] = rng.uniform(-1, 1);
  return d;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median and minimum milliseconds of `fn` over `count` runs after `warm` warm-up runs. */
function time(fn: () => T.Tensor, warm: number, count: number): { median: number; min: number } {
  for (let i = 0; i < warm; i++) fn().dispose();
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const out = fn();
    ms.push(performance.now() - t0);
    out.dispose();
  }
  return { median: median(ms), min: Math.min(...ms) };
}

const flops = 2 * m * k * n;
const gflops = (ms: number): string => (flops / (ms * 1e6)).toFixed(1).padStart(8);

console.log(
  `matmul ${m}x${k}x${n} (m x k x n), GFLOP/s: median of ${runs} wasm runs, ${Math.max(5, Math.floor(runs / 10))} js runs`,
);
T.setBackend('wasm');
const variants = runtime().paths.flatMap((path) => [1, 2].map((threads) => ({ path, threads })));
const label = (v: { path: string; threads: number }): string => `${v.path}·${v.threads}t`;
console.log(`${'case'.padEnd(26)}${'js'.padStart(8)}${variants.map((v) => label(v).padStart(9)).join('')}`);
const aData = randomData(m * k, 1);
const bData = randomData(k * n, 2);
const biasData = randomData(n, 3);
const results: Record<string, Record<string, { median: number; min: number }>> = {};
for (const backend of ['js', ...variants.map(label)]) {
  const v = variants.find((x) => label(x) === backend);
  if (v) {
    setSimdPath(v.path);
    T.setThreads(v.threads);
  }
  T.withBackend(v ? 'wasm' : 'js', () => {
    const cases: [string, () => T.Tensor][] = [];
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) {
        const a = T.tensor(aData, { shape: transposeA ? [k, m] : [m, k] });
        const b = T.tensor(bData, { shape: transposeB ? [n, k] : [k, n] });
        cases.push([
          `matmul tA=${+transposeA} tB=${+transposeB}`,
          () => T.matmul(a, b, { transposeA, transposeB }),
        ]);
      }
    }
    const x = T.tensor(aData, { shape: [m, k] });
    const w = T.tensor(bData, { shape: [k, n] });
    const bias = T.tensor(biasData, { shape: [n] });
    cases.push(['fusedDense relu', () => T.fusedDense(x, w, bias, 'relu')]);
    for (const [name, fn] of cases) {
      results[name] ??= {};
      results[name]![backend] =
        backend === 'js' ? time(fn, 1, Math.max(5, Math.floor(runs / 10))) : time(fn, 20, runs);
    }
  });
}

for (const [name, r] of Object.entries(results)) {
  console.log(
    `${name.padEnd(26)}${gflops(r.js!.median)}${variants.map((v) => ` ${gflops(r[label(v)]!.median)}`).join('')}`,
  );
}
T.setBackend('wasm');
console.log('wasm memory', T.wasmMemoryStats());
