#!/usr/bin/env node
/**
 * chainrule-ddpg: train, evaluate and render DDPG / TD3 / DPG agents.
 *
 *   pnpm train                                   # DDPG, tuned preset, Pendulum-v1, 20,000 steps
 *   pnpm train --env Pendulum-v1 --steps 20000 --seed 0 --out runs/p0
 *   pnpm train --out runs/p0 --resume --steps 40000
 *   pnpm train eval --run runs/p0
 *   pnpm train render --run runs/p0 --file pendulum.svg
 * @module
 */

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomicSync } from '@chainrule/nn/node';
import { listBackends, setBackend } from '@chainrule/tensor';
// Registers the gpujs backend (gpu.js itself loads only if --backend gpujs selects it).
import '@chainrule/tensor/gpujs';
import {
  type AgentConfig,
  type AlgoName,
  CLI_EVAL_SEED_OFFSET,
  CONFIG_FIELDS,
  DEFAULT_PRESET,
  describeIssue,
  episodeSvg,
  evaluatePolicy,
  FIELD_OWNERS,
  foreignFields,
  listEnvs,
  makeConfig,
  PRESETS,
  RENDER_SEED_OFFSET,
  TRAIN_EVAL_SEED_OFFSET,
} from '@chainrule/ddpg';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { CorruptCheckpointError, defaultRunPath, describeFsError, RunDirectory } from '../runDirectory.ts';
import {
  loadRun,
  type Progress,
  ResumeConflictError,
  type StartInfo,
  type Summary,
  TrainingInterrupted,
  train,
} from '../trainer.ts';
import { commandLine, pathForUser } from './launcher.ts';

/** An error that ends the CLI with a given exit code and message. */
class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The schema under `.default()` / `.optional()` wrappers. */
function inner(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

/** Parse a flag's text as `schema` says, with the one zod formatter's words on failure. */
function parserFor(flag: string, schema: z.ZodType) {
  const s = inner(schema);
  const isArray = s instanceof z.ZodArray;
  return (text: string): unknown => {
    let value: unknown;
    if (isArray) {
      const parts = text.split(',').filter((p) => p.trim() !== '');
      value = parts.map(Number);
      if (parts.some((p) => !Number.isFinite(Number(p))))
        throw new InvalidArgumentError(`${flag} must be a comma-separated list of numbers, got "${text}".`);
    } else {
      value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value))
        throw new InvalidArgumentError(`${flag} must be a number, got "${text}".`);
    }
    const r = s.safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const at = issue.path.length ? ` (entry ${issue.path.join('.')})` : '';
      throw new InvalidArgumentError(`${flag}${at} ${describeIssue(issue)}, got "${text}".`);
    }
    return r.data;
  };
}

/** Commander options for each field of a zod object: numbers, lists, enums (choices), booleans (--x / --no-x). */
function optionsFromSchema(shape: Record<string, z.ZodType>, skip: readonly string[] = []): Option[] {
  const out: Option[] = [];
  for (const [name, schema] of Object.entries(shape)) {
    if (skip.includes(name)) continue;
    const flag = `--${kebab(name)}`;
    const s = inner(schema);
    const help = schema.description ?? s.description ?? name;
    if (s instanceof z.ZodBoolean) {
      out.push(new Option(flag, help), new Option(`--no-${kebab(name)}`, `opposite of ${flag}`));
    } else if (s instanceof z.ZodEnum) {
      out.push(new Option(`${flag} <name>`, help).choices(s.options.map(String)));
    } else if (s instanceof z.ZodArray) {
      out.push(new Option(`${flag} <n,n,...>`, help).argParser(parserFor(flag, s)));
    } else {
      const integer = s instanceof z.ZodNumber && s.isInt;
      out.push(new Option(`${flag} <${integer ? 'n' : 'x'}>`, help).argParser(parserFor(flag, s)));
    }
  }
  return out;
}

/**
 * The run flags besides hyperparameters, as a schema like the config's (one parser, one
 * formatter). Defaults live in {@link train}; the descriptions say them.
 */
