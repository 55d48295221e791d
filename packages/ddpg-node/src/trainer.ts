/**
 * The training loop. It drives an {@link Agent} through an environment, evaluates it with
 * {@link evaluatePolicy}, and leaves everything on disk to a {@link RunDirectory}.
 * @module
 */

import {
  type Agent,
  type AgentConfig,
  checkConfig,
  DEFAULT_PRESET,
  evaluatePolicy,
  firstSolved,
  makeAgent,
  makeConfig,
  makeEnv,
  makeRunEnv,
  optimalReturnMean,
  presetDiff,
  ReplayBuffer,
  type RunningMeanStdState,
  solveThreshold,
  TRAIN_EVAL_SEED_OFFSET,
  type UpdateStats,
} from '@chainrule/ddpg';
import { getBackend } from '@chainrule/tensor';
import { type EpisodeMetrics, type EvalMetrics, RunDirectory } from './runDirectory.ts';

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
  /** Abort to stop at the next episode end, after writing a checkpoint there. */
  signal?: AbortSignal;
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

export type { EpisodeMetrics, EvalMetrics } from './runDirectory.ts';

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
  for (const [k, v] of Object.entries(o.config ?? {}))
    compare(`config.${k}`, (m.config as Record<string, unknown>)[k], v);
  if (conflicts.length > 0) throw new ResumeConflictError(o.out, conflicts);
  const steps = o.steps ?? m.steps;
  const config = checkConfig(m.config, { where: `${o.out}/run.json` });
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

