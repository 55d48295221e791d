/**
 * TensorBoard event files, written without TensorFlow: {@link TensorBoardWriter} appends
 * scalars to a file that `tensorboard --logdir` reads.
 * @module
 */
export { type EventContent, encodeEvent, FILE_VERSION, type Scalar, SessionStatus } from './event.ts';
export {
  TENSORBOARD_TAGS,
  type TensorBoardEpisode,
  type TensorBoardEvaluation,
  TensorBoardSink,
  type TensorBoardTrainingSink,
  tensorBoardTrainingSink,
} from './sink.ts';
export { crc32c, maskCrc, TF_RECORD_OVERHEAD, tfRecord } from './tfRecord.ts';
export { eventFiles, TensorBoardWriter, type TensorBoardWriterOptions } from './writer.ts';
