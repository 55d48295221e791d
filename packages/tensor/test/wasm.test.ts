/**
 * Parity of the `wasm` backend with the `js` reference, for every kernel it registers:
 * fast-check picks shapes (including sizes that are not multiples of the 4×8 matmul tile
 * or of the 4-lane vectors: 1, 3, 5, 7, 9, 17, 33, 65, ...) and a seed for the values; the
 * same float32 data goes through `withBackend('wasm', ...)` and `withBackend('js', ...)`.
 * Every wasm run must also use the wasm kernel (no js fallback).
 *
 * Tolerances (float32, eps = 2^-23 ≈ 1.19e-7):
 * - exact (bit-equal, NaN = NaN): neg abs sqrt square reciprocal sign relu clip, add sub mul
 *   div maximum minimum and the comparisons (IEEE float32 ops give the same rounding as the
 *   reference's float64 op rounded to float32), log and pow (Math over the view), every
 *   layout op, cast.
 * - max/min reductions: exact up to the sign of zero (wasm orders -0 < +0; the reference
 *   keeps whichever zero it saw first).
 * - exp, tanh, sigmoid (polynomial approximations): |Δ| ≤ 1e-6·|ref| + 1e-37.
 * - matmul / fusedDense: |Δ| ≤ 1e-5·k·max|a|·max|b| (+ 1e-6·|ref| after tanh/sigmoid), the
 *   summation order differs from the reference's.
 * - sum: |Δ| ≤ 2·n·eps·Σ|x| for short sums, and within the documented bound for long ones
 *   (the reference accumulates in float64; wasm adds blocks of float32 partial sums in
 *   float64, see sum-accuracy.test.ts).
 * - adamUpdate: |Δ| ≤ 2e-6·(1 + |ref|) (float32 intermediates vs the reference's float64).
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';

const EDGE = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 65] as const;
const SMALL = [1, 2, 3, 4, 5, 7, 9] as const;
const RUNS = { numRuns: 100 } as const;

interface Input {
  data: Float32Array | Float64Array;
  shape: number[];
}

const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

const SPECIALS = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  0,
  -0,
  1,
  -1,
  1e-40,
  3e38,
  -3e38,
];

/** Float32 values from a seed, uniform in [lo, hi]; with `specials`, one in eight is NaN, ±∞, ±0, .... */
function values(
  shape: readonly number[],
  seed: number,
  { lo = -2, hi = 2, specials = false }: { lo?: number; hi?: number; specials?: boolean } = {},
): Input {
  const rng = new T.Rng(seed);
  const n = sizeOf(shape);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    d[i] =
      specials && rng.uniform(0, 1) < 0.125
        ? SPECIALS[Math.floor(rng.uniform(0, SPECIALS.length))]!
        : rng.uniform(lo, hi);
  }
  return { data: d, shape: [...shape] };
}

type Op = (...ts: T.Tensor[]) => T.Tensor | T.Tensor[];

/** Run `op` on fresh tensors of `inputs` on `backend`; return the outputs' data. */
function runOn(backend: string, inputs: readonly Input[], op: Op): { data: T.TypedArray; shape: number[] }[] {
  return T.withBackend(backend, () => {
    const ts = inputs.map((i) => T.tensor(i.data, { shape: i.shape }));
    const out = op(...ts);
    const outs = Array.isArray(out) ? out : [out];
    const res = outs.map((o) => {
      expect(o.backend.name).toBe(backend);
      return { data: o.dataSync(), shape: [...o.shape] };
    });
    for (const t of [...ts, ...outs]) t.dispose();
    return res;
  });
}

type Check = (got: number, want: number, i: number) => boolean;

const exact: Check = (g, w) =>
  Object.is(g, w) || (g === w && g !== 0) || (Number.isNaN(g) && Number.isNaN(w));
