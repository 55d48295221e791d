/**
 * @chainrule/ddpg-node: the Node side of `@chainrule/ddpg`: the trainer (run directories,
 * metrics, checkpoints, resume), evaluation of saved runs, replay buffers as files and the
 * learning-curve plots (vega). The `chainrule-ddpg` CLI is built on it.
 * @module \@chainrule/ddpg-node
 */
export { learningCurveSvg, renderVegaLite } from './plots.ts';
export { loadReplayBuffer, saveReplayBuffer } from './replayFiles.ts';
export {
  type CheckpointState,
  CorruptCheckpointError,
  defaultRunPath,
  describeFsError,
  type EpisodeMetrics,
  type EvalMetrics,
  fileOperations,
  isRunDirectory,
  type LoadedCheckpoint,
  RUN_DIRECTORY_SINK,
  RunDirectory,
  type RunManifest,
  runDirectorySink,
} from './runDirectory.ts';
export {
  type LoadedRun,
  loadRun,
  type Progress,
  progressSink,
  ResumeConflictError,
  type StartInfo,
  type Summary,
  TrainingInterrupted,
  type TrainOptions,
  train,
} from './trainer.ts';
