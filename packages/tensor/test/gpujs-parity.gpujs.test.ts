/**
 * The `gpujs` backend against the `js` reference (run with `pnpm test:gpujs`; the default
 * suite excludes *.gpujs.test.ts). The mode comes from CHAINRULE_GPUJS_MODE, `webasm` when
 * unset. If the requested mode cannot start (for `headlessgl`: no GL context), every test
 * here fails with the backend's error; nothing is skipped.
 *
 * Every gpujs kernel gets a fast-check property: random shapes (broadcasting, batches,
 * axes, transposes) and seeded float32 values; the same data runs through
 * `withBackend('gpujs', ...)` and `withBackend('js', ...)` and no js fallback may run.
 *
 * Tolerances (float32, eps = 2^-23 ≈ 1.19e-7), per op in TOLERANCES below with the worst
 * cases measured on this machine (webasm, cpu, and headlessgl on Mesa llvmpipe):
 * - exact: layout ops, where, comparisons, neg/abs/sign/relu/clip, maximum/minimum, max/min
 *   reductions; measured exact also for + − × ÷, square, sqrt, reciprocal, with a 1-ulp
 *   allowance kept for GL drivers.
 * - GL flushes subnormals to zero: every GL comparison allows |Δ| ≤ 2^-126.
 * - transcendentals: exp rel 2e-6 (GLSL exp measured 9.3e-7), log / pow 2.4e-7 / 2e-6,
 *   tanh and sigmoid 1e-6 relative plus ~1-2 ulp absolute near 0.
 * - matmul / fusedDense / sum / scatterAdd accumulate in float32; allowance a few ulps of
 *   the sum of |terms| (cpu mode accumulates in float64, which this also covers). The js
 *   sum accumulates in float64 and gpujs sums in √r-term blocks; at large sizes sum is
 *   checked against its documented bound (see `sum` in ops.ts).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requestedMode, runtime } from '../src/backends/gpujs/backend.ts';
import * as G from '../src/gpujs.ts';
import * as T from '../src/index.ts';

// Read when the backend is created (first use, in beforeAll), not at import.
process.env.CHAINRULE_GPUJS_MODE ??= 'webasm';
const MODE = process.env.CHAINRULE_GPUJS_MODE;

/** Runs per property: every new shape compiles a kernel, ~75 ms in headless-gl, ~5 ms in webasm. */
const RUNS = {
  numRuns: Number(process.env.CHAINRULE_GPUJS_RUNS ?? (MODE === 'headlessgl' || MODE === 'gpu' ? 30 : 100)),
};
const SMALL = [1, 2, 3, 4, 5, 7] as const;
const sizeOf = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

interface Input {
  data: Float32Array;
  shape: number[];
}

/** Seeded float32 values uniform in [lo, hi]; `int` rounds them (exact sums, ties in comparisons). */
function values(
  shape: readonly number[],
  seed: number,
  { lo = -2, hi = 2, int = false }: { lo?: number; hi?: number; int?: boolean } = {},
): Input {
  const rng = new T.Rng(seed);
  const d = new Float32Array(sizeOf(shape));
  for (let i = 0; i < d.length; i++) {
    const v = rng.uniform(lo, hi);
    d[i] = int ? Math.round(v) : v;
  }
  return { data: d, shape: [...shape] };
}

type Op = (...ts: T.Tensor[]) => T.Tensor | T.Tensor[];

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

/** |Δ| ≤ atol + rtol·|js| (+ `scale`·sum of |terms| for accumulations, see `parity`). */
interface Tol {
  atol: number;
  rtol: number;
}
const EXACT: Tol = { atol: 0, rtol: 0 };

/** Worst observed |Δ| / (atol + rtol·|js|) per op (and the raw |Δ|), printed with CHAINRULE_GPUJS_REPORT=1. */
const observed = new Map<string, { ratio: number; abs: number; rel: number }>();

/**
 * Compare gpujs with js for `op` on `inputs`. `bound[i]`, when given, is an extra absolute
 * allowance for output element i (accumulations: a multiple of the sum of |terms|).
 */
