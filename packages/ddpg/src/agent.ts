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
import { type Adam, hardUpdate, mseLoss, softUpdate } from '@chainrule/nn';
import type { Tensor } from '@chainrule/tensor';
import * as T from '@chainrule/tensor';
import { ActorCriticAgent, type AgentSpaces, type Transition, type UpdateStats } from './actorCritic.ts';
import type { AgentConfig } from './config.ts';
import type { Actor, Critic } from './networks.ts';
import { AdaptiveParamNoise } from './noise.ts';
import { type Batch, ReplayBuffer } from './replay.ts';

export type { Agent, AgentMeta, AgentSpaces, AgentState, Transition, UpdateStats } from './actorCritic.ts';

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
  const { grads, actorLoss } = policyGradientTensors(actor, critic, obs, mode);
  return { grads, actorLoss: actorLoss.item() };
}

/**
 * {@link policyGradient} with the actor loss as a scalar tensor instead of a number: it
 * reads no data, so a captured update (`T.replayable`) can contain it.
 */
export function policyGradientTensors(
  actor: Actor,
  critic: Critic,
  obs: Tensor,
  mode: 'chain' | 'surrogate' = 'chain',
): { grads: Var[]; actorLoss: Tensor } {
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
  return { grads, actorLoss: T.neg(T.mean(q.value)) };
}

/** The batch tensors an update uses. */
export type UpdateBatch = Pick<Batch, 'obs' | 'action' | 'reward' | 'nextObs' | 'terminated'>;

/** What the tensor part of an update returns (scalar tensors, read after the call). */
export interface UpdateTensors {
  criticLoss: Tensor;
  /** −mean Q(s, μ(s)); undefined on updates that do not step the actor (TD3's delay). */
  actorLoss: Tensor | undefined;
  meanQ: Tensor;
  maxQ: Tensor;
}

/**
 * DDPG: an actor, a critic, their target copies, a replay buffer and exploration noise.
 */
export class DDPG extends ActorCriticAgent {
  /** The algorithm name. */
  readonly algo: string = 'ddpg';
  readonly actorTarget: Actor;
  readonly criticTarget: Critic;
  override readonly replay: ReplayBuffer;
  /** Adaptive parameter-space noise (`noise: 'param'`), with the perturbed actor copies it uses. */
  readonly paramNoise: { noise: AdaptiveParamNoise; perturbed: Actor; adaptive: Actor } | undefined;
  /**
   * The tensor part of an update ({@link updateTensors}), captured once and replayed on later
   * updates (`T.replayable`): the same kernels on the same buffers, without rebuilding the
   * graph. Bit-identical to running it eagerly; `CHAINRULE_REPLAY=0` runs it eagerly.
   */
  readonly compiledUpdate = T.replayableVariants(
    // The branch ('actor' when this update also steps the actor) is decided once, in
    // updateOn, and arrives here as the variant: each branch is its own plan, and nothing
    // here reads the update count again. Tensors: obs, action, reward, nextObs,
    // terminated, then TD3's smoothing noise.
    (branch: 'actor' | 'critic', ...t: Tensor[]) =>
      this.updateTensors(
        { obs: t[0]!, action: t[1]!, reward: t[2]!, nextObs: t[3]!, terminated: t[4]! },
        t[5],
        branch === 'actor',
      ),
    { name: `${this.constructor.name}.update` },
  );

  constructor(spaces: AgentSpaces, config: AgentConfig, seed: number) {
    super(spaces, config, seed);
    this.actorTarget = this.makeActor();
    this.criticTarget = this.makeCritic();
    hardUpdate(this.actorTarget, this.actor);
    hardUpdate(this.criticTarget, this.critic);
    this.replay = new ReplayBuffer(config.bufferSize, spaces.obsDim, spaces.actDim);
    this.paramNoise =
      config.noise === 'param'
        ? {
            noise: new AdaptiveParamNoise({ initialStddev: 0.1, desiredActionStddev: config.noiseSigma }),
            perturbed: this.makeActor(),
            adaptive: this.makeActor(),
          }
        : undefined;
  }

  /** With parameter noise, exploration acts with the perturbed copy of the actor. */
  protected override policy(explore: boolean): Actor {
    return explore && this.paramNoise ? this.paramNoise.perturbed : this.actor;
  }

  override explorationScale(): number | null {
    return this.paramNoise ? this.paramNoise.noise.currentStddev : super.explorationScale();
  }

  protected override noiseState(): unknown {
    return this.paramNoise ? this.paramNoise.noise.getState() : super.noiseState();
  }

  protected override setNoiseState(state: unknown): void {
    if (this.paramNoise && state) this.paramNoise.noise.setState(state as never);
    else super.setNoiseState(state);
  }

