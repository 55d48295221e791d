/**
 * The hyperparameter fields that several algorithms share, as zod schemas. Each algorithm's
 * file builds its config schema from these and its own fields (see `algorithms.ts`); each
 * field's description is also its CLI flag's help.
 * @module
 */
import { z } from 'zod';

/** The preset names (one list for every algorithm: `--algo` can combine any preset with any algorithm). */
export const presetNames = ['tuned', 'paper', 'td3', 'dpg', 'lqr'] as const;

/** Fields every algorithm has: the networks, the optimisers, exploration and the reward. */
export const sharedFields = {
  preset: z.enum(presetNames).describe('hyperparameter preset'),
  actorHidden: z
    .array(z.number().int().positive())
    .describe('actor hidden layer sizes, e.g. 64,64 (empty with --actor-output linear: a linear policy)'),
  actorOutput: z
    .enum(['tanh', 'linear'])
    .default('tanh')
    .describe('actor output: tanh scaled to the action bounds, or linear (unbounded; the env clips)'),
  actorBias: z
    .boolean()
    .default(true)
    .describe("bias in the actor's final layer (without: u = Wx through the bounds' centre)"),
  criticHidden: z
    .array(z.number().int().positive())
    .min(1)
    .describe('critic hidden layer sizes, e.g. 256,256'),
  batchNorm: z.boolean().describe("BatchNorm in the actor and the critic's state path (the paper)"),
  actionLayer: z
    .number()
    .int()
    .min(1)
    .describe('critic layer (1-based) whose input the action joins: 2 in the paper, 1 in TD3'),
  finalInit: z.number().positive().describe('final layers drawn from U(±x); hidden layers use fan-in init'),
  actorLr: z.number().positive().describe('actor learning rate'),
  criticLr: z.number().positive().describe('critic learning rate'),
  criticWeightDecay: z.number().min(0).describe('critic L2 weight decay'),
  gamma: z.number().min(0).max(1).describe('discount factor'),
  startSteps: z.number().int().min(0).describe('uniform random actions for the first n steps'),
  noise: z.enum(['ou', 'gaussian', 'param', 'none']).describe('exploration noise'),
  noiseSigma: z.number().min(0).describe('exploration noise σ'),
  noiseDecay: z.number().positive().max(1).describe('σ multiplier per update (1: constant; e.g. 0.9998)'),
  actorUpdate: z
    .enum(['chain', 'surrogate'])
    .describe('actor gradient: the explicit chain rule or the surrogate loss −mean Q'),
  rewardScale: z.number().positive().describe('multiply rewards by x (0.1 = divide by 10)'),
  normalizeObs: z.boolean().describe('running observation normalisation'),
};

/** Fields of the agents that learn from a replay buffer through target networks (DDPG, TD3). */
export const replayFields = {
  tau: z.number().min(0).max(1).describe('soft target update rate'),
  hardUpdateEvery: z
    .number()
    .int()
    .min(0)
    .describe('copy targets every n updates instead of soft updates (0: soft)'),
  batchSize: z.number().int().min(2).describe('minibatch size'),
  bufferSize: z.number().int().positive().describe('replay buffer capacity'),
  learningStarts: z.number().int().min(1).describe('no updates before the buffer holds n transitions'),
};

/** What every algorithm's config has: `algo` and the shared fields (the bound of an algorithm's config type). */
export type SharedConfig = z.infer<z.ZodObject<typeof sharedFields>> & { algo: string };
