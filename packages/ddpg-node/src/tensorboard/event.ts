/**
 * The `Event` protocol buffer of TensorBoard's event files, encoded from its field numbers
 * (`tensorboard/compat/proto/event.proto` and `summary.proto`). Only what a scalar logger
 * needs is here: the file version, scalar summaries and the session log.
 * @module
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

/** The file version TensorFlow 2 writes as the first event of every file. */
export const FILE_VERSION = 'brain.Event:2';

/** Field numbers of `tensorboard.Event`. */
const EVENT = { wallTime: 1, step: 2, fileVersion: 3, summary: 5, sessionLog: 7 } as const;
/** Field numbers of `tensorboard.Summary` and `Summary.Value`. */
const SUMMARY = { value: 1 } as const;
const SUMMARY_VALUE = { tag: 1, simpleValue: 2 } as const;
/** Field numbers of `tensorboard.SessionLog`. */
const SESSION_LOG = { status: 1 } as const;

/**
 * `SessionLog.SessionStatus`. TensorBoard reads a `START` after the first one of a run as a
 * restart and drops every value it holds at that step or later (`_CheckForRestartAndMaybePurge`).
 */
export const SessionStatus = { START: 1, STOP: 2, CHECKPOINT: 3 } as const;
export type SessionStatus = keyof typeof SessionStatus;

/** One scalar of a summary. */
export interface Scalar {
  tag: string;
  value: number;
}

/** What an event carries: the `what` oneof of `Event`. */
export type EventContent =
  | { kind: 'fileVersion'; fileVersion: string }
  | { kind: 'scalars'; scalars: readonly Scalar[] }
  | { kind: 'sessionLog'; status: SessionStatus };

/**
 * Encode one `Event`. `step` is an int64 (any safe integer); scalar values are stored as
 * float32, so a finite value beyond float32's range becomes ±Infinity, as TensorFlow's cast does.
 */
export function encodeEvent(wallTime: number, step: number, content: EventContent): Uint8Array {
  const w = new BinaryWriter();
  // proto3 leaves fields at their default out; TensorFlow's own files do the same.
  if (wallTime !== 0) w.tag(EVENT.wallTime, WireType.Bit64).double(wallTime);
  if (step !== 0) w.tag(EVENT.step, WireType.Varint).int64(step);
  switch (content.kind) {
    case 'fileVersion':
      w.tag(EVENT.fileVersion, WireType.LengthDelimited).string(content.fileVersion);
      break;
    case 'scalars':
      w.tag(EVENT.summary, WireType.LengthDelimited).fork();
      for (const { tag, value } of content.scalars) {
        w.tag(SUMMARY.value, WireType.LengthDelimited).fork();
        w.tag(SUMMARY_VALUE.tag, WireType.LengthDelimited).string(tag);
        // simple_value sits in a oneof, so it is written even when it is 0.
        w.tag(SUMMARY_VALUE.simpleValue, WireType.Bit32).float(Math.fround(value));
        w.join();
      }
      w.join();
      break;
    case 'sessionLog':
      w.tag(EVENT.sessionLog, WireType.LengthDelimited).fork();
      w.tag(SESSION_LOG.status, WireType.Varint).int32(SessionStatus[content.status]);
      w.join();
      break;
  }
  return w.finish();
}
