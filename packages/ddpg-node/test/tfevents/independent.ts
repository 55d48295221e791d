/**
 * Readers of event files from outside this project: `protoc --decode` against tfevents.proto,
 * and read_tfevents.py on Python's protobuf and crc32c (Debian: protobuf-compiler,
 * python3-protobuf, python3-crc32c). Each says why it is missing, for the skipped tests' names.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
export const PROTO = here('./tfevents.proto');
const READER = here('./read_tfevents.py');

/** protoc, or why it cannot be used. */
export const protoc: { ok: true } | { ok: false; reason: string } = (() => {
  const r = spawnSync('protoc', ['--version'], { encoding: 'utf8' });
  return r.status === 0
    ? { ok: true }
    : { ok: false, reason: 'protoc not found (apt-get install protobuf-compiler)' };
})();

/** A python3 that has google.protobuf and crc32c (the PATH's, else Debian's), or why there is none. */
export const python: { ok: true; exe: string } | { ok: false; reason: string } = (() => {
  for (const exe of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(exe, ['-c', 'import google.protobuf, crc32c'], { encoding: 'utf8' });
    if (r.status === 0) return { ok: true, exe };
  }
  return {
    ok: false,
    reason: 'no python3 with google.protobuf and crc32c (apt-get install python3-protobuf python3-crc32c)',
  };
})();

/** A test name that says, when the tool is missing, that it is skipped and why. */
export function named(title: string, tool: { ok: true } | { ok: false; reason: string }): string {
  return tool.ok ? title : `${title} [skipped: ${tool.reason}]`;
}

/** The text protoc prints for one Event's bytes. */
export function protocDecode(event: Uint8Array): string {
  return execFileSync(
    'protoc',
    [`--proto_path=${here('.')}`, '--decode=tensorboard.Event', 'tfevents.proto'],
    {
      input: event,
      encoding: 'utf8',
    },
  );
}

export interface PythonEvent {
  wall_time: number;
  step: number;
  file_version?: string;
  session_status?: string;
  scalars?: { tag: string; value: number | string }[];
}
export interface PythonFile {
  file: string;
  records: number;
  torn_bytes: number;
  events: PythonEvent[];
}

/** Each file as read_tfevents.py reads it; a CRC mismatch throws with the script's message. */
export function pythonRead(files: readonly string[]): PythonFile[] {
  if (!python.ok) throw new Error(python.reason);
  const r = spawnSync(python.exe, [READER, ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`read_tfevents.py failed (${r.status}): ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PythonFile);
}

/** A Python scalar as a number ("nan", "inf", "-inf" are how the script writes non-finite ones). */
export function pythonNumber(v: number | string): number {
  if (typeof v === 'number') return v;
  return v === 'nan' ? Number.NaN : v === 'inf' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

/** A run directory's scalars as read_tfevents.py --run reads them: tag → [step, value] pairs in step order. */
export function pythonReadRun(dir: string): Map<string, [number, number][]> {
  if (!python.ok) throw new Error(python.reason);
  const r = spawnSync(python.exe, [READER, '--run', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`read_tfevents.py --run failed (${r.status}): ${r.stderr}`);
  const run = JSON.parse(r.stdout) as Record<string, [number, number | string][]>;
  return new Map(Object.entries(run).map(([tag, s]) => [tag, s.map(([step, v]) => [step, pythonNumber(v)])]));
}
