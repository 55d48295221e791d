/**
 * chainrule contenders: one per case for every registered chainrule backend that stores
 * float32 (`js` always; `wasm` and `gpujs` when registered), plus the end-to-end training
 * run on chainrule's default backend.
 *
 * Every contender creates its tensors, modules and optimisers on its own backend in
 * `setup()` and runs each iteration inside `withBackend(name, ...)`, so contenders never
 * depend on (or change) the globally active backend. Results are read back into JS arrays
 * (`dataSync()`, `item()`) before `run()` returns.
 *
 * Each iteration runs in a `tidy` scope (like the tfjs contenders' `tf.tidy`): the tensors
 * it creates are released when it returns, except variables (parameters, running
 * statistics, optimiser moments), which are updated in place with `assign()`.
 * That makes `liveObjects()` exact on the backends whose memory chainrule manages
 * (`wasm`: live heap blocks; `gpujs`: live storages); the `js` backend keeps tensors in
 * ordinary JS arrays and has no count, so its contenders skip the leak check.
 *
 * @module
 */

import * as A from '@chainrule/autograd';
import { grad, input, param, type Var } from '@chainrule/autograd';
import { type ActorCriticAgent, type Batch, makeConfig, type Td3Config } from '@chainrule/ddpg';
import { type Summary, train } from '@chainrule/ddpg-node';
import { Adam, BatchNorm1d } from '@chainrule/nn';
import {
  backendByName,
  DEFAULT_BACKEND,
  getBackend,
  getBackendInfo,
  getFallbackCounts,
  listBackends,
  matmul,
  setBackend,
  setThreads,
  type Tensor,
  tensor,
  tidy,
  wasmMemoryStats,
  withBackend,
} from '@chainrule/tensor';
import { gpujsStats } from '@chainrule/tensor/gpujs';
import { CASE, concatParts as concat } from '../cases.ts';
import type { Contender } from '../harness.ts';
import { adamInputs, batchnormInputs, ddpgBatch, denseInputs, matmulInputs } from '../inputs.ts';
import { ADAM_CASE_SPEC, type DdpgPreset, PAPER_PRESET, TD3_PRESET, TUNED_PRESET } from '../specs.ts';
import { batchTensorList, batchTensors, benchAgent } from './chainrule-nets.ts';

/** Seed of the DDPG / TD3 agents (their parameters are then overwritten; TD3 uses it for target noise). */
const AGENT_SEED = 1;

/**
 * The registered chainrule backends that can hold float32 tensors. A backend that is
 * registered but fails to start is kept, so that its contenders' `setup()` reports why.
 */
export function chainruleBackends(): string[] {
  return listBackends().filter((name) => {
    try {
      return backendByName(name).supportsDType('float32');
    } catch {
      return true;
    }
  });
}

/** chainrule's default backend: `CHAINRULE_BACKEND` if set, else `DEFAULT_BACKEND`. */
function defaultBackendName(): string {
  try {
    return getBackend().name;
  } catch {
    return DEFAULT_BACKEND;
  }
}

/** Live backend objects, for the harness's leak check (undefined: the backend has no count). */
export function liveCounter(backend: string): (() => number) | undefined {
  if (backend === 'wasm') return () => wasmMemoryStats().blocksInUse;
  if (backend === 'gpujs') return () => gpujsStats().liveStorages;
  return undefined;
}

/** A remark for the report: the gpu.js mode (`webasm`, `headlessgl`, ...) of the gpujs backend. */
function backendNote(backend: string): string | undefined {
  if (backend !== 'gpujs') return undefined;
  try {
    const mode = backendByName(backend).info?.().mode;
    return typeof mode === 'string' ? `gpu.js mode ${mode}` : undefined;
  } catch {
    return undefined;
  }
}

const f32 = (t: Tensor): Float32Array => {
  const d = t.dataSync();
  return d instanceof Float32Array ? d : Float32Array.from(d);
};

/**
 * Watches chainrule's kernel-fallback counters (an op without a kernel on the backend runs
 * the js kernel on copies) and warns on stderr when a contender's iterations hit one, since
 * that makes its timing a mix of two backends.
 */
function fallbackWatch(backend: string) {
  let before: Record<string, number> = {};
  return {
    start(): void {
      before = getFallbackCounts();
    },
    report(id: string): void {
      const suffix = `@${backend}`;
      const hits = Object.entries(getFallbackCounts())
        .filter(([k, n]) => k.endsWith(suffix) && n > (before[k] ?? 0))
        .map(([k, n]) => `${k.slice(0, -suffix.length)}×${n - (before[k] ?? 0)}`);
      if (hits.length > 0)
        console.error(`WARNING ${id}: ops fell back to the js kernel on ${backend}: ${hits.join(', ')}`);
    },
  };
}

