/**
 * Actor files: one safetensors layout for the page and for `pnpm train`.
 *
 * `pnpm train` writes `checkpoints/<ckpt>/agent.safetensors` with every tensor of the agent under a
 * prefix (`actor.fc1.weight`, `critic.…`, `actorTarget.…`, `opt.actor.…`) and the config in
 * `checkpoints/<ckpt>/state.json`. The page downloads the actor alone with the same `actor.` keys
 * and the config in the file's metadata (`chainrule.config`), so either file loads here, and
 * the downloaded one loads in Node with `decode` + `Actor.loadStateDict`.
 *
 * This module has no DOM code, so the tests run it in Node too.
 * @module
 */
import {
  type Agent,
  type AgentConfig,
  makeAgent,
  makeConfig,
  makeEnv,
  parseStoredConfig,
  type RunningMeanStdState,
} from '@chainrule/ddpg';
import { decode, encode, type StateDict } from '@chainrule/nn';

/** The key prefix of the actor's tensors in both files. */
export const ACTOR_PREFIX = 'actor.';
/** The metadata key holding the agent config (JSON) in a downloaded actor file. */
export const CONFIG_KEY = 'chainrule.config';
/** The only environment the page trains. */
export const ENV_ID = 'Pendulum-v1';

/** The actor of `agent` as safetensors bytes, with its config in the metadata. */
export function encodeActor(agent: Agent, info: { seed: number; steps: number }): Uint8Array {
  const tensors: StateDict = {};
  for (const [k, t] of Object.entries(agent.actor.stateDict())) tensors[ACTOR_PREFIX + k] = t;
  return encode(tensors, {
    [CONFIG_KEY]: JSON.stringify(agent.config),
    'chainrule.env': ENV_ID,
    'chainrule.seed': String(info.seed),
    'chainrule.steps': String(info.steps),
  });
}

/** What a loaded actor file holds. */
export interface PolicyFile {
  config: AgentConfig;
  /** Where the config came from, for the page to say. */
  configSource: 'state.json' | 'file metadata' | 'the selected preset';
  actor: StateDict;
  normStats: RunningMeanStdState | undefined;
  env: string;
  /**
   * The environment steps the actor was trained for (a checkpoint's `step`, or a downloaded
   * actor's `chainrule.steps`); undefined when the file does not say.
   */
  steps: number | undefined;
}

/** A step count from a file, if it is one (a whole number ≥ 0). */
function stepsOf(raw: unknown): number | undefined {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** A stored config (older files hold every algorithm's fields: see `parseStoredConfig`). */
function parseConfig(raw: unknown, where: string): AgentConfig {
  return parseStoredConfig(raw, `${where}: invalid agent config`);
}

/**
 * Read an actor file (a downloaded actor, or a run's `agent.safetensors`). The config comes
 * from `manifestJson` (the checkpoint's `state.json`, which repeats the run's env and config) when given, else from the
 * file's metadata, else from `fallbackPreset`.
 */
export function readPolicyFile(
  bytes: Uint8Array,
  name: string,
  manifestJson: string | undefined,
  fallbackPreset: AgentConfig['preset'],
): PolicyFile {
  const { tensors, metadata } = decode(bytes, name);
  const actor: StateDict = {};
  for (const [k, t] of Object.entries(tensors))
    if (k.startsWith(ACTOR_PREFIX)) actor[k.slice(ACTOR_PREFIX.length)] = t;
  if (Object.keys(actor).length === 0) {
    throw new Error(
      `${name}: no tensors named "${ACTOR_PREFIX}…"; expected a run's checkpoint/agent.safetensors or an actor downloaded here (keys: ${Object.keys(tensors).slice(0, 6).join(', ')})`,
    );
  }
  let env = metadata['chainrule.env'] ?? ENV_ID;
  let normStats: RunningMeanStdState | undefined;
  let steps = stepsOf(metadata['chainrule.steps']);
  let config: AgentConfig;
  let configSource: PolicyFile['configSource'];
  if (manifestJson !== undefined) {
    let m: { env?: unknown; config?: unknown; step?: unknown; normStats?: RunningMeanStdState | null };
    try {
      m = JSON.parse(manifestJson);
    } catch (e) {
      throw new Error(`state.json is not valid JSON: ${(e as Error).message}`);
    }
    config = parseConfig(m.config, 'state.json');
    if (typeof m.env === 'string') env = m.env;
    normStats = m.normStats ?? undefined;
    steps = stepsOf(m.step) ?? steps;
    configSource = 'state.json';
  } else if (metadata[CONFIG_KEY]) {
    config = parseConfig(JSON.parse(metadata[CONFIG_KEY]), `${name} metadata`);
    configSource = 'file metadata';
  } else {
    config = makeConfig(fallbackPreset);
    configSource = 'the selected preset';
  }
  if (env !== ENV_ID) throw new Error(`${name}: the actor was trained on ${env}; this page runs ${ENV_ID}`);
  if (config.normalizeObs && !normStats) {
    throw new Error(
      `${name}: the run normalised observations; load its checkpoint's state.json too (it holds the statistics)`,
    );
  }
  return { config, configSource, actor, normStats, env, steps };
}

/** An agent for Pendulum-v1 whose actor holds the file's weights (strict: every key must match). */
export function agentFromPolicyFile(file: PolicyFile, seed: number): Agent {
  const agent = makeAgent(makeEnv(ENV_ID), file.config, seed);
  agent.actor.loadStateDict(file.actor);
  return agent;
}
