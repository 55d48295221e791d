/**
 * Backward, one rule at a time, with the numbers.
 *
 * The engine's own trace (`traceBackward`) says which rule fired, on which shapes, and which
 * reductions undid broadcasting, but not the values. To show the values, this module walks
 * the graph the way `propagate` in packages/autograd/src/engine.ts does (topological order,
 * the "needed" set, the same gradient table `GRAD_RULES`, the same `unbroadcast`) and keeps
 * every tensor. It then runs the real `grad` under `traceBackward` and checks that both
 * fired the same rules on the same shapes and produced the same gradients, so the page can
 * never show a walk that differs from the library's.
 * @module
 */
import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import type { Built } from './problems.ts';

/** One input of the node whose rule fired. */
export interface StepInput {
  readonly id: number;
  readonly label: string;
  readonly shape: readonly number[];
  /** Whether this input lies on a path to a target (the rule's `needs[i]`). */
  readonly needed: boolean;
  /** What the rule returned for this input (null: nothing). */
  readonly rule: T.Tensor | null;
  /** How the engine summed the rule's result back to the input's shape, if it did. */
  readonly unbroadcast: A.Unbroadcast | null;
  /** The gradient that flows into the input (after un-broadcasting). */
  readonly grad: T.Tensor | null;
  /** True when the input already had a gradient: this one is added to it (a Var used twice). */
  readonly accumulates: boolean;
}

/** One rule firing. */
export interface Step {
  readonly phase: number;
  readonly op: string;
  readonly node: number;
  /** The Var the node produced. */
  readonly output: { id: number; label: string; shape: readonly number[] };
  /** The upstream gradient: d(seeded output)/d(this Var). */
  readonly upstream: T.Tensor;
  readonly inputs: StepInput[];
}

/** One gradient call, stepped. */
export interface PhaseResult {
  readonly code: string;
  readonly steps: Step[];
  /** The gradient of each target, by label, as the engine's `grad` returned it. */
  readonly grads: { label: string; id: number; value: T.Tensor }[];
  /** Where the walk and the engine's trace or results differ (empty when they agree). */
  readonly mismatches: string[];
}

/** A Var's name for the page: its name, else its op and id. */
export function labelOf(v: A.Var): string {
  if (v.name) return v.name;
  if (v.node) return `${v.node.op} #${v.id}`;
  return `${v.requiresGrad ? 'leaf' : 'const'} #${v.id}`;
}

/** Vars reachable from `roots`, inputs first: the engine's iterative depth-first order. */
function topoOrder(roots: readonly A.Var[]): A.Var[] {
  const order: A.Var[] = [];
  const seen = new Set<A.Var>();
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    const stack: [A.Var, number][] = [[root, 0]];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const [v, i] = frame;
      const inputs = v.node?.inputs ?? [];
      if (i < inputs.length) {
        frame[1]++;
        const u = inputs[i]!;
        if (!seen.has(u) && u.requiresGrad) {
          seen.add(u);
          stack.push([u, 0]);
        }
      } else {
        stack.pop();
        order.push(v);
      }
    }
  }
  return order;
}

function walk(phase: number, outputs: A.Var[], seeds: A.Var[], targets: Set<A.Var>): Step[] {
  const order = topoOrder(outputs);
  const needed = new Set<A.Var>();
  for (const v of order) {
    if (targets.has(v) || (v.node?.inputs ?? []).some((u) => needed.has(u))) needed.add(v);
  }
  const grads = new Map<A.Var, A.Var>();
  const accumulate = (v: A.Var, g: A.Var) => {
    const prev = grads.get(v);
    grads.set(v, prev ? A.add(prev, g) : g);
  };
  const steps: Step[] = [];
  A.noGrad(() => {
    outputs.forEach((r, i) => {
      if (needed.has(r)) accumulate(r, seeds[i]!);
    });
    for (let k = order.length - 1; k >= 0; k--) {
      const v = order[k]!;
      const node = v.node;
      const g = grads.get(v);
      if (!node || !g || !needed.has(v) || !node.inputs || !node.output) continue;
      const inputs = node.inputs;
      const needs = inputs.map((u) => u.requiresGrad && needed.has(u));
      if (!needs.some(Boolean)) continue;
      // The explorer's programs use built-in primitives only; their rules are in the typed table.
      // Each rule's attributes are typed per primitive; a node carries what its op recorded.
      const rule = A.isPrimitive(node.op) ? (A.GRAD_RULES[node.op] as A.GradRule) : undefined;
      if (!rule) throw new T.ChainruleError('explorer', `no built-in gradient rule for op "${node.op}"`);
      const raw = rule(g, { inputs, output: node.output, attrs: node.attrs, needs });
      const stepInputs = inputs.map((u, i): StepInput => {
        const gi = raw[i];
        const base = { id: u.id, label: labelOf(u), shape: u.shape, needed: needs[i]! };
        if (!needs[i] || !gi) {
          return { ...base, rule: null, unbroadcast: null, grad: null, accumulates: false };
        }
        const sums = !T.shapesEqual(gi.shape, u.shape);
        const result = sums ? A.unbroadcast(gi, u.shape) : gi;
        const accumulates = grads.has(u);
        accumulate(u, result);
        const unbroadcast = sums
          ? { input: i, from: gi.shape, to: u.shape, axes: unbroadcastAxes(gi.shape, u.shape) }
          : null;
        return { ...base, rule: gi.value, unbroadcast, grad: result.value, accumulates };
      });
      steps.push({
        phase,
        op: node.op,
        node: node.id,
        output: { id: v.id, label: labelOf(v), shape: v.shape },
        upstream: g.value,
        inputs: stepInputs,
      });
    }
  });
  return steps;
}

