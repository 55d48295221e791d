/**
 * The environment interface, with Gymnasium (>= 0.26) semantics: `reset` returns
 * `(observation, info)` and `step` returns `(observation, reward, terminated, truncated, info)`.
 * @module
 */
import type { Box } from './spaces.ts';

/** A JSON value: what {@link Env.getState} snapshots are made of. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A JSON-safe snapshot of an environment (or a wrapper chain): its RNG, its physical
 * state, its step counters and, for wrappers, the snapshot of the wrapped env under `inner`.
 * `kind` names who wrote it (an env id such as `'Pendulum-v1'` or a wrapper name such as
 * `'TimeLimit'`); `setState` checks it. Treat the other fields as opaque.
 */
export interface EnvState {
  /** The env id or wrapper name that produced the snapshot. */
  readonly kind: string;
  /** Implementation-specific JSON fields. */
  readonly [key: string]: JsonValue;
}

/** Options for {@link Env.reset}. */
export interface ResetOptions {
  /**
   * Re-seed the environment's RNG (like Gymnasium's `np_random`) before drawing the
   * initial state. Without a seed the RNG stream simply continues, so a sequence of
   * resets after one seeded reset is reproducible.
   */
  seed?: number;
  /**
   * Start from this named physical state (the keys of {@link Env.physicalState}, e.g.
   * `{ theta: Math.PI / 2, thetaDot: 0 }`) instead of drawing one. The RNG is not used
   * (but is still re-seeded when `seed` is given). Every key must be present.
   */
  initialState?: Readonly<Record<string, number>>;
}

/** What {@link Env.reset} returns. */
export interface ResetResult {
  /** The first observation of the episode (a fresh array, safe to keep). */
  observation: Float64Array;
  /** Auxiliary diagnostics. */
  info: Record<string, unknown>;
}

/** What {@link Env.step} returns. */
export interface StepResult {
  /** The observation after the transition (a fresh array, safe to keep). */
  observation: Float64Array;
  /** The reward for the transition. */
  reward: number;
  /**
   * True when the MDP reached a terminal state (e.g. the car reached the goal): the
   * value of the next state is 0, do not bootstrap.
   */
  terminated: boolean;
  /**
   * True when the episode was cut short for a reason outside the MDP (a time limit): the
   * next state still has a value, bootstrap from it.
   */
  truncated: boolean;
  /** Auxiliary diagnostics (e.g. `episode` statistics from `RecordEpisode`). */
  info: Record<string, unknown>;
}

/**
 * A reinforcement-learning environment with continuous observations and actions.
 *
 * Contract shared by every env and wrapper in this package:
 * - `step` before the first `reset`, or after the episode ended, throws an `EnvError`.
 * - actions outside `actionSpace` are clipped into it (as Gymnasium's continuous-control
 *   envs do internally); NaN/non-finite or wrong-length actions throw an `EnvError` that
 *   names the env, the action and what was expected.
 * - `reset({ seed })` re-seeds the env's own RNG; the same seed gives the same initial state.
 */
export interface Env {
  /** The registered id, e.g. `'Pendulum-v1'` (wrappers report their inner env's id). */
  readonly id: string;
  /** The space every observation lies in. */
  readonly observationSpace: Box;
  /** The space of valid actions. */
  readonly actionSpace: Box;
  /** The episode step limit, when a `TimeLimit` wrapper enforces one. */
  readonly maxEpisodeSteps?: number;
  /** The innermost (unwrapped) environment; an unwrapped env returns itself. */
  readonly unwrapped?: Env;

  /** Start a new episode. */
  reset(opts?: ResetOptions): ResetResult;
  /** Apply one action and advance the environment by one time step. */
  step(action: ArrayLike<number>): StepResult;
  /**
   * The current physical state by name (e.g. `{ theta, thetaDot, torque }` for the
   * pendulum), for renderers and diagnostics. Throws before the first `reset`.
   */
  physicalState(): Record<string, number>;
  /** A JSON-safe snapshot (RNG, physical state, counters) so training can be resumed exactly. */
  getState?(): EnvState;
  /** Restore a snapshot taken by `getState` of an identically built env. */
  setState?(state: EnvState): void;
}
