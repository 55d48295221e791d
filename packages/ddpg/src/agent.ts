/**
 * The DDPG agent (Lillicrap et al. 2016) and TD3 (Fujimoto et al. 2018).
 *
 * The heart of this file is {@link DDPG.updateActor}: the deterministic policy gradient
 * ∇θJ = E[∇aQ(s,a)|a=μθ(s) · ∇θμθ(s)], computed by default as an explicit chain rule:
 *   1. dQda = grad(Q(s, a).sum(), [a]) at a = μ(s)
 *   2. grad(μ(s), θμ, { gradOutputs: −dQda / N })
 * which is TensorFlow 1's `tf.gradients(mu, theta, grad_ys=-dQ_da)`. The `'surrogate'`
 * form, grad(−mean Q(s, μ(s)), θμ), is PyTorch's; both give the same gradients.
 * @module
 */
import * as A from '@chainrule/autograd';
import { grad, noGrad, type Var } from '@chainrule/autograd';
import { Adam, hardUpdate, mseLoss, type OptimizerState, type StateDict, softUpdate } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { Rng, type RngState, type Tensor } from '@chainrule/tensor';
import type { AgentConfig } from './config.ts';
import { Actor, Critic } from './networks.ts';
import { AdaptiveParamNoise, makeNoise, type NoiseProcess } from './noise.ts';
import { type Batch, ReplayBuffer } from './replay.ts';

/** One environment transition. */
export interface Transition {
  obs: ArrayLike<number>;
  action: ArrayLike<number>;
  reward: number;
  nextObs: ArrayLike<number>;
  terminated: boolean;
  truncated: boolean;
}

/** What one `update()` reports. */
export interface UpdateStats {
  criticLoss: number;
  /** −mean Q(s, μ(s)) at the last actor update (NaN if the actor was not updated). */
  actorLoss: number;
  /** Mean of Q(s, a) over the batch. */
  meanQ: number;
  /** Max of Q(s, a) over the batch (the seeds' "max Q"). */
  maxQ: number;
}

/** Environment facts an agent needs. */
export interface AgentSpaces {
  obsDim: number;
  actDim: number;
  actionLow: ArrayLike<number>;
  actionHigh: ArrayLike<number>;
}

/** The serialisable state of an agent besides its tensors. */
export interface AgentMeta {
  algo: string;
  updates: number;
  rng: { init: RngState; sample: RngState; noise: RngState };
  noise: unknown;
  /**
   * Each optimiser's counts and hyperparameters. `steps` (one bias-correction step per
   * parameter) is absent from checkpoints written before Adam counted per parameter; those
   * restore with `step` given to every parameter.
   */
  optimizers: Record<
    string,
    { kind: string; step: number; steps?: number[]; hyper: Record<string, number | boolean> }
  >;
}

/**
 * The deterministic policy gradient ∇θJ ≈ (1/N) Σ ∇aQ(s,a)|a=μθ(s) · ∇θμθ(s) for a batch
 * of states, as gradients of the loss −J (so an optimiser *minimises* it).
 *
 * - `'chain'` (default): 1. dQda = grad(Q(s, a).sum(), [a]) at a = μ(s);
 *   2. grad(μ(s), θμ, { gradOutputs: −dQda / N }). TensorFlow 1's
 *   `tf.gradients(mu, theta, grad_ys=-dQ_da)`.
 * - `'surrogate'`: grad(−mean Q(s, μ(s)), θμ). PyTorch's `(-Q(s, mu(s))).mean().backward()`.
 *
 * Neither touches the critic's `.grad` or its optimiser. Returns one gradient per actor
 * parameter and the actor loss −mean Q(s, μ(s)).
 */
export function policyGradient(
  actor: Actor,
  critic: Critic,
  obs: Tensor,
  mode: 'chain' | 'surrogate' = 'chain',
): { grads: Var[]; actorLoss: number } {
  const s = A.variable(obs);
  const n = obs.shape[0]!;
  const params = actor.parameters();
  const a = actor.forward(s); // a = μθ(s), a non-leaf Var
  const q = critic.forward(s, a);
  let grads: Var[];
  if (mode === 'chain') {
    // 1. ∇a Q(s, a) at a = μ(s). The walk stops at a: the actor's graph is left intact.
    const dQda = grad(A.sum(q), [a])[0]!;
    // 2. The vector-Jacobian product of μ with the seed −dQ/da / N: the chain rule, by hand.
    grads = grad(a, params, { gradOutputs: A.div(A.neg(dQda), n) });
  } else {
    grads = grad(A.neg(A.mean(q)), params);
  }
  return { grads, actorLoss: -T.mean(q.value).item() };
}

