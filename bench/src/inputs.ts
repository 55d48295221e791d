/**
 * Seeded benchmark inputs, shared by every contender so that all of them compute on the
 * same float32 numbers (and the float64 references in `cases.ts` see exactly those
 * numbers). Each input set has its own seed derived from its name, and is memoised.
 *
 * @module
 */

import {
  BN_EPSILON,
  type DdpgPreset,
  initParams,
  PAPER_CRITIC,
  type ParamInit,
  PENDULUM,
  rngFor,
} from './specs.ts';

const memo = new Map<string, unknown>();
function memoize<T>(key: string, make: () => T): T {
  let v = memo.get(key) as T | undefined;
  if (v === undefined) {
    v = make();
    memo.set(key, v);
  }
  return v;
}

/** `matmul m×k×n`: A is m×k, B is k×n, both row-major, U(-1, 1). */
export interface MatmulInputs {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly a: Float32Array;
  readonly b: Float32Array;
}

export function matmulInputs(m: number, k: number, n: number): MatmulInputs {
  return memoize(`matmul:${m}x${k}x${n}`, () => {
    const rng = rngFor(`matmul ${m}x${k}x${n}`);
    const a = rng.fillUniform(new Float32Array(m * k), -1, 1);
    const b = rng.fillUniform(new Float32Array(k * n), -1, 1);
    return { m, k, n, a, b };
  });
}

/** Sizes of the `dense fwd+bwd 64x400x300 relu` case. */
export const DENSE = { batch: 64, in: 400, out: 300 } as const;

/**
 * Inputs of the dense case: `y = relu(x · w + b)`, `loss = Σ y ⊙ g`.
 * x ~ U(-1, 1), w and b ~ U(±1/√400) (the fan-in init), g ~ U(-1, 1) with one twist:
 * wherever the pre-activation |z| < 1e-3 (computed in float64) g is set to 0, so that the
 * relu mask, which float32 rounding could flip there, cannot change any gradient.
 */
export interface DenseInputs {
  readonly batch: number;
  readonly in: number;
  readonly out: number;
  /** [batch, in] */
  readonly x: Float32Array;
  /** [in, out] */
  readonly w: Float32Array;
  /** [out] */
  readonly b: Float32Array;
  /** [batch, out], the upstream gradient dL/dy */
  readonly g: Float32Array;
}

export function denseInputs(): DenseInputs {
  return memoize('dense', () => {
    const { batch, in: nIn, out: nOut } = DENSE;
    const rng = rngFor('dense fwd+bwd 64x400x300 relu');
    const bound = 1 / Math.sqrt(nIn);
    const x = rng.fillUniform(new Float32Array(batch * nIn), -1, 1);
    const w = rng.fillUniform(new Float32Array(nIn * nOut), -bound, bound);
    const b = rng.fillUniform(new Float32Array(nOut), -bound, bound);
    const g = rng.fillUniform(new Float32Array(batch * nOut), -1, 1);
    const z = new Float64Array(nOut);
    for (let r = 0; r < batch; r++) {
      for (let j = 0; j < nOut; j++) z[j] = b[j]!;
      for (let p = 0; p < nIn; p++) {
        const xv = x[r * nIn + p]!;
        const wo = p * nOut;
        for (let j = 0; j < nOut; j++) z[j]! += xv * w[wo + j]!;
      }
      for (let j = 0; j < nOut; j++) if (Math.abs(z[j]!) < 1e-3) g[r * nOut + j] = 0;
    }
    return { batch, in: nIn, out: nOut, x, w, b, g };
  });
}

/** Sizes of the `batchnorm1d fwd+bwd 64x400` case. */
export const BATCHNORM = { batch: 64, features: 400, eps: BN_EPSILON } as const;

/**
 * Inputs of the batch-norm case: training-mode batch norm over the batch axis with biased
 * variance, `y = gamma ⊙ (x − mean) / √(var + eps) + beta`, `loss = Σ y ⊙ g`.
 * Every feature j has its own offset (±3) and spread (0.5…2) so the normalisation matters.
 */
export interface BatchnormInputs {
  readonly batch: number;
  readonly features: number;
  readonly eps: number;
  /** [batch, features] */
  readonly x: Float32Array;
  /** [features] */
  readonly gamma: Float32Array;
  /** [features] */
  readonly beta: Float32Array;
  /** [batch, features] */
  readonly g: Float32Array;
}

