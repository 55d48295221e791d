/**
 * Exploration noise for deterministic policies: action noise (Ornstein–Uhlenbeck, Gaussian)
 * with optional σ schedules, and adaptive parameter-space noise (Plappert et al. 2018).
 *
 * Every random draw comes from a seeded {@link Rng} passed in; every noise has a JSON-safe
 * `getState()` / `setState()` so that training can be resumed exactly.
 *
 * @module
 */
import type { Var } from '@chainrule/autograd';
import { LayerNorm, type Module } from '@chainrule/nn';
import { ChainruleError, Rng, type RngState, type Tensor, tensor } from '@chainrule/tensor';

// ---------------------------------------------------------------------------------------------
// σ schedules

/** A σ schedule: the value at a step count (0 = before the first step). */
export interface Schedule {
  /** The value after `step` steps, `step` a non-negative integer. */
  value(step: number): number;
}

function checkStep(op: string, step: number): void {
  if (!Number.isInteger(step) || step < 0) {
    throw new ChainruleError(op, `step must be a non-negative integer, got ${step}`);
  }
}

function checkFinite(op: string, name: string, v: unknown, min = -Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    throw new ChainruleError(
      op,
      `${name} must be a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${String(v)}`,
    );
  }
  return v;
}

/** A constant schedule (what a plain number `sigma` becomes). */
export class ConstantSchedule implements Schedule {
  constructor(readonly constant: number) {
    checkFinite('ConstantSchedule', 'value', constant, 0);
  }
  value(step: number): number {
    checkStep('ConstantSchedule.value', step);
    return this.constant;
  }
}

/** Options for {@link ExponentialDecay}. */
export interface ExponentialDecayOptions {
  /** The value at step 0. */
  initial: number;
  /** The per-step factor, in (0, 1] (default 0.9998, Morvan's `var *= .9998`). */
  factor?: number;
  /** A floor (default 0). */
  min?: number;
}

/**
 * `value(step) = max(min, initial · factor^step)`: per-step multiplicative decay, as in
 * Morvan's tutorial (`var *= .9995` or `.9998` after each learning step).
 */
export class ExponentialDecay implements Schedule {
  readonly initial: number;
  readonly factor: number;
  readonly min: number;
  constructor(options: ExponentialDecayOptions) {
    const op = 'ExponentialDecay';
    this.initial = checkFinite(op, 'initial', options.initial, 0);
    this.factor = checkFinite(op, 'factor', options.factor ?? 0.9998, 0);
    if (this.factor === 0 || this.factor > 1) {
      throw new ChainruleError(op, `factor must be in (0, 1], got ${this.factor}`);
    }
    this.min = checkFinite(op, 'min', options.min ?? 0, 0);
  }
  value(step: number): number {
    checkStep('ExponentialDecay.value', step);
    return Math.max(this.min, this.initial * this.factor ** step);
  }
}

/** Options for {@link LinearAnneal}. */
export interface LinearAnnealOptions {
  /** The value at step 0. */
  initial: number;
  /** The value from step `steps` on. */
  final: number;
  /** The number of steps to go from `initial` to `final` (a positive integer). */
  steps: number;
}

/** `value(step) = initial + (final − initial) · min(step, steps) / steps`. */
export class LinearAnneal implements Schedule {
  readonly initial: number;
  readonly final: number;
  readonly steps: number;
  constructor(options: LinearAnnealOptions) {
    const op = 'LinearAnneal';
    this.initial = checkFinite(op, 'initial', options.initial, 0);
    this.final = checkFinite(op, 'final', options.final, 0);
    if (!Number.isInteger(options.steps) || options.steps < 1) {
      throw new ChainruleError(op, `steps must be a positive integer, got ${options.steps}`);
    }
    this.steps = options.steps;
  }
  value(step: number): number {
    checkStep('LinearAnneal.value', step);
    if (step >= this.steps) return this.final;
    return this.initial + ((this.final - this.initial) * step) / this.steps;
  }
}

