import { ActorCriticAgent, makeAgent, makeConfig, makeEnv } from '@chainrule/ddpg';
import { encode } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { agentFromPolicyFile, encodeActor, readPolicyFile } from '../src/ddpg/policyFile.ts';

const small = makeConfig('tuned', { actorHidden: [8, 8], criticHidden: [8, 8] });

describe('actor files', () => {
  it('a downloaded actor loads back with its config and acts exactly like the original', () => {
    const agent = makeAgent(makeEnv('Pendulum-v1'), small, 4);
    const bytes = encodeActor(agent, { seed: 4, steps: 3200 });
    const file = readPolicyFile(bytes, 'actor.safetensors', undefined, 'paper');
    expect(file.configSource).toBe('file metadata');
    expect(file.steps).toBe(3200);
    expect(file.config.actorHidden).toEqual([8, 8]);
    const copy = agentFromPolicyFile(file, 99);
    const obs = makeEnv('Pendulum-v1').reset({ seed: 1 }).observation;
    expect(Array.from(copy.act(obs, { explore: false }))).toEqual(
      Array.from(agent.act(obs, { explore: false })),
    );
  });

  it("reads only the actor's tensors from a whole-agent file, with the config from the checkpoint's state.json", () => {
    const agent = makeAgent(makeEnv('Pendulum-v1'), small, 2);
    if (!(agent instanceof ActorCriticAgent)) throw new Error('makeAgent makes an ActorCriticAgent');
    const bytes = encode(agent.tensors());
    const manifest = JSON.stringify({
      version: 1,
      env: 'Pendulum-v1',
      config: small,
      step: 20000,
      normStats: null,
    });
    const file = readPolicyFile(bytes, 'agent.safetensors', manifest, 'paper');
    expect(file.configSource).toBe('state.json');
    expect(file.steps).toBe(20000);
    expect(Object.keys(file.actor).sort()).toEqual(Object.keys(agent.actor.stateDict()).sort());
  });

  it('rejects a file with no actor, a mismatched preset, and another env, saying why', () => {
    const other = encode({ 'critic.w': T.zeros([2, 2]) });
    expect(() => readPolicyFile(other, 'x.safetensors', undefined, 'tuned')).toThrow(
      /no tensors named "actor\.…"/,
    );
    const agent = makeAgent(makeEnv('Pendulum-v1'), small, 2);
    const bare = encode(
      Object.fromEntries(Object.entries(agent.actor.stateDict()).map(([k, t]) => [`actor.${k}`, t])),
    );
    // Without metadata or manifest the selected preset (256-256) is used, and the shapes disagree.
    const file = readPolicyFile(bare, 'bare.safetensors', undefined, 'tuned');
    expect(file.configSource).toBe('the selected preset');
    expect(file.steps).toBeUndefined();
    expect(() => agentFromPolicyFile(file, 0)).toThrow(/loadStateDict/);
    const lqr = JSON.stringify({ env: 'LQR-v0', config: small });
    expect(() => readPolicyFile(bare, 'bare.safetensors', lqr, 'tuned')).toThrow(/trained on LQR-v0/);
  });
});
