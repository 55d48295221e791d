/**
 * Optimisers (Adam, AdamW, SGD), gradient clipping and target-network updates.
 *
 * Every update writes through `assign()`: parameter values and optimiser state are tensor
 * variables, so their objects never change and no `tidy` scope needs to be told about them.
 * Each update runs in its own small `tidy`, so it leaves no temporaries behind even when
 * the caller has no scope.
 *
 * What changes from one step to the next (the step counts and the learning rate) is state
 * in 0-d tensor variables too, not JavaScript numbers: a captured update (`T.replayable`)
 * reads variables anew on every replay, so it counts its steps and follows `opt.lr = …`
 * exactly as eager steps do (PyTorch's `capturable` Adam keeps `step` and `lr` on the
 * device for CUDA Graphs for the same reason).
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

/** A 0-d variable holding `value` in the dtype that holds counts and rates exactly on this backend. */
function scalarVariable(value: number): Tensor {
  return T.keep(T.scalar(value, T.scalarDType()));
}

/** Check a learning rate (or other hyperparameter) is a finite number >= `min`. */
function checkFinite(op: string, name: string, v: number, min = 0): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min)
    throw new ChainruleError(op, `${name} must be a finite number >= ${min}, got ${v}`);
}

/** The base class: a list of parameters and `step()` reading their `.grad`. */
export abstract class Optimizer {
  /** Calls to `step()`, a 0-d variable that each step increments (replayed steps included). */
  private readonly calls: Tensor;
  /**
   * The learning rate, a 0-d variable that every update reads when it runs: setting
   * {@link lr} between steps (a schedule) reaches replayed updates too.
   */
  protected readonly lrVariable: Tensor;

  /** Makes each parameter's value a variable (`param()` and modules already do), so `step()` can assign it. */
  constructor(
    readonly params: readonly Var[],
    lr: number,
  ) {
    if (params.length === 0) throw new ChainruleError(this.constructor.name, 'got an empty parameter list');
    checkFinite(this.constructor.name, 'lr', lr);
    for (const p of params) T.keep(p.value);
    this.calls = scalarVariable(0);
    this.lrVariable = scalarVariable(lr);
  }

  /** Steps taken so far (read from its variable: outside a replayed function). */
  get stepCount(): number {
    return this.calls.item();
  }

  /**
   * The learning rate. Set it between steps for a schedule (PyTorch's
   * `param_group['lr'] = …`); eager and replayed steps alike use the new value. Set it
   * outside a replayed function: inside one, the value set at capture would be replayed.
   */
  get lr(): number {
    return this.lrVariable.item();
  }

  set lr(value: number) {
    checkFinite(`${this.constructor.name}.lr`, 'lr', value);
    // Set inside a captured function, every replay would assign the rate of the capture.
    T.notReplayable(
      `it sets ${this.constructor.name}.lr, which a replay would freeze at the captured value; set the learning rate between calls`,
    );
    this.lrVariable.assign(T.tidy(() => T.scalar(value, this.lrVariable.dtype)));
  }

  /** Count one call of `step()`: a kernel, so a replayed step counts too. */
  protected countStep(): void {
    this.calls.assign(T.increment(this.calls));
  }

  /** Restore the step count (a checkpoint's). */
  protected setStepCount(n: number): void {
    this.calls.assign(T.tidy(() => T.scalar(n, this.calls.dtype)));
  }
  /** Apply one update from the current `.grad` of each parameter (parameters without a grad are skipped). */
  abstract step(): void;
  /** Clear `.grad` on every parameter. */
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
  /** A snapshot of the state, for checkpoints. */
  abstract stateDict(): OptimizerState;
  /** Release the optimiser's state (moments, momentum, counts); the parameters stay. Stepping afterwards is an error. */
  dispose(): void {
    this.calls.dispose();
    this.lrVariable.dispose();
  }
  /** Restore a snapshot; mismatched kinds, shapes or keys are a clear error. */
  abstract loadStateDict(state: OptimizerState): void;

