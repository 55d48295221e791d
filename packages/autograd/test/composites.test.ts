/**
 * The composite activations and normalisers (composites.ts): each passes gradcheck and
 * gradgradcheck through `checkOp`, and the stable forms stay finite, with finite gradients,
 * at inputs of ±50 and ±1e4 where PyTorch's do. Values against PyTorch itself are in
 * torch-reference.test.ts.
 */
import * as T from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';
import { assertCheckOp, type CheckOpOptions } from '../src/testing/index.ts';

const f64 = (v: number[], shape?: number[]) => T.tensor(v, { dtype: 'float64', shape: shape ?? [v.length] });

const CASES: [string, (x: Var) => Var, CheckOpOptions][] = [
  ['rsqrt', A.rsqrt, { domain: { min: 0.3, max: 3 } }],
  ['softplus', (x) => A.softplus(x), {}],
  [
    'softplus(beta 2.5, threshold 3)',
    (x) => A.softplus(x, { beta: 2.5, threshold: 3 }),
    {
      // the threshold is a jump in the second derivative at x = 1.2
      domain: { avoid: (v) => Math.abs(v - 1.2) < 0.01 },
    },
  ],
  ['elu', (x) => A.elu(x), { domain: { avoid: 'kinks' } }],
  ['elu(alpha 0.3)', (x) => A.elu(x, 0.3), { domain: { avoid: 'kinks' } }],
  ['selu', A.selu, { domain: { avoid: 'kinks' } }],
  ['gelu', (x) => A.gelu(x), {}],
  ["gelu(approximate 'tanh')", (x) => A.gelu(x, { approximate: 'tanh' }), {}],
  ['silu', A.silu, {}],
  ['softmax(x, -1)', (x) => A.softmax(x), {}],
  ['softmax(x, 0)', (x) => A.softmax(x, 0), {}],
  ['logSoftmax(x, -1)', (x) => A.logSoftmax(x), {}],
  ['logSoftmax(x, 0)', (x) => A.logSoftmax(x, 0), {}],
  ['logsumexp(x)', (x) => A.logsumexp(x), {}],
  ['logsumexp(x, -1 or all, keepDims)', (x) => A.logsumexp(x, x.rank > 0 ? -1 : undefined, true), {}],
  ['logsumexp(x, [0, 1] or all)', (x) => A.logsumexp(x, x.rank > 1 ? [0, 1] : undefined), {}],
];

describe('composites pass gradcheck and gradgradcheck', () => {
  it.each(CASES)('%s', (_name, f, options) => {
    assertCheckOp(f, { numRuns: 25, ...options });
  });

  it('softmax and logSoftmax agree with their definitions and with each other', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 1, maxLength: 6 }),
        (v) => {
          const x = A.input(f64(v));
          const s = A.softmax(x).value.dataSync();
          const ls = A.logSoftmax(x).value.dataSync();
          const lse = A.logsumexp(x).value.dataSync()[0]!;
          let total = 0;
          for (let i = 0; i < v.length; i++) {
            expect(Math.abs(Math.log(s[i]!) - ls[i]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(ls[i]!)));
            expect(Math.abs(ls[i]! - (v[i]! - lse))).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(ls[i]!)));
            total += s[i]!;
          }
          expect(Math.abs(total - 1)).toBeLessThanOrEqual(1e-14 * v.length);
        },
      ),
    );
  });
});

/** The value and the gradient of sum(f(x)) at x, as arrays. */
function valueAndGradient(f: (x: Var) => Var, values: number[], shape?: number[]) {
  const x = A.param(f64(values, shape));
  const y = f(x);
  const [g] = A.grad(A.sum(y), [x]);
  return { y: Array.from(y.value.dataSync()), g: Array.from(g!.value.dataSync()) };
}