function toSchedule(op: string, sigma: number | Schedule | undefined, fallback?: number): Schedule {
  if (sigma === undefined) {
    if (fallback === undefined) throw new ChainruleError(op, 'sigma is required (a number or a Schedule)');
    return new ConstantSchedule(fallback);
  }
  if (typeof sigma === 'number') {
    checkFinite(op, 'sigma', sigma, 0);
    return new ConstantSchedule(sigma);
  }
  if (sigma === null || typeof sigma !== 'object' || typeof sigma.value !== 'function') {
    throw new ChainruleError(
      op,
      `sigma must be a number or a Schedule with value(step), got ${String(sigma)}`,
    );
  }
  return sigma;
}

// ---------------------------------------------------------------------------------------------
// Action noise

/** The JSON-safe state of an action noise. */
export interface ActionNoiseState {
  /** `'ou'` or `'gaussian'`. */
  kind: 'ou' | 'gaussian';
  /** The action dimension. */
  actDim: number;
  /** The schedule step count. */
  step: number;
  /** The OU process value x (OU only). */
  x?: number[];
  /** The generator's state at capture time (left out with `includeRng: false`). */
  rng?: RngState;
}

/** Options for {@link ActionNoise.getState}. */
export interface GetStateOptions {
  /**
   * Include the rng state (default true). Leave it out when the rng is shared and checkpointed
   * elsewhere; restoring a shared rng from states captured at the same moment is harmless.
   */
  includeRng?: boolean;
}

/** Action noise: one sample per environment step, reset per episode, σ following a schedule. */
export interface ActionNoise {
  /** The action dimension (length of each sample). */
  readonly actDim: number;
  /** The current σ: the schedule's value at the current step count. */
  readonly sigma: number;
  /** The schedule step count. */
  readonly stepCount: number;
  /** A fresh noise vector of length `actDim`. */
  sample(): Float64Array;
  /** Start of an episode. */
  reset(): void;
  /** Advance the σ schedule by `n` steps (default 1). */
  step(n?: number): void;
  /** Set the σ schedule step count. */
  setStep(n: number): void;
  /** A JSON-safe snapshot. */
  getState(options?: GetStateOptions): ActionNoiseState;
  /** Restore a {@link ActionNoise.getState} snapshot. */
  setState(state: ActionNoiseState): void;
}

/** What the agents hold: an action noise (alias of {@link ActionNoise}). */
export type NoiseProcess = ActionNoise;

/** The agent-config fields {@link makeNoise} reads. */
export interface NoiseConfig {
  /** The noise kind. */
  noise: 'ou' | 'gaussian' | 'param' | 'none';
  /** σ at step 0. */
  noiseSigma: number;
  /** The per-step σ factor (1 = constant σ; otherwise an {@link ExponentialDecay}). */
  noiseDecay: number;
}

/**
 * The action noise an agent config asks for: OU (θ = 0.15, dt = 1e-2) or Gaussian with
 * σ = `noiseSigma`, decayed by `noiseDecay` per `step()`; `undefined` for `'none'`.
 * `'param'` is not an action noise (it perturbs the actor's weights), so it throws: use
 * {@link AdaptiveParamNoise} with a perturbed actor copy instead.
 */
export function makeNoise(config: NoiseConfig, actDim: number, rng: Rng): NoiseProcess | undefined {
  const op = 'makeNoise';
  const sigma: number | Schedule =
    config.noiseDecay === 1
      ? config.noiseSigma
      : new ExponentialDecay({ initial: config.noiseSigma, factor: config.noiseDecay });
  switch (config.noise) {
    case 'none':
      return undefined;
    case 'ou':
      return new OrnsteinUhlenbeckNoise({ actDim, sigma, rng });
    case 'gaussian':
      return new GaussianNoise({ actDim, sigma, rng });
    case 'param':
      throw new ChainruleError(
        op,
        "'param' noise perturbs the actor's parameters rather than the actions; use AdaptiveParamNoise.perturb() with a copy of the actor",
      );
    default:
      throw new ChainruleError(
        op,
        `unknown noise ${JSON.stringify((config as { noise: unknown }).noise)}; expected 'ou', 'gaussian', 'param' or 'none'`,
      );
  }
}

