/**
 * The environment registry: build an environment by id, already wrapped in its `TimeLimit`,
 * as Gymnasium's `gymnasium.make` does.
 * @module
 */
import { LQR_DEFAULT_HORIZON, LqrEnv, type LqrOptions } from './lqr.ts';
import { MountainCarContinuousEnv, type MountainCarContinuousOptions } from './mountainCar.ts';
import { PendulumEnv, type PendulumOptions } from './pendulum.ts';
import type { Env } from './types.ts';
import { TimeLimit } from './wrappers.ts';

/** The ids {@link makeEnv} knows. */
export type EnvId = 'Pendulum-v1' | 'MountainCarContinuous-v0' | 'LQR-v0';

/** The unwrapped env class of each id. */
export interface EnvTypes {
  /** {@link PendulumEnv}. */
  'Pendulum-v1': PendulumEnv;
  /** {@link MountainCarContinuousEnv}. */
  'MountainCarContinuous-v0': MountainCarContinuousEnv;
  /** {@link LqrEnv}. */
  'LQR-v0': LqrEnv;
}

/** The constructor options of each id. */
export interface EnvOptionTypes {
  /** {@link PendulumOptions}. */
  'Pendulum-v1': PendulumOptions;
  /** {@link MountainCarContinuousOptions}. */
  'MountainCarContinuous-v0': MountainCarContinuousOptions;
  /** {@link LqrOptions}. */
  'LQR-v0': LqrOptions;
}

/** Options understood by {@link makeEnv} for every id. */
export interface MakeEnvOptions {
  /** Override the registered episode step limit (a positive integer). */
  maxEpisodeSteps?: number;
}

/** A registry entry. */
export interface EnvSpec {
  /** The id. */
  readonly id: EnvId;
  /** The registered step limit. */
  readonly maxEpisodeSteps: number;
  /** A one-line description. */
  readonly description: string;
}

const SPECS: readonly EnvSpec[] = [
  {
    id: 'Pendulum-v1',
    maxEpisodeSteps: 200,
    description: 'swing up and balance a pendulum (Gymnasium Pendulum-v1)',
  },
  {
    id: 'MountainCarContinuous-v0',
    maxEpisodeSteps: 999,
    description: 'drive an under-powered car up a hill (Gymnasium MountainCarContinuous-v0)',
  },
  {
    id: 'LQR-v0',
    maxEpisodeSteps: LQR_DEFAULT_HORIZON,
    description: 'regulate a double integrator to the origin; the optimal policy is known (LQR)',
  },
];

/** The registered ids, in registration order. */
export function listEnvs(): EnvId[] {
  return SPECS.map((s) => s.id);
}

/** The registry entry of `id`, or undefined when it is not registered. */
export function envSpec(id: string): EnvSpec | undefined {
  return SPECS.find((s) => s.id === id);
}

/**
 * Build a registered environment wrapped in a `TimeLimit` with the registered step limit
 * (Pendulum-v1: 200, MountainCarContinuous-v0: 999, LQR-v0: 100), or `maxEpisodeSteps`.
 * Other options go to the env's constructor (e.g. `{ g: 9.81 }`, `{ seed: 3 }`).
 *
 * @example
 * ```ts
 * const env = makeEnv('Pendulum-v1');
 * let { observation } = env.reset({ seed: 0 });
 * const lqr = makeEnv('LQR-v0').env; // the LqrEnv itself
 * ```
 * @throws Error `makeEnv: unknown environment "X"; known: Pendulum-v1, MountainCarContinuous-v0, LQR-v0`.
 */
export function makeEnv<K extends EnvId>(
  id: K,
  options?: EnvOptionTypes[K] & MakeEnvOptions,
): TimeLimit<EnvTypes[K]>;
/** Build an environment from an id only known at run time (e.g. a CLI flag). */
export function makeEnv(id: string, options?: Record<string, unknown> & MakeEnvOptions): TimeLimit<Env>;
export function makeEnv(id: string, options: Record<string, unknown> & MakeEnvOptions = {}): TimeLimit<Env> {
  const spec = envSpec(id);
  if (spec === undefined) {
    throw new Error(`makeEnv: unknown environment ${JSON.stringify(id)}; known: ${listEnvs().join(', ')}`);
  }
  const { maxEpisodeSteps, ...envOptions } = options ?? {};
  const limit = maxEpisodeSteps ?? spec.maxEpisodeSteps;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new Error(
      `makeEnv(${JSON.stringify(id)}): maxEpisodeSteps must be a positive integer, got ${String(limit)}`,
    );
  }
  let env: Env;
  switch (spec.id) {
    case 'Pendulum-v1':
      env = new PendulumEnv(envOptions as PendulumOptions);
      break;
    case 'MountainCarContinuous-v0':
      env = new MountainCarContinuousEnv(envOptions as MountainCarContinuousOptions);
      break;
    case 'LQR-v0':
      env = new LqrEnv(envOptions as LqrOptions);
      break;
  }
  return new TimeLimit(env, limit);
}
