/**
 * The training loop and the run directory.
 *
 * A run directory holds `config.json`, `metrics.csv` and `metrics.jsonl` (one row per
 * episode), `eval.csv` (periodic deterministic evaluation), `checkpoint/` (safetensors
 * plus a JSON manifest, written atomically), `summary.json` and `learning-curve.svg`.
 * @module
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSync, saveSync, writeFileAtomicSync } from '@chainrule/nn/node';
import { getBackend } from '@chainrule/tensor';
import { type AgentMeta, DDPG, type UpdateStats } from './agent.ts';
import { type AgentConfig, configSchema } from './config.ts';
import {
  type Env,
  type EnvState,
  LqrEnv,
  makeEnv,
  NormalizeObservation,
  type RunningMeanStdState,
} from './envs/index.ts';
import { type Agent, makeAgent } from './make-agent.ts';
import { learningCurveSvg } from './plots.ts';
import { loadReplayBuffer, saveReplayBuffer } from './replay-files.ts';

/** Options of a training run. */
export interface TrainOptions {
  env: string;
  seed: number;
  steps: number;
  config: AgentConfig;
  /** The run directory (created). */
  out?: string;
  /** Evaluate every this many env steps (0 = only at the end). */
  evalEvery: number;
  /** Episodes per evaluation. */
  evalEpisodes: number;
  /** Checkpoint at the first episode end after every this many steps (0 = only at the end). */
  checkpointEvery: number;
  /** Save the replay buffer with checkpoints (needed for an exact resume). */
  saveReplay: boolean;
  /** Continue from the checkpoint in `out`. */
  resume: boolean;
  /** Override the env's episode step limit. */
  maxEpisodeSteps?: number;
  /** Called after every episode and evaluation (the CLI drives its progress bar with it). */
  onProgress?: (p: Progress) => void;
}

/** What the progress callback sees. */
export interface Progress {
  step: number;
  steps: number;
  episode: number;
  lastReturn: number | undefined;
  avgMaxQ: number | undefined;
  lastEval: number | undefined;
  stepsPerSecond: number;
}

/** One row of metrics.csv / metrics.jsonl. */
export interface EpisodeMetrics {
  episode: number;
  step: number;
  return: number;
  length: number;
  avgMaxQ: number | null;
  criticLoss: number | null;
  actorLoss: number | null;
  sigma: number | null;
  wallSeconds: number;
}

/** One row of eval.csv. */
export interface EvalMetrics {
  step: number;
  mean: number;
  std: number;
  min: number;
  max: number;
}

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
  /**
   * Environments whose optimum is known (LQR-v0): the optimal policy's mean return on the
   * same evaluation episodes, so `evalReturnMean / optimalReturnMean` is the cost ratio.
   */
  optimalReturnMean?: number;
}

function buildEnv(
  id: string,
  config: AgentConfig,
  maxEpisodeSteps?: number,
): { env: Env; norm: NormalizeObservation | undefined } {
  let env: Env = makeEnv(id, maxEpisodeSteps ? { maxEpisodeSteps } : {});
  let norm: NormalizeObservation | undefined;
  if (config.normalizeObs) {
    norm = new NormalizeObservation(env);
    env = norm;
  }
  return { env, norm };
}

/**
 * Evaluate the deterministic policy (no noise) over `episodes` episodes, seeded
 * `seed + i`, on a fresh env. Observation normalisation uses frozen statistics.
 */
export function evaluate(
  agent: Agent,
  envId: string,
  episodes: number,
  seed: number,
  normStats?: RunningMeanStdState,
): { returns: number[]; mean: number; std: number } {
  const { env, norm } = buildEnv(envId, agent.config);
  if (norm && normStats) {
    norm.setStatistics(normStats);
    norm.update = false;
  }
  const returns: number[] = [];
  for (let i = 0; i < episodes; i++) {
    let { observation } = env.reset({ seed: seed + i });
    let total = 0;
    for (;;) {
      const r = env.step(agent.act(observation, { explore: false }));
      total += r.reward;
      observation = r.observation;
      if (r.terminated || r.truncated) break;
    }
    returns.push(total);
  }
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length);
  return { returns, mean, std };
}

const EVAL_SEED_OFFSET = 1_000_000;

interface Manifest {
  version: 1;
  env: string;
  seed: number;
  config: AgentConfig;
  step: number;
  episode: number;
  wallSeconds: number;
  agent: AgentMeta | null;
  envState: EnvState | null;
  normStats: RunningMeanStdState | null;
  replay: string | null;
  lastEval: EvalMetrics | null;
}

function csvLine(values: readonly (string | number | null)[]): string {
  return `${values.map((v) => (v === null ? '' : String(v))).join(',')}\n`;
}

/**
 * Train an agent. Returns the summary (also written to `out/summary.json` when `out` is set).
 */
