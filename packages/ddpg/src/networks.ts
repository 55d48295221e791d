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
}

/**
 * The deterministic policy: hidden layers Linear → (BatchNorm or LayerNorm, if asked) → ReLU, then a final
 * Linear drawn from U(±finalInit) and tanh, scaled to the action bounds:
 * a = low + (tanh(z) + 1)/2 · (high − low).
 */
export class Actor extends Module {
  readonly layers: Linear[] = [];
  readonly norms: (BatchNorm1d | LayerNorm)[] = [];
  readonly out: Linear;
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
    this.out = this.registerModule(
      'out',
      new Linear(inDim, actDim, {
        rng: options.rng,
        init: { uniform: [-options.finalInit, options.finalInit] },
        activation: 'tanh',
      }),
    );
    const lo = Float32Array.from(low);
    const hi = Float32Array.from(high);
    this.scale = A.variable(T.tensor(hi.map((h, i) => (h - lo[i]!) / 2)));
    this.offset = A.variable(T.tensor(hi.map((h, i) => (h + lo[i]!) / 2)));
  }

  forward(s: Var): Var {
    let h = s;
    this.layers.forEach((l, i) => {
      h = l.forward(h);
      if (this.norms[i]) h = A.relu(this.norms[i]!.forward(h));
    });
    return A.add(A.mul(this.out.forward(h), this.scale), this.offset);
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
