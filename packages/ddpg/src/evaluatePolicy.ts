/**
 * The one place a policy is rolled out without learning: periodic evaluation during
 * training, `chainrule-ddpg eval`, the LQR optimum, and the episodes `render` draws.
 * @module
 */
import type { Agent } from './actorCritic.ts';
import type { AgentConfig } from './config.ts';
import { type Env, LqrEnv, makeEnv, NormalizeObservation, type RunningMeanStdState } from './envs/index.ts';
import type { Frame } from './render.ts';

/**
 * Seeds. Training episodes start from `seed` (the env's own stream continues from there);
 * the trainer's evaluations (eval.csv, summary.json) use `seed + TRAIN_EVAL_SEED_OFFSET + i`
 * for episode i; `chainrule-ddpg eval` defaults to `seed + CLI_EVAL_SEED_OFFSET + i`, fresh
 * episodes the run never saw; `render` defaults to `seed + RENDER_SEED_OFFSET`.
 */
export const TRAIN_EVAL_SEED_OFFSET = 1_000_000;
/** See {@link TRAIN_EVAL_SEED_OFFSET}. */
export const CLI_EVAL_SEED_OFFSET = 2_000_000;
/** See {@link TRAIN_EVAL_SEED_OFFSET}. */
export const RENDER_SEED_OFFSET = 3_000_000;

/** The env a run trains on: the registered env, with observation normalisation if the config asks. */
export function makeRunEnv(
  id: string,
  config: AgentConfig,
  maxEpisodeSteps?: number,
): { env: Env; norm: NormalizeObservation | undefined } {
  let env: Env = makeEnv(id, maxEpisodeSteps ? { maxEpisodeSteps } : {});
  let norm: NormalizeObservation | undefined;
  if (config.normalizeObs) {
    norm = new NormalizeObservation(env);
    env = norm;
  }
  return { env, norm };
}

/**
 * The env a policy is evaluated or watched on: {@link makeRunEnv}'s, with the observation
 * statistics (if the config normalises) frozen at `normStats`.
 */
export function makeEvalEnv(
  id: string,
  config: AgentConfig,
  normStats: RunningMeanStdState | undefined,
): Env {
  const { env, norm } = makeRunEnv(id, config);
  if (norm && normStats) {
    norm.setStatistics(normStats);
    norm.update = false;
  }
  return env;
}

/** Options of {@link evaluatePolicy}. */
export interface EvaluatePolicyOptions {
  /** Episodes to run (default 10). */
  episodes?: number;
  /** Episode i is reset with seed `seed + i` (default 0). */
  seed?: number;
  /** Frozen observation statistics for runs trained with `normalizeObs`. */
  normStats?: RunningMeanStdState | undefined;
  /** Record each episode's frames (the env's physical state after reset and after every step). */
  record?: boolean;
}

/** What {@link evaluatePolicy} returns. */
export interface PolicyEvaluation {
  returns: number[];
  mean: number;
  /** Population standard deviation of the returns. */
  std: number;
  min: number;
  max: number;
  /** Environments with a known optimum (LQR-v0): the optimal policy's mean return on the same episodes. */
  optimalReturnMean?: number;
  /** With `record`: one list of frames per episode. */
  frames?: Frame[][];
}

/**
 * Run the deterministic policy (no exploration) on fresh, seeded episodes of `envId`.
 * Observation normalisation uses frozen statistics.
 */
export function evaluatePolicy(
  agent: Pick<Agent, 'act' | 'config'>,
  envId: string,
  options: EvaluatePolicyOptions = {},
): PolicyEvaluation {
  const episodes = options.episodes ?? 10;
  const seed = options.seed ?? 0;
  const env = makeEvalEnv(envId, agent.config, options.normStats);
  const returns: number[] = [];
  const frames: Frame[][] = [];
  for (let i = 0; i < episodes; i++) {
    let { observation } = env.reset({ seed: seed + i });
    const episode: Frame[] = options.record ? [env.physicalState()] : [];
    let total = 0;
    for (;;) {
      const r = env.step(agent.act(observation, { explore: false }));
      if (options.record) episode.push(env.physicalState());
      total += r.reward;
      observation = r.observation;
      if (r.terminated || r.truncated) break;
    }
    returns.push(total);
    if (options.record) frames.push(episode);
  }
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
  const result: PolicyEvaluation = {
    returns,
    mean,
    std,
    min: Math.min(...returns),
    max: Math.max(...returns),
  };
  const optimal = optimalReturnMean(envId, episodes, seed);
  if (optimal !== undefined) result.optimalReturnMean = optimal;
  if (options.record) result.frames = frames;
  return result;
}

/**
 * For an environment whose optimum is known (LQR-v0), the optimal policy's mean return on
 * the episodes {@link evaluatePolicy} runs with the same `episodes` and `seed`; otherwise undefined.
 */
export function optimalReturnMean(envId: string, episodes: number, seed: number): number | undefined {
  const base = makeEnv(envId).env;
  return base instanceof LqrEnv ? base.evaluateOptimalPolicy(episodes, seed).meanReturn : undefined;
}
