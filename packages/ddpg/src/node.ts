/**
 * @chainrule/ddpg/node: the Node-only half of `@chainrule/ddpg`: the trainer (run
 * directories, metrics, checkpoints, resume), evaluation of saved runs and replay buffers as
 * files. The `chainrule-ddpg` CLI is built on it.
 * @module \@chainrule/ddpg/node
 */
export { loadReplayBuffer, saveReplayBuffer } from './replay-files.ts';
export {
  type CheckpointState,
  defaultRunPath,
  describeFsError,
  type EpisodeMetrics,
  type EvalMetrics,
  fileOperations,
  isRunDirectory,
  type LoadedCheckpoint,
  RunDirectory,
  type RunManifest,
} from './runDirectory.ts';
export {
  type LoadedRun,
  loadRun,
  type Progress,
  ResumeConflictError,
  type StartInfo,
  type Summary,
  TrainingInterrupted,
  type TrainOptions,
  train,
} from './trainer.ts';
