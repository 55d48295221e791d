/**
 * A custom op, end to end: `softplus(x) = ln(1 + eˣ)` defined with `defineOp`, differentiated
 * twice, drawn, traced, and property-checked with `checkOp`; then two deliberately wrong rules
 * and the smallest counterexamples fast-check shrinks them to.
 *
 *     npx tsx examples/custom-op.ts
 *
 * docs/autograd.md ("Adding an op: defineOp") quotes this script's output.
 * @module
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as A from '@chainrule/autograd';
import { type CheckOpReport, checkOp } from '@chainrule/autograd/testing';
import * as T from '@chainrule/tensor';

/** softplus with tensor ops, in the overflow-free form max(x, 0) + ln(1 + e^−|x|). */
function softplusForward([x]: readonly T.Tensor[]): T.Tensor {
  return T.add(T.relu(x!), T.log(T.add(T.exp(T.neg(T.abs(x!))), 1)));
}

/**
 * softplus as an op. Its derivative is the logistic sigmoid σ(x), written with the
 * differentiable ops of @chainrule/autograd so that second derivatives work too. The `js`
 * kernel runs on the js backend; every other backend runs `forward`.
 */
export const softplus = A.defineOp({
  name: 'softplus',
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

/** A sign slip: σ(−x) instead of σ(x). It is right at x = 0 and wrong everywhere else. */
export const softplusSignSlip = A.defineOp({
  name: 'softplusSignSlip',
  forward: softplusForward,
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(A.neg(x!)))],
});

/**
 * The right first derivative, computed with a raw tensor op: to the engine σ(x) is then a
 * constant, so `createGraph` records no path back to x and the second derivative misses the
 * σ'(x) term. gradcheck passes; gradgradcheck does not.
 */
export const softplusRawRule = A.defineOp({
  name: 'softplusRawRule',
  forward: softplusForward,
  vjp: (g, { inputs: [x] }) => [A.mul(g, new A.Var(T.sigmoid(x!.value)))],
});

/** The textbook form ln(1 + eˣ): eˣ overflows to Infinity for x above about 709 in float64. */
export const softplusNaive = A.defineOp({
  name: 'softplusNaive',
  forward: ([x]) => T.log(T.add(T.exp(x!), 1)),
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(x!))],
});

/** What {@link customOpDemo} computes. */
export interface CustomOpDemo {
  /** softplus at x, and its first and second derivatives (σ(x) and σ(x)(1 − σ(x))). */
  readonly x: number[];
  readonly y: number[];
  readonly dy: number[];
  readonly d2y: number[];
  /** The graph of `sum(softplus(x · w))` as Mermaid. */
  readonly mermaid: string;
  /** The backward trace of that sum, formatted. */
  readonly trace: string;
  /** The anomaly-mode error for the naive softplus at x = 1000: its message and call site. */
  readonly anomaly: string;
  /** The stable softplus at x = 1000 (which is 1000). */
  readonly stableAt1000: number;
  /** checkOp on the correct op and on the two wrong ones. */
  readonly checks: {
    readonly ok: CheckOpReport;
    readonly signSlip: CheckOpReport;
    readonly rawRule: CheckOpReport;
  };
}

/** Run everything the script prints, without printing. */
export function customOpDemo(): CustomOpDemo {
  const xs = [-2, 0, 1.5];
  const x = A.param(xs, { dtype: 'float64', name: 'x' });
  const y = softplus(x);
  const [dy] = A.grad(A.sum(y), [x], { createGraph: true });
  const d2y = A.grad(A.sum(dy!), x);

  // A broadcasting picture: softplus of x [3] times w [2,1] gives [2,3].
  const w = A.param([[0.5], [-1]], { dtype: 'float64', name: 'w' });
  const x2 = A.param(xs, { dtype: 'float64', name: 'x' });
  const loss = A.sum(softplus(A.mul(x2, w)));
  const mermaid = A.toMermaid(loss);
  const { steps } = A.traceBackward(() => loss.backward());

  let anomaly = '';
  try {
    A.detectAnomaly(() => softplusNaive(A.param([1, 1000], { dtype: 'float64' })));
  } catch (e) {
    anomaly = (e as Error).message.split('\n').slice(0, 3).join('\n');
  }
  const stable = A.detectAnomaly(() => softplus(A.param([1, 1000], { dtype: 'float64' })));

  return {
    x: xs,
    y: Array.from(y.value.dataSync()),
    dy: Array.from(dy!.value.dataSync()),
    d2y: Array.from(d2y.value.dataSync()),
    mermaid,
    trace: A.formatTrace(steps),
    anomaly,
    stableAt1000: stable.value.dataSync()[1]!,
    checks: {
      ok: checkOp(softplus),
      signSlip: checkOp(softplusSignSlip),
      rawRule: checkOp(softplusRawRule),
    },
  };
}

/** Print the demo. */
export function main(): void {
  const r = customOpDemo();
  const fmt = (v: readonly number[]) => v.map((n) => n.toFixed(6)).join(', ');
  console.log(`x                   ${fmt(r.x)}`);
  console.log(`softplus(x)         ${fmt(r.y)}`);
  console.log(`d/dx   = σ(x)       ${fmt(r.dy)}`);
  console.log(`d²/dx² = σ(x)σ(−x)  ${fmt(r.d2y)}`);
  console.log('\nGraph of sum(softplus(x · w)):');
  console.log(r.mermaid);
  console.log('\nBackward trace:');
  console.log(r.trace);
  console.log(`\nAnomaly mode, softplusNaive at x = [1, 1000]:\n${r.anomaly}`);
  console.log(`softplus at x = 1000: ${r.stableAt1000}`);
  console.log(`\n${r.checks.ok.message}`);
  console.log(`\n${r.checks.signSlip.message}`);
  console.log(`\n${r.checks.rawRule.message}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) main();
