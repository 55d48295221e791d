/**
 * TD3 (Fujimoto et al. 2018): twin critics with clipped double-Q targets, target policy
 * smoothing and delayed actor and target updates. Its config and its update, as functions
 * of the shared agent ({@link ActorCriticAgent}), built from DDPG's steps.
 * @module
 */
import * as A from '@chainrule/autograd';
import { noGrad } from '@chainrule/autograd';
import type { Tensor } from '@chainrule/tensor';
import * as T from '@chainrule/tensor';
import { z } from 'zod';
import type { ActorCriticAgent, Algorithm, UpdateBatch, UpdateTensors } from './actorCritic.ts';
import { replayFields, sharedFields } from './configFields.ts';
import { actorStep, criticStep } from './ddpg.ts';

/** TD3's config: DDPG's fields and TD3's three. */
export const td3ConfigSchema = z
  .object({
    algo: z.literal('td3').describe('algorithm'),
    ...sharedFields,
    ...replayFields,
    policyDelay: z.number().int().positive().describe('actor and target updates every n critic updates'),
    targetNoise: z.number().min(0).describe('target policy smoothing noise σ'),
    targetNoiseClip: z.number().min(0).describe('target policy smoothing noise clip'),
  })
  .strict();

/** The hyperparameters of a TD3 run. */
export type Td3Config = z.infer<typeof td3ConfigSchema>;

type Td3Agent = ActorCriticAgent<Td3Config>;

/** The second critic and its target and optimiser, which a TD3 agent always has. */
function twin(agent: Td3Agent) {
  const { critic2, critic2Target, critic2Opt } = agent;
  if (!critic2 || !critic2Target || !critic2Opt) throw new Error('TD3: the agent has no second critic');
  return { critic2, critic2Target, critic2Opt };
}

/** Target policy smoothing noise ε ~ N(0, σ̃) for the batch, from the sample stream. */
function drawUpdateNoise(agent: Td3Agent, batchSize: number): Tensor {
  return T.randn([batchSize, agent.spaces.actDim], agent.sampleRng, { std: agent.config.targetNoise });
}

/** Whether this cycle also steps the actor (every `policyDelay`-th). */
function actorStepDue(agent: Td3Agent): boolean {
  return (agent.updates + 1) % agent.config.policyDelay === 0;
}

/** y = r + γ(1 − terminated)·min(Q′₁, Q′₂)(s′, clip(μ′(s′) + clip(ε, −c, c))), ε ~ N(0, σ̃). */
export function td3TargetQ(
  agent: Td3Agent,
  b: UpdateBatch,
  noise: Tensor = drawUpdateNoise(agent, b.obs.shape[0]!),
): Tensor {
  const { critic2Target } = twin(agent);
  return noGrad(() => {
    const s2 = A.input(b.nextObs);
    const { targetNoiseClip, gamma } = agent.config;
    const mu2 = agent.actorTarget.forward(s2).value;
    const eps = T.clip(noise, -targetNoiseClip, targetNoiseClip);
    const lo = T.tensor(Float32Array.from(agent.spaces.actionLow));
    const hi = T.tensor(Float32Array.from(agent.spaces.actionHigh));
    const a2 = A.input(T.minimum(T.maximum(T.add(mu2, eps), lo), hi));
    const q1 = agent.criticTarget.forward(s2, a2).value;
    const q2 = critic2Target.forward(s2, a2).value;
    return T.add(b.reward, T.mul(T.mul(T.sub(1, b.terminated), gamma), T.minimum(q1, q2)));
  });
}

/**
 * One TD3 cycle's tensors: both critics, and on every `policyDelay`-th cycle the actor and
 * the soft target update (hard copies keep their own period, in the agent).
 */
function updateTensors(
  agent: Td3Agent,
  b: UpdateBatch,
  noise: Tensor | undefined,
  actor: boolean,
): UpdateTensors {
  const { critic2, critic2Opt } = twin(agent);
  const y = td3TargetQ(agent, b, noise);
  const c1 = criticStep(agent.critic, agent.criticOpt, b, y);
  const c2 = criticStep(critic2, critic2Opt, b, y);
  const actorLoss = actor ? actorStep(agent, b.obs) : undefined;
  if (actor && agent.config.hardUpdateEvery === 0) agent.softUpdateTargets();
  return {
    criticLoss: T.div(T.add(c1.loss, c2.loss), 2),
    actorLoss,
    meanQ: T.mean(c1.q),
    maxQ: T.max(c1.q),
  };
}

/** TD3: DDPG with twin critics, target policy smoothing and a delayed actor. */
export const td3 = {
  name: 'td3',
  schema: td3ConfigSchema,
  // The TD3 paper's values, for a preset of another algorithm switched to TD3 with --algo td3.
  defaults: {
    tau: 5e-3,
    hardUpdateEvery: 0,
    batchSize: 256,
    bufferSize: 1_000_000,
    learningStarts: 1000,
    policyDelay: 2,
    targetNoise: 0.2,
    targetNoiseClip: 0.5,
  },
  summary: 'TD3 (Fujimoto et al. 2018): DDPG with twin critics, target policy smoothing and a delayed actor',
  update: { kind: 'off-policy', critics: 2, actorStepDue, drawUpdateNoise, updateTensors },
} satisfies Algorithm<Td3Config>;
