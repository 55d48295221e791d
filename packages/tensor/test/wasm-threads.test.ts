/**
 * Threads in the wasm backend: matmul and fusedDense give bit-identical results for 1, 2
 * and 3 threads (C is split by whole tiles, never along k); memory growth while workers
 * run; an error in a worker reaches the caller; a script that used threads exits by
 * itself; the thread count is validated and reported.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blocksByWorkers,
  runtime,
  type SimdPath,
  setMatmulBlocksPerThread,
  setParallelThreshold,
  setSimdPath,
} from '../src/backends/wasm/backend.ts';
import { KERNELS_WASM_BASE64, SHARED_MAX_PAGES } from '../src/backends/wasm/kernels.wasm.ts';
import { partition, WorkerPool } from '../src/backends/wasm/threads.ts';
import * as T from '../src/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const EDGE = [1, 3, 4, 5, 8, 9, 17, 33, 65] as const;

let previousThreshold: number;
let previousPath: SimdPath;
beforeAll(() => {
  T.setBackend('wasm');
  previousThreshold = setParallelThreshold(0);
  previousPath = runtime().path;
});
afterAll(() => {
  setParallelThreshold(previousThreshold);
  setSimdPath(previousPath);
  T.setThreads(1);
  T.setBackend('js');
});

function rand(n: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.uniform(-2, 2);
  return d;
}

describe('partition', () => {
  it('covers C exactly once with blocks of whole 4×8 tiles', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 12 }),
        (m, n, parts) => {
          const blocks = partition(m, n, parts);
          expect(blocks.length).toBeGreaterThanOrEqual(1);
          expect(blocks.length).toBeLessThanOrEqual(parts);
          const seen = new Uint8Array(m * n);
          for (const { i0, i1, j0, j1 } of blocks) {
            expect(i0 % 4).toBe(0);
            expect(j0 % 8).toBe(0);
            expect(i1 === m || i1 % 4 === 0).toBe(true);
            expect(j1 === n || j1 % 8 === 0).toBe(true);
            for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) seen[i * n + j]!++;
          }
          expect(seen.every((c) => c === 1)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('wasm threads', () => {
  it('reports the thread count, and refuses a count that is not a whole number ≥ 1', () => {
    T.setThreads(2);
    expect(T.getBackendInfo().threads).toBe(2);
    T.setThreads(1);
    expect(T.getBackendInfo().threads).toBe(1);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => T.setThreads(bad)).toThrow(/setThreads: expected a whole number of threads ≥ 1, got/);
      expect(() => setMatmulBlocksPerThread(bad)).toThrow(
        /setMatmulBlocksPerThread: expected an integer ≥ 1, got/,
      );
    }
  });

  for (const path of ['simd', 'fma'] as const) {
    it(`${path}: matmul (all transposes, batched) and fusedDense are bit-identical for 1, 2 and 3 threads and any blocks per thread`, () => {
      setSimdPath(path);
      const shared = blocksByWorkers();
      fc.assert(
        fc.property(
          fc.constantFrom(...EDGE),
          fc.constantFrom(...EDGE),
          fc.constantFrom(...EDGE),
          fc.boolean(),
          fc.boolean(),
          fc.constantFrom('linear', 'relu', 'tanh', 'sigmoid' as const),
          fc.integer({ min: 0, max: 1e6 }),
          (m, k, n, ta, tb, act, seed) => {
            const a = rand(2 * m * k, seed);
            const b = rand(k * n, seed + 1);
            const bias = rand(n, seed + 2);
            const runs = [
              [1, 1],
              [2, 1],
              [2, 3],
              [3, 2],
            ].map(([threads, blocks]) => {
              T.setThreads(threads!);
              const previousBlocks = setMatmulBlocksPerThread(blocks!);
              const outputs = T.tidy(() => {
                const A = T.tensor(a.subarray(0, m * k), { shape: ta ? [k, m] : [m, k] });
                const B = T.tensor(b, { shape: tb ? [n, k] : [k, n] });
                const A2 = T.tensor(a, { shape: ta ? [2, k, m] : [2, m, k] });
                const opts = { transposeA: ta, transposeB: tb };
                return [
                  T.matmul(A, B, opts).dataSync(),
                  T.matmul(A2, B, opts).dataSync(),
                  T.fusedDense(
                    T.tensor(a.subarray(0, m * k), { shape: [m, k] }),
                    T.tensor(b, { shape: [k, n] }),
                    T.tensor(bias),
                    act,
                  ).dataSync(),
                ];
              });
              setMatmulBlocksPerThread(previousBlocks);
              return outputs;
            });
            for (const other of runs.slice(1)) {
              other.forEach((out, i) => {
                expect(new Uint32Array(out.buffer)).toEqual(new Uint32Array(runs[0]![i]!.buffer));
              });
            }
          },
        ),
        { numRuns: 15 },
      );
      // Small products finish before a sleeping worker wakes; on bigger ones the workers
      // take blocks (the run above then covers schedules where they did and did not).
      T.setThreads(3);
      const a = T.tensor(rand(128 * 256, 1), { shape: [128, 256] });
      const b = T.tensor(rand(256 * 256, 2), { shape: [256, 256] });
      const want = T.withBackend('js', () =>
        T.matmul(
          T.tensor(a.dataSync(), { shape: [128, 256] }),
          T.tensor(b.dataSync(), { shape: [256, 256] }),
        ).dataSync(),
      );
      const first = T.matmul(a, b).dataSync();
      for (let i = 0; i < 500 && blocksByWorkers() === shared; i++)
        expect(T.matmul(a, b).dataSync()).toEqual(first);
      expect(blocksByWorkers()).toBeGreaterThan(shared);
      T.setThreads(1);
      expect(new Uint32Array(T.matmul(a, b).dataSync().buffer)).toEqual(new Uint32Array(first.buffer));
      for (let i = 0; i < want.length; i++) expect(Math.abs(first[i]! - want[i]!)).toBeLessThan(1e-3);
    });
  }

  it('batchNorm and batchNormGrad are bit-identical for 1, 2 and 3 threads (split by whole column groups)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EDGE),
        fc.constantFrom(...EDGE, 300, 401),
        fc.integer({ min: 0, max: 1e6 }),
        (n, c, seed) => {
          const runs = [1, 2, 3].map((threads) => {
            T.setThreads(threads);
            return T.tidy(() => {
              const x = T.tensor(rand(n * c, seed), { shape: [n, c] });
              const g = T.tensor(rand(n * c, seed + 1), { shape: [n, c] });
              const gamma = T.tensor(rand(c, seed + 2));
              const beta = T.tensor(rand(c, seed + 3));
              const f = T.batchNormTrain(x, gamma, beta, 1e-5);
              const b = T.batchNormGrad(g, x, gamma, 1e-5);
              return [f.y, f.mean, f.var, b.dx, b.dgamma, b.dbeta].map((t) => t.dataSync());
            });
          });
          for (const other of runs.slice(1)) {
            other.forEach((out, i) => {
              expect(new Uint32Array(out.buffer)).toEqual(new Uint32Array(runs[0]![i]!.buffer));
            });
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('a product written to memory that grew while the workers were running is right, and so are older tensors', () => {
    T.setThreads(2);
    const before = T.wasmMemoryStats();
    const [m, k, n] = [64, 200, 96];
    const a = rand(m * k, 1);
    const b = rand(k * n, 2);
    const A = T.tensor(a, { shape: [m, k] });
    const B = T.tensor(b, { shape: [k, n] });
    const first = T.matmul(A, B).dataSync();
    // Past the top of the memory: the next tensors live in pages the workers never saw.
    const filler = T.zeros([Math.ceil(before.memoryBytes / 4) + 1]);
    const C = T.matmul(T.tensor(a, { shape: [m, k] }), T.tensor(b, { shape: [k, n] }));
    const after = T.wasmMemoryStats();
    expect(after.growCount).toBeGreaterThan(before.growCount);
    expect(C.dataSync()).toEqual(first);
    const ref = T.withBackend('js', () =>
      T.matmul(T.tensor(a, { shape: [m, k] }), T.tensor(b, { shape: [k, n] })).dataSync(),
    );
    for (let i = 0; i < ref.length; i++) expect(Math.abs(first[i]! - ref[i]!)).toBeLessThan(1e-3);
    expect(A.dataSync()).toEqual(a);
    filler.dispose();
  });
});

describe('WorkerPool', () => {
  const WA = (
    globalThis as unknown as {
      WebAssembly: {
        Module: new (b: Uint8Array) => object;
        Instance: new (m: object, imports: object) => { exports: unknown };
        Memory: new (d: object) => { buffer: ArrayBuffer; grow(p: number): number };
      };
    }
  ).WebAssembly;
  const simd = new WA.Module(new Uint8Array(Buffer.from(KERNELS_WASM_BASE64.simd_shared, 'base64')));

  it('a trap inside a worker is thrown at the caller as a ChainruleError naming the worker', () => {
    const memory = new WA.Memory({ initial: 2, maximum: SHARED_MAX_PAGES, shared: true });
    const pool = new WorkerPool([simd, undefined], memory);
    pool.resize(1);
    try {
      // C far past the end of the memory: every block traps. The caller takes its blocks
      // slowly (0.2 s each, 8 blocks), so that the worker, however late it starts, gets some.
      const blocks = partition(64, 64, 8);
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      expect(() =>
        pool.runMatmul(
          0,
          [1024, 1024, 2 ** 30, 64, 4, 64, 0, 0, 0, 0, 256, 0, 0],
          blocks,
          [
            [2048, 8192, 256],
            [40960, 49152, 512],
          ],
          () => {
            Atomics.wait(sleeper, 0, 0, 200);
          },
        ),
      ).toThrow(/wasm: a matmul block failed in worker thread 1: .*out of bounds/);
    } finally {
      pool.close();
    }
  });

  it('workers see pages the memory grew by after they started', () => {
    const memory = new WA.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true });
    const pool = new WorkerPool([simd, undefined], memory);
    pool.resize(2);
    const mine = new WA.Instance(simd, { env: { memory } }).exports as { matmul: (...a: number[]) => void };
    try {
      const [m, k, n] = [16, 8, 64];
      const page = 65536;
      memory.grow(3);
      // A view made after the growth: older views keep the old length.
      const f32 = new Float32Array(memory.buffer);
      const [aAt, bAt, cAt] = [page, 2 * page, 3 * page];
      for (let i = 0; i < m * k; i++) f32[aAt / 4 + i] = i % 7;
      for (let i = 0; i < k * n; i++) f32[bAt / 4 + i] = (i % 5) - 2;
      const scratch = [0, 1, 2].map(
        (t) => [4096 + t * 4096, 4096 + t * 4096 + 2048, 1024 + t * 128] as const,
      );
      pool.runMatmul(
        0,
        [aAt, bAt, cAt, m, k, n, 0, 0, 0, 0, 256, 0, 0],
        partition(m, n, 6),
        scratch,
        (args) => mine.matmul(...args),
      );
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += ((i * k + p) % 7) * (((p * n + j) % 5) - 2);
          expect(f32[cAt / 4 + i * n + j]).toBe(s);
        }
      }
    } finally {
      pool.close();
    }
  });
});

describe('process exit', () => {
  it('a script that ran threaded matmuls exits by itself (workers are unref’d)', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'fixtures/threads-exit.ts')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, CHAINRULE_THREADS: '2' },
    });
    expect(out).toMatch(/threads 2, checksum -?\d/);
  });
});