const runFlagSchema = {
  seed: z.number().int().min(0).describe('random seed (default 0)'),
  steps: z
    .number()
    .int()
    .min(1)
    .describe('environment steps (default 20000; on --resume, more extends the run)'),
  maxEpisodes: z.number().int().min(1).describe('train for this many episodes instead of --steps'),
  maxEpisodeLen: z.number().int().min(1).describe("episode step limit (default: the env's)"),
  evalEvery: z.number().int().min(0).describe('evaluate every n steps (0: only at the end; default 1000)'),
  evalEpisodes: z.number().int().min(1).describe('episodes per evaluation (default 10)'),
  checkpointEvery: z
    .number()
    .int()
    .min(0)
    .describe('checkpoint at the first episode end after every n steps (0: only at the end; default 5000)'),
  keepCheckpoints: z.number().int().min(1).describe('checkpoints kept (default 2)'),
};

/** Flags that may differ from the run's on --resume: they do not change what is learned. */
const RESUMABLE_FLAGS = [
  '--steps',
  '--max-episodes',
  '--eval-every',
  '--checkpoint-every',
  '--keep-checkpoints',
  '--no-save-replay',
  '--no-progress',
  '--no-tensorboard',
  '--backend',
  '--from-checkpoint',
  '--json',
];

/** Field names in a {@link ResumeConflictError} → the flag that sets them. */
function flagOf(field: string): string {
  if (field === 'maxEpisodeSteps') return '--max-episode-len';
  return `--${kebab(field.replace(/^config\./, ''))}`;
}

function chooseBackend(name: string | undefined): void {
  if (!name) return;
  // Plain Errors: thrown from an action, a commander error would be swallowed silently by main().
  if (!listBackends().includes(name)) {
    throw new Error(`unknown backend "${name}"; available: ${listBackends().join(', ')}`);
  }
  try {
    setBackend(name);
  } catch (e) {
    // A registered backend that cannot start here, e.g. gpujs without gpu.js installed.
    throw new Error(`backend "${name}" is not usable: ${(e as Error).message}`);
  }
}

type TrainFlags = Partial<AgentConfig> & {
  env?: string;
  seed?: number;
  steps?: number;
  maxEpisodes?: number;
  maxEpisodeLen?: number;
  evalEvery?: number;
  evalEpisodes?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  out?: string;
  backend?: string;
  resume?: boolean;
  force?: boolean;
  fromCheckpoint?: string;
  json?: boolean;
  saveReplay: boolean;
  progress: boolean;
  tensorboard: boolean;
};

function fmt(v: number | undefined, digits = 0): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

/** 75 s → "1m15s"; 3725 s → "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Columns of the progress bar itself. */
export const BAR_WIDTH = 16;

/**
 * The text right of the bar:
 * `12000/20000 | 381 steps/s | ETA 21s | return -150 | eval -160 | avg max Q -12.3`.
 * Parts that would push the line past `columns` (the terminal's width) are left off, last first.
 */
export function progressText(p: Progress, columns = 80): string {
  const parts = [
    `${p.step}/${p.steps}`,
    `${fmt(p.stepsPerSecond)} steps/s`,
    `ETA ${formatDuration(p.etaSeconds)}`,
    `return ${fmt(p.lastReturn)}`,
    `eval ${fmt(p.lastEval)}`,
    // The mean over the last episode's updates of the batch's max Q (the seeds' "Qmax
    // Value"). Last: at 80 columns it does not fit beside the evaluation.
    `avg max Q ${fmt(p.avgMaxQ, 1)}`,
  ];
  const budget = columns - BAR_WIDTH - 2;
  let text = parts[0]!;
  for (const part of parts.slice(1)) {
    if (text.length + 3 + part.length > budget) break;
    text += ` | ${part}`;
  }
  return text;
}

