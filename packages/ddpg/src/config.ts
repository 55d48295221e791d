/**
 * Hyperparameters and presets. `paper` follows Lillicrap et al. 2016 (§7); `td3` follows
 * Fujimoto et al. 2018. Every field can be overridden; the schema validates them.
 * @module
 */
import { z } from 'zod';

/**
 * The validated hyperparameters of a run: the one definition they have. Each field's
 * description is also its CLI flag's help (the flags are generated from this schema).
 */
export const configSchema = z
  .object({
    algo: z.enum(['ddpg', 'td3', 'dpg']).describe('algorithm (default: from the preset)'),
    preset: z.enum(['tuned', 'paper', 'td3', 'dpg', 'lqr']).describe('hyperparameter preset'),
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
    tau: z.number().min(0).max(1).describe('soft target update rate'),
    hardUpdateEvery: z
      .number()
      .int()
      .min(0)
      .describe('copy targets every n updates instead of soft updates (0: soft)'),
    batchSize: z.number().int().min(2).describe('minibatch size'),
    bufferSize: z.number().int().positive().describe('replay buffer capacity'),
    startSteps: z.number().int().min(0).describe('uniform random actions for the first n steps'),
    learningStarts: z.number().int().min(1).describe('no updates before the buffer holds n transitions'),
    noise: z.enum(['ou', 'gaussian', 'param', 'none']).describe('exploration noise'),
    noiseSigma: z.number().min(0).describe('exploration noise σ'),
    noiseDecay: z.number().positive().max(1).describe('σ multiplier per update (1: constant; e.g. 0.9998)'),
    actorUpdate: z
      .enum(['chain', 'surrogate'])
      .describe('actor gradient: the explicit chain rule or the surrogate loss −mean Q'),
    policyDelay: z.number().int().positive().describe('TD3: actor and target updates every n critic updates'),
    targetNoise: z.number().min(0).describe('TD3: target policy smoothing noise σ'),
    targetNoiseClip: z.number().min(0).describe('TD3: target policy smoothing noise clip'),
    rewardScale: z.number().positive().describe('multiply rewards by x (0.1 = divide by 10)'),
    normalizeObs: z.boolean().describe('running observation normalisation'),
  })
  .strict();

/** The hyperparameters of a run. */
export type AgentConfig = z.infer<typeof configSchema>;

/** The preset `pnpm train` uses when none is given. */
export const DEFAULT_PRESET = 'tuned';

/**
 * The named presets:
 * - `tuned` (the CLI default): DDPG with the settings of Fujimoto et al. 2018's
 *   re-tuned DDPG baseline: no BatchNorm, 256-256, lr 1e-3, τ 5e-3, batch 256, Gaussian
 *   noise 0.1 and 1000 uniform random steps first. It solves Pendulum-v1 in 20,000 steps.
 * - `paper`: Lillicrap et al. 2016, §7, as published.
 * - `td3`: the TD3 algorithm with its paper's settings.
 * - `dpg`: the on-policy DPG baseline (Silver et al. 2014).
 * - `lqr`: DDPG with a linear policy, for LQR-v0 (see the comment on the entry).
 */
