/**
 * The benchmark cases: their fixed names, what one iteration measures, their FLOP counts
 * and, where a contender's result is checkable, a float64 reference with per-element
 * tolerances.
 *
 * Output protocol: the harness calls a contender's `output()` after `setup()` and exactly
 * one `run()`; the returned Float32Array must follow the layout documented on each case.
 *
 * @module
 */

import {
  adamInputs,
  BATCHNORM,
  batchnormInputs,
  DENSE,
  denseInputs,
  type MatmulInputs,
  matmulInputs,
} from './inputs.ts';
import { ADAM_CASE_SPEC } from './specs.ts';

/** The fixed case names. */
export const CASE = {
  matmulTiny: 'matmul 64x3x400',
  matmulMid: 'matmul 64x400x300',
  matmul256: 'matmul 256x256x256',
  matmul1024: 'matmul 1024x1024x1024',
  dense: 'dense fwd+bwd 64x400x300 relu',
  batchnorm: 'batchnorm1d fwd+bwd 64x400',
  adam: 'adam step paper-critic',
  ddpgPaper: 'ddpg update paper b64',
  ddpgTuned: 'ddpg update tuned b256',
  ddpgTd3: 'ddpg update td3 b256',
  e2ePendulum: 'e2e pendulum 20k paper',
} as const;

/** A named slice of a reference / output vector, for error messages and docs. */
export interface Segment {
  readonly name: string;
  readonly offset: number;
  readonly length: number;
}

/**
 * A float64 reference for a contender's `output()`: `|out[index[i]] − values[i]| ≤ tol[i]`
 * must hold for every i (`index` absent: every element, in order).
 */
export interface Reference {
  /** Expected length of the contender's output. */
  readonly length: number;
  readonly values: Float64Array;
  /** Absolute tolerance per compared element. */
  readonly tol: Float64Array;
  /** The compared output positions when only a subset is checked (large matmuls). */
  readonly index?: Uint32Array;
  readonly segments: readonly Segment[];
}

export interface BenchCase {
  readonly name: string;
  /** One line: what one measured iteration does. */
  readonly description: string;
  /** FLOPs of one iteration (multiply-adds count 2), when meaningful. */
  readonly flops?: number;
  /** Only run with `--full`. */
  readonly fullOnly?: boolean;
  /** Upper bound of the sample count (slow cases); the harness may take fewer. */
  readonly maxSamples?: number;
  /**
   * Time the very first `run()` after `setup()` as the only sample (no warm-up, no
   * tinybench): for long end-to-end runs, whose cold wall time is what a user sees.
   */
  readonly singleShot?: boolean;
  /** Built lazily (and memoised) the first time a contender with `output()` runs. */
  reference?(): Reference;
}

/** Concatenate read-back parts into one Float32Array (the layout of a case's output). */
export function concatParts(parts: readonly ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Unit roundoff of float32. */
const U32 = 2 ** -24;
/**
 * Safety factor over the classic worst-case bound `|fl(Σ) − Σ| ≤ (n + 1)·u·Σ|terms|` for
 * an n-term float32 dot product. Any correct float32 implementation (any summation
 * order, FMA or not) stays within it; an indexing or formula bug does not.
 */
const DOT_SAFETY = 4;
const dotTol = (depth: number, absSum: number): number => DOT_SAFETY * (depth + 2) * U32 * absSum + 1e-30;

function memoRef(make: () => Reference): () => Reference {
  let ref: Reference | undefined;
  return () => {
    ref ??= make();
    return ref;
  };
}

/** Compared rows of a large matmul: all of them up to 256, else 64 evenly spaced rows. */
function checkedRows(m: number): number[] {
  if (m <= 256) return Array.from({ length: m }, (_, i) => i);
  const step = m / 64;
  return Array.from({ length: 64 }, (_, i) => Math.floor(i * step + step / 2));
}

/** float64 reference of C = A·B on the given rows, with `dotTol` tolerances. */
export function matmulReference(inp: MatmulInputs): Reference {
  const { m, k, n, a, b } = inp;
  const rows = checkedRows(m);
  const count = rows.length * n;
  const values = new Float64Array(count);
  const tol = new Float64Array(count);
  const index = rows.length === m ? undefined : new Uint32Array(count);
  const absSum = new Float64Array(n);
  rows.forEach((i, ri) => {
    const acc = values.subarray(ri * n, ri * n + n);
    absSum.fill(0);
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p]!;
      const aa = Math.abs(av);
      const bo = p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bo + j]!;
        acc[j]! += av * bv;
        absSum[j]! += aa * Math.abs(bv);
      }
    }
    for (let j = 0; j < n; j++) {
      tol[ri * n + j] = dotTol(k, absSum[j]!);
      if (index) index[ri * n + j] = i * n + j;
    }
  });
  return {
    length: m * n,
    values,
    tol,
    ...(index ? { index } : {}),
    segments: [{ name: index ? `C (${rows.length} of ${m} rows)` : 'C', offset: 0, length: count }],
  };
}