function parity(
  name: string,
  inputs: readonly Input[],
  op: Op,
  tol: Tol,
  bound?: (i: number) => number,
): void {
  T.resetFallbackCounts();
  const got = runOn('gpujs', inputs, op);
  const fallbacks = Object.keys(T.getFallbackCounts()).filter((k) => k.endsWith('@gpujs'));
  expect(fallbacks, 'the gpujs kernels ran (no js fallback)').toEqual([]);
  const want = runOn('js', inputs, op);
  expect(got.length).toBe(want.length);
  const obs = observed.get(name) ?? { ratio: 0, abs: 0, rel: 0 };
  got.forEach((g, o) => {
    const w = want[o]!;
    expect(g.shape).toEqual(w.shape);
    expect(g.data.length).toBe(w.data.length);
    for (let i = 0; i < w.data.length; i++) {
      const x = g.data[i]!;
      const y = w.data[i]!;
      if (Number.isNaN(y) && Number.isNaN(x)) continue;
      if (!Number.isFinite(y) || !Number.isFinite(x)) {
        if (x !== y) expect.fail(`${name}: output ${o} index ${i}: gpujs ${x}, js ${y}`);
        continue;
      }
      const d = Math.abs(x - y);
      const allow = tol.atol + FTZ + tol.rtol * Math.abs(y) + (bound ? bound(i) : 0);
      obs.abs = Math.max(obs.abs, d);
      if (Math.abs(y) > 1e-3) obs.rel = Math.max(obs.rel, d / Math.abs(y));
      if (d > 0) obs.ratio = Math.max(obs.ratio, allow > 0 ? d / allow : Number.POSITIVE_INFINITY);
      if (d > allow) {
        expect.fail(
          `${name} (${MODE}): output ${o} index ${i} of shape [${w.shape}]: gpujs ${x}, js ${y}, |Δ| ${d} > ${allow} (inputs ${inputs.map((v) => `[${v.shape}]`).join(' ')})`,
        );
      }
    }
  });
  observed.set(name, obs);
}

/**
 * Per-op tolerances, |Δ| ≤ atol + rtol·|js| (+ FTZ in GL modes). "seen" is the worst
 * case measured here over 60-100 runs per property (Mesa llvmpipe for headlessgl; rel is
 * |Δ|/|js| over |js| > 1e-3; CHAINRULE_GPUJS_REPORT=1 prints the current run's).
 * Arithmetic was bit-exact in every mode measured; GL keeps a 1-ulp allowance for it,
 * as other drivers need not round like llvmpipe.
 */
const GL = MODE === 'headlessgl' || MODE === 'gpu';
/** GL shaders flush float32 subnormals to zero: allow |Δ| up to the smallest normal, 2^-126. */
const FTZ = GL ? 2 ** -126 : 0;
const ULP = 2 ** -23;
/**
 * tanh: Cephes' polynomial below |x| = 0.625, the exponential form above. seen: rel
 * 1.2e-7 (webasm), 2.1e-7 (headlessgl on Mesa llvmpipe); GL keeps 2 ulp more for drivers
 * whose exp is less accurate.
 */
const TANH_REL = GL ? 4 * ULP : 2 * ULP;
const TOLERANCES: Record<string, Tol> = {
  // seen: exact in every mode (FTZ aside)
  neg: EXACT,
  abs: EXACT,
  sign: EXACT,
  relu: EXACT,
  clip: EXACT,
  maximum: EXACT,
  minimum: EXACT,
  comparison: EXACT,
  where: EXACT,
  max: EXACT,
  min: EXACT,
  layout: EXACT,
  // seen: exact in every mode
  square: GL ? { atol: 0, rtol: ULP } : EXACT,
  sqrt: GL ? { atol: 0, rtol: ULP } : EXACT,
  reciprocal: GL ? { atol: 0, rtol: ULP } : EXACT,
  add: GL ? { atol: 0, rtol: ULP } : EXACT,
  sub: GL ? { atol: 0, rtol: ULP } : EXACT,
  mul: GL ? { atol: 0, rtol: ULP } : EXACT,
  div: GL ? { atol: 0, rtol: ULP } : EXACT,
  // seen: webasm and cpu exact; headlessgl rel 9.8e-7 (GLSL exp, about 8 ulp)
  exp: { atol: 0, rtol: 2e-6 },
  // seen: webasm and cpu exact; headlessgl |Δ| 4.8e-7 at log(1000) ≈ 6.9 (1 ulp)
  log: { atol: 2.4e-7, rtol: 2.4e-7 },
  // Relative only, so a loss of accuracy near 0 cannot hide under an absolute allowance
  // (the exponential form alone gave tanh(4.58e-7) 2.4% low). seen: see TANH_REL.
  tanh: { atol: 0, rtol: TANH_REL },
  // seen: |Δ| ≤ 6e-8 (webasm, headlessgl), rel 5.7e-7 (headlessgl)
  sigmoid: { atol: 1.2e-7, rtol: 1e-6 },
  // seen: webasm and cpu exact; headlessgl rel 4.9e-7 (GLSL pow = exp2(b·log2 a))
  pow: { atol: 1.2e-7, rtol: 2e-6 },
  // Absolute: sin and cos cross 0. GLSL drivers reduce large arguments in float32, so the
  // allowance is |x|·2⁻²³·2 at the range's |x| ≤ 100.
  sin: { atol: 2.4e-5, rtol: 0 },
  cos: { atol: 2.4e-5, rtol: 0 },
  // seen: |Δ| ≤ 1.2e-7 (t is rounded to float32 here, float64 in js)
  lerp: { atol: 2.4e-7, rtol: 2.4e-7 },
  // sums: js in float64, gpujs in float32 √r-term blocks (cpu mode: float64); the
  // difference is covered by ACC below
  sum: GL ? { atol: 0, rtol: ULP } : EXACT,
  scatterAdd: GL ? { atol: 0, rtol: ULP } : EXACT,
  // seen: |Δ| 7.6e-6 (webasm, headlessgl) and 1.9e-5 (cpu) at k = 400, within ACC·k·4
  matmul: { atol: 0, rtol: ULP },
  // seen: |Δ| 1.9e-6 in every mode, within ACC·(4k + 2)
  fusedDense: { atol: 1.2e-7, rtol: 1e-6 },
  // seen: rel 4.3e-6 (webasm), 1.3e-6 (headlessgl); float32 vs the reference's float64
  adamUpdate: { atol: 1.2e-7, rtol: 1e-5 },
};
/** Accumulations: extra |Δ| allowance per unit of sum |terms| (covers rounding order effects). */
const ACC = GL ? 4 * 2 ** -23 : 2 * 2 ** -23;