function rowsTensor(rows: ArrayLike<number>, dim: number): Tensor {
  return T.tensor(Float32Array.from(rows), { shape: [rows.length / dim, dim] });
}

/**
 * DDPG: an actor, a critic, their target copies, a replay buffer and exploration noise.
 */
export class DDPG {
  /** The algorithm name. */
  readonly algo: string = 'ddpg';
  readonly actor: Actor;
  readonly critic: Critic;
  readonly actorTarget: Actor;
  readonly criticTarget: Critic;
  readonly actorOpt: Adam;
  readonly criticOpt: Adam;
  readonly replay: ReplayBuffer;
  readonly noise: NoiseProcess | undefined;
  /** Adaptive parameter-space noise (`noise: 'param'`), with the perturbed actor copies it uses. */
  readonly paramNoise: { noise: AdaptiveParamNoise; perturbed: Actor; adaptive: Actor } | undefined;
  /** Updates done so far. */
  updates = 0;
  protected readonly initRng: Rng;
  protected readonly sampleRng: Rng;
  protected readonly noiseRng: Rng;

  constructor(
    readonly spaces: AgentSpaces,
    readonly config: AgentConfig,
    seed: number,
  ) {
    // Separate streams, so that e.g. a longer noise sequence does not shift replay sampling.
    this.initRng = new Rng(seed, 1);
    this.sampleRng = new Rng(seed, 2);
    this.noiseRng = new Rng(seed, 3);
    const { obsDim, actDim, actionLow, actionHigh } = spaces;
    const net = (hidden: number[]) => ({
      hidden,
      batchNorm: config.batchNorm,
      finalInit: config.finalInit,
      rng: this.initRng,
    });
    // Parameter-space noise perturbs weights; LayerNorm keeps perturbations comparable across layers.
    const actorNet = {
      ...net(config.actorHidden),
      layerNorm: config.noise === 'param',
      output: config.actorOutput,
      outputBias: config.actorBias,
    };
    this.actor = new Actor(obsDim, actDim, actionLow, actionHigh, actorNet);
    this.critic = new Critic(obsDim, actDim, config.actionLayer, net(config.criticHidden));
    this.actorTarget = new Actor(obsDim, actDim, actionLow, actionHigh, actorNet);
    this.criticTarget = new Critic(obsDim, actDim, config.actionLayer, net(config.criticHidden));
    hardUpdate(this.actorTarget, this.actor);
    hardUpdate(this.criticTarget, this.critic);
    this.actorOpt = new Adam(this.actor.parameters(), { lr: config.actorLr });
    this.criticOpt = new Adam(this.critic.parameters(), {
      lr: config.criticLr,
      weightDecay: config.criticWeightDecay,
    });
    this.replay = new ReplayBuffer(config.bufferSize, obsDim, actDim);
    if (config.noise === 'param') {
      this.noise = undefined;
      this.paramNoise = {
        noise: new AdaptiveParamNoise({ initialStddev: 0.1, desiredActionStddev: config.noiseSigma }),
        perturbed: new Actor(obsDim, actDim, actionLow, actionHigh, actorNet),
        adaptive: new Actor(obsDim, actDim, actionLow, actionHigh, actorNet),
      };
    } else {
      this.noise = makeNoise(config, actDim, this.noiseRng);
      this.paramNoise = undefined;
    }
  }

  /**
   * The action for one observation: μ(s) in eval mode (BatchNorm uses running statistics),
   * plus exploration noise when `explore`, clipped to the action bounds.
   */
  act(obs: ArrayLike<number>, options: { explore: boolean }): Float64Array {
    // With parameter noise, exploration acts with the perturbed copy of the actor.
    const policy = options.explore && this.paramNoise ? this.paramNoise.perturbed : this.actor;
    const a = T.tidy(() =>
      noGrad(() => {
        policy.eval();
        const out = policy.forward(A.variable(rowsTensor(obs, this.spaces.obsDim)));
        policy.train();
        return out.value.dataSync();
      }),
    );
    const action = Float64Array.from(a);
    if (options.explore && this.noise) {
      const n = this.noise.sample();
      for (let i = 0; i < action.length; i++) action[i]! += n[i]!;
    }
    for (let i = 0; i < action.length; i++) {
      action[i] = Math.min(Math.max(action[i]!, this.spaces.actionLow[i]!), this.spaces.actionHigh[i]!);
    }
    return action;
  }

