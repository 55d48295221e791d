/**
 * From what size does splitting an elementwise kernel across two threads pay? Times
 * `add` of two float32 vectors, `exp` and one Adam step at sizes from 1K to 256K
 * elements, on one thread and split over two, interleaved in rounds; prints the medians
 * and the ratio. The wasm backend's threshold (`parallelElems` in backend.ts, settable
 * with setParallelElements) is the smallest size where two threads win by a margin.
 *
 *   npx tsx bench/src/split-threshold.ts
 * @module
 */
import * as T from '@chainrule/tensor';
import { setParallelElements } from '../../packages/tensor/src/backends/wasm/backend.ts';

T.setBackend('wasm');
const SIZES = [1024, 4096, 8192, 16384, 32768, 65536, 131072, 262144];
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const REPS = 200;
const rng = new T.Rng(1);
const vec = (n: number, lo = -1, hi = 1) => {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.uniform(lo, hi);
  return T.tensor(d);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const adamOpts = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  decoupled: false,
  amsgrad: false,
  step: 3,
};
const kernels: [string, (a: T.Tensor, b: T.Tensor, v: T.Tensor) => unknown][] = [
  ['add', (a, b) => T.add(a, b)],
  ['exp', (a) => T.exp(a)],
  ['adam', (a, b, v) => T.adamUpdate(a, b, b, v, undefined, adamOpts)],
];
console.log(`µs per call, median of ${ROUNDS} rounds × ${REPS} calls (1 thread | 2 threads | ratio)`);
for (const [name, f] of kernels) {
  for (const n of SIZES) {
    const a = vec(n);
    const b = vec(n);
    const v = vec(n, 0, 1);
    const ms: [number[], number[]] = [[], []];
    for (let r = 0; r < ROUNDS; r++) {
      for (const t of [1, 2]) {
        T.setThreads(t);
        setParallelElements(t === 1 ? Number.POSITIVE_INFINITY : 0);
        T.tidy(() => {
          f(a, b, v);
        });
        const t0 = performance.now();
        for (let i = 0; i < REPS; i++)
          T.tidy(() => {
            f(a, b, v);
          });
        ms[t - 1]!.push(((performance.now() - t0) / REPS) * 1000);
      }
    }
    const [m1, m2] = [median(ms[0]), median(ms[1])];
    console.log(
      `${name.padEnd(5)} ${String(n).padStart(7)}: ${m1.toFixed(1).padStart(7)} | ${m2.toFixed(1).padStart(7)} | ${(m1 / m2).toFixed(2)}×`,
    );
  }
}
process.exit(0);
