/**
 * Gymnasium-style wrappers: time limits, action rescaling, observation normalisation,
 * reward scaling and episode recording. Every wrapper is itself an {@link Env}, forwards
 * what it does not change, and snapshots its own state plus its inner env's state.
 * @module
 */
import { validateAction } from './base.ts';
import { EnvError, fmtValues } from './errors.ts';
import { Box } from './spaces.ts';
import type { Env, EnvState, JsonValue, ResetOptions, ResetResult, StepResult } from './types.ts';

function isFiniteNumberArray(v: JsonValue | undefined, n: number): v is number[] {
  return Array.isArray(v) && v.length === n && v.every((e) => typeof e === 'number' && Number.isFinite(e));
}

/**
 * Base class of the wrappers: forwards everything to `env`. Subclasses override what they
 * change and describe their own snapshot fields with `wrapperState` / `restoreWrapperState`.
 */
export abstract class Wrapper<E extends Env = Env> implements Env {
  /** The wrapped environment. */
  readonly env: E;
  /** The wrapper's name, e.g. `'TimeLimit'`; the `kind` of its snapshots. */
  abstract readonly wrapperName: string;

  /** @param env the environment to wrap. */
  constructor(env: E) {
    if (
      env === null ||
      typeof env !== 'object' ||
      typeof env.step !== 'function' ||
      typeof env.reset !== 'function'
    ) {
      throw new TypeError(`${new.target.name}: expected an Env to wrap, got ${String(env)}`);
    }
    this.env = env;
  }

  /** The inner env's id. */
  get id(): string {
    return this.env.id;
  }
  /** The inner env's observation space (unless the wrapper changes it). */
  get observationSpace(): Box {
    return this.env.observationSpace;
  }
  /** The inner env's action space (unless the wrapper changes it). */
  get actionSpace(): Box {
    return this.env.actionSpace;
  }
  /** The inner env's step limit (set by `TimeLimit`). */
  get maxEpisodeSteps(): number | undefined {
    return this.env.maxEpisodeSteps;
  }
  /** The innermost env. */
  get unwrapped(): Env {
    return this.env.unwrapped ?? this.env;
  }

  /** Forwards to the inner env. */
  reset(opts?: ResetOptions): ResetResult {
    return this.env.reset(opts);
  }
  /** Forwards to the inner env. */
  step(action: ArrayLike<number>): StepResult {
    return this.env.step(action);
  }
  /** The inner env's physical state. */
  physicalState(): Record<string, number> {
    return this.env.physicalState();
  }

  /** The wrapper's own snapshot fields (besides `kind` and `inner`). */
  protected wrapperState(): Record<string, JsonValue> {
    return {};
  }
  /** Restore the fields written by `wrapperState` (validate them; throw an EnvError if malformed). */
  protected restoreWrapperState(_state: EnvState): void {}

  /** `{ kind: wrapperName, ...own fields, inner: env.getState() }`. Throws if the inner env cannot snapshot. */
  getState(): EnvState {
    if (typeof this.env.getState !== 'function') {
      throw new EnvError(
        this.toString(),
        'getState',
        `the wrapped env ${String(this.env)} has no getState()`,
      );
    }
    return { ...this.wrapperState(), kind: this.wrapperName, inner: this.env.getState() };
  }

  /** Restore a snapshot from {@link Wrapper.getState} (own fields, then the inner env). */
  setState(state: EnvState): void {
    if (state === null || typeof state !== 'object' || state.kind !== this.wrapperName) {
      throw new EnvError(
        this.toString(),
        'setState',
        `expected a ${this.wrapperName} snapshot, got kind ${String(state?.kind)}`,
      );
    }
    if (typeof this.env.setState !== 'function') {
      throw new EnvError(
        this.toString(),
        'setState',
        `the wrapped env ${String(this.env)} has no setState()`,
      );
    }
    const inner = state.inner;
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
      throw new EnvError(this.toString(), 'setState', 'the snapshot has no inner env state');
    }
    this.restoreWrapperState(state);
    this.env.setState(inner as EnvState);
  }

  /** E.g. `TimeLimit(Pendulum-v1)`. */
  toString(): string {
    return `${this.wrapperName}(${String(this.env)})`;
  }
}

