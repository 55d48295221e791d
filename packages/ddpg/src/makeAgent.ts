/**
 * The agent a config asks for (browser-safe: no file system).
 * @module
 */
import { ActorCriticAgent, type AgentSpaces, type Algorithm } from './actorCritic.ts';
import { ALGORITHMS } from './algorithms.ts';
import type { AgentConfig } from './config.ts';
import type { Env } from './envs/index.ts';

/** The agent of `config.algo` for the given spaces: the shared agent with that algorithm's update. */
export function createAgent<C extends AgentConfig>(
  spaces: AgentSpaces,
  config: C,
  seed: number,
): ActorCriticAgent<C> {
  const algorithm = ALGORITHMS[config.algo] as unknown as Algorithm<C> | undefined;
  if (!algorithm)
    throw new Error(`unknown algo "${config.algo}"; known: ${Object.keys(ALGORITHMS).join(', ')}`);
  return new ActorCriticAgent(spaces, config, seed, algorithm);
}

/** Build the agent of `config.algo` for an env. */
export function makeAgent<C extends AgentConfig>(env: Env, config: C, seed: number): ActorCriticAgent<C> {
  return createAgent(
    {
      obsDim: env.observationSpace.size,
      actDim: env.actionSpace.size,
      actionLow: env.actionSpace.low,
      actionHigh: env.actionSpace.high,
    },
    config,
    seed,
  );
}