/** Exact up to the sign of zero (-0 vs +0 from a different evaluation order). */
const exactZero: Check = (g, w) => g === w || (Number.isNaN(g) && Number.isNaN(w));
const close =
  (atol: number, rtol: number): Check =>
  (g, w) =>
    Number.isNaN(w)
      ? Number.isNaN(g)
      : Number.isFinite(w)
        ? Math.abs(g - w) <= atol + rtol * Math.abs(w)
        : g === w;

/** Compare wasm with js for `op` on `inputs`; no js fallback may run on wasm. */
function parity(inputs: readonly Input[], op: Op, check: Check | Check[] = exactZero): void {
  T.resetFallbackCounts();
  const got = runOn('wasm', inputs, op);
  const fallbacks = Object.keys(T.getFallbackCounts()).filter((k) => k.endsWith('@wasm'));
  expect(fallbacks, 'the wasm kernels ran (no js fallback)').toEqual([]);
  const want = runOn('js', inputs, op);
  expect(got.length).toBe(want.length);
  got.forEach((g, o) => {
    const w = want[o]!;
    expect(g.shape).toEqual(w.shape);
    expect(g.data.length).toBe(w.data.length);
    const ok = Array.isArray(check) ? check[o]! : check;
    for (let i = 0; i < w.data.length; i++) {
      if (!ok(g.data[i]!, w.data[i]!, i)) {
        expect.fail(
          `output ${o} index ${i} of shape [${w.shape}]: wasm ${g.data[i]}, js ${w.data[i]} (inputs ${inputs.map((x) => `[${x.shape}]`).join(' ')})`,
        );
      }
    }
  });
}

const shapeArb = (dims: readonly number[], minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
  fc.array(fc.constantFrom(...dims), { minLength: minRank, maxLength: maxRank });

/** Two broadcastable shapes: a common shape, each operand dropping leading dims / setting some to 1. */
const broadcastPairArb: fc.Arbitrary<[number[], number[]]> = shapeArb(SMALL, 0, 4)
  .filter((s) => sizeOf(s) <= 4096)
  .chain((out) => {
    const operand = fc
      .tuple(
        fc.integer({ min: 0, max: out.length }),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
      )
      .map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop));
    return fc.tuple(operand, operand);
  });

const seedArb = fc.integer({ min: 1, max: 2 ** 30 });

beforeEach(() => {
  T.setBackend('js');
});

describe('wasm elementwise unary', () => {
  const exactOps = [
    'neg',
    'abs',
    'sqrt',
    'square',
    'reciprocal',
    'sign',
    'relu',
    'log',
    'log1p',
    'expm1',
    'erf',
  ] as const;
  it.each(exactOps)('%s is bit-exact, special values included', (op) => {
    fc.assert(
      fc.property(shapeArb(EDGE, 0, 2), seedArb, (shape, seed) => {
        parity([values(shape, seed, { specials: true })], (x) => T[op](x!), exact);
      }),
      RUNS,
    );
  });

  it('clip is bit-exact', () => {
    fc.assert(
      fc.property(
        shapeArb(EDGE, 0, 2),
        seedArb,
        fc.double({ min: -2, max: 2, noNaN: true }),
        (shape, seed, lo) => {
          parity([values(shape, seed, { specials: true })], (x) => T.clip(x!, lo, lo + 1), exact);
        },
      ),
      RUNS,
    );
  });

  it.each(['exp', 'tanh', 'sigmoid'] as const)(
    '%s is within 1e-6 relative, special values included',
    (op) => {
      fc.assert(
        fc.property(shapeArb(EDGE, 0, 2), seedArb, (shape, seed) => {
          parity(
            [values(shape, seed, { lo: -30, hi: 30, specials: true })],
            (x) => T[op](x!),
            close(1e-37, 1e-6),
          );
        }),
        RUNS,
      );
    },
  );
});