const seedArb = fc.integer({ min: 1, max: 2 ** 30 });
const shapeArb = (dims: readonly number[], minRank = 0, maxRank = 3): fc.Arbitrary<number[]> =>
  fc.array(fc.constantFrom(...dims), { minLength: minRank, maxLength: maxRank });

/** Mutually broadcastable shapes: a common shape, each operand dropping leading dims / setting some to 1. */
const broadcastArb = (count: number): fc.Arbitrary<number[][]> =>
  shapeArb(SMALL, 0, 4).chain((out) => {
    const operand = fc
      .tuple(
        fc.integer({ min: 0, max: out.length }),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
      )
      .map(([drop, ones]) => out.map((d, i) => (ones[i] ? 1 : d)).slice(drop));
    return fc.array(operand, { minLength: count, maxLength: count });
  });

beforeAll(() => {
  // Creating the backend is where a missing GL context shows up: let it fail loudly.
  T.backendByName('gpujs');
});

afterAll(() => {
  if (!process.env.CHAINRULE_GPUJS_REPORT) return;
  const rows = [...observed.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([op, o]) =>
        `${op.padEnd(22)} max|Δ| ${o.abs.toExponential(2)}  max rel ${o.rel.toExponential(2)}  of allowance ${(o.ratio * 100).toFixed(1)}%`,
    );
  console.log(`gpujs parity, mode ${MODE}:\n${rows.join('\n')}\n${JSON.stringify(G.gpujsStats())}`);
});

describe(`gpujs backend (${MODE})`, () => {
  it('runs in the requested mode and reports it', () => {
    const expected = MODE === 'gpu' ? undefined : MODE;
    const mode = G.gpujsMode();
    if (expected) expect(mode).toBe(expected);
    else expect(['headlessgl', 'webasm', 'cpu']).toContain(mode);
    T.withBackend('gpujs', () => {
      const info = T.getBackendInfo();
      expect(info.name).toBe('gpujs');
      expect(info.mode).toBe(mode);
      expect(info.precision).toBe('single');
      expect(info.registered).toContain('gpujs');
    });
  });

  it('rejects an unknown CHAINRULE_GPUJS_MODE, listing the valid ones', () => {
    expect(() => requestedMode('vulkan')).toThrow(
      /^CHAINRULE_GPUJS_MODE: unknown gpu\.js mode "vulkan"; expected one of gpu, headlessgl, webgpu, webasm, cpu \(or unset to auto-detect\)$/,
    );
    expect(requestedMode(undefined)).toBe('auto');
    expect(requestedMode('')).toBe('auto');
    expect(requestedMode('webasm')).toBe('webasm');
  });

  it('fails at creation, clearly, for an unknown or unusable mode; auto-detects when unset', async () => {
    const saved = process.env.CHAINRULE_GPUJS_MODE;
    const fresh = async (value: string | undefined) => {
      if (value === undefined) delete process.env.CHAINRULE_GPUJS_MODE;
      else process.env.CHAINRULE_GPUJS_MODE = value;
      vi.resetModules();
      return {
        ...((await import('../src/index.ts')) as typeof T),
        ...((await import('../src/gpujs.ts')) as typeof G),
      };
    };
    try {
      const a = await fresh('vulkan');
      expect(() => a.setBackend('gpujs')).toThrow(
        /unknown gpu\.js mode "vulkan"; expected one of gpu, headlessgl/,
      );
      const b = await fresh('webgpu');
      expect(() => b.gpujsMode()).toThrow(
        /webgpu is not usable by the gpujs backend: gpu\.js's webgpu kernels always return Promises/,
      );
      const c = await fresh(undefined);
      const info = c.withBackend('gpujs', () => c.getBackendInfo());
      expect(info.requestedMode).toBe('auto');
      expect(info.modeReason).toEqual(expect.any(String));
      // headless-gl wherever it works (certainly in this suite's headlessgl run), else webasm
      expect(['headlessgl', 'webasm']).toContain(info.mode);
      if (MODE === 'headlessgl') expect(info.mode).toBe('headlessgl');
    } finally {
      process.env.CHAINRULE_GPUJS_MODE = saved;
      vi.resetModules();
    }
  });

  it('handles empty tensors', () => {
    T.withBackend('gpujs', () => {
      const e = T.zeros([0, 3]);
      const a = T.ones([4, 0]);
      const b = T.ones([0, 2]);
      const outs = [
        T.add(e, 1),
        T.sum(e, 0),
        T.matmul(a, b),
        T.matmul(b, T.ones([2, 5])),
        T.scatterAdd(T.zeros([0, 2]), [], 2),
        T.gather(T.ones([3, 2]), []),
        T.pad(T.zeros([0]), [[1, 2]]),
      ];
      expect(outs.map((t) => t.shape)).toEqual([[0, 3], [3], [4, 2], [0, 5], [2, 2], [0, 2], [3]]);
      for (const t of outs) expect(Array.from(t.dataSync()).every((v) => v === 0)).toBe(true);
      for (const t of [e, a, b, ...outs]) t.dispose();
    });
  });

  it('rejects float64 with a clear error', () => {
    T.withBackend('gpujs', () => {
      const msg = /the gpujs backend does not support dtype float64/;
      expect(() => T.tensor([1, 2], { dtype: 'float64' })).toThrow(msg);
      expect(() => T.zeros([2], { dtype: 'float64' })).toThrow(msg);
      const x = T.tensor([1, 2]);
      expect(() => T.cast(x, 'float64')).toThrow(msg);
      x.dispose();
    });
    expect(T.backendByName('gpujs').supportsDType('float64')).toBe(false);
  });
});

