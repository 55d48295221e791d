/**
 * The run directory: what a training run leaves on disk, and the only code that writes it.
 *
 *   run.json                 the run's identity and full config (written once, at creation)
 *   metrics.csv/.jsonl       one row per episode, appended as episodes end
 *   eval.csv/.jsonl          one row per evaluation
 *   checkpoints/ckpt-NNNNNN/ a complete checkpoint: agent.safetensors, replay.safetensors,
 *                            state.json (step, RNG and noise state, env state, log offsets)
 *   checkpoints/latest       the name of the newest complete checkpoint
 *   summary.json, learning-curve.svg
 *
 * A checkpoint is written into a temporary directory, fsynced, renamed into place, and only
 * then switched in by an atomic rename of `latest`; a kill at any moment leaves the previous
 * checkpoint intact. The logs are appended between checkpoints, and a resume cuts them back
 * to the offsets the checkpoint recorded, so a resumed run's logs equal an uninterrupted one's.
 * @module
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type {
  AgentConfig,
  AgentMeta,
  EnvState,
  EpisodeMetrics,
  EvalMetrics,
  JsonValue,
  LoopState,
  RunningMeanStdState,
} from '@chainrule/ddpg';

export type { EpisodeMetrics, EvalMetrics };

import type { TrainingSink } from '@chainrule/ddpg';
import { decode, encode, type StateDict } from '@chainrule/nn';

/** run.json: what the run is. Resume takes its config from here. */
export interface RunManifest {
  format: 'chainrule-ddpg-run';
  version: 2;
  env: string;
  seed: number;
  config: AgentConfig;
  /** The steps the run was started for (a resume may extend it). */
  steps: number;
  /** The env's episode step limit override, if any. */
  maxEpisodeSteps: number | null;
  evalEpisodes: number;
  saveReplay: boolean;
  /**
   * The schedule the run was started with, so that `--resume` alone continues it the same
   * way (flags given on resume win). Absent in runs from before they were recorded.
   */
  evalEvery?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  createdAt: string;
}

/** state.json of a checkpoint: the trainer's state besides the tensors. */
export interface CheckpointState {
  /** The run's env and config again, so a checkpoint directory describes itself (the playground loads one). */
  env: string;
  config: AgentConfig;
  step: number;
  episode: number;
  wallSeconds: number;
  agent: AgentMeta;
  envState: EnvState | null;
  normStats: RunningMeanStdState | null;
  lastEval: EvalMetrics | null;
  /** Byte length of each log file at this step (the run directory's position). */
  logOffsets: Record<string, number>;
  replay: boolean;
  /**
   * The training loop's state, with the episode in progress when the checkpoint was taken
   * mid-episode (an interrupted run). Absent in checkpoints from before the loop recorded
   * it, which were all taken at episode ends.
   */
  loop?: LoopState;
  /** Every named sink's position at this checkpoint (absent in older checkpoints: only `logOffsets`). */
  sinks?: Record<string, JsonValue>;
}

/** A checkpoint read back. */
export interface LoadedCheckpoint {
  name: string;
  state: CheckpointState;
  agent: StateDict;
  /** The replay buffer's state ({@link ReplayBuffer.getState} form), if it was saved. */
  replay: { tensors: StateDict; metadata: Record<string, string> } | undefined;
}

const RUN_FILE = 'run.json';
const CHECKPOINTS = 'checkpoints';
const LATEST = 'latest';
const EPISODE_COLUMNS = [
  'episode',
  'step',
  'return',
  'length',
  'avgMaxQ',
  'criticLoss',
  'actorLoss',
  'sigma',
  'wallSeconds',
] as const;
const EVAL_COLUMNS = ['step', 'mean', 'std', 'min', 'max'] as const;
const LOGS: Record<string, string> = {
  'metrics.csv': `${EPISODE_COLUMNS.join(',')}\n`,
  'metrics.jsonl': '',
  'eval.csv': `${EVAL_COLUMNS.join(',')}\n`,
  'eval.jsonl': '',
};

/**
 * Test hook for fault injection: every file operation of a run directory passes through
 * {@link fileOperation}, which counts it. With `CHAINRULE_FAULT_AT=N` in the environment the
 * N-th operation of the process kills it (SIGKILL: no cleanup, like a power cut) instead of
 * running. `log`, when set, records each operation's description.
 */
export const fileOperations: { count: number; log: string[] | undefined } = { count: 0, log: undefined };

