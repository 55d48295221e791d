/**
 * The DDPG / TD3 networks and update step written in idiomatic TensorFlow.js (core ops
 * API with `tf.variable`, `tf.fused.matMul` as `tf.layers.dense` uses it, `tf.moments` +
 * `tf.batchNorm` as `tf.layers.batchNormalization` uses it in training mode, and
 * `optimizer.minimize` over an explicit variable list), following the shared specs.
 *
 * @module
 */

import * as tf from '@tensorflow/tfjs';
import type { DdpgBatch } from '../inputs.ts';
import type { AdamSpec, DdpgPreset, MlpSpec, ParamInit } from '../specs.ts';

interface TfLayer {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly gamma?: tf.Variable;
  readonly beta?: tf.Variable;
}

/** A variable holding a copy of `data` (the temporary tensor is disposed). */
export function variableFrom(data: Float32Array, shape: readonly number[], trainable = true): tf.Variable {
  const t = tf.tensor(data.slice(), [...shape], 'float32');
  const v = tf.variable(t, trainable);
  t.dispose();
  return v;
}

/** An MLP (actor or critic) with its parameters held in tfjs variables. */
export class TfMlp {
  readonly layers: readonly TfLayer[];

  constructor(
    readonly spec: MlpSpec,
    init: readonly ParamInit[],
    trainable = true,
  ) {
    const byName = new Map(init.map((p) => [p.name, p]));
    const get = (name: string): ParamInit => {
      const p = byName.get(name);
      if (!p) throw new Error(`TfMlp: missing initial value for ${name}`);
      return p;
    };
    this.layers = spec.layers.map((l, i) => {
      const prefix = `${spec.name}.l${i}`;
      const w = get(`${prefix}.w`);
      const b = get(`${prefix}.b`);
      const layer: TfLayer = {
        w: variableFrom(w.data, w.shape, trainable),
        b: variableFrom(b.data, b.shape, trainable),
      };
      if (!l.batchNorm) return layer;
      const gamma = get(`${prefix}.gamma`);
      const beta = get(`${prefix}.beta`);
      return {
        ...layer,
        gamma: variableFrom(gamma.data, gamma.shape, trainable),
        beta: variableFrom(beta.data, beta.shape, trainable),
      };
    });
  }

  /**
   * Forward pass; batch-norm layers always use the statistics of this batch (training
   * mode, biased variance). `action` is required for critics.
   */
  apply(obs: tf.Tensor2D, action: tf.Tensor2D | undefined, bnEpsilon: number): tf.Tensor2D {
    let h: tf.Tensor2D = obs;
    this.spec.layers.forEach((l, i) => {
      if (this.spec.actionInputLayer === i) {
        if (!action) throw new Error(`${this.spec.name}: an action input is required`);
        h = tf.concat([h, action], 1);
      }
      const p = this.layers[i]!;
      if (!l.batchNorm && l.activation !== 'tanh') {
        h = tf.fused.matMul({ a: h, b: p.w, bias: p.b, activation: l.activation }) as tf.Tensor2D;
        return;
      }
      let z = tf.fused.matMul({ a: h, b: p.w, bias: p.b }) as tf.Tensor2D;
      if (l.batchNorm) {
        const { mean, variance } = tf.moments(z, 0);
        z = tf.batchNorm(z, mean, variance, p.beta!, p.gamma!, bnEpsilon) as tf.Tensor2D;
      }
      h = l.activation === 'relu' ? tf.relu(z) : l.activation === 'tanh' ? tf.tanh(z) : z;
    });
    return this.spec.outputScale === undefined ? h : tf.mul(h, this.spec.outputScale);
  }

  /** All variables, layer by layer in `w, b, gamma, beta` order. */
  variables(): tf.Variable[] {
    return this.layers.flatMap((l) => [l.w, l.b, ...(l.gamma ? [l.gamma] : []), ...(l.beta ? [l.beta] : [])]);
  }

  /** The dense weight matrices (what L2 weight decay applies to). */
  weights(): tf.Variable[] {
    return this.layers.map((l) => l.w);
  }

  dispose(): void {
    tf.dispose(this.variables());
  }
}

/** `tf.train.adam` with the spec's hyper-parameters. */
export const tfAdam = (s: AdamSpec): tf.AdamOptimizer => tf.train.adam(s.lr, s.beta1, s.beta2, s.epsilon);

/**
 * A DDPG (or TD3) learner on one fixed batch. {@link TfDdpg.cycle} is one benchmark
 * iteration: `policyDelay` critic updates, one actor update, one soft target update.
 */
export class TfDdpg {
  readonly actor: TfMlp;
  readonly actorTarget: TfMlp;
  readonly critics: readonly TfMlp[];
  readonly criticTargets: readonly TfMlp[];
  private readonly actorOpt: tf.AdamOptimizer;
  private readonly criticOpt: tf.AdamOptimizer;
  private readonly actorVars: tf.Variable[];
  private readonly criticVars: tf.Variable[];
  private readonly criticWeights: tf.Variable[];
  private readonly s: tf.Tensor2D;
  private readonly a: tf.Tensor2D;
  private readonly r: tf.Tensor2D;
  private readonly s2: tf.Tensor2D;
  private readonly done: tf.Tensor2D;
  private noiseSeed = 1;
  /** Critic loss of the last critic update (read back every update). */
  lastCriticLoss = Number.NaN;

