/**
 * The training worker: Pendulum-v1 and a DDPG (or TD3) agent on the wasm backend, off the
 * page's main thread. The loop is the trainer's (packages/ddpg/src/trainer.ts) without the
 * run directory: uniform random actions for the first `startSteps`, then μ(s) plus noise;
 * every step is stored and followed by one `update()`.
 * @module
 */
import {
  ActorCriticAgent,
  type Agent,
  type Env,
  makeAgent,
  makeConfig,
  makeEnv,
  NormalizeObservation,
  type RunningMeanStdState,
} from '@chainrule/ddpg';
import { getBackendInfo, setBackend } from '@chainrule/tensor';
import { agentFromPolicyFile, ENV_ID, encodeActor, readPolicyFile } from './policyFile.ts';
import type { FromWorker, PagePreset, Speed, ToWorker } from './protocol.ts';

const post = (m: FromWorker, transfer: Transferable[] = []) => self.postMessage(m, { transfer });

setBackend('wasm');

interface Run {
  seed: number;
  env: Env;
  agent: Agent;
  observation: Float64Array;
  step: number;
  episode: number;
  /** The current episode's running sums. */
  total: number;
  sumMaxQ: number;
  nUpdates: number;
  /** Watching: the deterministic policy plays, nothing is learned. */
  mode: 'train' | 'watch';
  watchEnv: Env | null;
  watchObs: Float64Array | null;
  watchTotal: number;
  watchEpisodes: number;
}

let run: Run | null = null;
let running = false;
let speed: Speed = '1';
let timer: ReturnType<typeof setTimeout> | undefined;
let started = performance.now();
let stepsAtStart = 0;
let lastFrame = 0;

function makeEnvFor(normStats: RunningMeanStdState | undefined): Env {
  const env: Env = makeEnv(ENV_ID);
  if (!normStats) return env;
  const norm = new NormalizeObservation(env);
  norm.setStatistics(normStats);
  norm.update = false;
  return norm;
}

function newRun(agent: Agent, seed: number, normStats?: RunningMeanStdState): Run {
  const env = makeEnvFor(normStats);
  const { observation } = env.reset({ seed });
  agent.onEpisodeStart?.();
  return {
    seed,
    env,
    agent,
    observation: Float64Array.from(observation),
    step: 0,
    episode: 0,
    total: 0,
    sumMaxQ: 0,
    nUpdates: 0,
    mode: 'train',
    watchEnv: null,
    watchObs: null,
    watchTotal: 0,
    watchEpisodes: 0,
  };
}

function reset(preset: PagePreset, seed: number): void {
  stop();
  const config = makeConfig(preset);
  const env = makeEnv(ENV_ID);
  run = newRun(makeAgent(env, config, seed), seed);
  post({
    type: 'ready',
    backend: String(getBackendInfo().name),
    preset,
    seed,
    hidden: `${config.actorHidden.join('-')} / ${config.criticHidden.join('-')}`,
  });
  postState();
}

function frame(r: Run, env: Env, action: ArrayLike<number>, force = false): void {
  const now = performance.now();
  if (!force && now - lastFrame < 33) return;
  lastFrame = now;
  const s = env.physicalState();
  post({
    type: 'frame',
    theta: s.theta ?? 0,
    torque: action[0] ?? 0,
    step: r.step,
    episode: r.episode,
    mode: r.mode,
  });
}

