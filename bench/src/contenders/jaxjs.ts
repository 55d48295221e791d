/**
 * jax-js contenders (`@jax-js/jax`, an optional dependency of the bench) on its `wasm`
 * device, for every case except the end-to-end one: the four matmuls, dense and batch-norm
 * forward+backward, the Adam step and the paper / TD3 DDPG updates.
 *
 * Written in jax style: every computation is a pure function of arrays and parameter
 * pytrees, differentiated with `valueAndGrad` / `grad` and compiled with `jit` (the DDPG
 * cases compile one whole update cycle into one program; Adam is written by hand in jax
 * ops, with tfjs' formula). Same inputs, initial parameters, hyper-parameters and output
 * layouts as the tfjs contenders (`tfjs.ts`, `tfjs-nets.ts`).
 *
 * Memory: jax-js arrays are reference-counted and every operation (and every jitted
 * function) consumes its array arguments, so persistent arrays are passed as `x.ref` /
 * `tree.ref(t)`, state is threaded through the jitted step (the old state is consumed, the
 * returned one replaces it), and `dataSync()` consumes what it reads.
 *
 * Execution is lazy: a jitted call only records pending kernel executions, shared by all
 * its outputs, and reading any output back (`dataSync()`) dispatches all of them. In Node
 * (no global `Worker`) the wasm device has no worker pool, so dispatch is synchronous and
 * single-threaded (like tfjs-wasm in Node): when a `dataSync()` returns, the whole call
 * has run. Every `run()` therefore ends with a readback: the results (matmul, dense,
 * batch norm), the critic losses (DDPG, as tfjs) or the step counter (Adam).
 *
 * `setup()` also makes discarded calls of the jitted function, so that tracing and wasm
 * compilation (jit's one-time cost, per input signature) are not part of the first `run()`,
 * whose time the harness uses to size the sample count.
 *
 * Leak check: jax-js exposes no count of live buffers, so {@link wasmSlotCounter} wraps the
 * wasm backend's `malloc` / `incRef` / `decRef` and mirrors its buffer reference counts.
 * The backend object is internal (`getBackend` is not exported from the package entry), so
 * it is reached through the package's bundled backend chunk; if that fails the contenders
 * run without `liveObjects()` and a warning says so.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as JaxModule from '@jax-js/jax';
import { CASE, concatParts as concat } from '../cases.ts';
import type { Contender } from '../harness.ts';
import {
  adamInputs,
  batchnormInputs,
  type DdpgBatch,
  ddpgBatch,
  ddpgInitialParams,
  denseInputs,
  matmulInputs,
} from '../inputs.ts';
import type { JaxjsInfo } from '../machine.ts';
import {
  ADAM_CASE_SPEC,
  type AdamSpec,
  type DdpgPreset,
  type MlpSpec,
  PAPER_PRESET,
  type ParamInit,
  TD3_PRESET,
  TUNED_PRESET,
} from '../specs.ts';

type Jax = typeof JaxModule;
type JArray = JaxModule.Array;

const DEVICE = 'wasm';
/** Seed of the TD3 target-policy noise key. */
const NOISE_SEED = 1;

/** Read an array back into a Float32Array (consumes `a`). */
function f32(a: JArray): Float32Array {
  const d = a.dataSync();
  return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
}

/**
 * Dispatch a discarded result in `setup()`: tracing happens at the call, wasm compilation
 * of the kernels when the first output is read back (which dispatches the whole call).
 */
function warm(jax: Jax, out: JaxModule.JsTree<JArray>): void {
  const [first, ...rest] = jax.tree.leaves<JArray>(out);
  first?.dataSync();
  jax.tree.dispose(rest);
}

/** The `dist/` directory of the installed `@jax-js/jax`. */
function distDir(): string {
  return path.dirname(createRequire(import.meta.url).resolve('@jax-js/jax'));
}

