/**
 * Optimisers (Adam, AdamW, SGD), gradient clipping and target-network updates.
 *
 * Every update writes through `assign()`: parameter values and optimiser state are tensor
 * variables, so their objects never change and no `tidy` scope needs to be told about them.
 * Each update runs in its own small `tidy`, so it leaves no temporaries behind even when
 * the caller has no scope.
 * @module
 */
import type { Var } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { ChainruleError, fmtShape, shapesEqual, type Tensor } from '@chainrule/tensor';
import type { Module } from './module.ts';

/** Saved optimiser state: hyperparameters, the step counts and per-parameter tensors. */
export interface OptimizerState {
  /** `adam` or `sgd`. */
  kind: string;
  /** Calls to `step()`. */
  step: number;
  /**
   * Adam: the bias-correction step of each parameter (the updates it received, PyTorch's
   * `state['step']`). Absent in checkpoints written before it existed: loading one gives
   * every parameter the global `step`, which is what those optimisers used.
   */
  steps?: number[];
  /** Hyperparameters, for checking on load. */
  hyper: Record<string, number | boolean>;
  /** Per-parameter state, keyed `${index}.${slot}` (for example `0.m`). */
  tensors: Record<string, Tensor>;
}

/** The base class: a list of parameters and `step()` reading their `.grad`. */
export abstract class Optimizer {
  /** Steps taken so far. */
  stepCount = 0;
  /** Makes each parameter's value a variable (`param()` and modules already do), so `step()` can assign it. */
  constructor(readonly params: readonly Var[]) {
    if (params.length === 0) throw new ChainruleError(this.constructor.name, 'got an empty parameter list');
    for (const p of params) T.keep(p.value);
  }
  /** Apply one update from the current `.grad` of each parameter (parameters without a grad are skipped). */
  abstract step(): void;
  /** Clear `.grad` on every parameter. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
  /** A snapshot of the state, for checkpoints. */
  abstract stateDict(): OptimizerState;
  /** Release the optimiser's state (moments, momentum); the parameters stay. Stepping afterwards is an error. */
  abstract dispose(): void;
  /** Restore a snapshot; mismatched kinds, shapes or keys are a clear error. */
  abstract loadStateDict(state: OptimizerState): void;

  protected checkState(state: OptimizerState, kind: string, slots: string[]): void {
    if (state.kind !== kind)
      throw new ChainruleError(`${kind}.loadStateDict`, `state is for "${state.kind}", expected "${kind}"`);
    const problems: string[] = [];
    this.params.forEach((p, i) => {
      for (const s of slots) {
        const t = state.tensors[`${i}.${s}`];
        if (t && (!shapesEqual(t.shape, p.shape) || t.dtype !== p.dtype)) {
          problems.push(
            `${i}.${s} is ${t.dtype} ${fmtShape(t.shape)}, parameter is ${p.dtype} ${fmtShape(p.shape)}`,
          );
        }
      }
    });
    for (const k of Object.keys(state.tensors)) {
      const m = /^(0|[1-9]\d*)\.([^.]+)$/.exec(k); // `${index}.${slot}`
      if (!m || Number(m[1]) >= this.params.length || !slots.includes(m[2]!))
        problems.push(`unexpected key ${k}`);
    }
    if (problems.length) throw new ChainruleError(`${kind}.loadStateDict`, problems.join('; '));
  }
}

function checkFinite(op: string, name: string, v: number, min = 0): void {
  if (!Number.isFinite(v) || v < min)
    throw new ChainruleError(op, `${name} must be a finite number >= ${min}, got ${v}`);
}

/** Options for {@link Adam}. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** [β₁, β₂] (default [0.9, 0.999]). */
  betas?: [number, number];
  /** ε (default 1e-8). */
  eps?: number;
  /** Weight decay (default 0): L2 added to the gradient, as in PyTorch's Adam. */
  weightDecay?: number;
  /** Decoupled weight decay (AdamW, Loshchilov & Hutter 2019) instead of L2. */
  decoupledWeightDecay?: boolean;
  /** AMSGrad (default false). */
  amsgrad?: boolean;
}

