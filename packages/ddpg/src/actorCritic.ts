/**
 * The agent every algorithm shares, and the contract an algorithm fills in.
 *
 * {@link ActorCriticAgent} is one class for DDPG, TD3 and DPG: it builds the actor, the
 * critic(s), their optimisers and (off-policy) target copies and replay buffer, acts (μ(s)
 * plus exploration noise, clipped by the action Box), keeps transitions, updates the targets
 * and saves and restores everything. What differs between algorithms is only the update: an
 * {@link Algorithm} gives it as plain functions of the agent (`ddpg.ts`, `td3.ts`, `dpg.ts`),
 * and `algorithms.ts` lists them. Nothing subclasses the agent.
 * @module
 */
import * as A from '@chainrule/autograd';
import { noGrad } from '@chainrule/autograd';
import { Adam, hardUpdate, type OptimizerState, type StateDict, softUpdate } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { type Replayable, Rng, type RngState, type Tensor } from '@chainrule/tensor';
import type { z } from 'zod';
import type { AgentConfig } from './config.ts';
import type { replayFields, SharedConfig } from './configFields.ts';
import { Box } from './envs/index.ts';
import { Actor, Critic, type NetworkOptions } from './networks.ts';
import { AdaptiveParamNoise, makeNoise, type NoiseProcess } from './noise.ts';
import { type Batch, ReplayBuffer, type Transition } from './replay.ts';

export type { Transition } from './replay.ts';

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
  /** Transitions observed so far (the first `startSteps` of them acted at random). */
  observed?: number;
  rng: { init: RngState; sample: RngState; noise: RngState };
  noise: unknown;
  /** Each optimiser's state dict without its tensors (all of it: counts, hyperparameters, ...). */
  optimizers: Record<string, Omit<OptimizerState, 'tensors'>>;
}

/** An agent's whole state: its tensors (networks and optimiser moments) and the rest as JSON. */
export interface AgentState {
  tensors: StateDict;
  meta: AgentMeta;
}

/** What the trainer, the evaluator and the CLI need from an agent ({@link ActorCriticAgent} for every algorithm). */
export interface Agent<C extends SharedConfig = AgentConfig> {
  readonly algo: string;
  readonly config: C;
  readonly spaces: AgentSpaces;
  /** Updates done so far. */
  readonly updates: number;
  /** The policy network μθ(s). */
  readonly actor: Actor;
  /** The action-value network Q(s, a). */
  readonly critic: Critic;
  /** The replay buffer of off-policy agents (checkpointed beside the agent); undefined for DPG. */
  readonly replay?: ReplayBuffer | undefined;
  /** The action for one observation; `explore` adds exploration (and the random warm-up). */
  act(obs: ArrayLike<number>, options: { explore: boolean }): Float64Array;
  /** Start of an episode (resets the exploration noise). */
  onEpisodeStart(): void;
  /** Hand the agent one transition. */
  observe(t: Transition): void;
  /** Learn; null when there was nothing to learn from yet. */
  update(): UpdateStats | null;
  /** The current exploration scale (action noise σ or parameter-noise σ) for the logs; null without noise. */
  explorationScale(): number | null;
  /** Everything needed to continue exactly. */
  state(): AgentState;
  /** Restore a {@link state} of an identically configured agent; mismatches are clear errors. */
  restore(state: AgentState): void;
}