export function batchnormInputs(): BatchnormInputs {
  return memoize('batchnorm', () => {
    const { batch, features, eps } = BATCHNORM;
    const rng = rngFor('batchnorm1d fwd+bwd 64x400');
    const offset = Array.from({ length: features }, () => rng.uniform(-3, 3));
    const spread = Array.from({ length: features }, () => rng.uniform(0.5, 2));
    const x = new Float32Array(batch * features);
    for (let r = 0; r < batch; r++) {
      for (let j = 0; j < features; j++) x[r * features + j] = offset[j]! + spread[j]! * rng.normal();
    }
    const gamma = rng.fillUniform(new Float32Array(features), 0.5, 1.5);
    const beta = rng.fillUniform(new Float32Array(features), -0.5, 0.5);
    const g = rng.fillUniform(new Float32Array(batch * features), -1, 1);
    return { batch, features, eps, x, gamma, beta, g };
  });
}

/**
 * Inputs of the `adam step paper-critic` case: the paper critic's seeded initial
 * parameters and one fixed gradient per parameter. Gradient magnitudes are log-uniform in
 * [1e-3, 1] with a random sign, so Adam's epsilon is negligible in the first step.
 */
export interface AdamInputs {
  readonly params: readonly ParamInit[];
  readonly grads: readonly Float32Array[];
}

export function adamInputs(): AdamInputs {
  return memoize('adam', () => {
    const params = initParams(PAPER_CRITIC, 'adam step paper-critic');
    const rng = rngFor('adam step paper-critic:grads');
    const grads = params.map((p) => {
      const g = new Float32Array(p.data.length);
      for (let i = 0; i < g.length; i++) {
        const mag = 10 ** rng.uniform(-3, 0);
        g[i] = rng.uniform() < 0.5 ? -mag : mag;
      }
      return g;
    });
    return { params, grads };
  });
}

/**
 * One fixed replay batch of Pendulum transitions (sampling cost is excluded from the DDPG
 * update cases for every contender). States are [cos θ, sin θ, θ̇] with θ ~ U(−π, π),
 * θ̇ ~ U(−8, 8); actions U(−2, 2); next states and rewards follow Pendulum-v1's dynamics
 * and cost; `done` is all zeros (Pendulum only truncates, it never terminates).
 */
export interface DdpgBatch {
  readonly batch: number;
  readonly obsDim: number;
  readonly actDim: number;
  /** [batch, obsDim] */
  readonly s: Float32Array;
  /** [batch, actDim] */
  readonly a: Float32Array;
  /** [batch, 1] */
  readonly r: Float32Array;
  /** [batch, obsDim] */
  readonly s2: Float32Array;
  /** [batch, 1], 1 for terminal transitions */
  readonly done: Float32Array;
}

export function ddpgBatch(batch: number): DdpgBatch {
  return memoize(`ddpg-batch:${batch}`, () => {
    const { obsDim, actDim, actionBound } = PENDULUM;
    const rng = rngFor(`ddpg batch ${batch}`);
    const s = new Float32Array(batch * obsDim);
    const a = new Float32Array(batch * actDim);
    const r = new Float32Array(batch);
    const s2 = new Float32Array(batch * obsDim);
    const done = new Float32Array(batch);
    const [gravity, mass, len, dt, maxSpeed] = [10, 1, 1, 0.05, 8];
    for (let i = 0; i < batch; i++) {
      const th = rng.uniform(-Math.PI, Math.PI);
      const thdot = rng.uniform(-maxSpeed, maxSpeed);
      const u = rng.uniform(-actionBound, actionBound);
      const cost = th * th + 0.1 * thdot * thdot + 0.001 * u * u;
      let newThdot =
        thdot + ((3 * gravity) / (2 * len)) * Math.sin(th) * dt + (3 / (mass * len * len)) * u * dt;
      newThdot = Math.min(maxSpeed, Math.max(-maxSpeed, newThdot));
      const newTh = th + newThdot * dt;
      s.set([Math.cos(th), Math.sin(th), thdot], i * obsDim);
      s2.set([Math.cos(newTh), Math.sin(newTh), newThdot], i * obsDim);
      a[i] = u;
      r[i] = -cost;
    }
    return { batch, obsDim, actDim, s, a, r, s2, done };
  });
}

/** Seeded initial parameters of a preset's actor and critics (targets start as copies). */
export function ddpgInitialParams(preset: DdpgPreset): { actor: ParamInit[]; critics: ParamInit[][] } {
  return memoize(`ddpg-init:${preset.name}`, () => ({
    actor: initParams(preset.actor, `ddpg ${preset.name}`),
    critics: preset.critics.map((c) => initParams(c, `ddpg ${preset.name}`)),
  }));
}