describe('stable forms at extreme inputs: finite wherever PyTorch is', () => {
  const EXTREME = [-1e4, -50, -1, 0, 1, 50, 1e4];
  const elementwise: [string, (x: Var) => Var][] = [
    ['softplus', (x) => A.softplus(x)],
    ['softplus(beta 0.01)', (x) => A.softplus(x, { beta: 0.01 })],
    ['elu', (x) => A.elu(x)],
    ['selu', A.selu],
    ['gelu', (x) => A.gelu(x)],
    ["gelu('tanh')", (x) => A.gelu(x, { approximate: 'tanh' })],
    ['silu', A.silu],
    ['log1p', A.log1p],
  ];
  it.each(elementwise)('%s', (_name, f) => {
    const xs = _name === 'log1p' ? EXTREME.filter((v) => v > -1) : EXTREME;
    const { y, g } = valueAndGradient(f, xs);
    expect(y.every(Number.isFinite), `values ${y}`).toBe(true);
    expect(g.every(Number.isFinite), `gradients ${g}`).toBe(true);
  });

  it('softplus is x above the threshold, with gradient 1, and its ln(1 + e^x) form below it', () => {
    const { y, g } = valueAndGradient((x) => A.softplus(x), [1e4, 50, 20.5, -50, -1e4]);
    expect(y.slice(0, 3)).toEqual([1e4, 50, 20.5]);
    expect(g.slice(0, 3)).toEqual([1, 1, 1]);
    expect(y[3]).toBeCloseTo(Math.exp(-50), 30);
    expect(y[4]).toBe(0);
  });

  it('softmax, logSoftmax and logsumexp of rows spanning 2e4 stay finite, and exact', () => {
    const rows = [
      [1e4, -1e4, 0],
      [50, -50, 49],
      [-1e4, -1e4, -1e4],
    ];
    const flat = rows.flat();
    for (const f of [(x: Var) => A.softmax(x), (x: Var) => A.logSoftmax(x), (x: Var) => A.logsumexp(x, -1)]) {
      const { y, g } = valueAndGradient(f, flat, [3, 3]);
      expect(y.every(Number.isFinite), `values ${y}`).toBe(true);
      expect(g.every(Number.isFinite), `gradients ${g}`).toBe(true);
    }
    const lse = valueAndGradient((x) => A.logsumexp(x, -1), flat, [3, 3]).y;
    expect(lse[0]).toBe(1e4);
    expect(lse[2]).toBeCloseTo(-1e4 + Math.log(3), 10);
  });

  it('logsumexp of a slice of −∞ is −∞ and of one containing +∞ is +∞ (as PyTorch); softmax of +∞ is NaN', () => {
    const inf = Number.POSITIVE_INFINITY;
    const x = A.input(f64([-inf, -inf, 1, inf], [2, 2]));
    expect(Array.from(A.logsumexp(x, 1).value.dataSync())).toEqual([-inf, inf]);
    expect(Array.from(A.softmax(x).value.dataSync())).toEqual([
      Number.NaN,
      Number.NaN,
      Number.NaN,
      Number.NaN,
    ]);
  });

  it('the max subtracted by softmax carries no gradient (the result does not depend on it)', () => {
    const x = A.param(f64([3, 3, 1]));
    const { steps } = A.traceBackward(() => A.grad(A.sum(A.mul(A.softmax(x), A.input(f64([1, 2, 3])))), [x]));
    expect(steps.map((s) => s.op)).not.toContain('max');
  });
});

describe('bad options name the op and the value', () => {
  it('gelu, softmax and softplus', () => {
    const x = A.input(f64([1, 2]));
    expect(() => A.gelu(x, { approximate: 'erf' as 'none' })).toThrow(
      /gelu: approximate must be 'none' or 'tanh', got "erf"/,
    );
    expect(() => A.softmax(x, 1)).toThrow(/softmax: axis 1 is out of range/);
    expect(() => A.softplus(x, { beta: Number.NaN })).toThrow(/softplus: beta must be a number, got NaN/);
  });
});
