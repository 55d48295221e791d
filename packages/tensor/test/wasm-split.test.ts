/**
 * Elementwise, Adam, lerp and reduction kernels split across threads (the wasm backend's
 * `split`/`each`): with the threshold at 0 so that every size splits, each gives the same
 * bits for 1, 2 and 3 threads, on sizes with SIMD tails and odd row counts, and the
 * blocked column sums and row reductions equal the single-thread ones bit for bit.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blocksByWorkers, setParallelElements } from '../src/backends/wasm/backend.ts';
import * as T from '../src/index.ts';

let previous: number;
beforeAll(() => {
  T.setBackend('wasm');
  previous = setParallelElements(0);
});
afterAll(() => {
  setParallelElements(previous);
  T.setThreads(1);
  T.setBackend('js');
});

function rand(shape: number[], seed: number, lo = -2, hi = 2): T.Tensor {
  const rng = new T.Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.uniform(lo, hi);
  return T.tensor(d, { shape });
}

/** The bits of every output of `f`, run under 1, 2 and 3 threads. */
function bitsPerThreadCount(f: () => T.Tensor[]): Uint32Array[][] {
  return [1, 2, 3].map((n) => {
    T.setThreads(n);
    return T.tidy(() => f().map((t) => new Uint32Array(new Float32Array(t.dataSync()).buffer)));
  });
}

function expectSameBits(runs: Uint32Array[][]): void {
  for (const run of runs.slice(1)) {
    expect(run.length).toBe(runs[0]!.length);
    run.forEach((bits, i) => {
      expect(bits).toEqual(runs[0]![i]);
    });
  }
}

const shapeArb = fc.tuple(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 70 }));

describe('wasm kernels split across threads', () => {
  it('unary, clip, binary (equal shapes, row and column broadcasts) and where give the same bits for 1, 2 and 3 threads', () => {
    const before = blocksByWorkers();
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 0, max: 1000 }), ([m, n], seed) => {
        const a = rand([m, n], seed);
        const b = rand([m, n], seed + 1);
        const row = rand([n], seed + 2);
        const col = rand([m, 1], seed + 3);
        const flat = rand([m * n], seed + 4);
        expectSameBits(
          bitsPerThreadCount(() => [
            T.exp(a),
            T.tanh(a),
            T.relu(a),
            T.clip(a, -0.5, 0.7),
            T.add(a, b),
            T.mul(a, row),
            T.sub(col, a),
            T.div(flat, 3),
            T.where(T.greater(a, 0), b, 0),
          ]),
        );
      }),
      { numRuns: 25 },
    );
    // The work was shared: a worker took blocks (on a busy machine the caller may take
    // them all before a worker wakes, so try a few times).
    T.setThreads(2);
    const [x, y] = [rand([256, 256], 1), rand([256, 256], 2)];
    for (let i = 0; i < 200 && blocksByWorkers() === before; i++)
      T.tidy(() => {
        T.exp(T.add(x, y));
      });
    expect(blocksByWorkers()).toBeGreaterThan(before);
  });

  it('Adam (L2, AdamW, AMSGrad) and lerp give the same bits for 1, 2 and 3 threads, tails included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
        (n, decoupled, amsgrad, seed) => {
          const p = rand([n], seed);
          const g = rand([n], seed + 1);
          const m = rand([n], seed + 2, -0.1, 0.1);
          const v = rand([n], seed + 3, 0, 0.1);
          const vmax = rand([n], seed + 4, 0, 0.1);
          expectSameBits(
            bitsPerThreadCount(() => [
              ...T.adamUpdate(p, g, m, v, amsgrad ? vmax : undefined, {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weightDecay: 0.01,
                decoupled,
                amsgrad,
                step: 3,
              }),
              T.lerp(p, g, 0.005),
            ]),
          );
        },
      ),
      { numRuns: 25 },
    );
  });

  it('sums over the batch axis (fixed blocks of 64 rows) and row reductions give the same bits for 1, 2 and 3 threads and equal the float64 sum within the documented bound', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 1000 }),
        (rows, cols, seed) => {
          const x = rand([rows, cols], seed);
          const runs = bitsPerThreadCount(() => [T.sum(x, 0), T.sum(x, 1), T.max(x, 1), T.min(x, 1)]);
          expectSameBits(runs);
          const xs = x.dataSync();
          const got = new Float32Array(runs[0]![0]!.buffer);
          for (let j = 0; j < cols; j++) {
            let s = 0;
            let abs = 0;
            for (let i = 0; i < rows; i++) {
              s += xs[i * cols + j]!;
              abs += Math.abs(xs[i * cols + j]!);
            }
            expect(Math.abs(got[j]! - s)).toBeLessThanOrEqual(2 ** -24 * Math.abs(s) + 68 * 2 ** -24 * abs);
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
