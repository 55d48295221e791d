/**
 * The training loop, browser-safe: it drives an {@link Agent} through an environment,
 * evaluates it, and tells {@link TrainingSink}s what happened. Everything that persists or
 * shows something is a sink: the run directory and the progress bar in Node
 * (`@chainrule/ddpg-node`), the playground's worker (`postMessage`), a user's callbacks.
 *
 * Exact resume is the loop's job, not each sink's: a checkpoint is a {@link TrainingSnapshot}
 * (agent, replay buffer, env, observation statistics, the loop's own counters and the
 * episode in progress), and every sink that writes something lasting records how far it got
 * ({@link TrainingSink.position}) and cuts itself back there on resume
 * ({@link TrainingSink.rewind}). A new sink therefore cannot make a resumed run differ.
 * @module
 */
import type { Agent, AgentState } from './actorCritic.ts';
import type { AgentConfig } from './config.ts';
import type { Env, EnvState, JsonValue, NormalizeObservation, RunningMeanStdState } from './envs/index.ts';
import { evaluatePolicy, type PolicyEvaluation, TRAIN_EVAL_SEED_OFFSET } from './evaluatePolicy.ts';
import { ReplayBuffer, type ReplayBufferState } from './replay.ts';

/** One episode's row (metrics.csv / metrics.jsonl in a run directory). */
export interface EpisodeMetrics {
  /** 1-based episode number. */
  episode: number;
  /** The env step at which the episode ended. */
  step: number;
  return: number;
  length: number;
  /** The mean over the episode's updates of the batch's max Q (the seeds' "Qmax Value"); null without updates. */
  avgMaxQ: number | null;
  /** The last update's critic loss; null without updates. */
  criticLoss: number | null;
  /** The last update's actor loss; null without updates or when that update skipped the actor. */
  actorLoss: number | null;
  /** The exploration scale at the episode's end (action noise σ or parameter-noise σ); null without noise. */
  sigma: number | null;
  wallSeconds: number;
}

/** One evaluation's row (eval.csv / eval.jsonl in a run directory). */
export interface EvalMetrics {
  step: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Wall seconds of the run when the evaluation finished (absent in older runs). */
  wallSeconds?: number;
}

/** The episode in progress: what the loop needs to continue it exactly. */
export interface EpisodeInProgress {
  /** The observation the next action is chosen from (after normalisation, if any). */
  observation: number[];
  return: number;
  length: number;
  sumMaxQ: number;
  updates: number;
  /** The last update's losses (null before the episode's first update; actorLoss also when it skipped the actor). */
  criticLoss: number | null;
  actorLoss: number | null;
}

/** The loop's own state: JSON, part of every checkpoint. */
export interface LoopState {
  step: number;
  /** Episodes finished. */
  episode: number;
  /** Wall seconds spent training before this session (a resumed run adds to them). */
  wallSeconds: number;
  lastEval: EvalMetrics | null;
  /** The step at or after which the next periodic checkpoint is due (null: `checkpointEvery` after `step`). */
  nextCheckpoint: number | null;
  /** The unfinished episode, or null between episodes. */
  current: EpisodeInProgress | null;
}

/**
 * Everything a run continues from. The replay tensors are views of the live buffer: a sink
 * must persist (or copy) them before its `checkpoint` handler returns or resolves.
 */
export interface TrainingSnapshot {
  loop: LoopState;
  agent: AgentState;
  /** The replay buffer of off-policy agents (undefined for DPG). */
  replay: ReplayBufferState | undefined;
  envState: EnvState | null;
  normStats: RunningMeanStdState | null;
  /** Each named sink's {@link TrainingSink.position} at this checkpoint. */
  sinks: Record<string, JsonValue>;
}

/** What every event carries. */
export interface LoopEventBase {
  /** Env steps taken so far. */
  step: number;
  /** The step count the run trains to. */
  steps: number;
  /** Episodes finished so far. */
  episode: number;
  /** Wall seconds of the run so far (including earlier sessions of a resumed run). */
  wallSeconds: number;
}

