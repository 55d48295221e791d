/**
 * @chainrule/ddpg/node: the Node-only half of `@chainrule/ddpg`: the trainer (run
 * directories, metrics, checkpoints, resume), evaluation of saved runs and replay buffers as
 * files. The `chainrule-ddpg` CLI is built on it.
 * @module \@chainrule/ddpg/node
 */
export { loadReplayBuffer, saveReplayBuffer } from './replay-files.ts';
export {
  type EpisodeMetrics,
  type EvalMetrics,
  evaluate,
  type LoadedRun,
  loadRun,
  optimalReturnMean,
  type Progress,
  recordEpisode,
  type Summary,
  type TrainOptions,
  train,
} from './trainer.ts';