  /** A uniformly random action within the bounds (for the first `startSteps` steps). */
  randomAction(): Float64Array {
    const { actionLow: lo, actionHigh: hi } = this.spaces;
    return Float64Array.from({ length: this.spaces.actDim }, (_, i) => this.noiseRng.uniform(lo[i]!, hi[i]!));
  }

  /** Start of an episode: reset the exploration noise. */
  onEpisodeStart(): void {
    this.noise?.reset();
    if (this.paramNoise) {
      const pn = this.paramNoise;
      T.tidy(
        () => pn.noise.perturb(this.actor, pn.perturbed, this.noiseRng),
        () => pn.perturbed.liveTensors(),
        { releaseReplaced: true },
      );
    }
  }

  /**
   * Parameter noise: perturb a fresh copy with the current σ, measure the distance between
   * its actions and the actor's on a batch of states, and adapt σ (Plappert et al. 2018).
   */
  protected adaptParamNoise(obs: Tensor): void {
    const pn = this.paramNoise;
    if (!pn) return;
    pn.noise.perturb(this.actor, pn.adaptive, this.noiseRng);
    const d = noGrad(() => {
      const s = A.variable(obs);
      for (const m of [this.actor, pn.adaptive]) m.eval();
      const dist = pn.noise.distance(this.actor.forward(s).value, pn.adaptive.forward(s).value);
      for (const m of [this.actor, pn.adaptive]) m.train();
      return dist;
    });
    pn.noise.adapt(d);
  }

  /** Store a transition in the replay buffer (the reward is scaled by `rewardScale`). */
  observe(t: Transition): void {
    this.replay.add({ ...t, reward: t.reward * this.config.rewardScale });
  }

  /** True once the buffer holds enough transitions to update. */
  get ready(): boolean {
    return this.replay.size >= Math.max(this.config.learningStarts, this.config.batchSize);
  }

  /** y = r + γ·(1 − terminated)·Q′(s′, μ′(s′)), with no graph. Truncation still bootstraps. */
  protected targetQ(b: Batch): Tensor {
    return noGrad(() => {
      const s2 = A.variable(b.nextObs);
      const q2 = this.criticTarget.forward(s2, this.actorTarget.forward(s2)).value;
      return T.add(b.reward, T.mul(T.mul(T.sub(1, b.terminated), this.config.gamma), q2));
    });
  }

  /** One critic step on the batch: minimise MSE(Q(s, a), y). */
  protected updateCritic(critic: Critic, opt: Adam, b: Batch, y: Tensor): { loss: number; q: Tensor } {
    const q = critic.forward(A.variable(b.obs), A.variable(b.action));
    const loss = mseLoss(q, A.variable(y));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return { loss: loss.item(), q: q.value };
  }

  /**
   * The actor step: the deterministic policy gradient. Returns −mean Q(s, μ(s)).
   * The critic's parameters get no gradient and its optimiser does not run.
   */
  updateActor(obs: Tensor, critic: Critic = this.critic): number {
    const { grads, actorLoss } = policyGradient(this.actor, critic, obs, this.config.actorUpdate);
    const params = this.actor.parameters();
    this.actorOpt.zeroGrad();
    params.forEach((p, i) => {
      p.grad = grads[i]!.value;
    });
    this.actorOpt.step();
    return actorLoss;
  }

  /** Move the targets towards the online networks (soft), or copy them every C updates (hard). */
  protected updateTargets(): void {
    const { tau, hardUpdateEvery } = this.config;
    if (hardUpdateEvery > 0) {
      if (this.updates % hardUpdateEvery === 0) {
        hardUpdate(this.actorTarget, this.actor);
        hardUpdate(this.criticTarget, this.critic);
      }
    } else {
      softUpdate(this.actorTarget, this.actor, tau);
      softUpdate(this.criticTarget, this.critic, tau);
    }
  }

