/**
 * The checks have teeth: with a rule of the gradient table deliberately broken, the op's
 * cases fail gradcheck (a first-order error) or gradgradcheck (a rule that is right to first
 * order but cuts the graph of its own derivative).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { GradRule } from '../src/index.ts';
import * as A from '../src/index.ts';
import { gradcheck, gradgradcheck } from '../src/testing/index.ts';
import { OP_CASES } from './op-cases.ts';

const rules = A.GRAD_RULES as unknown as Record<string, GradRule>;
const original = { ...rules };

afterEach(() => {
  Object.assign(rules, original);
});

/** Does any of a few sampled cases fail `check` while the rule is replaced? */
function caught(name: string, broken: GradRule, check: typeof gradcheck): boolean {
  rules[name] = broken;
  try {
    return fc
      .sample(OP_CASES[name]!, { numRuns: 12, seed: 5 })
      .some((c) => !check(c.f, c.inputs, c.options).ok);
  } finally {
    rules[name] = original[name]!;
  }
}

// sign's gradient is zero everywhere: scaling it changes nothing.
const FIRST_ORDER = Object.keys(original).filter((op) => op !== 'sign');

// Ops whose first derivative depends on the inputs or output through the graph.
const SECOND_ORDER = [
  'exp',
  'log',
  'sqrt',
  'square',
  'reciprocal',
  'tanh',
  'sigmoid',
  'mul',
  'div',
  'pow',
  'matmul',
  'fusedDense',
];

describe('gradcheck catches a rule that is off by 2%', () => {
  it.each(FIRST_ORDER)('%s', (name) => {
    const rule = original[name]!;
    const scaled: GradRule = (g, ctx) => rule(g, ctx).map((r) => (r ? A.mul(r, 1.02) : r));
    expect(caught(name, scaled, gradcheck)).toBe(true);
  });
});

describe('gradgradcheck catches a rule that detaches what it reads', () => {
  it.each(SECOND_ORDER)('%s', (name) => {
    const rule = original[name]!;
    const detached: GradRule = (g, ctx) =>
      rule(g, { ...ctx, inputs: ctx.inputs.map((x) => x.detach()), output: ctx.output.detach() });
    expect(caught(name, detached, gradcheck), 'first order is still right').toBe(false);
    expect(caught(name, detached, gradgradcheck)).toBe(true);
  });
});

it('the original table is restored', () => {
  expect(Object.keys(rules).sort()).toEqual(Object.keys(original).sort());
  for (const k of Object.keys(original)) expect(rules[k]).toBe(original[k]);
});