describe('parity with js: elementwise', () => {
  const unary: [string, (x: T.Tensor) => T.Tensor, { lo: number; hi: number }][] = [
    ['neg', T.neg, { lo: -100, hi: 100 }],
    ['abs', T.abs, { lo: -100, hi: 100 }],
    ['sign', T.sign, { lo: -2, hi: 2 }],
    ['relu', T.relu, { lo: -100, hi: 100 }],
    ['square', T.square, { lo: -100, hi: 100 }],
    ['sqrt', T.sqrt, { lo: 0, hi: 100 }],
    ['reciprocal', T.reciprocal, { lo: 0.01, hi: 100 }],
    ['exp', T.exp, { lo: -20, hi: 20 }],
    ['log', T.log, { lo: 1e-3, hi: 1e3 }],
    ['tanh', T.tanh, { lo: -12, hi: 12 }],
    ['sigmoid', T.sigmoid, { lo: -30, hi: 30 }],
    ['sin', T.sin, { lo: -100, hi: 100 }],
    ['cos', T.cos, { lo: -100, hi: 100 }],
  ];
  it('tanh keeps its relative accuracy near 0 (|x| from 1e-37 to 1, both signs)', () => {
    // The repro: tanh(4.58e-7) and tanh(1.2e-38) (a normal float32, so no flush-to-zero).
    parity(
      'tanh',
      [{ data: Float32Array.of(4.58e-7, -4.58e-7, 1.2e-38, 1e-3, 0.6249, 0.625), shape: [6] }],
      T.tanh,
      TOLERANCES.tanh!,
    );
    fc.assert(
      fc.property(shapeArb(SMALL, 1, 3), seedArb, (shape, seed) => {
        const x = values(shape, seed, { lo: Math.log(1e-37), hi: 0 });
        const rng = new T.Rng(seed + 1);
        for (let i = 0; i < x.data.length; i++)
          x.data[i] = (rng.uniform(0, 1) < 0.5 ? -1 : 1) * Math.exp(x.data[i]!);
        parity('tanh', [x], T.tanh, TOLERANCES.tanh!);
      }),
      RUNS,
    );
  });

  for (const [name, f, range] of unary) {
    it(`${name}`, () => {
      fc.assert(
        fc.property(shapeArb(SMALL, 0, 4), seedArb, fc.boolean(), (shape, seed, negate) => {
          const x = values(shape, seed, range);
          // reciprocal on both signs
          if (name === 'reciprocal' && negate)
            for (let i = 0; i < x.data.length; i++) x.data[i] = -x.data[i]!;
          parity(name, [x], (t) => f(t), TOLERANCES[name]!);
        }),
        RUNS,
      );
    });
  }

  it('clip', () => {
    fc.assert(
      fc.property(
        shapeArb(SMALL, 0, 4),
        seedArb,
        fc.float({ min: -2, max: 0, noNaN: true }),
        fc.float({ min: 0, max: 2, noNaN: true }),
        fc.boolean(),
        (shape, seed, lo, hi, inf) => {
          const x = values(shape, seed);
          const l = inf ? Number.NEGATIVE_INFINITY : lo;
          parity('clip', [x], (t) => T.clip(t, l, hi), TOLERANCES.clip!);
        },
      ),
      RUNS,
    );
  });

  const binary: [string, (a: T.Tensor, b: T.Tensor) => T.Tensor][] = [
    ['add', T.add],
    ['sub', T.sub],
    ['mul', T.mul],
    ['div', T.div],
    ['maximum', T.maximum],
    ['minimum', T.minimum],
  ];
  for (const [name, f] of binary) {
    it(`${name} with broadcasting`, () => {
      fc.assert(
        fc.property(broadcastArb(2), seedArb, ([sa, sb], seed) => {
          const a = values(sa!, seed, { lo: -10, hi: 10 });
          const b = values(sb!, seed + 1, { lo: 0.05, hi: 10 });
          // both signs for the divisor, never near 0
          for (let i = 1; i < b.data.length; i += 2) b.data[i] = -b.data[i]!;
          parity(name, [a, b], f, TOLERANCES[name]!);
        }),
        RUNS,
      );
    });
  }

  it('pow with broadcasting: positive bases, and negative bases with integer exponents', () => {
    fc.assert(
      fc.property(broadcastArb(2), seedArb, fc.boolean(), ([sa, sb], seed, negative) => {
        const a = values(sa!, seed, { lo: 0.05, hi: 4 });
        const b = values(sb!, seed + 1, { lo: -3, hi: 3, int: negative });
        if (negative) for (let i = 0; i < a.data.length; i++) a.data[i] = -a.data[i]!;
        parity('pow', [a, b], T.pow, TOLERANCES.pow!);
      }),
      RUNS,
    );
  });

  it('pow special cases: exponent 0, base 0, negative base with a fractional exponent', () => {
    const a = { data: new Float32Array([0, 0, 0, -2, -2, 3, -0.5]), shape: [7] };
    const b = { data: new Float32Array([0, 2, -1, 0, 0.5, 0, 3]), shape: [7] };
    parity('pow', [a, b], T.pow, TOLERANCES.pow!);
  });

  const comparisons: [string, (a: T.Tensor, b: T.Tensor) => T.Tensor][] = [
    ['equal', T.equal],
    ['notEqual', T.notEqual],
    ['less', T.less],
    ['lessEqual', T.lessEqual],
    ['greater', T.greater],
    ['greaterEqual', T.greaterEqual],
  ];
  for (const [name, f] of comparisons) {
    it(`${name} with broadcasting (with ties)`, () => {
      fc.assert(
        fc.property(broadcastArb(2), seedArb, ([sa, sb], seed) => {
          const a = values(sa!, seed, { lo: -2, hi: 2, int: true });
          const b = values(sb!, seed + 1, { lo: -2, hi: 2, int: true });
          parity('comparison', [a, b], f, TOLERANCES.comparison!);
        }),
        RUNS,
      );
    });
  }

  it('where with three-way broadcasting', () => {
    fc.assert(
      fc.property(broadcastArb(3), seedArb, ([sc, sa, sb], seed) => {
        const c = values(sc!, seed, { lo: -1, hi: 1, int: true });
        const a = values(sa!, seed + 1);
        const b = values(sb!, seed + 2);
        parity('where', [c, a, b], (tc, ta, tb) => T.where(tc!, ta!, tb!), TOLERANCES.where!);
      }),
      RUNS,
    );
  });

  it('lerp', () => {
    fc.assert(
      fc.property(
        shapeArb(SMALL, 0, 3),
        seedArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (shape, seed, t) => {
          parity(
            'lerp',
            [values(shape, seed), values(shape, seed + 1)],
            (a, b) => T.lerp(a!, b!, t),
            TOLERANCES.lerp!,
          );
        },
      ),
      RUNS,
    );
  });
});