/**
 * End episodes after `maxSteps` steps by setting `truncated`, as Gymnasium's `TimeLimit`.
 *
 * On the step that reaches the limit `truncated` is true, also when the inner env
 * `terminated` on that same step (then both flags are true, as in Gymnasium). Replay and
 * bootstrapping key on `terminated`, so such a step still does not bootstrap. Stepping
 * after the episode ended throws (call `reset`).
 */
export class TimeLimit<E extends Env = Env> extends Wrapper<E> {
  /** `'TimeLimit'`. */
  readonly wrapperName = 'TimeLimit';
  /** The step limit. */
  readonly maxSteps: number;
  private elapsed = 0;
  private started = false;
  private ended = false;

  /**
   * @param env the env to limit.
   * @param maxSteps a positive integer.
   */
  constructor(env: E, maxSteps: number) {
    super(env);
    if (!Number.isInteger(maxSteps) || maxSteps < 1) {
      throw new EnvError(
        `TimeLimit(${String(env)})`,
        'constructor',
        `maxSteps must be a positive integer, got ${maxSteps}`,
      );
    }
    this.maxSteps = maxSteps;
  }

  /** `maxSteps`. */
  override get maxEpisodeSteps(): number {
    return this.maxSteps;
  }

  /** Steps taken in the current episode. */
  get elapsedSteps(): number {
    return this.elapsed;
  }

  /** Reset the inner env and the step counter. */
  override reset(opts?: ResetOptions): ResetResult {
    const r = this.env.reset(opts);
    this.elapsed = 0;
    this.started = true;
    this.ended = false;
    return r;
  }

  /** Step the inner env; set `truncated` on the `maxSteps`-th step (Gymnasium's `TimeLimit`). */
  override step(action: ArrayLike<number>): StepResult {
    if (!this.started) {
      throw new EnvError(this.toString(), 'step', 'called before reset(); call reset() to start an episode');
    }
    if (this.ended) {
      throw new EnvError(
        this.toString(),
        'step',
        `the episode already ended after ${this.elapsed} step(s); call reset() before stepping again`,
      );
    }
    const r = this.env.step(action);
    this.elapsed++;
    const truncated = r.truncated || this.elapsed >= this.maxSteps;
    this.ended = r.terminated || truncated;
    return { ...r, truncated };
  }

  protected override wrapperState(): Record<string, JsonValue> {
    return { maxSteps: this.maxSteps, elapsed: this.elapsed, started: this.started, ended: this.ended };
  }

  protected override restoreWrapperState(s: EnvState): void {
    if (s.maxSteps !== this.maxSteps) {
      throw new EnvError(
        this.toString(),
        'setState',
        `snapshot maxSteps ${String(s.maxSteps)} != ${this.maxSteps}`,
      );
    }
    const { elapsed, started, ended } = s;
    if (
      typeof elapsed !== 'number' ||
      !Number.isInteger(elapsed) ||
      elapsed < 0 ||
      typeof started !== 'boolean' ||
      typeof ended !== 'boolean'
    ) {
      throw new EnvError(this.toString(), 'setState', 'malformed TimeLimit snapshot (elapsed/started/ended)');
    }
    this.elapsed = elapsed;
    this.started = started;
    this.ended = ended;
  }
}

/**
 * Let the agent act in `[minAction, maxAction]` (default `[-1, 1]`, what a tanh actor
 * outputs) and map actions affinely onto the inner env's bounded action space:
 * `low + (high - low) (a - minAction) / (maxAction - minAction)`, as Gymnasium's
 * `RescaleAction`. Actions outside `[minAction, maxAction]` are clipped first.
 */
export class RescaleAction<E extends Env = Env> extends Wrapper<E> {
  /** `'RescaleAction'`. */
  readonly wrapperName = 'RescaleAction';
  private readonly space: Box;

  /**
   * @param env an env with a bounded action space.
   * @param minAction the new lower bound(s) (scalar or per element, default -1).
   * @param maxAction the new upper bound(s) (default 1); must be > `minAction`.
   */
  constructor(env: E, minAction: number | ArrayLike<number> = -1, maxAction: number | ArrayLike<number> = 1) {
    super(env);
    const inner = env.actionSpace;
    const who = `RescaleAction(${String(env)})`;
    if (!inner.isBounded()) {
      throw new EnvError(who, 'constructor', `the inner action space ${String(inner)} must be bounded`);
    }
    const space = new Box(minAction, maxAction, inner.shape);
    for (let i = 0; i < space.size; i++) {
      if (
        !(space.low[i]! < space.high[i]!) ||
        !Number.isFinite(space.low[i]!) ||
        !Number.isFinite(space.high[i]!)
      ) {
        throw new EnvError(
          who,
          'constructor',
          `need finite minAction < maxAction, got ${fmtValues(space.low)} and ${fmtValues(space.high)}`,
        );
      }
    }
    this.space = space;
  }

