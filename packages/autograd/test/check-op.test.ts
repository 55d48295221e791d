/**
 * checkOp: passes correct rules, and fails wrong ones with a small, shrunk counterexample.
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import * as A from '../src/index.ts';
import { assertCheckOp, checkOp, OP_DOMAINS } from '../src/testing/index.ts';

const softplusForward = ([x]: readonly T.Tensor[]) =>
  T.add(T.relu(x!), T.log(T.add(T.exp(T.neg(T.abs(x!))), 1)));

const softplus = A.defineOp({
  name: 'check.softplus',
  forward: softplusForward,
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(x!))],
});

/** A sign slip, σ(−x) for σ(x): right at 0 only. */
const signSlip = A.defineOp({
  name: 'check.signSlip',
  forward: softplusForward,
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(A.neg(x!)))],
});

/** The right first derivative through a raw tensor op: second derivatives lose a term. */
const rawRule = A.defineOp({
  name: 'check.rawRule',
  forward: softplusForward,
  vjp: (g, { inputs: [x] }) => [A.mul(g, new A.Var(T.sigmoid(x!.value)))],
});

/** a·b, binary with broadcasting. */
const product = A.defineOp({
  name: 'check.product',
  arity: 2,
  forward: ([a, b]) => T.mul(a!, b!),
  vjp: (g, { inputs: [a, b] }) => [A.mul(g, b!), A.mul(g, a!)],
});

/** a·b whose rule sums b's gradient over every axis: right only when b is a scalar. */
const productScalarOnly = A.defineOp({
  name: 'check.productScalarOnly',
  arity: 2,
  forward: ([a, b]) => T.mul(a!, b!),
  vjp: (g, { inputs: [a, b] }) => [A.mul(g, b!), A.sum(A.mul(g, a!))],
});

/** 3x, with a js kernel that computes 2x: the kernel check must catch it. */
const wrongKernel = A.defineOp({
  name: 'check.wrongKernel',
  forward: ([x]) => T.mul(x!, 3),
  kernels: {
    js: ({ inputs, outputs }) => {
      const x = T.jsData(inputs[0]!);
      const y = T.jsData(outputs[0]!);
      for (let i = 0; i < x.length; i++) y[i] = 2 * x[i]!;
    },
  },
  vjp: (g) => [A.mul(g, 3)],
});

/** softplus with a correct js kernel. */
const softplusKernel = A.defineOp({
  name: 'check.softplusKernel',
  forward: softplusForward,
  kernels: {
    js: ({ inputs, outputs }) => {
      const x = T.jsData(inputs[0]!);
      const y = T.jsData(outputs[0]!);
      for (let i = 0; i < x.length; i++) y[i] = Math.max(x[i]!, 0) + Math.log1p(Math.exp(-Math.abs(x[i]!)));
    },
  },
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(x!))],
});

