/**
 * Hyperparameters: one config type per algorithm (a discriminated union on `algo`), and the
 * presets. `paper` follows Lillicrap et al. 2016 (§7); `td3` follows Fujimoto et al. 2018.
 * Every field can be overridden; the schemas validate them, and a field of another
 * algorithm (`policyDelay` for DDPG) is an error naming the algorithm it belongs to.
 * @module
 */
import { z } from 'zod';
import { type AgentConfig, ALGORITHMS, type AlgoName } from './algorithms.ts';
import type { DdpgConfig } from './ddpg.ts';
import type { DpgConfig } from './dpg.ts';
import type { Td3Config } from './td3.ts';

export type { AgentConfig, AlgoName } from './algorithms.ts';
export type { DdpgConfig } from './ddpg.ts';
export type { DpgConfig } from './dpg.ts';
export type { Td3Config } from './td3.ts';

const ALGO_NAMES = Object.keys(ALGORITHMS) as AlgoName[];

/**
 * The validated hyperparameters of a run: each algorithm's schema (in its own file), told
 * apart by `algo`.
 */
export const configSchema = z.discriminatedUnion(
  'algo',
  Object.values(ALGORITHMS).map((a) => a.schema) as unknown as [z.ZodObject, ...z.ZodObject[]],
) as unknown as z.ZodType<AgentConfig, unknown>;

type KeysOfUnion<T> = T extends unknown ? keyof T : never;
type ValueOf<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

/** Overrides of a preset: any field of any algorithm's config (one of another `algo` is rejected at run time). */
export type ConfigOverrides = { [K in KeysOfUnion<AgentConfig>]?: ValueOf<AgentConfig, K> };

/** The algorithms whose configs have each field, in registry order. */
export const FIELD_OWNERS: Readonly<Record<string, readonly AlgoName[]>> = (() => {
  const owners: Record<string, AlgoName[]> = {};
  for (const name of ALGO_NAMES)
    for (const field of Object.keys(ALGORITHMS[name].schema.shape)) (owners[field] ??= []).push(name);
  return owners;
})();

/**
 * Every config field of every algorithm with its schema (the first algorithm's where they
 * differ, e.g. DPG's narrower `noise`): what the CLI generates its flags from.
 */
export const CONFIG_FIELDS: Readonly<Record<string, z.ZodType>> = (() => {
  const fields: Record<string, z.ZodType> = {
    algo: z.enum(ALGO_NAMES as [AlgoName, ...AlgoName[]]).describe('algorithm (default: from the preset)'),
  };
  for (const name of ALGO_NAMES)
    for (const [field, schema] of Object.entries(ALGORITHMS[name].schema.shape as Record<string, z.ZodType>))
      fields[field] ??= schema;
  return fields;
})();

/** The fields among `fields` that `algo`'s config lacks but another algorithm's has, with their algorithms. */
export function foreignFields(
  algo: AlgoName,
  fields: Iterable<string>,
): { field: string; owners: readonly AlgoName[] }[] {
  const own = ALGORITHMS[algo].schema.shape as Record<string, unknown>;
  const out: { field: string; owners: readonly AlgoName[] }[] = [];
  for (const field of fields) {
    const owners = FIELD_OWNERS[field];
    if (!(field in own) && owners) out.push({ field, owners });
  }
  return out;
}

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
      // A schema's own words (DPG's restrictions say why) win over the generic list.
      if (!issue.message.startsWith('Invalid')) return issue.message;
      return `must be one of ${(i.values as unknown[]).map(String).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field${(i.keys as string[]).length > 1 ? 's' : ''} ${(i.keys as string[]).join(', ')}`;
    default:
      return issue.message;
  }
}

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
const paper: DdpgConfig = {
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
  rewardScale: 1,
  normalizeObs: false,
};

const td3: Td3Config = {
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
};

const dpg: DpgConfig = {
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
  startSteps: 0,
  noise: 'gaussian',
  noiseSigma: 0.3,
  noiseDecay: 1,
  actorUpdate: 'chain',
  rewardScale: 1,
  normalizeObs: false,
};

/** The preset names. */
export type PresetName = AgentConfig['preset'];

// TD3's settings as DDPG: without TD3's three changes (twin critics, delay, smoothing).
const { policyDelay: _delay, targetNoise: _noise, targetNoiseClip: _clip, ...td3Shared } = td3;
const td3AsDdpg: DdpgConfig = { ...td3Shared, algo: 'ddpg' };

export const PRESETS: Readonly<Record<PresetName, AgentConfig>> = {
  tuned: { ...td3AsDdpg, preset: 'tuned' },
  paper,
  td3,
  dpg,
  // DDPG for LQR-v0 (train 20,000 steps): a linear policy u = Wx (no hidden layer, no tanh,
  // no bias; the class of the optimum u = −Kx) and a small ReLU critic. Gaussian noise of σ 2
  // (a third of the largest optimal action) gives the critic enough spread in a to resolve
  // ∂Q/∂a, whose curvature R + BᵀPB is small; τ 0.05 spreads values through the target
  // quickly enough that the first actor steps do not follow an untrained critic into an
  // unstable gain; rewards are divided by 10.
  lqr: {
    ...td3AsDdpg,
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
    rewardScale: 0.1,
  },
};