function rowsTensor(rows: ArrayLike<number>, dim: number): Tensor {
  return T.tensor(Float32Array.from(rows), { shape: [rows.length / dim, dim] });
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
 * The update of an off-policy algorithm: minibatches from the replay buffer, target networks.
 * The agent samples the batch, runs {@link updateTensors} through its captured update and
 * does the bookkeeping (update count, hard target copies, noise schedule, parameter noise).
 */
export interface OffPolicyUpdate<C extends SharedConfig> {
  readonly kind: 'off-policy';
  /** How many critics the agent builds, each with a target copy and an optimiser: 2 for twin critics. */
  readonly critics: 1 | 2;
  /** Whether the coming update steps the actor. */
  actorStepDue(agent: ActorCriticAgent<C>): boolean;
  /** Draws the update needs besides the batch, from the agent's sample stream; undefined for none. */
  drawUpdateNoise(agent: ActorCriticAgent<C>, batchSize: number): Tensor | undefined;
  /**
   * The tensor part of one update, ops only (it reads no data and draws no random numbers,
   * so it can be captured and replayed): critic step(s), the actor step when `actor`, and the
   * soft target update. Returns the statistics as tensors.
   */
  updateTensors(
    agent: ActorCriticAgent<C>,
    b: UpdateBatch,
    noise: Tensor | undefined,
    actor: boolean,
  ): UpdateTensors;
}

/** The update of an on-policy algorithm: one step from each transition as it arrives, no replay, no targets. */
export interface OnPolicyUpdate<C extends SharedConfig> {
  readonly kind: 'on-policy';
  /** Learn from the latest transition (its reward already scaled). */
  learn(agent: ActorCriticAgent<C>, t: Transition): UpdateStats;
}

/**
 * An algorithm: its name, its config schema and its update. Adding one is a file that
 * exports an `Algorithm` and a line in `algorithms.ts` (see docs/ddpg.md).
 */
export interface Algorithm<C extends SharedConfig = AgentConfig> {
  /** The `algo` value of its configs. */
  readonly name: C['algo'];
  /** Its config: `algo: z.literal(name)`, the shared fields and its own, `.strict()`. */
  readonly schema: z.ZodObject;
  /**
   * Values for fields that a preset of another algorithm lacks, used when `--algo` switches a
   * preset to this algorithm (e.g. `--preset tuned --algo td3` takes TD3's policy delay and
   * smoothing from here).
   */
  readonly defaults: Readonly<Record<string, unknown>>;
  /** One sentence for `--help` and the docs. */
  readonly summary: string;
  readonly update: OffPolicyUpdate<C> | OnPolicyUpdate<C>;
}

/** The replay and target fields of an off-policy config. */
type ReplayConfig = z.infer<z.ZodObject<typeof replayFields>>;

/** Adaptive parameter-space noise (`noise: 'param'`) with the perturbed actor copies it uses. */
export interface ParamNoise {
  noise: AdaptiveParamNoise;
  perturbed: Actor;
  adaptive: Actor;
}

/**
 * The agent of every algorithm: networks, acting, noise, random warm-up, transitions (a
 * replay buffer, or the latest one for an on-policy algorithm), target networks and
 * checkpoints; the {@link Algorithm}'s update functions do the learning.
 */
export class ActorCriticAgent<C extends SharedConfig = AgentConfig> implements Agent<C> {
  readonly algo: C['algo'];
  readonly actor: Actor;
  readonly critic: Critic;
  readonly actorOpt: Adam;
  readonly criticOpt: Adam;
  readonly noise: NoiseProcess | undefined;
  readonly actionSpace: Box;
  readonly replay: ReplayBuffer | undefined;
  /** Adaptive parameter-space noise (`noise: 'param'`, off-policy algorithms). */
  readonly paramNoise: ParamNoise | undefined;
  /** The second critic, its target and optimiser (algorithms with twin critics: TD3). */
  readonly critic2: Critic | undefined;
  readonly critic2Target: Critic | undefined;
  readonly critic2Opt: Adam | undefined;
  /**
   * The tensor part of an off-policy update ({@link OffPolicyUpdate.updateTensors}), captured
   * once and replayed on later updates (`T.replayable`): the same kernels on the same buffers,
   * without rebuilding the graph. Bit-identical to running it eagerly; `CHAINRULE_REPLAY=0`
   * runs it eagerly.
   */
  readonly compiledUpdate: Replayable<Tensor[], UpdateTensors, 'actor' | 'critic'>;
  /** Updates done so far. */
  updates = 0;
  /** Transitions observed so far. */
  observed = 0;
  // Separate streams, so that e.g. a longer noise sequence does not shift replay sampling.
  readonly initRng: Rng;
  readonly sampleRng: Rng;
  readonly noiseRng: Rng;
  private readonly targets: { actor: Actor; critic: Critic } | undefined;
  private readonly replayConfig: ReplayConfig | undefined;
  /** The latest transition, for an on-policy update. */
  private pending: Transition | undefined;
  /** The last actor step's loss (the actor may step less often than the critic: TD3). */
  private lastActorLoss = Number.NaN;

  constructor(
    readonly spaces: AgentSpaces,
    readonly config: C,
    seed: number,
    readonly algorithm: Algorithm<C>,
  ) {
    if (config.algo !== algorithm.name)
      throw new Error(
        `ActorCriticAgent: config.algo "${config.algo}" does not match the algorithm "${algorithm.name}"`,
      );
    this.algo = config.algo;
    this.initRng = new Rng(seed, 1);
    this.sampleRng = new Rng(seed, 2);
    this.noiseRng = new Rng(seed, 3);
    this.actionSpace = new Box(spaces.actionLow, spaces.actionHigh);
    // The order of construction is the order of draws from the init stream: keep it.
    this.actor = this.makeActor();
    this.critic = this.makeCritic();
    this.actorOpt = new Adam(this.actor.parameters(), { lr: config.actorLr });
    this.criticOpt = this.makeCriticOpt(this.critic);
    // Parameter noise perturbs weights, not actions (it is kept beside the actor below).
    this.noise = config.noise === 'param' ? undefined : makeNoise(config, spaces.actDim, this.noiseRng);
    const update = algorithm.update;
    if (update.kind === 'off-policy') {
      const rc = config as unknown as Partial<ReplayConfig>;
      if (rc.bufferSize === undefined || rc.batchSize === undefined)
        throw new Error(
          `${config.algo}: an off-policy algorithm's config needs the replay fields (bufferSize, batchSize, ...)`,
        );
      this.replayConfig = rc as ReplayConfig;
      this.targets = { actor: this.makeActor(), critic: this.makeCritic() };
      hardUpdate(this.targets.actor, this.actor);
      hardUpdate(this.targets.critic, this.critic);
      this.replay = new ReplayBuffer(rc.bufferSize, spaces.obsDim, spaces.actDim);
      this.paramNoise =
        config.noise === 'param'
          ? {
              noise: new AdaptiveParamNoise({ initialStddev: 0.1, desiredActionStddev: config.noiseSigma }),
              perturbed: this.makeActor(),
              adaptive: this.makeActor(),
            }
          : undefined;
      if (update.critics === 2) {
        const critic2 = this.makeCritic();
        const critic2Target = this.makeCritic();
        hardUpdate(critic2Target, critic2);
        this.critic2 = critic2;
        this.critic2Target = critic2Target;
        this.critic2Opt = this.makeCriticOpt(critic2);
      }
    }
    this.compiledUpdate = T.replayableVariants(
      // The branch ('actor' when this update also steps the actor) is decided once, in
      // updateOn, and arrives here as the variant: each branch is its own plan, and nothing
      // here reads the update count again. Tensors: obs, action, reward, nextObs, terminated,
      // then the update's own draws (TD3's smoothing noise).
      (branch: 'actor' | 'critic', ...t: Tensor[]) =>
        this.offPolicy().updateTensors(
          this,
          { obs: t[0]!, action: t[1]!, reward: t[2]!, nextObs: t[3]!, terminated: t[4]! },
          t[5],
          branch === 'actor',
        ),
      { name: `${config.algo.toUpperCase()}.update` },
    );
  }

  /** The off-policy update functions; an error for an on-policy algorithm. */
  private offPolicy(): OffPolicyUpdate<C> {
    const u = this.algorithm.update;
    if (u.kind !== 'off-policy') throw new Error(`${this.algo} is on-policy: it has no replay update`);
    return u;
  }

  /** The replay fields of the config; an error for an on-policy algorithm. */
  private replayFields(): ReplayConfig {
    if (!this.replayConfig) throw new Error(`${this.algo} is on-policy: it has no replay buffer or targets`);
    return this.replayConfig;
  }

  /** The target actor μ′ (off-policy algorithms). */
  get actorTarget(): Actor {
    if (!this.targets) throw new Error(`${this.algo} has no target networks`);
    return this.targets.actor;
  }

  /** The target critic Q′ (off-policy algorithms). */
  get criticTarget(): Critic {
    if (!this.targets) throw new Error(`${this.algo} has no target networks`);
    return this.targets.critic;
  }

  /** An actor as the config describes it, initialised from the agent's init stream. */
  private makeActor(): Actor {
    const { obsDim, actDim, actionLow, actionHigh } = this.spaces;
    return new Actor(obsDim, actDim, actionLow, actionHigh, {
      ...this.networkOptions(this.config.actorHidden),
      // Parameter-space noise perturbs weights; LayerNorm keeps perturbations comparable across layers.
      layerNorm: this.config.noise === 'param',
      output: this.config.actorOutput,
      outputBias: this.config.actorBias,
    });
  }

  /** A critic as the config describes it. */
  private makeCritic(): Critic {
    const { obsDim, actDim } = this.spaces;
    return new Critic(obsDim, actDim, this.config.actionLayer, this.networkOptions(this.config.criticHidden));
  }

  /** Adam with the critic's learning rate and L2 weight decay. */
  private makeCriticOpt(critic: Critic): Adam {
    return new Adam(critic.parameters(), {
      lr: this.config.criticLr,
      weightDecay: this.config.criticWeightDecay,
    });
  }

  private networkOptions(hidden: number[]): NetworkOptions {
    return { hidden, batchNorm: this.config.batchNorm, finalInit: this.config.finalInit, rng: this.initRng };
  }

  /**
   * The action for one observation: μ(s) in eval mode (BatchNorm uses running statistics),
   * plus exploration noise when `explore`, clipped to the action Box. While exploring, the
   * first `startSteps` observed transitions act uniformly at random instead, and with
   * parameter noise the perturbed copy of the actor acts.
   */
  act(obs: ArrayLike<number>, options: { explore: boolean }): Float64Array {
    if (options.explore && this.observed < this.config.startSteps) return this.randomAction();
    const policy = options.explore && this.paramNoise ? this.paramNoise.perturbed : this.actor;
    const a = T.tidy(() =>
      noGrad(() => {
        policy.eval();
        const out = policy.forward(A.input(rowsTensor(obs, this.spaces.obsDim)));
        policy.train();
        return out.value.dataSync();
      }),
    );
    const action = Float64Array.from(a);
    if (options.explore && this.noise) {
      const n = this.noise.sample();
      for (let i = 0; i < action.length; i++) action[i]! += n[i]!;
    }
    return this.actionSpace.clip(action);
  }

  /** A uniformly random action within the bounds (for the first `startSteps` steps). */
  randomAction(): Float64Array {
    const { low, high } = this.actionSpace;
    return Float64Array.from(low, (lo, i) => this.noiseRng.uniform(lo, high[i]!));
  }

  /** Start of an episode: reset the exploration noise (with parameter noise, perturb a fresh copy). */
  onEpisodeStart(): void {
    this.noise?.reset();
    if (this.paramNoise) {
      const pn = this.paramNoise;
      T.tidy(() => pn.noise.perturb(this.actor, pn.perturbed, this.noiseRng));
    }
  }

  /**
   * Parameter noise: perturb a fresh copy with the current σ, measure the distance between
   * its actions and the actor's on a batch of states, and adapt σ (Plappert et al. 2018).
   */
  private adaptParamNoise(obs: Tensor): void {
    const pn = this.paramNoise;
    if (!pn) return;
    pn.noise.perturb(this.actor, pn.adaptive, this.noiseRng);
    const d = noGrad(() => {
      const s = A.input(obs);
      for (const m of [this.actor, pn.adaptive]) m.eval();
      const dist = pn.noise.distance(this.actor.forward(s).value, pn.adaptive.forward(s).value);
      for (const m of [this.actor, pn.adaptive]) m.train();
      return dist;
    });
    pn.noise.adapt(d);
  }

  /** Keep a transition (the reward scaled by `rewardScale`): in the replay buffer, or as the latest one. */
  observe(t: Transition): void {
    this.observed++;
    const scaled = { ...t, reward: t.reward * this.config.rewardScale };
    if (this.replay) this.replay.add(scaled);
    else this.pending = scaled;
  }

  /** True once there is something to learn from: enough transitions in the buffer, or a new one. */
  get ready(): boolean {
    if (!this.replay) return this.pending !== undefined;
    const { learningStarts, batchSize } = this.replayFields();
    return this.replay.size >= Math.max(learningStarts, batchSize);
  }

  /** One update (a uniformly sampled batch, or the latest transition); null while there is nothing to learn from. */
  update(): UpdateStats | null {
    const u = this.algorithm.update;
    if (u.kind === 'on-policy') {
      const t = this.pending;
      if (!t) return null;
      this.pending = undefined;
      return T.tidy(() => u.learn(this, t));
    }
    if (!this.ready) return null;
    const replay = this.replay!;
    return T.tidy(() => this.updateOn(replay.sample(this.replayFields().batchSize, this.sampleRng)));
  }

  /**
   * One off-policy update on a given batch: the algorithm's tensor part (replayed after its
   * first captured call), then the bookkeeping that is plain JavaScript: the update count,
   * hard target copies, the noise schedule and parameter-noise adaptation.
   */
  updateOn(b: Batch): UpdateStats {
    const u = this.offPolicy();
    const noise = u.drawUpdateNoise(this, b.obs.shape[0]!);
    const inputs = [b.obs, b.action, b.reward, b.nextObs, b.terminated];
    if (noise) inputs.push(noise);
    // The one place the delayed-actor branch is decided (the variant picks the plan).
    const out = this.compiledUpdate.call(inputs, u.actorStepDue(this) ? 'actor' : 'critic');
    this.updates++;
    if (this.replayFields().hardUpdateEvery > 0) this.hardUpdateTargets();
    this.noise?.step?.();
    if (this.paramNoise && this.updates % 50 === 0) this.adaptParamNoise(b.obs);
    return this.readStats(out);
  }

  /** The update's statistics as numbers (read after the call, outside the capture); the actor loss is the last actor step's. */
  private readStats(out: UpdateTensors): UpdateStats {
    if (out.actorLoss) this.lastActorLoss = out.actorLoss.item();
    return {
      criticLoss: out.criticLoss.item(),
      actorLoss: this.lastActorLoss,
      meanQ: out.meanQ.item(),
      maxQ: out.maxQ.item(),
    };
  }

  /** The (online, target) pairs, in checkpoint order. */
  private targetPairs(): [Actor | Critic, Actor | Critic][] {
    const pairs: [Actor | Critic, Actor | Critic][] = [
      [this.actorTarget, this.actor],
      [this.criticTarget, this.critic],
    ];
    if (this.critic2 && this.critic2Target) pairs.push([this.critic2Target, this.critic2]);
    return pairs;
  }

  /** Soft target updates θ′ ← τθ + (1 − τ)θ′ for every target (ops only: part of the captured update). */
  softUpdateTargets(): void {
    const { tau } = this.replayFields();
    for (const [target, online] of this.targetPairs()) softUpdate(target, online, tau);
  }

  /** Hard target updates: copy the online networks into the targets every `hardUpdateEvery` updates. */
  private hardUpdateTargets(): void {
    if (this.updates % this.replayFields().hardUpdateEvery !== 0) return;
    for (const [target, online] of this.targetPairs()) hardUpdate(target, online);
  }

  explorationScale(): number | null {
    if (this.paramNoise) return this.paramNoise.noise.currentStddev;
    return this.noise ? this.noise.sigma : null;
  }

  /** The named modules (for checkpoints): the online networks and their targets. */
  modules(): [string, Actor | Critic][] {
    const out: [string, Actor | Critic][] = [
      ['actor', this.actor],
      ['critic', this.critic],
    ];
    if (this.targets) out.push(['actorTarget', this.targets.actor], ['criticTarget', this.targets.critic]);
    if (this.critic2 && this.critic2Target)
      out.push(['critic2', this.critic2], ['critic2Target', this.critic2Target]);
    return out;
  }

  /** The named optimisers (for checkpoints). */
  optimizers(): [string, Adam][] {
    const out: [string, Adam][] = [
      ['actor', this.actorOpt],
      ['critic', this.criticOpt],
    ];
    if (this.critic2Opt) out.push(['critic2', this.critic2Opt]);
    return out;
  }

  /** The networks' and optimisers' tensors by prefixed name (for checkpoints). */
  tensors(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.modules())
      for (const [k, t] of Object.entries(m.stateDict())) out[`${prefix}.${k}`] = t;
    for (const [name, opt] of this.optimizers()) {
      for (const [k, t] of Object.entries(opt.stateDict().tensors)) out[`opt.${name}.${k}`] = t;
    }
    // With parameter noise, the perturbed actor of the episode in progress too: a checkpoint
    // taken mid-episode (an interrupted run) then continues that episode with the same policy.
    if (this.paramNoise)
      for (const [k, t] of Object.entries(this.paramNoise.perturbed.stateDict())) out[`perturbed.${k}`] = t;
    return out;
  }

  /** The state of the exploration noise (action noise or parameter noise). */
  private noiseState(): unknown {
    if (this.paramNoise) return this.paramNoise.noise.getState();
    return this.noise?.getState() ?? null;
  }

  private setNoiseState(state: unknown): void {
    if (!state) return;
    if (this.paramNoise) this.paramNoise.noise.setState(state as never);
    else if (this.noise) this.noise.setState(state as never);
  }

  /** Everything besides tensors needed to continue exactly. */
  meta(): AgentMeta {
    const optimizers: AgentMeta['optimizers'] = {};
    for (const [name, opt] of this.optimizers()) {
      // Everything but the tensors (which go to the safetensors file), whatever fields it has.
      const { tensors: _, ...rest } = opt.stateDict();
      optimizers[name] = rest;
    }
    return {
      algo: this.config.algo,
      updates: this.updates,
      observed: this.observed,
      rng: {
        init: this.initRng.getState(),
        sample: this.sampleRng.getState(),
        noise: this.noiseRng.getState(),
      },
      noise: this.noiseState(),
      optimizers,
    };
  }

  state(): AgentState {
    return { tensors: this.tensors(), meta: this.meta() };
  }

  /** Restore from {@link state}. Missing or mismatched keys are a clear error. */
  restore({ tensors, meta }: AgentState): void {
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
    // Checkpoints from before `observed` was recorded are past their random warm-up.
    this.observed = meta.observed ?? this.config.startSteps;
    this.initRng.setState(meta.rng.init);
    this.sampleRng.setState(meta.rng.sample);
    this.noiseRng.setState(meta.rng.noise);
    this.setNoiseState(meta.noise);
    const pn = this.paramNoise;
    const perturbed: StateDict = {};
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith('perturbed.')) perturbed[k.slice(10)] = t;
    // Checkpoints without it were taken at episode ends, where onEpisodeStart perturbs afresh.
    if (pn && Object.keys(perturbed).length > 0) pn.perturbed.loadStateDict(perturbed);
  }
}