/** Before the first step. */
export interface StartEvent extends LoopEventBase {
  envId: string;
  seed: number;
  config: AgentConfig;
  /** The step this session starts from (0 for a new run). */
  fromStep: number;
  /** True when the loop continues from a snapshot or an in-memory state. */
  resumed: boolean;
}

/** After every env step (only sinks with a `step` handler make the loop build it). */
export interface StepEvent extends LoopEventBase {
  env: Env;
  action: Float64Array;
  reward: number;
  terminated: boolean;
  truncated: boolean;
}

/** At the end of every episode. */
export interface EpisodeEvent extends LoopEventBase {
  row: EpisodeMetrics;
  lastEval: EvalMetrics | null;
  /** The agent's update count. */
  updates: number;
}

/** After every evaluation. */
export interface EvaluationEvent extends LoopEventBase {
  row: EvalMetrics;
  evaluation: PolicyEvaluation;
}

/** A checkpoint is due; the sinks that persist write `snapshot()`. */
export interface CheckpointEvent extends LoopEventBase {
  /** Every `checkpointEvery` steps (at an episode end), on an abort (at the current step), or at the end. */
  reason: 'periodic' | 'interrupted' | 'end';
  /** The state to persist (built once, on the first call). */
  snapshot(): TrainingSnapshot;
}

/** The signal aborted the run; a checkpoint event for this step came first. */
export interface InterruptedEvent extends LoopEventBase {
  state: LoopState;
}

/** The run reached its step count (after the final evaluation and checkpoint). */
export interface EndEvent extends LoopEventBase {
  lastEval: EvalMetrics;
  state: LoopState;
}

/** A handler's result: the loop awaits a promise before it goes on. */
export type SinkResult = void | Promise<void>;

/**
 * Where the loop's events go: an object of optional handlers, like Stable-Baselines3's
 * callbacks. A handler that returns a promise holds the loop until it settles (the
 * playground's worker paces real-time playback that way).
 *
 * A sink that writes something lasting (files, a database) must also say how far it got and
 * cut itself back on resume: `name`, `position` and `rewind` go together, and the loop
 * refuses a sink that has one without the others.
 *
 * @example
 * ```ts
 * import { makeAgent, makeConfig, makeRunEnv, runTrainingLoop, type TrainingSink } from '@chainrule/ddpg';
 *
 * const config = makeConfig('tuned', { learningStarts: 100, batchSize: 32 });
 * const { env, norm } = makeRunEnv('Pendulum-v1', config);
 * const agent = makeAgent(env, config, 0);
 * const returns: number[] = [];
 * const logger: TrainingSink = {
 *   episode: (e) => {
 *     returns.push(e.row.return);
 *   },
 *   evaluation: (e) => console.log(`step ${e.step}: eval ${e.row.mean.toFixed(1)}`),
 * };
 * await runTrainingLoop({ envId: 'Pendulum-v1', seed: 0, steps: 400, agent, env, norm, evalEpisodes: 1, sinks: [logger] });
 * console.log(returns.length); // 2 episodes of 200 steps
 * ```
 */
export interface TrainingSink {
  /** The key of this sink's position in checkpoints (needed with `position` and `rewind`). */
  readonly name?: string;
  start?(e: StartEvent): SinkResult;
  step?(e: StepEvent): SinkResult;
  episode?(e: EpisodeEvent): SinkResult;
  evaluation?(e: EvaluationEvent): SinkResult;
  checkpoint?(e: CheckpointEvent): SinkResult;
  interrupted?(e: InterruptedEvent): SinkResult;
  end?(e: EndEvent): SinkResult;
  /** How far this sink's output goes now (JSON); stored in every checkpoint under `name`. */
  position?(): JsonValue;
  /**
   * Resume: cut this sink's output back to `position` (the checkpoint's), or to its
   * beginning when `undefined` (a resume without a checkpoint, or a sink added since).
   */
  rewind?(position: JsonValue | undefined): void;
}