function trainConfigFlags(flags: TrainFlags): Partial<AgentConfig> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(CONFIG_FIELDS)) {
    const v = (flags as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as Partial<AgentConfig>;
}

/**
 * Flags of another algorithm's fields are errors that say whose they are and what to type
 * instead: `--policy-delay belongs to td3, not ddpg (from --preset tuned); drop it, or add --algo td3`.
 */
function checkAlgoFlags(overrides: Partial<AgentConfig>, from: string, algo: AlgoName): void {
  const foreign = foreignFields(algo, Object.keys(overrides));
  if (foreign.length === 0) return;
  const flags = foreign.map((f) => `--${kebab(f.field)}`);
  const owners = foreign[0]!.owners;
  throw new Error(
    `${flags.join(', ')} ${flags.length > 1 ? 'belong' : 'belongs'} to ${owners.join(' and ')}, not ${algo} (from ${from}); drop ${flags.length > 1 ? 'them' : 'it'}, or add --algo ${owners[0]}`,
  );
}

/** The config flags, generated from every algorithm's schema; a flag of some algorithms only says which. */
function configOptions(): Option[] {
  const all = FIELD_OWNERS.algo ?? [];
  return optionsFromSchema(CONFIG_FIELDS, ['preset']).map((o) => {
    const owners = FIELD_OWNERS[o.attributeName()] ?? all;
    if (owners.length < all.length && !o.negate) o.description += ` (${owners.join(', ')} only)`;
    return o;
  });
}

/** The step of a checkpoint set's name (`ckpt-000009-step-20000` → 20000). */
function stepOfCheckpoint(name: string | undefined): number {
  const m = /-step-(\d+)$/.exec(name ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Checks before a resume touches anything: a finished run is reported and left alone, and
 * `--steps` below the steps already trained is an error saying what to give instead.
 * Returns true when there is nothing to do.
 */
function checkResume(out: string, steps: number | undefined, fromCheckpoint: string | undefined): boolean {
  if (!existsSync(out)) return false;
  const run = RunDirectory.open(out);
  if (fromCheckpoint !== undefined) return false;
  const done = stepOfCheckpoint(run.latestName());
  const target = steps ?? run.manifest.steps;
  const resume = commandLine(['--out', pathForUser(out), '--resume']);
  if (steps !== undefined && steps < done)
    throw new Error(
      `--steps ${steps} is below the ${done} steps ${out} has already trained; use --steps ≥ ${done + 1} to extend it, or leave --steps out to finish its ${run.manifest.steps}:\n  ${resume}`,
    );
  if (existsSync(join(out, 'summary.json')) && target <= done) {
    console.error(
      `chainrule-ddpg: ${out} is already finished at step ${done}; nothing to do (nothing was written). To train it further, give more steps:\n  ${resume} --steps ${done * 2}`,
    );
    return true;
  }
  return false;
}

/** The errors of a new run's steps against its config, with the flags that fix them. */
function checkStepsAgainstConfig(config: AgentConfig, steps: number): void {
  if (config.algo === 'dpg') return;
  const needed = Math.max(config.batchSize, config.learningStarts);
  if (needed >= steps) {
    const which =
      config.learningStarts >= config.batchSize
        ? `--learning-starts ${config.learningStarts}`
        : `--batch-size ${config.batchSize}`;
    throw new Error(
      `--steps ${steps} ends the run before its first update, which waits for ${which} transitions; use --steps ≥ ${needed + 1}, or lower ${which.split(' ')[0]}`,
    );
  }
}

/** The few lines a finished run ends with: the evaluation, when it was solved, where it is, what next. */
export function endLines(summary: Summary, out: string): string[] {
  const o = pathForUser(out);
  const lines = [
    `chainrule-ddpg: done: ${summary.steps} steps in ${formatDuration(summary.wallSeconds)} (${fmt(summary.stepsPerSecond)} steps/s)`,
    `  evaluation  ${summary.evalReturnMean.toFixed(1)} ± ${summary.evalReturnStd.toFixed(1)} at step ${summary.steps}${
      summary.optimalReturnMean !== undefined
        ? ` (optimum ${summary.optimalReturnMean.toFixed(1)}, cost ratio ${(summary.evalReturnMean / summary.optimalReturnMean).toFixed(3)})`
        : ''
    }`,
  ];
  if (summary.solveThreshold !== null)
    lines.push(
      summary.solvedAtStep !== null
        ? `  solved      at step ${summary.solvedAtStep}${summary.solvedAtWallSeconds !== null ? ` after ${formatDuration(summary.solvedAtWallSeconds)}` : ''} (evaluation ≥ ${summary.solveThreshold.toFixed(1)})`
        : `  solved      not yet (no evaluation reached ${summary.solveThreshold.toFixed(1)})`,
    );
  lines.push(
    `  run         ${o} (summary.json, metrics.csv, eval.csv, learning-curve.svg)`,
    'next:',
    `  ${commandLine(['eval', '--run', o])}`,
    `  ${commandLine(['render', '--run', o])}`,
  );
  return lines;
}

/** Show the terminal's cursor again (cli-progress hides it while drawing). */
function showCursor(): void {
  if (process.stderr.isTTY) process.stderr.write('\x1b[?25h');
}

async function runTrain(flags: TrainFlags): Promise<void> {
  chooseBackend(flags.backend);
  if (flags.steps !== undefined && flags.maxEpisodes !== undefined)
    throw new Error('give either --steps or --max-episodes, not both');
  if (flags.resume && flags.force) throw new Error('give either --resume or --force, not both');
  if (flags.fromCheckpoint !== undefined && !flags.resume)
    throw new Error(`--from-checkpoint needs --resume (and --out): add --resume`);
  const overrides = trainConfigFlags(flags);
  let out = flags.out;
  let envId = flags.env;
  let episodeLen = flags.maxEpisodeLen;
  if (flags.resume) {
    if (!out) throw new Error('--resume needs --out <dir>: the run directory to continue');
    // The episode length for --max-episodes comes from the run when not given.
    if (existsSync(out)) {
      const m = RunDirectory.open(out).manifest;
      envId ??= m.env;
      episodeLen ??= m.maxEpisodeSteps ?? undefined;
      checkAlgoFlags(overrides, overrides.algo ? `--algo ${overrides.algo}` : 'the run', m.config.algo);
    }
  }
  const steps =
    flags.maxEpisodes !== undefined
      ? flags.maxEpisodes * (episodeLen ?? envLimit(envId ?? 'Pendulum-v1'))
      : flags.steps;
  if (flags.resume) {
    // Flags that must equal the run's are checked by train() first (ResumeConflictError).
    const pinned =
      Object.keys(overrides).length > 0 ||
      [flags.env, flags.seed, flags.evalEpisodes, flags.maxEpisodeLen].some((v) => v !== undefined);
    if (!pinned && checkResume(out!, steps, flags.fromCheckpoint)) return;
    // Older sets after the chosen one are dropped when the run goes on from it.
    if (flags.fromCheckpoint !== undefined && existsSync(out!))
      RunDirectory.open(out!).rollBackTo(flags.fromCheckpoint);
  } else {
    const preset = overrides.preset ?? DEFAULT_PRESET;
    checkAlgoFlags(
      overrides,
      overrides.algo ? `--algo ${overrides.algo}` : `--preset ${preset}`,
      overrides.algo ?? PRESETS[preset].algo,
    );
    // Validate now, so a bad combination is reported before anything is created.
    const config = makeConfig(overrides.preset ?? DEFAULT_PRESET, overrides);
    checkStepsAgainstConfig(config, steps ?? 20_000);
    out ??= defaultRunPath('runs', {
      env: envId ?? 'Pendulum-v1',
      algo: config.algo,
      preset: config.preset,
      seed: flags.seed ?? 0,
    });
  }
  const runDir = out!;
  const interactive = flags.progress && process.stderr.isTTY;
  const bar = interactive
    ? new cliProgress.SingleBar(
        { format: ' {bar} {text}', hideCursor: true, barsize: BAR_WIDTH, linewrap: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastPrint = 0;
  let lastCheckpointStep = 0;
  const onStart = (s: StartInfo) => {
    if (s.movedAside)
      console.error(`chainrule-ddpg: --force: moved the old contents of ${runDir} to ${s.movedAside}`);
    if (s.note) console.error(`chainrule-ddpg: ${s.note}`);
    const what = `${s.config.algo} (${s.config.preset} preset) on ${s.env}, seed ${s.seed}`;
    lastCheckpointStep = s.fromStep;
    // The header goes out before the bar starts drawing.
    console.error(
      s.fromStep > 0
        ? `chainrule-ddpg: resuming ${runDir} at step ${s.fromStep} of ${s.steps}: ${what}`
        : `chainrule-ddpg: ${what}, ${s.steps} steps → ${runDir}`,
    );
    bar?.start(s.steps, s.fromStep, { text: '' });
  };
  const onProgress = (p: Progress) => {
    if (bar) bar.update(p.step, { text: progressText(p, process.stderr.columns ?? 80) });
    else if (flags.progress && (p.step - lastPrint >= 2000 || p.step >= p.steps)) {
      lastPrint = p.step;
      console.error(`step ${progressText(p)}`);
    }
  };
  const controller = new AbortController();
  const resumeHint = commandLine(['--out', pathForUser(runDir), '--resume']);
  // Ctrl-C reaches every process of the terminal's foreground group, and the launchers in
  // between relay it again (pnpm forwards SIGINT to its script, then turns the next SIGINT
  // it gets, e.g. npx's relay, into a SIGTERM): all of those arrive within a few ms and mean
  // one interrupt. SIGTERM (kill, a pod's shutdown) is an interrupt too. A signal a second
  // or more after the first is a person pressing again: leave at once; the checkpoints on
  // disk are whole at every instant (see runDirectory.ts).
  let firstSignalAt: number | undefined;
  const onSignal = () => {
    const now = performance.now();
    if (firstSignalAt === undefined) {
      firstSignalAt = now;
      controller.abort();
      return;
    }
    if (now - firstSignalAt < 1000) return;
    bar?.stop();
    showCursor();
    console.error(
      `\nchainrule-ddpg: stopped. The last checkpoint is at step ${lastCheckpointStep}; continue with:\n  ${resumeHint}`,
    );
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const { summary } = await train({
      env: flags.env,
      seed: flags.seed,
      steps,
      config: overrides,
      out: runDir,
      maxEpisodeSteps: flags.maxEpisodeLen,
      evalEvery: flags.evalEvery,
      evalEpisodes: flags.evalEpisodes,
      checkpointEvery: flags.checkpointEvery,
      keepCheckpoints: flags.keepCheckpoints,
      saveReplay: flags.saveReplay,
      tensorboard: flags.tensorboard,
      resume: flags.resume ?? false,
      force: flags.force ?? false,
      onStart,
      onProgress,
      signal: controller.signal,
    });
    bar?.stop();
    if (flags.json) console.log(JSON.stringify(summary, null, 2));
    else console.log(endLines(summary, runDir).join('\n'));
  } catch (e) {
    bar?.stop();
    if (e instanceof TrainingInterrupted)
      throw new CliExit(
        130,
        `chainrule-ddpg: interrupted; saved a checkpoint at step ${e.step} in ${runDir}. Continue with:\n  ${resumeHint}`,
      );
    if (e instanceof CorruptCheckpointError) {
      if (e.fallback === undefined)
        throw new Error(
          `${e.message}; no older complete checkpoint is left, so the run can only start over:\n  ${commandLine(['--out', pathForUser(runDir), '--force'])}`,
        );
      throw new Error(
        `${e.message}. The newest complete older checkpoint is ${e.fallback} (step ${stepOfCheckpoint(e.fallback)}); continue from it with:\n  ${resumeHint} --from-checkpoint ${e.fallback}`,
      );
    }
    if (e instanceof ResumeConflictError) {
      const lines = e.conflicts.map(
        (c) =>
          `  ${flagOf(c.field)}: the run has ${JSON.stringify(c.stored)}, you gave ${JSON.stringify(c.given)}`,
      );
      throw new Error(
        `--resume continues ${e.run} with its own settings; these flags differ from them:\n${lines.join('\n')}\nOnly ${RESUMABLE_FLAGS.join(', ')} may change on resume. To train with other settings, start a new run (another --out, or --force). To continue this one, leave those flags out:\n  ${resumeHint}`,
      );
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function envLimit(env: string): number {
  return env === 'MountainCarContinuous-v0' ? 999 : env === 'LQR-v0' ? 100 : 200;
}

function runEval(flags: { run: string; episodes: number; seed?: number; backend?: string }): void {
  chooseBackend(flags.backend);
  const run = loadRun(flags.run);
  const seed = flags.seed ?? run.seed + CLI_EVAL_SEED_OFFSET;
  const r = evaluatePolicy(run.agent, run.env, { episodes: flags.episodes, seed, normStats: run.normStats });
  const optimalMean = r.optimalReturnMean;
  console.log(
    JSON.stringify(
      {
        run: flags.run,
        env: run.env,
        step: run.step,
        episodes: flags.episodes,
        seed,
        mean: r.mean,
        std: r.std,
        returns: r.returns,
        ...(optimalMean !== undefined ? { optimalMean, costRatio: r.mean / optimalMean } : {}),
      },
      null,
      2,
    ),
  );
}

function writeUserFile(path: string, contents: string): void {
  if (!existsSync(dirname(path)) && dirname(path) !== '.')
    throw new Error(`cannot write ${path}: the directory ${dirname(path)} does not exist`);
  try {
    writeFileAtomicSync(path, contents);
  } catch (e) {
    throw describeFsError(e, path);
  }
}

function runRender(flags: {
  run: string;
  file?: string;
  seed?: number;
  backend?: string;
  fps: number;
}): void {
  chooseBackend(flags.backend);
  const run = loadRun(flags.run);
  const r = evaluatePolicy(run.agent, run.env, {
    episodes: 1,
    seed: flags.seed ?? run.seed + RENDER_SEED_OFFSET,
    normStats: run.normStats,
    record: true,
  });
  const frames = r.frames![0]!;
  const total = r.returns[0]!;
  const file = flags.file ?? join(flags.run, 'episode.svg');
  writeUserFile(
    file,
    episodeSvg(run.env, frames, { fps: flags.fps, title: `${run.env}: return ${total.toFixed(1)}` }),
  );
  console.log(`wrote ${file} (${frames.length} frames, return ${total.toFixed(2)})`);
}

const SEEDS_HELP = `
Seeds:
  Training episodes start from --seed. The evaluations in eval.csv and summary.json run
  --eval-episodes episodes seeded seed+${TRAIN_EVAL_SEED_OFFSET}, seed+${TRAIN_EVAL_SEED_OFFSET + 1}, ...
  \`eval\` uses fresh episodes, seed+${CLI_EVAL_SEED_OFFSET}, ..., so its mean differs from summary.json's;
  \`eval --seed <seed+${TRAIN_EVAL_SEED_OFFSET}> --episodes <eval-episodes>\` reproduces summary.json.
  \`render\` draws the episode seeded seed+${RENDER_SEED_OFFSET}.`;

/** Build the commander program. */
export function buildProgram(): Command {
  const program = new Command('chainrule-ddpg')
    .description('Train, evaluate and render DDPG / TD3 / DPG agents on Gymnasium-style environments.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const envs = listEnvs() as string[];

  const trainCmd = program
    .command('train', { isDefault: true })
    .description('train an agent (the default command)')
    .addOption(new Option('--env <id>', 'environment (default Pendulum-v1)').choices(envs))
    .addOption(
      new Option('--preset <name>', `hyperparameter preset (default ${DEFAULT_PRESET})`).choices(
        Object.keys(PRESETS),
      ),
    );
  // Every hyperparameter's flag comes from the config schema: one definition.
  for (const o of configOptions()) trainCmd.addOption(o);
  for (const o of optionsFromSchema(runFlagSchema)) trainCmd.addOption(o);
  trainCmd
    .option('--out <dir>', 'run directory (default runs/<env>-<algo>-<preset>-s<seed>-<UTC time>)')
    .option('--resume', "continue the run in --out from its latest checkpoint, with the run's own settings")
    .option('--force', 'start over in a non-empty --out, moving its old contents to <out>.old-<time>')
    .option('--backend <name>', 'tensor backend (js, wasm, ...)')
    .option('--no-save-replay', 'do not save the replay buffer with checkpoints (resume is then not exact)')
    .option('--no-progress', 'no progress display')
    .option('--no-tensorboard', 'no TensorBoard event files (events.out.tfevents.*) in the run directory')
    .option(
      '--from-checkpoint <name>',
      'with --resume: continue from this checkpoint set (e.g. ckpt-000007-step-15000) instead of the latest; later sets are removed',
    )
    .option('--json', 'print the whole summary (summary.json) as JSON at the end instead of the few lines')
    .addHelpText(
      'after',
      `
On --resume the run's own settings apply. Only these flags may differ from them:
  ${RESUMABLE_FLAGS.slice(0, 5).join(', ')},
  ${RESUMABLE_FLAGS.slice(5).join(', ')}
Any other flag that differs is an error naming it.
${SEEDS_HELP}

Other commands:
  eval --run <dir>     evaluate a trained run
  render --run <dir>   animated SVG of an episode

Example:
  chainrule-ddpg --env Pendulum-v1 --steps 20000 --seed 0 --out runs/p0
  (in the repository: npx -y pnpm@10.34.9 train --env Pendulum-v1 ...)`,
    )
    .action(async (flags: TrainFlags) => runTrain(flags));

  program
    .command('eval')
    .description('evaluate the deterministic policy of a run directory')
    .requiredOption('--run <dir>', 'run directory')
    .option(
      '--episodes <n>',
      'episodes',
      parserFor('--episodes', z.number().int().min(1)) as (v: string) => number,
      10,
    )
    .option(
      '--seed <n>',
      `seed of the first episode (default: the run's seed + ${CLI_EVAL_SEED_OFFSET}; summary.json used seed + ${TRAIN_EVAL_SEED_OFFSET})`,
      parserFor('--seed', z.number().int().min(0)) as (v: string) => number,
    )
    .option('--backend <name>', 'tensor backend')
    .addHelpText('after', SEEDS_HELP)
    .action((flags) => runEval(flags));

  program
    .command('render')
    .description('write an animated SVG of one evaluation episode')
    .requiredOption('--run <dir>', 'run directory')
    .option('--file <path>', 'output SVG (default <run>/episode.svg)')
    .option(
      '--seed <n>',
      `episode seed (default: the run's seed + ${RENDER_SEED_OFFSET})`,
      parserFor('--seed', z.number().int().min(0)) as (v: string) => number,
    )
    .option(
      '--fps <n>',
      'frames per second',
      parserFor('--fps', z.number().min(1)) as (v: string) => number,
      20,
    )
    .option('--backend <name>', 'tensor backend')
    .action((flags) => runRender(flags));
  return program;
}

const COMMANDS = ['train', 'eval', 'render', 'help'];

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** Run the CLI with `argv` (without node and the script). A literal leading `--` is ignored. */
export async function main(argv: string[]): Promise<number> {
  let args = argv[0] === '--' ? argv.slice(1) : argv;
  const first = args[0] ?? '';
  if (first !== '' && !first.startsWith('-') && !COMMANDS.includes(first)) {
    const near = COMMANDS.filter(
      (c) => c.startsWith(first) || first.startsWith(c) || distance(c, first) <= 2,
    );
    console.error(
      `chainrule-ddpg: unknown command '${first}'${near.length ? ` (did you mean '${near[0]}'?)` : ''}; commands: ${COMMANDS.join(', ')}`,
    );
    return 1;
  }
  // Flags straight after the script name mean `train`: `pnpm train --steps 1000`, `pnpm train --help`.
  if (!COMMANDS.includes(first)) args = ['train', ...args];
  const program = buildProgram();
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CliExit) {
      console.error(e.message);
      return e.code;
    }
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (
      err.code === 'commander.helpDisplayed' ||
      err.code === 'commander.version' ||
      err.code === 'commander.help'
    )
      return 0;
    if (err.code?.startsWith('commander.')) return err.exitCode ?? 1;
    console.error(`chainrule-ddpg: ${err.message ?? String(e)}`);
    return 1;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && /cli[/\\]main\.[jt]s$|chainrule-ddpg(\.mjs)?$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
