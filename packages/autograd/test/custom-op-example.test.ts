/**
 * examples/custom-op.ts: softplus made with defineOp has the right derivatives and passes
 * checkOp; the two wrong rules fail it, shrunk to scalars. (docs-autograd.test.ts runs the
 * script and compares its output with docs/autograd.md.)
 */
import { describe, expect, it } from 'vitest';
import { customOpDemo } from '../../../examples/custom-op.ts';

const sigma = (x: number) => 1 / (1 + Math.exp(-x));

describe('examples/custom-op.ts', () => {
  const r = customOpDemo();

  it('computes softplus and its first and second derivatives', () => {
    r.x.forEach((x, i) => {
      expect(r.y[i]).toBeCloseTo(Math.log1p(Math.exp(x)), 12);
      expect(r.dy[i]).toBeCloseTo(sigma(x), 12);
      expect(r.d2y[i]).toBeCloseTo(sigma(x) * sigma(-x), 12);
    });
  });

  it('shows the op in the graph and the trace, and the naive form trips anomaly mode', () => {
    expect(r.mermaid).toMatch(/softplus #\d+<br\/>shape \[2,3\]/);
    expect(r.trace).toMatch(
      /softplus \(node #\d+ → Var#\d+\): g \[2,3\]; inputs \[2,3\]; rule gives \[2,3\]/,
    );
    expect(r.anomaly).toMatch(
      /^softplusNaive: anomaly: the forward pass produced NaN or Infinity from finite inputs\nForward call site:\n.*custom-op\.ts/,
    );
    expect(r.stableAt1000).toBe(1000);
  });

  it('checkOp passes softplus and shrinks the wrong rules to one scalar each', () => {
    expect(r.checks.ok.ok).toBe(true);
    expect(r.checks.signSlip.ok).toBe(false);
    expect(r.checks.signSlip.failure!.check).toBe('gradcheck');
    expect(r.checks.signSlip.counterexample!.shapes).toEqual([[]]);
    expect(r.checks.rawRule.ok).toBe(false);
    expect(r.checks.rawRule.failure!.check).toBe('gradgradcheck');
    expect(r.checks.rawRule.counterexample!.shapes).toEqual([[]]);
  });
});