/**
 * The fields every chainrule contender shares: identity, the backend's live-object count,
 * a note, and the fallback watch around setup/teardown.
 */
function contender(
  caseName: string,
  backend: string,
  body: Omit<Contender, 'case' | 'impl' | 'backend'>,
  options: { countLive?: boolean } = {},
): Contender {
  const watch = fallbackWatch(backend);
  const live = options.countLive === false ? undefined : liveCounter(backend);
  const note = [body.note, backendNote(backend)].filter(Boolean).join('; ');
  const c: Contender = {
    ...body,
    case: caseName,
    impl: 'chainrule',
    backend,
    ...(note ? { note } : {}),
    async setup() {
      await body.setup();
      watch.start();
    },
    async teardown() {
      watch.report(`${caseName} / chainrule-${backend}`);
      await body.teardown?.();
    },
  };
  if (live) c.liveObjects = live;
  return c;
}

/** `matmul(a, b)` then `dataSync()`: the readback is part of the measured work. */
export function chainruleMatmul(m: number, k: number, n: number, backend: string): Contender {
  let a: Tensor | undefined;
  let b: Tensor | undefined;
  let last: Float32Array | undefined;
  return contender(`matmul ${m}x${k}x${n}`, backend, {
    setup() {
      withBackend(backend, () => {
        const inp = matmulInputs(m, k, n);
        a = tensor(inp.a.slice(), { shape: [m, k] });
        b = tensor(inp.b.slice(), { shape: [k, n] });
      });
    },
    run() {
      withBackend(backend, () =>
        tidy(() => {
          last = f32(matmul(a!, b!));
        }),
      );
    },
    output: () => Float32Array.from(last!),
    teardown() {
      a?.dispose();
      b?.dispose();
      a = b = last = undefined;
    },
  });
}

/**
 * Dense layer forward + backward with autograd: `y = dense(x, W, b, 'relu')` (the fused
 * dense op), `loss = Σ y⊙g`, `grad(loss, [W, b, x])`; loss and gradients read back.
 * Output: `[loss, dW, db, dx]`.
 */
export function chainruleDense(backend: string): Contender {
  let v: { x: Var; w: Var; b: Var; g: Var } | undefined;
  let parts: ArrayLike<number>[] = [];
  return contender(CASE.dense, backend, {
    setup() {
      withBackend(backend, () => {
        const inp = denseInputs();
        v = {
          x: input(tensor(inp.x.slice(), { shape: [inp.batch, inp.in] }), { requiresGrad: true }),
          w: param(tensor(inp.w.slice(), { shape: [inp.in, inp.out] })),
          b: param(tensor(inp.b.slice(), { shape: [inp.out] })),
          g: input(tensor(inp.g.slice(), { shape: [inp.batch, inp.out] })),
        };
      });
    },
    run() {
      withBackend(backend, () =>
        tidy(() => {
          const { x, w, b, g } = v!;
          const loss = A.sum(A.mul(A.dense(x, w, b, 'relu'), g));
          const [dw, db, dx] = grad(loss, [w, b, x]);
          parts = [f32(loss.value), f32(dw!.value), f32(db!.value), f32(dx!.value)];
        }),
      );
    },
    output: () => concat(parts),
    teardown() {
      if (v) for (const t of [v.x, v.w, v.b, v.g]) t.value.dispose();
      v = undefined;
      parts = [];
    },
  });
}

/**
 * Batch norm forward + backward: `BatchNorm1d` in training mode (batch statistics, biased
 * variance) with γ, β from the inputs and `trackRunningStats: false` (the case measures
 * the normalisation and its gradient, like the tfjs contender, not the running-statistics
 * update); `loss = Σ y⊙g`; gradients of x, γ, β read back. Output: `[loss, dx, dgamma, dbeta]`.
 */