  constructor(
    readonly preset: DdpgPreset,
    init: { actor: readonly ParamInit[]; critics: readonly (readonly ParamInit[])[] },
    batch: DdpgBatch,
  ) {
    this.actor = new TfMlp(preset.actor, init.actor);
    this.actorTarget = new TfMlp(preset.actor, init.actor, false);
    this.critics = preset.critics.map((c, i) => new TfMlp(c, init.critics[i]!));
    this.criticTargets = preset.critics.map((c, i) => new TfMlp(c, init.critics[i]!, false));
    this.actorOpt = tfAdam(preset.actorAdam);
    this.criticOpt = tfAdam(preset.criticAdam);
    this.actorVars = this.actor.variables();
    this.criticVars = this.critics.flatMap((c) => c.variables());
    this.criticWeights = this.critics.flatMap((c) => c.weights());
    const B = batch.batch;
    this.s = tf.tensor2d(batch.s.slice(), [B, batch.obsDim]);
    this.a = tf.tensor2d(batch.a.slice(), [B, batch.actDim]);
    this.r = tf.tensor2d(batch.r.slice(), [B, 1]);
    this.s2 = tf.tensor2d(batch.s2.slice(), [B, batch.obsDim]);
    this.done = tf.tensor2d(batch.done.slice(), [B, 1]);
  }

  /** y = r + γ (1 − done) Q′(s′, ã′), with ã′ = μ′(s′) (+ clipped noise for TD3), min over twin targets. */
  private targetQ(): tf.Tensor2D {
    const { gamma, bnEpsilon: eps, targetPolicyNoise: noise, actionBound } = this.preset;
    let a2 = this.actorTarget.apply(this.s2, undefined, eps);
    if (noise) {
      const n = tf.randomNormal(a2.shape, 0, noise.std, 'float32', this.noiseSeed++);
      const smoothed = tf.add(a2, tf.clipByValue(n, -noise.clip, noise.clip));
      a2 = tf.clipByValue(smoothed, -actionBound, actionBound) as tf.Tensor2D;
    }
    const qs = this.criticTargets.map((c) => c.apply(this.s2, a2, eps));
    const q2 = qs.reduce((m, q) => tf.minimum(m, q));
    return tf.add(this.r, tf.mul(tf.mul(tf.sub(1, this.done), gamma), q2));
  }

  /** One critic update: MSE to the target (summed over twin critics) + L2 weight decay. */
  criticStep(): void {
    const { bnEpsilon: eps, criticWeightDecay: wd } = this.preset;
    const loss = tf.tidy(() => {
      const y = this.targetQ();
      return this.criticOpt.minimize(
        () => {
          let l = tf.addN(
            this.critics.map((c) => tf.mean(tf.squaredDifference(c.apply(this.s, this.a, eps), y))),
          );
          if (wd > 0)
            l = tf.add(l, tf.mul(0.5 * wd, tf.addN(this.criticWeights.map((w) => tf.sum(tf.square(w))))));
          return l as tf.Scalar;
        },
        true,
        this.criticVars,
      )!;
    });
    this.lastCriticLoss = loss.dataSync()[0]!;
    loss.dispose();
  }

  /** One actor update: minimise −mean Q₁(s, μ(s)) over the actor's variables only. */
  actorStep(): void {
    const eps = this.preset.bnEpsilon;
    tf.tidy(() => {
      this.actorOpt.minimize(
        () =>
          tf.neg(
            tf.mean(this.critics[0]!.apply(this.s, this.actor.apply(this.s, undefined, eps), eps)),
          ) as tf.Scalar,
        false,
        this.actorVars,
      );
    });
  }

  /** θ′ ← τ θ + (1 − τ) θ′ for every target network. */
  softUpdate(): void {
    const tau = this.preset.tau;
    tf.tidy(() => {
      const pairs: [TfMlp, TfMlp][] = [
        [this.actor, this.actorTarget],
        ...this.critics.map((c, i): [TfMlp, TfMlp] => [c, this.criticTargets[i]!]),
      ];
      for (const [online, target] of pairs) {
        const src = online.variables();
        target.variables().forEach((t, i) => {
          t.assign(tf.add(tf.mul(src[i]!, tau), tf.mul(t, 1 - tau)));
        });
      }
    });
  }

  /** One benchmark iteration (see the class comment). */
  cycle(): void {
    for (let k = 0; k < this.preset.policyDelay; k++) this.criticStep();
    this.actorStep();
    this.softUpdate();
  }

  dispose(): void {
    for (const net of [this.actor, this.actorTarget, ...this.critics, ...this.criticTargets]) net.dispose();
    this.actorOpt.dispose();
    this.criticOpt.dispose();
    tf.dispose([this.s, this.a, this.r, this.s2, this.done]);
  }
}
