/**
 * The Agent interface as ActorCriticAgent, TD3 and DPG implement it: acting (shared, clipped by the
 * action Box), the random warm-up, and state/restore.
 */
import { describe, expect, it } from 'vitest';
import { type Agent, makeAgent, makeConfig, makeEnv } from '../src/index.ts';

const tiny = { actorHidden: [8], criticHidden: [8], batchSize: 4, learningStarts: 4, bufferSize: 100 };
const env = makeEnv('Pendulum-v1');
const agents = (overrides = {}): [string, Agent][] => [
  ['ddpg', makeAgent(env, makeConfig('tuned', { ...tiny, ...overrides }), 0)],
  ['td3', makeAgent(env, makeConfig('td3', { ...tiny, ...overrides }), 0)],
  ['dpg', makeAgent(env, makeConfig('dpg', { actorHidden: [8], criticHidden: [8], ...overrides }), 0)],
];

function step(agent: Agent, obs: number[]): void {
  const action = agent.act(obs, { explore: true });
  agent.observe({ obs, action, reward: -1, nextObs: obs, terminated: false, truncated: false });
  agent.update();
}

describe('the Agent interface', () => {
  it('actions stay inside the action Box, with or without exploration', () => {
    for (const [name, agent] of agents({ startSteps: 0, noiseSigma: 50, noise: 'gaussian' })) {
      for (const obs of [
        [1, 0, 0],
        [-1, 0.5, 8],
      ]) {
        for (const explore of [true, false]) {
          const a = agent.act(obs, { explore });
          expect(a[0], name).toBeGreaterThanOrEqual(-2);
          expect(a[0], name).toBeLessThanOrEqual(2);
        }
      }
      // σ 50 noise on a ±2 box: exploring actions sit on the bounds.
      expect(Math.abs(agent.act([1, 0, 0], { explore: true })[0]!), name).toBe(2);
    }
  });

  it('the first startSteps exploring actions are uniform random, then the policy acts', () => {
    for (const [name, agent] of agents({ startSteps: 3, noise: 'none' })) {
      const greedy = agent.act([1, 0, 0], { explore: false });
      const warm = [0, 1, 2].map(() => {
        const a = agent.act([1, 0, 0], { explore: true })[0]!;
        step(agent, [1, 0, 0]);
        return a;
      });
      expect(new Set(warm).size, name).toBe(3);
      for (const a of warm) expect(a, name).not.toBe(greedy[0]);
      // Past the warm-up, without noise, exploring is the (updated) policy's own action.
      expect(agent.act([1, 0, 0], { explore: true }), name).toEqual(agent.act([1, 0, 0], { explore: false }));
    }
  });

  it('state() then restore() into a fresh agent continues identically', () => {
    for (const [name, agent] of agents({ startSteps: 2 })) {
      for (let i = 0; i < 6; i++) step(agent, [Math.cos(i), Math.sin(i), i / 10]);
      const copy = agents({ startSteps: 2 }).find(([n]) => n === name)![1];
      const saved = agent.state();
      copy.restore({ tensors: saved.tensors, meta: JSON.parse(JSON.stringify(saved.meta)) });
      if (agent.replay && copy.replay) copy.replay.copyFrom(agent.replay);
      expect(copy.updates, name).toBe(agent.updates);
      for (let i = 0; i < 3; i++) {
        const obs = [0.5, -0.5, i];
        expect(copy.act(obs, { explore: true }), name).toEqual(agent.act(obs, { explore: true }));
        step(agent, obs);
        step(copy, obs);
      }
      expect(copy.explorationScale(), name).toBe(agent.explorationScale());
    }
  });
});