export function chainruleBatchnorm(backend: string): Contender {
  let st: { bn: BatchNorm1d; x: Var; g: Var } | undefined;
  let parts: ArrayLike<number>[] = [];
  return contender(CASE.batchnorm, backend, {
    setup() {
      withBackend(backend, () => {
        const inp = batchnormInputs();
        const bn = new BatchNorm1d(inp.features, { eps: inp.eps, trackRunningStats: false });
        bn.weight!.value.dispose();
        bn.bias!.value.dispose();
        bn.weight!.value = tensor(inp.gamma.slice(), { shape: [inp.features] });
        bn.bias!.value = tensor(inp.beta.slice(), { shape: [inp.features] });
        st = {
          bn,
          x: input(tensor(inp.x.slice(), { shape: [inp.batch, inp.features] }), { requiresGrad: true }),
          g: input(tensor(inp.g.slice(), { shape: [inp.batch, inp.features] })),
        };
      });
    },
    run() {
      withBackend(backend, () =>
        tidy(() => {
          const { bn, x, g } = st!;
          if (!bn.training) throw new Error('BatchNorm1d is not in training mode');
          const loss = A.sum(A.mul(bn.forward(x), g));
          const [dx, dgamma, dbeta] = grad(loss, [x, bn.weight!, bn.bias!]);
          parts = [f32(loss.value), f32(dx!.value), f32(dgamma!.value), f32(dbeta!.value)];
        }),
      );
    },
    output: () => concat(parts),
    teardown() {
      if (st) {
        st.bn.dispose();
        st.x.value.dispose();
        st.g.value.dispose();
      }
      st = undefined;
      parts = [];
    },
  });
}

/**
 * One `Adam.step()` (`@chainrule/nn`, the fused `adamUpdate` kernel per parameter) over the
 * paper critic's parameters, with the fixed gradients set on `.grad`. The step runs in a
 * `tidy` scope (what the DDPG agent does); parameters and moments are assigned in place. Output: all parameters in `initParams` order.
 */
export function chainruleAdam(backend: string): Contender {
  let params: Var[] = [];
  let grads: Tensor[] = [];
  let opt: Adam | undefined;
  return contender(CASE.adam, backend, {
    setup() {
      withBackend(backend, () => {
        const inp = adamInputs();
        params = inp.params.map((p) => param(tensor(p.data.slice(), { shape: p.shape }), { name: p.name }));
        grads = inp.params.map((p, i) => tensor(inp.grads[i]!.slice(), { shape: p.shape }));
        const { lr, beta1, beta2, epsilon } = ADAM_CASE_SPEC;
        opt = new Adam(params, { lr, betas: [beta1, beta2], eps: epsilon });
      });
    },
    run() {
      withBackend(backend, () =>
        tidy(() => {
          params.forEach((p, i) => {
            p.grad = grads[i]!;
          });
          opt!.step();
        }),
      );
    },
    output: () => concat(params.map((p) => f32(p.value))),
    teardown() {
      opt?.dispose();
      for (const t of [...params.map((p) => p.value), ...grads]) t.dispose();
      params = [];
      grads = [];
      opt = undefined;
    },
  });
}

/** Differences between a preset of the bench spec and chainrule's `makeConfig` preset (empty: none). */
function configMismatches(preset: DdpgPreset, config: ReturnType<typeof makeConfig>): string[] {
  // DDPG's config lacks TD3's fields: they are TD3's defaults of no delay and no smoothing.
  const { policyDelay = 1, targetNoise = 0, targetNoiseClip = 0 } = config as Partial<Td3Config>;
  const cfg = { ...(config as Td3Config), policyDelay, targetNoise, targetNoiseClip };
  const pairs: [string, number, number][] = [
    ['batch', preset.batch, cfg.batchSize],
    ['actor lr', preset.actorAdam.lr, cfg.actorLr],
    ['critic lr', preset.criticAdam.lr, cfg.criticLr],
    ['critic weight decay', preset.criticWeightDecay, cfg.criticWeightDecay],
    ['gamma', preset.gamma, cfg.gamma],
    ['tau', preset.tau, cfg.tau],
    ['policy delay', preset.policyDelay, cfg.policyDelay],
    ['target noise', preset.targetPolicyNoise?.std ?? 0, cfg.targetNoise],
    ['target noise clip', preset.targetPolicyNoise?.clip ?? 0, cfg.targetNoiseClip],
  ];
  return pairs.filter(([, a, b]) => a !== b).map(([n, a, b]) => `${n}: bench ${a}, chainrule ${b}`);
}

/**
 * One DDPG / TD3 cycle on the fixed batch with `@chainrule/ddpg`'s agent
 * (`makeConfig(preset)`, Pendulum dims, the bench's seeded initial parameters loaded into
 * the online networks and copied into the targets). `updateOn(batch)` is one critic update
 * (both critics for TD3) and, every `policyDelay` calls, one actor update and one soft
 * update, so one iteration calls it `policyDelay` times: paper 1 (critic, actor, soft
 * update), TD3 2 (2 twin-critic updates, 1 actor update, 1 soft update), like `TfDdpg.cycle`.
 * Each call runs in a `tidy` scope, as `agent.update()` does.
 */
