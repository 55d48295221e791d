/**
 * float32 sums at large sizes (2^22 to 2^24 terms) against the exact sum, for the `js`
 * reference and the `wasm` backend, within the bounds documented on `sum` (ops.ts); the
 * `gpujs` backend's bound is checked in gpujs-parity.gpujs.test.ts. u = 2^-24.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';

const U = 2 ** -24;

/** Σ d[start + k·stride], k < n, in float64 with Neumaier's compensation: exact to ~2^-53·|S|. */
function exactSum(d: Float32Array, start: number, stride: number, n: number): { s: number; abs: number } {
  let s = 0;
  let c = 0;
  let abs = 0;
  for (let k = 0, i = start; k < n; k++, i += stride) {
    const v = d[i]!;
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
    abs += Math.abs(v);
  }
  return { s: s + c, abs };
}

/** Seeded uniform float32 values in [lo, hi). */
function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  const rng = new T.Rng(seed);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.uniform(lo, hi);
  return d;
}

/** The documented bound beyond the final rounding: c·u·Σ|x|. */
const BOUND: Record<string, (n: number) => number> = {
  js: (n) => n * 2 ** -29, // n·2^-53 = (n·2^-29)·u
  wasm: () => 68,
};

interface Case {
  label: string;
  shape: number[];
  axes: number[] | undefined;
  /** The exact sums, one per output element, in output order. */
  exact: (d: Float32Array) => { s: number; abs: number }[];
  /** Terms per output. */
  terms: number;
}

function cases(n: number): Case[] {
  const q = n / 4;
  return [
    { label: `all ${n}`, shape: [n], axes: undefined, terms: n, exact: (d) => [exactSum(d, 0, 1, n)] },
    {
      label: `rows [4, ${q}] over axis 1`,
      shape: [4, q],
      axes: [1],
      terms: q,
      exact: (d) => [0, 1, 2, 3].map((r) => exactSum(d, r * q, 1, q)),
    },
    {
      label: `columns [${q}, 4] over axis 0`,
      shape: [q, 4],
      axes: [0],
      terms: q,
      exact: (d) => [0, 1, 2, 3].map((c) => exactSum(d, c, 4, q)),
    },
    {
      label: `middle axis [2, ${q / 2}, 4] over axis 1`,
      shape: [2, q / 2, 4],
      axes: [1],
      terms: q / 2,
      exact: (d) =>
        [0, 1].flatMap((i) => [0, 1, 2, 3].map((c) => exactSum(d, i * (q / 2) * 4 + c, 4, q / 2))),
    },
  ];
}

/** |Δ| per output, and the largest |Δ| / (u·|S| + c·u·Σ|x|) (≤ 1 means within the bound). */
function check(backend: string, d: Float32Array, c: Case): { errors: number[]; worst: number } {
  const got = T.withBackend(backend, () => {
    const x = T.tensor(d, { shape: c.shape });
    const s = T.sum(x, c.axes);
    const out = Array.from(s.dataSync());
    x.dispose();
    s.dispose();
    return out;
  });
  const want = c.exact(d);
  expect(got.length).toBe(want.length);
  let worst = 0;
  const errors = got.map((g, i) => {
    const { s, abs } = want[i]!;
    const allow = U * Math.abs(s) + BOUND[backend]!(c.terms) * U * abs;
    worst = Math.max(worst, Math.abs(g - s) / allow);
    return Math.abs(g - s);
  });
  return { errors, worst };
}

describe('float32 sum at large sizes', () => {
  it('js: sum(ones) keeps counting past 2^24, and mean stays 1', () => {
    // A float32 running sum stops at 2^24 = 16777216 (adding 1 rounds back), and its mean
    // of 2^28 ones was 0.0625.
    const n = 2 ** 24 + 4;
    const ones = T.withBackend('js', () => T.ones([n]));
    T.withBackend('js', () => {
      expect(T.sum(ones).dataSync()[0]).toBe(16777220);
      expect(T.mean(ones).dataSync()[0]).toBe(1);
    });
    ones.dispose();
  });

  const n22 = 2 ** 22;
  const positive = uniform(n22, 0, 1, 7);
  for (const [range, d, which] of [
    // positive data: where a float32 running sum drifts most (relative error 1e-5 here)
    ['uniform [0, 1)', positive, [0, 2]],
    ['uniform [-1, 1) (cancellation)', uniform(n22, -1, 1, 8), [0, 1, 2, 3]],
  ] as const) {
    describe(range, () => {
      for (const c of which.map((i) => cases(n22)[i]!)) {
        it(`${c.label}: js and wasm within their bounds, and js the most accurate`, () => {
          const js = check('js', d, c);
          const wasm = check('wasm', d, c);
          expect(js.worst, 'js |Δ| / bound').toBeLessThanOrEqual(1);
          expect(wasm.worst, 'wasm |Δ| / bound').toBeLessThanOrEqual(1);
          // js rounds a float64 sum once: the nearest float32 to the exact sum, so no
          // backend's float32 result can be closer.
          js.errors.forEach((e, i) => {
            expect(e, `output ${i}`).toBeLessThanOrEqual(wasm.errors[i]!);
          });
        });
      }
    });
  }

  it('2^24 terms in one sum: js and wasm within their bounds (u·|S| + c·u·Σ|x|)', () => {
    const n = 2 ** 24;
    const d = new Float32Array(n);
    for (let k = 0; k < 4; k++) d.set(positive, k * n22);
    const c = cases(n)[0]!;
    // The relative error of a float32 running sum here was 3e-5; the bounds are ~6e-8 (js)
    // and ~4e-6 (wasm) relative for positive data.
    expect(check('js', d, c).worst).toBeLessThanOrEqual(1);
    expect(check('wasm', d, c).worst).toBeLessThanOrEqual(1);
  });
});
