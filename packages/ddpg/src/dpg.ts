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
import { z } from 'zod';
import type { ActorCriticAgent, Algorithm, Transition, UpdateStats } from './actorCritic.ts';
import { sharedFields } from './configFields.ts';
import { policyGradient } from './ddpg.ts';

function row(x: ArrayLike<number>): T.Tensor {
  return T.tensor(Float32Array.from(x), { shape: [1, x.length] });
}

/**
 * DPG's config: the shared fields, without the replay and target fields (it has neither),
 * and with its two restrictions in the schema, their one place.
 */
export const dpgConfigSchema = z
  .object({
    algo: z.literal('dpg').describe('algorithm'),
    ...sharedFields,
    batchNorm: z.literal(false, {
      error: 'DPG learns from one transition at a time, so it cannot use BatchNorm (batchNorm must be false)',
    }),
    noise: z.enum(['ou', 'gaussian', 'none'], {
      error:
        "DPG has no parameter noise (it perturbs a replay agent's actor); use noise gaussian, ou or none",
    }),
  })
  .strict();

/** The hyperparameters of a DPG run. */
export type DpgConfig = z.infer<typeof dpgConfigSchema>;

/** TD(0) critic step, then the actor step, on one transition. */
function learn(agent: ActorCriticAgent<DpgConfig>, t: Transition): UpdateStats {
  const s = row(t.obs);
  const y = noGrad(() => {
    const s2 = A.input(row(t.nextObs));
    const q2 = agent.critic.forward(s2, agent.actor.forward(s2)).value.item();
    return T.tensor([[t.reward + agent.config.gamma * (t.terminated ? 0 : 1) * q2]]);
  });
  const q = agent.critic.forward(A.input(s), A.input(row(t.action)));
  const loss = mseLoss(q, A.input(y));
  agent.criticOpt.zeroGrad();
  loss.backward();
  agent.criticOpt.step();
  const { grads, actorLoss } = policyGradient(agent.actor, agent.critic, s, agent.config.actorUpdate);
  agent.actor.parameters().forEach((p, i) => {
    p.grad = grads[i]!.value;
  });
  agent.actorOpt.step();
  agent.updates++;
  agent.noise?.step?.();
  const qv = q.item();
  return { criticLoss: loss.item(), actorLoss, meanQ: qv, maxQ: qv };
}

/** The on-policy deterministic actor-critic. */
export const dpg = {
  name: 'dpg',
  schema: dpgConfigSchema,
  defaults: {},
  summary: 'DPG (Silver et al. 2014): on-policy, one TD(0) step per transition, no replay or targets',
  update: { kind: 'on-policy', learn },
} satisfies Algorithm<DpgConfig>;
