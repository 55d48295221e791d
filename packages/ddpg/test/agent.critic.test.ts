/**
 * The critic: its target y = r + γ(1 − terminated)·Q′(s′, μ′(s′)), its regression, and the
 * target networks (soft and hard updates, BatchNorm running statistics).
 */
import * as A from '@chainrule/autograd';
import type { Module } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { Rng, type Tensor } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import {
  type ActorCriticAgent,
  type AgentConfig,
  type AgentSpaces,
  type Batch,
  createAgent,
  criticStep,
  makeConfig,
  type Transition,
  targetQ,
} from '../src/index.ts';

const OBS = 3;
const ACT = 1;
const spaces = { obsDim: OBS, actDim: ACT, actionLow: [-2], actionHigh: [2] };
const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 10_000,
};

/** A DDPG agent with its target and critic step at hand. */
function probe(s: AgentSpaces, config: AgentConfig, seed: number) {
  const agent = createAgent(s, config, seed);
  return Object.assign(agent, {
    target: (b: Batch): Tensor => targetQ(agent, b),
    criticLoss: (b: Batch, y: Tensor): number => criticStep(agent.critic, agent.criticOpt, b, y).loss.item(),
  });
}

function randomBatch(n: number, rng: Rng, flags?: { terminated: number[]; truncated: number[] }): Batch {
  const col = (xs: number[]) => T.tensor(Float32Array.from(xs), { shape: [n, 1] });
  return {
    obs: T.randn([n, OBS], rng),
    action: T.uniform([n, ACT], -2, 2, rng),
    reward: T.randn([n, 1], rng),
    nextObs: T.randn([n, OBS], rng),
    terminated: col(flags?.terminated ?? new Array(n).fill(0)),
    truncated: col(flags?.truncated ?? new Array(n).fill(0)),
    indices: Int32Array.from({ length: n }, (_, i) => i),
  };
}

function fill(agent: ActorCriticAgent, n: number, rng: Rng): void {
  for (let i = 0; i < n; i++) {
    const t: Transition = {
      obs: [rng.normal(), rng.normal(), rng.normal()],
      action: [rng.uniform(-2, 2)],
      reward: rng.normal(),
      nextObs: [rng.normal(), rng.normal(), rng.normal()],
      terminated: rng.uniform(0, 1) < 0.1,
      truncated: false,
    };
    agent.observe(t);
  }
}

function values(m: Module): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

function params(m: Module): number[][] {
  return m.parameters().map((p) => Array.from(p.value.dataSync()));
}

function buffers(m: Module): Record<string, number[]> {
  return Object.fromEntries(m.namedBuffers().map(([k, t]) => [k, Array.from(t.dataSync())]));
}

function config(preset: 'paper' | 'td3', overrides: Partial<AgentConfig> = {}): AgentConfig {
  return makeConfig(preset, { ...tiny, ...(preset === 'td3' ? { algo: 'ddpg' } : {}), ...overrides });
}

describe('critic target', () => {
  it('y = r + γ(1 − terminated)·Q′(s′, μ′(s′)): truncated rows bootstrap, terminated rows do not', () => {
    const gamma = 0.9;
    const agent = probe(spaces, config('td3', { gamma }), 1);
    // Make Q′ clearly non-zero: a large output bias in the target critic.
    agent.criticTarget.out.bias!.value = T.tensor([5]);
    const flags = { terminated: [0, 1, 0, 1], truncated: [0, 0, 1, 1] };
    const b = randomBatch(4, new Rng(3), flags);
    const y = Array.from(agent.target(b).dataSync());
    const s2 = A.input(b.nextObs);
    const q2 = Array.from(
      A.noGrad(() => agent.criticTarget.forward(s2, agent.actorTarget.forward(s2))).value.dataSync(),
    );
    const r = Array.from(b.reward.dataSync());
    expect(Math.min(...q2.map(Math.abs))).toBeGreaterThan(1);
    for (let i = 0; i < 4; i++) {
      const expected = r[i]! + gamma * (1 - flags.terminated[i]!) * q2[i]!;
      expect(y[i]).toBeCloseTo(expected, 5);
    }
    // Row 2 is truncated only: it bootstraps. Row 1 and 3 are terminated: y = r.
    expect(y[2]).not.toBeCloseTo(r[2]!, 2);
    expect(y[1]).toBeCloseTo(r[1]!, 6);
    expect(y[3]).toBeCloseTo(r[3]!, 6);
  });

  it('uses the target networks, not the online ones', () => {
    const agent = probe(spaces, config('td3'), 2);
    const b = randomBatch(8, new Rng(4));
    const before = Array.from(agent.target(b).dataSync());
    agent.critic.out.bias!.value = T.tensor([100]); // online critic only
    expect(Array.from(agent.target(b).dataSync())).toEqual(before);
    agent.criticTarget.out.bias!.value = T.tensor([100]);
    expect(Array.from(agent.target(b).dataSync())).not.toEqual(before);
  });

  it('records no graph', () => {
    const agent = probe(spaces, config('td3'), 2);
    const b = randomBatch(8, new Rng(4));
    // A Tensor (not a Var): nothing to backpropagate into.
    expect(agent.target(b)).toBeInstanceOf(T.Tensor);
  });

  it('scales rewards by rewardScale when they are stored', () => {
    const agent = createAgent(spaces, config('td3', { rewardScale: 0.1 }), 0);
    agent.observe({
      obs: [0, 0, 0],
      action: [0],
      reward: -7,
      nextObs: [0, 0, 0],
      terminated: false,
      truncated: true,
    });
    expect(agent.replay!.get(0).reward).toBeCloseTo(-0.7, 6);
  });
});