  /** `[minAction, maxAction]` with the inner shape. */
  override get actionSpace(): Box {
    return this.space;
  }

  /** Map `action` from this wrapper's space to the inner action space. */
  mapAction(action: ArrayLike<number>): Float64Array {
    const a = validateAction(this.toString(), action, this.space);
    const { low, high } = this.env.actionSpace;
    for (let i = 0; i < a.length; i++) {
      const t = (a[i]! - this.space.low[i]!) / (this.space.high[i]! - this.space.low[i]!);
      a[i] = low[i]! + (high[i]! - low[i]!) * t;
    }
    return a;
  }

  /** Rescale the action, then step the inner env. */
  override step(action: ArrayLike<number>): StepResult {
    return this.env.step(this.mapAction(action));
  }
}

/** Multiply every reward by a constant, e.g. `new ScaleReward(env, 0.1)` divides rewards by 10. */
export class ScaleReward<E extends Env = Env> extends Wrapper<E> {
  /** `'ScaleReward'`. */
  readonly wrapperName = 'ScaleReward';
  /** The factor. */
  readonly scale: number;

  /**
   * @param env the env.
   * @param scale a finite positive factor.
   */
  constructor(env: E, scale: number) {
    super(env);
    if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
      throw new EnvError(
        `ScaleReward(${String(env)})`,
        'constructor',
        `scale must be a finite positive number, got ${String(scale)}`,
      );
    }
    this.scale = scale;
  }

  /** Step the inner env and scale the reward. */
  override step(action: ArrayLike<number>): StepResult {
    const r = this.env.step(action);
    return { ...r, reward: r.reward * this.scale };
  }

  protected override wrapperState(): Record<string, JsonValue> {
    return { scale: this.scale };
  }
}

/** A JSON-safe snapshot of {@link RunningMeanStd}. */
export interface RunningMeanStdState {
  /** Per-element mean. */
  mean: number[];
  /** Per-element population variance. */
  var: number[];
  /** The (possibly fractional, with a prior) number of samples. */
  count: number;
}

/**
 * Running per-element mean and population variance, merged with the parallel algorithm of
 * Chan, Golub & LeVeque (Gymnasium's `RunningMeanStd`). With `initialCount = 0` (the
 * default) the statistics are exactly those of the samples seen; Gymnasium starts from a
 * pseudo-count of 1e-4 with mean 0 and variance 1 (pass `initialCount: 1e-4` to match).
 * With no samples, the mean is 0 and the variance 1.
 */
export class RunningMeanStd {
  /** Per-element mean. */
  mean: Float64Array;
  /** Per-element population variance. */
  var: Float64Array;
  /** The number of samples (plus the prior pseudo-count). */
  count: number;

