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
  type Transition,
  type UpdateStats,
} from './actorCritic.ts';
export { DDPG, policyGradient, TD3 } from './agent.ts';
export {
  type AgentConfig,
  checkConfig,
  configProblems,
  configSchema,
  DEFAULT_PRESET,
  describeIssue,
  formatZodError,
  makeConfig,
  PRESETS,
  type PresetName,
  presetDiff,
} from './config.ts';
export { DPG } from './dpg.ts';
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
export { makeAgent } from './makeAgent.ts';
export { Actor, Critic, type NetworkOptions } from './networks.ts';
export * from './noise.ts';
export { episodeSvg, type Frame } from './render.ts';
export { type Batch, type ReplayBatch, ReplayBuffer, type ReplayBufferState } from './replay.ts';
export { firstSolved, LQR_COST_RATIO, SOLVE_THRESHOLDS, solveThreshold } from './solve.ts';