describe('parity with js: reductions', () => {
  const axesArb = shapeArb(SMALL, 0, 4).chain((shape) =>
    fc.tuple(
      fc.constant(shape),
      fc.oneof(fc.constant(undefined), fc.subarray(shape.map((_, i) => i))),
      fc.boolean(),
    ),
  );
  for (const op of ['sum', 'max', 'min'] as const) {
    it(`${op} over random axes`, () => {
      fc.assert(
        fc.property(axesArb, seedArb, ([shape, axes, keep], seed) => {
          const x = values(shape, seed, { lo: -10, hi: 10 });
          // sum: allowance per output of ACC · sum of |x| over everything (a loose upper bound)
          const total = x.data.reduce((s, v) => s + Math.abs(v), 0);
          parity(
            op,
            [x],
            (t) => T[op](t, axes, keep),
            TOLERANCES[op]!,
            op === 'sum' ? () => ACC * total : undefined,
          );
        }),
        RUNS,
      );
    });
  }

  it('sum at large sizes stays within its documented bound, u·|S| + (2√r + 1)·u·Σ|x|', () => {
    // r terms per output, up to 65535 on the gpujs kernel (GL stops a loop there); longer
    // sums run on js (float64).
    const U = 2 ** -24;
    const x = values([2 ** 20], 9, { lo: 0, hi: 1 }); // positive: a float32 running sum drifts most
    const r = 65535;
    for (const [shape, axis, onGpu] of [
      [[r], 0, true],
      [[r, 4], 0, true],
      [[4, r], 1, true],
      [[r + 1], 0, false],
      [[2 ** 20], 0, false],
      [[2 ** 18, 4], 0, false],
    ] as const) {
      const size = shape.reduce((a, b) => a * b, 1);
      const d = x.data.slice(0, size);
      T.resetFallbackCounts();
      const got = T.withBackend('gpujs', () => T.sum(T.tensor(d, { shape: [...shape] }), axis).dataSync());
      expect(Object.keys(T.getFallbackCounts()).length > 0, `[${shape}] fell back to js`).toBe(!onGpu);
      const terms = shape[axis]!;
      const outer = size / terms;
      const stride = axis === 0 ? outer : 1;
      for (let o = 0; o < outer; o++) {
        const start = axis === 0 ? o : o * terms;
        let s = 0;
        let abs = 0;
        for (let k = 0, i = start; k < terms; k++, i += stride) {
          s += d[i]!; // float64: exact to ~r·2^-53, far below the bound
          abs += Math.abs(d[i]!);
        }
        const allow = U * Math.abs(s) + (2 * Math.sqrt(terms) + 1) * U * abs;
        expect(Math.abs(got[o]! - s), `[${shape}] over axis ${axis}, output ${o}`).toBeLessThanOrEqual(allow);
      }
    }
  });
});

