/**
 * The actor update: the explicit chain rule and the surrogate loss give the same deterministic
 * policy gradient, and the actor step leaves the critic alone.
 */

import type { Var } from '@chainrule/autograd';
import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { Rng, type Tensor } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { Actor, actorStep, Critic, createAgent, makeConfig, policyGradient } from '../src/index.ts';

const OBS = 3;
const ACT = 2;
const LOW = [-2, -1];
const HIGH = [2, 3];

function nets(options: { batchNorm?: boolean; actionLayer?: number; seed?: number } = {}) {
  const rng = new Rng(options.seed ?? 7);
  // finalInit 0.5 so that tanh is not in its linear regime and Q is not near-constant.
  const net = (hidden: number[]) => ({ hidden, batchNorm: options.batchNorm ?? false, finalInit: 0.5, rng });
  const actor = new Actor(OBS, ACT, LOW, HIGH, net([8, 6]));
  const critic = new Critic(OBS, ACT, options.actionLayer ?? 1, net([8, 6]));
  return { actor, critic, rng };
}

/** Convert every parameter, buffer and the actor's private scale/offset to float64. */
function toFloat64(actor: Actor, critic: Critic): void {
  for (const m of [actor, critic]) {
    for (const p of m.parameters()) p.value = T.cast(p.value, 'float64');
    for (const [n, b] of m.namedBuffers()) m.assignBuffer(n, T.cast(b, 'float64'));
  }
  const priv = actor as unknown as { scale: Var; offset: Var };
  priv.scale.value = T.cast(priv.scale.value, 'float64');
  priv.offset.value = T.cast(priv.offset.value, 'float64');
}

function data(vs: Var[]): number[][] {
  return vs.map((v) => Array.from(v.value.dataSync()));
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, i) => {
    row.forEach((v, j) => {
      m = Math.max(m, Math.abs(v - b[i]![j]!));
    });
  });
  return m;
}

function maxAbs(a: number[][]): number {
  return Math.max(...a.flat().map(Math.abs));
}

/** Central finite differences of −mean Q(s, μθ(s)) w.r.t. every actor parameter (float64). */
function finiteDifferences(actor: Actor, critic: Critic, obs: Tensor, h = 1e-6): number[][] {
  const loss = () =>
    A.noGrad(() => {
      const s = A.input(obs);
      return -T.mean(critic.forward(s, actor.forward(s)).value).item();
    });
  return actor.parameters().map((p) => {
    const base = p.value.dataSync();
    const out: number[] = [];
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) => {
        const x = Float64Array.from(base);
        x[i]! += d;
        p.value = T.tensor(x, { shape: p.shape, dtype: 'float64' });
        return loss();
      };
      out.push((at(h) - at(-h)) / (2 * h));
    }
    p.value = T.tensor(Float64Array.from(base), { shape: p.shape, dtype: 'float64' });
    return out;
  });
}

describe("policyGradient: 'chain' and 'surrogate' agree", () => {
  it('in float64: equal to ~1e-12 and to finite differences', () => {
    for (const actionLayer of [1, 2]) {
      const { actor, critic, rng } = nets({ actionLayer });
      toFloat64(actor, critic);
      const obs = T.randn([5, OBS], rng, { dtype: 'float64' });
      const chain = policyGradient(actor, critic, obs, 'chain');
      const surrogate = policyGradient(actor, critic, obs, 'surrogate');
      expect(chain.grads.map((g) => g.dtype)).toEqual(chain.grads.map(() => 'float64'));
      const gc = data(chain.grads);
      const gs = data(surrogate.grads);
      expect(maxAbs(gc)).toBeGreaterThan(1e-4); // not trivially zero
      expect(maxAbsDiff(gc, gs)).toBeLessThan(1e-12);
      expect(chain.actorLoss).toBe(surrogate.actorLoss);
      // Both are the gradient of −mean Q(s, μθ(s)).
      expect(maxAbsDiff(gc, finiteDifferences(actor, critic, obs))).toBeLessThan(1e-7);
    }
  });

  it('in float64 with BatchNorm (training mode, batch statistics)', () => {
    const { actor, critic, rng } = nets({ batchNorm: true, actionLayer: 2 });
    toFloat64(actor, critic);
    const obs = T.randn([6, OBS], rng, { dtype: 'float64' });
    const gc = data(policyGradient(actor, critic, obs, 'chain').grads);
    const gs = data(policyGradient(actor, critic, obs, 'surrogate').grads);
    expect(maxAbs(gc)).toBeGreaterThan(1e-4);
    expect(maxAbsDiff(gc, gs)).toBeLessThan(1e-12);
  });

  it('in float32 (the default dtype), to float32 tolerance', () => {
    const { actor, critic, rng } = nets({ actionLayer: 2 });
    const obs = T.randn([16, OBS], rng);
    const chain = policyGradient(actor, critic, obs, 'chain');
    const surrogate = policyGradient(actor, critic, obs, 'surrogate');
    const gc = data(chain.grads);
    const gs = data(surrogate.grads);
    expect(chain.grads).toHaveLength(actor.parameters().length);
    chain.grads.forEach((g, i) => {
      expect(g.shape).toEqual(actor.parameters()[i]!.shape);
    });
    expect(maxAbsDiff(gc, gs)).toBeLessThan(1e-5 * Math.max(1, maxAbs(gc)));
    expect(chain.actorLoss).toBeCloseTo(surrogate.actorLoss, 6);
  });

  it('does not write .grad on the actor or the critic', () => {
    const { actor, critic, rng } = nets();
    const obs = T.randn([4, OBS], rng);
    for (const mode of ['chain', 'surrogate'] as const) {
      policyGradient(actor, critic, obs, mode);
      for (const p of [...actor.parameters(), ...critic.parameters()]) expect(p.grad).toBeNull();
    }
  });
});