/** Options of {@link runTrainingLoop}. */
export interface TrainingLoopOptions {
  /** The registered env id (evaluations build their own env from it). */
  envId: string;
  /** The run's seed: the first episode is reset with it; evaluations use `seed + TRAIN_EVAL_SEED_OFFSET`. */
  seed: number;
  /** Train until this step count (`Infinity`: until aborted). */
  steps: number;
  agent: Agent;
  /** The training env, from {@link makeRunEnv}. */
  env: Env;
  /** Its observation normaliser, from {@link makeRunEnv} (checkpointed, and frozen for evaluations). */
  norm?: NormalizeObservation | undefined;
  /** Evaluate every this many steps (0: only at the end; default 1000). */
  evalEvery?: number;
  /** Episodes per evaluation (default 10). */
  evalEpisodes?: number;
  /** A periodic checkpoint at the first episode end after every this many steps (0: only at the end; default 5000). */
  checkpointEvery?: number;
  sinks?: readonly TrainingSink[];
  /** Abort to stop: within about `yieldEveryMs`, the loop checkpoints at the current step and returns. */
  signal?: AbortSignal | undefined;
  /**
   * Continue a saved run: the agent, replay buffer, env and statistics are restored from the
   * snapshot, and every sink with `rewind` is cut back to its position there. `{}` (no
   * snapshot): a resume that starts over, whose sinks rewind to their beginning.
   */
  resume?: { snapshot?: TrainingSnapshot | undefined } | undefined;
  /** Continue in memory from a state an earlier call returned (the agent and env are live, nothing is restored). */
  from?: LoopState | undefined;
  /** Hand the event loop a turn at least this often, in ms of wall time (default 100). */
  yieldEveryMs?: number;
}

/** What {@link runTrainingLoop} returns. */
export interface TrainingLoopResult {
  /** `'done'` at the step count; `'interrupted'` when the signal aborted it (a checkpoint was emitted first). */
  status: 'done' | 'interrupted';
  state: LoopState;
}

/** Steps between two clock reads: small enough that even slow steps stay within the yield interval. */
const CLOCK_EVERY = 4;

let yieldImpl: (() => Promise<void>) | undefined;

/**
 * One turn of the event loop: `setImmediate` in Node; in browsers and workers a
 * MessageChannel message (setTimeout(0) is clamped to 4 ms once nested), which queues behind
 * messages already waiting, so a worker's `pause` gets in.
 */
