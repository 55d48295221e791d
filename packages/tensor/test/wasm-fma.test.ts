/**
 * The wasm backend's two SIMD paths, `fma` (f32x4.relaxed_madd) and `simd` (mul, then add):
 * both are run here in one process (`setSimdPath` swaps the instance; both work on the same
 * memory), against a float64 reference with the textbook error bound of a float32 dot
 * product, and against each other.
 *
 * Bound (Higham, Accuracy and Stability of Numerical Algorithms, §3.1): a float32 dot
 * product of length k, summed in any order, with or without fused multiply-adds, is within
 * γ_k·Σ|a_i·b_i| of the exact value, γ_k = k·u/(1 − k·u), u = 2^-24. A bias adds one more
 * rounding: γ_{k+1}·(Σ|a_i·b_i| + |bias|). So the two paths may differ by up to twice that,
 * while each stays deterministic: the same inputs on the same machine and path give the
 * same bits.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtime, type SimdPath, setSimdPath } from '../src/backends/wasm/backend.ts';
import * as T from '../src/index.ts';

const EDGE = [1, 3, 4, 5, 8, 9, 16, 17, 33, 65, 257, 300] as const;
const U = 2 ** -24;
const gamma = (k: number): number => (k * U) / (1 - k * U);

let previous: SimdPath;
beforeAll(() => {
  T.setBackend('wasm');
  previous = runtime().path;
});
afterAll(() => {
  setSimdPath(previous);
  T.setBackend('js');
});

function rand(n: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.uniform(-2, 2);
  return d;
}

/** C = A'B' (+ bias) in float64 and Σ|a·b| (+|bias|) per element, from row-major float32 data. */
function reference(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  ta: boolean,
  tb: boolean,
  bias?: Float32Array,
): { c: Float64Array; abs: Float64Array } {
  const c = new Float64Array(m * n);
  const abs = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j]! : 0;
      let t = bias ? Math.abs(bias[j]!) : 0;
      for (let p = 0; p < k; p++) {
        const x = (ta ? a[p * m + i]! : a[i * k + p]!) * (tb ? b[j * k + p]! : b[p * n + j]!);
        s += x;
        t += Math.abs(x);
      }
      c[i * n + j] = s;
      abs[i * n + j] = t;
    }
  }
  return { c, abs };
}

describe('wasm SIMD paths', () => {
  it('both paths are available here (relaxed SIMD validates under Node 20 with the flag) and the info reports the active one', () => {
    expect(runtime().paths).toEqual(['simd', 'fma']);
    for (const path of ['simd', 'fma'] as const) {
      setSimdPath(path);
      expect(T.getBackendInfo().simdPath).toBe(path);
    }
  });

  it('an unknown path is refused with the available ones named', () => {
    expect(() => setSimdPath('avx' as SimdPath)).toThrow(
      /"avx" SIMD path is not available here \(available: simd, fma\)/,
    );
  });

  for (const path of ['simd', 'fma'] as const) {
    it(`${path}: matmul and fusedDense stay within γ_k·Σ|a·b| of the float64 product, in all four transpose variants`, () => {
      setSimdPath(path);
      fc.assert(
        fc.property(
          fc.constantFrom(...EDGE),
          fc.constantFrom(...EDGE),
          fc.constantFrom(...EDGE),
          fc.boolean(),
          fc.boolean(),
          fc.integer({ min: 0, max: 1e6 }),
          (m, k, n, ta, tb, seed) => {
            const a = rand(m * k, seed);
            const b = rand(k * n, seed + 1);
            const bias = rand(n, seed + 2);
            const ref = reference(a, b, m, k, n, ta, tb);
            const out = T.matmul(
              T.tensor(a, { shape: ta ? [k, m] : [m, k] }),
              T.tensor(b, { shape: tb ? [n, k] : [k, n] }),
              {
                transposeA: ta,
                transposeB: tb,
              },
            ).dataSync();
            for (let i = 0; i < out.length; i++) {
              const err = Math.abs(out[i]! - ref.c[i]!);
              if (err > gamma(k) * ref.abs[i]!) {
                throw new Error(`${path} ${m}x${k}x${n} tA=${ta} tB=${tb}: |Δ| ${err} > γ_k Σ|ab| at ${i}`);
              }
            }
            if (!ta && !tb) {
              const refB = reference(a, b, m, k, n, false, false, bias);
              const fused = T.fusedDense(
                T.tensor(a, { shape: [m, k] }),
                T.tensor(b, { shape: [k, n] }),
                T.tensor(bias),
                'linear',
              ).dataSync();
              for (let i = 0; i < fused.length; i++) {
                const err = Math.abs(fused[i]! - refB.c[i]!);
                if (err > gamma(k + 1) * refB.abs[i]!)
                  throw new Error(`${path} fusedDense ${m}x${k}x${n}: |Δ| ${err} at ${i}`);
              }
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('the two paths differ by at most 2·γ_{k+1}·(Σ|a·b| + |bias|), and each repeats its own bits exactly', () => {
    const [m, k, n] = [33, 400, 300];
    const a = rand(m * k, 7);
    const b = rand(k * n, 8);
    const bias = rand(n, 9);
    const { abs } = reference(a, b, m, k, n, false, false, bias);
    const run = (path: SimdPath): Float32Array => {
      setSimdPath(path);
      return T.fusedDense(
        T.tensor(a, { shape: [m, k] }),
        T.tensor(b, { shape: [k, n] }),
        T.tensor(bias),
        'relu',
      ).dataSync() as Float32Array;
    };
    const simd = run('simd');
    const fma = run('fma');
    for (let i = 0; i < simd.length; i++) {
      expect(Math.abs(simd[i]! - fma[i]!)).toBeLessThanOrEqual(2 * gamma(k + 1) * abs[i]!);
    }
    expect(run('simd')).toEqual(simd);
    expect(run('fma')).toEqual(fma);
  });

  for (const path of ['simd', 'fma'] as const) {
    it(`${path}: the fused Adam step matches the js reference (L2 and decoupled weight decay, AMSGrad)`, () => {
      setSimdPath(path);
      for (const [decoupled, amsgrad] of [
        [false, false],
        [true, false],
        [false, true],
      ] as const) {
        const n = 37;
        const inputs = [
          rand(n, 1),
          rand(n, 2),
          rand(n, 3),
          rand(n, 4).map(Math.abs),
          rand(n, 5).map(Math.abs),
        ];
        const attrs = {
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 1e-2,
          decoupled,
          amsgrad,
          step: 3,
        };
        const step = (backend: string) =>
          T.withBackend(backend, () => {
            const ts = inputs.slice(0, amsgrad ? 5 : 4).map((d) => T.tensor(d));
            return T.adamUpdate(ts[0]!, ts[1]!, ts[2]!, ts[3]!, ts[4], attrs).map((t) => t.dataSync());
          });
        const got = step('wasm');
        const want = step('js');
        got.forEach((g, o) => {
          for (let i = 0; i < g.length; i++) {
            expect(Math.abs(g[i]! - want[o]![i]!)).toBeLessThanOrEqual(2e-6 * (1 + Math.abs(want[o]![i]!)));
          }
        });
      }
    });
  }
});