/** A zod error as one line: `field: what is wrong; other: ...`. */
export function formatZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${describeIssue(i)}`).join('; ');
}

/**
 * Problems between fields, which the per-field schemas cannot see: settings with which the
 * agent can never update, or networks that cannot be built. Empty when the config is sound.
 * With `steps`, also runs that end before their first update. (A restriction of one
 * algorithm lives in its schema, e.g. DPG's `batchNorm: false`.)
 */
export function configProblems(c: AgentConfig, steps?: number): string[] {
  const problems: string[] = [];
  if (c.actorHidden.length === 0 && c.actorOutput === 'tanh')
    problems.push(
      "actorHidden: an actor without hidden layers needs actorOutput 'linear' (a linear policy); got actorOutput 'tanh'",
    );
  if (c.actionLayer > c.criticHidden.length)
    problems.push(`actionLayer ${c.actionLayer} exceeds the critic's ${c.criticHidden.length} hidden layers`);
  if (!('bufferSize' in c)) return problems;
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

/** "policyDelay belongs to td3, not ddpg", for each field of another algorithm. */
function foreignProblems(algo: AlgoName, fields: Iterable<string>): string[] {
  return foreignFields(algo, fields).map(
    ({ field, owners }) =>
      `${field} belongs to ${owners.join(' and ')}, not ${algo} (drop it, or set algo to ${owners[0]})`,
  );
}

function isAlgo(x: unknown): x is AlgoName {
  return typeof x === 'string' && Object.hasOwn(ALGORITHMS, x);
}

/**
 * Validate a whole config: its algorithm, fields of other algorithms, the schema per field,
 * then {@link configProblems}. Returns the parsed config (defaults filled in); anything wrong
 * is one error listing every problem. `where` prefixes the message (e.g. the manifest's path).
 */
export function checkConfig(config: unknown, options: { steps?: number; where?: string } = {}): AgentConfig {
  const where = options.where ?? 'invalid hyperparameters';
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new Error(`${where}: expected a config object, got ${JSON.stringify(config)}`);
  const algo = (config as { algo?: unknown }).algo;
  if (!isAlgo(algo))
    throw new Error(`${where}: algo: must be one of ${ALGO_NAMES.join(', ')}, got ${JSON.stringify(algo)}`);
  const foreign = foreignProblems(algo, Object.keys(config));
  if (foreign.length > 0) throw new Error(`${where}: ${foreign.join('; ')}`);
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

/**
 * A preset with overrides applied and validated; a bad value is a clear error naming the
 * field, and so is a field of another algorithm. `algo` may switch the preset to another
 * algorithm: the preset's fields that algorithm lacks are dropped, and the ones it has that
 * the preset lacks come from the algorithm's defaults.
 */
export function makeConfig(preset: PresetName, overrides: ConfigOverrides = {}): AgentConfig {
  const base = PRESETS[preset];
  if (!base) throw new Error(`unknown preset "${preset}"; known presets: ${Object.keys(PRESETS).join(', ')}`);
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const algo = given.algo ?? base.algo;
  let start: Record<string, unknown> = base;
  if (algo !== base.algo && isAlgo(algo)) {
    const target = ALGORITHMS[algo];
    const own = target.schema.shape as Record<string, unknown>;
    start = { ...target.defaults };
    for (const [k, v] of Object.entries(base)) if (k in own) start[k] = v;
  }
  return checkConfig({ ...start, ...given });
}

/**
 * The fields that every config had before configs per algorithm, and the values that the
 * DPG preset gave those it ignored: an old run.json keeps them.
 */
const LEGACY_FIELDS: Readonly<Record<string, unknown>> = {
  tau: 1,
  hardUpdateEvery: 0,
  batchSize: 2,
  bufferSize: 1,
  learningStarts: 1,
  policyDelay: 1,
  targetNoise: 0,
  targetNoiseClip: 0,
};

/**
 * A config as stored (run.json, an actor file), validated. Configs written before configs
 * per algorithm held every algorithm's fields; those the run's algorithm ignored are dropped
 * when they hold a value the old presets gave them, and any other value is an error, since
 * the file then says something the run did not do.
 */
export function parseStoredConfig(raw: unknown, where: string): AgentConfig {
  if (typeof raw !== 'object' || raw === null || !isAlgo((raw as { algo?: unknown }).algo))
    return checkConfig(raw, { where });
  const stored = raw as Record<string, unknown>;
  const algo = stored.algo as AlgoName;
  const preset = PRESETS[stored.preset as PresetName] as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = { ...stored };
  const ignored: string[] = [];
  for (const { field, owners } of foreignFields(algo, Object.keys(stored))) {
    if (!(field in LEGACY_FIELDS)) continue;
    const v = JSON.stringify(stored[field]);
    if (v === JSON.stringify(LEGACY_FIELDS[field]) || v === JSON.stringify(preset?.[field]))
      delete out[field];
    else
      ignored.push(
        `${field} ${v} belongs to ${owners.join(' and ')}, and this ${algo} run ignored it (configs written before configs per algorithm kept every field); delete "${field}" from the config to load the run as it trained`,
      );
  }
  if (ignored.length > 0) throw new Error(`${where}: ${ignored.join('; ')}`);
  return checkConfig(out, { where });
}