describe('checkOp', () => {
  it('passes a correct softplus, first and second order', () => {
    const r = checkOp(softplus);
    expect(r.ok).toBe(true);
    expect(r.counterexample).toBeNull();
    expect(r.numRuns).toBe(30);
    expect(r.message).toBe(
      'checkOp(check.softplus) passed: gradcheck and gradgradcheck at 30 random cases (fast-check seed 0)',
    );
    expect(assertCheckOp(softplus, { numRuns: 5, seed: 9 }).ok).toBe(true);
  });

  it('passes a correct binary op over broadcasting shapes', () => {
    const r = checkOp(product, { numRuns: 40 });
    expect(r.ok).toBe(true);
  });

  it('shrinks a wrong rule to a one-element counterexample near the point where it is right', () => {
    const r = checkOp(signSlip);
    expect(r.ok).toBe(false);
    expect(r.numShrinks).toBeGreaterThan(0);
    const c = r.counterexample!;
    expect(c.shapes).toEqual([[]]);
    expect(c.inputs.map((t) => t.size)).toEqual([1]);
    // σ(x) and σ(−x) differ by about x/2 near 0: the shrunk x is just past gradcheck's tolerance.
    const x = c.inputs[0]!.item();
    expect(Math.abs(x)).toBeGreaterThan(1e-4);
    expect(Math.abs(x)).toBeLessThan(1e-2);
    expect(r.failure!.check).toBe('gradcheck');
    expect(r.failure!.report!.failures).toHaveLength(1);
    expect(r.message).toContain('checkOp(check.signSlip) failed (fast-check seed 0');
    expect(r.message).toContain('Smallest failing case (1 input(s), 1 element(s)):\n  input 0: shape [] = ');
    expect(r.message).toContain(
      `Reproduce: gradcheck((x0) => check.signSlip(x0), [tensor(${x}, { dtype: 'float64' })])`,
    );
    expect(() => assertCheckOp(signSlip)).toThrow(r.message);
  });

  it('finds a rule that is right to first order only, with gradgradcheck', () => {
    const r = checkOp(rawRule);
    expect(r.ok).toBe(false);
    expect(r.failure!.check).toBe('gradgradcheck');
    expect(r.counterexample!.shapes).toEqual([[]]);
    expect(r.message).toContain('gradgradcheck failed');
    expect(checkOp(rawRule, { secondOrder: false }).ok).toBe(true);
  });

  it('reports a rule that breaks under broadcasting, shrunk to the smallest non-scalar case', () => {
    const r = checkOp(productScalarOnly);
    expect(r.ok).toBe(false);
    expect(r.failure!.check).toBe('error');
    const [, bShape] = r.counterexample!.shapes;
    expect(bShape).toEqual([1]);
    expect(r.counterexample!.inputs.reduce((n, t) => n + t.size, 0)).toBeLessThanOrEqual(2);
    expect(r.message).toMatch(
      /It threw: check\.productScalarOnly: the gradient rule \(node #\d+\) returned a gradient of shape \[\] for input 1 of shape \[1\]/,
    );
  });

  it('checks each kernel against forward on its backend', () => {
    expect(checkOp(softplusKernel, { numRuns: 15 }).ok).toBe(true);
    const r = checkOp(wrongKernel);
    expect(r.ok).toBe(false);
    expect(r.failure!.check).toBe('kernel');
    expect(r.counterexample!.shapes).toEqual([[]]);
    expect(Math.abs(r.counterexample!.inputs[0]!.item())).toBeLessThan(1e-5);
    expect(r.message).toMatch(
      /Kernel check failed: the js kernel of check\.wrongKernel disagrees with its forward at element 0: kernel -?0\.000002\d*, forward -?0\.00000(3|29)\d* \(atol 1e-9, rtol 1e-9\)/,
    );
  });

  it('checks an op with other attributes through withAttrs', () => {
    const scaled = A.defineOp({
      name: 'check.scaled',
      attrs: { scale: 2 },
      forward: ([x], { scale }) => T.mul(x!, scale),
      vjp: (g) => [A.mul(g, 2)], // wrong for any scale but 2
    });
    expect(checkOp(scaled, { numRuns: 10 }).ok).toBe(true);
    const r = checkOp(scaled.withAttrs({ scale: 5 }), { numRuns: 10 });
    expect(r.ok).toBe(false);
    expect(r.op).toBe('check.scaled');
  });

  it('accepts a plain function with an arity and per-input domains', () => {
    const r = checkOp((a, b) => A.div(a, b), { arity: 2, domain: [{}, OP_DOMAINS.div!], numRuns: 15 });
    expect(r.ok).toBe(true);
    expect(r.op).toBe('f');
  });

  it('is deterministic for a seed', () => {
    const a = checkOp(signSlip, { seed: 3 });
    const b = checkOp(signSlip, { seed: 3 });
    expect(a.message).toBe(b.message);
  });

  it('rejects a bad arity and a domain list of the wrong length', () => {
    expect(() => checkOp(softplus, { arity: 0 })).toThrow(
      'checkOp(check.softplus): arity must be a positive integer, got 0',
    );
    expect(() => checkOp(product, { domain: [{}] })).toThrow(
      'checkOp(check.product): domain has 1 entries; expected one per input',
    );
  });
});