function checkActDim(op: string, actDim: unknown): number {
  if (typeof actDim !== 'number' || !Number.isInteger(actDim) || actDim < 1) {
    throw new ChainruleError(op, `actDim must be a positive integer, got ${String(actDim)}`);
  }
  return actDim;
}

function checkRng(op: string, rng: unknown): Rng {
  if (!(rng instanceof Rng)) {
    const got =
      rng === null ? 'null' : typeof rng === 'object' ? (rng.constructor?.name ?? 'object') : typeof rng;
    throw new ChainruleError(op, `a seeded Rng is required (options.rng), got ${got}`);
  }
  return rng;
}

function toVector(op: string, name: string, v: number | ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n);
  if (typeof v === 'number') {
    checkFinite(op, name, v);
    return out.fill(v);
  }
  if (v === null || typeof v !== 'object' || v.length !== n) {
    throw new ChainruleError(op, `${name} must be a number or an array of length ${n}`);
  }
  for (let i = 0; i < n; i++) out[i] = checkFinite(op, `${name}[${i}]`, v[i]);
  return out;
}

abstract class ScheduledNoise {
  readonly actDim: number;
  protected readonly schedule: Schedule;
  protected readonly rng: Rng;
  private _step = 0;

  constructor(
    protected readonly op: string,
    actDim: number,
    sigma: number | Schedule | undefined,
    rng: Rng,
    defaultSigma?: number,
  ) {
    this.actDim = checkActDim(op, actDim);
    this.schedule = toSchedule(op, sigma, defaultSigma);
    this.rng = checkRng(op, rng);
  }

  get stepCount(): number {
    return this._step;
  }

  get sigma(): number {
    return this.schedule.value(this._step);
  }

  step(n = 1): void {
    checkStep(`${this.op}.step`, n);
    this._step += n;
  }

  setStep(n: number): void {
    checkStep(`${this.op}.setStep`, n);
    this._step = n;
  }

  protected baseState(kind: ActionNoiseState['kind'], options: GetStateOptions): ActionNoiseState {
    const s: ActionNoiseState = { kind, actDim: this.actDim, step: this._step };
    if (options.includeRng ?? true) s.rng = this.rng.getState();
    return s;
  }

  /** Validate a snapshot; returns it typed. Changes nothing. */
  protected checkState(kind: ActionNoiseState['kind'], state: ActionNoiseState): ActionNoiseState {
    const op = `${this.op}.setState`;
    if (state === null || typeof state !== 'object') {
      throw new ChainruleError(op, `expected a state object, got ${String(state)}`);
    }
    if (state.kind !== kind) {
      throw new ChainruleError(op, `state.kind is ${JSON.stringify(state.kind)}; expected "${kind}"`);
    }
    if (state.actDim !== this.actDim) {
      throw new ChainruleError(op, `state.actDim is ${state.actDim}; this noise has actDim ${this.actDim}`);
    }
    checkStep(op, state.step);
    if (state.rng !== undefined) Rng.fromState(state.rng); // throws on a malformed rng state
    return state;
  }

  protected applyBase(state: ActionNoiseState): void {
    this._step = state.step;
    if (state.rng !== undefined) this.rng.setState(state.rng);
  }
}