/** The axes of `from` that un-broadcasting to `to` sums (the engine's rule, NumPy's). */
export function unbroadcastAxes(from: readonly number[], to: readonly number[]): number[] {
  const lead = from.length - to.length;
  const axes: number[] = [];
  for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
  return axes;
}

/**
 * The largest difference between two tensors, where equal values (the same infinity
 * included) and NaN against NaN count as 0: Infinity − Infinity is NaN, which no tolerance
 * accepts, and the gradient of sum(sqrt(x)) at x = 0 is Infinity on both sides.
 */
export function maxAbsDiff(a: T.Tensor, b: T.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const u = x[i]!;
    const v = y[i]!;
    if (u === v || (Number.isNaN(u) && Number.isNaN(v))) continue;
    const d = Math.abs(u - v);
    m = Math.max(m, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
  }
  return m;
}

const same = (a: readonly number[], b: readonly number[]) => T.shapesEqual(a, b);

/** Step through every phase of a built problem, checking each against the engine. */
export function stepProblem(built: Built): PhaseResult[] {
  const results: PhaseResult[] = [];
  const earlier: A.Var[][] = [];
  built.phases.forEach((spec, phase) => {
    const { outputs, targets, gradOutputs } = spec.make(earlier);
    const seeds = outputs.map((y, i) => gradOutputs?.[i] ?? A.constant(T.onesLike(y.value)));
    const steps = walk(phase, outputs, seeds, new Set(targets));
    // The engine itself, traced. retainGraph keeps the graph for the walk above and for
    // later phases that go through the same nodes.
    const traced = A.traceBackward(() => A.grad(outputs, targets, { gradOutputs: seeds, retainGraph: true }));
    const engineGrads = traced.result;
    const mismatches: string[] = [];
    if (traced.steps.length !== steps.length) {
      mismatches.push(`the engine fired ${traced.steps.length} rules, the walk ${steps.length}`);
    }
    traced.steps.forEach((t, i) => {
      const s = steps[i];
      if (!s) return;
      const ok =
        t.op === s.op &&
        t.node === s.node &&
        same(t.gradShape, s.upstream.shape) &&
        t.unbroadcasts.length === s.inputs.filter((x) => x.unbroadcast).length &&
        t.unbroadcasts.every((u) => {
          const mine = s.inputs[u.input]?.unbroadcast;
          return mine && same(mine.from, u.from) && same(mine.axes, u.axes);
        });
      if (!ok) mismatches.push(`step ${i + 1}: the engine ran ${t.op} (node #${t.node}), the walk ${s.op}`);
    });
    // The walk's final gradient of each target is the sum of what flowed into it.
    targets.forEach((v, i) => {
      let mine: T.Tensor | null = null;
      for (const s of steps)
        for (const inp of s.inputs)
          if (inp.id === v.id && inp.grad) mine = mine ? T.add(mine, inp.grad) : inp.grad;
      const asOutput = outputs.indexOf(v);
      if (asOutput >= 0) mine = mine ? T.add(mine, seeds[asOutput]!.value) : seeds[asOutput]!.value;
      const d = mine ? maxAbsDiff(mine, engineGrads[i]!.value) : Number.POSITIVE_INFINITY;
      if (!(d <= 1e-12)) mismatches.push(`${labelOf(v)}: walk and engine differ by ${d}`);
    });
    earlier.push(engineGrads);
    results.push({
      code: spec.code,
      steps,
      grads: targets.map((v, i) => ({ label: labelOf(v), id: v.id, value: engineGrads[i]!.value })),
      mismatches,
    });
  });
  return results;
}

/**
 * The block of the Hessian of the scalar `check.fn` (summed when not scalar) for each input
 * of at most `maxSize` elements: row j is grad(∂y/∂x_j, x), computed with `createGraph`.
 */
export function hessianBlocks(
  built: Built,
  maxSize = 16,
): { name: string; shape: readonly number[]; rows: number[][] | null }[] {
  const xs = built.check.inputs.map((t, i) => A.param(t, { name: built.check.names[i] }));
  let y = built.check.fn(...xs);
  if (y.size !== 1) y = A.sum(y);
  return xs.map((x, i) => {
    const name = built.check.names[i]!;
    if (x.size > maxSize) return { name, shape: x.shape, rows: null };
    const g = A.reshape(A.grad(y, x, { createGraph: true, retainGraph: true }), [x.size]);
    const rows: number[][] = [];
    for (let j = 0; j < x.size; j++) {
      const gj = A.sum(A.slice(g, [j], [1]));
      if (!gj.requiresGrad) {
        rows.push(new Array<number>(x.size).fill(0));
        continue;
      }
      const h = A.grad(gj, x, { retainGraph: true, allowUnused: true });
      rows.push(Array.from(h.value.dataSync()));
    }
    return { name, shape: x.shape, rows };
  });
}