  /**
   * @param size the number of elements per sample.
   * @param initialCount the prior pseudo-count (mean 0, variance 1), default 0.
   */
  constructor(size: number, initialCount = 0) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`RunningMeanStd: bad size ${size}`);
    if (!Number.isFinite(initialCount) || initialCount < 0) {
      throw new RangeError(`RunningMeanStd: initialCount must be a finite number >= 0, got ${initialCount}`);
    }
    this.mean = new Float64Array(size);
    this.var = new Float64Array(size).fill(1);
    this.count = initialCount;
  }

  /**
   * Merge the moments of a batch: `batchMean`, population `batchVar`, `batchCount` samples.
   */
  updateFromMoments(batchMean: ArrayLike<number>, batchVar: ArrayLike<number>, batchCount: number): void {
    if (batchCount <= 0) return;
    const tot = this.count + batchCount;
    for (let i = 0; i < this.mean.length; i++) {
      const delta = batchMean[i]! - this.mean[i]!;
      const m2 =
        this.var[i]! * this.count +
        batchVar[i]! * batchCount +
        (delta * delta * this.count * batchCount) / tot;
      this.mean[i] = this.mean[i]! + (delta * batchCount) / tot;
      this.var[i] = m2 / tot;
    }
    this.count = tot;
  }

  /** Add one sample (a Welford step). */
  update(x: ArrayLike<number>): void {
    if (x.length !== this.mean.length) {
      throw new RangeError(`RunningMeanStd.update: expected ${this.mean.length} values, got ${x.length}`);
    }
    this.updateFromMoments(x, new Float64Array(x.length), 1);
  }

  /** Add a batch of samples (rows). */
  updateBatch(rows: readonly ArrayLike<number>[]): void {
    const n = rows.length;
    if (n === 0) return;
    const size = this.mean.length;
    const mean = new Float64Array(size);
    const v = new Float64Array(size);
    for (const row of rows) {
      if (row.length !== size)
        throw new RangeError(`RunningMeanStd.updateBatch: expected rows of ${size} values`);
      for (let i = 0; i < size; i++) mean[i]! += row[i]! / n;
    }
    for (const row of rows) for (let i = 0; i < size; i++) v[i]! += (row[i]! - mean[i]!) ** 2 / n;
    this.updateFromMoments(mean, v, n);
  }

  /** A JSON-safe copy of the statistics. */
  getState(): RunningMeanStdState {
    return { mean: Array.from(this.mean), var: Array.from(this.var), count: this.count };
  }

  /** Restore statistics from {@link RunningMeanStd.getState} (validated). */
  setState(s: RunningMeanStdState): void {
    const n = this.mean.length;
    if (
      s === null ||
      typeof s !== 'object' ||
      !isFiniteNumberArray(s.mean, n) ||
      !isFiniteNumberArray(s.var, n) ||
      s.var.some((v) => v < 0) ||
      typeof s.count !== 'number' ||
      !Number.isFinite(s.count) ||
      s.count < 0
    ) {
      throw new RangeError(
        `RunningMeanStd.setState: expected { mean: ${n} numbers, var: ${n} numbers >= 0, count >= 0 }, got ${JSON.stringify(s)}`,
      );
    }
    this.mean = Float64Array.from(s.mean);
    this.var = Float64Array.from(s.var);
    this.count = s.count;
  }
}

/** Options of {@link NormalizeObservation}. */
export interface NormalizeObservationOptions {
  /** Added to the variance before the square root (default 1e-8, as Gymnasium). */
  eps?: number;
  /** Clip normalised observations to `[-clip, clip]` (default: no clipping). */
  clip?: number;
  /** Whether observations update the statistics (default true); set false to evaluate. */
  update?: boolean;
  /** The prior pseudo-count of the statistics (default 0; Gymnasium uses 1e-4). */
  initialCount?: number;
}

/**
 * Normalise observations to roughly zero mean and unit variance with running statistics:
 * `(obs - mean) / sqrt(var + eps)`, optionally clipped to `[-clip, clip]`. Every
 * observation (those from `reset` too) first updates the statistics while `update` is
 * true, as Gymnasium's `NormalizeObservation` does; set `update = false` (or
 * `frozen = true`) on an evaluation env, and copy statistics across with
 * {@link NormalizeObservation.getStatistics} / {@link NormalizeObservation.setStatistics}.
 */
export class NormalizeObservation<E extends Env = Env> extends Wrapper<E> {
  /** `'NormalizeObservation'`. */
  readonly wrapperName = 'NormalizeObservation';
  /** The running statistics. */
  readonly rms: RunningMeanStd;
  /** The variance epsilon. */
  readonly eps: number;
  /** The clipping bound, or undefined. */
  readonly clip: number | undefined;
  /** Whether new observations update the statistics. */
  update: boolean;
  private readonly space: Box;

  /**
   * @param env the env.
   * @param options see {@link NormalizeObservationOptions}.
   */
  constructor(env: E, options: NormalizeObservationOptions = {}) {
    super(env);
    const who = `NormalizeObservation(${String(env)})`;
    const eps = options.eps ?? 1e-8;
    if (!Number.isFinite(eps) || eps < 0)
      throw new EnvError(who, 'constructor', `eps must be >= 0, got ${eps}`);
    if (options.clip !== undefined && !(options.clip > 0)) {
      throw new EnvError(who, 'constructor', `clip must be > 0, got ${options.clip}`);
    }
    this.eps = eps;
    this.clip = options.clip;
    this.update = options.update ?? true;
    const shape = env.observationSpace.shape;
    this.rms = new RunningMeanStd(env.observationSpace.size, options.initialCount ?? 0);
    const bound = this.clip ?? Number.POSITIVE_INFINITY;
    this.space = new Box(-bound, bound, shape);
  }

