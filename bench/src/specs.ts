/**
 * The shared definition of the networks, optimisers and DDPG presets that the benchmark
 * cases use. Every contender (tfjs, chainrule, ...) builds its models from these specs
 * and from the seeded initial parameters of {@link initParams}, so that all contenders do
 * the same math on the same numbers.
 *
 * Layout conventions (identical for every contender's `output()`):
 * - a dense layer's weight `w` is `[in, out]`, row-major, and the layer computes `x · w + b`;
 * - parameters are listed per layer in the order `w, b, gamma, beta` (`gamma`/`beta` only
 *   for layers with batch norm), layers in order.
 *
 * @module
 */

import { Rng } from '@chainrule/tensor';

/** One dense layer of an MLP: `act(bn?(x · w + b))`. */
export interface LayerSpec {
  /** Input features (for the action-input layer of a critic this includes the action). */
  readonly in: number;
  readonly out: number;
  /** Training-mode batch norm between the affine map and the activation. */
  readonly batchNorm: boolean;
  readonly activation: 'relu' | 'tanh' | 'linear';
  /** `w` and `b` are initialised from U(-initBound, initBound). */
  readonly initBound: number;
}

/** A multi-layer perceptron: an actor `μ(s)` or a critic `Q(s, a)`. */
export interface MlpSpec {
  readonly name: string;
  readonly layers: readonly LayerSpec[];
  /**
   * For critics: index of the layer whose input is `concat([h, a], axis 1)` (h = the
   * previous layer's output, or the observation for layer 0). `undefined` for actors.
   */
  readonly actionInputLayer?: number;
  /** Multiply the last layer's output by this (the action bound of a tanh actor). */
  readonly outputScale?: number;
}

