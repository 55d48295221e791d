/**
 * Layers: Linear, BatchNorm1d, LayerNorm, activations and Sequential.
 * @module
 */
import * as A from '@chainrule/autograd';
import { noGrad, param, type Var } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { ChainruleError, type DType, fmtShape, type Rng } from '@chainrule/tensor';
import { type Init, initTensor } from './init.ts';
import { Module } from './module.ts';

/** Activations a layer can fuse into its forward: the kernel contract's one `Activation` type. */
export type Activation = T.Activation;

/** Options for {@link Linear}. */
export interface LinearOptions {
  /** Add a bias (default true). */
  bias?: boolean;
  /** Weight initialiser (default `fanIn`, U(±1/√in)). */
  init?: Init;
  /** Bias initialiser (default: the same as `init`, except `zeros` for `he`/`glorot`). */
  biasInit?: Init;
  /** The seeded generator for initialisation. Required unless both inits are `zeros`. */
  rng?: Rng;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** An activation fused into the forward (default `linear`). */
  activation?: Activation;
}

/**
 * A fully connected layer y = act(x W + b).
 *
 * **Weight layout:** `weight` has shape `[in, out]`, so the forward is `x @ W` with no
 * transpose. PyTorch's `nn.Linear.weight` is `[out, in]` (y = x Wᵀ + b): our `weight` is
 * the transpose of PyTorch's, and `bias` is the same.
 */
export class Linear extends Module {
  /** `[in, out]` */
  readonly weight: Var;
  /** `[out]`, or undefined without bias. */
  readonly bias: Var | undefined;
  /** The fused activation. */
  readonly activation: Activation;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    for (const [k, v] of [
      ['in', inFeatures],
      ['out', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1)
        throw new ChainruleError('Linear', `${k} must be a positive integer, got ${v}`);
    }
    const init = options.init ?? 'fanIn';
    const biasInit = options.biasInit ?? (init === 'he' || init === 'glorot' ? 'zeros' : init);
    const needsRng = init !== 'zeros' || (options.bias !== false && biasInit !== 'zeros');
    if (needsRng && !options.rng) {
      throw new ChainruleError('Linear', 'an rng (a seeded Rng) is required to initialise the weights');
    }
    const rng = options.rng!;
    const dtype = options.dtype ?? 'float32';
    this.activation = options.activation ?? 'linear';
    this.weight = this.registerParameter(
      'weight',
      param(initTensor(init, [inFeatures, outFeatures], inFeatures, outFeatures, rng, dtype)),
    );
    this.bias =
      options.bias === false
        ? undefined
        : this.registerParameter(
            'bias',
            param(initTensor(biasInit, [outFeatures], inFeatures, outFeatures, rng, dtype)),
          );
  }

  /** y = act(x W + b) for x of shape [batch, in]. */
  forward(x: Var): Var {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new ChainruleError(
        'Linear',
        `expected input [batch, ${this.inFeatures}], got ${fmtShape(x.shape)}`,
      );
    }
    return A.dense(x, this.weight, this.bias, this.activation);
  }
}

/** Options for {@link BatchNorm1d}. */
export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-statistics update rate (default 0.1, PyTorch's convention: new = (1−m)·old + m·batch). */
  momentum?: number;
  /** Learnable scale γ and shift β (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
  /** Dtype (default float32). */
  dtype?: DType;
}

/**
 * Batch normalisation over the batch dimension of [batch, features], with PyTorch's
 * semantics: training mode normalises with the batch mean and *biased* variance and
 * updates `runningMean` and `runningVar` (with the *unbiased* variance); eval mode uses the
 * running statistics. The gradient flows through the batch statistics.
 */