/** Options for {@link OrnsteinUhlenbeckNoise}. */
export interface OrnsteinUhlenbeckOptions {
  /** The action dimension. */
  actDim: number;
  /** The long-run mean μ, per dimension or for all (default 0). */
  mu?: number | ArrayLike<number>;
  /** The mean-reversion rate θ (default 0.15). */
  theta?: number;
  /** The volatility σ, or a schedule for it (default 0.2). */
  sigma?: number | Schedule;
  /** The time step dt (default 1e-2). */
  dt?: number;
  /** The value x is reset to (default zeros). */
  x0?: number | ArrayLike<number>;
  /** The seeded generator for the normal draws. */
  rng: Rng;
}

/**
 * Ornstein–Uhlenbeck noise, the Euler–Maruyama discretisation used by OpenAI baselines and the
 * Emami DDPG:
 *
 *   x ← x + θ(μ − x)·dt + σ·√dt·N(0, 1)
 *
 * **The √dt matters.** A Brownian increment over dt has standard deviation √dt. Some DDPG
 * code (the Keras/TORCS implementation discussed in the sources) writes `σ·N(0, 1)` without
 * it; with dt = 1e-2 that makes every increment, and the stationary standard deviation,
 * 1/√dt = 10× too large (≈ 3.65 instead of ≈ 0.365 for σ = 0.2, θ = 0.15), so the actions are
 * dominated by noise and training appears to do nothing.
 *
 * The discretised process has stationary variance σ²·dt / (1 − (1 − θ·dt)²), which tends to
 * the continuous-time σ² / (2θ) as dt → 0. Draws are made per dimension in index order.
 */
export class OrnsteinUhlenbeckNoise extends ScheduledNoise implements ActionNoise {
  readonly mu: Float64Array;
  readonly theta: number;
  readonly dt: number;
  private readonly x0: Float64Array;
  private readonly x: Float64Array;

  constructor(options: OrnsteinUhlenbeckOptions) {
    const op = 'OrnsteinUhlenbeckNoise';
    if (options === null || typeof options !== 'object') throw new ChainruleError(op, 'options are required');
    super(op, options.actDim, options.sigma, options.rng, 0.2);
    this.mu = toVector(op, 'mu', options.mu ?? 0, this.actDim);
    this.theta = checkFinite(op, 'theta', options.theta ?? 0.15, 0);
    this.dt = checkFinite(op, 'dt', options.dt ?? 1e-2, 0);
    if (this.dt === 0) throw new ChainruleError(op, 'dt must be > 0');
    this.x0 = toVector(op, 'x0', options.x0 ?? 0, this.actDim);
    this.x = Float64Array.from(this.x0);
  }

  /** A copy of the current process value x. */
  get state(): Float64Array {
    return Float64Array.from(this.x);
  }

  /** One Euler–Maruyama step; returns a copy of the new x. */
  sample(): Float64Array {
    const { theta, dt, mu, x } = this;
    const scale = this.sigma * Math.sqrt(dt);
    for (let i = 0; i < this.actDim; i++) {
      x[i] = x[i]! + theta * (mu[i]! - x[i]!) * dt + scale * this.rng.normal();
    }
    return Float64Array.from(x);
  }

  /** x ← x0 (zeros by default). Does not touch the schedule step or the rng. */
  reset(): void {
    this.x.set(this.x0);
  }

  getState(options: GetStateOptions = {}): ActionNoiseState {
    return { ...this.baseState('ou', options), x: Array.from(this.x) };
  }

  setState(state: ActionNoiseState): void {
    const s = this.checkState('ou', state);
    const x = toVector(`${this.op}.setState`, 'state.x', s.x as number[], this.actDim);
    this.applyBase(s);
    this.x.set(x);
  }
}

/** Options for {@link GaussianNoise}. */
export interface GaussianNoiseOptions {
  /** The action dimension. */
  actDim: number;
  /** The standard deviation, or a schedule for it. */
  sigma: number | Schedule;
  /** The seeded generator. */
  rng: Rng;
}

