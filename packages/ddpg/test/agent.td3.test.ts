/**
 * TD3's three changes: twin critics with a clipped double-Q target, delayed actor and target
 * updates, and clipped target policy smoothing noise.
 */

import type { Var } from '@chainrule/autograd';
import * as A from '@chainrule/autograd';
import type { Module } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { Rng, type Tensor } from '@chainrule/tensor';
import { describe, expect, it, vi } from 'vitest';
import {
  type AgentConfig,
  type AgentSpaces,
  type Batch,
  createAgent,
  makeConfig,
  type Td3Config,
  td3TargetQ,
} from '../src/index.ts';

const OBS = 3;
const spaces = { obsDim: OBS, actDim: 2, actionLow: [-2, -2], actionHigh: [2, 2] };
const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 10_000,
};

/** A TD3 agent with its target at hand. */
function probe(s: AgentSpaces, config: AgentConfig, seed: number) {
  const agent = createAgent(s, config as Td3Config, seed);
  return Object.assign(agent, { target: (b: Batch): Tensor => td3TargetQ(agent, b) });
}

function config(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return makeConfig('td3', { ...tiny, ...overrides });
}

function randomBatch(n: number, rng: Rng, terminated?: number[]): Batch {
  return {
    obs: T.randn([n, OBS], rng),
    action: T.uniform([n, 2], -2, 2, rng),
    reward: T.randn([n, 1], rng),
    nextObs: T.randn([n, OBS], rng),
    terminated: T.tensor(Float32Array.from(terminated ?? new Array(n).fill(0)), { shape: [n, 1] }),
    truncated: T.zeros([n, 1]),
    indices: Int32Array.from({ length: n }, (_, i) => i),
  };
}

function params(m: Module): number[][] {
  return m.parameters().map((p) => Array.from(p.value.dataSync()));
}

describe('TD3: twin critics', () => {
  it('has two independently initialised critics, each with a target and an optimiser, both trained', () => {
    const agent = createAgent(spaces, config(), 0);
    expect(agent.algo).toBe('td3'); // one agent class: its algo is the config's (TD3 once inherited DDPG's 'ddpg')
    expect(agent.config.algo).toBe('td3');
    expect(params(agent.critic2!)).not.toEqual(params(agent.critic));
    expect(params(agent.critic2Target!)).toEqual(params(agent.critic2!));
    expect(agent.critic2Opt!).not.toBe(agent.criticOpt);
    expect(agent.modules().map(([n]) => n)).toEqual([
      'actor',
      'critic',
      'actorTarget',
      'criticTarget',
      'critic2',
      'critic2Target',
    ]);
    const c1 = params(agent.critic);
    const c2 = params(agent.critic2!);
    agent.updateOn(randomBatch(16, new Rng(1)));
    expect(params(agent.critic)).not.toEqual(c1);
    expect(params(agent.critic2!)).not.toEqual(c2);
    expect(agent.criticOpt.stateDict().step).toBe(1);
    expect(agent.critic2Opt!.stateDict().step).toBe(1);
  });

  it('the target is r + γ(1 − terminated)·min(Q′₁, Q′₂)(s′, μ′(s′)) (no smoothing noise)', () => {
    const gamma = 0.95;
    const agent = probe(spaces, config({ gamma, targetNoise: 0 }), 2);
    agent.criticTarget.out.bias!.value = T.tensor([3]);
    agent.critic2Target!.out.bias!.value = T.tensor([-1]);
    const term = [0, 1, 0, 0, 1, 0];
    const b = randomBatch(6, new Rng(3), term);
    const y = Array.from(agent.target(b).dataSync());
    const s2 = A.input(b.nextObs);
    const [q1, q2] = A.noGrad(() => {
      const a2 = agent.actorTarget.forward(s2);
      return [agent.criticTarget, agent.critic2Target!].map((c) =>
        Array.from(c.forward(s2, a2).value.dataSync()),
      );
    }) as [number[], number[]];
    const r = Array.from(b.reward.dataSync());
    for (let i = 0; i < 6; i++) {
      expect(y[i]).toBeCloseTo(r[i]! + gamma * (1 - term[i]!) * Math.min(q1[i]!, q2[i]!), 5);
    }
    // The second critic's bias makes it the smaller one: the min is not just Q′₁.
    expect(q2.every((v, i) => v < q1[i]!)).toBe(true);
  });
});