const BASE_PRESETS: Readonly<Record<'paper' | 'td3' | 'dpg', AgentConfig>> = {
  paper: {
    algo: 'ddpg',
    preset: 'paper',
    actorHidden: [400, 300],
    actorOutput: 'tanh',
    actorBias: true,
    criticHidden: [400, 300],
    batchNorm: true,
    actionLayer: 2,
    finalInit: 3e-3,
    actorLr: 1e-4,
    criticLr: 1e-3,
    criticWeightDecay: 1e-2,
    gamma: 0.99,
    tau: 1e-3,
    hardUpdateEvery: 0,
    batchSize: 64,
    bufferSize: 1_000_000,
    startSteps: 0,
    learningStarts: 64,
    noise: 'ou',
    noiseSigma: 0.2,
    noiseDecay: 1,
    actorUpdate: 'chain',
    policyDelay: 1,
    targetNoise: 0,
    targetNoiseClip: 0,
    rewardScale: 1,
    normalizeObs: false,
  },
  td3: {
    algo: 'td3',
    preset: 'td3',
    actorHidden: [256, 256],
    actorOutput: 'tanh',
    actorBias: true,
    criticHidden: [256, 256],
    batchNorm: false,
    actionLayer: 1,
    finalInit: 3e-3,
    actorLr: 1e-3,
    criticLr: 1e-3,
    criticWeightDecay: 0,
    gamma: 0.99,
    tau: 5e-3,
    hardUpdateEvery: 0,
    batchSize: 256,
    bufferSize: 1_000_000,
    startSteps: 1000,
    learningStarts: 1000,
    noise: 'gaussian',
    noiseSigma: 0.1,
    noiseDecay: 1,
    actorUpdate: 'chain',
    policyDelay: 2,
    targetNoise: 0.2,
    targetNoiseClip: 0.5,
    rewardScale: 1,
    normalizeObs: false,
  },
  dpg: {
    algo: 'dpg',
    preset: 'dpg',
    actorHidden: [32],
    actorOutput: 'tanh',
    actorBias: true,
    criticHidden: [64, 64],
    batchNorm: false,
    actionLayer: 1,
    finalInit: 3e-3,
    actorLr: 1e-4,
    criticLr: 1e-3,
    criticWeightDecay: 0,
    gamma: 0.99,
    tau: 1,
    hardUpdateEvery: 0,
    batchSize: 2,
    bufferSize: 1,
    startSteps: 0,
    learningStarts: 1,
    noise: 'gaussian',
    noiseSigma: 0.3,
    noiseDecay: 1,
    actorUpdate: 'chain',
    policyDelay: 1,
    targetNoise: 0,
    targetNoiseClip: 0,
    rewardScale: 1,
    normalizeObs: false,
  },
};

/** The preset names. */
export type PresetName = AgentConfig['preset'];

export const PRESETS: Readonly<Record<PresetName, AgentConfig>> = {
  // DDPG with TD3's settings minus TD3's three changes (twin critics, delay, smoothing).
  tuned: {
    ...BASE_PRESETS.td3,
    algo: 'ddpg',
    preset: 'tuned',
    policyDelay: 1,
    targetNoise: 0,
    targetNoiseClip: 0,
  },
  ...BASE_PRESETS,
  // DDPG for LQR-v0 (train 20,000 steps): a linear policy u = Wx (no hidden layer, no tanh,
  // no bias; the class of the optimum u = −Kx) and a small ReLU critic. Gaussian noise of σ 2
  // (a third of the largest optimal action) gives the critic enough spread in a to resolve
  // ∂Q/∂a, whose curvature R + BᵀPB is small; τ 0.05 spreads values through the target
  // quickly enough that the first actor steps do not follow an untrained critic into an
  // unstable gain; rewards are divided by 10.
  lqr: {
    ...BASE_PRESETS.td3,
    algo: 'ddpg',
    preset: 'lqr',
    actorHidden: [],
    actorOutput: 'linear',
    actorBias: false,
    criticHidden: [64, 64],
    actorLr: 3e-4,
    criticLr: 1e-3,
    tau: 0.05,
    startSteps: 0,
    learningStarts: 1000,
    noiseSigma: 2,
    policyDelay: 1,
    targetNoise: 0,
    targetNoiseClip: 0,
    rewardScale: 0.1,
  },
};

