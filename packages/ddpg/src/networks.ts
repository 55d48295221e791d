/**
 * The actor μθ(s) and critic Q(s, a) networks.
 * @module
 */

import type { Var } from '@chainrule/autograd';
import * as A from '@chainrule/autograd';
import { BatchNorm1d, LayerNorm, Linear, Module } from '@chainrule/nn';
import type { Rng } from '@chainrule/tensor';
import * as T from '@chainrule/tensor';

/** Options shared by both networks. */
export interface NetworkOptions {
  hidden: readonly number[];
  batchNorm: boolean;
  /** Actor only: LayerNorm after each hidden Linear (parameter-space noise needs it; Plappert et al. 2018). */
  layerNorm?: boolean;
  finalInit: number;
  rng: Rng;
  /**
   * Actor only: `'tanh'` (default) squashes into the action bounds; `'linear'` outputs
   * `offset + z` unbounded (the environment clips), a linear policy when `hidden` is empty.
   */
  output?: 'tanh' | 'linear';
  /** Actor only: whether the final layer has a bias (default true). */
  outputBias?: boolean;
}

/**
 * The deterministic policy: hidden layers Linear → (BatchNorm or LayerNorm, if asked) → ReLU, then a final
 * Linear drawn from U(±finalInit) and tanh, scaled to the action bounds:
 * a = low + (tanh(z) + 1)/2 · (high − low).
 *
 * With `output: 'linear'` the final layer has no tanh and no scale: a = (low + high)/2 + z,
 * unbounded (actions are clipped where they meet the environment). With no hidden layers
 * and `outputBias: false` that is the static state feedback u = Wx (plus the bounds' centre),
 * the function class of the LQR optimum u = −Kx; a tanh output would saturate where the
 * critic's gradient vanishes.
 */
export class Actor extends Module {
  readonly layers: Linear[] = [];
  readonly norms: (BatchNorm1d | LayerNorm)[] = [];
  readonly out: Linear;
  readonly output: 'tanh' | 'linear';
  private readonly scale: Var;
  private readonly offset: Var;

  constructor(
    readonly obsDim: number,
    readonly actDim: number,
    low: ArrayLike<number>,
    high: ArrayLike<number>,
    options: NetworkOptions,
  ) {
    super();
    let inDim = obsDim;
    // BatchNorm (the paper) takes precedence over LayerNorm (parameter noise) when both are asked for.
    const norm = options.batchNorm ? 'bn' : options.layerNorm ? 'ln' : undefined;
    options.hidden.forEach((h, i) => {
      // With a normalisation the ReLU comes after it, so the Linear stays linear.
      const act = norm ? 'linear' : 'relu';
      this.layers.push(
        this.registerModule(`fc${i + 1}`, new Linear(inDim, h, { rng: options.rng, activation: act })),
      );
      if (norm === 'bn') this.norms.push(this.registerModule(`bn${i + 1}`, new BatchNorm1d(h)));
      if (norm === 'ln') this.norms.push(this.registerModule(`ln${i + 1}`, new LayerNorm(h)));
      inDim = h;
    });
    this.output = options.output ?? 'tanh';
    this.out = this.registerModule(
      'out',
      new Linear(inDim, actDim, {
        rng: options.rng,
        init: { uniform: [-options.finalInit, options.finalInit] },
        activation: this.output === 'tanh' ? 'tanh' : 'linear',
        bias: options.outputBias ?? true,
      }),
    );
    const lo = Float32Array.from(low);
    const hi = Float32Array.from(high);
    this.scale = A.input(T.tensor(hi.map((h, i) => (h - lo[i]!) / 2)));
    this.offset = A.input(T.tensor(hi.map((h, i) => (h + lo[i]!) / 2)));
  }

  forward(s: Var): Var {
    let h = s;
    this.layers.forEach((l, i) => {
      h = l.forward(h);
      if (this.norms[i]) h = A.relu(this.norms[i]!.forward(h));
    });
    const z = this.out.forward(h);
    return this.output === 'tanh' ? A.add(A.mul(z, this.scale), this.offset) : A.add(z, this.offset);
  }
}

/**
 * The action-value function. The state passes through the hidden layers; the action joins
 * (by concatenation) the input of layer `actionLayer` (2 in the DDPG paper: after the
 * first, batch-normalised state layer; 1 in TD3: with the state). The output is linear.
 */
export class Critic extends Module {
  readonly layers: Linear[] = [];
  readonly norms: (BatchNorm1d | undefined)[] = [];
  readonly out: Linear;

  constructor(
    readonly obsDim: number,
    readonly actDim: number,
    readonly actionLayer: number,
    options: NetworkOptions,
  ) {
    super();
    let inDim = obsDim;
    options.hidden.forEach((h, i) => {
      const layer = i + 1;
      if (layer === actionLayer) inDim += actDim;
      // BatchNorm only on the state path, before the action joins (the paper).
      const bn = options.batchNorm && layer < actionLayer;
      this.layers.push(
        this.registerModule(
          `fc${layer}`,
          new Linear(inDim, h, { rng: options.rng, activation: bn ? 'linear' : 'relu' }),
        ),
      );
      this.norms.push(bn ? this.registerModule(`bn${layer}`, new BatchNorm1d(h)) : undefined);
      inDim = h;
    });
    this.out = this.registerModule(
      'out',
      new Linear(inDim, 1, { rng: options.rng, init: { uniform: [-options.finalInit, options.finalInit] } }),
    );
  }

  forward(s: Var, a: Var): Var {
    let h = s;
    this.layers.forEach((l, i) => {
      if (i + 1 === this.actionLayer) h = A.concat([h, a], 1);
      h = l.forward(h);
      const bn = this.norms[i];
      if (bn) h = A.relu(bn.forward(h));
    });
    return this.out.forward(h);
  }
}