export function chainruleDdpg(
  preset: DdpgPreset,
  caseName: string,
  backend: string,
  options: { replay?: boolean } = {},
): Contender {
  let agent: ActorCriticAgent | undefined;
  let batch: Batch | undefined;
  const replay = options.replay ?? true;
  return contender(caseName, backend, {
    note: replay
      ? 'same initial parameters as tfjs; update captured once, then replayed'
      : 'same initial parameters as tfjs; eager update (CHAINRULE_REPLAY=0)',
    setup() {
      const cfg = makeConfig(preset.name);
      const bad = configMismatches(preset, cfg);
      if (bad.length > 0)
        throw new Error(`makeConfig('${preset.name}') differs from the bench preset: ${bad.join('; ')}`);
      const previous = process.env.CHAINRULE_REPLAY;
      if (!replay) process.env.CHAINRULE_REPLAY = '0';
      try {
        withBackend(backend, () => {
          agent = benchAgent(preset, cfg, AGENT_SEED);
          batch = batchTensors(ddpgBatch(preset.batch));
        });
      } finally {
        if (previous === undefined) delete process.env.CHAINRULE_REPLAY;
        else process.env.CHAINRULE_REPLAY = previous;
      }
      if (agent!.compiledUpdate.enabled !== replay)
        throw new Error(
          `the agent's replay is ${agent!.compiledUpdate.enabled ? 'on' : 'off'}, expected ${replay ? 'on' : 'off'}`,
        );
      // Warm-up and capture (the first two updates) happen here, so the plan's buffers exist
      // before the leak check's first count and every timed update is a replay.
      withBackend(backend, () => {
        for (let i = 0; i < 2 * preset.policyDelay; i++) tidy(() => agent!.updateOn(batch!));
      });
    },
    run() {
      withBackend(backend, () => {
        const a = agent!;
        for (let k = 0; k < preset.policyDelay; k++) {
          const stats = tidy(() => a.updateOn(batch!));
          if (!Number.isFinite(stats.criticLoss)) throw new Error(`critic loss is ${stats.criticLoss}`);
        }
        if (a.updates % preset.policyDelay !== 0)
          throw new Error(
            `update count ${a.updates} is not a whole number of ${preset.policyDelay}-update cycles`,
          );
        const why = a.compiledUpdate.stats().eagerReason;
        if (replay && why && backendByName(backend).replayable)
          throw new Error(`the update is not replayed: ${why}`);
      });
    },
    teardown() {
      if (agent) {
        for (const [, m] of agent.modules()) m.dispose();
        for (const [, o] of agent.optimizers()) o.dispose();
      }
      if (batch) for (const t of batchTensorList(batch)) t.dispose();
      batch = undefined;
      agent = undefined;
    },
  });
}

/** Options of {@link chainruleE2e}. */
export interface E2eOptions {
  /** Environment steps (default 20,000: the case). */
  steps?: number;
  /** Training seed (default 0). */
  seed?: number;
  /** Receives the training summary after the run (default: one line on stderr). */
  onSummary?: (summary: Summary) => void;
}

/**
 * End-to-end: one `train()` run of DDPG (paper preset) on Pendulum-v1, no output
 * directory, no intermediate evaluation or checkpoints; `train()` ends with one
 * evaluation episode (200 steps), which is included. The backend is set globally for the
 * run (`train` is async) and restored afterwards.
 * No leak check: the trainer releases memory through its own scopes and the GC.
 */
export function chainruleE2e(backend: string, options: E2eOptions = {}): Contender {
  const steps = options.steps ?? 20_000;
  const seed = options.seed ?? 0;
  const onSummary =
    options.onSummary ??
    ((s: Summary) =>
      console.error(
        `e2e chainrule-${backend}: ${s.steps} steps in ${s.wallSeconds.toFixed(1)} s (${s.stepsPerSecond.toFixed(0)} steps/s), final eval return ${s.evalReturnMean.toFixed(1)}`,
      ));
  let summary: Summary | undefined;
  return contender(
    CASE.e2ePendulum,
    backend,
    {
      setup() {
        backendByName(backend);
      },
      async run() {
        const previous = getBackend().name;
        setBackend(backend);
        let s: Summary;
        try {
          s = (
            await train({
              env: 'Pendulum-v1',
              seed,
              steps,
              config: makeConfig('paper'),
              evalEvery: 0,
              evalEpisodes: 1,
              checkpointEvery: 0,
              saveReplay: false,
              resume: false,
            })
          ).summary;
        } finally {
          setBackend(previous);
        }
        if (s.backend !== backend) throw new Error(`trained on '${s.backend}', wanted '${backend}'`);
        summary = s;
      },
      teardown() {
        if (summary) onSummary(summary);
        summary = undefined;
      },
    },
    { countLive: false },
  );
}