describe('wasm elementwise binary with broadcasting', () => {
  const ops = [
    'add',
    'sub',
    'mul',
    'div',
    'pow',
    'atan2',
    'maximum',
    'minimum',
    'equal',
    'notEqual',
    'less',
    'lessEqual',
    'greater',
    'greaterEqual',
  ] as const;
  it.each(ops)('%s is bit-exact', (op) => {
    fc.assert(
      fc.property(broadcastPairArb, seedArb, fc.boolean(), ([sa, sb], seed, specials) => {
        // Small integers make equal/less comparisons hit ties.
        const a = values(sa, seed, { specials });
        const b = values(sb, seed + 1, { specials });
        if (op.includes('qual') || op.includes('ess') || op.includes('reater')) {
          for (const x of [a, b]) {
            for (let i = 0; i < x.data.length; i++) {
              const v = x.data[i]!;
              if (Number.isFinite(v)) x.data[i] = Math.round(v);
            }
          }
        }
        parity([a, b], (x, y) => T[op](x!, y!), exact);
      }),
      RUNS,
    );
  });

  it('covers the fast paths: same shape, scalar, row, column, outer, and number operands', () => {
    const cases: [number[], number[]][] = [
      [[65], [65]],
      [[33, 17], []],
      [[], [9, 5]],
      [[17, 33], [33]],
      [
        [17, 33],
        [17, 1],
      ],
      [
        [17, 1],
        [1, 33],
      ],
      [
        [3, 5, 7],
        [5, 1],
      ],
      [
        [2, 3, 5, 7],
        [3, 1, 7],
      ],
      [[0, 3], [3]],
    ];
    for (const [sa, sb] of cases) {
      parity([values(sa, 1), values(sb, 2)], (x, y) => T.sub(x!, y!), exact);
      parity([values(sa, 3)], (x) => T.mul(x!, 3.5), exact);
      parity([values(sb, 4)], (x) => T.div(2, x!), exact);
    }
  });

  it('where is exact, with broadcasting', () => {
    fc.assert(
      fc.property(broadcastPairArb, seedArb, ([sa, sb], seed) => {
        const cond = values(sa, seed);
        for (let i = 0; i < cond.data.length; i++) cond.data[i] = cond.data[i]! > 0 ? 1 : 0;
        parity(
          [cond, values(sb, seed + 1), values(sa.slice(1), seed + 2)],
          (c, a, b) => T.where(c!, a!, b!),
          exact,
        );
      }),
      RUNS,
    );
  });

  it('where with full-size and scalar operands (the SIMD kernel) is exact, specials included', () => {
    fc.assert(
      fc.property(
        shapeArb(EDGE, 1, 2),
        seedArb,
        fc.tuple(fc.boolean(), fc.boolean(), fc.boolean()),
        (shape, seed, [cScalar, aScalar, bScalar]) => {
          const cond = values(cScalar ? [] : shape, seed, { specials: true });
          // 0, -0, NaN (picks a, as NaN != 0) and other values as conditions
          for (let i = 0; i < cond.data.length; i++) if (cond.data[i]! > 1) cond.data[i] = -0;
          const a = values(aScalar ? [] : shape, seed + 1, { specials: true });
          const b = values(bScalar ? [] : shape, seed + 2, { specials: true });
          parity([cond, a, b], (c, x, y) => T.where(c!, x!, y!), exact);
        },
      ),
      RUNS,
    );
  });
});