/** A `matmul m×k×n` case (C = A·B, A m×k, B k×n); output layout: C, [m, n] row-major. */
export function matmulCase(m: number, k: number, n: number, maxSamples?: number): BenchCase {
  return {
    name: `matmul ${m}x${k}x${n}`,
    description: `C = A·B with A ${m}×${k}, B ${k}×${n} (float32), including reading C back into a JS Float32Array`,
    flops: 2 * m * k * n,
    ...(maxSamples !== undefined ? { maxSamples } : {}),
    reference: memoRef(() => matmulReference(matmulInputs(m, k, n))),
  };
}

/**
 * float64 reference of the dense case. Output layout:
 * `[loss (1), dW ([in, out]), db ([out]), dx ([batch, in])]`.
 */
export function denseReference(): Reference {
  const { batch: B, in: K, out: N, x, w, b, g } = denseInputs();
  const z = new Float64Array(B * N);
  const zAbs = new Float64Array(B * N);
  for (let r = 0; r < B; r++) {
    for (let j = 0; j < N; j++) {
      z[r * N + j] = b[j]!;
      zAbs[r * N + j] = Math.abs(b[j]!);
    }
    for (let p = 0; p < K; p++) {
      const xv = x[r * K + p]!;
      for (let j = 0; j < N; j++) {
        z[r * N + j]! += xv * w[p * N + j]!;
        zAbs[r * N + j]! += Math.abs(xv * w[p * N + j]!);
      }
    }
  }
  // Upstream gradient through the relu mask; g is already 0 wherever |z| < 1e-3.
  const gz = new Float64Array(B * N);
  let loss = 0;
  let lossAbs = 0;
  let lossFromZ = 0;
  for (let i = 0; i < B * N; i++) {
    const y = Math.max(0, z[i]!);
    loss += y * g[i]!;
    lossAbs += Math.abs(y * g[i]!);
    lossFromZ += Math.abs(g[i]!) * dotTol(K, zAbs[i]!);
    gz[i] = z[i]! > 0 ? g[i]! : 0;
  }
  const len = 1 + K * N + N + B * K;
  const values = new Float64Array(len);
  const tol = new Float64Array(len);
  values[0] = loss;
  tol[0] = lossFromZ + dotTol(B * N, lossAbs);
  // dW[p, j] = Σ_r x[r, p] gz[r, j]
  const oW = 1;
  for (let p = 0; p < K; p++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      let sa = 0;
      for (let r = 0; r < B; r++) {
        const t = x[r * K + p]! * gz[r * N + j]!;
        s += t;
        sa += Math.abs(t);
      }
      values[oW + p * N + j] = s;
      tol[oW + p * N + j] = dotTol(B, sa);
    }
  }
  // db[j] = Σ_r gz[r, j]
  const oB = oW + K * N;
  for (let j = 0; j < N; j++) {
    let s = 0;
    let sa = 0;
    for (let r = 0; r < B; r++) {
      s += gz[r * N + j]!;
      sa += Math.abs(gz[r * N + j]!);
    }
    values[oB + j] = s;
    tol[oB + j] = dotTol(B, sa);
  }
  // dx[r, p] = Σ_j gz[r, j] w[p, j]
  const oX = oB + N;
  for (let r = 0; r < B; r++) {
    for (let p = 0; p < K; p++) {
      let s = 0;
      let sa = 0;
      for (let j = 0; j < N; j++) {
        const t = gz[r * N + j]! * w[p * N + j]!;
        s += t;
        sa += Math.abs(t);
      }
      values[oX + r * K + p] = s;
      tol[oX + r * K + p] = dotTol(N, sa);
    }
  }
  return {
    length: len,
    values,
    tol,
    segments: [
      { name: 'loss', offset: 0, length: 1 },
      { name: 'dW', offset: oW, length: K * N },
      { name: 'db', offset: oB, length: N },
      { name: 'dx', offset: oX, length: B * K },
    ],
  };
}