/** `@jax-js/jax`'s version and thread support (`null` when it is not installed). */
export async function jaxjsInfo(): Promise<JaxjsInfo | null> {
  try {
    const pkg = JSON.parse(await readFile(path.join(distDir(), '..', 'package.json'), 'utf8'));
    return {
      version: String(pkg.version),
      threads: typeof SharedArrayBuffer !== 'undefined' && 'Worker' in globalThis,
    };
  } catch {
    return null;
  }
}

/** The methods of jax-js' internal `Backend` interface that the counter wraps. */
interface BackendSlots {
  readonly type: string;
  malloc(size: number, initialData?: Uint8Array): number;
  incRef(slot: number): void;
  decRef(slot: number): void;
}

/**
 * A live-buffer count of jax-js' wasm device: wraps the backend's `malloc` / `incRef` /
 * `decRef` (every buffer reference-count change goes through them, including those of
 * jitted programs and pending executions) and mirrors the counts of the slots allocated
 * since. The backend comes from the internal `getBackend` of the package's backend chunk
 * (the same module instance the entry imports). Checked on a test array; `undefined` (with
 * the reason in `why`) when any step fails.
 */
async function wasmSlotCounter(jax: Jax): Promise<{ count?: () => number; why?: string }> {
  try {
    const dist = distDir();
    const entry = await readFile(path.join(dist, 'index.js'), 'utf8');
    const chunk = /from "\.\/(backend-[\w-]+\.js)"/.exec(entry)?.[1];
    if (!chunk) return { why: 'backend chunk not found in dist/index.js' };
    const chunkText = await readFile(path.join(dist, chunk), 'utf8');
    const name = /\bgetBackend as ([\w$]+)/.exec(chunkText)?.[1];
    if (!name) return { why: `getBackend not exported by ${chunk}` };
    const mod = (await import(pathToFileURL(path.join(dist, chunk)).href)) as Record<string, unknown>;
    const getBackend = mod[name];
    if (typeof getBackend !== 'function') return { why: `${chunk}: ${name} is not a function` };
    await jax.init(DEVICE);
    const be = getBackend(DEVICE) as BackendSlots;
    if (be?.type !== DEVICE) return { why: 'getBackend did not return the wasm backend' };
    const live = new Map<number, number>();
    const marked = be as BackendSlots & { __chainruleSlotCounter?: Map<number, number> };
    if (marked.__chainruleSlotCounter) return { count: () => marked.__chainruleSlotCounter!.size };
    const malloc = be.malloc.bind(be);
    const incRef = be.incRef.bind(be);
    const decRef = be.decRef.bind(be);
    be.malloc = (size, initialData) => {
      const slot = malloc(size, initialData);
      live.set(slot, 1);
      return slot;
    };
    be.incRef = (slot) => {
      incRef(slot);
      const rc = live.get(slot);
      if (rc !== undefined) live.set(slot, rc + 1);
    };
    be.decRef = (slot) => {
      decRef(slot);
      const rc = live.get(slot);
      if (rc === undefined) return;
      if (rc <= 1) live.delete(slot);
      else live.set(slot, rc - 1);
    };
    marked.__chainruleSlotCounter = live;
    // Self-check: an array of the package entry must show up in this count, and go away.
    const before = live.size;
    const probe = jax.numpy.array(new Float32Array(1024), { device: DEVICE });
    probe.ref.dataSync();
    const during = live.size;
    probe.dispose();
    if (during !== before + 1 || live.size !== before)
      return { why: `self-check failed (live buffers ${before} → ${during} → ${live.size})` };
    return { count: () => live.size };
  } catch (e) {
    return { why: e instanceof Error ? e.message : String(e) };
  }
}

/** What every jax-js contender needs: the module and the live-buffer count (if available). */
export interface JaxEnv {
  readonly jax: Jax;
  readonly liveObjects?: () => number;
}

async function useWasm(jax: Jax): Promise<void> {
  const devices = await jax.init(DEVICE);
  if (!devices.includes(DEVICE)) throw new Error(`jax-js: the ${DEVICE} device is not available`);
  jax.defaultDevice(DEVICE);
}