describe('wasm reductions', () => {
  const axesArb = shapeArb(EDGE, 1, 4)
    .filter((s) => sizeOf(s) <= 20000)
    .chain((shape) =>
      fc.tuple(
        fc.constant(shape),
        fc.option(fc.subarray(shape.map((_, i) => i)), { nil: undefined }),
        fc.boolean(),
      ),
    );

  it.each(['max', 'min'] as const)('%s is exact over any axes (up to the sign of zero)', (op) => {
    fc.assert(
      fc.property(axesArb, seedArb, fc.boolean(), ([shape, axes, keepDims], seed, specials) => {
        parity([values(shape, seed, { specials })], (x) => T[op](x!, axes, keepDims), exactZero);
      }),
      RUNS,
    );
  });

  it('sum is within 2·n·eps·Σ|x| over any axes', () => {
    fc.assert(
      fc.property(axesArb, seedArb, ([shape, axes, keepDims], seed) => {
        const x = values(shape, seed);
        const n = axes === undefined ? sizeOf(shape) : axes.reduce((p, a) => p * shape[a]!, 1);
        let total = 0;
        for (const v of x.data) total += Math.abs(v);
        parity([x], (t) => T.sum(t!, axes, keepDims), close(2 * n * 1.2e-7 * total + 1e-30, 0));
      }),
      RUNS,
    );
  });

  it('sum over the first axis, past one block of rows, is within 69·2^-24·Σ|x| of the reference', () => {
    // 65 rows: one block of 64 rows in float32, then one row, added in float64.
    for (const [shape, axis] of [
      [[65, 33], 0],
      [[4, 130, 9], 1],
    ] as const) {
      const x = values([...shape], 5);
      let total = 0;
      for (const v of x.data) total += Math.abs(v);
      parity([x], (t) => T.sum(t!, axis), close(69 * 2 ** -24 * total, 0));
    }
  });
});

describe('wasm matmul', () => {
  const mm = (
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
    seed: number,
    batchA: number[] = [],
    batchB: number[] = [],
  ): void => {
    const a = values([...batchA, ...(transposeA ? [k, m] : [m, k])], seed, { lo: -1, hi: 1 });
    const b = values([...batchB, ...(transposeB ? [n, k] : [k, n])], seed + 1, { lo: -1, hi: 1 });
    parity([a, b], (x, y) => T.matmul(x!, y!, { transposeA, transposeB }), close(1e-5 * Math.max(k, 1), 0));
  };

  it('matches for all transpose variants and edge-tile sizes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EDGE),
        fc.constantFrom(...EDGE),
        fc.constantFrom(...EDGE),
        fc.boolean(),
        fc.boolean(),
        seedArb,
        (m, k, n, ta, tb, seed) => mm(m, k, n, ta, tb, seed),
      ),
      { numRuns: 250 },
    );
  });

  it('matches with k beyond one k block (256), and at the benchmark size', () => {
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      mm(5, 257, 9, ta, tb, 1);
      mm(9, 600, 17, ta, tb, 2);
    }
    mm(64, 400, 300, false, false, 3);
    mm(0, 3, 4, false, false, 4);
    mm(3, 0, 4, false, true, 5);
  });

  it('matches with broadcast batch dimensions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SMALL),
        fc.constantFrom(...SMALL),
        fc.constantFrom(...SMALL),
        fc.constantFrom<[number[], number[]]>(
          [[2], [2]],
          [[3], []],
          [[], [2]],
          [[2, 1], [3]],
          [
            [1, 3],
            [2, 1],
          ],
        ),
        fc.boolean(),
        fc.boolean(),
        seedArb,
        (m, k, n, [ba, bb], ta, tb, seed) => mm(m, k, n, ta, tb, seed, ba, bb),
      ),
      RUNS,
    );
  });
});

describe('wasm fusedDense', () => {
  it.each(['linear', 'relu', 'tanh', 'sigmoid'] as const)('act=%s matches, with and without bias', (act) => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EDGE),
        fc.constantFrom(...EDGE),
        fc.constantFrom(...EDGE),
        fc.boolean(),
        seedArb,
        (m, k, n, withBias, seed) => {
          const x = values([m, k], seed, { lo: -1, hi: 1 });
          const w = values([k, n], seed + 1, { lo: -1, hi: 1 });
          const b = values([n], seed + 2, { lo: -1, hi: 1 });
          const tol = close(1e-5 * k, act === 'tanh' || act === 'sigmoid' ? 1e-6 : 0);
          if (withBias) parity([x, w, b], (tx, tw, tb) => T.fusedDense(tx!, tw!, tb!, act), tol);
          else parity([x, w], (tx, tw) => T.fusedDense(tx!, tw!, undefined, act), tol);
        },
      ),
      RUNS,
    );
  });

  it('k = 0 gives act(bias)', () => {
    parity(
      [values([3, 0], 1), values([0, 5], 2), values([5], 3)],
      (x, w, b) => T.fusedDense(x!, w!, b!, 'tanh'),
      close(1e-37, 1e-6),
    );
  });
});