/** Relative tolerance of the batch-norm case, against each element's magnitude scale. */
const BN_RTOL = 1e-4;

/**
 * float64 reference of the batch-norm case. Output layout:
 * `[loss (1), dx ([batch, features]), dgamma ([features]), dbeta ([features])]`.
 * Tolerances are `1e-4 ×` the sum of the magnitudes of the terms of each formula (the
 * float32 mean/variance/rsqrt path makes a rigorous bound impractical; any formula error
 * is of the order of that scale).
 */
export function batchnormReference(): Reference {
  const { batch: B, features: F, eps, x, gamma, beta, g } = batchnormInputs();
  const len = 1 + B * F + F + F;
  const values = new Float64Array(len);
  const tol = new Float64Array(len);
  const oX = 1;
  const oG = oX + B * F;
  const oB = oG + F;
  let loss = 0;
  let lossAbs = 0;
  const xhat = new Float64Array(B);
  for (let j = 0; j < F; j++) {
    let mean = 0;
    for (let r = 0; r < B; r++) mean += x[r * F + j]!;
    mean /= B;
    let v = 0;
    for (let r = 0; r < B; r++) v += (x[r * F + j]! - mean) ** 2;
    v /= B;
    const invstd = 1 / Math.sqrt(v + eps);
    let dbeta = 0;
    let dbetaAbs = 0;
    let dgamma = 0;
    let dgammaAbs = 0;
    for (let r = 0; r < B; r++) {
      const gv = g[r * F + j]!;
      const xh = (x[r * F + j]! - mean) * invstd;
      xhat[r] = xh;
      const y = gamma[j]! * xh + beta[j]!;
      loss += y * gv;
      lossAbs += Math.abs(y * gv);
      dbeta += gv;
      dbetaAbs += Math.abs(gv);
      dgamma += gv * xh;
      dgammaAbs += Math.abs(gv * xh);
    }
    values[oG + j] = dgamma;
    tol[oG + j] = BN_RTOL * dgammaAbs;
    values[oB + j] = dbeta;
    tol[oB + j] = BN_RTOL * dbetaAbs;
    const c = (gamma[j]! * invstd) / B;
    for (let r = 0; r < B; r++) {
      const gv = g[r * F + j]!;
      values[oX + r * F + j] = c * (B * gv - dbeta - xhat[r]! * dgamma);
      tol[oX + r * F + j] =
        BN_RTOL * Math.abs(c) * (B * Math.abs(gv) + dbetaAbs + Math.abs(xhat[r]!) * dgammaAbs);
    }
  }
  values[0] = loss;
  tol[0] = BN_RTOL * lossAbs;
  return {
    length: len,
    values,
    tol,
    segments: [
      { name: 'loss', offset: 0, length: 1 },
      { name: 'dx', offset: oX, length: B * F },
      { name: 'dgamma', offset: oG, length: F },
      { name: 'dbeta', offset: oB, length: F },
    ],
  };
}

/**
 * Reference of the Adam case after exactly one step from the initial parameters: the
 * bias-corrected moments are m̂ = g and v̂ = g², so `p₁ = p₀ − lr · g / (|g| + ε)`.
 * Output layout: every parameter of the paper critic, flattened, in `initParams` order.
 */