describe('parity with js: matmul and fusedDense', () => {
  it('matmul with transposes and broadcast batches', () => {
    const dims = [1, 2, 3, 5, 8, 13];
    fc.assert(
      fc.property(
        fc.constantFrom(...dims),
        fc.constantFrom(...dims),
        fc.constantFrom(...dims),
        broadcastArb(2).filter(([a, b]) => a!.length <= 2 && b!.length <= 2),
        fc.boolean(),
        fc.boolean(),
        seedArb,
        (m, k, n, [ba, bb], tA, tB, seed) => {
          const aShape = [...ba!, ...(tA ? [k, m] : [m, k])];
          const bShape = [...bb!, ...(tB ? [n, k] : [k, n])];
          const a = values(aShape, seed);
          const b = values(bShape, seed + 1);
          // |Δ| ≤ ACC·k·max|a|·max|b| (the sum of |terms| is at most k·2·2)
          parity(
            'matmul',
            [a, b],
            (ta, tb) => T.matmul(ta!, tb!, { transposeA: tA, transposeB: tB }),
            TOLERANCES.matmul!,
            () => ACC * k * 4,
          );
        },
      ),
      RUNS,
    );
  });

  it('matmul at a training size (64×400×300)', () => {
    const a = values([64, 400], 1, { lo: -1, hi: 1 });
    const b = values([400, 300], 2, { lo: -1, hi: 1 });
    parity(
      'matmul',
      [a, b],
      (ta, tb) => T.matmul(ta!, tb!),
      TOLERANCES.matmul!,
      () => ACC * 400,
    );
  });

  it('fusedDense for every activation, with and without bias', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 17 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom('linear', 'relu', 'tanh', 'sigmoid') as fc.Arbitrary<T.DenseActivation>,
        fc.boolean(),
        seedArb,
        (batch, inp, out, act, bias, seed) => {
          const x = values([batch, inp], seed);
          const w = values([inp, out], seed + 1);
          const b = values([out], seed + 2);
          parity(
            'fusedDense',
            bias ? [x, w, b] : [x, w],
            (tx, tw, tb) => T.fusedDense(tx!, tw!, tb, act),
            TOLERANCES.fusedDense!,
            () => ACC * (inp * 4 + 2),
          );
        },
      ),
      RUNS,
    );
  });
});

