/**
 * DDPG (Lillicrap et al. 2016): its config and its update, as functions of the shared agent
 * ({@link ActorCriticAgent}); TD3 and DPG reuse the steps defined here.
 *
 * The heart of this file is {@link actorStep}: the deterministic policy gradient
 * ∇θJ = E[∇aQ(s,a)|a=μθ(s) · ∇θμθ(s)], computed by default as an explicit chain rule:
 *   1. dQda = grad(Q(s, a).sum(), [a]) at a = μ(s)
 *   2. grad(μ(s), θμ, { gradOutputs: −dQda / N })
 * which is TensorFlow 1's `tf.gradients(mu, theta, grad_ys=-dQ_da)`. The `'surrogate'`
 * form, grad(−mean Q(s, μ(s)), θμ), is PyTorch's; both give the same gradients.
 * @module
 */
import * as A from '@chainrule/autograd';
import { grad, noGrad, type Var } from '@chainrule/autograd';
import { type Adam, mseLoss } from '@chainrule/nn';
import type { Tensor } from '@chainrule/tensor';
import * as T from '@chainrule/tensor';
import { z } from 'zod';
import type { ActorCriticAgent, Algorithm, UpdateBatch, UpdateTensors } from './actorCritic.ts';
import { replayFields, type SharedConfig, sharedFields } from './configFields.ts';
import type { Actor, Critic } from './networks.ts';

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
  const s = A.input(obs);
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

/** DDPG's config: the shared fields and the replay and target fields. */
export const ddpgConfigSchema = z
  .object({
    algo: z.literal('ddpg').describe('algorithm'),
    ...sharedFields,
    ...replayFields,
  })
  .strict();

/** The hyperparameters of a DDPG run. */
export type DdpgConfig = z.infer<typeof ddpgConfigSchema>;

/** y = r + γ·(1 − terminated)·Q′(s′, μ′(s′)), with no graph. Truncation still bootstraps. */
export function targetQ<C extends SharedConfig>(agent: ActorCriticAgent<C>, b: UpdateBatch): Tensor {
  return noGrad(() => {
    const s2 = A.input(b.nextObs);
    const q2 = agent.criticTarget.forward(s2, agent.actorTarget.forward(s2)).value;
    return T.add(b.reward, T.mul(T.mul(T.sub(1, b.terminated), agent.config.gamma), q2));
  });
}

/** One critic step on the batch: minimise MSE(Q(s, a), y). Returns the loss and Q(s, a) as tensors. */
export function criticStep(
  critic: Critic,
  opt: Adam,
  b: UpdateBatch,
  y: Tensor,
): { loss: Tensor; q: Tensor } {
  const q = critic.forward(A.input(b.obs), A.input(b.action));
  const loss = mseLoss(q, A.input(y));
  opt.zeroGrad();
  loss.backward();
  opt.step();
  return { loss: loss.value, q: q.value };
}

/**
 * The actor step: the deterministic policy gradient. Returns −mean Q(s, μ(s)) as a scalar
 * tensor. The critic's parameters get no gradient and its optimiser does not run.
 */
export function actorStep<C extends SharedConfig>(
  agent: ActorCriticAgent<C>,
  obs: Tensor,
  critic: Critic = agent.critic,
): Tensor {
  const { grads, actorLoss } = policyGradientTensors(agent.actor, critic, obs, agent.config.actorUpdate);
  const params = agent.actor.parameters();
  agent.actorOpt.zeroGrad();
  params.forEach((p, i) => {
    p.grad = grads[i]!.value;
  });
  agent.actorOpt.step();
  return actorLoss;
}

/**
 * DDPG's update tensors (generic, so that a variant of DDPG can reuse them): the critic step, the actor step when `actor`, and the soft target
 * update (hard copies keep their own period, in the agent).
 */
export function ddpgUpdateTensors<C extends SharedConfig & { hardUpdateEvery: number }>(
  agent: ActorCriticAgent<C>,
  b: UpdateBatch,
  _noise: Tensor | undefined,
  actor: boolean,
): UpdateTensors {
  const y = targetQ(agent, b);
  const { loss, q } = criticStep(agent.critic, agent.criticOpt, b, y);
  const actorLoss = actor ? actorStep(agent, b.obs) : undefined;
  if (actor && agent.config.hardUpdateEvery === 0) agent.softUpdateTargets();
  return { criticLoss: loss, actorLoss, meanQ: T.mean(q), maxQ: T.max(q) };
}

/** DDPG: an actor, a critic, their target copies, a replay buffer and exploration noise. */
export const ddpg = {
  name: 'ddpg',
  schema: ddpgConfigSchema,
  defaults: { tau: 5e-3, hardUpdateEvery: 0, batchSize: 256, bufferSize: 1_000_000, learningStarts: 1000 },
  summary: 'DDPG (Lillicrap et al. 2016): replay buffer, target networks, the deterministic policy gradient',
  update: {
    kind: 'off-policy',
    critics: 1,
    // Every update steps the actor, and no draws besides the batch.
    actorStepDue: () => true,
    drawUpdateNoise: () => undefined,
    updateTensors: ddpgUpdateTensors,
  },
} satisfies Algorithm<DdpgConfig>;