export class BatchNorm1d extends Module {
  /** γ, `[features]` (ones). */
  readonly weight: Var | undefined;
  /** β, `[features]` (zeros). */
  readonly bias: Var | undefined;
  readonly eps: number;
  readonly momentum: number;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new ChainruleError('BatchNorm1d', `features must be a positive integer, got ${numFeatures}`);
    }
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    if (!(this.eps > 0)) throw new ChainruleError('BatchNorm1d', `eps must be > 0, got ${this.eps}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) {
      throw new ChainruleError('BatchNorm1d', `momentum must be in [0, 1], got ${this.momentum}`);
    }
    this.trackRunningStats = options.trackRunningStats ?? true;
    const dtype = options.dtype ?? 'float32';
    if (options.affine ?? true) {
      this.weight = this.registerParameter('weight', param(T.ones([numFeatures], { dtype })));
      this.bias = this.registerParameter('bias', param(T.zeros([numFeatures], { dtype })));
    }
    if (this.trackRunningStats) {
      this.registerBuffer('runningMean', T.zeros([numFeatures], { dtype }));
      this.registerBuffer('runningVar', T.ones([numFeatures], { dtype }));
    }
  }

  /** The running mean (eval-mode statistics). */
  get runningMean(): T.Tensor {
    return this.buffer('runningMean');
  }
  /** The running (unbiased) variance. */
  get runningVar(): T.Tensor {
    return this.buffer('runningVar');
  }

  forward(x: Var): Var {
    if (x.rank !== 2 || x.shape[1] !== this.numFeatures) {
      throw new ChainruleError(
        'BatchNorm1d',
        `expected input [batch, ${this.numFeatures}], got ${fmtShape(x.shape)}`,
      );
    }
    const n = x.shape[0]!;
    const useBatchStats = this.training || !this.trackRunningStats;
    if (useBatchStats) {
      if (n < 2) {
        throw new ChainruleError(
          'BatchNorm1d',
          `training mode needs more than one sample per batch to compute statistics, got input ${fmtShape(x.shape)}`,
        );
      }
      // One fused kernel (forward and first-order backward) instead of ~15 small ones.
      const gamma = this.weight ?? A.constant(this.identityAffine(x.dtype).ones);
      const beta = this.bias ?? A.constant(this.identityAffine(x.dtype).zeros);
      const bn = A.batchNormTrain(x, gamma, beta, this.eps);
      if (this.training && this.trackRunningStats) {
        noGrad(() => {
          const m = this.momentum;
          // In place (the buffers are variables); the temporaries go at once, so this
          // does not depend on the caller's tidy scope. bn.mean and bn.var are this call's.
          // (1 − m)·old + m·batch is lerp(old, batch, m): one kernel each instead of three.
          T.tidy(() => {
            const bv = T.mul(bn.var, n / (n - 1));
            this.setBuffer('runningMean', T.lerp(this.runningMean, bn.mean, m));
            this.setBuffer('runningVar', T.lerp(this.runningVar, bv, m));
          });
        });
      }
      bn.mean.dispose();
      bn.var.dispose();
      return bn.y;
    } else {
      const rm = A.constant(this.runningMean);
      const rstd = A.constant(T.reciprocal(T.sqrt(T.add(this.runningVar, this.eps))));
      const xhat = A.mul(A.sub(x, rm), rstd);
      return this.weight && this.bias ? A.add(A.mul(xhat, this.weight), this.bias) : xhat;
    }
  }

  private affineless: { ones: T.Tensor; zeros: T.Tensor } | undefined;
  /** γ = 1 and β = 0 for a layer without affine parameters: made once, outside any tidy scope. */
  private identityAffine(dtype: DType): { ones: T.Tensor; zeros: T.Tensor } {
    if (this.affineless?.ones.dtype !== dtype) {
      const c = [this.numFeatures];
      this.affineless = { ones: T.keep(T.ones(c, { dtype })), zeros: T.keep(T.zeros(c, { dtype })) };
    }
    return this.affineless;
  }
}

/** Options for {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learnable γ and β (default true). */
  elementwiseAffine?: boolean;
  /** Dtype (default float32). */
  dtype?: DType;
}

/** Layer normalisation over the last dimension (biased variance), as in PyTorch. */
export class LayerNorm extends Module {
  readonly weight: Var | undefined;
  readonly bias: Var | undefined;
  readonly eps: number;

  constructor(
    readonly normalizedShape: number,
    options: LayerNormOptions = {},
  ) {
    super();
    if (!Number.isInteger(normalizedShape) || normalizedShape < 1) {
      throw new ChainruleError(
        'LayerNorm',
        `normalized size must be a positive integer, got ${normalizedShape}`,
      );
    }
    this.eps = options.eps ?? 1e-5;
    const dtype = options.dtype ?? 'float32';
    if (options.elementwiseAffine ?? true) {
      this.weight = this.registerParameter('weight', param(T.ones([normalizedShape], { dtype })));
      this.bias = this.registerParameter('bias', param(T.zeros([normalizedShape], { dtype })));
    }
  }

  forward(x: Var): Var {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.normalizedShape) {
      throw new ChainruleError(
        'LayerNorm',
        `expected the last dimension to be ${this.normalizedShape}, got ${fmtShape(x.shape)}`,
      );
    }
    const mean = A.mean(x, -1, true);
    const centered = A.sub(x, mean);
    const v = A.mean(A.square(centered), -1, true);
    const xhat = A.mul(centered, A.reciprocal(A.sqrt(A.add(v, this.eps))));
    return this.weight && this.bias ? A.add(A.mul(xhat, this.weight), this.bias) : xhat;
  }
}

/** ReLU as a module. */
export class ReLU extends Module {
  forward(x: Var): Var {
    return A.relu(x);
  }
}
/** Tanh as a module. */
export class Tanh extends Module {
  forward(x: Var): Var {
    return A.tanh(x);
  }
}
/** Sigmoid as a module. */
export class Sigmoid extends Module {
  forward(x: Var): Var {
    return A.sigmoid(x);
  }
}
/** LeakyReLU as a module: max(x, slope·x). */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (!(negativeSlope >= 0 && negativeSlope < 1)) {
      throw new ChainruleError('LeakyReLU', `negativeSlope must be in [0, 1), got ${negativeSlope}`);
    }
  }
  forward(x: Var): Var {
    return A.leakyRelu(x, this.negativeSlope);
  }
}

/** Modules applied in order; children are named `0`, `1`, ... as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => {
      this.registerModule(String(i), m);
    });
  }
  forward(x: Var): Var {
    return this.layers.reduce((h, m) => m.forward(h), x);
  }
}

/** The activation functions, for use without modules. */
export const relu = A.relu;
/** Tanh. */
export const tanh = A.tanh;
/** Sigmoid. */
export const sigmoid = A.sigmoid;
/** LeakyReLU. */
export const leakyRelu = A.leakyRelu;