  /** `[-clip, clip]` (or unbounded) with the inner shape. */
  override get observationSpace(): Box {
    return this.space;
  }

  /** The negation of `update`: true while the statistics are frozen. */
  get frozen(): boolean {
    return !this.update;
  }
  set frozen(value: boolean) {
    this.update = !value;
  }

  /** Normalise an observation with the current statistics (does not update them). */
  normalize(observation: ArrayLike<number>): Float64Array {
    const out = new Float64Array(observation.length);
    const { mean } = this.rms;
    const variance = this.rms.var;
    for (let i = 0; i < out.length; i++) {
      let v = (observation[i]! - mean[i]!) / Math.sqrt(variance[i]! + this.eps);
      if (this.clip !== undefined) v = Math.min(Math.max(v, -this.clip), this.clip);
      out[i] = v;
    }
    return out;
  }

  private process(observation: Float64Array): Float64Array {
    if (this.update) this.rms.update(observation);
    return this.normalize(observation);
  }

  /** Reset the inner env; update the statistics with and normalise the first observation. */
  override reset(opts?: ResetOptions): ResetResult {
    const r = this.env.reset(opts);
    return { ...r, observation: this.process(r.observation) };
  }

  /** Step the inner env; update the statistics with and normalise the observation. */
  override step(action: ArrayLike<number>): StepResult {
    const r = this.env.step(action);
    return { ...r, observation: this.process(r.observation) };
  }

  /** A JSON-safe copy of the running statistics (for checkpoints or an evaluation env). */
  getStatistics(): RunningMeanStdState {
    return this.rms.getState();
  }

  /** Replace the running statistics. */
  setStatistics(state: RunningMeanStdState): void {
    try {
      this.rms.setState(state);
    } catch (e) {
      throw new EnvError(this.toString(), 'setStatistics', (e as Error).message);
    }
  }

  protected override wrapperState(): Record<string, JsonValue> {
    return { rms: { ...this.rms.getState() }, update: this.update };
  }

  protected override restoreWrapperState(s: EnvState): void {
    if (typeof s.update !== 'boolean') {
      throw new EnvError(this.toString(), 'setState', 'malformed NormalizeObservation snapshot (update)');
    }
    this.setStatistics(s.rms as unknown as RunningMeanStdState);
    this.update = s.update;
  }
}

/** One recorded episode. */
export interface EpisodeRecord {
  /** `length + 1` observations: the reset observation, then one per step. */
  observations: Float64Array[];
  /** The actions as passed to `step` (before any clipping), one per step. */
  actions: Float64Array[];
  /** The rewards, one per step. */
  rewards: number[];
  /** The sum of the rewards. */
  return: number;
  /** The number of steps. */
  length: number;
  /** Whether the last step terminated. */
  terminated: boolean;
  /** Whether the last step was truncated. */
  truncated: boolean;
}

function emptyEpisode(first: Float64Array): EpisodeRecord {
  return {
    observations: [Float64Array.from(first)],
    actions: [],
    rewards: [],
    return: 0,
    length: 0,
    terminated: false,
    truncated: false,
  };
}

/**
 * Record episodes: the per-step observations, actions and rewards of the current and of
 * the last completed episode, and the return and length of every completed episode. On the
 * last step of an episode `info.episode = { return, length }` is added (like Gymnasium's
 * `RecordEpisodeStatistics`). An episode abandoned by a `reset` before it ended is dropped.
 *
 * It records what it sees: put it inside `ScaleReward` / `NormalizeObservation` to record
 * raw rewards and observations, outside to record the transformed ones.
 */
export class RecordEpisode<E extends Env = Env> extends Wrapper<E> {
  /** `'RecordEpisode'`. */
  readonly wrapperName = 'RecordEpisode';
  /** The return of every completed episode, oldest first. */
  readonly episodeReturns: number[] = [];
  /** The length of every completed episode, oldest first. */
  readonly episodeLengths: number[] = [];
  private current: EpisodeRecord | null = null;
  private last: EpisodeRecord | null = null;

