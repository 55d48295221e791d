/**
 * DDPG's actor gradient two ways, on random tiny networks (float64):
 *
 * 1. the chain rule by hand: dQ/da at a = μ(s), then push −dQ/da / N back through the actor
 *    with `grad(a, θμ, { gradOutputs })`;
 * 2. autograd end to end: `grad(−mean(Q(s, μ(s))), θμ)`.
 *
 * They must agree to 1e-10, and neither may touch `.grad` (the critic's stays null).
 */
import * as T from '@chainrule/tensor';
import { Rng, type Tensor } from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';

interface Nets {
  s: Var;
  actor: Var[]; // W1 [sDim,h], b1 [h], W2 [h,aDim], b2 [aDim]
  critic: Var[]; // V1 [sDim+aDim,h], c1 [h], V2 [h,1], c2 [1]
  n: number;
}

function makeNets(seed: number): Nets {
  const rng = new Rng(seed);
  const dim = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);
  const n = dim(1, 4);
  const sDim = dim(1, 3);
  const aDim = dim(1, 3);
  const h = dim(1, 4);
  const h2 = dim(1, 4);
  const randn = (shape: number[], scale = 1): Tensor => T.randn(shape, rng, { dtype: 'float64', std: scale });
  const p = (shape: number[], name: string) => A.param(randn(shape, 0.8), { name });
  return {
    n,
    s: A.input(randn([n, sDim])),
    actor: [p([sDim, h], 'W1'), p([h], 'b1'), p([h, aDim], 'W2'), p([aDim], 'b2')],
    critic: [p([sDim + aDim, h2], 'V1'), p([h2], 'c1'), p([h2, 1], 'V2'), p([1], 'c2')],
  };
}

/** μ(s) = tanh(relu(s W1 + b1) W2 + b2) */
function mu(s: Var, [W1, b1, W2, b2]: Var[]): Var {
  return A.tanh(A.add(A.matmul(A.relu(A.add(A.matmul(s, W1!), b1!)), W2!), b2!));
}

/** Q(s, a) = relu(concat([s, a], 1) V1 + c1) V2 + c2 */
function q(s: Var, a: Var, [V1, c1, V2, c2]: Var[]): Var {
  return A.add(A.matmul(A.relu(A.add(A.matmul(A.concat([s, a], 1), V1!), c1!)), V2!), c2!);
}

function wayOne({ s, actor, critic, n }: Nets): Var[] {
  const a = mu(s, actor);
  const dQda = A.grad(A.sum(q(s, a, critic)), a);
  return A.grad(a, actor, { gradOutputs: A.div(A.neg(dQda), n) });
}

function wayTwo({ s, actor, critic }: Nets): Var[] {
  return A.grad(A.neg(A.mean(q(s, mu(s, actor), critic))), actor);
}

function maxRelDiff(x: Var, y: Var): number {
  const a = x.value.dataSync();
  const b = y.value.dataSync();
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

describe('the actor gradient', () => {
  it('by hand (dQ/da then through the actor) equals end-to-end autograd, to 1e-10', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), (seed) => {
        const nets = makeNets(seed);
        const g1 = wayOne(nets);
        const g2 = wayTwo(nets);
        expect(g1.map((g) => g.shape)).toEqual(nets.actor.map((p) => p.shape));
        g1.forEach((g, i) => {
          expect(maxRelDiff(g, g2[i]!), `${nets.actor[i]!.name} (seed ${seed})`).toBeLessThan(1e-10);
        });
        // grad() returns gradients; it never writes .grad, on the actor or on the critic.
        for (const p of [...nets.actor, ...nets.critic]) expect(p.grad, p.name).toBeNull();
      }),
      { numRuns: 100 },
    );
  });

  it('is not trivially zero on these networks', () => {
    const nonZero = fc
      .sample(fc.nat(1_000_000), { numRuns: 30, seed: 11 })
      .filter((seed) => wayTwo(makeNets(seed)).some((g) => g.value.dataSync().some((v) => v !== 0)));
    expect(nonZero.length).toBeGreaterThan(15);
  });

  it('way 1 gives the critic no gradient: it is not even reached', () => {
    const nets = makeNets(3);
    const a = mu(nets.s, nets.actor);
    const dQda = A.grad(A.sum(q(nets.s, a, nets.critic)), a);
    expect(dQda.requiresGrad).toBe(false); // a plain value: no graph through the critic
    const { steps } = A.traceBackward(() =>
      A.grad(a, nets.actor, { gradOutputs: A.div(A.neg(dQda), nets.n) }),
    );
    expect(steps.map((st) => st.op)).not.toContain('concat'); // the critic's first op
    for (const p of nets.critic) expect(p.grad).toBeNull();
  });
});
