/**
 * The shared machinery of the built-in environments: seeding, call-order checks,
 * action validation and clipping, named physical state and JSON snapshots.
 * @module
 */
import { Rng, type RngState } from '@chainrule/tensor';
import { EnvError, fmtBounds, fmtValues } from './errors.ts';
import type { Box } from './spaces.ts';
import type { Env, EnvState, JsonValue, ResetOptions, ResetResult, StepResult } from './types.ts';

/**
 * Check an action against an action space and return a clipped copy.
 *
 * @param who the env or wrapper name for the error message.
 * @param action the action passed to `step`.
 * @param space the action space.
 * @returns a new `Float64Array` clipped into `space`.
 * @throws EnvError if `action` is not an array of `space.size` finite numbers.
 */
export function validateAction(who: string, action: ArrayLike<number>, space: Box): Float64Array {
  const expected = `expected ${space.size} finite number(s) in ${fmtBounds(space.low, space.high)}`;
  if (action === null || typeof action !== 'object' || typeof action.length !== 'number') {
    throw new EnvError(who, 'step', `invalid action ${String(action)}: not an array; ${expected}`);
  }
  if (action.length !== space.size) {
    throw new EnvError(
      who,
      'step',
      `invalid action ${fmtValues(action)}: it has ${action.length} element(s); ${expected}`,
    );
  }
  for (let i = 0; i < action.length; i++) {
    const v = action[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new EnvError(
        who,
        'step',
        `invalid action ${fmtValues(action)}: element ${i} is ${String(v)}; ${expected}`,
      );
    }
  }
  return space.clip(action);
}

/**
 * Create the RNG for a seed, with an error naming the env when the seed is invalid.
 * @param who the env name for the error message.
 * @param seed a non-negative safe integer.
 * @param method the method named in the error message (default `'reset'`).
 */
export function seededRng(who: string, seed: number, method = 'reset'): Rng {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new EnvError(who, method, `seed must be a non-negative safe integer, got ${String(seed)}`);
  }
  return new Rng(seed);
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What {@link BaseEnv.transition} returns. */
export interface DynamicsStep {
  /** The next physical state. */
  readonly state: Float64Array;
  /** The reward of the transition. */
  readonly reward: number;
  /** Whether the next state is terminal. */
  readonly terminated: boolean;
}

/** Options shared by every built-in environment's constructor. */
export interface BaseEnvOptions {
  /**
   * The seed of the env's RNG until the first `reset({ seed })` (default 0). Gymnasium
   * seeds from OS entropy instead; here everything is deterministic.
   */
  seed?: number;
}

/**
 * Base class of the built-in environments. Subclasses describe the physics
 * ({@link BaseEnv.transition}), the observation ({@link BaseEnv.observe}) and the initial
 * state distribution ({@link BaseEnv.sampleInitialState}); this class enforces the
 * {@link Env} contract around them.
 */
export abstract class BaseEnv implements Env {
  /** The registered id, e.g. `'Pendulum-v1'`. */
  abstract readonly id: string;
  /** The observation space. */
  abstract readonly observationSpace: Box;
  /** The action space; actions are clipped into it before the physics sees them. */
  abstract readonly actionSpace: Box;
  /** The names of the physical state variables, in state-vector order. */
  abstract readonly stateNames: readonly string[];

  /** The env's own RNG (re-created by `reset({ seed })`). */
  protected rng: Rng;
  /** The physical state, or null before the first reset. */
  protected state: Float64Array | null = null;
  /** The last (clipped) action applied, or null right after a reset. */
  protected lastAction: Float64Array | null = null;
  /** True once the episode reached a terminal state. */
  protected terminated = false;

  /** @param options see {@link BaseEnvOptions}. */
  constructor(options: BaseEnvOptions = {}) {
    this.rng = seededRng(new.target.name, options.seed ?? 0, 'constructor');
  }

  /** An unwrapped env is its own innermost env. */
  get unwrapped(): Env {
    return this;
  }

  /** Draw an initial physical state from `rng`. */
  protected abstract sampleInitialState(rng: Rng): Float64Array;
  /**
   * The physics: the next state, the reward and termination, for the action clipped into
   * the action space. `rawAction` is the action as given (validated, not clipped), for envs
   * whose Gymnasium reward charges it (MountainCarContinuous-v0).
   */
  protected abstract transition(
    state: Float64Array,
    action: Float64Array,
    rawAction: Float64Array,
  ): DynamicsStep;
  /** The observation of a physical state (a fresh array). */
  protected abstract observe(state: Float64Array): Float64Array;
  /** The constructor options that change the dynamics, stored in snapshots and checked on restore. */
  protected abstract config(): JsonValue;

  /**
   * Validate a user-supplied initial state (already checked to be finite); throw an
   * EnvError if it is outside the env's state space. The default accepts everything.
   */
  protected checkInitialState(_state: Float64Array): void {}

  /** Extra named quantities for {@link BaseEnv.physicalState} (e.g. the last torque). */
  protected extraPhysicalState(): Record<string, number> {
    return {};
  }