const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 10_000,
};
const spaces = { obsDim: OBS, actDim: ACT, actionLow: LOW, actionHigh: HIGH };

function snapshot(ts: Record<string, Tensor>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, Array.from(t.dataSync())]));
}

describe('actorStep (DDPG and TD3)', () => {
  for (const actorUpdate of ['chain', 'surrogate'] as const) {
    it(`(${actorUpdate}) changes the actor and leaves the critic, its .grad and its Adam state untouched`, () => {
      const agent = createAgent(spaces, makeConfig('td3', { ...tiny, algo: 'ddpg', actorUpdate }), 3);
      const rng = new Rng(11);
      // One critic step first, so that the critic's Adam state is not empty.
      for (let i = 0; i < 32; i++) {
        agent.observe({
          obs: [rng.normal(), rng.normal(), rng.normal()],
          action: [rng.uniform(-2, 2), rng.uniform(-1, 3)],
          reward: rng.normal(),
          nextObs: [rng.normal(), rng.normal(), rng.normal()],
          terminated: false,
          truncated: false,
        });
      }
      agent.update();
      agent.criticOpt.zeroGrad();
      const criticBefore = snapshot(agent.critic.stateDict());
      const optBefore = agent.criticOpt.stateDict();
      const optTensorsBefore = snapshot(optBefore.tensors);
      const actorBefore = snapshot(agent.actor.stateDict());
      const criticTargetBefore = snapshot(agent.criticTarget.stateDict());

      const loss = actorStep(agent, T.randn([16, OBS], rng)).item();
      expect(Number.isFinite(loss)).toBe(true);

      expect(snapshot(agent.critic.stateDict())).toEqual(criticBefore);
      for (const p of agent.critic.parameters()) expect(p.grad).toBeNull();
      const optAfter = agent.criticOpt.stateDict();
      expect(optAfter.step).toBe(optBefore.step);
      expect(optAfter.hyper).toEqual(optBefore.hyper);
      expect(snapshot(optAfter.tensors)).toEqual(optTensorsBefore);
      expect(snapshot(agent.criticTarget.stateDict())).toEqual(criticTargetBefore);
      // The actor did move, and its optimiser stepped.
      const actorAfter = snapshot(agent.actor.stateDict());
      expect(
        Object.keys(actorAfter).some((k) => actorAfter[k]!.some((v, i) => v !== actorBefore[k]![i])),
      ).toBe(true);
      expect(agent.actorOpt.stateDict().step).toBe(2);
    });
  }

  it('follows the policy gradient: Q(s, μ(s)) rises after a few actor steps with a fixed critic', () => {
    const agent = createAgent(spaces, makeConfig('td3', { ...tiny, algo: 'ddpg', actorLr: 1e-2 }), 5);
    const obs = T.randn([32, OBS], new Rng(2));
    const meanQ = () =>
      A.noGrad(() => {
        const s = A.input(obs);
        return T.mean(agent.critic.forward(s, agent.actor.forward(s)).value).item();
      });
    const before = meanQ();
    for (let i = 0; i < 20; i++) actorStep(agent, obs);
    expect(meanQ()).toBeGreaterThan(before);
  });
});

describe('the actor-gradient graph', () => {
  it('toMermaid draws Q(s, μ(s)) with the actor parameters as leaves', () => {
    const rng = new Rng(0);
    const net = (hidden: number[]) => ({ hidden, batchNorm: false, finalInit: 3e-3, rng });
    const actor = new Actor(2, 1, [-1], [1], net([3]));
    const critic = new Critic(2, 1, 1, net([3]));
    const s = A.input(T.randn([4, 2], rng));
    const q = critic.forward(s, actor.forward(s));
    const m = A.toMermaid(A.neg(A.mean(q)));
    expect(m.startsWith('flowchart BT')).toBe(true);
    expect(m).toContain('concat');
    expect(m).toContain('classDef leaf');
  });
});

describe('the linear actor (actorOutput linear, no hidden layer)', () => {
  it('computes a = centre + sW, with or without a bias, and no tanh', () => {
    const rng = new Rng(3);
    const opts = { hidden: [], batchNorm: false, finalInit: 0.5, rng, output: 'linear' as const };
    const actor = new Actor(OBS, ACT, LOW, HIGH, { ...opts, outputBias: false });
    expect(actor.out.bias).toBeUndefined();
    expect(actor.parameters()).toHaveLength(1);
    const W = actor.out.weight.value.toArray() as number[][];
    const s = [
      [3, -2, 1],
      [0.5, 0, -4],
    ];
    const a = actor.forward(A.input(T.tensor(s))).value.toArray() as number[][];
    const centre = LOW.map((l, j) => (l + HIGH[j]!) / 2);
    for (let i = 0; i < s.length; i++) {
      for (let j = 0; j < ACT; j++) {
        // Far outside tanh's range on purpose: the linear actor does not squash.
        const expected = centre[j]! + s[i]!.reduce((acc, x, k) => acc + x * W[k]![j]!, 0);
        expect(a[i]![j]).toBeCloseTo(expected, 5);
      }
    }
    const withBias = new Actor(OBS, ACT, LOW, HIGH, opts);
    expect(withBias.parameters()).toHaveLength(2);
  });

  it('makeConfig accepts an empty actorHidden only with a linear output', () => {
    expect(() => makeConfig('tuned', { actorHidden: [] })).toThrow(/actorHidden.*linear/);
    const c = makeConfig('tuned', { actorHidden: [], actorOutput: 'linear', actorBias: false });
    expect(c.actorHidden).toEqual([]);
    expect(makeConfig('lqr')).toMatchObject({ actorHidden: [], actorOutput: 'linear', actorBias: false });
  });
});
