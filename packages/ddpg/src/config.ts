/**
 * Hyperparameters and presets. `paper` follows Lillicrap et al. 2016 (§7); `td3` follows
 * Fujimoto et al. 2018. Every field can be overridden; the schema validates them.
 * @module
 */
import { z } from 'zod';

/** The validated hyperparameters of a run. */
export const configSchema = z
  .object({
    algo: z.enum(['ddpg', 'td3', 'dpg']),
    preset: z.enum(['tuned', 'paper', 'td3', 'dpg', 'lqr']),
    /** Hidden layer sizes of the actor; empty (with `actorOutput: 'linear'`) is a linear policy. */
    actorHidden: z.array(z.number().int().positive()),
    /** The actor's output: tanh scaled to the action bounds, or linear (unbounded; the env clips). */
    actorOutput: z.enum(['tanh', 'linear']).default('tanh'),
    /** Whether the actor's final layer has a bias (false: u = Wx through the bounds' centre). */
    actorBias: z.boolean().default(true),
    criticHidden: z.array(z.number().int().positive()).min(1),
    /** BatchNorm in the actor and in the critic's state path (the paper). */
    batchNorm: z.boolean(),
    /** The critic layer (1-based) whose input the action joins: 2 in the paper, 1 in TD3. */
    actionLayer: z.number().int().min(1),
    /** Final-layer init U(±finalInit); hidden layers use fan-in init. */
    finalInit: z.number().positive(),
    actorLr: z.number().positive(),
    criticLr: z.number().positive(),
    criticWeightDecay: z.number().min(0),
    gamma: z.number().min(0).max(1),
    tau: z.number().min(0).max(1),
    /** Copy the online networks into the targets every C updates instead of Polyak averaging (0 = soft updates). */
    hardUpdateEvery: z.number().int().min(0),
    batchSize: z.number().int().min(2),
    bufferSize: z.number().int().positive(),
    /** Uniform random actions for this many env steps before the policy acts. */
    startSteps: z.number().int().min(0),
    /** No updates before the buffer holds this many transitions. */
    learningStarts: z.number().int().min(1),
    noise: z.enum(['ou', 'gaussian', 'param', 'none']),
    noiseSigma: z.number().min(0),
    /** Per-step σ decay factor (1 = constant). */
    noiseDecay: z.number().positive().max(1),
    /** The actor update: the explicit chain rule (default) or the surrogate −mean Q. */
    actorUpdate: z.enum(['chain', 'surrogate']),
    /** TD3: actor and target updates every this many critic updates. */
    policyDelay: z.number().int().positive(),
    /** TD3: target policy smoothing noise σ and clip. */
    targetNoise: z.number().min(0),
    targetNoiseClip: z.number().min(0),
    rewardScale: z.number().positive(),
    normalizeObs: z.boolean(),
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

/** A preset with overrides applied and validated; a bad value is a clear error naming the field. */
export function makeConfig(preset: PresetName, overrides: Partial<AgentConfig> = {}): AgentConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown preset "${preset}"; known presets: ${Object.keys(PRESETS).join(', ')}`);
  const merged = {
    ...base,
    ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)),
  };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`)
      .join('; ');
    throw new Error(`invalid hyperparameters: ${issues}`);
  }
  if (parsed.data.actorHidden.length === 0 && parsed.data.actorOutput === 'tanh') {
    throw new Error(
      "invalid hyperparameters: actorHidden: an actor without hidden layers needs actorOutput 'linear' (a linear policy); got actorOutput 'tanh'",
    );
  }
  if (parsed.data.actionLayer > parsed.data.criticHidden.length) {
    throw new Error(
      `invalid hyperparameters: actionLayer ${parsed.data.actionLayer} exceeds the critic's ${parsed.data.criticHidden.length} hidden layers`,
    );
  }
  return parsed.data;
}