function common(env: JaxEnv, caseName: string) {
  return {
    case: caseName,
    impl: 'jax-js',
    backend: DEVICE,
    ...(env.liveObjects ? { liveObjects: env.liveObjects } : {}),
  } as const;
}

/** `jit(matmul)(a, b)` then `dataSync()`: the readback is part of the measured work. */
export function jaxjsMatmul(env: JaxEnv, m: number, k: number, n: number): Contender {
  const { jax } = env;
  const np = jax.numpy;
  let a: JArray | undefined;
  let b: JArray | undefined;
  let mm: JaxModule.OwnedFunction<(a: JArray, b: JArray) => JArray> | undefined;
  let last: Float32Array | undefined;
  return {
    ...common(env, `matmul ${m}x${k}x${n}`),
    async setup() {
      await useWasm(jax);
      const inp = matmulInputs(m, k, n);
      a = np.array(inp.a, { shape: [m, k], device: DEVICE });
      b = np.array(inp.b, { shape: [k, n], device: DEVICE });
      mm = jax.jit((x: JArray, y: JArray) => np.matmul(x, y));
      warm(jax, mm(a.ref, b.ref));
    },
    run() {
      last = f32(mm!(a!.ref, b!.ref));
    },
    output: () => Float32Array.from(last!),
    teardown() {
      a?.dispose();
      b?.dispose();
      mm?.dispose();
      a = b = mm = last = undefined;
    },
  };
}

/**
 * Dense layer forward + backward: `loss = Σ relu(x·W + b)⊙g`, `jit(valueAndGrad(loss,
 * { argnums: [0, 1, 2] }))` for the gradients of x, W, b; loss and all gradients are read
 * back. Output: `[loss, dW, db, dx]`.
 */
export function jaxjsDense(env: JaxEnv): Contender {
  const { jax } = env;
  const np = jax.numpy;
  let t: { x: JArray; w: JArray; b: JArray; g: JArray } | undefined;
  let f:
    | JaxModule.OwnedFunction<(x: JArray, w: JArray, b: JArray, g: JArray) => [JArray, JArray[]]>
    | undefined;
  let parts: ArrayLike<number>[] = [];
  const call = () => f!(t!.x.ref, t!.w.ref, t!.b.ref, t!.g.ref);
  return {
    ...common(env, CASE.dense),
    async setup() {
      await useWasm(jax);
      const inp = denseInputs();
      t = {
        x: np.array(inp.x, { shape: [inp.batch, inp.in], device: DEVICE }),
        w: np.array(inp.w, { shape: [inp.in, inp.out], device: DEVICE }),
        b: np.array(inp.b, { shape: [inp.out], device: DEVICE }),
        g: np.array(inp.g, { shape: [inp.batch, inp.out], device: DEVICE }),
      };
      const loss = (x: JArray, w: JArray, b: JArray, g: JArray): JArray =>
        np.sum(jax.nn.relu(np.matmul(x, w).add(b)).mul(g));
      f = jax.jit(jax.valueAndGrad(loss, { argnums: [0, 1, 2] })) as typeof f;
      warm(jax, call());
    },
    run() {
      const [value, [dx, dw, db]] = call();
      parts = [f32(value), f32(dw!), f32(db!), f32(dx!)];
    },
    output: () => concat(parts),
    teardown() {
      jax.tree.dispose(t);
      f?.dispose();
      t = f = undefined;
      parts = [];
    },
  };
}

/**
 * Training-mode batch norm `y = γ⊙(x − mean)/√(var + eps) + β` with the batch mean and
 * biased variance over axis 0 (what tfjs' `tf.moments` + `tf.batchNorm` compute).
 */
function batchNorm(jax: Jax, z: JArray, gamma: JArray, beta: JArray, eps: number): JArray {
  const np = jax.numpy;
  const xc = z.ref.sub(z.mean(0));
  const variance = np.square(xc.ref).mean(0);
  return xc
    .div(np.sqrt(variance.add(eps)))
    .mul(gamma)
    .add(beta);
}

