/**
 * DPG (Silver et al. 2014): the on-policy deterministic actor-critic baseline. One
 * transition at a time, a TD(0) critic, no replay buffer and no target networks:
 *   δ = r + γ(1 − terminated)·Q(s′, μ(s′)) − Q(s, a)
 *   critic: one step on δ² (a semi-gradient: the target is held fixed)
 *   actor:  one step along ∇aQ(s, a)|a=μ(s) · ∇θμ(s), the same chain rule as DDPG.
 * It need not solve Pendulum; it learns measurably on LQR.
 * @module
 */
import * as A from '@chainrule/autograd';
import { noGrad } from '@chainrule/autograd';
import { Adam, mseLoss } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import { type AgentSpaces, policyGradient, type Transition, type UpdateStats } from './agent.ts';
import type { AgentConfig } from './config.ts';
import { Actor, Critic } from './networks.ts';
import { makeNoise, type NoiseProcess } from './noise.ts';

function row(x: ArrayLike<number>): T.Tensor {
  return T.tensor(Float32Array.from(x), { shape: [1, x.length] });
}

/** The on-policy deterministic actor-critic. */
export class DPG {
  readonly algo = 'dpg';
  readonly actor: Actor;
  readonly critic: Critic;
  readonly actorOpt: Adam;
  readonly criticOpt: Adam;
  readonly noise: NoiseProcess | undefined;
  updates = 0;
  private readonly initRng: Rng;
  private readonly noiseRng: Rng;
  private pending: Transition | undefined;

  constructor(
    readonly spaces: AgentSpaces,
    readonly config: AgentConfig,
    seed: number,
  ) {
    if (config.batchNorm)
      throw new Error('DPG: batchNorm is not supported (updates use one transition at a time)');
    this.initRng = new Rng(seed, 1);
    this.noiseRng = new Rng(seed, 3);
    const net = (hidden: number[]) => ({
      hidden,
      batchNorm: false,
      finalInit: config.finalInit,
      rng: this.initRng,
    });
    this.actor = new Actor(spaces.obsDim, spaces.actDim, spaces.actionLow, spaces.actionHigh, {
      ...net(config.actorHidden),
      output: config.actorOutput,
      outputBias: config.actorBias,
    });
    this.critic = new Critic(spaces.obsDim, spaces.actDim, config.actionLayer, net(config.criticHidden));
    this.actorOpt = new Adam(this.actor.parameters(), { lr: config.actorLr });
    this.criticOpt = new Adam(this.critic.parameters(), {
      lr: config.criticLr,
      weightDecay: config.criticWeightDecay,
    });
    this.noise = makeNoise(config, spaces.actDim, this.noiseRng);
  }

  /** μ(s), plus exploration noise when `explore`, clipped to the bounds. */
  act(obs: ArrayLike<number>, options: { explore: boolean }): Float64Array {
    const a = Float64Array.from(
      T.tidy(() => noGrad(() => this.actor.forward(A.variable(row(obs))).value.dataSync())),
    );
    if (options.explore && this.noise) {
      const n = this.noise.sample();
      for (let i = 0; i < a.length; i++) a[i]! += n[i]!;
    }
    for (let i = 0; i < a.length; i++)
      a[i] = Math.min(Math.max(a[i]!, this.spaces.actionLow[i]!), this.spaces.actionHigh[i]!);
    return a;
  }

  /** Reset the noise at the start of an episode. */
  onEpisodeStart(): void {
    this.noise?.reset();
  }

  /** Keep the latest transition; `update()` learns from it. */
  observe(t: Transition): void {
    this.pending = { ...t, reward: t.reward * this.config.rewardScale };
  }

  /** Learn from the latest transition (TD(0) critic step, then the actor step). */
  update(): UpdateStats | null {
    const t = this.pending;
    if (!t) return null;
    this.pending = undefined;
    return T.tidy(() => this.learn(t));
  }

  private learn(t: Transition): UpdateStats {
    const s = row(t.obs);
    const y = noGrad(() => {
      const s2 = A.variable(row(t.nextObs));
      const q2 = this.critic.forward(s2, this.actor.forward(s2)).value.item();
      return T.tensor([[t.reward + this.config.gamma * (t.terminated ? 0 : 1) * q2]]);
    });
    const q = this.critic.forward(A.variable(s), A.variable(row(t.action)));
    const loss = mseLoss(q, A.variable(y));
    this.criticOpt.zeroGrad();
    loss.backward();
    this.criticOpt.step();
    const { grads, actorLoss } = policyGradient(this.actor, this.critic, s, this.config.actorUpdate);
    this.actor.parameters().forEach((p, i) => {
      p.grad = grads[i]!.value;
    });
    this.actorOpt.step();
    this.updates++;
    this.noise?.step?.();
    const qv = q.item();
    return { criticLoss: loss.item(), actorLoss, meanQ: qv, maxQ: qv };
  }
}
