/**
 * @chainrule/ddpg: Gymnasium-style environments, replay, exploration noise and the DDPG /
 * TD3 / DPG agents. This entry runs in Node and in browsers; the trainer (run directories,
 * checkpoints), replay-buffer files, plots and the chainrule-ddpg CLI are in
 * `@chainrule/ddpg-node`.
 * @module \@chainrule/ddpg
 */
export {
  ActorCriticAgent,
  type Agent,
  type AgentMeta,
  type AgentSpaces,
  type AgentState,
  type Algorithm,
  type OffPolicyUpdate,
  type OnPolicyUpdate,
  type Transition,
  type UpdateBatch,
  type UpdateStats,
  type UpdateTensors,
} from './actorCritic.ts';
export { ALGORITHMS, type AlgoName } from './algorithms.ts';
export {
  type AgentConfig,
  CONFIG_FIELDS,
  type ConfigOverrides,
  checkConfig,
  configProblems,
  configSchema,
  DEFAULT_PRESET,
  describeIssue,
  FIELD_OWNERS,
  foreignFields,
  formatZodError,
  makeConfig,
  PRESETS,
  type PresetName,
  parseStoredConfig,
  presetDiff,
} from './config.ts';
export { replayFields, type SharedConfig, sharedFields } from './configFields.ts';
export {
  actorStep,
  criticStep,
  type DdpgConfig,
  ddpg,
  ddpgUpdateTensors,
  policyGradient,
  targetQ,
} from './ddpg.ts';
export { type DpgConfig, dpg } from './dpg.ts';
export * from './envs/index.ts';
export {
  CLI_EVAL_SEED_OFFSET,
  type EvaluatePolicyOptions,
  evaluatePolicy,
  makeEvalEnv,
  makeRunEnv,
  optimalReturnMean,
  type PolicyEvaluation,
  RENDER_SEED_OFFSET,
  TRAIN_EVAL_SEED_OFFSET,
} from './evaluatePolicy.ts';
export {
  type CheckpointEvent,
  type EndEvent,
  type EpisodeEvent,
  type EpisodeInProgress,
  type EpisodeMetrics,
  type EvalMetrics,
  type EvaluationEvent,
  type InterruptedEvent,
  type LoopEventBase,
  type LoopState,
  loopStateAt,
  runTrainingLoop,
  type SinkResult,
  type StartEvent,
  type StepEvent,
  type TrainingLoopOptions,
  type TrainingLoopResult,
  type TrainingSink,
  type TrainingSnapshot,
} from './loop.ts';
export { createAgent, makeAgent } from './makeAgent.ts';
export { Actor, Critic, type NetworkOptions } from './networks.ts';
export * from './noise.ts';
export { episodeSvg, type Frame } from './render.ts';
export { type Batch, type ReplayBatch, ReplayBuffer, type ReplayBufferState } from './replay.ts';
export { firstSolved, LQR_COST_RATIO, SOLVE_THRESHOLDS, solveThreshold } from './solve.ts';
export { type Td3Config, td3, td3TargetQ } from './td3.ts';