  /** Start a new episode; see {@link ResetOptions}. */
  reset(opts: ResetOptions = {}): ResetResult {
    if (opts === null || typeof opts !== 'object') {
      throw new EnvError(this.id, 'reset', `options must be an object, got ${String(opts)}`);
    }
    if (opts.seed !== undefined) this.rng = seededRng(this.id, opts.seed);
    const state = opts.initialState !== undefined ? this.parseNamedState(opts.initialState) : null;
    this.state = state ?? this.sampleInitialState(this.rng);
    this.lastAction = null;
    this.terminated = false;
    return { observation: this.observe(this.state), info: {} };
  }

  private parseNamedState(named: Readonly<Record<string, number>>): Float64Array {
    const names = this.stateNames;
    const expected = `expected { ${names.join(', ')} } (finite numbers)`;
    if (named === null || typeof named !== 'object') {
      throw new EnvError(this.id, 'reset', `initialState must be an object; ${expected}`);
    }
    const unknown = Object.keys(named).filter((k) => !names.includes(k));
    if (unknown.length > 0) {
      throw new EnvError(
        this.id,
        'reset',
        `initialState has unknown key(s) ${unknown.join(', ')}; ${expected}`,
      );
    }
    const x = new Float64Array(names.length);
    names.forEach((name, i) => {
      const v = named[name];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new EnvError(this.id, 'reset', `initialState.${name} is ${String(v)}; ${expected}`);
      }
      x[i] = v;
    });
    this.checkInitialState(x);
    return x;
  }

  /** Apply one action (clipped into the action space) and advance one time step. */
  step(action: ArrayLike<number>): StepResult {
    if (this.state === null) {
      throw new EnvError(this.id, 'step', 'called before reset(); call reset() to start an episode');
    }
    if (this.terminated) {
      throw new EnvError(this.id, 'step', 'the episode has terminated; call reset() before stepping again');
    }
    const u = validateAction(this.id, action, this.actionSpace);
    const t = this.transition(this.state, u, Float64Array.from(action));
    this.state = t.state;
    this.lastAction = u;
    this.terminated = t.terminated;
    return {
      observation: this.observe(t.state),
      reward: t.reward,
      terminated: t.terminated,
      truncated: false,
      info: {},
    };
  }

  /** The current physical state by name (see {@link BaseEnv.stateNames}). Throws before reset. */
  physicalState(): Record<string, number> {
    if (this.state === null) {
      throw new EnvError(this.id, 'physicalState', 'called before reset(); there is no state yet');
    }
    const out: Record<string, number> = {};
    this.stateNames.forEach((name, i) => {
      out[name] = this.state![i]!;
    });
    return { ...out, ...this.extraPhysicalState() };
  }

  /** A JSON-safe snapshot: RNG, physical state, last action, termination flag and config. */
  getState(): EnvState {
    return {
      kind: this.id,
      config: this.config(),
      rng: { ...this.rng.getState() },
      state: this.state === null ? null : Array.from(this.state),
      lastAction: this.lastAction === null ? null : Array.from(this.lastAction),
      terminated: this.terminated,
    };
  }

  /**
   * Restore a snapshot from {@link BaseEnv.getState}. The env must have been built with
   * the same options (checked).
   * @throws EnvError if the snapshot is malformed or was taken from a different env/config.
   */
  setState(snapshot: EnvState): void {
    const fail = (why: string): never => {
      throw new EnvError(this.id, 'setState', why);
    };
    if (snapshot === null || typeof snapshot !== 'object')
      fail(`expected a snapshot object, got ${String(snapshot)}`);
    if (snapshot.kind !== this.id) fail(`snapshot is for "${String(snapshot.kind)}", not "${this.id}"`);
    if (!sameJson(snapshot.config, this.config())) {
      fail(
        `snapshot config ${JSON.stringify(snapshot.config)} differs from this env's ${JSON.stringify(this.config())}`,
      );
    }
    const vec = (v: JsonValue | undefined, n: number, what: string): Float64Array | null => {
      if (v === null) return null;
      if (
        !Array.isArray(v) ||
        v.length !== n ||
        v.some((e) => typeof e !== 'number' || !Number.isFinite(e))
      ) {
        return fail(`${what} must be null or ${n} finite numbers, got ${JSON.stringify(v)}`);
      }
      return Float64Array.from(v as number[]);
    };
    const state = vec(snapshot.state, this.stateNames.length, 'state');
    const lastAction = vec(snapshot.lastAction, this.actionSpace.size, 'lastAction');
    if (typeof snapshot.terminated !== 'boolean') fail('terminated must be a boolean');
    const rng = new Rng(0);
    try {
      rng.setState(snapshot.rng as unknown as RngState);
    } catch (e) {
      fail((e as Error).message);
    }
    this.rng = rng;
    this.state = state;
    this.lastAction = lastAction;
    this.terminated = snapshot.terminated as boolean;
  }

  /** The env id. */
  toString(): string {
    return this.id;
  }
}
