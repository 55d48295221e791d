/**
 * The optimiser state an agent checkpoints: Adam's per-parameter steps survive
 * meta()/restore(), and a checkpoint from before they existed (one global step per
 * optimiser) still restores, with that step given to every parameter.
 */
import { Rng } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { type ActorCriticAgent, type AgentMeta, createAgent, makeConfig } from '../src/index.ts';

const spaces = { obsDim: 3, actDim: 1, actionLow: [-2], actionHigh: [2] };
const tiny = { actorHidden: [8], criticHidden: [8], batchSize: 8, learningStarts: 8, bufferSize: 1000 };

function trained(make: () => ActorCriticAgent, updates: number): ActorCriticAgent {
  const agent = make();
  const rng = new Rng(6);
  for (let i = 0; i < 32; i++) {
    agent.observe({
      obs: [rng.normal(), rng.normal(), rng.normal()],
      action: [rng.uniform(-2, 2)],
      reward: rng.normal(),
      nextObs: [rng.normal(), rng.normal(), rng.normal()],
      terminated: false,
      truncated: false,
    });
  }
  for (let i = 0; i < updates; i++) agent.update();
  return agent;
}

const makers: [string, () => ActorCriticAgent][] = [
  ['DDPG', () => createAgent(spaces, makeConfig('paper', { ...tiny, criticHidden: [8, 8] }), 5)],
  ['TD3', () => createAgent(spaces, makeConfig('td3', tiny), 5)],
];

describe.each(makers)('%s checkpoints per-parameter Adam steps', (_, make) => {
  it('meta() carries them and restore() brings them back', () => {
    const agent = trained(make, 6);
    const meta = JSON.parse(JSON.stringify(agent.meta())) as AgentMeta;
    for (const [name, opt] of agent.optimizers()) {
      expect(meta.optimizers[name]!.steps, name).toEqual([...opt.parameterSteps]);
      expect(opt.parameterSteps.every((n) => n === opt.stepCount)).toBe(true);
    }
    const other = make();
    other.restore({ tensors: agent.tensors(), meta });
    for (const [[, a], [, b]] of agent.optimizers().map((o, i) => [o, other.optimizers()[i]!] as const)) {
      expect(b.parameterSteps).toEqual(a.parameterSteps);
    }
  });

  it('an older checkpoint (one global step) restores with that step for every parameter, and continues identically', () => {
    const agent = trained(make, 6);
    const old = JSON.parse(JSON.stringify(agent.meta())) as AgentMeta;
    for (const info of Object.values(old.optimizers)) {
      expect(info.steps).toBeDefined();
      delete info.steps;
    }
    const other = make();
    other.restore({ tensors: agent.tensors(), meta: old });
    other.replay!.copyFrom(agent.replay!); // the trainer restores the replay buffer from its own file
    for (const [name, opt] of other.optimizers()) {
      expect(opt.parameterSteps, name).toEqual(opt.params.map(() => old.optimizers[name]!.step));
    }
    agent.update();
    other.update();
    const arr = (d: ActorCriticAgent) => d.tensors();
    const a = arr(agent);
    const b = arr(other);
    for (const k of Object.keys(a))
      expect(Array.from(b[k]!.dataSync()), k).toEqual(Array.from(a[k]!.dataSync()));
  });
});
