/**
 * Random differentiable programs (arbProgram) through gradcheck, and the engine
 * properties of `@chainrule/autograd/testing` over random programs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arbProgram,
  gradcheck,
  gradgradcheck,
  propAdjointIdentity,
  propInputsNotMutated,
  propRetainGraphDoubles,
  propReuseAccumulates,
  propVjpLinear,
} from '../src/testing/index.ts';

describe('arbProgram', () => {
  it('200 random programs pass gradcheck (shrinking on)', () => {
    fc.assert(
      fc.property(arbProgram({ maxNodes: 8, inputs: 3 }), (p) => {
        const r = gradcheck(p.f, p.inputs);
        if (!r.ok) throw new Error(`${r.message}\n${p}`);
      }),
      { numRuns: 200 },
    );
  });

  it('random programs pass gradgradcheck', () => {
    fc.assert(
      fc.property(arbProgram({ maxNodes: 6, inputs: 2 }), (p) => {
        const r = gradgradcheck(p.f, p.inputs);
        if (!r.ok) throw new Error(`${r.message}\n${p}`);
      }),
      { numRuns: 100 },
    );
  });

  it('uses the whole op table, reused nodes and broadcasting', () => {
    const ops = new Set<string>();
    let reused = 0;
    let broadcastBinary = 0;
    for (const p of fc.sample(arbProgram({ maxNodes: 8, inputs: 3 }), { numRuns: 300, seed: 7 })) {
      const uses = new Map<number, number>();
      for (const s of p.steps) {
        ops.add(s.op);
        for (const a of s.args) uses.set(a, (uses.get(a) ?? 0) + 1);
        if (s.args.length === 2 && s.args[0] !== s.args[1]) broadcastBinary++;
      }
      if ([...uses.values()].some((n) => n >= 2)) reused++;
    }
    for (const op of [
      'tanh',
      'add',
      'mul',
      'sum',
      'mean',
      'matmul',
      'reshape',
      'transpose',
      'slice',
      'concat',
      'broadcastTo',
      'fusedDense',
      'gather',
      'scatterAdd',
      'where',
      'pad',
      'pow',
    ])
      expect(ops, op).toContain(op);
    expect(reused).toBeGreaterThan(50);
    expect(broadcastBinary).toBeGreaterThan(50);
  });

  it('prints a readable listing', () => {
    const [p] = fc.sample(arbProgram(), { numRuns: 1, seed: 3 });
    const text = String(p);
    expect(text).toMatch(/^Program \{/);
    expect(text).toContain('x0: [');
    expect(text).toContain('out = ');
    expect(fc.stringify(p)).toBe(text);
  });
});

describe('engine properties over random programs', () => {
  const programs = arbProgram({ maxNodes: 6, inputs: 2 });
  const seeds = fc.nat(1000);
  it('the VJP is linear in its cotangent', () => {
    fc.assert(
      fc.property(programs, seeds, (p, seed) => propVjpLinear(p.f, p.inputs, { seed })),
      { numRuns: 60 },
    );
  });
  it('⟨v, Ju⟩ = ⟨Jᵀv, u⟩', () => {
    fc.assert(
      fc.property(programs, seeds, (p, seed) => propAdjointIdentity(p.f, p.inputs, { seed })),
      {
        numRuns: 60,
      },
    );
  });
  it('a node used twice accumulates twice the gradient', () => {
    fc.assert(
      fc.property(programs, seeds, (p, seed) => propReuseAccumulates(p.f, p.inputs, { seed })),
      {
        numRuns: 60,
      },
    );
  });
  it('forward and backward leave the inputs untouched', () => {
    fc.assert(
      fc.property(programs, seeds, (p, seed) => propInputsNotMutated(p.f, p.inputs, { seed })),
      {
        numRuns: 60,
      },
    );
  });
  it('backward twice with retainGraph doubles .grad', () => {
    fc.assert(
      fc.property(programs, seeds, (p, seed) => propRetainGraphDoubles(p.f, p.inputs, { seed })),
      {
        numRuns: 60,
      },
    );
  });
});