/** Every chainrule contender on one backend (without the e2e case). */
export function chainruleBackendContenders(backend: string): Contender[] {
  return [
    chainruleMatmul(64, 3, 400, backend),
    chainruleMatmul(64, 400, 300, backend),
    chainruleMatmul(256, 256, 256, backend),
    chainruleMatmul(1024, 1024, 1024, backend),
    chainruleDense(backend),
    chainruleBatchnorm(backend),
    chainruleAdam(backend),
    chainruleDdpg(PAPER_PRESET, CASE.ddpgPaper, backend),
    chainruleDdpg(TUNED_PRESET, CASE.ddpgTuned, backend),
    chainruleDdpg(TD3_PRESET, CASE.ddpgTd3, backend),
  ];
}

/**
 * The DDPG update cases with replay off (`chainrule-<backend>-eager`): the same agent
 * running its update eagerly, so that the gain of capture and replay is a same-run ratio.
 */
export function chainruleEagerContenders(backend: string): Contender[] {
  return [
    [PAPER_PRESET, CASE.ddpgPaper],
    [TUNED_PRESET, CASE.ddpgTuned],
    [TD3_PRESET, CASE.ddpgTd3],
  ].map(([preset, name]) => {
    const c = chainruleDdpg(preset as DdpgPreset, name as string, backend, { replay: false });
    return { ...c, backend: `${backend}-eager` };
  });
}

/**
 * `c` (a wasm contender) run with exactly `threads` threads (`setThreads`), as its own row
 * `chainrule-wasm-<threads>t`; the previous thread count is restored in teardown. The
 * plain `chainrule-wasm` rows use the default (`CHAINRULE_THREADS`, else the core count).
 */
export function withThreads(c: Contender, threads: number): Contender {
  let previous = 1;
  return {
    ...c,
    backend: `${c.backend}-${threads}t`,
    note: [c.note, `${threads} thread${threads > 1 ? 's' : ''}, SIMD path ${simdPathNote()}`]
      .filter(Boolean)
      .join('; '),
    async setup() {
      previous = Number(withBackend(c.backend, () => getBackendInfo().threads));
      setThreads(threads);
      await c.setup();
    },
    run() {
      return c.run();
    },
    async teardown() {
      await c.teardown?.();
      setThreads(previous);
    },
  };
}

function simdPathNote(): string {
  try {
    return String(withBackend('wasm', () => getBackendInfo().simdPath));
  } catch {
    return 'unknown';
  }
}

/**
 * Thread rows of the wasm backend: the matmul and DDPG update cases at 1 and 2 threads
 * (none where the wasm backend is not registered).
 */
export function chainruleThreadContenders(): Contender[] {
  if (!listBackends().includes('wasm')) return [];
  const cases = (): Contender[] => [
    chainruleMatmul(64, 400, 300, 'wasm'),
    chainruleMatmul(256, 256, 256, 'wasm'),
    chainruleMatmul(1024, 1024, 1024, 'wasm'),
    chainruleDdpg(PAPER_PRESET, CASE.ddpgPaper, 'wasm'),
    chainruleDdpg(TUNED_PRESET, CASE.ddpgTuned, 'wasm'),
    chainruleDdpg(TD3_PRESET, CASE.ddpgTd3, 'wasm'),
  ];
  return [1, 2].flatMap((n) => cases().map((c) => withThreads(c, n)));
}

/**
 * chainrule's contenders (`impl: 'chainrule'`): every case on every float32 backend from
 * {@link chainruleBackends}, the wasm backend's thread rows, and the e2e case (run only
 * with `--full`) on the default backend (`CHAINRULE_BACKEND`, else `DEFAULT_BACKEND`).
 */
export function chainruleContenders(): Contender[] {
  return [
    ...chainruleBackends().flatMap((b) => chainruleBackendContenders(b)),
    ...chainruleThreadContenders(),
    ...(listBackends().includes('wasm') ? chainruleEagerContenders('wasm') : []),
    chainruleE2e(defaultBackendName()),
  ];
}