describe('parity with js: layout, gather/scatter, optimiser', () => {
  it('transpose with random permutations', () => {
    fc.assert(
      fc.property(
        shapeArb(SMALL, 1, 4).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.shuffledSubarray(
              s.map((_, i) => i),
              { minLength: s.length, maxLength: s.length },
            ),
          ),
        ),
        seedArb,
        ([shape, perm], seed) => {
          parity('transpose', [values(shape, seed)], (t) => T.transpose(t!, perm), TOLERANCES.layout!);
        },
      ),
      RUNS,
    );
  });

  it('broadcastTo', () => {
    fc.assert(
      fc.property(broadcastArb(1), shapeArb(SMALL, 0, 1), seedArb, ([s], lead, seed) => {
        const target = [...lead, ...s!.map((d, i) => (d === 1 ? 1 + (i % 3) : d))];
        parity('broadcastTo', [values(s!, seed)], (t) => T.broadcastTo(t!, target), TOLERANCES.layout!);
      }),
      RUNS,
    );
  });

  it('slice and pad', () => {
    fc.assert(
      fc.property(
        shapeArb(SMALL, 1, 4).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.tuple(...s.map((d) => fc.integer({ min: 0, max: d - 1 }))),
            fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
              minLength: s.length,
              maxLength: s.length,
            }),
          ),
        ),
        seedArb,
        ([shape, begin, pads], seed) => {
          const x = values(shape, seed);
          const size = shape.map(
            (d, i) => d - begin[i]! - (i % 2 === 0 ? 0 : Math.min(1, d - begin[i]! - 1)),
          );
          parity('slice', [x], (t) => T.slice(t!, begin, size), TOLERANCES.layout!);
          parity('pad', [x], (t) => T.pad(t!, pads), TOLERANCES.layout!);
          // A constant value, and a negative width (a crop) in the first dimension.
          const crop = pads.map((p, i) => (i === 0 ? [-begin[0]!, p[1]] : p) as [number, number]);
          parity('pad', [x], (t) => T.pad(t!, crop, 1.5), TOLERANCES.layout!);
        },
      ),
      RUNS,
    );
  });

  it('concat along a random axis (1 to 5 parts, some empty)', () => {
    fc.assert(
      fc.property(
        shapeArb(SMALL, 1, 3).chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.integer({ min: 0, max: s.length - 1 }),
            fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 5 }),
          ),
        ),
        seedArb,
        ([shape, axis, widths], seed) => {
          const parts = widths.map((w, k) =>
            values(
              shape.map((d, i) => (i === axis ? w : d)),
              seed + k,
            ),
          );
          parity('concat', parts, (...ts) => T.concat(ts, axis), TOLERANCES.layout!);
        },
      ),
      RUNS,
    );
  });

  it('gather and scatterAdd along any axis (repeated indices add up)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        shapeArb(SMALL, 0, 2),
        fc.array(fc.nat(), { minLength: 0, maxLength: 12 }),
        seedArb,
        fc.nat(),
        (rows, rest, raw, seed, a) => {
          const axis = a % (rest.length + 1);
          const idx = raw.map((v) => v % rows);
          const shape = [...rest.slice(0, axis), rows, ...rest.slice(axis)];
          const x = values(shape, seed);
          parity('gather', [x], (t) => T.gather(t!, idx, axis), TOLERANCES.layout!);
          const u = values(
            shape.map((d, i) => (i === axis ? idx.length : d)),
            seed + 1,
            { lo: -10, hi: 10 },
          );
          const total = u.data.reduce((s, v) => s + Math.abs(v), 0);
          parity(
            'scatterAdd',
            [u],
            (t) => T.scatterAdd(t!, idx, rows, axis),
            TOLERANCES.scatterAdd!,
            () => ACC * total,
          );
        },
      ),
      RUNS,
    );
  });

  it('cast (float32 to float32 is a copy)', () => {
    fc.assert(
      fc.property(shapeArb(SMALL, 0, 3), seedArb, (shape, seed) => {
        parity('cast', [values(shape, seed)], (t) => T.cast(t!, 'float32'), TOLERANCES.layout!);
      }),
      RUNS,
    );
  });

  it('adamUpdate (L2 / decoupled weight decay, AMSGrad)', () => {
    fc.assert(
      fc.property(
        shapeArb(SMALL, 1, 2),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom(0, 0.01),
        fc.integer({ min: 1, max: 1000 }),
        seedArb,
        (shape, decoupled, amsgrad, weightDecay, step, seed) => {
          const p = values(shape, seed);
          const g = values(shape, seed + 1);
          const m = values(shape, seed + 2, { lo: -0.1, hi: 0.1 });
          const v = values(shape, seed + 3, { lo: 0, hi: 0.01 });
          const vmax = values(shape, seed + 4, { lo: 0, hi: 0.02 });
          const options = {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weightDecay,
            decoupled,
            amsgrad,
            step,
          };
          parity(
            'adamUpdate',
            amsgrad ? [p, g, m, v, vmax] : [p, g, m, v],
            (tp, tg, tm, tv, tvm) => T.adamUpdate(tp!, tg!, tm!, tv!, tvm, options),
            TOLERANCES.adamUpdate!,
          );
        },
      ),
      RUNS,
    );
  });
});