/** Independent N(0, σ²) noise per dimension and step (Morvan's `np.random.normal(a, var)`, minus a). */
export class GaussianNoise extends ScheduledNoise implements ActionNoise {
  constructor(options: GaussianNoiseOptions) {
    const op = 'GaussianNoise';
    if (options === null || typeof options !== 'object') throw new ChainruleError(op, 'options are required');
    super(op, options.actDim, options.sigma, options.rng);
  }

  sample(): Float64Array {
    const out = new Float64Array(this.actDim);
    const s = this.sigma;
    for (let i = 0; i < this.actDim; i++) out[i] = s * this.rng.normal();
    return out;
  }

  /** Nothing to reset (the noise is memoryless). */
  reset(): void {}

  getState(options: GetStateOptions = {}): ActionNoiseState {
    return this.baseState('gaussian', options);
  }

  setState(state: ActionNoiseState): void {
    this.applyBase(this.checkState('gaussian', state));
  }
}

// ---------------------------------------------------------------------------------------------
// Parameter-space noise

/** Options for {@link AdaptiveParamNoise}. */
export interface AdaptiveParamNoiseOptions {
  /** The initial parameter-noise standard deviation (default 0.1). */
  initialStddev?: number;
  /** The target action-space distance (default 0.2). */
  desiredActionStddev?: number;
  /** The multiplicative adaptation factor α > 1 (default 1.01). */
  adoptionCoefficient?: number;
}

/** The JSON-safe state of {@link AdaptiveParamNoise}. */
export interface AdaptiveParamNoiseState {
  kind: 'adaptive-param';
  currentStddev: number;
}

/**
 * Adaptive parameter-space noise (Plappert et al. 2018, "Parameter Space Noise for
 * Exploration"), as in OpenAI baselines' `AdaptiveParamNoiseSpec`: the actor's weights are
 * perturbed with N(0, σ²), and σ is adapted so that the perturbed policy's actions stay about
 * `desiredActionStddev` away from the unperturbed policy's.
 *
 * LayerNorm parameters are not perturbed (baselines excludes them: the normalisation keeps
 * the perturbation meaningful across layers).
 */
export class AdaptiveParamNoise {
  readonly initialStddev: number;
  readonly desiredActionStddev: number;
  readonly adoptionCoefficient: number;
  private _stddev: number;

  constructor(options: AdaptiveParamNoiseOptions = {}) {
    const op = 'AdaptiveParamNoise';
    this.initialStddev = checkFinite(op, 'initialStddev', options.initialStddev ?? 0.1, 0);
    this.desiredActionStddev = checkFinite(op, 'desiredActionStddev', options.desiredActionStddev ?? 0.2, 0);
    this.adoptionCoefficient = checkFinite(op, 'adoptionCoefficient', options.adoptionCoefficient ?? 1.01, 0);
    if (this.adoptionCoefficient <= 1) {
      throw new ChainruleError(op, `adoptionCoefficient must be > 1, got ${this.adoptionCoefficient}`);
    }
    this._stddev = this.initialStddev;
  }

  /** The current parameter-noise standard deviation σ. */
  get currentStddev(): number {
    return this._stddev;
  }