/**
 * Batch norm forward + backward in training mode: `loss = Σ batchNorm(x; γ, β)⊙g`,
 * `jit(valueAndGrad(loss, { argnums: [0, 1, 2] }))` for the gradients of x, γ, β; all read
 * back. Output: `[loss, dx, dgamma, dbeta]`.
 */
export function jaxjsBatchnorm(env: JaxEnv): Contender {
  const { jax } = env;
  const np = jax.numpy;
  let t: { x: JArray; gamma: JArray; beta: JArray; g: JArray } | undefined;
  let f:
    | JaxModule.OwnedFunction<(x: JArray, gamma: JArray, beta: JArray, g: JArray) => [JArray, JArray[]]>
    | undefined;
  let parts: ArrayLike<number>[] = [];
  const call = () => f!(t!.x.ref, t!.gamma.ref, t!.beta.ref, t!.g.ref);
  return {
    ...common(env, CASE.batchnorm),
    async setup() {
      await useWasm(jax);
      const inp = batchnormInputs();
      t = {
        x: np.array(inp.x, { shape: [inp.batch, inp.features], device: DEVICE }),
        gamma: np.array(inp.gamma, { shape: [inp.features], device: DEVICE }),
        beta: np.array(inp.beta, { shape: [inp.features], device: DEVICE }),
        g: np.array(inp.g, { shape: [inp.batch, inp.features], device: DEVICE }),
      };
      const loss = (x: JArray, gamma: JArray, beta: JArray, g: JArray): JArray =>
        np.sum(batchNorm(jax, x, gamma, beta, inp.eps).mul(g));
      f = jax.jit(jax.valueAndGrad(loss, { argnums: [0, 1, 2] })) as typeof f;
      warm(jax, call());
    },
    run() {
      const [value, [dx, dgamma, dbeta]] = call();
      parts = [f32(value), f32(dx!), f32(dgamma!), f32(dbeta!)];
    },
    output: () => concat(parts),
    teardown() {
      jax.tree.dispose(t);
      f?.dispose();
      t = f = undefined;
      parts = [];
    },
  };
}

/** Adam state of a parameter pytree (`m`, `v` have its structure), optax style. */
type AdamState<P> = { m: P; v: P; count: JArray };

/** Zero moments for `params` (only reads their shapes: does not consume them). */
function adamInit<P extends JaxModule.JsTree<JArray>>(jax: Jax, params: P): AdamState<P> {
  const zeros = () => jax.tree.map((p: JArray) => jax.numpy.zeros(p.shape, { device: DEVICE }), params) as P;
  return { m: zeros(), v: zeros(), count: jax.numpy.zeros([], { device: DEVICE }) };
}

/**
 * One Adam step (pure; consumes all its arguments), exactly tfjs' `AdamOptimizer`:
 * `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
 * `p ← p − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)`.
 */
function adamApply<P extends JaxModule.JsTree<JArray>>(
  jax: Jax,
  spec: AdamSpec,
  params: P,
  grads: P,
  state: AdamState<P>,
): [P, AdamState<P>] {
  const { numpy: np, tree } = jax;
  const { lr, beta1, beta2, epsilon } = spec;
  const [p, def] = tree.flatten<JArray>(params);
  const g = tree.leaves<JArray>(grads);
  const m = tree.leaves<JArray>(state.m);
  const v = tree.leaves<JArray>(state.v);
  const count = state.count.add(1);
  const c1 = np.power(beta1, count.ref).neg().add(1);
  const c2 = np.power(beta2, count.ref).neg().add(1);
  const newP: JArray[] = [];
  const newM: JArray[] = [];
  const newV: JArray[] = [];
  p.forEach((pi, i) => {
    const gi = g[i]!;
    const mi = m[i]!.mul(beta1).add(gi.ref.mul(1 - beta1));
    const vi = v[i]!.mul(beta2).add(np.square(gi).mul(1 - beta2));
    const step = mi.ref
      .div(c1.ref)
      .div(np.sqrt(vi.ref.div(c2.ref)).add(epsilon))
      .mul(-lr);
    newP.push(step.add(pi));
    newM.push(mi);
    newV.push(vi);
  });
  c1.dispose();
  c2.dispose();
  const un = (leaves: JArray[]) => tree.unflatten(def, leaves) as P;
  return [un(newP), { m: un(newM), v: un(newV), count }];
}