  /**
   * Restore the learning rate a state was saved with, as PyTorch's `load_state_dict`
   * restores its param groups' `lr`: a run resumed mid-schedule continues where it was.
   */
  protected loadLr(state: OptimizerState): void {
    const lr = state.hyper.lr;
    if (typeof lr === 'number') this.lr = lr;
  }

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
   * Updates each parameter has received, as 0-d variables that the update increments.
   * Bias correction uses a parameter's own count, as PyTorch's `state['step']` does: a
   * parameter skipped (no gradient) on some steps would otherwise be corrected as if its
   * moments had seen every step.
   */
  private readonly steps: Tensor[];

  constructor(params: readonly Var[], options: AdamOptions = {}) {
    super(params, options.lr ?? 1e-3);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = options.decoupledWeightDecay ?? false;
    this.amsgrad = options.amsgrad ?? false;
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
    this.steps = params.map(() => scalarVariable(0));
  }

  /** The bias-correction step of each parameter: how many updates it has received. */
  get parameterSteps(): readonly number[] {
    return this.steps.map((t) => t.item());
  }

  step(): void {
    const hyper = {
      lr: this.lrVariable,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weightDecay: this.weightDecay,
      decoupled: this.decoupled,
      amsgrad: this.amsgrad,
    };
    T.tidy(() => {
      this.countStep();
      this.params.forEach((p, i) => {
        if (!p.grad) return;
        // t ← t + 1 by a kernel; the Adam kernel reads t and the lr variable when it runs.
        const step = this.steps[i]!.assign(T.increment(this.steps[i]!));
        const out = T.adamUpdate(
          p.value,
          p.grad,
          this.m[i]!,
          this.v[i]!,
          this.amsgrad ? this.vmax[i] : undefined,
          { ...hyper, step },
        );
        p.value.assign(out[0]!);
        this.m[i]!.assign(out[1]!);
        this.v[i]!.assign(out[2]!);
        if (this.amsgrad) this.vmax[i]!.assign(out[3]!);
      });
    });
  }

  override dispose(): void {
    for (const t of [...this.m, ...this.v, ...this.vmax, ...this.steps]) t.dispose();
    super.dispose();
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
      steps: [...this.parameterSteps],
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
    this.loadLr(state); // first: an invalid rate throws before anything changed
    this.setStepCount(state.step);
    this.steps.forEach((t, i) => {
      t.assign(T.tidy(() => T.scalar(steps[i]!, t.dtype)));
    });
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
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private buf: (Tensor | null)[];
  /**
   * The learning rate in each parameter dtype, for the `lr · g` product (the number used to
   * become a scalar of g's dtype, so float32 parameters see the same rounded rate).
   */
  private readonly lrByDType = new Map<string, Tensor>();

  constructor(params: readonly Var[], options: SGDOptions) {
    super(params, options?.lr);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    checkFinite('SGD', 'momentum', this.momentum);
    checkFinite('SGD', 'weightDecay', this.weightDecay);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ChainruleError('SGD', 'nesterov needs momentum > 0 and dampening 0');
    }
    this.buf = params.map(() => null);
    for (const p of params)
      if (!this.lrByDType.has(p.dtype)) this.lrByDType.set(p.dtype, T.keep(T.zeros([], { dtype: p.dtype })));
    this.syncLr();
  }

  override get lr(): number {
    return super.lr;
  }

  override set lr(value: number) {
    super.lr = value;
    this.syncLr();
  }

  /** Copy the learning rate into each dtype's variable (a cast kernel: exact for float64, float32's rounding otherwise). */
  private syncLr(): void {
    for (const t of this.lrByDType.values()) t.assign(T.tidy(() => T.cast(this.lrVariable, t.dtype)));
  }

  step(): void {
    T.tidy(() => {
      this.countStep();
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
        p.value.assign(T.sub(p.value, T.mul(g, this.lrByDType.get(p.dtype)!)));
      });
    });
  }

  override dispose(): void {
    for (const b of this.buf) b?.dispose();
    for (const t of this.lrByDType.values()) t.dispose();
    super.dispose();
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
    this.loadLr(state); // first: an invalid rate throws before anything changed
    this.setStepCount(state.step);
    for (const b of this.buf) b?.dispose();
    this.buf = this.params.map((_, i) => {
      const t = state.tensors[`${i}.momentum`];
      return t ? T.keep(T.clone(t)) : null;
    });
    // New variable objects: a captured update must capture again to read them.
    T.invalidateCaptures();
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
