/**
 * Training in Node: the core's training loop ({@link runTrainingLoop}) with a
 * {@link RunDirectory} as its sink, plus resume from a run directory and `loadRun`.
 * @module
 */

import {
  type Agent,
  type AgentConfig,
  checkConfig,
  DEFAULT_PRESET,
  type EpisodeMetrics,
  type EvalMetrics,
  firstSolved,
  loopStateAt,
  makeAgent,
  makeConfig,
  makeEnv,
  makeRunEnv,
  optimalReturnMean,
  parseStoredConfig,
  presetDiff,
  type RunningMeanStdState,
  runTrainingLoop,
  solveThreshold,
  TRAIN_EVAL_SEED_OFFSET,
  type TrainingSink,
  type TrainingSnapshot,
} from '@chainrule/ddpg';
import { getBackend } from '@chainrule/tensor';
import { type LoadedCheckpoint, RUN_DIRECTORY_SINK, RunDirectory, runDirectorySink } from './runDirectory.ts';
import { tensorBoardTrainingSink } from './tensorboard/index.ts';

/** Options of a training run. Everything has a default; `{}` trains the default preset on Pendulum-v1. */
export interface TrainOptions {
  /** Environment id (default Pendulum-v1; on resume, the run's). */
  env?: string;
  /** Seed (default 0; on resume, the run's). */
  seed?: number;
  /** Total environment steps (default 20,000; on resume, the run's, or more to extend it). */
  steps?: number;
  /**
   * Hyperparameters: a full config, or overrides of `preset` (default the `tuned` preset).
   * On resume, every field given must equal the run's.
   */
  config?: Partial<AgentConfig>;
  /** The run directory (none: nothing is written and the run cannot be resumed). */
  out?: string;
  /** Evaluate every this many env steps (0 = only at the end; default 1000, so the time to solve is resolved). */
  evalEvery?: number;
  /** Episodes per evaluation (default 10). */
  evalEpisodes?: number;
  /** Checkpoint at the first episode end after every this many steps (0 = only at the end; default 5000). */
  checkpointEvery?: number;
  /** Checkpoints kept (default 2). */
  keepCheckpoints?: number;
  /** Save the replay buffer with checkpoints, needed for an exact resume (default true). */
  saveReplay?: boolean;
  /** Write TensorBoard event files into the run directory (default true; see ./tensorboard). */
  tensorboard?: boolean;
  /** Continue the run in `out` from its latest checkpoint, with its own config. */
  resume?: boolean;
  /** A new run in a non-empty `out`: move the old contents aside instead of refusing. */
  force?: boolean;
  /** Override the env's episode step limit. */
  maxEpisodeSteps?: number;
  /** Called after every episode (the CLI drives its progress bar with it). */
  onProgress?: (p: Progress) => void;
  /** Called once the run directory is ready, before the first step. */
  onStart?: (s: StartInfo) => void;
  /**
   * Abort to stop: within about 100 ms the run writes a checkpoint at the current step
   * (mid-episode too: the episode in progress is part of it) and throws {@link TrainingInterrupted}.
   */
  signal?: AbortSignal;
  /** More sinks for the training loop's events (your own logger, for instance); see {@link TrainingSink}. */
  sinks?: TrainingSink[];
}

/** What {@link TrainOptions.onStart} sees. */
export interface StartInfo {
  env: string;
  seed: number;
  steps: number;
  config: AgentConfig;
  /** The step a resumed run continues from (0: from the beginning). */
  fromStep: number;
  /** On resume without a complete checkpoint: why it starts over. */
  note: string | undefined;
  /** Where `force` moved an earlier run. */
  movedAside: string | undefined;
}

/** What the progress callback sees. */
export interface Progress {
  step: number;
  steps: number;
  episode: number;
  lastReturn: number | undefined;
  avgMaxQ: number | undefined;
  lastEval: number | undefined;
  /** Steps per second over the last ~10 seconds (not since the start, which the random warm-up inflates). */
  stepsPerSecond: number;
  /** Seconds left at that rate. */
  etaSeconds: number;
}

export type { EpisodeMetrics, EvalMetrics } from '@chainrule/ddpg';

