/**
 * The training worker: Pendulum-v1 and a DDPG (or TD3) agent on the wasm backend, off the
 * page's main thread. Training is the core's loop (`runTrainingLoop` from @chainrule/ddpg,
 * the one `chainrule-ddpg train` runs) with a sink that posts frames and episode rows to the
 * page and paces playback; the env is the core's (`makeRunEnv`). Pausing aborts the loop,
 * which hands back its state, episode in progress included; starting again continues it.
 * Watching rolls out the deterministic policy on the core's evaluation env (`makeEvalEnv`).
 *
 * On a cross-origin-isolated page the wasm kernels use every core: this worker starts the
 * backend's thread pool (more Web Workers) and awaits it before the first run, since ops are
 * synchronous and a Web Worker starts only while its creator is idle. Elsewhere it trains on
 * one thread, and the page shows why.
 * @module
 */
import {
  type Agent,
  type Env,
  type LoopState,
  makeAgent,
  makeConfig,
  makeEvalEnv,
  makeRunEnv,
  type NormalizeObservation,
  type RunningMeanStdState,
  runTrainingLoop,
  type TrainingSink,
} from '@chainrule/ddpg';
import { getBackendInfo, setBackend, setThreads, type ThreadsStatus, threadsReady } from '@chainrule/tensor';
import { agentFromPolicyFile, ENV_ID, encodeActor, readPolicyFile } from './policyFile.ts';
import type { FromWorker, PagePreset, Speed, ToWorker } from './protocol.ts';

const post = (m: FromWorker, transfer: Transferable[] = []) => self.postMessage(m, { transfer });

setBackend('wasm');
if (self.crossOriginIsolated) setThreads(navigator.hardwareConcurrency);
const threadsStarted = threadsReady();

/** The thread facts of the page's 'ready' message. */
async function threadInfo(): Promise<{ threads: number; threadsNote?: string }> {
  const s: ThreadsStatus = await threadsStarted;
  return s.note === undefined ? { threads: s.threads } : { threads: s.threads, threadsNote: s.note };
}

/** Pendulum-v1's dt: at speed 1 a step takes 50 ms of wall time. */
const STEP_MS = 50;
/** At most one frame every 33 ms (~30 fps). */
const FRAME_MS = 33;

interface Run {
  seed: number;
  agent: Agent;
  env: Env;
  norm: NormalizeObservation | undefined;
  /** Where training continues from (undefined: a new run); `step`/`episode` mirror it while training. */
  loop: LoopState | undefined;
  step: number;
  episode: number;
  mode: 'train' | 'watch';
  /** Watching: the deterministic policy on its own env; nothing is learned. */
  watchEnv: Env | null;
  watchObs: number[] | null;
  watchTotal: number;
  watchEpisodes: number;
}

let run: Run | null = null;
let running = false;
let speed: Speed = '1';
let lastFrame = 0;
/** The training loop in flight: aborting it pauses. */
let training: { controller: AbortController; done: Promise<void> } | null = null;
let watchTimer: ReturnType<typeof setTimeout> | undefined;

function newRun(agent: Agent, seed: number, normStats?: RunningMeanStdState): Run {
  const { env, norm } = makeRunEnv(ENV_ID, agent.config);
  if (norm && normStats) norm.setStatistics(normStats);
  return {
    seed,
    agent,
    env,
    norm,
    loop: undefined,
    step: 0,
    episode: 0,
    mode: 'train',
    watchEnv: null,
    watchObs: null,
    watchTotal: 0,
    watchEpisodes: 0,
  };
}

function frame(r: Run, env: Env, action: ArrayLike<number>): void {
  const now = performance.now();
  if (now - lastFrame < FRAME_MS) return;
  lastFrame = now;
  post({
    type: 'frame',
    theta: env.physicalState().theta ?? 0,
    torque: action[0] ?? 0,
    step: r.step,
    episode: r.episode,
    mode: r.mode,
  });
}

/** Paced playback: the wall time step `n` of this session is due at (1 or 4 steps per 50 ms). */
function pacer(): () => Promise<void> | undefined {
  let origin = performance.now();
  let n = 0;
  return () => {
    if (speed === 'max') return undefined;
    const perStep = STEP_MS / (speed === '4' ? 4 : 1);
    n++;
    const wait = origin + n * perStep - performance.now();
    // Fallen behind (a slow update, a speed change): start counting again from now.
    if (wait < -100) {
      origin = performance.now();
      n = 0;
    }
    return wait > 0 ? new Promise((resolve) => setTimeout(resolve, wait)) : undefined;
  };
}

/** The sink that shows training on the page. */
function pageSink(r: Run): TrainingSink {
  const pace = pacer();
  let started = performance.now();
  let fromStep = 0;
  return {
    start: (e) => {
      started = performance.now();
      fromStep = e.step;
    },
    step: (e) => {
      r.step = e.step;
      frame(r, e.env, e.action);
      return pace();
    },
    episode: (e) => {
      r.episode = e.episode;
      post({
        type: 'episode',
        row: {
          episode: e.row.episode,
          step: e.row.step,
          return: e.row.return,
          avgMaxQ: e.row.avgMaxQ,
          kind: 'train',
        },
        stepsPerSecond: (e.step - fromStep) / ((performance.now() - started) / 1000),
        updates: e.updates,
        blocksByWorkers: Number(getBackendInfo().blocksByWorkers ?? 0),
      });
    },
  };
}