  /** One DDPG update from a uniformly sampled batch. Returns null while the buffer is too small. */
  update(): UpdateStats | null {
    if (!this.ready) return null;
    return T.tidy(
      () => this.updateOn(this.replay.sample(this.config.batchSize, this.sampleRng)),
      () => this.liveTensors(),
      { releaseReplaced: true },
    );
  }

  /**
   * Every tensor the agent must keep between steps: parameters, gradients, buffers and
   * optimiser state. Updates run in a `tidy` scope that releases everything else.
   */
  liveTensors(): Tensor[] {
    const out: Tensor[] = [];
    for (const [, m] of this.modules()) out.push(...m.liveTensors());
    for (const [, o] of this.optimizers()) out.push(...o.stateTensors());
    if (this.paramNoise)
      out.push(...this.paramNoise.perturbed.liveTensors(), ...this.paramNoise.adaptive.liveTensors());
    return out;
  }

  /** One DDPG update on a given batch: the critic step, the actor step, the target update. */
  updateOn(b: Batch): UpdateStats {
    const y = this.targetQ(b);
    const { loss, q } = this.updateCritic(this.critic, this.criticOpt, b, y);
    const actorLoss = this.updateActor(b.obs);
    this.updates++;
    this.updateTargets();
    this.noise?.step?.();
    if (this.paramNoise && this.updates % 50 === 0) this.adaptParamNoise(b.obs);
    return { criticLoss: loss, actorLoss, meanQ: T.mean(q).item(), maxQ: T.max(q).item() };
  }

  /** The networks' tensors by prefixed name (for checkpoints). */
  tensors(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.modules())
      for (const [k, t] of Object.entries(m.stateDict())) out[`${prefix}.${k}`] = t;
    for (const [name, opt] of this.optimizers()) {
      for (const [k, t] of Object.entries(opt.stateDict().tensors)) out[`opt.${name}.${k}`] = t;
    }
    return out;
  }

  /** The named modules (for checkpoints). */
  modules(): [string, Actor | Critic][] {
    return [
      ['actor', this.actor],
      ['critic', this.critic],
      ['actorTarget', this.actorTarget],
      ['criticTarget', this.criticTarget],
    ];
  }

  /** The named optimisers (for checkpoints). */
  optimizers(): [string, Adam][] {
    return [
      ['actor', this.actorOpt],
      ['critic', this.criticOpt],
    ];
  }

  /** Everything besides tensors needed to continue exactly. */
  meta(): AgentMeta {
    const optimizers: AgentMeta['optimizers'] = {};
    for (const [name, opt] of this.optimizers()) {
      const { kind, step, steps, hyper } = opt.stateDict();
      optimizers[name] = { kind, step, steps, hyper };
    }
    return {
      algo: this.config.algo,
      updates: this.updates,
      rng: {
        init: this.initRng.getState(),
        sample: this.sampleRng.getState(),
        noise: this.noiseRng.getState(),
      },
      noise: this.noise?.getState() ?? this.paramNoise?.noise.getState() ?? null,
      optimizers,
    };
  }

  /** Restore from {@link tensors} and {@link meta}. Missing or mismatched keys are a clear error. */
  restore(tensors: StateDict, meta: AgentMeta): void {
    if (meta.algo !== this.config.algo)
      throw new Error(`checkpoint is for algo "${meta.algo}", this agent is "${this.config.algo}"`);
    for (const [prefix, m] of this.modules()) {
      const sd: StateDict = {};
      for (const [k, t] of Object.entries(tensors))
        if (k.startsWith(`${prefix}.`)) sd[k.slice(prefix.length + 1)] = t;
      m.loadStateDict(sd);
    }
    for (const [name, opt] of this.optimizers()) {
      const info = meta.optimizers[name];
      if (!info) throw new Error(`checkpoint has no state for the ${name} optimiser`);
      const ts: Record<string, Tensor> = {};
      const prefix = `opt.${name}.`;
      for (const [k, t] of Object.entries(tensors)) if (k.startsWith(prefix)) ts[k.slice(prefix.length)] = t;
      opt.loadStateDict({ ...info, tensors: ts } as OptimizerState);
    }
    this.updates = meta.updates;
    this.initRng.setState(meta.rng.init);
    this.sampleRng.setState(meta.rng.sample);
    this.noiseRng.setState(meta.rng.noise);
    if (this.noise && meta.noise) this.noise.setState(meta.noise as never);
    if (this.paramNoise && meta.noise) this.paramNoise.noise.setState(meta.noise as never);
  }
}

