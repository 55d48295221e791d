/**
 * @chainrule/ddpg: Gymnasium-style environments, replay, exploration noise and the DDPG /
 * TD3 / DPG agents. This entry runs in Node and in browsers; the trainer (run directories,
 * checkpoints), replay-buffer files and the chainrule-ddpg CLI are in `@chainrule/ddpg/node`.
 * @module \@chainrule/ddpg
 */
export {
  type AgentMeta,
  type AgentSpaces,
  DDPG,
  policyGradient,
  TD3,
  type Transition,
  type UpdateStats,
} from './agent.ts';
export {
  type AgentConfig,
  configSchema,
  DEFAULT_PRESET,
  makeConfig,
  PRESETS,
  type PresetName,
} from './config.ts';
export { DPG } from './dpg.ts';
export * from './envs/index.ts';
export { type Agent, makeAgent } from './make-agent.ts';
export { Actor, Critic, type NetworkOptions } from './networks.ts';
export * from './noise.ts';
export { learningCurveSvg, renderVegaLite } from './plots.ts';
export { episodeSvg, type Frame } from './render.ts';
export { type Batch, type ReplayBatch, ReplayBuffer } from './replay.ts';
