/**
 * The agent a config asks for (browser-safe: no file system).
 * @module
 */
import type { Agent } from './actorCritic.ts';
import { DDPG, TD3 } from './agent.ts';
import type { AgentConfig } from './config.ts';
import { DPG } from './dpg.ts';
import type { Env } from './envs/index.ts';

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
