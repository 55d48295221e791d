/**
 * A writer of TensorBoard event files: scalars and session-log events, framed as TFRecords,
 * appended to `events.out.tfevents.<seconds>.<host>.<pid>.<n>` in a directory, which
 * `tensorboard --logdir` shows as one run.
 *
 * Records wait in memory until {@link TensorBoardWriter.flush} appends them with one write.
 * The file is appended to, not replaced atomically: a crash can leave a torn last record,
 * which TensorBoard's readers treat as the end of the file (both CRCs reject it). A run that
 * continues after a crash writes a new file, so nothing is ever appended after a torn record.
 * @module
 */
import { closeSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type EventContent, encodeEvent, FILE_VERSION, type Scalar } from './event.ts';
import { tfRecord } from './tfRecord.ts';

/** Options of a {@link TensorBoardWriter}. */
export interface TensorBoardWriterOptions {
  /** The clock, in seconds since the epoch: the file name and default wall times (default `Date.now() / 1000`). */
  now?: () => number;
  /** The host in the file name (default `os.hostname()`). */
  hostname?: string;
}

const EVENT_FILE = /^events\.out\.tfevents\.(\d+)\./;

/** Writers made in this process, so two in the same second and directory get distinct names (TensorFlow counts the same way). */
let writersMade = 0;

/** The event files in `dir` that TensorBoard would read, in the order it reads them (by name). */
export function eventFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.includes('tfevents'))
    .sort();
}

function checkStep(op: string, step: number): void {
  if (!Number.isSafeInteger(step))
    throw new Error(`TensorBoardWriter.${op}: step must be an integer (an int64), got ${step}`);
}

/** Appends scalars and session-log events to a new event file in a directory. */
export class TensorBoardWriter {
  /** The event file this writer appends to. */
  readonly path: string;
  private fd: number | undefined;
  private pending: Uint8Array[] = [];
  private readonly now: () => number;

  /** Create `dir` if needed and start a new event file there, its first record the file version. */
  constructor(
    readonly dir: string,
    options: TensorBoardWriterOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now() / 1000);
    const host = (options.hostname ?? hostname()).replace(/[^\w.-]/g, '_');
    mkdirSync(dir, { recursive: true });
    // TensorBoard reads a run's files in name order and assumes a later name holds later
    // events. With a clock that went back, or a second file within the same second, the
    // time in the name is moved past the newest existing file's.
    const newest = eventFiles(dir)
      .filter((f) => EVENT_FILE.test(f))
      .at(-1);
    const newestSeconds = Number(newest?.match(EVENT_FILE)?.[1] ?? -1);
    let seconds = Math.floor(this.now());
    const counter = writersMade++;
    const name = () =>
      `events.out.tfevents.${String(seconds).padStart(10, '0')}.${host}.${process.pid}.${counter}`;
    if (newest !== undefined && name() <= newest) seconds = Math.max(seconds, newestSeconds) + 1;
    this.path = join(dir, name());
    try {
      // 'ax': fail rather than append to a file some other writer owns.
      this.fd = openSync(this.path, 'ax');
    } catch (e) {
      throw new Error(`TensorBoardWriter: cannot create ${this.path}: ${(e as Error).message}`);
    }
    this.add(0, { kind: 'fileVersion', fileVersion: FILE_VERSION }, this.now());
    this.flush();
  }

  /** Queue one scalar at `step`. */
  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.addScalars([{ tag, value }], step, wallTime);
  }

  /** Queue several scalars at `step` as one event (one summary with a value per tag). */
  addScalars(scalars: readonly Scalar[], step: number, wallTime?: number): void {
    checkStep('addScalars', step);
    for (const { tag, value } of scalars) {
      if (typeof tag !== 'string' || tag === '')
        throw new Error(
          `TensorBoardWriter.addScalars: a tag must be a non-empty string, got ${JSON.stringify(tag)}`,
        );
      if (typeof value !== 'number')
        throw new Error(
          `TensorBoardWriter.addScalars: the value of ${tag} must be a number, got ${typeof value}`,
        );
    }
    if (scalars.length > 0) this.add(step, { kind: 'scalars', scalars }, wallTime);
  }

  /**
   * Queue a `SessionLog START` at `step`. TensorBoard takes every START of a run after its
   * first as a restart and drops the values it read earlier at `step` or later: a run resumed
   * from a checkpoint marks the first step it will log, so the steps its killed predecessor
   * logged after that checkpoint vanish instead of standing beside the new ones.
   */
  addSessionStart(step: number, wallTime?: number): void {
    checkStep('addSessionStart', step);
    this.add(step, { kind: 'sessionLog', status: 'START' }, wallTime);
  }

  /** Append the queued records to the file, in one write. */
  flush(): void {
    const fd = this.open('flush');
    if (this.pending.length === 0) return;
    const bytes = Buffer.concat(this.pending);
    this.pending = [];
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(fd, bytes, written);
    } catch (e) {
      throw new Error(`TensorBoardWriter: cannot append to ${this.path}: ${(e as Error).message}`);
    }
  }

  /** Flush and close the file. Closing twice is allowed; anything else after it is an error. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }

  private open(op: string): number {
    if (this.fd === undefined) throw new Error(`TensorBoardWriter.${op}: ${this.path} is already closed`);
    return this.fd;
  }

  private add(step: number, content: EventContent, wallTime: number | undefined): void {
    this.open('add');
    this.pending.push(tfRecord(encodeEvent(wallTime ?? this.now(), step, content)));
  }
}