describe('TD3: delayed policy updates', () => {
  for (const policyDelay of [2, 3]) {
    it(`policyDelay ${policyDelay}: the actor and the targets change only every ${policyDelay} updates`, () => {
      const agent = createAgent(spaces, config({ policyDelay }), 4);
      const b = randomBatch(16, new Rng(5));
      let actor = params(agent.actor);
      let targets = [agent.actorTarget, agent.criticTarget, agent.critic2Target!].map(params);
      for (let u = 1; u <= 2 * policyDelay; u++) {
        const critic = params(agent.critic);
        const stats = agent.updateOn(b);
        expect(params(agent.critic)).not.toEqual(critic); // the critics learn every update
        const nowTargets = [agent.actorTarget, agent.criticTarget, agent.critic2Target!].map(params);
        if (u % policyDelay === 0) {
          expect(params(agent.actor)).not.toEqual(actor);
          nowTargets.forEach((t, i) => {
            expect(t).not.toEqual(targets[i]);
          });
          expect(Number.isFinite(stats.actorLoss)).toBe(true);
          expect(agent.actorOpt.stateDict().step).toBe(u / policyDelay);
        } else {
          expect(params(agent.actor)).toEqual(actor);
          expect(nowTargets).toEqual(targets);
          // Before the first actor update there is no actor loss to report.
          if (u < policyDelay) expect(stats.actorLoss).toBeNaN();
        }
        actor = params(agent.actor);
        targets = nowTargets;
      }
    });
  }

  it('hardUpdateEvery also applies to TD3: frozen targets between copies, exact copies every C updates', () => {
    const C = 3;
    const agent = createAgent(spaces, config({ hardUpdateEvery: C, policyDelay: 2, tau: 0.5 }), 4);
    const b = randomBatch(16, new Rng(5));
    const targets = () => [agent.actorTarget, agent.criticTarget, agent.critic2Target!].map(params);
    let frozen = targets();
    for (let u = 1; u <= 2 * C; u++) {
      agent.updateOn(b);
      if (u % C === 0) {
        expect(targets()).toEqual([agent.actor, agent.critic, agent.critic2!].map(params));
        frozen = targets();
      } else {
        expect(targets()).toEqual(frozen);
      }
    }
  });
});

describe('TD3: target policy smoothing', () => {
  it('adds N(0, σ̃) noise clipped to ±c to μ′(s′), then clips to the action bounds', () => {
    const clip = 0.5;
    // A huge σ̃: almost every noise draw is clipped, so the smoothed action sits at μ′ ± c.
    const agent = probe(spaces, config({ targetNoise: 100, targetNoiseClip: clip }), 6);
    const b = randomBatch(64, new Rng(7));
    const seen: Tensor[] = [];
    const spy = vi.spyOn(agent.criticTarget, 'forward').mockImplementation((s: Var, a: Var) => {
      seen.push(a.value);
      return A.input(T.zeros([s.shape[0]!, 1]));
    });
    agent.target(b);
    spy.mockRestore();
    expect(seen).toHaveLength(1);
    const mu2 = A.noGrad(() => agent.actorTarget.forward(A.input(b.nextObs))).value.dataSync();
    const a2 = seen[0]!.dataSync();
    let atClip = 0;
    for (let i = 0; i < a2.length; i++) {
      const d = a2[i]! - mu2[i]!;
      expect(Math.abs(d)).toBeLessThanOrEqual(clip + 1e-6);
      expect(Math.abs(a2[i]!)).toBeLessThanOrEqual(2);
      if (Math.abs(Math.abs(d) - clip) < 1e-6) atClip++;
    }
    expect(atClip).toBeGreaterThan(0.95 * a2.length);
    // Both signs occur: the noise is not a constant offset.
    const diffs = Array.from(a2, (v, i) => v - mu2[i]!);
    expect(diffs.some((d) => d > 0) && diffs.some((d) => d < 0)).toBe(true);
  });

  it('clips the smoothed action to the action bounds', () => {
    // μ′ stays inside the bounds (tanh); a wide noise clip pushes μ′ + ε outside them.
    const agent = probe(spaces, config({ targetNoise: 100, targetNoiseClip: 50 }), 6);
    const b = randomBatch(32, new Rng(8));
    const seen: Tensor[] = [];
    const spy = vi.spyOn(agent.criticTarget, 'forward').mockImplementation((s: Var, a: Var) => {
      seen.push(a.value);
      return A.input(T.zeros([s.shape[0]!, 1]));
    });
    agent.target(b);
    spy.mockRestore();
    const a2 = Array.from(seen[0]!.dataSync());
    for (const v of a2) {
      expect(v).toBeGreaterThanOrEqual(-2);
      expect(v).toBeLessThanOrEqual(2);
    }
    expect(a2.filter((v) => v === 2).length).toBeGreaterThan(0);
    expect(a2.filter((v) => v === -2).length).toBeGreaterThan(0);
  });

  it('draws smoothing noise from the agent (the same seed gives the same targets)', () => {
    const b = randomBatch(8, new Rng(9));
    const y1 = Array.from(probe(spaces, config(), 1).target(b).dataSync());
    const y2 = Array.from(probe(spaces, config(), 1).target(b).dataSync());
    const p = probe(spaces, config(), 1);
    p.target(b);
    const y3 = Array.from(p.target(b).dataSync()); // the second draw differs
    expect(y1).toEqual(y2);
    expect(y3).not.toEqual(y1);
  });
});