  /** The episode in progress (null before the first reset or once it ended). */
  get currentEpisode(): EpisodeRecord | null {
    return this.current;
  }
  /** The last completed episode (null until one ends). */
  get lastEpisode(): EpisodeRecord | null {
    return this.last;
  }
  /** The number of completed episodes. */
  get episodeCount(): number {
    return this.episodeReturns.length;
  }

  /** Reset the inner env and start recording a new episode. */
  override reset(opts?: ResetOptions): ResetResult {
    const r = this.env.reset(opts);
    this.current = emptyEpisode(r.observation);
    return r;
  }

  /** Step the inner env and record the transition. */
  override step(action: ArrayLike<number>): StepResult {
    const actionCopy = Float64Array.from(action);
    const r = this.env.step(action);
    const ep = this.current;
    if (ep === null) return r; // the inner env accepted a step we did not see the reset of
    ep.observations.push(Float64Array.from(r.observation));
    ep.actions.push(actionCopy);
    ep.rewards.push(r.reward);
    ep.return += r.reward;
    ep.length++;
    if (!r.terminated && !r.truncated) return r;
    ep.terminated = r.terminated;
    ep.truncated = r.truncated;
    this.last = ep;
    this.current = null;
    this.episodeReturns.push(ep.return);
    this.episodeLengths.push(ep.length);
    return { ...r, info: { ...r.info, episode: { return: ep.return, length: ep.length } } };
  }

  protected override wrapperState(): Record<string, JsonValue> {
    const enc = (e: EpisodeRecord | null): JsonValue =>
      e === null
        ? null
        : {
            observations: e.observations.map((o) => Array.from(o)),
            actions: e.actions.map((a) => Array.from(a)),
            rewards: [...e.rewards],
            return: e.return,
            length: e.length,
            terminated: e.terminated,
            truncated: e.truncated,
          };
    return {
      episodeReturns: [...this.episodeReturns],
      episodeLengths: [...this.episodeLengths],
      current: enc(this.current),
      last: enc(this.last),
    };
  }

  protected override restoreWrapperState(s: EnvState): void {
    const bad = (): never => {
      throw new EnvError(this.toString(), 'setState', 'malformed RecordEpisode snapshot');
    };
    const nums = (v: JsonValue | undefined): number[] =>
      Array.isArray(v) && v.every((e) => typeof e === 'number') ? (v as number[]) : bad();
    const dec = (v: JsonValue | undefined): EpisodeRecord | null => {
      if (v === null) return null;
      if (typeof v !== 'object' || v === undefined || Array.isArray(v)) return bad();
      const rows = (w: JsonValue | undefined): Float64Array[] =>
        Array.isArray(w) ? w.map((row) => Float64Array.from(nums(row))) : bad();
      const { terminated, truncated } = v;
      if (typeof v.return !== 'number' || typeof v.length !== 'number') bad();
      if (typeof terminated !== 'boolean' || typeof truncated !== 'boolean') bad();
      return {
        observations: rows(v.observations),
        actions: rows(v.actions),
        rewards: nums(v.rewards),
        return: v.return as number,
        length: v.length as number,
        terminated: terminated as boolean,
        truncated: truncated as boolean,
      };
    };
    const returns = nums(s.episodeReturns);
    const lengths = nums(s.episodeLengths);
    const current = dec(s.current);
    const last = dec(s.last);
    this.episodeReturns.splice(0, this.episodeReturns.length, ...returns);
    this.episodeLengths.splice(0, this.episodeLengths.length, ...lengths);
    this.current = current;
    this.last = last;
  }
}

/**
 * Find the first env of class `ctor` in a wrapper chain (the env itself, its `env`, ...).
 *
 * @example
 * ```ts
 * const lqr = findEnv(makeEnv('LQR-v0'), LqrEnv)!;
 * lqr.optimalGain();
 * ```
 */
export function findEnv<T extends Env>(env: Env, ctor: abstract new (...args: never[]) => T): T | undefined {
  let e: Env | undefined = env;
  while (e !== undefined) {
    if (e instanceof ctor) return e;
    e = e instanceof Wrapper ? (e.env as Env) : undefined;
  }
  return undefined;
}