  /**
   * Copy `actor`'s parameters into `perturbed` (same architecture), adding N(0, σ²) to every
   * parameter except those of `LayerNorm` modules, which are copied unchanged; buffers are
   * copied unchanged. Draws are made parameter by parameter in `namedParameters()` order,
   * elements in row-major order. Everything is checked before anything is written.
   */
  perturb(actor: Module, perturbed: Module, rng: Rng): void {
    const op = 'AdaptiveParamNoise.perturb';
    checkRng(op, rng);
    if (actor === perturbed) throw new ChainruleError(op, 'perturbed must be a different module from actor');
    const skip = new Set(layerNormParameters(actor));
    const src = actor.namedParameters();
    const dst = new Map(perturbed.namedParameters());
    const srcNames = new Set(src.map(([n]) => n));
    const extra = [...dst.keys()].filter((n) => !srcNames.has(n));
    const problems: string[] = [];
    for (const [n, p] of src) {
      const q = dst.get(n);
      if (!q) problems.push(`missing parameter "${n}" in perturbed`);
      else if (
        q.dtype !== p.dtype ||
        q.shape.length !== p.shape.length ||
        q.shape.some((d, i) => d !== p.shape[i])
      ) {
        problems.push(
          `"${n}" is ${q.dtype} [${q.shape.join(',')}] in perturbed but ${p.dtype} [${p.shape.join(',')}] in actor`,
        );
      }
    }
    if (extra.length) problems.push(`unexpected parameters in perturbed: ${extra.join(', ')}`);
    const dstBufs = new Map(perturbed.namedBuffers());
    const srcBufs = actor.namedBuffers();
    for (const [n] of srcBufs) if (!dstBufs.has(n)) problems.push(`missing buffer "${n}" in perturbed`);
    if (problems.length) {
      throw new ChainruleError(op, `actor and perturbed differ: ${problems.join('; ')}`);
    }
    const sigma = this._stddev;
    for (const [n, p] of src) {
      const data = p.value.dataSync(); // a copy
      if (!skip.has(p)) for (let i = 0; i < data.length; i++) data[i] = data[i]! + sigma * rng.normal();
      dst.get(n)!.value = tensor(data, { shape: p.shape, dtype: p.dtype });
    }
    for (const [n, b] of srcBufs) {
      perturbed.assignBuffer(n, tensor(b.dataSync(), { shape: b.shape, dtype: b.dtype }));
    }
  }

  /**
   * The action-space distance sqrt(mean((a − b)²)) between the actions of the unperturbed and
   * the perturbed policy on the same states (computed in float64).
   */
  distance(actionsA: Tensor, actionsB: Tensor): number {
    const op = 'AdaptiveParamNoise.distance';
    if (
      actionsA.shape.length !== actionsB.shape.length ||
      actionsA.shape.some((d, i) => d !== actionsB.shape[i])
    ) {
      throw new ChainruleError(
        op,
        `shapes differ: [${actionsA.shape.join(',')}] and [${actionsB.shape.join(',')}]`,
      );
    }
    if (actionsA.size === 0) throw new ChainruleError(op, 'no actions to compare (size 0)');
    const a = actionsA.dataSync();
    const b = actionsB.dataSync();
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      const d = a[i]! - b[i]!;
      s += d * d;
    }
    return Math.sqrt(s / a.length);
  }

  /** σ ← σ / α if `distance` > desired (too much noise), else σ · α. */
  adapt(distance: number): void {
    checkFinite('AdaptiveParamNoise.adapt', 'distance', distance, 0);
    if (distance > this.desiredActionStddev) this._stddev /= this.adoptionCoefficient;
    else this._stddev *= this.adoptionCoefficient;
  }

  /** σ ← initialStddev. */
  reset(): void {
    this._stddev = this.initialStddev;
  }

  getState(): AdaptiveParamNoiseState {
    return { kind: 'adaptive-param', currentStddev: this._stddev };
  }

  setState(state: AdaptiveParamNoiseState): void {
    const op = 'AdaptiveParamNoise.setState';
    if (state === null || typeof state !== 'object' || state.kind !== 'adaptive-param') {
      throw new ChainruleError(
        op,
        `expected { kind: 'adaptive-param', currentStddev }, got ${JSON.stringify(state)}`,
      );
    }
    this._stddev = checkFinite(op, 'currentStddev', state.currentStddev, 0);
  }
}

/** The parameters of every LayerNorm module in `m`'s tree (including `m` itself). */
function layerNormParameters(m: Module): Var[] {
  const out: Var[] = [];
  const walk = (mod: Module): void => {
    if (mod instanceof LayerNorm) out.push(...mod.parameters());
    else for (const c of mod.children()) walk(c);
  };
  walk(m);
  return out;
}