/**
 * TD3: twin critics with clipped double-Q targets, target policy smoothing and delayed
 * actor and target updates.
 */
export class TD3 extends DDPG {
  readonly critic2: Critic;
  readonly critic2Target: Critic;
  readonly critic2Opt: Adam;
  private lastActorLoss = Number.NaN;

  constructor(spaces: AgentSpaces, config: AgentConfig, seed: number) {
    super(spaces, config, seed);
    const net = {
      hidden: config.criticHidden,
      batchNorm: config.batchNorm,
      finalInit: config.finalInit,
      rng: this.initRng,
    };
    this.critic2 = new Critic(spaces.obsDim, spaces.actDim, config.actionLayer, net);
    this.critic2Target = new Critic(spaces.obsDim, spaces.actDim, config.actionLayer, net);
    hardUpdate(this.critic2Target, this.critic2);
    this.critic2Opt = new Adam(this.critic2.parameters(), {
      lr: config.criticLr,
      weightDecay: config.criticWeightDecay,
    });
  }

  /** y = r + γ(1 − terminated)·min(Q′₁, Q′₂)(s′, clip(μ′(s′) + clip(ε, −c, c))), ε ~ N(0, σ̃). */
  protected override targetQ(b: Batch): Tensor {
    return noGrad(() => {
      const s2 = A.variable(b.nextObs);
      const { targetNoise, targetNoiseClip, gamma } = this.config;
      const mu2 = this.actorTarget.forward(s2).value;
      const eps = T.clip(
        T.randn(mu2.shape, this.sampleRng, { std: targetNoise }),
        -targetNoiseClip,
        targetNoiseClip,
      );
      const lo = T.tensor(Float32Array.from(this.spaces.actionLow));
      const hi = T.tensor(Float32Array.from(this.spaces.actionHigh));
      const a2 = A.variable(T.minimum(T.maximum(T.add(mu2, eps), lo), hi));
      const q1 = this.criticTarget.forward(s2, a2).value;
      const q2 = this.critic2Target.forward(s2, a2).value;
      return T.add(b.reward, T.mul(T.mul(T.sub(1, b.terminated), gamma), T.minimum(q1, q2)));
    });
  }

  /** One TD3 cycle on a given batch: both critics, and every `policyDelay` cycles the actor and targets. */
  override updateOn(b: Batch): UpdateStats {
    const y = this.targetQ(b);
    const c1 = this.updateCritic(this.critic, this.criticOpt, b, y);
    const c2 = this.updateCritic(this.critic2, this.critic2Opt, b, y);
    this.updates++;
    const hard = this.config.hardUpdateEvery > 0;
    if (this.updates % this.config.policyDelay === 0) {
      this.lastActorLoss = this.updateActor(b.obs);
      // Soft target updates are delayed with the actor; hard copies keep their own period.
      if (!hard) this.updateTargets();
    }
    if (hard) this.updateTargets();
    this.noise?.step?.();
    return {
      criticLoss: (c1.loss + c2.loss) / 2,
      actorLoss: this.lastActorLoss,
      meanQ: T.mean(c1.q).item(),
      maxQ: T.max(c1.q).item(),
    };
  }

  /** The DDPG target update (soft, or a hard copy every C updates), plus the second critic's target. */
  protected override updateTargets(): void {
    super.updateTargets();
    const { tau, hardUpdateEvery } = this.config;
    if (hardUpdateEvery > 0) {
      if (this.updates % hardUpdateEvery === 0) hardUpdate(this.critic2Target, this.critic2);
    } else {
      softUpdate(this.critic2Target, this.critic2, tau);
    }
  }

  override modules(): [string, Actor | Critic][] {
    return [...super.modules(), ['critic2', this.critic2], ['critic2Target', this.critic2Target]];
  }

  override optimizers(): [string, Adam][] {
    return [...super.optimizers(), ['critic2', this.critic2Opt]];
  }
}
