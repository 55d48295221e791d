#!/usr/bin/env node
/**
 * chainrule-ddpg: train, evaluate and render DDPG / TD3 / DPG agents.
 *
 *   pnpm train                                   # DDPG, tuned preset, Pendulum-v1, 20,000 steps
 *   pnpm train --env Pendulum-v1 --steps 20000 --seed 0 --out runs/p0
 *   pnpm train eval --run runs/p0
 *   pnpm train render --run runs/p0 --file pendulum.svg
 * @module
 */
import { join } from 'node:path';
import { writeFileAtomicSync } from '@chainrule/nn/node';
import { listBackends, setBackend } from '@chainrule/tensor';
// Registers the gpujs backend (gpu.js itself loads only if --backend gpujs selects it).
import '@chainrule/tensor/gpujs';
import cliProgress from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type AgentConfig, DEFAULT_PRESET, makeConfig, PRESETS, type PresetName } from '../config.ts';
import { listEnvs } from '../envs/index.ts';
import { episodeSvg } from '../render.ts';
import { evaluate, loadRun, optimalReturnMean, type Progress, recordEpisode, train } from '../trainer.ts';

function num(
  name: string,
  { min, max, integer = false }: { min?: number; max?: number; integer?: boolean } = {},
) {
  return (value: string): number => {
    const v = Number(value);
    const bad =
      value.trim() === '' ||
      !Number.isFinite(v) ||
      (integer && !Number.isInteger(v)) ||
      (min !== undefined && v < min) ||
      (max !== undefined && v > max);
    if (bad) {
      const range = [min !== undefined ? `>= ${min}` : '', max !== undefined ? `<= ${max}` : '']
        .filter(Boolean)
        .join(' and ');
      throw new InvalidArgumentError(
        `${name} must be ${integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}, got "${value}".`,
      );
    }
    return v;
  };
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

interface TrainFlags {
  env: string;
  preset: PresetName;
  algo?: 'ddpg' | 'td3' | 'dpg';
  actorLr?: number;
  criticLr?: number;
  criticWeightDecay?: number;
  gamma?: number;
  tau?: number;
  hardUpdateEvery?: number;
  bufferSize?: number;
  batchSize?: number;
  seed: number;
  steps?: number;
  maxEpisodes?: number;
  maxEpisodeLen?: number;
  noise?: AgentConfig['noise'];
  noiseSigma?: number;
  noiseDecay?: number;
  startSteps?: number;
  actorUpdate?: AgentConfig['actorUpdate'];
  rewardScale?: number;
  normalizeObs?: boolean;
  out?: string;
  backend?: string;
  resume?: boolean;
  evalEvery: number;
  evalEpisodes: number;
  checkpointEvery: number;
  saveReplay: boolean;
  progress: boolean;
}

function fmt(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

async function runTrain(flags: TrainFlags): Promise<void> {
  chooseBackend(flags.backend);
  const algo = flags.algo ?? (flags.preset === 'td3' ? 'td3' : flags.preset === 'dpg' ? 'dpg' : 'ddpg');
  const config = makeConfig(flags.preset, {
    algo,
    actorLr: flags.actorLr,
    criticLr: flags.criticLr,
    criticWeightDecay: flags.criticWeightDecay,
    gamma: flags.gamma,
    tau: flags.tau,
    hardUpdateEvery: flags.hardUpdateEvery,
    bufferSize: flags.bufferSize,
    batchSize: flags.batchSize,
    noise: flags.noise,
    noiseSigma: flags.noiseSigma,
    noiseDecay: flags.noiseDecay,
    startSteps: flags.startSteps,
    actorUpdate: flags.actorUpdate,
    rewardScale: flags.rewardScale,
    normalizeObs: flags.normalizeObs,
  });
  if (flags.steps !== undefined && flags.maxEpisodes !== undefined) {
    throw new Error('give either --steps or --max-episodes, not both');
  }
  const episodeLen = flags.maxEpisodeLen;
  const steps =
    flags.steps ??
    (flags.maxEpisodes !== undefined ? flags.maxEpisodes * (episodeLen ?? envLimit(flags.env)) : 20_000);
  const out = flags.out ?? join('runs', `${flags.env}-${config.algo}-${config.preset}-s${flags.seed}`);
  const interactive = flags.progress && process.stderr.isTTY;
  const bar = interactive
    ? new cliProgress.SingleBar(
        {
          format:
            ' {bar} {value}/{total} steps | {sps} steps/s | ep {ep} return {ret} | avg max Q {q} | eval {ev}',
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(steps, 0, { sps: '—', ep: 0, ret: '—', q: '—', ev: '—' });
  let lastPrint = 0;
  const onProgress = (p: Progress) => {
    const payload = {
      sps: fmt(p.stepsPerSecond),
      ep: p.episode,
      ret: fmt(p.lastReturn),
      q: fmt(p.avgMaxQ, 2),
      ev: fmt(p.lastEval),
    };
    if (bar) bar.update(p.step, payload);
    else if (flags.progress && (p.step - lastPrint >= 2000 || p.step >= p.steps)) {
      lastPrint = p.step;
      console.error(
        `step ${p.step}/${p.steps} | ${payload.sps} steps/s | episode ${p.episode} return ${payload.ret} | avg max Q ${payload.q} | eval ${payload.ev}`,
      );
    }
  };
  console.error(
    `chainrule-ddpg: ${config.algo} (${config.preset} preset) on ${flags.env}, seed ${flags.seed}, ${steps} steps → ${out}`,
  );
  try {
    const { summary } = await train({
      env: flags.env,
      seed: flags.seed,
      steps,
      config,
      out,
      maxEpisodeSteps: episodeLen,
      evalEvery: flags.evalEvery,
      evalEpisodes: flags.evalEpisodes,
      checkpointEvery: flags.checkpointEvery,
      saveReplay: flags.saveReplay,
      resume: flags.resume ?? false,
      onProgress,
    });
    bar?.stop();
    console.log(JSON.stringify(summary, null, 2));
    console.error(`wrote ${join(out, 'summary.json')} and ${join(out, 'learning-curve.svg')}`);
  } finally {
    bar?.stop();
  }
}

function envLimit(env: string): number {
  return env === 'MountainCarContinuous-v0' ? 999 : env === 'LQR-v0' ? 100 : 200;
}

function runEval(flags: { run: string; episodes: number; seed?: number; backend?: string }): void {
  chooseBackend(flags.backend);
  const run = loadRun(flags.run);
  const seed = flags.seed ?? run.seed + 2_000_000;
  const r = evaluate(run.agent, run.env, flags.episodes, seed, run.normStats);
  // Environments with a known optimum (LQR-v0): the optimal policy on the same episodes.
  const optimalMean = optimalReturnMean(run.env, flags.episodes, seed);
  console.log(
    JSON.stringify(
      {
        run: flags.run,
        env: run.env,
        episodes: flags.episodes,
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

function runRender(flags: {
  run: string;
  file?: string;
  seed?: number;
  backend?: string;
  fps: number;
}): void {
  chooseBackend(flags.backend);
  const run = loadRun(flags.run);
  const { frames, total } = recordEpisode(run, flags.seed ?? run.seed + 3_000_000);
  const file = flags.file ?? join(flags.run, 'episode.svg');
  writeFileAtomicSync(
    file,
    episodeSvg(run.env, frames, { fps: flags.fps, title: `${run.env}: return ${total.toFixed(1)}` }),
  );
  console.log(`wrote ${file} (${frames.length} frames, return ${total.toFixed(2)})`);
}

/** Build the commander program. */
export function buildProgram(): Command {
  const program = new Command('chainrule-ddpg')
    .description('Train, evaluate and render DDPG / TD3 / DPG agents on Gymnasium-style environments.')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const envs = listEnvs() as string[];

  program
    .command('train', { isDefault: true })
    .description('train an agent (the default command)')
    .addOption(new Option('--env <id>', 'environment').choices(envs).default('Pendulum-v1'))
    .addOption(
      new Option('--preset <name>', 'hyperparameter preset')
        .choices(Object.keys(PRESETS))
        .default(DEFAULT_PRESET),
    )
    .addOption(
      new Option('--algo <name>', 'algorithm (default: from the preset)').choices(['ddpg', 'td3', 'dpg']),
    )
    .option('--actor-lr <x>', 'actor learning rate', num('--actor-lr', { min: 0 }))
    .option('--critic-lr <x>', 'critic learning rate', num('--critic-lr', { min: 0 }))
    .option('--critic-weight-decay <x>', 'critic L2 weight decay', num('--critic-weight-decay', { min: 0 }))
    .option('--gamma <x>', 'discount factor', num('--gamma', { min: 0, max: 1 }))
    .option('--tau <x>', 'soft target update rate', num('--tau', { min: 0, max: 1 }))
    .option(
      '--hard-update-every <n>',
      'copy targets every n updates instead of soft updates',
      num('--hard-update-every', { min: 0, integer: true }),
    )
    .option('--buffer-size <n>', 'replay buffer capacity', num('--buffer-size', { min: 1, integer: true }))
    .option('--batch-size <n>', 'minibatch size', num('--batch-size', { min: 2, integer: true }))
    .option('--seed <n>', 'random seed', num('--seed', { min: 0, integer: true }), 0)
    .option('--steps <n>', 'environment steps (default 20000)', num('--steps', { min: 1, integer: true }))
    .option(
      '--max-episodes <n>',
      'train for this many episodes instead of --steps',
      num('--max-episodes', { min: 1, integer: true }),
    )
    .option(
      '--max-episode-len <n>',
      'episode step limit',
      num('--max-episode-len', { min: 1, integer: true }),
    )
    .addOption(new Option('--noise <kind>', 'exploration noise').choices(['ou', 'gaussian', 'param', 'none']))
    .option('--noise-sigma <x>', 'exploration noise σ', num('--noise-sigma', { min: 0 }))
    .option(
      '--noise-decay <x>',
      'σ multiplier per update (e.g. 0.9998)',
      num('--noise-decay', { min: 0, max: 1 }),
    )
    .option(
      '--start-steps <n>',
      'uniform random actions for the first n steps',
      num('--start-steps', { min: 0, integer: true }),
    )
    .addOption(
      new Option('--actor-update <form>', 'actor gradient: explicit chain rule or surrogate loss').choices([
        'chain',
        'surrogate',
      ]),
    )
    .option(
      '--reward-scale <x>',
      'multiply rewards by x (0.1 = divide by 10)',
      num('--reward-scale', { min: 0 }),
    )
    .option('--normalize-obs', 'running observation normalisation')
    .option('--out <dir>', 'run directory (default runs/<env>-<algo>-<preset>-s<seed>)')
    .option('--backend <name>', 'tensor backend (js, wasm, ...)')
    .option('--resume', 'continue from the checkpoint in --out')
    .option(
      '--eval-every <n>',
      'evaluate every n steps',
      num('--eval-every', { min: 0, integer: true }),
      5000,
    )
    .option(
      '--eval-episodes <n>',
      'episodes per evaluation',
      num('--eval-episodes', { min: 1, integer: true }),
      10,
    )
    .option(
      '--checkpoint-every <n>',
      'checkpoint every n steps',
      num('--checkpoint-every', { min: 0, integer: true }),
      5000,
    )
    .option('--no-save-replay', 'do not save the replay buffer with checkpoints')
    .option('--no-progress', 'no progress display')
    .addHelpText(
      'after',
      '\nOther commands:\n  eval --run <dir>     evaluate a trained run\n  render --run <dir>   animated SVG of an episode\n\nExample:\n  pnpm train --env Pendulum-v1 --steps 20000 --seed 0 --out runs/p0',
    )
    .action(async (flags: TrainFlags) => runTrain(flags));

  program
    .command('eval')
    .description('evaluate the deterministic policy of a run directory')
    .requiredOption('--run <dir>', 'run directory')
    .option('--episodes <n>', 'episodes', num('--episodes', { min: 1, integer: true }), 10)
    .option('--seed <n>', 'evaluation seed', num('--seed', { min: 0, integer: true }))
    .option('--backend <name>', 'tensor backend')
    .action((flags) => runEval(flags));

  program
    .command('render')
    .description('write an animated SVG of one evaluation episode')
    .requiredOption('--run <dir>', 'run directory')
    .option('--file <path>', 'output SVG (default <run>/episode.svg)')
    .option('--seed <n>', 'episode seed', num('--seed', { min: 0, integer: true }))
    .option('--fps <n>', 'frames per second', num('--fps', { min: 1 }), 20)
    .option('--backend <name>', 'tensor backend')
    .action((flags) => runRender(flags));
  return program;
}

/** Run the CLI with `argv` (without node and the script). A literal leading `--` is ignored. */
export async function main(argv: string[]): Promise<number> {
  let args = argv[0] === '--' ? argv.slice(1) : argv;
  // Flags straight after the script name mean `train`: `pnpm train --steps 1000`, `pnpm train --help`.
  if (!['train', 'eval', 'render', 'help'].includes(args[0] ?? '')) args = ['train', ...args];
  const program = buildProgram();
  try {
    await program.parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
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
