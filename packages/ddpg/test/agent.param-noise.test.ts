/**
 * Adaptive parameter-space noise (`noise: 'param'`): a LayerNorm actor, a perturbed copy to
 * explore with, and σ adapted towards the desired action distance.
 */
import { LayerNorm, type Module } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { type ActorCriticAgent, type AgentConfig, createAgent, makeConfig } from '../src/index.ts';

const spaces = { obsDim: 3, actDim: 1, actionLow: [-2], actionHigh: [2] };
const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 10_000,
};

// No random warm-up (startSteps 0): act({ explore: true }) explores with the perturbed actor from the start.
function config(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return makeConfig('td3', {
    ...tiny,
    algo: 'ddpg',
    noise: 'param',
    noiseSigma: 0.2,
    startSteps: 0,
    ...overrides,
  });
}

function params(m: Module): number[][] {
  return m.parameters().map((p) => Array.from(p.value.dataSync()));
}

function fill(agent: ActorCriticAgent, n: number, rng: Rng): void {
  for (let i = 0; i < n; i++) {
    agent.observe({
      obs: [rng.normal(), rng.normal(), rng.normal()],
      action: [rng.uniform(-2, 2)],
      reward: rng.normal(),
      nextObs: [rng.normal(), rng.normal(), rng.normal()],
      terminated: false,
      truncated: false,
    });
  }
}

describe("parameter noise (noise: 'param')", () => {
  it('gives the actor (and its copies) LayerNorm after each hidden layer; no action noise', () => {
    const agent = createAgent(spaces, config(), 0);
    expect(agent.noise).toBeUndefined();
    expect(agent.paramNoise).toBeDefined();
    for (const m of [
      agent.actor,
      agent.actorTarget,
      agent.paramNoise!.perturbed,
      agent.paramNoise!.adaptive,
    ]) {
      expect(m.norms).toHaveLength(2);
      for (const n of m.norms) expect(n).toBeInstanceOf(LayerNorm);
      expect(m.namedParameters().map(([n]) => n)).toContain('ln1.weight');
    }
    // The critic is unchanged, and without parameter noise the actor has no LayerNorm.
    expect(agent.critic.norms.every((n) => n === undefined)).toBe(true);
    const plain = createAgent(spaces, config({ noise: 'gaussian' }), 0);
    expect(plain.actor.norms).toHaveLength(0);
    expect(plain.paramNoise).toBeUndefined();
  });

  it('BatchNorm (the paper preset) takes precedence over LayerNorm', () => {
    const agent = createAgent(spaces, makeConfig('paper', { ...tiny, noise: 'param' }), 0);
    expect(agent.actor.norms.map((n) => n.constructor.name)).toEqual(['BatchNorm1d', 'BatchNorm1d']);
  });

  it('onEpisodeStart perturbs a copy: its weights and actions differ from the actor, LayerNorm excepted', () => {
    const agent = createAgent(spaces, config(), 1);
    const pn = agent.paramNoise!;
    agent.onEpisodeStart();
    const named = new Map(agent.actor.namedParameters());
    for (const [n, p] of pn.perturbed.namedParameters()) {
      const src = Array.from(named.get(n)!.value.dataSync());
      const dst = Array.from(p.value.dataSync());
      if (n.startsWith('ln')) expect(dst).toEqual(src);
      else expect(dst).not.toEqual(src);
    }
    const obs = [0.3, -0.2, 0.5];
    const explore = agent.act(obs, { explore: true });
    const greedy = agent.act(obs, { explore: false });
    expect(explore[0]).not.toBe(greedy[0]);
    // Deterministic within an episode (the perturbation, not fresh noise, explores).
    expect(agent.act(obs, { explore: true })).toEqual(explore);
    // A new episode gives a new perturbation.
    const before = params(pn.perturbed);
    agent.onEpisodeStart();
    expect(params(pn.perturbed)).not.toEqual(before);
  });

  it('the perturbation scale is σ: the mean squared weight change is ≈ σ²', () => {
    const agent = createAgent(spaces, config({ actorHidden: [64, 64] }), 2);
    agent.onEpisodeStart();
    const sigma = agent.paramNoise!.noise.currentStddev;
    const named = new Map(agent.actor.namedParameters());
    let ss = 0;
    let n = 0;
    for (const [name, p] of agent.paramNoise!.perturbed.namedParameters()) {
      if (name.startsWith('ln')) continue;
      const a = named.get(name)!.value.dataSync();
      const b = p.value.dataSync();
      for (let i = 0; i < a.length; i++) {
        ss += (b[i]! - a[i]!) ** 2;
        n++;
      }
    }
    expect(Math.sqrt(ss / n)).toBeCloseTo(sigma, 2);
  });

  it('σ adapts every 50 updates', () => {
    const agent = createAgent(spaces, config(), 3);
    const pn = agent.paramNoise!;
    fill(agent, 64, new Rng(4));
    const sigma0 = pn.noise.currentStddev;
    expect(sigma0).toBe(0.1);
    for (let i = 0; i < 49; i++) agent.update();
    expect(pn.noise.currentStddev).toBe(sigma0);
    agent.update();
    const sigma1 = pn.noise.currentStddev;
    expect(sigma1).not.toBe(sigma0);
    // It moved by the adoption coefficient α = 1.01.
    expect([sigma0 * 1.01, sigma0 / 1.01].some((v) => Math.abs(v - sigma1) < 1e-12)).toBe(true);
    for (let i = 0; i < 50; i++) agent.update();
    expect(pn.noise.currentStddev).not.toBe(sigma1);
  });

  it('σ grows when the perturbed actions are too close and shrinks when they are too far', () => {
    for (const [desired, factor] of [
      [10, 1.01],
      [1e-9, 1 / 1.01],
    ] as const) {
      const agent = createAgent(spaces, config({ noiseSigma: desired }), 3);
      const pn = agent.paramNoise!;
      expect(pn.noise.desiredActionStddev).toBe(desired);
      fill(agent, 64, new Rng(4));
      for (let i = 0; i < 100; i++) agent.update();
      expect(pn.noise.currentStddev).toBeCloseTo(0.1 * factor ** 2, 12);
    }
  });

  it('the σ reported per episode is the parameter-noise σ, and it survives meta()/restore()', () => {
    const agent = createAgent(spaces, config(), 5);
    fill(agent, 64, new Rng(6));
    for (let i = 0; i < 50; i++) agent.update();
    const other = createAgent(spaces, config(), 99);
    other.restore({ tensors: agent.tensors(), meta: JSON.parse(JSON.stringify(agent.meta())) });
    expect(other.paramNoise!.noise.currentStddev).toBe(agent.paramNoise!.noise.currentStddev);
    expect(params(other.actor)).toEqual(params(agent.actor));
    // Same rng state: the next perturbation is the same.
    agent.onEpisodeStart();
    other.onEpisodeStart();
    expect(params(other.paramNoise!.perturbed)).toEqual(params(agent.paramNoise!.perturbed));
  });

  it('works with TD3 too', () => {
    const agent = createAgent(spaces, makeConfig('td3', { ...tiny, noise: 'param' }), 7);
    fill(agent, 32, new Rng(8));
    agent.onEpisodeStart();
    expect(agent.act([0, 0, 0], { explore: true })).toHaveLength(1);
    expect(agent.update()).not.toBeNull();
    expect(T.allFinite(agent.actor.parameters()[0]!.value)).toBe(true);
  });
});
