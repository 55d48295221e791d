/**
 * Helpers of the chainrule DDPG contenders: load the benchmark's seeded initial parameters
 * (`ddpgInitialParams`, the same numbers the tfjs contender starts from) into a
 * `@chainrule/ddpg` agent, and turn the fixed replay batch into chainrule tensors.
 *
 * Layout mapping (checked strictly, name by name and shape by shape): the bench spec names a
 * parameter `${net}.l${i}.{w,b,gamma,beta}`; chainrule's `Actor`/`Critic` register hidden
 * layer i as `fc${i+1}` (weight `[in, out]`, bias `[out]`) followed by its batch norm
 * `bn${i+1}` (weight = γ, bias = β), and the last layer as `out`. Both put the action
 * after the hidden state in the critic's concatenation. Anything that does not map one to
 * one is an error (no silent fall-back to chainrule's own seeded init).
 *
 * @module
 */

import type { Var } from '@chainrule/autograd';
import {
  type Actor,
  type ActorCriticAgent,
  type AgentConfig,
  type Batch,
  type Critic,
  createAgent,
} from '@chainrule/ddpg';
import { hardUpdate } from '@chainrule/nn';
import { fmtShape, shapesEqual, type Tensor, tensor, tidy } from '@chainrule/tensor';
import { type DdpgBatch, ddpgInitialParams } from '../inputs.ts';
import { type DdpgPreset, type MlpSpec, type ParamInit, PENDULUM } from '../specs.ts';

/** The chainrule parameter name of a bench-spec parameter (`critic.l1.w` → `fc2.weight`). */
export function chainruleParamName(spec: MlpSpec, benchName: string): string {
  const m = /^(.+)\.l(\d+)\.(w|b|gamma|beta)$/.exec(benchName);
  if (!m || m[1] !== spec.name) throw new Error(`unexpected parameter name '${benchName}' for ${spec.name}`);
  const i = Number(m[2]);
  const last = i === spec.layers.length - 1;
  const kind = m[3]!;
  if (kind === 'w' || kind === 'b')
    return `${last ? 'out' : `fc${i + 1}`}.${kind === 'w' ? 'weight' : 'bias'}`;
  return `bn${i + 1}.${kind === 'gamma' ? 'weight' : 'bias'}`;
}

/**
 * Overwrite every parameter of `net` with the bench's initial values (on the active
 * backend). Throws unless the two parameter lists map one to one with equal shapes.
 */
export function loadInitialParams(net: Actor | Critic, spec: MlpSpec, init: readonly ParamInit[]): void {
  const params = new Map<string, Var>(net.namedParameters());
  const seen = new Set<string>();
  for (const p of init) {
    const name = chainruleParamName(spec, p.name);
    const v = params.get(name);
    if (!v) {
      throw new Error(
        `${spec.name}: bench parameter ${p.name} maps to '${name}', which the chainrule network does not have (it has ${[...params.keys()].join(', ')})`,
      );
    }
    if (!shapesEqual(v.shape, p.shape)) {
      throw new Error(
        `${spec.name}: ${p.name} is ${fmtShape(p.shape)} but chainrule's ${name} is ${fmtShape(v.shape)}`,
      );
    }
    v.value.assign(tensor(p.data.slice(), { shape: p.shape }));
    seen.add(name);
  }
  const missing = [...params.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0) throw new Error(`${spec.name}: no bench initial value for ${missing.join(', ')}`);
}

/**
 * Load the bench's initial parameters into a DDPG (or TD3) agent's online networks and copy
 * them into the targets. `critics` are the agent's online critics with their target copies,
 * in the preset's order.
 */
export function loadAgentParams(
  agent: ActorCriticAgent,
  actorSpec: MlpSpec,
  init: { actor: readonly ParamInit[]; critics: readonly (readonly ParamInit[])[] },
  critics: readonly { spec: MlpSpec; online: Critic; target: Critic }[],
): void {
  if (critics.length !== init.critics.length)
    throw new Error(`${critics.length} critics, but ${init.critics.length} initial parameter sets`);
  loadInitialParams(agent.actor, actorSpec, init.actor);
  hardUpdate(agent.actorTarget, agent.actor);
  critics.forEach((c, i) => {
    loadInitialParams(c.online, c.spec, init.critics[i]!);
    hardUpdate(c.target, c.online);
  });
}

/** Pendulum-v1's spaces as a chainrule agent takes them. */
export const PENDULUM_SPACES = {
  obsDim: PENDULUM.obsDim,
  actDim: PENDULUM.actDim,
  actionLow: [-PENDULUM.actionBound],
  actionHigh: [PENDULUM.actionBound],
} as const;

/**
 * A DDPG (TD3 for the `td3` preset) agent with `cfg`, on the active backend, starting from
 * the bench's seeded initial parameters ({@link ddpgInitialParams}) in the online networks
 * and their targets.
 */
export function benchAgent(preset: DdpgPreset, cfg: AgentConfig, seed: number): ActorCriticAgent {
  const init = ddpgInitialParams(preset);
  // The parameters are assigned in place, which releases the agent's own initial values.
  const load = (a: ActorCriticAgent, critics: Parameters<typeof loadAgentParams>[3]) =>
    tidy(() => loadAgentParams(a, preset.actor, init, critics));
  if (preset.name === 'td3') {
    const a = createAgent(PENDULUM_SPACES, cfg, seed);
    load(a, [
      { spec: preset.critics[0]!, online: a.critic, target: a.criticTarget },
      { spec: preset.critics[1]!, online: a.critic2!, target: a.critic2Target! },
    ]);
    return a;
  }
  const a = createAgent(PENDULUM_SPACES, cfg, seed);
  load(a, [{ spec: preset.critics[0]!, online: a.critic, target: a.criticTarget }]);
  return a;
}

/** The fixed replay batch as chainrule tensors on the active backend (`truncated` all 0, `indices` 0…B−1). */
export function batchTensors(b: DdpgBatch): Batch {
  const B = b.batch;
  const t = (data: Float32Array, cols: number): Tensor => tensor(data.slice(), { shape: [B, cols] });
  return {
    obs: t(b.s, b.obsDim),
    action: t(b.a, b.actDim),
    reward: t(b.r, 1),
    nextObs: t(b.s2, b.obsDim),
    terminated: t(b.done, 1),
    truncated: t(new Float32Array(B), 1),
    indices: Int32Array.from({ length: B }, (_, i) => i),
  };
}

/** The tensors of a batch. */
export function batchTensorList(b: Batch): Tensor[] {
  return [b.obs, b.action, b.reward, b.nextObs, b.terminated, b.truncated];
}