/**
 * Adam (Kingma & Ba 2015, Algorithm 1), bias-corrected. `weightDecay` adds λθ to the
 * gradient (PyTorch's Adam; the DDPG paper's critic uses 1e-2), or with
 * `decoupledWeightDecay` multiplies θ by (1 − lr·λ) first (AdamW). Runs the fused
 * `adamUpdate` kernel per parameter.
 */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decoupled: boolean;
  readonly amsgrad: boolean;
  private m: Tensor[];
  private v: Tensor[];
  private vmax: Tensor[];
  /**
   * Updates each parameter has received. Bias correction uses a parameter's own count, as
   * PyTorch's `state['step']` does: a parameter skipped (no gradient) on some steps would
   * otherwise be corrected as if its moments had seen every step.
   */
  private steps: number[];

  constructor(params: readonly Var[], options: AdamOptions = {}) {
    super(params);
    this.lr = options.lr ?? 1e-3;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = options.decoupledWeightDecay ?? false;
    this.amsgrad = options.amsgrad ?? false;
    checkFinite('Adam', 'lr', this.lr);
    checkFinite('Adam', 'eps', this.eps);
    checkFinite('Adam', 'weightDecay', this.weightDecay);
    for (const b of [this.beta1, this.beta2]) {
      if (!(b >= 0 && b < 1))
        throw new ChainruleError('Adam', `betas must be in [0, 1), got [${this.beta1}, ${this.beta2}]`);
    }
    const state = () => params.map((p) => T.keep(T.zeros(p.shape, { dtype: p.dtype })));
    this.m = state();
    this.v = state();
    this.vmax = this.amsgrad ? state() : [];
    this.steps = params.map(() => 0);
  }

  /** The bias-correction step of each parameter: how many updates it has received. */
  get parameterSteps(): readonly number[] {
    return this.steps;
  }

  step(): void {
    // The step counts are host state: hostStep repeats their increments when a captured
    // update is replayed (T.replayable), and the kernel reads `opts.step` when it runs.
    T.hostStep(() => {
      this.stepCount++;
    });
    const hyper = {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      decoupled: this.decoupled,
      amsgrad: this.amsgrad,
    };
    T.tidy(() => {
      this.params.forEach((p, i) => {
        if (!p.grad) return;
        const opts = { ...hyper, step: 0 };
        T.hostStep(() => {
          opts.step = ++this.steps[i]!;
        });
        const out = T.adamUpdate(
          p.value,
          p.grad,
          this.m[i]!,
          this.v[i]!,
          this.amsgrad ? this.vmax[i] : undefined,
          opts,
        );
        p.value.assign(out[0]!);
        this.m[i]!.assign(out[1]!);
        this.v[i]!.assign(out[2]!);
        if (this.amsgrad) this.vmax[i]!.assign(out[3]!);
      });
    });
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v, ...this.vmax]) t.dispose();
  }

  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    this.params.forEach((_, i) => {
      tensors[`${i}.m`] = T.clone(this.m[i]!);
      tensors[`${i}.v`] = T.clone(this.v[i]!);
      if (this.amsgrad) tensors[`${i}.vmax`] = T.clone(this.vmax[i]!);
    });
    return {
      kind: 'adam',
      step: this.stepCount,
      steps: [...this.steps],
      hyper: {
        lr: this.lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: this.weightDecay,
        decoupled: this.decoupled,
        amsgrad: this.amsgrad,
      },
      tensors,
    };
  }

  loadStateDict(state: OptimizerState): void {
    const slots = this.amsgrad ? ['m', 'v', 'vmax'] : ['m', 'v'];
    this.checkState(state, 'adam', slots);
    const missing = this.params.flatMap((_, i) =>
      slots.filter((s) => !state.tensors[`${i}.${s}`]).map((s) => `${i}.${s}`),
    );
    if (missing.length) throw new ChainruleError('adam.loadStateDict', `missing keys: ${missing.join(', ')}`);
    const steps = state.steps ?? this.params.map(() => state.step);
    if (
      steps.length !== this.params.length ||
      !steps.every((n) => Number.isInteger(n) && n >= 0) ||
      !Number.isInteger(state.step)
    ) {
      throw new ChainruleError(
        'adam.loadStateDict',
        `steps must be one non-negative integer per parameter (${this.params.length}), and step an integer; got steps ${JSON.stringify(state.steps)}, step ${state.step}`,
      );
    }
    this.stepCount = state.step;
    this.steps = [...steps];
    // Tensors are immutable, so the variables may share the loaded tensors' storage.
    this.params.forEach((_, i) => {
      this.m[i]!.assign(state.tensors[`${i}.m`]!);
      this.v[i]!.assign(state.tensors[`${i}.v`]!);
      if (this.amsgrad) this.vmax[i]!.assign(state.tensors[`${i}.vmax`]!);
    });
  }
}