function fileOperation<T>(what: string, fn: () => T): T {
  fileOperations.count++;
  fileOperations.log?.push(what);
  const at = process.env.CHAINRULE_FAULT_AT;
  if (at !== undefined && fileOperations.count === Number(at)) process.kill(process.pid, 'SIGKILL');
  return fn();
}

/** Write a file and fsync it (inside a temporary checkpoint directory; the directory's rename makes it visible). */
function writeDurable(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'w');
  try {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncPath(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch {
    // Directory fsync is extra durability only; some platforms refuse it.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function csvLine(values: readonly (string | number | null)[]): string {
  return `${values.map((v) => (v === null ? '' : String(v))).join(',')}\n`;
}

/** A filesystem error as a sentence that names the user's path and says what is wrong. */
export function describeFsError(e: unknown, path: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new Error(`cannot write to ${path}: it is read-only (${code})`);
  if (code === 'ENOSPC') return new Error(`cannot write to ${path}: the disk is full`);
  if (code === 'ENOTDIR') return new Error(`${path}: a parent of it is a file, not a directory`);
  return e instanceof Error ? e : new Error(String(e));
}

function checkpointName(seq: number, step: number): string {
  return `ckpt-${String(seq).padStart(6, '0')}-step-${step}`;
}

function checkpointSeq(name: string): number {
  const m = /^ckpt-(\d+)-step-\d+$/.exec(name);
  return m ? Number(m[1]) : -1;
}

/** The latest checkpoint set cannot be read; `fallback` is the newest older set that can, if any. */
export class CorruptCheckpointError extends Error {
  constructor(
    readonly run: string,
    readonly checkpoint: string,
    readonly reason: string,
    readonly fallback: string | undefined,
  ) {
    super(`the latest checkpoint of ${run}, ${checkpoint}, is corrupt: ${reason}`);
    this.name = 'CorruptCheckpointError';
  }
}

/** Whether `dir` is a run directory (it has a run.json). */
export function isRunDirectory(dir: string): boolean {
  return existsSync(join(dir, RUN_FILE));
}

/** A run directory on disk. Create one with {@link RunDirectory.create}, open one with {@link RunDirectory.open}. */
export class RunDirectory {
  private constructor(
    readonly path: string,
    readonly manifest: RunManifest,
  ) {}

  /**
   * Create a run directory for a new run. A non-empty `path` is refused (naming it and what
   * it holds) unless `force`, which first moves the old contents aside to `<path>.old-<time>`;
   * `movedAside` says where.
   */
  static create(
    path: string,
    manifest: Omit<RunManifest, 'format' | 'version' | 'createdAt'>,
    options: { force?: boolean } = {},
  ): { run: RunDirectory; movedAside: string | undefined } {
    let movedAside: string | undefined;
    const nonEmpty = existsSync(path) && (!statSync(path).isDirectory() || readdirSync(path).length > 0);
    if (nonEmpty) {
      if (!options.force) {
        const what = isRunDirectory(path)
          ? `holds a run (${RunDirectory.describe(path)}); pass --resume to continue it, or --force to start over`
          : 'is not empty and is not a run directory; choose another --out, or pass --force to move it aside';
        throw new Error(`${path} ${what}`);
      }
      movedAside = `${path}.old-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      try {
        renameSync(path, movedAside);
      } catch (e) {
        throw describeFsError(e, path);
      }
    }
    const full: RunManifest = {
      format: 'chainrule-ddpg-run',
      version: 2,
      ...manifest,
      createdAt: new Date().toISOString(),
    };
    try {
      mkdirSync(join(path, CHECKPOINTS), { recursive: true });
      for (const [file, header] of Object.entries(LOGS)) writeDurable(join(path, file), header);
      // run.json last: a directory with it is a complete, resumable (from step 0) run.
      writeDurable(join(path, `${RUN_FILE}.tmp`), `${JSON.stringify(full, null, 2)}\n`);
      renameSync(join(path, `${RUN_FILE}.tmp`), join(path, RUN_FILE));
      fsyncPath(path);
    } catch (e) {
      throw describeFsError(e, path);
    }
    return { run: new RunDirectory(path, full), movedAside };
  }

  /** Open an existing run directory. A missing directory or a corrupt run.json is a clear error naming the path. */
  static open(path: string): RunDirectory {
    const file = join(path, RUN_FILE);
    if (!existsSync(path)) throw new Error(`no run directory at ${path}`);
    if (!existsSync(file)) {
      const old = existsSync(join(path, 'checkpoint', 'manifest.json'))
        ? ' It holds a checkpoint/manifest.json, the layout of chainrule before run directories had run.json and checkpoint sets: train it again to get one.'
        : '';
      throw new Error(`${path} is not a run directory (it has no ${RUN_FILE}; train writes one).${old}`);
    }
    let m: RunManifest;
    try {
      m = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
    } catch (e) {
      throw new Error(`${file} is corrupt: not valid JSON (${(e as Error).message})`);
    }
    if (m?.format !== 'chainrule-ddpg-run' || m.version !== 2 || typeof m.env !== 'string' || !m.config)
      throw new Error(`${file} is corrupt: not a chainrule-ddpg run manifest (version 2)`);
    return new RunDirectory(path, m);
  }

  /** "Pendulum-v1, ddpg (tuned), seed 0, checkpoint at step 5000" for messages. */
  static describe(path: string): string {
    try {
      const run = RunDirectory.open(path);
      const m = run.manifest;
      const latest = run.latestName();
      const at = latest ? `checkpoint at step ${latest.replace(/.*-step-/, '')}` : 'no checkpoint yet';
      return `${m.env}, ${m.config.algo} (${m.config.preset}), seed ${m.seed}, ${at}`;
    } catch (e) {
      return (e as Error).message;
    }
  }

  private get checkpointsDir(): string {
    return join(this.path, CHECKPOINTS);
  }

  /**
   * Remove what a killed process can leave behind: temporary checkpoint directories and
   * files, and checkpoints written after the one `latest` names (never switched in).
   * Returns what was removed.
   */
  removeStaleFiles(): string[] {
    const removed: string[] = [];
    const latestSeq = checkpointSeq(this.latestName() ?? '');
    const remove = (p: string) => {
      rmSync(p, { recursive: true, force: true });
      removed.push(p);
    };
    if (existsSync(this.checkpointsDir)) {
      for (const name of readdirSync(this.checkpointsDir)) {
        const p = join(this.checkpointsDir, name);
        if (name.startsWith('.tmp-') || name.endsWith('.tmp')) remove(p);
        else if (checkpointSeq(name) > latestSeq) remove(p);
      }
    }
    for (const name of readdirSync(this.path)) if (name.endsWith('.tmp')) remove(join(this.path, name));
    return removed;
  }

  /** The name of the checkpoint `latest` points to, if it is complete. */
  latestName(): string | undefined {
    const pointer = join(this.checkpointsDir, LATEST);
    if (!existsSync(pointer)) return undefined;
    const name = readFileSync(pointer, 'utf8').trim();
    return existsSync(join(this.checkpointsDir, name, 'state.json')) ? name : undefined;
  }

  /** Read the latest complete checkpoint (checksums verified), or undefined when there is none. */
  latestCheckpoint(): LoadedCheckpoint | undefined {
    const name = this.latestName();
    if (!name) return undefined;
    try {
      return this.readCheckpoint(name);
    } catch (e) {
      // Name the newest older set that still reads whole, so the error is not a dead end.
      const older = readdirSync(this.checkpointsDir)
        .filter((n) => checkpointSeq(n) >= 0 && checkpointSeq(n) < checkpointSeq(name))
        .sort()
        .reverse();
      const fallback = older.find((n) => {
        try {
          this.readCheckpoint(n);
          return true;
        } catch {
          return false;
        }
      });
      throw new CorruptCheckpointError(this.path, name, (e as Error).message, fallback);
    }
  }

  /** Read the checkpoint set `name` (checksums verified); a missing or corrupt file is an error naming it. */
  readCheckpoint(name: string): LoadedCheckpoint {
    const dir = join(this.checkpointsDir, name);
    const stateFile = join(dir, 'state.json');
    if (!existsSync(stateFile)) throw new Error(`${dir} is not a complete checkpoint set (no state.json)`);
    let state: CheckpointState;
    try {
      state = JSON.parse(readFileSync(stateFile, 'utf8')) as CheckpointState;
    } catch (e) {
      throw new Error(`${stateFile} is corrupt: not valid JSON (${(e as Error).message})`);
    }
    const read = (file: string) => decode(readFileSync(join(dir, file)), join(dir, file));
    return {
      name,
      state,
      agent: read('agent.safetensors').tensors,
      replay: state.replay ? read('replay.safetensors') : undefined,
    };
  }

  /** The names of the complete checkpoint sets, oldest first. */
  checkpointNames(): string[] {
    if (!existsSync(this.checkpointsDir)) return [];
    return readdirSync(this.checkpointsDir)
      .filter((n) => checkpointSeq(n) >= 0 && existsSync(join(this.checkpointsDir, n, 'state.json')))
      .sort();
  }

  /**
   * Make the set `name` the latest (it is read first, so a corrupt one is refused) and
   * remove the sets after it: a resume then continues from it as if they had never been.
   */
  rollBackTo(name: string): void {
    const names = this.checkpointNames();
    if (!names.includes(name))
      throw new Error(
        `--from-checkpoint ${name}: ${this.path} has no such checkpoint set; it has ${names.join(', ') || 'none'}`,
      );
    this.readCheckpoint(name);
    const dir = this.checkpointsDir;
    writeDurable(join(dir, `${LATEST}.tmp`), `${name}\n`);
    renameSync(join(dir, `${LATEST}.tmp`), join(dir, LATEST));
    fsyncPath(dir);
    this.removeStaleFiles();
  }

  /** The current byte length of each log. */
  logOffsets(): Record<string, number> {
    return Object.fromEntries(Object.keys(LOGS).map((f) => [f, statSync(join(this.path, f)).size]));
  }

  /** The logs' byte lengths once they are durable: what a checkpoint may record. */
  durableLogOffsets(): Record<string, number> {
    for (const f of Object.keys(LOGS)) fsyncPath(join(this.path, f));
    return this.logOffsets();
  }

  /** Cut every log back to `offsets` (a checkpoint's), or to its header when there is no checkpoint. */
  truncateLogs(offsets?: Record<string, number>): void {
    for (const [file, header] of Object.entries(LOGS)) {
      const p = join(this.path, file);
      const to = offsets?.[file] ?? Buffer.byteLength(header);
      if (!existsSync(p)) {
        writeDurable(p, header);
        continue;
      }
      const size = statSync(p).size;
      if (size < to)
        throw new Error(`${p} is shorter (${size} bytes) than its checkpoint recorded (${to} bytes)`);
      const fd = openSync(p, 'r+');
      try {
        ftruncateSync(fd, to);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
  }

  /** Append one episode's row to metrics.csv and metrics.jsonl. */
  appendEpisode(e: EpisodeMetrics): void {
    const row = csvLine(EPISODE_COLUMNS.map((c) => e[c]));
    fileOperation('append metrics.csv', () => appendFileSync(join(this.path, 'metrics.csv'), row));
    fileOperation('append metrics.jsonl', () =>
      appendFileSync(join(this.path, 'metrics.jsonl'), `${JSON.stringify(e)}\n`),
    );
  }

  /** Append one evaluation's row to eval.csv and eval.jsonl. */
  appendEval(e: EvalMetrics): void {
    const row = csvLine(EVAL_COLUMNS.map((c) => e[c]));
    fileOperation('append eval.csv', () => appendFileSync(join(this.path, 'eval.csv'), row));
    fileOperation('append eval.jsonl', () =>
      appendFileSync(join(this.path, 'eval.jsonl'), `${JSON.stringify(e)}\n`),
    );
  }

  /** Read back the rows of metrics.jsonl and eval.jsonl. */
  readLogs(): { episodes: EpisodeMetrics[]; evals: EvalMetrics[] } {
    const rows = <R>(file: string): R[] =>
      readFileSync(join(this.path, file), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as R);
    return { episodes: rows('metrics.jsonl'), evals: rows('eval.jsonl') };
  }

  /**
   * Write a complete checkpoint and switch `latest` to it, then keep only the newest `keep`.
   * `state.logOffsets` must come from {@link durableLogOffsets} (the logs durable up to
   * them); without it, it is taken here.
   */
  writeCheckpoint(
    agent: StateDict,
    replay: { tensors: StateDict; metadata: Record<string, string> } | undefined,
    state: Omit<CheckpointState, 'logOffsets' | 'replay'> & { logOffsets?: Record<string, number> },
    keep: number,
  ): string {
    const dir = this.checkpointsDir;
    const logOffsets = state.logOffsets ?? this.durableLogOffsets();
    const full: CheckpointState = { ...state, logOffsets, replay: replay !== undefined };
    const existing = readdirSync(dir).map(checkpointSeq);
    const name = checkpointName(Math.max(0, ...existing) + 1, state.step);
    const tmp = join(dir, `.tmp-${name}`);
    // Each step below is one file operation for fault injection; fsyncs go with the step
    // they make durable (a kill cannot fall between a write and its fsync in a way that
    // differs for the files a resume reads).
    fileOperation(`mkdir ${tmp}`, () => mkdirSync(tmp));
    fileOperation('write agent.safetensors', () =>
      writeDurable(join(tmp, 'agent.safetensors'), encode(agent)),
    );
    if (replay)
      fileOperation('write replay.safetensors', () =>
        writeDurable(join(tmp, 'replay.safetensors'), encode(replay.tensors, replay.metadata)),
      );
    fileOperation('write state.json', () => {
      writeDurable(join(tmp, 'state.json'), `${JSON.stringify(full, null, 2)}\n`);
      fsyncPath(tmp);
    });
    fileOperation(`rename to ${name}`, () => {
      renameSync(tmp, join(dir, name));
      fsyncPath(dir);
    });
    fileOperation('write latest.tmp', () => writeDurable(join(dir, `${LATEST}.tmp`), `${name}\n`));
    fileOperation('rename latest.tmp to latest', () => {
      renameSync(join(dir, `${LATEST}.tmp`), join(dir, LATEST));
      fsyncPath(dir);
    });
    // A set at the same step as the new one is the same state written earlier (a resumed run
    // that ends where it was stopped): drop it, so `keep` counts distinct states.
    const sameStep = readdirSync(dir).filter(
      (n) => n !== name && checkpointSeq(n) >= 0 && n.endsWith(`-step-${state.step}`),
    );
    for (const n of sameStep)
      fileOperation(`remove ${n}`, () => rmSync(join(dir, n), { recursive: true, force: true }));
    const old = readdirSync(dir)
      .filter((n) => checkpointSeq(n) >= 0)
      .sort()
      .slice(0, -Math.max(1, keep));
    for (const n of old)
      fileOperation(`remove ${n}`, () => rmSync(join(dir, n), { recursive: true, force: true }));
    return name;
  }

  /** Write a file at the top of the run directory atomically (summary.json, plots). */
  writeFile(name: string, contents: string): void {
    const p = join(this.path, name);
    fileOperation(`write ${name}`, () => {
      writeDurable(`${p}.tmp`, contents);
      renameSync(`${p}.tmp`, p);
    });
  }
}

/**
 * A default run directory that never collides: `runs/<env>-<algo>-<preset>-s<seed>-<UTC time>`,
 * with `-2`, `-3`, ... appended if that exists too.
 */
export function defaultRunPath(
  root: string,
  parts: { env: string; algo: string; preset: string; seed: number },
  now = new Date(),
): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const base = join(root, `${parts.env}-${parts.algo}-${parts.preset}-s${parts.seed}-${stamp}`);
  let path = base;
  for (let i = 2; existsSync(path); i++) path = `${base}-${i}`;
  return path;
}

/** The name under which the run directory's position (its log offsets) is kept in checkpoints. */
export const RUN_DIRECTORY_SINK = 'run-directory';

/**
 * The training loop's sink that keeps a run directory: one row per episode and evaluation
 * in the logs, and a checkpoint set whenever the loop asks for one. Its position is the
 * logs' byte lengths (made durable first); a resume cuts the logs back to them.
 */
export function runDirectorySink(
  run: RunDirectory,
  o: { env: string; config: AgentConfig; keep: number; saveReplay: boolean },
): TrainingSink {
  return {
    name: RUN_DIRECTORY_SINK,
    position: () => run.durableLogOffsets(),
    rewind: (position) => run.truncateLogs(position as Record<string, number> | undefined),
    episode: (e) => run.appendEpisode(e.row),
    evaluation: (e) => run.appendEval(e.row),
    checkpoint: (e) => {
      const snap = e.snapshot();
      const { loop } = snap;
      run.writeCheckpoint(
        snap.agent.tensors,
        o.saveReplay ? snap.replay : undefined,
        {
          env: o.env,
          config: o.config,
          step: loop.step,
          episode: loop.episode,
          wallSeconds: loop.wallSeconds,
          agent: snap.agent.meta,
          envState: snap.envState,
          normStats: snap.normStats,
          lastEval: loop.lastEval,
          logOffsets: snap.sinks[RUN_DIRECTORY_SINK] as Record<string, number>,
          loop,
          sinks: snap.sinks,
        },
        o.keep,
      );
    },
  };
}
