/**
 * threadsReady(): the awaited start of the wasm backend's worker threads (what a browser
 * needs before its first op), its one-thread fallback and the reasons it gives, and the
 * environments in which threads can run.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KERNELS_WASM_BASE64, SHARED_MAX_PAGES } from '../src/backends/wasm/kernels.wasm.ts';
import { partition, threadsUnavailable, WorkerPool } from '../src/backends/wasm/threads.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Report {
  status: { threads: number; note?: string };
  threads: number;
  threadsNote: string | null;
  checksum: number;
}

function child(env: Record<string, string>): Report {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'fixtures/threads-ready.ts')], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Report;
}

describe('threadsReady', () => {
  it('resolves with the thread count asked for, and the script still exits by itself', () => {
    const r = child({ CHAINRULE_THREADS: '3' });
    expect(r.status).toEqual({ threads: 3 });
    expect(r.threads).toBe(3);
    expect(r.threadsNote).toBeNull();
    expect(Number.isFinite(r.checksum)).toBe(true);
  });

  it('without SharedArrayBuffer resolves at once with 1 thread and says why; ops give the same sum', () => {
    const threaded = child({ CHAINRULE_THREADS: '2' });
    const r = child({ CHAINRULE_THREADS: '2', NO_SHARED_ARRAY_BUFFER: '1' });
    expect(r.status).toEqual({ threads: 1, note: 'SharedArrayBuffer is not available' });
    expect(r.threads).toBe(1);
    expect(r.threadsNote).toBe('SharedArrayBuffer is not available');
    // 64×96×80 is below the parallel threshold: the same kernel on one thread, the same bits.
    expect(r.checksum).toBe(threaded.checksum);
  });
});

describe('threadsUnavailable', () => {
  const shared = { SharedArrayBuffer, Atomics };
  class FakeWorker {}

  it('a page that is not cross-origin isolated: names the two headers it needs', () => {
    const why = threadsUnavailable({ Worker: FakeWorker, crossOriginIsolated: false });
    expect(why).toMatch(/not cross-origin isolated/);
    expect(why).toMatch(/Cross-Origin-Opener-Policy: same-origin/);
    expect(why).toMatch(/Cross-Origin-Embedder-Policy: require-corp/);
  });

  it("an isolated page's main thread: may not block, so one thread, and says to use a Web Worker", () => {
    const why = threadsUnavailable({
      ...shared,
      Worker: FakeWorker,
      crossOriginIsolated: true,
      document: {},
    });
    expect(why).toMatch(/main thread may not block in Atomics\.wait.*Web Worker/);
  });

  it('a Web Worker of an isolated page: threads can run', () => {
    expect(threadsUnavailable({ ...shared, Worker: FakeWorker, crossOriginIsolated: true })).toBeUndefined();
  });

  it('no workers of either kind, or no Atomics.wait: says which is missing', () => {
    expect(threadsUnavailable({ ...shared })).toMatch(/neither node:worker_threads nor Web Workers/);
    expect(threadsUnavailable({ SharedArrayBuffer, Atomics: {}, Worker: FakeWorker })).toBe(
      'Atomics.wait is not available',
    );
  });

  it('Node (this process): threads can run', () => {
    expect(threadsUnavailable()).toBeUndefined();
  });
});

describe('WorkerPool.online', () => {
  const WA = (
    globalThis as unknown as {
      WebAssembly: {
        Module: new (b: Uint8Array) => object;
        Instance: new (m: object, imports: object) => { exports: unknown };
        Memory: new (d: object) => { buffer: ArrayBuffer };
      };
    }
  ).WebAssembly;
  const simd = new WA.Module(new Uint8Array(Buffer.from(KERNELS_WASM_BASE64.simd_shared, 'base64')));

  it('settles once the workers run; they then take the blocks a busy caller leaves', async () => {
    const memory = new WA.Memory({ initial: 4, maximum: SHARED_MAX_PAGES, shared: true });
    const pool = new WorkerPool([simd, undefined], memory);
    pool.resize(2);
    try {
      await pool.online();
      const mine = new WA.Instance(simd, { env: { memory } }).exports as {
        matmul: (...a: number[]) => void;
      };
      const [m, k, n] = [16, 8, 64];
      const f32 = new Float32Array(memory.buffer);
      const [aAt, bAt, cAt] = [65536, 2 * 65536, 3 * 65536];
      for (let i = 0; i < m * k; i++) f32[aAt / 4 + i] = i % 7;
      for (let i = 0; i < k * n; i++) f32[bAt / 4 + i] = (i % 5) - 2;
      const scratch = [0, 1, 2].map(
        (t) => [4096 + t * 4096, 4096 + t * 4096 + 2048, 1024 + t * 128] as const,
      );
      const sleeper = new Int32Array(new SharedArrayBuffer(4));
      // The caller sleeps 0.2 s on each block it claims: running workers take the rest.
      pool.runMatmul(
        0,
        [aAt, bAt, cAt, m, k, n, 0, 0, 0, 0, 256, 0, 0],
        partition(m, n, 8),
        scratch,
        (args) => {
          mine.matmul(...args);
          Atomics.wait(sleeper, 0, 0, 200);
        },
      );
      expect(pool.blocksByWorkers).toBeGreaterThan(0);
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