/** Options for {@link SGD}. */
export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum (default 0). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** Nesterov momentum (default false; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 weight decay added to the gradient (default 0). */
  weightDecay?: number;
}

/** Stochastic gradient descent with PyTorch's momentum, dampening and Nesterov semantics. */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private buf: (Tensor | null)[];

  constructor(params: readonly Var[], options: SGDOptions) {
    super(params);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    checkFinite('SGD', 'lr', this.lr);
    checkFinite('SGD', 'momentum', this.momentum);
    checkFinite('SGD', 'weightDecay', this.weightDecay);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ChainruleError('SGD', 'nesterov needs momentum > 0 and dampening 0');
    }
    this.buf = params.map(() => null);
  }

  step(): void {
    this.stepCount++;
    T.tidy(() => {
      this.params.forEach((p, i) => {
        if (!p.grad) return;
        let g = p.grad;
        if (this.weightDecay !== 0) g = T.add(g, T.mul(p.value, this.weightDecay));
        if (this.momentum !== 0) {
          const prev = this.buf[i];
          const b = prev
            ? prev.assign(T.add(T.mul(prev, this.momentum), T.mul(g, 1 - this.dampening)))
            : T.keep(T.clone(g));
          this.buf[i] = b;
          g = this.nesterov ? T.add(g, T.mul(b, this.momentum)) : b;
        }
        p.value.assign(T.sub(p.value, T.mul(g, this.lr)));
      });
    });
  }

  dispose(): void {
    for (const b of this.buf) b?.dispose();
  }

  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    this.buf.forEach((b, i) => {
      if (b) tensors[`${i}.momentum`] = T.clone(b);
    });
    return {
      kind: 'sgd',
      step: this.stepCount,
      hyper: {
        lr: this.lr,
        momentum: this.momentum,
        dampening: this.dampening,
        nesterov: this.nesterov,
        weightDecay: this.weightDecay,
      },
      tensors,
    };
  }

  loadStateDict(state: OptimizerState): void {
    this.checkState(state, 'sgd', ['momentum']);
    this.stepCount = state.step;
    this.buf = this.params.map((_, i) => {
      const t = state.tensors[`${i}.momentum`];
      return t ? T.keep(T.clone(t)) : null;
    });
  }
}

/** Options for {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /**
   * Throw, naming the parameters whose gradients hold NaN or Infinity, when the total norm
   * is not finite (default false: scale by the non-finite factor, as PyTorch does).
   * PyTorch's `error_if_nonfinite`.
   */
  errorIfNonfinite?: boolean;
}

/**
 * Scale gradients so their global L2 norm is at most `maxNorm` (as PyTorch's
 * clip_grad_norm_). Returns the norm before clipping.
 *
 * A non-finite norm is PyTorch's answer too: a NaN norm scales every gradient by NaN, and
 * an infinite one by 0 (so the infinite entries become NaN). Skipping the scaling instead
 * would let an optimiser step on gradients that were never clipped. With
 * `errorIfNonfinite` it throws instead.
 */