describe('pipeline, cache and texture lifetime', () => {
  const gl = () => runtime().textures;

  it('compiles a kernel once per shape signature and reuses it', () => {
    T.withBackend('gpujs', () => {
      const x = T.tensor(new Float32Array(37).fill(0.25), { shape: [37] });
      const before = G.gpujsStats();
      const ys = [T.exp(x), T.exp(x), T.exp(x)];
      const after = G.gpujsStats();
      expect(after.kernelsCompiled - before.kernelsCompiled).toBe(1);
      expect(after.cacheHits - before.cacheHits).toBe(2);
      for (const y of [x, ...ys]) y.dispose();
    });
  });

  it('keeps results on the device between ops and reads a texture only for dataSync', () => {
    T.withBackend('gpujs', () => {
      const x = T.tensor([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const w = T.tensor([
        [1, 0],
        [0, 1],
        [1, 1],
      ]);
      const before = G.gpujsStats();
      const h = T.fusedDense(x, w, undefined, 'tanh');
      const h2 = T.exp(h); // same shape and kernel family: a texture input to the next kernel
      const h3 = T.exp(h2); // the exp kernel reads its own previous output
      const s = T.sum(h3, 1);
      const mid = G.gpujsStats();
      expect(mid.textureReads).toBe(before.textureReads);
      if (gl()) expect(mid.liveTextures - before.liveTextures).toBe(4);
      else expect(mid.liveTextures).toBe(0);
      const want = [
        [Math.tanh(4), Math.tanh(5)],
        [Math.tanh(10), Math.tanh(11)],
      ].map((r) => r.reduce((acc, v) => acc + Math.exp(Math.exp(v)), 0));
      const got = Array.from(s.dataSync());
      expect(got[0]).toBeCloseTo(want[0]!, 4);
      expect(got[1]).toBeCloseTo(want[1]!, 4);
      // h2 must not have been overwritten by the second exp (immutable outputs)
      expect(h2.dataSync()[0]).toBeCloseTo(Math.exp(Math.tanh(4)), 5);
      expect(G.gpujsStats().textureReads - before.textureReads).toBe(gl() ? 2 : 0);
      for (const t of [x, w, h, h2, h3, s]) t.dispose();
      expect(G.gpujsStats().liveTextures).toBe(before.liveTextures);
    });
  });

  it('falls back to js (counted) for a case its kernels decline', () => {
    T.withBackend('gpujs', () => {
      T.resetFallbackCounts();
      const parts = Array.from({ length: 9 }, (_, i) => T.tensor([i]));
      const c = T.concat(parts);
      expect(Array.from(c.dataSync())).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      expect(c.backend.name).toBe('gpujs');
      expect(T.getFallbackCounts()['concat@gpujs']).toBe(1);
      for (const t of [...parts, c]) t.dispose();
    });
  });

  it('10,000 training-like steps leave the live-texture count flat', () => {
    // In GL modes also count the GL context's textures directly.
    const ctx = runtime().gpu.context as
      | { createTexture(): unknown; deleteTexture(t: unknown): void }
      | null
      | undefined;
    let glLive = 0;
    let restore = () => {};
    if (ctx && gl()) {
      const create = ctx.createTexture.bind(ctx);
      const del = ctx.deleteTexture.bind(ctx);
      ctx.createTexture = () => {
        glLive++;
        return create();
      };
      ctx.deleteTexture = (t: unknown) => {
        if (t) glLive--;
        del(t);
      };
      restore = () => {
        ctx.createTexture = create;
        ctx.deleteTexture = del;
      };
    }
    try {
      T.withBackend('gpujs', () => {
        const rng = new T.Rng(7);
        const w = T.tensor(
          Float32Array.from({ length: 8 * 4 }, () => rng.uniform(-1, 1)),
          { shape: [8, 4] },
        );
        const b = T.tensor(new Float32Array([0.1, -0.1, 0.2, 0]));
        const x = T.tensor(
          Float32Array.from({ length: 16 * 8 }, () => rng.uniform(-1, 1)),
          { shape: [16, 8] },
        );
        const step = (i: number): number | undefined => {
          const h = T.fusedDense(x, w, b, 'tanh');
          const sq = T.square(h);
          const loss = T.sum(sq);
          const g = T.mul(h, 0.5); // a gradient-like elementwise op with a broadcast scalar
          const gs = T.sum(g, 0);
          const out = i % 1000 === 0 ? loss.item() : undefined;
          for (const t of [h, sq, loss, g, gs]) t.dispose();
          return out;
        };
        const warm = step(0);
        const textures0 = G.gpujsLiveTextures();
        const storages0 = G.gpujsStats().liveStorages;
        const gl0 = glLive;
        const compiled0 = G.gpujsStats().kernelsCompiled;
        let last = warm;
        for (let i = 1; i <= 10_000; i++) last = step(i) ?? last;
        expect(last).toBeCloseTo(warm!, 3);
        expect(G.gpujsLiveTextures()).toBe(textures0);
        expect(G.gpujsStats().liveStorages).toBe(storages0);
        expect(G.gpujsStats().kernelsCompiled).toBe(compiled0);
        if (gl()) expect(glLive, 'GL textures alive in the context').toBe(gl0);
        for (const t of [w, b, x]) t.dispose();
      });
    } finally {
      restore();
    }
  });
});