/**
 * One Adam step over the paper critic's parameters with fixed gradients: a jitted
 * `adamApply` (the hand-written optimiser also used by the DDPG cases). The only readback
 * is the step counter, which dispatches the whole jitted step. Output: all parameters in
 * `initParams` order.
 */
export function jaxjsAdam(env: JaxEnv): Contender {
  const { jax } = env;
  const { numpy: np, tree } = jax;
  type State = { params: JArray[] } & AdamState<JArray[]>;
  let state: State | undefined;
  let grads: JArray[] = [];
  let step: JaxModule.OwnedFunction<(s: State, g: JArray[]) => State> | undefined;
  const stepOnce = (s: State): State => {
    const next = step!(s, tree.ref(grads));
    const t = next.count.ref.dataSync()[0]!;
    if (!(t >= 1)) throw new Error(`Adam step counter is ${t}`);
    return next;
  };
  return {
    ...common(env, CASE.adam),
    async setup() {
      await useWasm(jax);
      const inp = adamInputs();
      const params = inp.params.map((p) => np.array(p.data, { shape: [...p.shape], device: DEVICE }));
      grads = inp.params.map((p, i) => np.array(inp.grads[i]!, { shape: [...p.shape], device: DEVICE }));
      state = { params, ...adamInit(jax, params) };
      step = jax.jit((s: State, g: JArray[]): State => {
        const [p, opt] = adamApply(jax, ADAM_CASE_SPEC, s.params, g, { m: s.m, v: s.v, count: s.count });
        return { params: p, ...opt };
      });
      // Compile for the initial state and for the step's own output, on discarded copies.
      tree.dispose(stepOnce(stepOnce(tree.ref(state))));
    },
    run() {
      state = stepOnce(state!);
    },
    output: () => concat(state!.params.map((p) => f32(p.ref))),
    teardown() {
      tree.dispose(state);
      tree.dispose(grads);
      step?.dispose();
      state = step = undefined;
      grads = [];
    },
  };
}

/** One dense layer's parameters (`gamma`, `beta` only with batch norm). */
type LayerParams = { [name: string]: JArray };
type MlpParams = LayerParams[];

/** An MLP's parameters as a pytree, from the bench's seeded initial values. */
function mlpParams(jax: Jax, spec: MlpSpec, init: readonly ParamInit[]): MlpParams {
  const byName = new Map(init.map((p) => [p.name, p]));
  const arr = (name: string): JArray => {
    const p = byName.get(name);
    if (!p) throw new Error(`jax-js: missing initial value for ${name}`);
    return jax.numpy.array(p.data, { shape: [...p.shape], device: DEVICE });
  };
  return spec.layers.map((l, i) => {
    const prefix = `${spec.name}.l${i}`;
    const layer: LayerParams = { w: arr(`${prefix}.w`), b: arr(`${prefix}.b`) };
    if (l.batchNorm) {
      layer.gamma = arr(`${prefix}.gamma`);
      layer.beta = arr(`${prefix}.beta`);
    }
    return layer;
  });
}

/**
 * Forward pass of an MLP (consumes `params`, `obs` and `action`): `act(bn?(h·w + b))` per
 * layer, batch norm always in training mode (batch statistics); a critic's action joins
 * as `concat([h, action], 1)` at its `actionInputLayer`, as in tfjs and chainrule.
 *
 * For the paper critic that makes layer 2 a matmul with an odd inner dimension (401), on
 * which jax-js 0.1.25's wasm kernels are several times slower (its fwd+bwd ≈13× slower than
 * with 400); splitting the weight (`h·W[:400] + a·W[400:]`) would avoid that, but the
 * contender computes what the others compute (see the bench README).
 */