/** The contents of summary.json. */
export interface Summary {
  env: string;
  algo: string;
  preset: string;
  seed: number;
  steps: number;
  evalReturnMean: number;
  evalReturnStd: number;
  wallSeconds: number;
  stepsPerSecond: number;
  backend: string;
  /** The full config the run trained with. */
  config: AgentConfig;
  /** The fields of `config` that differ from the preset named in it. */
  differsFromPreset: Record<string, { preset: unknown; value: unknown }>;
  /**
   * Environments whose optimum is known (LQR-v0): the optimal policy's mean return on the
   * same evaluation episodes, so `evalReturnMean / optimalReturnMean` is the cost ratio.
   */
  optimalReturnMean?: number;
  /** The evaluation return counted as solved ({@link solveThreshold}); null for envs without one. */
  solveThreshold: number | null;
  /** The step of the first evaluation at or above `solveThreshold`; null if none reached it. */
  solvedAtStep: number | null;
  /** The run's wall seconds at that evaluation (null if none, or the evaluation predates this field). */
  solvedAtWallSeconds: number | null;
}

/** Thrown when a resume is given settings that differ from the run's own. */
export class ResumeConflictError extends Error {
  constructor(
    readonly run: string,
    readonly conflicts: { field: string; stored: unknown; given: unknown }[],
  ) {
    super(
      `--resume: ${run} was trained with other settings: ${conflicts
        .map((c) => `${c.field} is ${JSON.stringify(c.stored)} in the run, ${JSON.stringify(c.given)} given`)
        .join('; ')}`,
    );
    this.name = 'ResumeConflictError';
  }
}

function completeConfig(partial: Partial<AgentConfig> | undefined): AgentConfig {
  const p = partial ?? {};
  return makeConfig(p.preset ?? DEFAULT_PRESET, p);
}

interface Setup {
  env: string;
  seed: number;
  steps: number;
  config: AgentConfig;
  evalEpisodes: number;
  maxEpisodeSteps: number | undefined;
  saveReplay: boolean;
  run: RunDirectory | undefined;
  movedAside: string | undefined;
}

/** A new run (its directory created), or the run in `out` (its settings checked against the options). */
function setUp(o: TrainOptions): Setup {
  const saveReplay = o.saveReplay ?? true;
  if (!o.resume) {
    const config = completeConfig(o.config);
    const env = o.env ?? 'Pendulum-v1';
    const seed = o.seed ?? 0;
    const steps = o.steps ?? 20_000;
    const evalEpisodes = o.evalEpisodes ?? 10;
    makeEnv(env); // an unknown env id is reported before anything else
    checkConfig(config, { steps });
    const created = o.out
      ? RunDirectory.create(
          o.out,
          {
            env,
            seed,
            config,
            steps,
            maxEpisodeSteps: o.maxEpisodeSteps ?? null,
            evalEpisodes,
            saveReplay,
            evalEvery: o.evalEvery ?? 1000,
            checkpointEvery: o.checkpointEvery ?? 5000,
            keepCheckpoints: o.keepCheckpoints ?? 2,
          },
          { force: o.force ?? false },
        )
      : undefined;
    return {
      env,
      seed,
      steps,
      config,
      evalEpisodes,
      maxEpisodeSteps: o.maxEpisodeSteps,
      saveReplay,
      run: created?.run,
      movedAside: created?.movedAside,
    };
  }
  if (!o.out) throw new Error('--resume needs the run directory (--out)');
  const run = RunDirectory.open(o.out);
  const m = run.manifest;
  const conflicts: { field: string; stored: unknown; given: unknown }[] = [];
  const compare = (field: string, stored: unknown, given: unknown) => {
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(stored))
      conflicts.push({ field, stored, given });
  };
  compare('env', m.env, o.env);
  compare('seed', m.seed, o.seed);
  compare('evalEpisodes', m.evalEpisodes, o.evalEpisodes);
  compare('maxEpisodeSteps', m.maxEpisodeSteps ?? undefined, o.maxEpisodeSteps);
  const config = parseStoredConfig(m.config, `${o.out}/run.json`);
  for (const [k, v] of Object.entries(o.config ?? {}))
    compare(`config.${k}`, (config as Record<string, unknown>)[k], v);
  if (conflicts.length > 0) throw new ResumeConflictError(o.out, conflicts);
  const steps = o.steps ?? m.steps;
  return {
    env: m.env,
    seed: m.seed,
    steps,
    config,
    evalEpisodes: m.evalEpisodes,
    maxEpisodeSteps: m.maxEpisodeSteps ?? undefined,
    saveReplay,
    run,
    movedAside: undefined,
  };
}

