/**
 * The wasm backend's allocator: size classes, reuse of freed blocks (zeroed), a steady
 * training-style loop that does not grow memory, and memory growth in the middle of a
 * computation (which detaches old ArrayBuffer views) keeping every tensor intact.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { WasmStorage } from '../src/backends/wasm/index.ts';
import { HEAP_START, sizeClass, WasmHeap } from '../src/backends/wasm/memory.ts';
import * as T from '../src/index.ts';

afterEach(() => {
  T.setBackend('js');
});

const ptrOf = (t: T.Tensor): number => (t.storage as WasmStorage).ptr;

describe('size classes', () => {
  it('cover the request, are 16-byte multiples and waste at most 25% above 256 bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 28 }), (bytes) => {
        const c = sizeClass(bytes);
        expect(c).toBeGreaterThanOrEqual(bytes);
        expect(c % 16).toBe(0);
        if (bytes > 256) expect(c).toBeLessThanOrEqual(bytes * 1.25);
        else expect(c - bytes).toBeLessThan(16);
        expect(sizeClass(c)).toBe(c);
      }),
      { numRuns: 500 },
    );
  });
});

describe('WasmHeap', () => {
  it('reuses a freed block for the next request of its class, zeroed', () => {
    const heap = new WasmHeap(1);
    const a = heap.alloc(100);
    expect(a.ptr).toBeGreaterThanOrEqual(HEAP_START);
    expect(a.ptr % 16).toBe(0);
    heap.f32(a.ptr, 25).fill(7);
    heap.free(a.ptr, a.cls);
    expect(heap.stats()).toMatchObject({ blocksInUse: 0, blocksPooled: 1, bytesPooled: a.cls });
    const b = heap.alloc(100);
    expect(b.ptr).toBe(a.ptr);
    expect(Array.from(heap.f32(b.ptr, 25)).every((v) => v === 0)).toBe(true);
    const c = heap.alloc(97); // same class (112), the pool is empty: a new block
    expect(c.ptr).not.toBe(a.ptr);
    expect(heap.stats()).toMatchObject({ blocksInUse: 2, blocksPooled: 0 });
  });

  it('grows the memory on demand and keeps earlier contents', () => {
    const heap = new WasmHeap(1);
    const a = heap.alloc(4000);
    heap.f32(a.ptr, 1000).set(Array.from({ length: 1000 }, (_, i) => i));
    const big = heap.alloc(3 * 65536);
    const s = heap.stats();
    expect(s.growCount).toBeGreaterThan(0);
    expect(s.memoryBytes).toBeGreaterThanOrEqual(big.ptr + big.cls);
    expect(Array.from(heap.f32(a.ptr, 1000))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
});

describe('wasm tensors', () => {
  it('dispose then allocate the same size gets the same block', () => {
    T.withBackend('wasm', () => {
      const a = T.tensor([1, 2, 3, 4, 5]);
      const p = ptrOf(a);
      a.dispose();
      const b = T.zeros([5]);
      expect(ptrOf(b)).toBe(p);
      expect(Array.from(b.dataSync())).toEqual([0, 0, 0, 0, 0]);
      // reshape shares storage: the block is freed only with the last tensor.
      const r = b.reshape([5, 1]);
      b.dispose();
      const c = T.zeros([5]);
      expect(ptrOf(c)).not.toBe(p);
      r.dispose();
      const d = T.zeros([5]);
      expect(ptrOf(d)).toBe(p);
      c.dispose();
      d.dispose();
    });
  });

  it('a 10,000-iteration loop with disposed temporaries does not grow memory', () => {
    T.withBackend('wasm', () => {
      const rng = new T.Rng(3);
      const x = T.randn([64, 17], rng);
      const w = T.randn([17, 9], rng);
      const b = T.zeros([9]);
      const step = () => {
        const h = T.fusedDense(x, w, b, 'relu');
        const y = T.mul(h, 0.5);
        const s = T.sum(y, 0);
        const m = T.max(y);
        const out = [h, y, s, m];
        for (const t of out) t.dispose();
      };
      step();
      const before = T.wasmMemoryStats();
      for (let i = 0; i < 10_000; i++) step();
      const after = T.wasmMemoryStats();
      expect(after.memoryBytes).toBe(before.memoryBytes);
      expect(after.growCount).toBe(before.growCount);
      expect(after.heapTop).toBe(before.heapTop);
      expect(after.bytesInUse).toBe(before.bytesInUse);
      for (const t of [x, w, b]) t.dispose();
    });
  });

  it('memory growth in the middle of a computation keeps data intact and ops right', () => {
    T.withBackend('wasm', () => {
      const rng = new T.Rng(11);
      const a = T.randn([33, 65], rng);
      const bm = T.randn([65, 17], rng);
      const aData = a.dataSync();
      const bData = bm.dataSync();
      const c = T.matmul(a, bm);
      const cData = c.dataSync();
      const growsBefore = T.wasmMemoryStats().growCount;
      // Allocate (and fill) until the memory has grown twice, keeping everything alive.
      const filler: T.Tensor[] = [];
      let k = 0;
      while (T.wasmMemoryStats().growCount < growsBefore + 2) {
        filler.push(T.add(T.full([50_000], k), k++));
      }
      expect(Array.from(a.dataSync())).toEqual(Array.from(aData));
      expect(Array.from(bm.dataSync())).toEqual(Array.from(bData));
      expect(Array.from(c.dataSync())).toEqual(Array.from(cData));
      filler.forEach((t, i) => {
        const d = t.dataSync();
        expect(d[0]).toBe(2 * i);
        expect(d[49_999]).toBe(2 * i);
      });
      // Ops on old tensors after growth: same result as before.
      const c2 = T.matmul(a, bm);
      expect(Array.from(c2.dataSync())).toEqual(Array.from(cData));
      // Growth inside a kernel: leave room for matmul's output but not for its packing
      // scratch (2000 rows x 256 x 4 bytes), so the memory grows after the output exists.
      const big = T.randn([2000, 300], rng);
      const w = T.randn([300, 5], rng);
      for (;;) {
        const s = T.wasmMemoryStats();
        const free = s.memoryBytes - s.heapTop - 64;
        if (free < 1_000_000 && free > 60_000) break;
        let bytes = free > 60_000 ? free - 60_000 : 1_000_000;
        while (bytes > 16 && free > 60_000 && sizeClass(bytes) > free - 60_000)
          bytes = Math.floor(bytes * 0.9);
        filler.push(T.zeros([Math.ceil(bytes / 4)]));
      }
      const g0 = T.wasmMemoryStats().growCount;
      const y = T.matmul(big, w);
      expect(T.wasmMemoryStats().growCount).toBeGreaterThan(g0);
      const want = T.withBackend('js', () =>
        T.matmul(
          T.tensor(big.dataSync(), { shape: [2000, 300] }),
          T.tensor(w.dataSync(), { shape: [300, 5] }),
        ).dataSync(),
      );
      const got = y.dataSync();
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-3);
      expect(Array.from(a.dataSync())).toEqual(Array.from(aData));
      expect(Array.from(c.dataSync())).toEqual(Array.from(cData));
      for (const t of [a, bm, c, c2, big, w, y, ...filler]) t.dispose();
    });
  });

  it('a disposed tensor cannot be read; disposing twice is harmless', () => {
    T.withBackend('wasm', () => {
      const a = T.tensor([1, 2]);
      a.dispose();
      a.dispose();
      expect(() => a.dataSync()).toThrow(/disposed/);
    });
  });
});
