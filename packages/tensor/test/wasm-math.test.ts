/**
 * The wasm backend beyond kernel parity: the accuracy of its exp/tanh/sigmoid
 * approximations over dense sweeps (in ulps of the correctly rounded float32 result),
 * float64 falling back to js, selection and `getBackendInfo()`, and the committed
 * kernels.wasm.ts being built from the current WAT sources.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readSources, sourceHash } from '../../../scripts/build-wasm.ts';
import { KERNELS_WAT_SHA256 } from '../src/backends/wasm/kernels.wasm.ts';
import * as T from '../src/index.ts';

afterEach(() => {
  T.setBackend('js');
});

const MIN_NORMAL = 1.1754943508222875e-38;
const SUBNORMAL_ULP = 1.401298464324817e-45;

/** The spacing of float32 values at |x| (x finite and normal). */
function ulp(x: number): number {
  const f = new Float32Array([Math.abs(x)]);
  const i = new Int32Array(f.buffer);
  const a = f[0]!;
  i[0]! += 1;
  return f[0]! - a;
}

/** Max error in ulps of wasm `op` vs `ref` rounded to float32, over `n` points of [lo, hi]. */
function maxUlpError(
  op: 'exp' | 'tanh' | 'sigmoid' | 'sin' | 'cos',
  ref: (x: number) => number,
  lo: number,
  hi: number,
  n = 1 << 18,
): { ulps: number; subnormalAbs: number } {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = lo + ((hi - lo) * i) / (n - 1);
  const got = T.withBackend('wasm', () => {
    const t = T.tensor(x);
    const y = T[op](t);
    const d = y.dataSync();
    t.dispose();
    y.dispose();
    return d;
  });
  let ulps = 0;
  let subnormalAbs = 0;
  for (let i = 0; i < n; i++) {
    const r = Math.fround(ref(x[i]!));
    const g = got[i]!;
    if (!Number.isFinite(r)) {
      expect(g, `${op}(${x[i]})`).toBe(r);
    } else if (Math.abs(r) < MIN_NORMAL) {
      subnormalAbs = Math.max(subnormalAbs, Math.abs(g - r));
    } else ulps = Math.max(ulps, Math.abs(g - r) / ulp(r));
  }
  return { ulps, subnormalAbs };
}

const sigmoidRef = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

describe('wasm exp / tanh / sigmoid approximations', () => {
  it('exp is within 1 ulp (1 subnormal ulp below the normal range), overflow gives Infinity', () => {
    for (const [lo, hi] of [
      [-104, 89],
      [-1, 1],
      [-1e-3, 1e-3],
    ]) {
      const e = maxUlpError('exp', Math.exp, lo!, hi!);
      expect(e.ulps, `[${lo}, ${hi}]`).toBeLessThanOrEqual(1);
      expect(e.subnormalAbs).toBeLessThanOrEqual(SUBNORMAL_ULP);
    }
  });

  it('tanh is within 1 ulp', () => {
    for (const [lo, hi] of [
      [-12, 12],
      [-1, 1],
      [-1e-3, 1e-3],
    ]) {
      expect(maxUlpError('tanh', Math.tanh, lo!, hi!).ulps, `[${lo}, ${hi}]`).toBeLessThanOrEqual(1);
    }
  });

  it('sigmoid is within 2 ulp', () => {
    for (const [lo, hi] of [
      [-104, 30],
      [-1, 1],
    ]) {
      const e = maxUlpError('sigmoid', sigmoidRef, lo!, hi!);
      expect(e.ulps, `[${lo}, ${hi}]`).toBeLessThanOrEqual(2);
      expect(e.subnormalAbs).toBeLessThanOrEqual(SUBNORMAL_ULP);
    }
  });

  it('special values follow IEEE / Math', () => {
    const x = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, 200, -200];
    const run = (op: 'exp' | 'tanh' | 'sigmoid') =>
      Array.from(T.withBackend('wasm', () => T[op](T.tensor(x)).dataSync()));
    expect(run('exp')).toEqual([Number.NaN, Number.POSITIVE_INFINITY, 0, 1, 1, Number.POSITIVE_INFINITY, 0]);
    expect(run('tanh')).toEqual([Number.NaN, 1, -1, 0, -0, 1, -1]);
    expect(run('sigmoid')).toEqual([Number.NaN, 1, 0, 0.5, 0.5, 1, 0]);
  });
});

