/**
 * What DDPG, TD3 and DPG have in common: the {@link Agent} interface the trainer drives, and
 * {@link ActorCriticAgent}, which builds the actor and critic, acts (μ(s) plus exploration
 * noise, clipped by the action Box) and saves and restores the state they share.
 * @module
 */
import * as A from '@chainrule/autograd';
import { noGrad } from '@chainrule/autograd';
import { Adam, type OptimizerState, type StateDict } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { Rng, type RngState, type Tensor } from '@chainrule/tensor';
import type { AgentConfig } from './config.ts';
import { Box } from './envs/index.ts';
import { Actor, Critic, type NetworkOptions } from './networks.ts';
import { makeNoise, type NoiseProcess } from './noise.ts';
import type { ReplayBuffer, Transition } from './replay.ts';

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

/** What the trainer, the evaluator and the CLI need from an agent. DDPG, TD3 and DPG implement it. */
export interface Agent {
  readonly algo: string;
  readonly config: AgentConfig;
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

/**
 * The parts DDPG and DPG share: network construction, acting, noise, random warm-up, and
 * state dicts over the named modules and optimisers that subclasses list.
 */
export abstract class ActorCriticAgent implements Agent {
  abstract readonly algo: string;
  readonly actor: Actor;
  readonly critic: Critic;
  readonly actorOpt: Adam;
  readonly criticOpt: Adam;
  readonly noise: NoiseProcess | undefined;
  readonly actionSpace: Box;
  readonly replay?: ReplayBuffer | undefined;
  /** Updates done so far. */
  updates = 0;
  /** Transitions observed so far. */
  observed = 0;
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
    this.actionSpace = new Box(spaces.actionLow, spaces.actionHigh);
    this.actor = this.makeActor();
    this.critic = this.makeCritic();
    this.actorOpt = new Adam(this.actor.parameters(), { lr: config.actorLr });
    this.criticOpt = this.makeCriticOpt(this.critic);
    // Parameter noise perturbs weights, not actions (DDPG keeps it beside the actor).
    this.noise = config.noise === 'param' ? undefined : makeNoise(config, spaces.actDim, this.noiseRng);
  }

  /** An actor as the config describes it, initialised from the agent's init stream. */
  protected makeActor(): Actor {
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
  protected makeCritic(): Critic {
    const { obsDim, actDim } = this.spaces;
    return new Critic(obsDim, actDim, this.config.actionLayer, this.networkOptions(this.config.criticHidden));
  }

  /** Adam with the critic's learning rate and L2 weight decay. */
  protected makeCriticOpt(critic: Critic): Adam {
    return new Adam(critic.parameters(), {
      lr: this.config.criticLr,
      weightDecay: this.config.criticWeightDecay,
    });
  }

  private networkOptions(hidden: number[]): NetworkOptions {
    return { hidden, batchNorm: this.config.batchNorm, finalInit: this.config.finalInit, rng: this.initRng };
  }

  /** The network that acts: the actor, or a perturbed copy of it while exploring with parameter noise. */
  protected policy(_explore: boolean): Actor {
    return this.actor;
  }

  /**
   * The action for one observation: μ(s) in eval mode (BatchNorm uses running statistics),
   * plus exploration noise when `explore`, clipped to the action Box. While exploring, the
   * first `startSteps` observed transitions act uniformly at random instead.
   */
  act(obs: ArrayLike<number>, options: { explore: boolean }): Float64Array {
    if (options.explore && this.observed < this.config.startSteps) return this.randomAction();
    const policy = this.policy(options.explore);
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
    return this.actionSpace.clip(action);
  }

  /** A uniformly random action within the bounds (for the first `startSteps` steps). */
  randomAction(): Float64Array {
    const { low, high } = this.actionSpace;
    return Float64Array.from(low, (lo, i) => this.noiseRng.uniform(lo, high[i]!));
  }

  /** Start of an episode: reset the exploration noise. */
  onEpisodeStart(): void {
    this.noise?.reset();
  }

  abstract observe(t: Transition): void;
  abstract update(): UpdateStats | null;

  explorationScale(): number | null {
    return this.noise ? this.noise.sigma : null;
  }

  /** The named modules (for checkpoints). */
  modules(): [string, Actor | Critic][] {
    return [
      ['actor', this.actor],
      ['critic', this.critic],
    ];
  }

  /** The named optimisers (for checkpoints). */
  optimizers(): [string, Adam][] {
    return [
      ['actor', this.actorOpt],
      ['critic', this.criticOpt],
    ];
  }

  /** The networks' and optimisers' tensors by prefixed name (for checkpoints). */
  tensors(): StateDict {
    const out: StateDict = {};
    for (const [prefix, m] of this.modules())
      for (const [k, t] of Object.entries(m.stateDict())) out[`${prefix}.${k}`] = t;
    for (const [name, opt] of this.optimizers()) {
      for (const [k, t] of Object.entries(opt.stateDict().tensors)) out[`opt.${name}.${k}`] = t;
    }
    return out;
  }

  /** The state of the exploration noise. */
  protected noiseState(): unknown {
    return this.noise?.getState() ?? null;
  }

  protected setNoiseState(state: unknown): void {
    if (this.noise && state) this.noise.setState(state as never);
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
  }
}
