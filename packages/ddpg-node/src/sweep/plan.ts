/**
 * A sweep: every (preset, seed) pair of one environment, each one run of the train CLI in
 * its own directory `<out>/runs/<preset>-s<seed>`. The plan is a pure function of the
 * spec, so a cluster index (JOB_COMPLETION_INDEX) maps to the same run everywhere.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listEnvs, PRESETS } from '@chainrule/ddpg';
import { writeFileAtomicSync } from '@chainrule/nn/node';

/** What a sweep runs. Saved as `<out>/sweep.json`. */
export interface SweepSpec {
  env: string;
  presets: string[];
  seeds: number[];
  steps: number;
  /** Further train CLI flags, the same for every run (e.g. `--eval-episodes 5`). */
  trainArgs: string[];
}

/** One run of a sweep. */
export interface SweepRun {
  /** Position in the plan: presets in the given order, seeds ascending within each. */
  index: number;
  preset: string;
  seed: number;
  /** Directory relative to the sweep's out: `runs/<preset>-s<seed>`. */
  dir: string;
}

/** Parse `0-4`, `0,2,5` or `0-2,7` into ascending, distinct seeds. */
export function parseSeeds(text: string): number[] {
  const seeds = new Set<number>();
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`--seeds: "${part}" is not a seed or a range; expected e.g. 0-4 or 0,2,5`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`--seeds: the range ${part} runs backwards; expected low-high, e.g. 0-4`);
    for (let s = lo; s <= hi; s++) seeds.add(s);
  }
  return [...seeds].sort((a, b) => a - b);
}

/** Parse `tuned,td3` and check each name is a preset. */
export function parsePresets(text: string): string[] {
  const names = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (names.length === 0) throw new Error('--presets: give at least one preset, e.g. tuned,td3');
  for (const n of names)
    if (!(n in PRESETS))
      throw new Error(`--presets: unknown preset "${n}"; expected one of ${Object.keys(PRESETS).join(', ')}`);
  return [...new Set(names)];
}

/** Check a spec's env and steps (presets and seeds are checked by their parsers). */
export function checkSpec(spec: SweepSpec): SweepSpec {
  const envs = listEnvs() as string[];
  if (!envs.includes(spec.env))
    throw new Error(`--env: unknown environment "${spec.env}"; expected one of ${envs.join(', ')}`);
  if (!Number.isInteger(spec.steps) || spec.steps < 1)
    throw new Error(`--steps must be a positive integer, got ${spec.steps}`);
  if (spec.seeds.length === 0) throw new Error('--seeds: give at least one seed, e.g. 0-4');
  return spec;
}

/** The runs of a sweep, in index order. */
export function planRuns(spec: SweepSpec): SweepRun[] {
  const runs: SweepRun[] = [];
  for (const preset of spec.presets)
    for (const seed of spec.seeds)
      runs.push({ index: runs.length, preset, seed, dir: join('runs', `${preset}-s${seed}`) });
  return runs;
}

/** The train CLI arguments of one run (without --resume). */
export function trainArgs(spec: SweepSpec, run: SweepRun, out: string): string[] {
  return [
    '--env',
    spec.env,
    '--preset',
    run.preset,
    '--seed',
    String(run.seed),
    '--steps',
    String(spec.steps),
    ...spec.trainArgs,
    '--out',
    join(out, run.dir),
  ];
}

/**
 * Record the spec in `<out>/sweep.json`, or check it against the one there: a sweep
 * directory holds one sweep, so resuming it with other settings is an error naming them.
 */
export function saveSpec(out: string, spec: SweepSpec): void {
  const file = join(out, 'sweep.json');
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as SweepSpec;
    const differ = (Object.keys(spec) as (keyof SweepSpec)[]).filter(
      (k) => JSON.stringify(stored[k]) !== JSON.stringify(spec[k]),
    );
    if (differ.length > 0)
      throw new Error(
        `${out} holds another sweep: ${differ
          .map((k) => `${k} is ${JSON.stringify(stored[k])} there, ${JSON.stringify(spec[k])} given`)
          .join('; ')}. Use another --out to start a new sweep.`,
      );
    return;
  }
  writeFileAtomicSync(file, `${JSON.stringify(spec, null, 2)}\n`);
}