/**
 * Train an agent. Returns the summary (also written to `out/summary.json` when `out` is set),
 * the agent, and the episode and evaluation rows.
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
  const started = performance.now();
  const { env, norm } = makeRunEnv(s.env, config, s.maxEpisodeSteps);
  const agent = makeAgent(env, config, seed);
  const episodes: EpisodeMetrics[] = [];
  const evals: EvalMetrics[] = [];
  let step = 0;
  let episode = 0;
  let wallBefore = 0;
  let lastEval: EvalMetrics | undefined;
  let note: string | undefined;

  if (run && options.resume) {
    run.removeStaleFiles();
    const ckpt = run.latestCheckpoint();
    if (!ckpt) {
      note = `${run.path} has no complete checkpoint yet, so the run starts again from step 0`;
      run.truncateLogs();
    } else {
      const st = ckpt.state;
      step = st.step;
      episode = st.episode;
      wallBefore = st.wallSeconds;
      if (ckpt.replay && agent.replay) agent.replay.copyFrom(ReplayBuffer.fromState(ckpt.replay));
      agent.restore({ tensors: ckpt.agent, meta: st.agent });
      if (st.envState && env.setState) env.setState(st.envState);
      if (norm && st.normStats) norm.setStatistics(st.normStats);
      lastEval = st.lastEval ?? undefined;
      run.truncateLogs(st.logOffsets);
      const logs = run.readLogs();
      episodes.push(...logs.episodes);
      evals.push(...logs.evals);
    }
  }
  options.onStart?.({
    env: s.env,
    seed,
    steps,
    config,
    fromStep: step,
    note,
    movedAside: s.movedAside,
  });

  const wall = () => wallBefore + (performance.now() - started) / 1000;
  const checkpoint = () => {
    if (!run) return;
    const state = agent.state();
    run.writeCheckpoint(
      state.tensors,
      s.saveReplay && agent.replay ? agent.replay.getState() : undefined,
      {
        env: s.env,
        config,
        step,
        episode,
        wallSeconds: wall(),
        agent: state.meta,
        envState: env.getState ? env.getState() : null,
        normStats: norm ? norm.getStatistics() : null,
        lastEval: lastEval ?? null,
      },
      keep,
    );
  };
  const runEval = () => {
    const r = evaluatePolicy(agent, s.env, {
      episodes: s.evalEpisodes,
      seed: seed + TRAIN_EVAL_SEED_OFFSET,
      normStats: norm?.getStatistics(),
    });
    lastEval = { step, mean: r.mean, std: r.std, min: r.min, max: r.max, wallSeconds: wall() };
    evals.push(lastEval);
    run?.appendEval(lastEval);
  };

  let nextEval = evalEvery > 0 ? (Math.floor(step / evalEvery) + 1) * evalEvery : Number.POSITIVE_INFINITY;
  let nextCheckpoint = checkpointEvery > 0 ? step + checkpointEvery : Number.POSITIVE_INFINITY;
  const rate = new RecentRate();
  rate.add(step);

  while (step < steps) {
    // The first episode of a run is seeded; later resets continue the env's own stream.
    let { observation } = episode === 0 ? env.reset({ seed }) : env.reset();
    agent.onEpisodeStart();
    let total = 0;
    let length = 0;
    let sumMaxQ = 0;
    let nUpdates = 0;
    let last: UpdateStats | null = null;
    for (;;) {
      const action = agent.act(observation, { explore: true });
      const r = env.step(action);
      agent.observe({
        obs: observation,
        action,
        reward: r.reward,
        nextObs: r.observation,
        terminated: r.terminated,
        truncated: r.truncated,
      });
      const u = agent.update();
      if (u) {
        last = u;
        sumMaxQ += u.maxQ;
        nUpdates++;
      }
      total += r.reward;
      length++;
      step++;
      observation = r.observation;
      if (step >= nextEval) {
        runEval();
        nextEval += evalEvery;
      }
      if (r.terminated || r.truncated || step >= steps) break;
    }
    episode++;
    const row: EpisodeMetrics = {
      episode,
      step,
      return: total,
      length,
      avgMaxQ: nUpdates ? sumMaxQ / nUpdates : null,
      criticLoss: last ? last.criticLoss : null,
      actorLoss: last && Number.isFinite(last.actorLoss) ? last.actorLoss : null,
      sigma: agent.explorationScale(),
      wallSeconds: wall(),
    };
    episodes.push(row);
    run?.appendEpisode(row);
    const sps = rate.add(step);
    options.onProgress?.({
      step,
      steps,
      episode,
      lastReturn: total,
      avgMaxQ: row.avgMaxQ ?? undefined,
      lastEval: lastEval?.mean,
      stepsPerSecond: sps,
      etaSeconds: sps > 0 ? (steps - step) / sps : Number.POSITIVE_INFINITY,
    });
    // Let signal handlers (Ctrl-C) and the progress bar's timers run: they only get the
    // event loop between tasks. (Memory needs no turn of it: updates run in tidy scopes.)
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (options.signal?.aborted && step < steps) {
      checkpoint();
      throw new TrainingInterrupted(step);
    }
    if (step >= nextCheckpoint && step < steps) {
      checkpoint();
      nextCheckpoint = step + checkpointEvery;
    }
  }
  if (!lastEval || lastEval.step !== step) runEval();
  const wallSeconds = wall();
  const optimal = optimalReturnMean(s.env, s.evalEpisodes, seed + TRAIN_EVAL_SEED_OFFSET);
  const threshold = solveThreshold(s.env, optimal);
  const solved = firstSolved(evals, threshold);
  const summary: Summary = {
    env: s.env,
    algo: config.algo,
    preset: config.preset,
    seed,
    steps: step,
    evalReturnMean: lastEval!.mean,
    evalReturnStd: lastEval!.std,
    wallSeconds,
    stepsPerSecond: step / wallSeconds,
    backend: getBackend().name,
    config,
    differsFromPreset: presetDiff(config),
    solveThreshold: threshold ?? null,
    solvedAtStep: solved?.step ?? null,
    solvedAtWallSeconds: solved?.wallSeconds ?? null,
  };
  if (optimal !== undefined) summary.optimalReturnMean = optimal;
  if (run) {
    checkpoint();
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
  const config = checkConfig(m.config, { where: `${dir}/run.json` });
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