/** Steps per second over a sliding window of recent progress reports. */
class RecentRate {
  private readonly samples: { t: number; step: number }[] = [];
  constructor(private readonly windowSeconds = 10) {}
  add(step: number): number {
    const t = performance.now() / 1000;
    this.samples.push({ t, step });
    while (this.samples.length > 2 && t - this.samples[1]!.t >= this.windowSeconds) this.samples.shift();
    const first = this.samples[0]!;
    return t > first.t ? (step - first.step) / (t - first.t) : 0;
  }
}

/** The sink behind {@link TrainOptions.onProgress}: one report per episode, with a recent rate. */
export function progressSink(onProgress: (p: Progress) => void): TrainingSink {
  const rate = new RecentRate();
  return {
    start: (e) => {
      rate.add(e.step);
    },
    episode: (e) => {
      const sps = rate.add(e.step);
      onProgress({
        step: e.step,
        steps: e.steps,
        episode: e.episode,
        lastReturn: e.row.return,
        avgMaxQ: e.row.avgMaxQ ?? undefined,
        lastEval: e.lastEval?.mean,
        stepsPerSecond: sps,
        etaSeconds: sps > 0 ? (e.steps - e.step) / sps : Number.POSITIVE_INFINITY,
      });
    },
  };
}

/** The snapshot a run directory's checkpoint holds (older checkpoints: at an episode end, logs only). */
function snapshotOf(ckpt: LoadedCheckpoint): TrainingSnapshot {
  const st = ckpt.state;
  return {
    loop: st.loop ?? loopStateAt({ ...st, lastEval: st.lastEval ?? null }),
    agent: { tensors: ckpt.agent, meta: st.agent },
    replay: ckpt.replay,
    envState: st.envState,
    normStats: st.normStats,
    sinks: st.sinks ?? { [RUN_DIRECTORY_SINK]: st.logOffsets },
  };
}

/**
 * Train an agent: {@link runTrainingLoop} with the run directory's sink (when `out` is set),
 * the progress sink (`onProgress`) and `options.sinks`. Returns the summary (also written
 * to `out/summary.json` when `out` is set), the agent, and the episode and evaluation rows.
 * @throws TrainingInterrupted when `signal` aborts the run (after a checkpoint at that step).
 */
