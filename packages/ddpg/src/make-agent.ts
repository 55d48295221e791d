/**
 * Building the agent a config names. Browser-safe, unlike the trainer that uses it.
 * @module
 */
import { DDPG, TD3 } from './agent.ts';
import type { AgentConfig } from './config.ts';
import { DPG } from './dpg.ts';
import type { Env } from './envs/index.ts';

/** An agent the trainer can drive. */
export type Agent = DDPG | DPG;

/** Build the agent of `config.algo` for an env. */
export function makeAgent(env: Env, config: AgentConfig, seed: number): Agent {
  const spaces = {
    obsDim: env.observationSpace.size,
    actDim: env.actionSpace.size,
    actionLow: env.actionSpace.low,
    actionHigh: env.actionSpace.high,
  };
  if (config.algo === 'td3') return new TD3(spaces, config, seed);
  if (config.algo === 'dpg') return new DPG(spaces, config, seed);
  return new DDPG(spaces, config, seed);
}