function mlp(
  jax: Jax,
  spec: MlpSpec,
  params: MlpParams,
  obs: JArray,
  action: JArray | undefined,
  bnEpsilon: number,
): JArray {
  const np = jax.numpy;
  let h = obs;
  spec.layers.forEach((l, i) => {
    if (spec.actionInputLayer === i) {
      if (!action) throw new Error(`${spec.name}: an action input is required`);
      h = np.concatenate([h, action], 1);
    }
    const p = params[i]!;
    let z = np.matmul(h, p.w!).add(p.b!);
    if (l.batchNorm) z = batchNorm(jax, z, p.gamma!, p.beta!, bnEpsilon);
    h = l.activation === 'relu' ? jax.nn.relu(z) : l.activation === 'tanh' ? np.tanh(z) : z;
  });
  if (spec.actionInputLayer === undefined) action?.dispose();
  return spec.outputScale === undefined ? h : h.mul(spec.outputScale);
}

/** `τ·online + (1−τ)·target`, leaf by leaf (consumes both). */
function softUpdate<P extends JaxModule.JsTree<JArray>>(jax: Jax, tau: number, online: P, target: P): P {
  return jax.tree.map((o: JArray, t: JArray) => o.mul(tau).add(t.mul(1 - tau)), online, target) as P;
}

/** The whole learner state, threaded through the jitted update. */
type DdpgState = {
  actor: MlpParams;
  actorTarget: MlpParams;
  critics: MlpParams[];
  criticTargets: MlpParams[];
  actorOpt: AdamState<MlpParams>;
  criticOpt: AdamState<MlpParams[]>;
  /** PRNG key of the TD3 target-policy noise (absent without noise). */
  key?: JArray;
};

type DdpgArrays = { s: JArray; a: JArray; r: JArray; s2: JArray; done: JArray };

/**
 * One DDPG / TD3 update cycle as a pure function `(state, batch) → [state′, criticLosses]`,
 * mirroring `TfDdpg.cycle` step by step: `policyDelay` critic updates (target
 * y = r + γ(1−done)·min over target critics of Q′(s′, ã′) with ã′ = μ′(s′), plus clipped
 * N(0, σ²) noise and clipping to the action bound for TD3; loss = Σ over critics of
 * MSE(Q(s, a), y) + wd·½Σ‖w‖² over the dense weights; one Adam over all critics), one actor
 * update (−mean Q₁(s, μ(s)) with the updated critic, actor parameters only), then the soft
 * update of every target network. Consumes `state` and `batch`.
 */