/**
 * One zod issue in words a user can act on: "must be an integer >= 1", "must be one of
 * ou, gaussian". The CLI's flags, `makeConfig` and `loadRun` all report through it.
 */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const i = issue as z.core.$ZodIssue & Record<string, unknown>;
  switch (issue.code) {
    case 'too_small':
      return i.origin === 'array'
        ? `must have at least ${i.minimum} entr${i.minimum === 1 ? 'y' : 'ies'}`
        : `must be ${i.inclusive ? '>=' : '>'} ${i.minimum}`;
    case 'too_big':
      return i.origin === 'array'
        ? `must have at most ${i.maximum} entries`
        : `must be ${i.inclusive ? '<=' : '<'} ${i.maximum}`;
    case 'invalid_type':
      return `must be ${i.expected === 'int' ? 'an integer' : `a ${String(i.expected)}`}`;
    case 'invalid_value':
      return `must be one of ${(i.values as unknown[]).map(String).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${(i.keys as string[]).length > 1 ? 's' : ''} ${(i.keys as string[]).join(', ')}`;
    default:
      return issue.message;
  }
}

/** A zod error as one line: `field: what is wrong; other: ...`. */
export function formatZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${describeIssue(i)}`).join('; ');
}

/**
 * Problems between fields, which the per-field schema cannot see: settings with which the
 * agent can never update, or networks that cannot be built. Empty when the config is sound.
 * With `steps`, also runs that end before their first update.
 */
export function configProblems(c: AgentConfig, steps?: number): string[] {
  const problems: string[] = [];
  if (c.actorHidden.length === 0 && c.actorOutput === 'tanh')
    problems.push(
      "actorHidden: an actor without hidden layers needs actorOutput 'linear' (a linear policy); got actorOutput 'tanh'",
    );
  if (c.actionLayer > c.criticHidden.length)
    problems.push(`actionLayer ${c.actionLayer} exceeds the critic's ${c.criticHidden.length} hidden layers`);
  if (c.algo === 'dpg') {
    if (c.noise === 'param') problems.push("DPG does not support noise 'param'");
    if (c.batchNorm) problems.push('DPG does not support batchNorm (it updates on one transition at a time)');
    return problems;
  }
  // Off-policy agents update once the buffer holds max(batchSize, learningStarts) transitions.
  const needed = Math.max(c.batchSize, c.learningStarts);
  if (c.bufferSize < needed)
    problems.push(
      `bufferSize ${c.bufferSize} is smaller than max(batchSize ${c.batchSize}, learningStarts ${c.learningStarts}) = ${needed}, so the agent never updates`,
    );
  if (steps !== undefined && needed >= steps)
    problems.push(
      `max(batchSize ${c.batchSize}, learningStarts ${c.learningStarts}) = ${needed} is not below steps ${steps}, so the run ends before it learns`,
    );
  return problems;
}

/**
 * Validate a whole config: the schema per field, then {@link configProblems}. Returns the
 * parsed config (defaults filled in); anything wrong is one error listing every problem.
 * `where` prefixes the message (e.g. the manifest's path).
 */
export function checkConfig(config: unknown, options: { steps?: number; where?: string } = {}): AgentConfig {
  const where = options.where ?? 'invalid hyperparameters';
  const parsed = configSchema.safeParse(config);
  if (!parsed.success) throw new Error(`${where}: ${formatZodError(parsed.error)}`);
  const problems = configProblems(parsed.data, options.steps);
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
  return parsed.data;
}

/** The fields of `config` whose values differ from its preset's, with both values. */
export function presetDiff(config: AgentConfig): Record<string, { preset: unknown; value: unknown }> {
  const base = PRESETS[config.preset];
  const diff: Record<string, { preset: unknown; value: unknown }> = {};
  for (const [k, v] of Object.entries(config)) {
    const p = (base as Record<string, unknown>)[k];
    if (JSON.stringify(p) !== JSON.stringify(v)) diff[k] = { preset: p, value: v };
  }
  return diff;
}

/** A preset with overrides applied and validated; a bad value is a clear error naming the field. */
export function makeConfig(preset: PresetName, overrides: Partial<AgentConfig> = {}): AgentConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown preset "${preset}"; known presets: ${Object.keys(PRESETS).join(', ')}`);
  const merged = {
    ...base,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  return checkConfig(merged);
}