export async function train(
  options: TrainOptions,
): Promise<{ summary: Summary; agent: Agent; episodes: EpisodeMetrics[]; evals: EvalMetrics[] }> {
  const { config, seed, steps } = options;
  const out = options.out;
  const started = performance.now();
  const { env, norm } = buildEnv(options.env, config, options.maxEpisodeSteps);
  const agent = makeAgent(env, config, seed);
  const episodes: EpisodeMetrics[] = [];
  const evals: EvalMetrics[] = [];
  let step = 0;
  let episode = 0;
  let wallBefore = 0;
  let lastEval: EvalMetrics | undefined;

  if (out) mkdirSync(join(out, 'checkpoint'), { recursive: true });
  const manifestPath = out ? join(out, 'checkpoint', 'manifest.json') : '';
  if (options.resume) {
    if (!out || !existsSync(manifestPath))
      throw new Error(`--resume: no checkpoint at ${manifestPath || '(no --out given)'}`);
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    if (m.version !== 1 || m.env !== options.env || m.seed !== seed) {
      throw new Error(
        `--resume: the checkpoint is for env ${m.env} seed ${m.seed}; this run is env ${options.env} seed ${seed}`,
      );
    }
    // DPG keeps no checkpointable state (m.agent is null): resuming would silently restart it.
    if (!(agent instanceof DDPG) || !m.agent)
      throw new Error(`--resume: ${config.algo} runs are not checkpointed, so they cannot be resumed`);
    step = m.step;
    episode = m.episode;
    wallBefore = m.wallSeconds;
    agent.restore(loadSync(join(out, 'checkpoint', 'agent.safetensors')).tensors, m.agent);
    if (m.replay) agent.replay.copyFrom(loadReplayBuffer(join(out, 'checkpoint', m.replay)));
    if (m.envState && env.getState && env.setState) env.setState(m.envState);
    if (norm && m.normStats) norm.setStatistics(m.normStats);
    if (m.lastEval) lastEval = m.lastEval;
    const readRows = <R>(file: string): R[] =>
      existsSync(join(out, file))
        ? readFileSync(join(out, file), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as R)
        : [];
    episodes.push(...readRows<EpisodeMetrics>('metrics.jsonl').filter((e) => e.step <= step));
    evals.push(...readRows<EvalMetrics>('eval.jsonl').filter((e) => e.step <= step));
  }

  const writeLogs = () => {
    if (!out) return;
    const header = 'episode,step,return,length,avgMaxQ,criticLoss,actorLoss,sigma,wallSeconds\n';
    writeFileAtomicSync(
      join(out, 'metrics.csv'),
      header +
        episodes
          .map((e) =>
            csvLine([
              e.episode,
              e.step,
              e.return,
              e.length,
              e.avgMaxQ,
              e.criticLoss,
              e.actorLoss,
              e.sigma,
              e.wallSeconds,
            ]),
          )
          .join(''),
    );
    writeFileAtomicSync(join(out, 'metrics.jsonl'), episodes.map((e) => `${JSON.stringify(e)}\n`).join(''));
    writeFileAtomicSync(
      join(out, 'eval.csv'),
      `step,mean,std,min,max\n${evals.map((e) => csvLine([e.step, e.mean, e.std, e.min, e.max])).join('')}`,
    );
    writeFileAtomicSync(join(out, 'eval.jsonl'), evals.map((e) => `${JSON.stringify(e)}\n`).join(''));
  };

  const wall = () => wallBefore + (performance.now() - started) / 1000;

  const checkpoint = () => {
    if (!out) return;
    let agentMeta: AgentMeta | null = null;
    let replayFile: string | null = null;
    if (agent instanceof DDPG) {
      saveSync(join(out, 'checkpoint', 'agent.safetensors'), agent.tensors());
      agentMeta = agent.meta();
      if (options.saveReplay) {
        replayFile = 'replay.safetensors';
        saveReplayBuffer(join(out, 'checkpoint', replayFile), agent.replay);
      }
    }
    const manifest: Manifest = {
      version: 1,
      env: options.env,
      seed,
      config,
      step,
      episode,
      wallSeconds: wall(),
      agent: agentMeta,
      envState: env.getState ? env.getState() : null,
      normStats: norm ? norm.getStatistics() : null,
      replay: replayFile,
      lastEval: lastEval ?? null,
    };
    writeLogs();
    writeFileAtomicSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  };

  const runEval = () => {
    const r = evaluate(
      agent,
      options.env,
      options.evalEpisodes,
      seed + EVAL_SEED_OFFSET,
      norm?.getStatistics(),
    );
    lastEval = { step, mean: r.mean, std: r.std, min: Math.min(...r.returns), max: Math.max(...r.returns) };
    evals.push(lastEval);
  };

  if (out)
    writeFileAtomicSync(
      join(out, 'config.json'),
      `${JSON.stringify({ env: options.env, seed, steps, config }, null, 2)}\n`,
    );
  let nextEval =
    options.evalEvery > 0
      ? (Math.floor(step / options.evalEvery) + 1) * options.evalEvery
      : Number.POSITIVE_INFINITY;
  let nextCheckpoint =
    options.checkpointEvery > 0 ? step + options.checkpointEvery : Number.POSITIVE_INFINITY;
  const stepAtStart = step;

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
      const action =
        step < config.startSteps && agent instanceof DDPG
          ? agent.randomAction()
          : agent.act(observation, { explore: true });
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
        nextEval += options.evalEvery;
      }
      // Let the event loop run: tensors that were dropped without dispose() release their
      // backend memory (WebAssembly, textures) through a FinalizationRegistry, whose
      // callbacks only run between tasks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (r.terminated || r.truncated || step >= steps) break;
    }
    episode++;
    episodes.push({
      episode,
      step,
      return: total,
      length,
      avgMaxQ: nUpdates ? sumMaxQ / nUpdates : null,
      criticLoss: last ? last.criticLoss : null,
      actorLoss: last && Number.isFinite(last.actorLoss) ? last.actorLoss : null,
      sigma: agent.noise
        ? agent.noise.sigma
        : agent instanceof DDPG && agent.paramNoise
          ? agent.paramNoise.noise.currentStddev
          : null,
      wallSeconds: wall(),
    });
    options.onProgress?.({
      step,
      steps,
      episode,
      lastReturn: total,
      avgMaxQ: nUpdates ? sumMaxQ / nUpdates : undefined,
      lastEval: lastEval?.mean,
      stepsPerSecond: (step - stepAtStart) / ((performance.now() - started) / 1000),
    });
    if (step >= nextCheckpoint && step < steps) {
      checkpoint();
      nextCheckpoint = step + options.checkpointEvery;
    }
  }
  if (!lastEval || lastEval.step !== step) runEval();
  const wallSeconds = wall();
  const summary: Summary = {
    env: options.env,
    algo: config.algo,
    preset: config.preset,
    seed,
    steps: step,
    evalReturnMean: lastEval!.mean,
    evalReturnStd: lastEval!.std,
    wallSeconds,
    stepsPerSecond: step / wallSeconds,
    backend: getBackend().name,
  };
  const optimal = optimalReturnMean(options.env, options.evalEpisodes, seed + EVAL_SEED_OFFSET);
  if (optimal !== undefined) summary.optimalReturnMean = optimal;
  if (out) {
    checkpoint();
    writeFileAtomicSync(join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    writeFileAtomicSync(
      join(out, 'learning-curve.svg'),
      await learningCurveSvg(
        episodes,
        evals,
        `${config.algo} (${config.preset}) on ${options.env}, seed ${seed}`,
      ),
    );
  }
  return { summary, agent, episodes, evals };
}

