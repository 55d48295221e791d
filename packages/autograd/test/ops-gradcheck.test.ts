/**
 * Every primitive op in the gradient table passes gradcheck and gradgradcheck, as
 * fast-check properties over random shapes and values (float64).
 */
import * as T from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as A from '../src/index.ts';
import { assertGradcheck, assertGradgradcheck } from '../src/testing/index.ts';
import { OP_CASES } from './op-cases.ts';

const NUM_RUNS = 100;

describe('the op table', () => {
  it('covers every key of GRAD_RULES, and nothing else', () => {
    const rules = Object.keys(A.GRAD_RULES).sort();
    const cases = Object.keys(OP_CASES).sort();
    expect(
      rules.filter((op) => !cases.includes(op)),
      'ops without gradient tests',
    ).toEqual([]);
    expect(
      cases.filter((op) => !rules.includes(op)),
      'cases for unknown ops',
    ).toEqual([]);
  });

  it.each(Object.keys(OP_CASES))('the %s cases really exercise that rule', (name) => {
    for (const c of fc.sample(OP_CASES[name]!, { numRuns: 5, seed: 1 })) {
      const xs = c.inputs.map((t) => A.param(t));
      const { steps } = A.traceBackward(() => {
        const y = c.f(...xs);
        A.grad(y, xs, { gradOutputs: T.onesLike(y.value), allowUnused: true });
      });
      expect(
        steps.map((s) => s.op),
        c.label,
      ).toContain(name);
    }
  });
});

describe.each(Object.keys(OP_CASES))('%s', (name) => {
  it('passes gradcheck and gradgradcheck', () => {
    fc.assert(
      fc.property(OP_CASES[name]!, (c) => {
        assertGradcheck(c.f, c.inputs, c.options);
        assertGradgradcheck(c.f, c.inputs, c.options);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
