/**
 * Throughput of the gpujs backend at a training size, against js (and wasm when present):
 * a 64×400×300 matmul and the fused dense forward tanh(x @ W + b) of the same size.
 *
 *   CHAINRULE_GPUJS_MODE=webasm npx tsx packages/tensor/src/backends/gpujs/bench.ts
 *   CHAINRULE_GPUJS_MODE=headlessgl xvfb-run -a npx tsx packages/tensor/src/backends/gpujs/bench.ts
 *
 * Each figure is the median of 20 timed runs after 3 warm-up runs (the first compiles the
 * kernel). "with read" includes `dataSync()` (for headlessgl, the texture readback that
 * also waits for the GPU); "op only" stops when the op returns (for headlessgl the draw
 * may still be in flight, so only the "with read" figure is a fair throughput).
 * @module
 */
import * as T from '../../index.ts';
import { gpujsMode } from './index.ts';

const M = 64;
const K = 400;
const N = 300;
const FLOP = 2 * M * K * N;
const RUNS = 20;
const WARMUP = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(
  backend: string,
  op: (x: T.Tensor, w: T.Tensor, b: T.Tensor) => T.Tensor,
  read: boolean,
): number {
  return T.withBackend(backend, () => {
    const rng = new T.Rng(1);
    const x = T.tensor(
      Float32Array.from({ length: M * K }, () => rng.uniform(-1, 1)),
      { shape: [M, K] },
    );
    const w = T.tensor(
      Float32Array.from({ length: K * N }, () => rng.uniform(-1, 1)),
      { shape: [K, N] },
    );
    const b = T.tensor(
      Float32Array.from({ length: N }, () => rng.uniform(-1, 1)),
      { shape: [N] },
    );
    // Move the inputs into the backend's preferred form first (textures in GL modes).
    const [xs, ws, bs] = [T.clone(x), T.clone(w), T.clone(b)];
    const times: number[] = [];
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const t0 = performance.now();
      const y = op(xs, ws, bs);
      if (read) y.dataSync();
      const t1 = performance.now();
      y.dispose();
      if (i >= WARMUP) times.push(t1 - t0);
    }
    for (const t of [x, w, b, xs, ws, bs]) t.dispose();
    return median(times);
  });
}

const ops: [string, (x: T.Tensor, w: T.Tensor, b: T.Tensor) => T.Tensor][] = [
  ['matmul 64×400×300', (x, w) => T.matmul(x, w)],
  ['fusedDense tanh 64×400×300', (x, w, b) => T.fusedDense(x, w, b, 'tanh')],
];

const backends = ['js', 'gpujs', ...(T.listBackends().includes('wasm') ? ['wasm'] : [])];
console.log(`gpujs mode: ${gpujsMode()}; median of ${RUNS} after ${WARMUP} warm-up runs`);
for (const [name, op] of ops) {
  for (const backend of backends) {
    const withRead = time(backend, op, true);
    const opOnly = time(backend, op, false);
    const gflops = (ms: number) => (FLOP / (ms * 1e6)).toFixed(2);
    const label = backend === 'gpujs' ? `gpujs/${gpujsMode()}` : backend;
    console.log(
      `${name.padEnd(28)} ${label.padEnd(17)} with read ${withRead.toFixed(2).padStart(8)} ms ${gflops(withRead).padStart(6)} GFLOP/s   op only ${opOnly.toFixed(2).padStart(8)} ms ${gflops(opOnly).padStart(6)} GFLOP/s`,
    );
  }
}