function ddpgCycle(jax: Jax, preset: DdpgPreset, state: DdpgState, batch: DdpgArrays): [DdpgState, JArray] {
  const { numpy: np, tree, random } = jax;
  const { gamma, tau, bnEpsilon: eps, criticWeightDecay: wd, targetPolicyNoise: noise } = preset;
  const { s, a, r, s2, done } = batch;
  let { actor, actorTarget, critics, criticTargets, actorOpt, criticOpt, key } = state;

  const criticLoss = (cs: MlpParams[], obs: JArray, act: JArray, y: JArray): JArray => {
    // L2 first: the forward passes consume the weights.
    const l2 =
      wd > 0 ? cs.flatMap((c) => c.map((l) => np.sum(np.square(l.w!.ref)))).reduce((x, z) => x.add(z)) : null;
    let loss = cs
      .map((c, i) => np.mean(np.square(mlp(jax, preset.critics[i]!, c, obs.ref, act.ref, eps).sub(y.ref))))
      .reduce((x, z) => x.add(z));
    obs.dispose();
    act.dispose();
    y.dispose();
    if (l2) loss = loss.add(l2.mul(0.5 * wd));
    return loss;
  };
  const actorLoss = (ap: MlpParams, critic1: MlpParams, obs: JArray): JArray =>
    mlp(jax, preset.critics[0]!, critic1, obs.ref, mlp(jax, preset.actor, ap, obs, undefined, eps), eps)
      .mean()
      .neg();

  const losses: JArray[] = [];
  for (let k = 0; k < preset.policyDelay; k++) {
    let a2 = mlp(jax, preset.actor, tree.ref(actorTarget), s2.ref, undefined, eps);
    if (noise) {
      if (!key) throw new Error('jax-js: TD3 state has no PRNG key');
      const keys = random.split(key, 2);
      key = keys.ref.slice(0);
      const n = np.clip(random.normal(keys.slice(1), a2.shape).mul(noise.std), -noise.clip, noise.clip);
      a2 = np.clip(a2.add(n), -preset.actionBound, preset.actionBound);
    }
    const qs = criticTargets.map((c, i) => mlp(jax, preset.critics[i]!, tree.ref(c), s2.ref, a2.ref, eps));
    a2.dispose();
    const q2 = qs.reduce((x, z) => np.minimum(x, z));
    const y = r.ref.add(done.ref.neg().add(1).mul(gamma).mul(q2));
    const [loss, grads] = jax.valueAndGrad(criticLoss)(tree.ref(critics), s.ref, a.ref, y);
    [critics, criticOpt] = adamApply(jax, preset.criticAdam, critics, grads as MlpParams[], criticOpt);
    losses.push(loss);
  }
  const actorGrads = jax.grad(actorLoss)(tree.ref(actor), tree.ref(critics[0]!), s.ref);
  [actor, actorOpt] = adamApply(jax, preset.actorAdam, actor, actorGrads as MlpParams, actorOpt);
  actorTarget = softUpdate(jax, tau, tree.ref(actor), actorTarget);
  criticTargets = softUpdate(jax, tau, tree.ref(critics), criticTargets);
  tree.dispose([s, a, r, s2, done]);
  const next: DdpgState = { actor, actorTarget, critics, criticTargets, actorOpt, criticOpt };
  if (key) next.key = key;
  return [next, np.stack(losses)];
}

/**
 * One DDPG / TD3 cycle (see {@link ddpgCycle}) on the fixed batch, compiled as one jitted
 * program; the critic losses (one per critic update) are read back, as tfjs does. TD3's
 * target noise comes from a jax PRNG key in the state (split every critic update), so its
 * draws differ from tfjs' `tf.randomNormal`.
 */
export interface JaxjsDdpgContender extends Contender {
  /**
   * Copies of the online networks' current parameters, each flattened in `initParams`
   * order (for tests comparing with tfjs), and the critic losses of the last `run()`.
   */
  snapshot(): { actor: Float32Array; critics: Float32Array[]; criticLosses: Float32Array };
}