/** Adam hyper-parameters (Kingma & Ba 2015 defaults; `epsilon` outside the bias correction). */
export interface AdamSpec {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** One DDPG-family update preset. */
export interface DdpgPreset {
  readonly name: 'paper' | 'tuned' | 'td3';
  readonly batch: number;
  readonly obsDim: number;
  readonly actDim: number;
  readonly actionBound: number;
  readonly actor: MlpSpec;
  /** One critic, or two (twin critics, clipped double-Q) for TD3. */
  readonly critics: readonly MlpSpec[];
  readonly actorAdam: AdamSpec;
  readonly criticAdam: AdamSpec;
  /**
   * L2 weight decay added to the critic loss as `criticWeightDecay * 0.5 * Σ w²` over the
   * dense weight matrices only (no biases, no batch-norm gamma/beta), as the TF1 DDPG
   * implementations do with `tf.nn.l2_loss`.
   */
  readonly criticWeightDecay: number;
  readonly gamma: number;
  readonly tau: number;
  readonly bnEpsilon: number;
  /** TD3 target-policy smoothing: noise N(0, policyNoise²) clipped to ±noiseClip. */
  readonly targetPolicyNoise?: { readonly std: number; readonly clip: number };
  /**
   * Critic updates per actor update (TD3's delayed policy update). One benchmark
   * iteration is one full cycle: `policyDelay` critic updates, one actor update, one
   * soft update of all target networks.
   */
  readonly policyDelay: number;
}

/** Pendulum-v1 dimensions. */
export const PENDULUM = { obsDim: 3, actDim: 1, actionBound: 2 } as const;

/** Batch-norm epsilon used by every batch-norm layer and case. */
export const BN_EPSILON = 1e-5;

const fanIn = (n: number): number => 1 / Math.sqrt(n);

/**
 * The paper critic (Lillicrap et al. 2016): fc1 obs→400, BN, relu; fc2 takes
 * [h1 (400), action (1)] → 300, relu; out 300→1. Hidden layers U(±1/√fan_in), output U(±3e-3).
 */
export const PAPER_CRITIC: MlpSpec = {
  name: 'critic',
  layers: [
    { in: PENDULUM.obsDim, out: 400, batchNorm: true, activation: 'relu', initBound: fanIn(PENDULUM.obsDim) },
    { in: 400 + PENDULUM.actDim, out: 300, batchNorm: false, activation: 'relu', initBound: fanIn(400) },
    { in: 300, out: 1, batchNorm: false, activation: 'linear', initBound: 3e-3 },
  ],
  actionInputLayer: 1,
};

/** The paper actor: obs→400 (BN, relu)→300 (BN, relu)→1 tanh, scaled by the action bound 2. */
export const PAPER_ACTOR: MlpSpec = {
  name: 'actor',
  layers: [
    { in: PENDULUM.obsDim, out: 400, batchNorm: true, activation: 'relu', initBound: fanIn(PENDULUM.obsDim) },
    { in: 400, out: 300, batchNorm: true, activation: 'relu', initBound: fanIn(400) },
    { in: 300, out: PENDULUM.actDim, batchNorm: false, activation: 'tanh', initBound: 3e-3 },
  ],
  outputScale: PENDULUM.actionBound,
};

/** TD3 (Fujimoto et al. 2018) actor: 256/256 relu, tanh output × action bound, no BN. */
export const TD3_ACTOR: MlpSpec = {
  name: 'actor',
  layers: [
    {
      in: PENDULUM.obsDim,
      out: 256,
      batchNorm: false,
      activation: 'relu',
      initBound: fanIn(PENDULUM.obsDim),
    },
    { in: 256, out: 256, batchNorm: false, activation: 'relu', initBound: fanIn(256) },
    { in: 256, out: PENDULUM.actDim, batchNorm: false, activation: 'tanh', initBound: fanIn(256) },
  ],
  outputScale: PENDULUM.actionBound,
};

/** A TD3 critic: concat(s, a) → 256 relu → 256 relu → 1. */
export function td3Critic(name: string): MlpSpec {
  const inDim = PENDULUM.obsDim + PENDULUM.actDim;
  return {
    name,
    layers: [
      { in: inDim, out: 256, batchNorm: false, activation: 'relu', initBound: fanIn(inDim) },
      { in: 256, out: 256, batchNorm: false, activation: 'relu', initBound: fanIn(256) },
      { in: 256, out: 1, batchNorm: false, activation: 'linear', initBound: fanIn(256) },
    ],
    actionInputLayer: 0,
  };
}

const adam = (lr: number): AdamSpec => ({ lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });

/** DDPG as in the paper, on Pendulum, batch 64. */
export const PAPER_PRESET: DdpgPreset = {
  name: 'paper',
  batch: 64,
  ...PENDULUM,
  actor: PAPER_ACTOR,
  critics: [PAPER_CRITIC],
  actorAdam: adam(1e-4),
  criticAdam: adam(1e-3),
  criticWeightDecay: 1e-2,
  gamma: 0.99,
  tau: 1e-3,
  bnEpsilon: BN_EPSILON,
  policyDelay: 1,
};

/**
 * chainrule's `tuned` preset (the `pnpm train` default): DDPG with TD3's re-tuned settings
 * (Fujimoto et al. 2018's "our DDPG"): one critic, no BN, 256/256, the action joining the
 * critic's input, Adam 1e-3 for both, no L2, τ 5e-3, batch 256.
 */
export const TUNED_PRESET: DdpgPreset = {
  name: 'tuned',
  batch: 256,
  ...PENDULUM,
  actor: TD3_ACTOR,
  critics: [td3Critic('critic')],
  actorAdam: adam(1e-3),
  criticAdam: adam(1e-3),
  criticWeightDecay: 0,
  gamma: 0.99,
  tau: 5e-3,
  bnEpsilon: BN_EPSILON,
  policyDelay: 1,
};

/** The TD3 preset (twin critics, target smoothing, delayed actor), batch 256. */
export const TD3_PRESET: DdpgPreset = {
  name: 'td3',
  batch: 256,
  ...PENDULUM,
  actor: TD3_ACTOR,
  critics: [td3Critic('critic1'), td3Critic('critic2')],
  actorAdam: adam(1e-3),
  criticAdam: adam(1e-3),
  criticWeightDecay: 0,
  gamma: 0.99,
  tau: 5e-3,
  bnEpsilon: BN_EPSILON,
  targetPolicyNoise: { std: 0.2, clip: 0.5 },
  policyDelay: 2,
};

/** The Adam case optimises the paper critic's parameters with this optimiser. */
export const ADAM_CASE_SPEC: AdamSpec = adam(1e-3);

/** One named parameter with its seeded initial value. */
export interface ParamInit {
  /** `${net}.l${layer}.${w|b|gamma|beta}` */
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** True for dense weight matrices (the tensors that L2 weight decay applies to). */
  readonly isWeight: boolean;
}

/** 32-bit FNV-1a hash of a string: stable seeds derived from names. */
export function seedFor(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A {@link Rng} seeded from a name, so every input set is independent and reproducible. */
export function rngFor(key: string): Rng {
  return new Rng(seedFor(key));
}

/** Number of parameters of an MLP (weights, biases and batch-norm affine parameters). */
export function paramCount(spec: MlpSpec): number {
  let n = 0;
  for (const l of spec.layers) n += l.in * l.out + l.out + (l.batchNorm ? 2 * l.out : 0);
  return n;
}

/**
 * Seeded initial parameters of an MLP. `seedKey` distinguishes otherwise identical
 * networks (e.g. the two TD3 critics). Target networks start as copies of these.
 */
export function initParams(spec: MlpSpec, seedKey: string): ParamInit[] {
  const rng = rngFor(`init:${seedKey}:${spec.name}`);
  const out: ParamInit[] = [];
  spec.layers.forEach((l, i) => {
    const prefix = `${spec.name}.l${i}`;
    const w = new Float32Array(l.in * l.out);
    const b = new Float32Array(l.out);
    rng.fillUniform(w, -l.initBound, l.initBound);
    rng.fillUniform(b, -l.initBound, l.initBound);
    out.push({ name: `${prefix}.w`, shape: [l.in, l.out], data: w, isWeight: true });
    out.push({ name: `${prefix}.b`, shape: [l.out], data: b, isWeight: false });
    if (l.batchNorm) {
      out.push({
        name: `${prefix}.gamma`,
        shape: [l.out],
        data: new Float32Array(l.out).fill(1),
        isWeight: false,
      });
      out.push({ name: `${prefix}.beta`, shape: [l.out], data: new Float32Array(l.out), isWeight: false });
    }
  });
  return out;
}