  /** Start of an episode: reset the exploration noise. */
  override onEpisodeStart(): void {
    super.onEpisodeStart();
    if (this.paramNoise) {
      const pn = this.paramNoise;
      T.tidy(() => pn.noise.perturb(this.actor, pn.perturbed, this.noiseRng));
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
    this.observed++;
    this.replay.add({ ...t, reward: t.reward * this.config.rewardScale });
  }

  /** True once the buffer holds enough transitions to update. */
  get ready(): boolean {
    return this.replay.size >= Math.max(this.config.learningStarts, this.config.batchSize);
  }

  /** y = r + γ·(1 − terminated)·Q′(s′, μ′(s′)), with no graph. Truncation still bootstraps. */
  protected targetQ(b: UpdateBatch, _noise?: Tensor): Tensor {
    return noGrad(() => {
      const s2 = A.variable(b.nextObs);
      const q2 = this.criticTarget.forward(s2, this.actorTarget.forward(s2)).value;
      return T.add(b.reward, T.mul(T.mul(T.sub(1, b.terminated), this.config.gamma), q2));
    });
  }

  /** One critic step on the batch: minimise MSE(Q(s, a), y). Returns the loss and Q(s, a) as tensors. */
  protected criticStep(critic: Critic, opt: Adam, b: UpdateBatch, y: Tensor): { loss: Tensor; q: Tensor } {
    const q = critic.forward(A.variable(b.obs), A.variable(b.action));
    const loss = mseLoss(q, A.variable(y));
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return { loss: loss.value, q: q.value };
  }

  /** {@link criticStep} with the loss as a number. */
  protected updateCritic(critic: Critic, opt: Adam, b: UpdateBatch, y: Tensor): { loss: number; q: Tensor } {
    const { loss, q } = this.criticStep(critic, opt, b, y);
    return { loss: loss.item(), q };
  }

  /**
   * The actor step: the deterministic policy gradient. Returns −mean Q(s, μ(s)) as a scalar
   * tensor. The critic's parameters get no gradient and its optimiser does not run.
   */
  protected actorStep(obs: Tensor, critic: Critic = this.critic): Tensor {
    const { grads, actorLoss } = policyGradientTensors(this.actor, critic, obs, this.config.actorUpdate);
    const params = this.actor.parameters();
    this.actorOpt.zeroGrad();
    params.forEach((p, i) => {
      p.grad = grads[i]!.value;
    });
    this.actorOpt.step();
    return actorLoss;
  }

  /** {@link actorStep} with the loss as a number. */
  updateActor(obs: Tensor, critic: Critic = this.critic): number {
    return this.actorStep(obs, critic).item();
  }

  /** Soft target updates θ′ ← τθ + (1 − τ)θ′ (ops only: part of the captured update). */
  protected softUpdateTargets(): void {
    const { tau } = this.config;
    softUpdate(this.actorTarget, this.actor, tau);
    softUpdate(this.criticTarget, this.critic, tau);
  }

  /** Hard target updates: copy the online networks into the targets every `hardUpdateEvery` updates. */
  protected hardUpdateTargets(): void {
    if (this.updates % this.config.hardUpdateEvery !== 0) return;
    hardUpdate(this.actorTarget, this.actor);
    hardUpdate(this.criticTarget, this.critic);
  }

  /** One DDPG update from a uniformly sampled batch. Returns null while the buffer is too small. */
  update(): UpdateStats | null {
    if (!this.ready) return null;
    return T.tidy(() => this.updateOn(this.replay.sample(this.config.batchSize, this.sampleRng)));
  }

  /** Whether the coming update steps the actor (always for DDPG; every `policyDelay`-th for TD3). */
  protected actorStepDue(): boolean {
    return true;
  }

  /** Draws the update needs from the sample stream besides the batch (TD3's smoothing noise); none for DDPG. */
  protected drawUpdateNoise(_batchSize: number): Tensor | undefined {
    return undefined;
  }

  /**
   * The tensor part of one update, ops only (it reads no data and draws no random numbers,
   * so it can be captured and replayed): the critic step, the actor step when `actor`, and
   * the soft target update. Returns the statistics as tensors.
   */
  protected updateTensors(b: UpdateBatch, noise: Tensor | undefined, actor: boolean): UpdateTensors {
    const y = this.targetQ(b, noise);
    const { loss, q } = this.criticStep(this.critic, this.criticOpt, b, y);
    const actorLoss = actor ? this.actorStep(b.obs) : undefined;
    if (actor && this.config.hardUpdateEvery === 0) this.softUpdateTargets();
    return { criticLoss: loss, actorLoss, meanQ: T.mean(q), maxQ: T.max(q) };
  }

  /**
   * One update on a given batch: {@link updateTensors} (replayed after its first captured
   * call), then the bookkeeping that is plain JavaScript: the update count, hard target
   * copies, the noise schedule and parameter-noise adaptation.
   */
  updateOn(b: Batch): UpdateStats {
    const noise = this.drawUpdateNoise(b.obs.shape[0]!);
    const inputs = [b.obs, b.action, b.reward, b.nextObs, b.terminated];
    if (noise) inputs.push(noise);
    // The one place the delayed-actor branch is decided (the variant picks the plan).
    const out = this.compiledUpdate.call(inputs, this.actorStepDue() ? 'actor' : 'critic');
    this.updates++;
    if (this.config.hardUpdateEvery > 0) this.hardUpdateTargets();
    this.noise?.step?.();
    if (this.paramNoise && this.updates % 50 === 0) this.adaptParamNoise(b.obs);
    return this.readStats(out);
  }

  /** The update's statistics as numbers (read after the call, outside the capture). */
  protected readStats(out: UpdateTensors): UpdateStats {
    return {
      criticLoss: out.criticLoss.item(),
      actorLoss: out.actorLoss ? out.actorLoss.item() : Number.NaN,
      meanQ: out.meanQ.item(),
      maxQ: out.maxQ.item(),
    };
  }

  /** The named modules (for checkpoints): the online networks and their targets. */
  override modules(): [string, Actor | Critic][] {
    return [...super.modules(), ['actorTarget', this.actorTarget], ['criticTarget', this.criticTarget]];
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
    this.critic2 = this.makeCritic();
    this.critic2Target = this.makeCritic();
    hardUpdate(this.critic2Target, this.critic2);
    this.critic2Opt = this.makeCriticOpt(this.critic2);
  }

  /** Target policy smoothing noise ε ~ N(0, σ̃) for the batch, from the sample stream. */
  protected override drawUpdateNoise(batchSize: number): Tensor {
    return T.randn([batchSize, this.spaces.actDim], this.sampleRng, { std: this.config.targetNoise });
  }

  /** Whether this cycle also steps the actor (every `policyDelay`-th). */
  protected override actorStepDue(): boolean {
    return (this.updates + 1) % this.config.policyDelay === 0;
  }

  /** y = r + γ(1 − terminated)·min(Q′₁, Q′₂)(s′, clip(μ′(s′) + clip(ε, −c, c))), ε ~ N(0, σ̃). */
  protected override targetQ(b: UpdateBatch, noise = this.drawUpdateNoise(b.obs.shape[0]!)): Tensor {
    return noGrad(() => {
      const s2 = A.variable(b.nextObs);
      const { targetNoiseClip, gamma } = this.config;
      const mu2 = this.actorTarget.forward(s2).value;
      const eps = T.clip(noise, -targetNoiseClip, targetNoiseClip);
      const lo = T.tensor(Float32Array.from(this.spaces.actionLow));
      const hi = T.tensor(Float32Array.from(this.spaces.actionHigh));
      const a2 = A.variable(T.minimum(T.maximum(T.add(mu2, eps), lo), hi));
      const q1 = this.criticTarget.forward(s2, a2).value;
      const q2 = this.critic2Target.forward(s2, a2).value;
      return T.add(b.reward, T.mul(T.mul(T.sub(1, b.terminated), gamma), T.minimum(q1, q2)));
    });
  }

  /**
   * One TD3 cycle's tensors: both critics, and on every `policyDelay`-th cycle the actor and
   * the soft target update (hard copies keep their own period, in `updateOn`).
   */
  protected override updateTensors(b: UpdateBatch, noise: Tensor | undefined, actor: boolean): UpdateTensors {
    const y = this.targetQ(b, noise);
    const c1 = this.criticStep(this.critic, this.criticOpt, b, y);
    const c2 = this.criticStep(this.critic2, this.critic2Opt, b, y);
    const actorLoss = actor ? this.actorStep(b.obs) : undefined;
    if (actor && this.config.hardUpdateEvery === 0) this.softUpdateTargets();
    return {
      criticLoss: T.div(T.add(c1.loss, c2.loss), 2),
      actorLoss,
      meanQ: T.mean(c1.q),
      maxQ: T.max(c1.q),
    };
  }

  /** The statistics; the actor loss is the last actor step's (TD3 steps the actor every `policyDelay` cycles). */
  protected override readStats(out: UpdateTensors): UpdateStats {
    const stats = super.readStats(out);
    if (out.actorLoss) this.lastActorLoss = stats.actorLoss;
    return { ...stats, actorLoss: this.lastActorLoss };
  }

  /** The hard copies of all three targets. */
  protected override hardUpdateTargets(): void {
    super.hardUpdateTargets();
    if (this.updates % this.config.hardUpdateEvery === 0) hardUpdate(this.critic2Target, this.critic2);
  }

  /** The soft updates of all three targets. */
  protected override softUpdateTargets(): void {
    super.softUpdateTargets();
    softUpdate(this.critic2Target, this.critic2, this.config.tau);
  }

  override modules(): [string, Actor | Critic][] {
    return [...super.modules(), ['critic2', this.critic2], ['critic2Target', this.critic2Target]];
  }

  override optimizers(): [string, Adam][] {
    return [...super.optimizers(), ['critic2', this.critic2Opt]];
  }
}