function yieldToEventLoop(): Promise<void> {
  if (!yieldImpl) {
    if (typeof setImmediate === 'function') {
      yieldImpl = () => new Promise<void>((resolve) => setImmediate(resolve));
    } else if (typeof MessageChannel === 'function') {
      const channel = new MessageChannel();
      const waiting: (() => void)[] = [];
      // Typed through a cast: the project's types are Node's, whose MessagePort has no onmessage.
      (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => waiting.shift()?.();
      yieldImpl = () =>
        new Promise<void>((resolve) => {
          waiting.push(resolve);
          channel.port2.postMessage(null);
        });
    } else {
      yieldImpl = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
  }
  return yieldImpl();
}

const isPromise = (r: unknown): r is Promise<void> =>
  typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function';

function checkSinks(sinks: readonly TrainingSink[]): void {
  const names = new Set<string>();
  sinks.forEach((s, i) => {
    const has = [s.position !== undefined, s.rewind !== undefined];
    if (has[0] !== has[1] || ((has[0] || has[1]) && !s.name))
      throw new Error(
        `runTrainingLoop: sink ${s.name ?? `#${i}`} must have all of name, position() and rewind() or none ` +
          `(it has ${[s.name ? 'name' : '', has[0] ? 'position' : '', has[1] ? 'rewind' : ''].filter(Boolean).join(', ') || 'none'}): ` +
          'a sink that writes lasting output must cut it back on resume',
      );
    if (s.name !== undefined) {
      if (names.has(s.name)) throw new Error(`runTrainingLoop: two sinks are named "${s.name}"`);
      names.add(s.name);
    }
  });
}

/** The loop state of a checkpoint written before the loop recorded one (an episode end, with its counters). */
export function loopStateAt(s: {
  step: number;
  episode: number;
  wallSeconds: number;
  lastEval: EvalMetrics | null;
}): LoopState {
  return {
    step: s.step,
    episode: s.episode,
    wallSeconds: s.wallSeconds,
    lastEval: s.lastEval,
    nextCheckpoint: null,
    current: null,
  };
}

/**
 * Train `agent` on `env` to `steps`, emitting events to `sinks`. Acting, storing and
 * updating are the agent's (`act` with exploration, `observe`, `update` after every step);
 * the loop counts, evaluates every `evalEvery` steps, asks for checkpoints and ends episodes.
 * The first episode is reset with `seed`; later resets continue the env's own random stream.
 */
export async function runTrainingLoop(o: TrainingLoopOptions): Promise<TrainingLoopResult> {
  const { agent, env, norm, envId, seed, steps } = o;
  const sinks = o.sinks ?? [];
  checkSinks(sinks);
  const evalEvery = o.evalEvery ?? 1000;
  const evalEpisodes = o.evalEpisodes ?? 10;
  const checkpointEvery = o.checkpointEvery ?? 5000;
  const yieldEveryMs = o.yieldEveryMs ?? 100;
  const snapshot = o.resume?.snapshot;

  let state: LoopState;
  if (snapshot) {
    if (snapshot.replay && agent.replay) agent.replay.copyFrom(ReplayBuffer.fromState(snapshot.replay));
    agent.restore(snapshot.agent);
    if (snapshot.envState && env.setState) env.setState(snapshot.envState);
    if (norm && snapshot.normStats) norm.setStatistics(snapshot.normStats);
    state = structuredClone(snapshot.loop);
  } else {
    state = o.from
      ? structuredClone(o.from)
      : loopStateAt({ step: 0, episode: 0, wallSeconds: 0, lastEval: null });
  }
  if (o.resume) for (const s of sinks) s.rewind?.(s.name ? snapshot?.sinks[s.name] : undefined);

  const started = performance.now();
  const wall = () => state.wallSeconds + (performance.now() - started) / 1000;
  const base = (): LoopEventBase => ({
    step: state.step,
    steps,
    episode: state.episode,
    wallSeconds: wall(),
  });
  // Handlers by event, so an event no sink listens to costs nothing (the step event above all).
  const on = <K extends keyof TrainingSink>(k: K) => sinks.filter((s) => typeof s[k] === 'function');
  const listeners = {
    start: on('start'),
    step: on('step'),
    episode: on('episode'),
    evaluation: on('evaluation'),
    checkpoint: on('checkpoint'),
    interrupted: on('interrupted'),
    end: on('end'),
  };
  const emit = async <K extends keyof typeof listeners>(
    k: K,
    e: Parameters<NonNullable<TrainingSink[K]>>[0],
  ) => {
    for (const s of listeners[k]) {
      const r = (s[k] as (e: unknown) => SinkResult).call(s, e);
      if (isPromise(r)) await r;
    }
  };

  const checkpoint = async (reason: CheckpointEvent['reason']) => {
    if (listeners.checkpoint.length === 0) return;
    // Positions first: a sink's position is how far its output went before this checkpoint.
    const positions: Record<string, JsonValue> = {};
    for (const s of sinks) if (s.position && s.name) positions[s.name] = s.position();
    const wallSeconds = wall();
    let snap: TrainingSnapshot | undefined;
    await emit('checkpoint', {
      ...base(),
      wallSeconds,
      reason,
      snapshot: () => {
        snap ??= {
          loop: structuredClone({ ...state, wallSeconds }),
          agent: agent.state(),
          replay: agent.replay?.getState(),
          envState: env.getState ? env.getState() : null,
          normStats: norm ? norm.getStatistics() : null,
          sinks: positions,
        };
        return snap;
      },
    });
  };

  const evaluate = async () => {
    const evaluation = evaluatePolicy(agent, envId, {
      episodes: evalEpisodes,
      seed: seed + TRAIN_EVAL_SEED_OFFSET,
      normStats: norm?.getStatistics(),
    });
    const row: EvalMetrics = {
      step: state.step,
      mean: evaluation.mean,
      std: evaluation.std,
      min: evaluation.min,
      max: evaluation.max,
      wallSeconds: wall(),
    };
    state.lastEval = row;
    await emit('evaluation', { ...base(), row, evaluation });
  };

  const fromStep = state.step;
  await emit('start', {
    ...base(),
    envId,
    seed,
    config: agent.config,
    fromStep,
    resumed: snapshot !== undefined || o.from !== undefined,
  });

  let nextEval =
    evalEvery > 0 ? (Math.floor(state.step / evalEvery) + 1) * evalEvery : Number.POSITIVE_INFINITY;
  state.nextCheckpoint ??= checkpointEvery > 0 ? state.step + checkpointEvery : null;
  let lastYield = performance.now();
  let sinceClock = 0;
  const aborted = () => o.signal?.aborted === true && state.step < steps;

  while (state.step < steps && !aborted()) {
    if (!state.current) {
      // The first episode of a run is seeded; later resets continue the env's own stream.
      const { observation } = state.episode === 0 ? env.reset({ seed }) : env.reset();
      agent.onEpisodeStart();
      state.current = {
        observation: Array.from(observation),
        return: 0,
        length: 0,
        sumMaxQ: 0,
        updates: 0,
        criticLoss: null,
        actorLoss: null,
      };
    }
    const cur = state.current;
    let ended = false;
    while (!ended) {
      const action = agent.act(cur.observation, { explore: true });
      const r = env.step(action);
      agent.observe({
        obs: cur.observation,
        action,
        reward: r.reward,
        nextObs: r.observation,
        terminated: r.terminated,
        truncated: r.truncated,
      });
      const u = agent.update();
      if (u) {
        cur.sumMaxQ += u.maxQ;
        cur.updates++;
        cur.criticLoss = u.criticLoss;
        cur.actorLoss = Number.isFinite(u.actorLoss) ? u.actorLoss : null;
      }
      cur.return += r.reward;
      cur.length++;
      state.step++;
      cur.observation = Array.from(r.observation);
      ended = r.terminated || r.truncated || state.step >= steps;
      if (state.step >= nextEval) {
        await evaluate();
        nextEval += evalEvery;
      }
      if (listeners.step.length > 0)
        await emit('step', {
          ...base(),
          env,
          action,
          reward: r.reward,
          terminated: r.terminated,
          truncated: r.truncated,
        });
      if (ended) break;
      if (++sinceClock >= CLOCK_EVERY) {
        sinceClock = 0;
        if (performance.now() - lastYield >= yieldEveryMs) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      }
      // Every step: a handler may have aborted synchronously (a property read costs nothing here).
      if (aborted()) break;
    }
    if (!ended) break; // aborted mid-episode: `current` holds the episode in progress
    state.episode++;
    state.current = null;
    const row: EpisodeMetrics = {
      episode: state.episode,
      step: state.step,
      return: cur.return,
      length: cur.length,
      avgMaxQ: cur.updates ? cur.sumMaxQ / cur.updates : null,
      criticLoss: cur.criticLoss,
      actorLoss: cur.actorLoss,
      sigma: agent.explorationScale(),
      wallSeconds: wall(),
    };
    await emit('episode', { ...base(), row, lastEval: state.lastEval, updates: agent.updates });
    // An episode end is a turn of the event loop too when it is due (short episodes).
    if (performance.now() - lastYield >= yieldEveryMs) {
      await yieldToEventLoop();
      lastYield = performance.now();
    }
    if (aborted()) break;
    if (state.nextCheckpoint !== null && state.step >= state.nextCheckpoint && state.step < steps) {
      state.nextCheckpoint = state.step + checkpointEvery;
      await checkpoint('periodic');
    }
  }

  if (state.step < steps) {
    await checkpoint('interrupted');
    await emit('interrupted', { ...base(), state: structuredClone(state) });
    return { status: 'interrupted', state: { ...state, wallSeconds: wall() } };
  }
  if (!state.lastEval || state.lastEval.step !== state.step) await evaluate();
  await checkpoint('end');
  const lastEval = state.lastEval!;
  const end = { ...state, wallSeconds: wall() };
  await emit('end', { ...base(), lastEval, state: structuredClone(end) });
  return { status: 'done', state: end };
}
