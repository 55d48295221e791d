import * as T from '@chainrule/tensor';
import * as A from '@chainrule/autograd';
import * as nn from '@chainrule/nn';
import fc from 'fast-check';
import { arbProgram, gradcheck, propVjpLinear } from '@chainrule/autograd/testing';
{
console.log("@@chainrule-docs-block@@0");
// --- block at line 39
// abridged from var.ts
interface Node {
  readonly id: number; // for pictures and traces
  readonly op: string; // the key into GRAD_RULES
  readonly attrs: Readonly<Record<string, unknown>>; // axes, transpose flags, ...
  inputs: Var[] | null; // null once backward freed it
  output: Var | null; // the Var it made; null once freed
  readonly stack: string | undefined; // forward call site, anomaly mode only
}
console.log("@@chainrule-docs-block@@1");
// --- block at line 65
export function record(
  op: string,
  inputs: Var[],
  attrs: Record<string, unknown>,
  compute: () => Tensor,
): Var {
  const value = compute();
  const recordIt = isGradEnabled() && inputs.some((v) => v.requiresGrad);
  const node = recordIt ? makeNode(op, inputs, attrs) : null;
  if (isAnomalyMode()) checkFinite(op, inputs, value, node?.stack);
  const out = new Var(value, { node, requiresGrad: recordIt });
  if (node) node.output = out;
  return out;
}
console.log("@@chainrule-docs-block@@2");
// --- block at line 90
const W = A.param(
  [
    [1, 2],
    [3, 4],
  ],
  { dtype: 'float64', name: 'W' },
);
const x = A.variable([[1, 1]], { dtype: 'float64', name: 'x' });
const y = A.matmul(x, W);
const z = A.noGrad(() => A.matmul(x, W));
const c = A.matmul(x, x, { transposeA: true });
console.log(
  y.node!.op,
  y.node!.attrs,
  y.node!.inputs!.map((v) => v.name),
  y.requiresGrad,
);
console.log(z.node, z.requiresGrad); // recording was off
console.log(c.node, c.requiresGrad); // no input requires a gradient
console.log("@@chainrule-docs-block@@4");
// --- block at line 134
// abridged from rules.ts
export interface RuleContext {
  readonly inputs: readonly Var[]; // the op's inputs, in order
  readonly output: Var; // the op's output
  readonly attrs: Readonly<Record<string, any>>;
  readonly needs: readonly boolean[]; // which inputs need a gradient; a rule may skip the others
}
export type GradRule = (g: Var, ctx: RuleContext) => (Var | null)[];
console.log("@@chainrule-docs-block@@5");
// --- block at line 149
  mul: (g, { inputs: [a, b] }) => [op.mul(g, b!), op.mul(g, a!)],
console.log("@@chainrule-docs-block@@6");
// --- block at line 159
  // ---- matmul. With C = op(A)·op(B), op = identity or transpose:
  //   C = A B    : dA = g Bᵀ,   dB = Aᵀ g
  //   C = Aᵀ B   : dA = B gᵀ,   dB = A g
  //   C = A Bᵀ   : dA = g B,    dB = gᵀ A
  //   C = Aᵀ Bᵀ  : dA = Bᵀ gᵀ,  dB = gᵀ Aᵀ
  // Broadcast batch dimensions are summed by the engine's un-broadcast.
  matmul: (g, { inputs: [a, b], attrs, needs }) => {
    const { transposeA: tA, transposeB: tB } = attrs as { transposeA: boolean; transposeB: boolean };
    let da: Var | null = null;
    let db: Var | null = null;
    if (!tA && !tB) {
      if (needs[0]) da = op.matmul(g, b!, { transposeB: true });
      if (needs[1]) db = op.matmul(a!, g, { transposeA: true });
    } else if (tA && !tB) {
      if (needs[0]) da = op.matmul(b!, g, { transposeB: true });
      if (needs[1]) db = op.matmul(a!, g);
    } else if (!tA && tB) {
      if (needs[0]) da = op.matmul(g, b!);
      if (needs[1]) db = op.matmul(g, a!, { transposeA: true });
    } else {
      if (needs[0]) da = op.matmul(b!, g, { transposeA: true, transposeB: true });
      if (needs[1]) db = op.matmul(g, a!, { transposeA: true, transposeB: true });
    }
    return [da, db];
  },
console.log("@@chainrule-docs-block@@7");
// --- block at line 193
  sum: (g, { inputs: [x], attrs }) => [
    op.broadcastTo(op.reshape(g, keepDimsShape(x!.shape, attrs.axes)), x!.shape),
  ],
console.log("@@chainrule-docs-block@@8");
// --- block at line 202
  // Subgradient at 0: 0 (the mask is x > 0).
  relu: (g, { inputs: [x] }) => [op.mul(g, op.greater(x!, 0))],
console.log("@@chainrule-docs-block@@9");
// --- block at line 242
for (const v of order) {
  if (isTarget(v) || (v.node?.inputs ?? []).some((u) => needed.has(u))) needed.add(v);
}
console.log("@@chainrule-docs-block@@10");
// --- block at line 268
const x = A.param([1.5], { dtype: 'float64', name: 'x' });
const h = A.exp(x); // h is used three times below
const y = A.add(h, A.mul(h, h)); // y = eˣ + e²ˣ
const { steps } = A.traceBackward(() => y.backward());
console.log(A.formatTrace(steps));
console.log(x.grad!.toArray()); // eˣ + 2e²ˣ
console.log("@@chainrule-docs-block@@12");
// --- block at line 292
/** The axes to sum so that a gradient of shape `from` fits an input of shape `to`. */
export function unbroadcastAxes(from: readonly number[], to: readonly number[]): number[] {
  const lead = from.length - to.length;
  const axes: number[] = [];
  for (let i = 0; i < from.length; i++) {
    if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
  }
  return axes;
}

/** Sum `g` back to `shape`: the single place where broadcasting is undone. */
export function unbroadcast(g: Var, shape: readonly number[]): Var {
  if (T.shapesEqual(g.shape, shape)) return g;
  const axes = unbroadcastAxes(g.shape, shape);
  const summed = axes.length > 0 ? op.sum(g, axes) : g;
  return T.shapesEqual(summed.shape, shape) ? summed : op.reshape(summed, shape);
}
console.log("@@chainrule-docs-block@@13");
// --- block at line 351
const x = A.param([1, 2], { dtype: 'float64' });
const y = A.sum(A.tanh(x));
y.backward();
y.backward(); // throws
console.log("@@chainrule-docs-block@@15");
// --- block at line 375
const x = A.param([2], { dtype: 'float64' });
const y = A.pow(x, 3); // x³
const d1 = A.grad(y, x, { createGraph: true }); // 3x² = 12, itself recorded
const d2 = A.grad(d1, x, { createGraph: true }); // 6x  = 12
const d3 = A.grad(d2, x); // 6
console.log(d1.item(), d2.item(), d3.item(), d1.requiresGrad, d3.requiresGrad);
console.log("@@chainrule-docs-block@@17");
// --- block at line 409
// examples/snippet.ts: line 1 imports A, line 2 is blank
A.detectAnomaly(() => {
  const x = A.param([0, 1], { dtype: 'float64' });
  A.sum(A.sqrt(x)).backward(); // d√x/dx = 1/(2√x) is Infinity at 0
});
console.log("@@chainrule-docs-block@@23");
// --- block at line 684



fc.assert(fc.property(arbProgram(), (p) => gradcheck(p.f, p.inputs).ok));
fc.assert(fc.property(arbProgram(), (p) => propVjpLinear(p.f, p.inputs)));
}
console.log("@@chainrule-docs-block@@end");