describe('wasm sin / cos (float64 Cody–Waite reduction and Taylor polynomials)', () => {
  // The stated bound is 1 ulp of the correctly rounded float32 result: the float64 result
  // is within ~1e-15 relative, so only a float64 value within that of a float32 rounding
  // midpoint can round the other way. (Measured: 0 ulp at every point below.)
  it.each(['sin', 'cos'] as const)('%s is within 1 ulp of Math.%s over |x| ≤ 2^20', (op) => {
    for (const [lo, hi] of [
      [-10, 10],
      [-1e-3, 1e-3],
      [-1e-30, 1e-30],
      [-(2 ** 20), 2 ** 20],
      [1000, 1010],
      [2 ** 20 - 64, 2 ** 20],
    ]) {
      const e = maxUlpError(op, Math[op], lo!, hi!);
      expect(e.ulps, `[${lo}, ${hi}]`).toBeLessThanOrEqual(1);
      expect(e.subnormalAbs).toBeLessThanOrEqual(SUBNORMAL_ULP);
    }
  });

  it.each(['sin', 'cos'] as const)('%s is within 1 ulp at the float32 values nearest kπ/2', (op) => {
    // Where the reduced argument is smallest, and a reduction with too few bits of π fails.
    const x: number[] = [];
    for (let k = 1; k < 2 ** 20 * 0.63; k = Math.ceil(k * 1.01 + 1)) {
      x.push(Math.fround((k * Math.PI) / 2), -Math.fround((k * Math.PI) / 2));
    }
    const got = T.withBackend('wasm', () => T[op](T.tensor(x)).dataSync());
    x.forEach((v, i) => {
      const r = Math.fround(Math[op](v));
      expect(Math.abs(got[i]! - r) / ulp(r), `${op}(${v})`).toBeLessThanOrEqual(1);
    });
  });

  it.each(['sin', 'cos'] as const)(
    '%s beyond 2^20 is recomputed exactly (Math.%s rounded to float32)',
    (op) => {
      const x = [2 ** 20 + 0.125, -(2 ** 20) - 1, 1e7, -3e9, 1e20, 3.4e38, -3.4e38, 0.5];
      const got = Array.from(T.withBackend('wasm', () => T[op](T.tensor(x)).dataSync()));
      expect(got).toEqual(x.map((v) => Math.fround(Math[op](Math.fround(v)))));
    },
  );

  it('special values follow Math: NaN and ±Infinity give NaN, sin(−0) = −0', () => {
    const x = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0];
    const run = (op: 'sin' | 'cos') => Array.from(T.withBackend('wasm', () => T[op](T.tensor(x)).dataSync()));
    expect(run('sin')).toEqual([Number.NaN, Number.NaN, Number.NaN, 0, -0]);
    expect(Object.is(run('sin')[4], -0)).toBe(true);
    expect(run('cos')).toEqual([Number.NaN, Number.NaN, Number.NaN, 1, 1]);
  });
});

describe('wasm backend: float64, selection, info', () => {
  it('float64 tensors live in wasm memory; their math falls back to js with the same answers', () => {
    const a = [1.5, -2.25, 3.125, 1e-300, 4, 5];
    const b = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const compute = () => {
      const x = T.tensor(a, { shape: [2, 3], dtype: 'float64' });
      const y = T.tensor(b, { shape: [3, 2], dtype: 'float64' });
      const out = [T.matmul(x, y), T.exp(x), T.sum(x, 1), T.transpose(x), T.add(x, T.transpose(y))];
      return out.map((t) => {
        expect(t.dtype).toBe('float64');
        expect(t.backend.name).toBe(T.getBackend().name);
        return Array.from(t.dataSync());
      });
    };
    const want = T.withBackend('js', compute);
    T.resetFallbackCounts();
    const got = T.withBackend('wasm', compute);
    expect(got).toEqual(want);
    const fb = T.getFallbackCounts();
    for (const op of ['matmul', 'exp', 'sum', 'add']) expect(fb[`${op}@wasm`], op).toBeGreaterThan(0);
    // Layout ops run natively on float64.
    expect(fb['transpose@wasm']).toBeUndefined();
  });

  it('float32 ops do not fall back', () => {
    T.resetFallbackCounts();
    T.withBackend('wasm', () => {
      const rng = new T.Rng(1);
      const x = T.randn([5, 7], rng);
      const w = T.randn([7, 3], rng);
      T.sum(T.relu(T.fusedDense(x, w, T.zeros([3]), 'tanh')), 0);
    });
    expect(Object.keys(T.getFallbackCounts()).filter((k) => k.endsWith('@wasm'))).toEqual([]);
  });

  it('is registered but not the default; getBackendInfo reports simd and memory', () => {
    expect(T.listBackends()).toContain('wasm');
    T.setBackend('wasm');
    const info = T.getBackendInfo();
    expect(info.name).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(info.kernelsSha256).toBe(KERNELS_WAT_SHA256);
    const mem = info.memory as T.WasmMemoryStats;
    expect(mem.memoryBytes).toBeGreaterThan(0);
    expect(mem.memoryBytes % 65536).toBe(0);
  });

  it('CHAINRULE_BACKEND=wasm selects it', async () => {
    const saved = process.env.CHAINRULE_BACKEND;
    process.env.CHAINRULE_BACKEND = 'wasm';
    try {
      vi.resetModules();
      const fresh = await import('../src/index.ts');
      expect(fresh.getBackend().name).toBe('wasm');
      expect(Array.from(fresh.add(fresh.tensor([1, 2]), 1).dataSync())).toEqual([2, 3]);
    } finally {
      if (saved === undefined) delete process.env.CHAINRULE_BACKEND;
      else process.env.CHAINRULE_BACKEND = saved;
    }
  });
});

describe('kernels.wasm.ts', () => {
  it('was built from the current WAT sources (else run `pnpm build:wasm`)', () => {
    expect(KERNELS_WAT_SHA256).toBe(sourceHash(readSources()));
  });
});