/** One training step: act, store, update. Returns true at the end of an episode. */
function trainStep(r: Run): boolean {
  const { agent, env } = r;
  const action =
    r.step < agent.config.startSteps && agent instanceof ActorCriticAgent
      ? agent.randomAction()
      : agent.act(r.observation, { explore: true });
  const t = env.step(action);
  agent.observe({
    obs: r.observation,
    action,
    reward: t.reward,
    nextObs: t.observation,
    terminated: t.terminated,
    truncated: t.truncated,
  });
  const u = agent.update();
  if (u) {
    r.sumMaxQ += u.maxQ;
    r.nUpdates++;
  }
  r.total += t.reward;
  r.step++;
  r.observation = Float64Array.from(t.observation);
  frame(r, env, action);
  if (!(t.terminated || t.truncated)) return false;
  r.episode++;
  post({
    type: 'episode',
    row: {
      episode: r.episode,
      step: r.step,
      return: r.total,
      avgMaxQ: r.nUpdates ? r.sumMaxQ / r.nUpdates : null,
      kind: 'train',
    },
    stepsPerSecond: (r.step - stepsAtStart) / ((performance.now() - started) / 1000),
    updates: agent.updates,
  });
  // Later resets continue the env's own random stream, as the trainer does.
  r.observation = Float64Array.from(env.reset().observation);
  agent.onEpisodeStart();
  r.total = r.sumMaxQ = r.nUpdates = 0;
  return true;
}

/** One step of the deterministic policy on its own env (no learning). */
function watchStep(r: Run): boolean {
  if (!r.watchEnv || !r.watchObs) {
    r.watchEnv = makeEnvFor(undefined);
    r.watchObs = Float64Array.from(
      r.watchEnv.reset({ seed: r.seed + 1_000_000 + r.watchEpisodes }).observation,
    );
    r.watchTotal = 0;
  }
  const action = r.agent.act(r.watchObs, { explore: false });
  const t = r.watchEnv.step(action);
  r.watchTotal += t.reward;
  r.watchObs = Float64Array.from(t.observation);
  frame(r, r.watchEnv, action);
  if (!(t.terminated || t.truncated)) return false;
  r.watchEpisodes++;
  post({
    type: 'episode',
    row: { episode: r.watchEpisodes, step: r.step, return: r.watchTotal, avgMaxQ: null, kind: 'watch' },
    stepsPerSecond: 0,
    updates: r.agent.updates,
  });
  r.watchEnv = null;
  r.watchObs = null;
  return true;
}

function tick(): void {
  timer = undefined;
  if (!running || !run) return;
  const r = run;
  try {
    if (speed === 'max') {
      // Work for ~30 ms, then yield so messages (pause, download) get through.
      const until = performance.now() + 30;
      while (performance.now() < until) (r.mode === 'train' ? trainStep : watchStep)(r);
      timer = setTimeout(tick, 0);
    } else {
      const n = speed === '4' ? 4 : 1;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) (r.mode === 'train' ? trainStep : watchStep)(r);
      // Pendulum-v1's dt is 0.05 s: real time is one step every 50 ms.
      timer = setTimeout(tick, Math.max(0, 50 - (performance.now() - t0)));
    }
  } catch (e) {
    stop();
    post({ type: 'error', message: (e as Error).message });
  }
}

function start(mode: 'train' | 'watch'): void {
  if (!run) return;
  run.mode = mode;
  running = true;
  started = performance.now();
  stepsAtStart = run.step;
  postState();
  if (timer === undefined) tick();
}

function stop(): void {
  running = false;
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  postState();
}

function postState(): void {
  post({ type: 'state', running, mode: run?.mode ?? 'train' });
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    switch (m.type) {
      case 'reset':
        reset(m.preset, m.seed);
        break;
      case 'start':
        start('train');
        break;
      case 'watch':
        start('watch');
        break;
      case 'pause':
        stop();
        break;
      case 'speed':
        speed = m.speed;
        break;
      case 'download': {
        if (!run) break;
        const bytes = encodeActor(run.agent, { seed: run.seed, steps: run.step });
        const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
        const name = `actor-${run.agent.config.preset}-seed${run.seed}-step${run.step}.safetensors`;
        post({ type: 'file', bytes: buf, name }, [buf]);
        break;
      }
      case 'load': {
        stop();
        const file = readPolicyFile(new Uint8Array(m.bytes), m.name, m.manifest, m.preset);
        const agent = agentFromPolicyFile(file, m.seed);
        run = newRun(agent, m.seed, file.normStats);
        // What the loaded policy does with the first observation of reset({ seed }).
        const probe = makeEnvFor(file.normStats);
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
        });
        start('watch');
        break;
      }
    }
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
  }
};