describe('wasm layout ops (exact)', () => {
  it('transpose', () => {
    fc.assert(
      fc.property(
        shapeArb(EDGE, 0, 4).filter((s) => sizeOf(s) <= 20000),
        seedArb,
        fc.integer(),
        (shape, seed, k) => {
          const perm = shape.map((_, i) => i);
          for (let i = perm.length - 1; i > 0; i--) {
            const j = Math.abs(k + i * 7919) % (i + 1);
            [perm[i], perm[j]] = [perm[j]!, perm[i]!];
          }
          parity([values(shape, seed)], (x) => T.transpose(x!, perm), exact);
        },
      ),
      RUNS,
    );
  });

  it('broadcastTo', () => {
    fc.assert(
      fc.property(broadcastPairArb, seedArb, ([sa, sb], seed) => {
        const out = sa.length >= sb.length ? sa : sb;
        const target = out.map((_, i) =>
          Math.max(sa[i - (out.length - sa.length)] ?? 1, sb[i - (out.length - sb.length)] ?? 1),
        );
        parity([values(sa, seed)], (x) => T.broadcastTo(x!, target), exact);
      }),
      RUNS,
    );
  });

  it('slice and pad', () => {
    fc.assert(
      fc.property(
        shapeArb(EDGE, 1, 3).filter((s) => sizeOf(s) <= 20000),
        seedArb,
        fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
        (shape, seed, r) => {
          const begin = shape.map((d, i) => r[i]! % d);
          const size = shape.map((d, i) => r[i + 3]! % (d - begin[i]! + 1));
          parity([values(shape, seed)], (x) => T.slice(x!, begin, size), exact);
          const paddings = shape.map((_, i) => [r[i]! % 3, r[i + 3]! % 2] as [number, number]);
          parity([values(shape, seed)], (x) => T.pad(x!, paddings), exact);
          // A constant value, and negative widths (crops) on every other dimension.
          const mixed = shape.map(
            (d, i) => (i % 2 === 0 ? paddings[i]! : [-(r[i]! % (d + 1)), 0]) as [number, number],
          );
          parity([values(shape, seed)], (x) => T.pad(x!, mixed, -2.5), exact);
        },
      ),
      RUNS,
    );
  });

  it('concat and stack', () => {
    fc.assert(
      fc.property(
        shapeArb(SMALL, 1, 3),
        fc.array(fc.constantFrom(...SMALL), { minLength: 1, maxLength: 3 }),
        seedArb,
        fc.nat(),
        (shape, sizes, seed, ax) => {
          const axis = ax % shape.length;
          const inputs = sizes.map((d, i) =>
            values(
              shape.map((s, j) => (j === axis ? d : s)),
              seed + i,
            ),
          );
          parity(inputs, (...ts) => T.concat(ts, axis), exact);
          parity(
            sizes.map((_, i) => values(shape, seed + i)),
            (...ts) => T.stack(ts, axis),
            exact,
          );
        },
      ),
      RUNS,
    );
  });

  it('gather and scatterAdd along any axis', () => {
    fc.assert(
      fc.property(
        shapeArb(EDGE, 1, 3).filter((s) => sizeOf(s) <= 20000),
        seedArb,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.nat(),
        (shape, seed, raw, a) => {
          const axis = a % shape.length;
          const n = shape[axis]!;
          const idx = raw.map((v) => v % n);
          parity([values(shape, seed)], (x) => T.gather(x!, idx, axis), exact);
          const upd = values(
            shape.map((d, i) => (i === axis ? idx.length : d)),
            seed + 1,
          );
          // Repeated indices add in the same order on both backends.
          parity([upd], (u) => T.scatterAdd(u!, idx, n, axis), exact);
        },
      ),
      RUNS,
    );
  });

  it('cast to float64 and back, and clone', () => {
    const x = values([7, 9], 3, { specials: true });
    parity([x], (t) => T.cast(t!, 'float64'), exact);
    parity([x], (t) => T.cast(T.cast(t!, 'float64'), 'float32'), exact);
    parity([x], (t) => T.clone(t!), exact);
  });
});