/** A trained agent loaded from a run directory's checkpoint. */
export interface LoadedRun {
  env: string;
  seed: number;
  agent: Agent;
  normStats: RunningMeanStdState | undefined;
}

/**
 * For an environment whose optimum is known (LQR-v0), the optimal policy's mean return on
 * the episodes {@link evaluate} runs with the same `episodes` and `seed`; otherwise undefined.
 */
export function optimalReturnMean(envId: string, episodes: number, seed: number): number | undefined {
  const base = makeEnv(envId).env;
  return base instanceof LqrEnv ? base.evaluateOptimalPolicy(episodes, seed).meanReturn : undefined;
}

/** Load the agent in `dir/checkpoint` (written by {@link train}). Missing or corrupt files are a clear error. */
export function loadRun(dir: string): LoadedRun {
  const manifestPath = join(dir, 'checkpoint', 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`no checkpoint in ${dir} (expected ${manifestPath})`);
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`${manifestPath} is not valid JSON: ${(e as Error).message}`);
  }
  if (m.version !== 1 || typeof m.env !== 'string' || !m.config)
    throw new Error(`${manifestPath} is not a chainrule checkpoint manifest`);
  // Fields added later (actorOutput, actorBias) take their defaults, so older runs still load.
  const parsed = configSchema.safeParse(m.config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new Error(`${manifestPath}: invalid config: ${issues.join('; ')}`);
  }
  m.config = parsed.data;
  const { env } = buildEnv(m.env, m.config);
  const agent = makeAgent(env, m.config, m.seed);
  if (agent instanceof DDPG) {
    if (!m.agent) throw new Error(`${manifestPath} has no agent state`);
    agent.restore(loadSync(join(dir, 'checkpoint', 'agent.safetensors')).tensors, m.agent);
  } else {
    throw new Error(
      `${dir}: loading ${m.config.algo} agents is not supported (DPG runs are not checkpointed)`,
    );
  }
  return { env: m.env, seed: m.seed, agent, normStats: m.normStats ?? undefined };
}

/** Run one deterministic episode and record the env's physical state after each step. */
export function recordEpisode(
  run: LoadedRun,
  seed: number,
): { frames: Record<string, number>[]; total: number } {
  const { env, norm } = buildEnv(run.env, run.agent.config);
  if (norm && run.normStats) {
    norm.setStatistics(run.normStats);
    norm.update = false;
  }
  let { observation } = env.reset({ seed });
  const frames = [env.physicalState()];
  let total = 0;
  for (;;) {
    const r = env.step(run.agent.act(observation, { explore: false }));
    frames.push(env.physicalState());
    total += r.reward;
    observation = r.observation;
    if (r.terminated || r.truncated) break;
  }
  return { frames, total };
}