export function clipGradNorm(
  params: readonly Var[],
  maxNorm: number,
  options: ClipGradNormOptions = {},
): number {
  if (!(maxNorm > 0)) throw new ChainruleError('clipGradNorm', `maxNorm must be > 0, got ${maxNorm}`);
  let sq = 0;
  const nonfinite: string[] = [];
  params.forEach((p, i) => {
    if (!p.grad) return;
    const d = p.grad.dataSync();
    let bad = -1;
    for (let j = 0; j < d.length; j++) {
      sq += d[j]! * d[j]!;
      if (bad < 0 && !Number.isFinite(d[j]!)) bad = j;
    }
    if (bad >= 0) {
      const name = p.name === undefined ? '' : ` "${p.name}"`;
      nonfinite.push(`parameter ${i}${name} (element ${bad} of its gradient is ${d[bad]})`);
    }
  });
  const norm = Math.sqrt(sq);
  if (options.errorIfNonfinite && !Number.isFinite(norm)) {
    const culprits = nonfinite.length
      ? nonfinite.join(', ')
      : 'no single element (the sum of squares overflowed)';
    throw new ChainruleError(
      'clipGradNorm',
      `the total gradient norm is ${norm}, so the gradients cannot be clipped: ${culprits}. ` +
        'Set errorIfNonfinite: false to scale them by the non-finite factor anyway, as PyTorch does',
    );
  }
  // min(NaN, 1) is NaN, so a NaN norm scales by NaN rather than passing the gradients through.
  const scale = Math.min(maxNorm / (norm + 1e-6), 1);
  if (!(scale >= 1)) for (const p of params) if (p.grad) p.grad = T.mul(p.grad, scale);
  return norm;
}

function pairParams(op: string, target: Module, source: Module): [Var, Var][] {
  const t = target.namedParameters();
  const s = new Map(source.namedParameters());
  if (t.length !== s.size)
    throw new ChainruleError(op, `target has ${t.length} parameters, source has ${s.size}`);
  return t.map(([n, p]) => {
    const q = s.get(n);
    if (!q || !shapesEqual(p.shape, q.shape)) {
      throw new ChainruleError(op, `parameter "${n}" is missing from the source or has another shape`);
    }
    return [p, q];
  });
}

/** The source's buffers with the target's current value of each (checked before anything changes). */
function pairBuffers(op: string, target: Module, source: Module): [string, Tensor, Tensor][] {
  const tb = new Map(target.namedBuffers());
  return source.namedBuffers().map(([n, b]) => {
    const cur = tb.get(n);
    if (!cur) throw new ChainruleError(op, `buffer "${n}" is missing from the target`);
    return [n, cur, b];
  });
}

/**
 * Polyak averaging for target networks: θ′ ← τ·θ + (1 − τ)·θ′ for every parameter.
 * Buffers (BatchNorm running statistics) are copied from the source by default
 * (`buffers: 'copy'`), averaged with `'polyak'`, or left alone with `'none'`.
 */
export function softUpdate(
  target: Module,
  source: Module,
  tau: number,
  options: { buffers?: 'copy' | 'polyak' | 'none' } = {},
): void {
  if (!(tau >= 0 && tau <= 1)) throw new ChainruleError('softUpdate', `tau must be in [0, 1], got ${tau}`);
  const pairs = pairParams('softUpdate', target, source);
  const mode = options.buffers ?? 'copy';
  const buffers = mode === 'none' ? [] : pairBuffers('softUpdate', target, source);
  T.tidy(() => {
    for (const [p, q] of pairs) p.value.assign(T.lerp(p.value, q.value, tau));
    // Tensors are immutable, so a copied buffer may share the source's storage.
    for (const [, cur, b] of buffers) cur.assign(mode === 'copy' ? b : T.lerp(cur, b, tau));
  });
}

/** Copy every parameter **and** buffer (BatchNorm running statistics) from source to target. */
export function hardUpdate(target: Module, source: Module): void {
  const pairs = pairParams('hardUpdate', target, source);
  const buffers = pairBuffers('hardUpdate', target, source);
  for (const [p, q] of pairs) p.value.assign(q.value);
  for (const [, cur, b] of buffers) cur.assign(b);
}