describe('critic regression', () => {
  it('repeated critic steps on one batch drive the loss down (fixed targets)', () => {
    const agent = probe(spaces, config('td3', { criticLr: 1e-2 }), 5);
    const b = randomBatch(32, new Rng(6));
    const y = agent.target(b);
    const losses: number[] = [];
    for (let i = 0; i < 200; i++) losses.push(agent.criticLoss(b, y));
    expect(losses[0]).toBeGreaterThan(0.3);
    expect(losses.at(-1)!).toBeLessThan(0.1 * losses[0]!);
  });

  it('full DDPG updates on one batch also drive the critic loss down', () => {
    const agent = createAgent(spaces, config('paper', { criticLr: 1e-2, criticWeightDecay: 0 }), 5);
    const b = randomBatch(32, new Rng(6));
    const losses: number[] = [];
    for (let i = 0; i < 150; i++) losses.push(agent.updateOn(b).criticLoss);
    expect(losses.at(-1)!).toBeLessThan(0.2 * losses[0]!);
  });

  it('update() returns null until the buffer holds max(learningStarts, batchSize) transitions', () => {
    const agent = createAgent(spaces, config('td3', { learningStarts: 20 }), 0);
    fill(agent, 19, new Rng(1));
    expect(agent.ready).toBe(false);
    expect(agent.update()).toBeNull();
    fill(agent, 1, new Rng(2));
    const u = agent.update()!;
    expect(u).not.toBeNull();
    expect(Number.isFinite(u.criticLoss) && Number.isFinite(u.actorLoss)).toBe(true);
    expect(u.maxQ).toBeGreaterThanOrEqual(u.meanQ);
    expect(agent.updates).toBe(1);
  });
});

describe('target networks', () => {
  it('start as exact copies of the online networks', () => {
    const agent = createAgent(spaces, config('paper'), 9);
    expect(values(agent.actorTarget)).toEqual(values(agent.actor));
    expect(values(agent.criticTarget)).toEqual(values(agent.critic));
  });

  it('soft update: θ′ ← τθ + (1 − τ)θ′ after every update; BatchNorm buffers are copied', () => {
    const tau = 0.1;
    const agent = createAgent(spaces, config('paper', { tau }), 4);
    expect(Object.keys(buffers(agent.actor)).length).toBeGreaterThan(0);
    expect(Object.keys(buffers(agent.critic)).length).toBeGreaterThan(0);
    fill(agent, 32, new Rng(0));
    agent.update(); // so that the targets differ from the online networks
    for (let k = 0; k < 3; k++) {
      const pairs = [
        [agent.actorTarget, agent.actor],
        [agent.criticTarget, agent.critic],
      ] as const;
      const before = pairs.map(([target]) => params(target));
      agent.update();
      pairs.forEach(([target, online], j) => {
        const now = params(target);
        const src = params(online);
        now.forEach((p, i) => {
          p.forEach((v, e) => {
            expect(v).toBeCloseTo((1 - tau) * before[j]![i]![e]! + tau * src[i]![e]!, 6);
          });
        });
        expect(buffers(target)).toEqual(buffers(online));
      });
    }
  });

  it('hard update every C: the targets are frozen between copies and equal the online networks at each copy', () => {
    const C = 3;
    const agent = createAgent(spaces, config('paper', { hardUpdateEvery: C, tau: 0.5 }), 4);
    fill(agent, 32, new Rng(0));
    let frozen = params(agent.actorTarget);
    let frozenCritic = params(agent.criticTarget);
    for (let u = 1; u <= 2 * C; u++) {
      agent.update();
      expect(agent.updates).toBe(u);
      if (u % C === 0) {
        expect(values(agent.actorTarget)).toEqual(values(agent.actor));
        expect(values(agent.criticTarget)).toEqual(values(agent.critic));
        expect(params(agent.actorTarget)).not.toEqual(frozen);
        frozen = params(agent.actorTarget);
        frozenCritic = params(agent.criticTarget);
      } else {
        expect(params(agent.actorTarget)).toEqual(frozen);
        expect(params(agent.criticTarget)).toEqual(frozenCritic);
        expect(params(agent.actor)).not.toEqual(frozen);
      }
    }
  });
});