export function jaxjsDdpg(env: JaxEnv, preset: DdpgPreset, caseName: string): JaxjsDdpgContender {
  const { jax } = env;
  const { numpy: np, tree } = jax;
  let state: DdpgState | undefined;
  let batch: DdpgArrays | undefined;
  let cycle: JaxModule.OwnedFunction<(st: DdpgState, b: DdpgArrays) => [DdpgState, JArray]> | undefined;
  let lastLosses: Float32Array = new Float32Array(0);
  const cycleOnce = (st: DdpgState): DdpgState => {
    const [next, losses] = cycle!(st, tree.ref(batch!));
    lastLosses = f32(losses);
    for (const v of lastLosses) if (!Number.isFinite(v)) throw new Error(`critic loss is ${v}`);
    return next;
  };
  const flat = (net: MlpParams): Float32Array => concat(tree.leaves<JArray>(tree.ref(net)).map(f32));
  return {
    ...common(env, caseName),
    note: 'one jit-compiled cycle; same initial parameters as tfjs',
    async setup() {
      await useWasm(jax);
      const init = ddpgInitialParams(preset);
      const b: DdpgBatch = ddpgBatch(preset.batch);
      const B = b.batch;
      batch = {
        s: np.array(b.s, { shape: [B, b.obsDim], device: DEVICE }),
        a: np.array(b.a, { shape: [B, b.actDim], device: DEVICE }),
        r: np.array(b.r, { shape: [B, 1], device: DEVICE }),
        s2: np.array(b.s2, { shape: [B, b.obsDim], device: DEVICE }),
        done: np.array(b.done, { shape: [B, 1], device: DEVICE }),
      };
      const actor = mlpParams(jax, preset.actor, init.actor);
      const critics = preset.critics.map((c, i) => mlpParams(jax, c, init.critics[i]!));
      state = {
        actorTarget: mlpParams(jax, preset.actor, init.actor),
        criticTargets: preset.critics.map((c, i) => mlpParams(jax, c, init.critics[i]!)),
        actorOpt: adamInit(jax, actor),
        criticOpt: adamInit(jax, critics),
        actor,
        critics,
      };
      if (preset.targetPolicyNoise) state.key = jax.random.key(NOISE_SEED);
      cycle = jax.jit((st: DdpgState, bt: DdpgArrays) => ddpgCycle(jax, preset, st, bt));
      // Compile for the initial state and for the cycle's own output, on discarded copies.
      tree.dispose(cycleOnce(cycleOnce(tree.ref(state))));
    },
    run() {
      state = cycleOnce(state!);
    },
    snapshot: () => ({
      actor: flat(state!.actor),
      critics: state!.critics.map(flat),
      criticLosses: lastLosses.slice(),
    }),
    teardown() {
      tree.dispose(state);
      tree.dispose(batch);
      cycle?.dispose();
      state = batch = cycle = undefined;
    },
  };
}

/** The result of loading `@jax-js/jax`. */
export type JaxjsLoad = { ok: true; jax: Jax } | { ok: false; reason: string };

/** Import the optional `@jax-js/jax`; `ok: false` with a one-line reason when it is absent or broken. */
export async function loadJaxjs(): Promise<JaxjsLoad> {
  try {
    return { ok: true, jax: (await import('@jax-js/jax')) as Jax };
  } catch (e) {
    const code = (e as { code?: string }).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    if (missing && String((e as Error).message).includes("'@jax-js/jax'"))
      return { ok: false, reason: 'jax-js not installed: skipping its contenders' };
    const msg = e instanceof Error ? e.message : String(e);
    return { ok: false, reason: `jax-js failed to load (${msg}): skipping its contenders` };
  }
}

/**
 * Load `@jax-js/jax` and its live-buffer count. Logs one line and returns `undefined` when
 * it is not installed (it is an optional dependency) or does not load.
 */
export async function jaxjsEnv(log: (message: string) => void = console.error): Promise<JaxEnv | undefined> {
  const loaded = await loadJaxjs();
  if (!loaded.ok) {
    log(loaded.reason);
    return undefined;
  }
  const { jax } = loaded;
  const counter = await wasmSlotCounter(jax);
  if (!counter.count)
    log(`WARNING: jax-js live-buffer count unavailable (${counter.why}): its rows skip the leak check`);
  return { jax, ...(counter.count ? { liveObjects: counter.count } : {}) };
}

/**
 * Every jax-js contender (`impl: 'jax-js'`, `backend: 'wasm'`); none for the e2e case, and
 * none (after one logged line) when `@jax-js/jax` is not installed.
 */
export async function jaxjsContenders(log: (message: string) => void = console.error): Promise<Contender[]> {
  const env = await jaxjsEnv(log);
  if (!env) return [];
  return [
    jaxjsMatmul(env, 64, 3, 400),
    jaxjsMatmul(env, 64, 400, 300),
    jaxjsMatmul(env, 256, 256, 256),
    jaxjsMatmul(env, 1024, 1024, 1024),
    jaxjsDense(env),
    jaxjsBatchnorm(env),
    jaxjsAdam(env),
    jaxjsDdpg(env, PAPER_PRESET, CASE.ddpgPaper),
    jaxjsDdpg(env, TUNED_PRESET, CASE.ddpgTuned),
    jaxjsDdpg(env, TD3_PRESET, CASE.ddpgTd3),
  ];
}
