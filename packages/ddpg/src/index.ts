/**
 * @chainrule/ddpg: Gymnasium-style environments, replay, exploration noise, the DDPG /
 * TD3 / DPG agents, the trainer and the chainrule-ddpg CLI.
 * @module
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
export { Actor, Critic, type NetworkOptions } from './networks.ts';
export * from './noise.ts';
export { learningCurveSvg, renderVegaLite } from './plots.ts';
export { episodeSvg, type Frame } from './render.ts';
export { type Batch, type ReplayBatch, ReplayBuffer } from './replay.ts';
export {
  type Agent,
  type EpisodeMetrics,
  type EvalMetrics,
  evaluate,
  type LoadedRun,
  loadRun,
  makeAgent,
  optimalReturnMean,
  type Progress,
  recordEpisode,
  type Summary,
  type TrainOptions,
  train,
} from './trainer.ts';
