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
import { mseLoss } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { ActorCriticAgent, type AgentSpaces, type Transition, type UpdateStats } from './actorCritic.ts';
import { policyGradient } from './agent.ts';
import type { AgentConfig } from './config.ts';

function row(x: ArrayLike<number>): T.Tensor {
  return T.tensor(Float32Array.from(x), { shape: [1, x.length] });
}

/** The on-policy deterministic actor-critic. */
export class DPG extends ActorCriticAgent {
  readonly algo = 'dpg';
  private pending: Transition | undefined;

  constructor(spaces: AgentSpaces, config: AgentConfig, seed: number) {
    if (config.batchNorm)
      throw new Error('DPG: batchNorm is not supported (updates use one transition at a time)');
    if (config.noise === 'param')
      throw new Error("DPG: noise 'param' is not supported (use 'gaussian', 'ou' or 'none')");
    super(spaces, config, seed);
  }

  /** Keep the latest transition; `update()` learns from it. */
  observe(t: Transition): void {
    this.observed++;
    this.pending = { ...t, reward: t.reward * this.config.rewardScale };
  }

  /** Learn from the latest transition (TD(0) critic step, then the actor step). */
  update(): UpdateStats | null {
    const t = this.pending;
    if (!t) return null;
    this.pending = undefined;
    return T.tidy(
      () => this.learn(t),
      () => this.liveTensors(),
      { releaseReplaced: true },
    );
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
