/**
 * Policy evaluation: mean return over a fixed, seeded set of episodes.
 * @module
 */
import { EnvError } from './errors.ts';
import type { Env } from './types.ts';

/** A deterministic policy: observation in, action out. */
export type Policy = (observation: Float64Array) => ArrayLike<number>;

/** Options of {@link rolloutPolicy}. */
export interface RolloutOptions {
  /** The number of episodes (default 10). */
  episodes?: number;
  /** Episode `i` is started with `reset({ seed: seed + i })` (default 0). */
  seed?: number;
  /**
   * Stop an episode after this many steps even without termination/truncation (default:
   * the env's `maxEpisodeSteps`; required when the env has none, e.g. an unwrapped Pendulum).
   */
  maxSteps?: number;
}

/** Statistics of {@link rolloutPolicy}. */
export interface RolloutResult {
  /** The mean undiscounted return. */
  meanReturn: number;
  /** The population standard deviation of the returns. */
  stdReturn: number;
  /** The smallest return. */
  minReturn: number;
  /** The largest return. */
  maxReturn: number;
  /** The mean episode length. */
  meanLength: number;
  /** Every episode's return, in order. */
  returns: number[];
  /** Every episode's length, in order. */
  lengths: number[];
}

/**
 * Run `policy` for a fixed set of seeded episodes and report the returns. Episode `i`
 * starts from `reset({ seed: seed + i })`, so two policies evaluated with the same seed
 * face exactly the same initial states, whatever they do.
 *
 * This re-seeds and resets `env`: use a dedicated evaluation env (and freeze any
 * `NormalizeObservation` statistics in it).
 *
 * @param env the environment (usually wrapped in a `TimeLimit`).
 * @param policy maps an observation to an action.
 * @param options see {@link RolloutOptions}.
 */
export function rolloutPolicy(env: Env, policy: Policy, options: RolloutOptions = {}): RolloutResult {
  const episodes = options.episodes ?? 10;
  const seed = options.seed ?? 0;
  const maxSteps = options.maxSteps ?? env.maxEpisodeSteps;
  if (!Number.isInteger(episodes) || episodes < 1) {
    throw new EnvError(env.id, 'rolloutPolicy', `episodes must be a positive integer, got ${episodes}`);
  }
  if (maxSteps === undefined) {
    throw new EnvError(
      env.id,
      'rolloutPolicy',
      'the env has no maxEpisodeSteps (no TimeLimit); pass options.maxSteps so episodes end',
    );
  }
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw new EnvError(env.id, 'rolloutPolicy', `maxSteps must be a positive integer, got ${maxSteps}`);
  }
  const returns: number[] = [];
  const lengths: number[] = [];
  for (let ep = 0; ep < episodes; ep++) {
    let obs = env.reset({ seed: seed + ep }).observation;
    let ret = 0;
    let len = 0;
    for (;;) {
      const r = env.step(policy(obs));
      ret += r.reward;
      len++;
      obs = r.observation;
      if (r.terminated || r.truncated || len >= maxSteps) break;
    }
    returns.push(ret);
    lengths.push(len);
  }
  const mean = returns.reduce((s, v) => s + v, 0) / episodes;
  const variance = returns.reduce((s, v) => s + (v - mean) ** 2, 0) / episodes;
  return {
    meanReturn: mean,
    stdReturn: Math.sqrt(variance),
    minReturn: Math.min(...returns),
    maxReturn: Math.max(...returns),
    meanLength: lengths.reduce((s, v) => s + v, 0) / episodes,
    returns,
    lengths,
  };
}