export async function train(
  options: TrainOptions = {},
): Promise<{ summary: Summary; agent: Agent; episodes: EpisodeMetrics[]; evals: EvalMetrics[] }> {
  const s = setUp(options);
  const { config, seed, steps, run } = s;
  // On resume, the run's own schedule unless given: a resume typed as `--out X --resume`
  // evaluates at the same steps as the run it continues.
  const m = options.resume ? run?.manifest : undefined;
  const evalEvery = options.evalEvery ?? m?.evalEvery ?? 1000;
  const checkpointEvery = options.checkpointEvery ?? m?.checkpointEvery ?? 5000;
  const keep = options.keepCheckpoints ?? m?.keepCheckpoints ?? 2;
  const { env, norm } = makeRunEnv(s.env, config, s.maxEpisodeSteps);
  const agent = makeAgent(env, config, seed);
  const episodes: EpisodeMetrics[] = [];
  const evals: EvalMetrics[] = [];
  let note: string | undefined;
  let resume: { snapshot?: TrainingSnapshot } | undefined;
  if (run && options.resume) {
    run.removeStaleFiles();
    const ckpt = run.latestCheckpoint();
    if (ckpt) resume = { snapshot: snapshotOf(ckpt) };
    else {
      note = `${run.path} has no complete checkpoint yet, so the run starts again from step 0`;
      resume = {};
    }
  }

  const sinks: TrainingSink[] = [];
  if (run)
    sinks.push(
      runDirectorySink(run, {
        env: s.env,
        config,
        keep,
        saveReplay: s.saveReplay,
      }),
    );
  // TensorBoard needs no position() and rewind(): each episode and evaluation is flushed as
  // it comes, and a resumed session's SessionLog START cuts the run back when it is read.
  if (run && options.tensorboard !== false) sinks.push(tensorBoardTrainingSink(run.path));
  sinks.push({
    // The rows for the summary and the learning curve: on resume, the logs as the run
    // directory's sink cut them back (it rewinds before the start event).
    start: (e) => {
      if (run && resume) {
        const logs = run.readLogs();
        episodes.push(...logs.episodes);
        evals.push(...logs.evals);
      }
      options.onStart?.({
        env: s.env,
        seed,
        steps,
        config,
        fromStep: e.fromStep,
        note,
        movedAside: s.movedAside,
      });
    },
    episode: (e) => {
      episodes.push(e.row);
    },
    evaluation: (e) => {
      evals.push(e.row);
    },
  });
  if (options.onProgress) sinks.push(progressSink(options.onProgress));
  sinks.push(...(options.sinks ?? []));

  const result = await runTrainingLoop({
    envId: s.env,
    seed,
    steps,
    agent,
    env,
    norm,
    evalEvery,
    evalEpisodes: s.evalEpisodes,
    checkpointEvery,
    sinks,
    signal: options.signal,
    resume,
  });
  const { state } = result;
  if (result.status === 'interrupted') throw new TrainingInterrupted(state.step);
  const lastEval = state.lastEval!;
  const wallSeconds = state.wallSeconds;
  const optimal = optimalReturnMean(s.env, s.evalEpisodes, seed + TRAIN_EVAL_SEED_OFFSET);
  const threshold = solveThreshold(s.env, optimal);
  const solved = firstSolved(evals, threshold);
  const summary: Summary = {
    env: s.env,
    algo: config.algo,
    preset: config.preset,
    seed,
    steps: state.step,
    evalReturnMean: lastEval.mean,
    evalReturnStd: lastEval.std,
    wallSeconds,
    stepsPerSecond: state.step / wallSeconds,
    backend: getBackend().name,
    config,
    differsFromPreset: presetDiff(config),
    solveThreshold: threshold ?? null,
    solvedAtStep: solved?.step ?? null,
    solvedAtWallSeconds: solved?.wallSeconds ?? null,
  };
  if (optimal !== undefined) summary.optimalReturnMean = optimal;
  if (run) {
    // vega is loaded only here: it takes seconds to import, which every CLI start and
    // every run without a directory would otherwise pay.
    const { learningCurveSvg } = await import('./plots.ts');
    run.writeFile('summary.json', `${JSON.stringify(summary, null, 2)}\n`);
    run.writeFile(
      'learning-curve.svg',
      await learningCurveSvg(episodes, evals, `${config.algo} (${config.preset}) on ${s.env}, seed ${seed}`),
    );
  }
  return { summary, agent, episodes, evals };
}

/** Thrown by {@link train} when its `signal` aborts it; a checkpoint at `step` was written first. */
export class TrainingInterrupted extends Error {
  constructor(readonly step: number) {
    super(`training interrupted at step ${step}`);
    this.name = 'TrainingInterrupted';
  }
}

/** A trained agent loaded from a run directory's latest checkpoint. */
export interface LoadedRun {
  env: string;
  seed: number;
  step: number;
  agent: Agent;
  normStats: RunningMeanStdState | undefined;
}

/** Load the agent of the latest checkpoint in `dir` (written by {@link train}). Missing or corrupt files are a clear error. */
export function loadRun(dir: string): LoadedRun {
  const run = RunDirectory.open(dir);
  const m = run.manifest;
  const config = parseStoredConfig(m.config, `${dir}/run.json`);
  const ckpt = run.latestCheckpoint();
  if (!ckpt) throw new Error(`${dir} has no complete checkpoint yet (the run was stopped before its first)`);
  const { env } = makeRunEnv(m.env, config);
  const agent = makeAgent(env, config, m.seed);
  agent.restore({ tensors: ckpt.agent, meta: ckpt.state.agent });
  return {
    env: m.env,
    seed: m.seed,
    step: ckpt.state.step,
    agent,
    normStats: ckpt.state.normStats ?? undefined,
  };
}