function startTraining(r: Run): void {
  const controller = new AbortController();
  const done = runTrainingLoop({
    envId: ENV_ID,
    seed: r.seed,
    steps: Number.POSITIVE_INFINITY,
    agent: r.agent,
    env: r.env,
    norm: r.norm,
    evalEvery: 0,
    checkpointEvery: 0,
    sinks: [pageSink(r)],
    signal: controller.signal,
    from: r.loop,
  }).then(
    (result) => {
      r.loop = result.state;
    },
    (e: unknown) => {
      running = false;
      post({ type: 'error', message: (e as Error).message });
      postState();
    },
  );
  training = { controller, done };
}

/** One step of the deterministic policy on its own env (no learning). */
function watchStep(r: Run): void {
  if (!r.watchEnv || !r.watchObs) {
    r.watchEnv = makeEvalEnv(ENV_ID, r.agent.config, r.norm?.getStatistics());
    r.watchObs = Array.from(r.watchEnv.reset({ seed: r.seed + 1_000_000 + r.watchEpisodes }).observation);
    r.watchTotal = 0;
  }
  const action = r.agent.act(r.watchObs, { explore: false });
  const t = r.watchEnv.step(action);
  r.watchTotal += t.reward;
  r.watchObs = Array.from(t.observation);
  frame(r, r.watchEnv, action);
  if (!(t.terminated || t.truncated)) return;
  r.watchEpisodes++;
  post({
    type: 'episode',
    row: { episode: r.watchEpisodes, step: r.step, return: r.watchTotal, avgMaxQ: null, kind: 'watch' },
    stepsPerSecond: 0,
    updates: r.agent.updates,
    blocksByWorkers: Number(getBackendInfo().blocksByWorkers ?? 0),
  });
  r.watchEnv = null;
  r.watchObs = null;
}

function watchTick(): void {
  watchTimer = undefined;
  if (!running || !run || run.mode !== 'watch') return;
  const r = run;
  try {
    const t0 = performance.now();
    if (speed === 'max') {
      // Work for ~30 ms, then yield so messages (pause, download) get through.
      while (performance.now() < t0 + 30) watchStep(r);
      watchTimer = setTimeout(watchTick, 0);
    } else {
      for (let i = 0; i < (speed === '4' ? 4 : 1); i++) watchStep(r);
      watchTimer = setTimeout(watchTick, Math.max(0, STEP_MS - (performance.now() - t0)));
    }
  } catch (e) {
    void stop();
    post({ type: 'error', message: (e as Error).message });
  }
}

async function start(mode: 'train' | 'watch'): Promise<void> {
  if (!run) return;
  await stop(false);
  run.mode = mode;
  running = true;
  postState();
  if (mode === 'train') startTraining(run);
  else watchTick();
}

/** Pause: abort the training loop (it returns its state) or the watch timer. */
async function stop(report = true): Promise<void> {
  running = false;
  if (watchTimer !== undefined) clearTimeout(watchTimer);
  watchTimer = undefined;
  const t = training;
  training = null;
  if (t) {
    t.controller.abort();
    await t.done;
  }
  if (report) postState();
}

function postState(): void {
  post({ type: 'state', running, mode: run?.mode ?? 'train' });
}

async function reset(preset: PagePreset, seed: number): Promise<void> {
  await stop();
  const threads = await threadInfo();
  const config = makeConfig(preset);
  run = newRun(makeAgent(makeRunEnv(ENV_ID, config).env, config, seed), seed);
  post({
    type: 'ready',
    backend: String(getBackendInfo().name),
    preset,
    seed,
    hidden: `${config.actorHidden.join('-')} / ${config.criticHidden.join('-')}`,
    ...threads,
  });
  postState();
}

async function load(m: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  await stop();
  const threads = await threadInfo();
  const file = readPolicyFile(new Uint8Array(m.bytes), m.name, m.manifest, m.preset);
  const agent = agentFromPolicyFile(file, m.seed);
  run = newRun(agent, m.seed, file.normStats);
  // Watched episodes are plotted at the step the policy was trained to, where the file says.
  run.step = file.steps ?? 0;
  // What the loaded policy does with the first observation of reset({ seed }).
  const probe = makeEvalEnv(ENV_ID, agent.config, file.normStats);
  const obs = Array.from(probe.reset({ seed: m.seed }).observation);
  const action = Array.from(agent.act(obs, { explore: false }));
  post({
    type: 'loaded',
    name: m.name,
    configSource: file.configSource,
    preset: file.config.preset,
    keys: Object.keys(file.actor),
    observation: obs,
    action,
  });
  post({
    type: 'ready',
    backend: String(getBackendInfo().name),
    preset: file.config.preset,
    seed: m.seed,
    hidden: `${file.config.actorHidden.join('-')} / ${file.config.criticHidden.join('-')}`,
    ...threads,
  });
  await start('watch');
}

/** Messages are handled one at a time, in order, even those that wait for the loop to stop. */
let queue: Promise<void> = Promise.resolve();

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'reset':
      return reset(m.preset, m.seed);
    case 'start':
      return start('train');
    case 'watch':
      return start('watch');
    case 'pause':
      return stop();
    case 'speed':
      speed = m.speed;
      return;
    case 'download': {
      if (!run) return;
      const bytes = encodeActor(run.agent, { seed: run.seed, steps: run.step });
      const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const name = `actor-${run.agent.config.preset}-seed${run.seed}-step${run.step}.safetensors`;
      post({ type: 'file', bytes: buf, name }, [buf]);
      return;
    }
    case 'load':
      return load(m);
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  queue = queue.then(() =>
    handle(m).catch((err: unknown) => {
      post({ type: 'error', message: (err as Error).message });
    }),
  );
};