describe('wasm adamUpdate', () => {
  it('matches the reference for Adam, AdamW and AMSGrad', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EDGE),
        fc.constantFrom(...SMALL),
        seedArb,
        fc.record({
          lr: fc.constantFrom(1e-3, 1e-2, 0.1),
          weightDecay: fc.constantFrom(0, 0.01),
          decoupled: fc.boolean(),
          amsgrad: fc.boolean(),
          step: fc.integer({ min: 1, max: 1000 }),
        }),
        (r, c, seed, o) => {
          const opts = { ...o, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
          const p = values([r, c], seed, { lo: -1, hi: 1 });
          const g = values([r, c], seed + 1, { lo: -1, hi: 1 });
          const m = values([r, c], seed + 2, { lo: -0.1, hi: 0.1 });
          const v = values([r, c], seed + 3, { lo: 0, hi: 0.01 });
          const vmax = values([r, c], seed + 4, { lo: 0, hi: 0.01 });
          const tol = close(2e-6, 2e-6);
          parity(
            o.amsgrad ? [p, g, m, v, vmax] : [p, g, m, v],
            (tp, tg, tm, tv, tvm) => T.adamUpdate(tp!, tg!, tm!, tv!, tvm, opts),
            tol,
          );
        },
      ),
      RUNS,
    );
  });
});

describe('wasm lerp', () => {
  it('matches the reference within float32 rounding, including vector tails', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EDGE),
        fc.constantFrom(...SMALL),
        seedArb,
        fc.constantFrom(0, 1e-3, 5e-3, 0.5, 1),
        (r, c, seed, t) => {
          const a = values([r, c], seed, { lo: -1, hi: 1 });
          const b = values([r, c], seed + 1, { lo: -1, hi: 1 });
          // Same formula and order in float32 in both; the js reference rounds once at the store.
          parity([a, b], (ta, tb) => T.lerp(ta!, tb!, t), close(2e-7, 2e-7));
        },
      ),
      RUNS,
    );
  });
});

describe('wasm batchNorm', () => {
  // The reference sums in float64 and rounds once; wasm sums each column down its rows in
  // float32. Inputs in [-2, 2] and γ in [0.5, 2] with ε = 1e-3 (σ⁻¹ ≤ 32) keep both within
  // a few float32 ulps of the outputs' scale.
  it('forward and backward match the reference within float32 rounding, including column tails', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EDGE), fc.constantFrom(...EDGE), seedArb, (r, c, seed) => {
        const x = values([r, c], seed);
        const g = values([r, c], seed + 1);
        const gamma = values([c], seed + 2, { lo: 0.5, hi: 2 });
        const beta = values([c], seed + 3);
        const tol = close(1e-4, 1e-5);
        parity(
          [x, gamma, beta],
          (tx, tg, tb) => {
            const f = T.batchNormTrain(tx!, tg!, tb!, 1e-3);
            return [f.y, f.mean, f.var];
          },
          tol,
        );
        parity(
          [g, x, gamma],
          (tgr, tx, tg) => {
            const b = T.batchNormGrad(tgr!, tx!, tg!, 1e-3);
            return [b.dx, b.dgamma, b.dbeta];
          },
          tol,
        );
      }),
      RUNS,
    );
  });
});