export function adamReference(): Reference {
  const { params, grads } = adamInputs();
  const { lr, epsilon } = ADAM_CASE_SPEC;
  const len = params.reduce((n, p) => n + p.data.length, 0);
  const values = new Float64Array(len);
  const tol = new Float64Array(len).fill(2e-6);
  const segments: Segment[] = [];
  let o = 0;
  params.forEach((p, pi) => {
    const g = grads[pi]!;
    for (let i = 0; i < p.data.length; i++)
      values[o + i] = p.data[i]! - (lr * g[i]!) / (Math.abs(g[i]!) + epsilon);
    segments.push({ name: p.name, offset: o, length: p.data.length });
    o += p.data.length;
  });
  return { length: len, values, tol, segments };
}

/** The standard case list, in run order. */
export function defaultCases(): BenchCase[] {
  return [
    matmulCase(64, 3, 400),
    matmulCase(64, 400, 300),
    matmulCase(256, 256, 256),
    matmulCase(1024, 1024, 1024, 10),
    {
      name: CASE.dense,
      description:
        'y = relu(x·W + b), loss = Σ y⊙g; gradients of W, b, x (x 64×400, W 400×300), all read back',
      flops: 3 * 2 * DENSE.batch * DENSE.in * DENSE.out,
      reference: memoRef(denseReference),
    },
    {
      name: CASE.batchnorm,
      description: `training-mode batch norm (batch statistics, biased variance, eps ${BATCHNORM.eps.toExponential()}), affine; loss = Σ y⊙g; gradients of x, gamma, beta, all read back`,
      reference: memoRef(batchnormReference),
    },
    {
      name: CASE.adam,
      description: 'one Adam step (lr 1e-3) over the paper critic (123,301 parameters) with fixed gradients',
      reference: memoRef(adamReference),
    },
    {
      name: CASE.ddpgPaper,
      description:
        'one DDPG update on a fixed batch of 64: critic step (MSE + L2 1e-2), actor step, soft update (τ 1e-3); BN in training mode',
    },
    {
      name: CASE.ddpgTuned,
      description:
        'one DDPG update with the `tuned` preset (256-256, no BN) on a fixed batch of 256: critic step (MSE), actor step, soft update (τ 5e-3)',
    },
    {
      name: CASE.ddpgTd3,
      description:
        'one TD3 cycle on a fixed batch of 256: 2 twin-critic steps (clipped double-Q, target smoothing), 1 actor step, soft update (τ 5e-3)',
    },
    {
      name: CASE.e2ePendulum,
      description: 'end-to-end DDPG (paper preset) training on Pendulum for 20k environment steps, wall time',
      fullOnly: true,
      singleShot: true,
    },
  ];
}

/** Result of {@link compareOutput}. */
export interface Comparison {
  readonly ok: boolean;
  /** max over elements of |out − ref| / tol (≤ 1 passes). */
  readonly worstRatio: number;
  readonly message: string;
}

/** Check a contender's output against a reference. */
export function compareOutput(out: Float32Array, ref: Reference): Comparison {
  if (!(out instanceof Float32Array)) {
    return {
      ok: false,
      worstRatio: Number.POSITIVE_INFINITY,
      message: 'output() did not return a Float32Array',
    };
  }
  if (out.length !== ref.length) {
    return {
      ok: false,
      worstRatio: Number.POSITIVE_INFINITY,
      message: `output length ${out.length}, expected ${ref.length}`,
    };
  }
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < ref.values.length; i++) {
    const o = out[ref.index ? ref.index[i]! : i]!;
    const err = Math.abs(o - ref.values[i]!);
    // NaN never passes: !(NaN <= tol).
    const ratio = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err / ref.tol[i]!;
    if (ratio > worst || worstAt < 0) {
      worst = ratio;
      worstAt = i;
    }
  }
  if (worstAt < 0) return { ok: true, worstRatio: 0, message: 'empty output' };
  const seg = ref.segments.find((s) => worstAt >= s.offset && worstAt < s.offset + s.length);
  const pos = ref.index ? ref.index[worstAt]! : worstAt;
  const where = seg ? `${seg.name}[${worstAt - seg.offset}]` : `[${worstAt}]`;
  const got = out[pos]!;
  const message = `worst element ${where}: got ${got}, expected ${ref.values[worstAt]} ± ${ref.tol[worstAt]!.toExponential(2)} (error/tolerance ${worst.toPrecision(3)})`;
  return { ok: worst <= 1, worstRatio: worst, message };
}
