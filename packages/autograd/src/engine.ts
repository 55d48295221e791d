/**
 * The backward pass: `backward`, `grad` and the one place that un-broadcasts.
 *
 * 1. Walk the graph from the outputs and order the Vars topologically.
 * 2. Mark which Vars lie on a path to a requested input ("needed").
 * 3. Seed the outputs' gradients, then visit Vars from the outputs backwards. For each Var
 *    with a gradient and a creator node, look up the node's rule in the gradient table,
 *    un-broadcast each result to its input's shape, and add it into that input's gradient.
 *    A Var used twice therefore receives both contributions.
 * 4. Unless `retainGraph`, free each visited node (drop its inputs and output), so the
 *    graph no longer keeps tensors alive; a second pass through it is a clear error.
 * @module
 */
import * as T from '@chainrule/tensor';
import { ChainruleError, type Tensor } from '@chainrule/tensor';
import { customOpRule } from './defineOp.ts';
import * as op from './ops.ts';
import { GRAD_RULES, type GradRule } from './rules.ts';
import { enableGrad, isAnomalyMode, type Node, noGrad, setAnomalyMode, setBackwardHook, Var } from './var.ts';

// ---------------------------------------------------------------- tracing

/** How the engine undid broadcasting for one input. */
export interface Unbroadcast {
  /** Which input of the node. */
  readonly input: number;
  /** The gradient's shape before the reduction. */
  readonly from: readonly number[];
  /** The input's shape. */
  readonly to: readonly number[];
  /** The axes (of `from`) that were summed. */
  readonly axes: readonly number[];
}

/** One step of a backward trace: one rule firing. */
export interface TraceStep {
  /** The op whose rule fired. */
  readonly op: string;
  /** The node id. */
  readonly node: number;
  /** The id of the Var the node produced. */
  readonly output: number;
  /** The shape of the upstream gradient. */
  readonly gradShape: readonly number[];
  /** The shapes of the node's inputs. */
  readonly inputShapes: readonly (readonly number[])[];
  /** The shapes of the gradients the rule returned (null: no gradient). */
  readonly ruleShapes: readonly (readonly number[] | null)[];
  /** The reductions that un-broadcast the rule's results. */
  readonly unbroadcasts: readonly Unbroadcast[];
}

let activeTrace: TraceStep[] | null = null;

/**
 * Run `fn` and record every rule that fires during backward passes inside it.
 * @returns the function's result and the steps, in the order they ran.
 */
export function traceBackward<R>(fn: () => R): { result: R; steps: TraceStep[] } {
  const prev = activeTrace;
  const steps: TraceStep[] = [];
  activeTrace = steps;
  try {
    return { result: fn(), steps };
  } finally {
    activeTrace = prev;
  }
}

/** Render a trace as readable text, one line per rule plus one per un-broadcast. */
export function formatTrace(steps: readonly TraceStep[]): string {
  const shp = (s: readonly number[] | null) => (s ? T.fmtShape(s) : '—');
  const lines: string[] = [];
  steps.forEach((s, i) => {
    lines.push(
      `${String(i + 1).padStart(3)}. ${s.op} (node #${s.node} → Var#${s.output}): g ${shp(s.gradShape)}; inputs ${s.inputShapes.map(shp).join(', ')}; rule gives ${s.ruleShapes.map(shp).join(', ')}`,
    );
    for (const u of s.unbroadcasts) {
      lines.push(
        `       un-broadcast input ${u.input}: sum ${shp(u.from)} over axes [${u.axes.join(',')}] → ${shp(u.to)}`,
      );
    }
  });
  return lines.join('\n');
}

// ---------------------------------------------------------------- un-broadcast

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

// ---------------------------------------------------------------- graph walk

/** Vars reachable from `roots` through creator nodes, in topological order (inputs first). */
function topoOrder(roots: readonly Var[], opName: string): Var[] {
  const order: Var[] = [];
  const seen = new Set<Var>();
  // Iterative depth-first search; a frame is [var, next input index].
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    const stack: [Var, number][] = [[root, 0]];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const [v, i] = frame;
      const node = v.node;
      if (node && node.inputs === null) throw freedError(opName, node);
      const inputs = node?.inputs ?? [];
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

function freedError(opName: string, node: Node): ChainruleError {
  return new ChainruleError(
    opName,
    `the graph through "${node.op}" (node #${node.id}) was already freed by an earlier backward or grad call; pass { retainGraph: true } to the first call to go through a graph twice`,
  );
}

function seedFor(opName: string, y: Var, seed: Var | Tensor | undefined, index: number): Var {
  if (seed === undefined) {
    if (y.size !== 1) {
      throw new ChainruleError(
        opName,
        `output ${index} has shape ${T.fmtShape(y.shape)}; a gradient seed is only implicit for a one-element output — pass gradOutputs (or a seed) of that shape`,
      );
    }
    return new Var(T.ones(y.shape, { dtype: y.dtype }));
  }
  const s = seed instanceof Var ? seed : new Var(seed);
  if (!T.shapesEqual(s.shape, y.shape)) {
    throw new ChainruleError(
      opName,
      `gradient seed for output ${index} has shape ${T.fmtShape(s.shape)}; expected the output's shape ${T.fmtShape(y.shape)}`,
    );
  }
  if (s.dtype !== y.dtype) {
    throw new ChainruleError(opName, `gradient seed for output ${index} is ${s.dtype}; expected ${y.dtype}`);
  }
  return s;
}

function checkGradFinite(node: Node, grads: readonly (Var | null)[]): void {
  for (let i = 0; i < grads.length; i++) {
    const g = grads[i];
    if (g && !T.allFinite(g.value)) {
      const where = node.stack ? `\nForward call site:\n${node.stack}` : '';
      throw new ChainruleError(
        node.op,
        `anomaly: the backward pass produced NaN or Infinity in the gradient of input ${i} (node #${node.id})${where}`,
      );
    }
  }
}

/** The rule for an op: the typed table for primitives, the `defineOp` registry for the rest. */
function ruleFor(name: string): GradRule | undefined {
  // The engine passes each node the attributes its op recorded, so the table's per-primitive
  // attribute types hold; here the rule is called with the node's untyped record.
  return op.isPrimitive(name) ? (GRAD_RULES[name] as GradRule) : customOpRule(name);
}

/** True when a gradient of shape `from` can be summed back to `to` (`to` broadcasts to `from`). */
function canUnbroadcast(from: readonly number[], to: readonly number[]): boolean {
  const lead = from.length - to.length;
  if (lead < 0) return false;
  return to.every((d, j) => d === from[j + lead] || d === 1);
}

/**
 * Check what a rule returned, before anything uses it, and name the op, the input and the
 * shapes when it is wrong. Built-in rules pass by construction; this is for `defineOp` rules.
 * Entries past the inputs must be null: a rule may list one for an optional input that the
 * call left out (`fusedDense` without a bias).
 */
function checkRuleResults(node: Node, inputs: readonly Var[], raw: unknown): asserts raw is (Var | null)[] {
  const where = `the gradient rule (node #${node.id})`;
  if (!Array.isArray(raw)) {
    throw new ChainruleError(
      node.op,
      `${where} returned ${raw === null ? 'null' : typeof raw}; expected an array with one gradient (or null) per input`,
    );
  }
  const extra = raw.slice(inputs.length).some((r) => r !== null && r !== undefined);
  if (raw.length < inputs.length || extra) {
    throw new ChainruleError(
      node.op,
      `${where} returned ${raw.length} gradient(s) for ${inputs.length} input(s); expected one per input, null where there is none`,
    );
  }
  inputs.forEach((u, i) => {
    const gi: unknown = raw[i];
    if (gi === null || gi === undefined) return;
    if (!(gi instanceof Var)) {
      const what = typeof gi === 'object' && 'dataSync' in gi ? 'a Tensor' : typeof gi;
      throw new ChainruleError(
        node.op,
        `${where} returned ${what} for input ${i}; expected a Var computed with the differentiable ops of @chainrule/autograd (so that higher derivatives work)`,
      );
    }
    if (!canUnbroadcast(gi.shape, u.shape)) {
      throw new ChainruleError(
        node.op,
        `${where} returned a gradient of shape ${T.fmtShape(gi.shape)} for input ${i} of shape ${T.fmtShape(u.shape)}; expected ${T.fmtShape(u.shape)} or a shape that ${T.fmtShape(u.shape)} broadcasts to`,
      );
    }
    if (gi.dtype !== u.dtype) {
      throw new ChainruleError(
        node.op,
        `${where} returned a ${gi.dtype} gradient for input ${i}, which is ${u.dtype}; expected ${u.dtype}`,
      );
    }
  });
}

/**
 * The engine. Propagates `seeds` from `roots` and returns the gradient of every needed Var.
 * `isTarget(v)` says which Vars we want gradients for; only nodes on a path to a target run.
 */
function propagate(
  opName: string,
  roots: readonly Var[],
  seeds: readonly Var[],
  isTarget: (v: Var) => boolean,
  createGraph: boolean,
  retainGraph: boolean,
): Map<Var, Var> {
  const order = topoOrder(roots, opName);

  // A Var is needed if it is a target or feeds a needed Var's node.
  const needed = new Set<Var>();
  for (const v of order) {
    if (isTarget(v) || (v.node?.inputs ?? []).some((u) => needed.has(u))) needed.add(v);
  }

  const grads = new Map<Var, Var>();
  const accumulate = (v: Var, g: Var) => {
    const prev = grads.get(v);
    grads.set(v, prev ? op.add(prev, g) : g);
  };

  const run = () => {
    roots.forEach((r, i) => {
      if (needed.has(r)) accumulate(r, seeds[i]!);
    });
    for (let k = order.length - 1; k >= 0; k--) {
      const v = order[k]!;
      const node = v.node;
      const g = grads.get(v);
      if (!node || !g || !needed.has(v)) continue;
      const inputs = node.inputs;
      if (inputs === null || node.output === null) throw freedError(opName, node);
      const needs = inputs.map((u) => u.requiresGrad && needed.has(u));
      if (!needs.some(Boolean)) continue;
      const rule = ruleFor(node.op);
      if (!rule) throw new ChainruleError(opName, `no gradient rule for op "${node.op}"`);
      // In anomaly mode the rule's own ops must not run their forward checks: a NaN or
      // Infinity made here would be blamed on an internal op (`div` for sqrt's rule) as a
      // forward-pass anomaly. Suspend them and check the rule's results below, naming this op.
      const anomaly = isAnomalyMode();
      if (anomaly) setAnomalyMode(false);
      let raw: (Var | null)[];
      let results: (Var | null)[];
      const unbroadcasts: Unbroadcast[] = [];
      try {
        raw = rule(g, { inputs, output: node.output, attrs: node.attrs, needs });
        checkRuleResults(node, inputs, raw);
        results = inputs.map((u, i) => {
          const gi = raw[i];
          if (!needs[i] || !gi) return null;
          if (!T.shapesEqual(gi.shape, u.shape)) {
            unbroadcasts.push({
              input: i,
              from: gi.shape,
              to: u.shape,
              axes: unbroadcastAxes(gi.shape, u.shape),
            });
            return unbroadcast(gi, u.shape);
          }
          return gi;
        });
      } finally {
        if (anomaly) setAnomalyMode(true);
      }
      if (anomaly) checkGradFinite(node, results);
      if (activeTrace) {
        activeTrace.push({
          op: node.op,
          node: node.id,
          output: v.id,
          gradShape: g.shape,
          inputShapes: inputs.map((u) => u.shape),
          ruleShapes: raw.map((r) => (r ? r.shape : null)),
          unbroadcasts,
        });
      }
      results.forEach((gi, i) => {
        if (gi) accumulate(inputs[i]!, gi);
      });
      if (!retainGraph) {
        node.inputs = null;
        node.output = null;
      }
    }
  };
  if (createGraph) enableGrad(run);
  else noGrad(run);
  return grads;
}

// ---------------------------------------------------------------- public API

/** Options for {@link grad}. */
export interface GradOptions {
  /** Seeds: the gradient of some scalar with respect to each output. Required for outputs with more than one element. */
  gradOutputs?: Var | Tensor | (Var | Tensor | undefined)[];
  /** Record the backward pass so the gradients can be differentiated again. Default false. */
  createGraph?: boolean;
  /** Keep the graph for another backward pass. Default: `createGraph`. */
  retainGraph?: boolean;
  /** Return zero gradients for inputs that do not affect the outputs, instead of throwing. */
  allowUnused?: boolean;
}

function toList<V>(x: V | V[]): V[] {
  return Array.isArray(x) ? x : [x];
}

/**
 * Gradients of `outputs` with respect to `inputs`, like `torch.autograd.grad` and
 * `tf.gradients(ys, xs, grad_ys)`. Inputs may be non-leaf Vars (for example an action the
 * actor produced). `.grad` is not touched.
 *
 * @returns one gradient per input (an array when `inputs` is an array).
 */
export function grad(outputs: Var | Var[], inputs: Var, options?: GradOptions): Var;
export function grad(outputs: Var | Var[], inputs: Var[], options?: GradOptions): Var[];
export function grad(outputs: Var | Var[], inputs: Var | Var[], options: GradOptions = {}): Var | Var[] {
  const outs = toList(outputs);
  const ins = toList(inputs);
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  if (outs.length === 0 || ins.length === 0)
    throw new ChainruleError('grad', 'expected at least one output and one input');
  ins.forEach((v, i) => {
    if (!(v instanceof Var)) throw new ChainruleError('grad', `inputs[${i}] is not a Var`);
    if (!v.requiresGrad) {
      throw new ChainruleError(
        'grad',
        `inputs[${i}]${v.name ? ` ("${v.name}")` : ''} does not require a gradient; create it with param() or requiresGrad: true`,
      );
    }
  });
  const seedList = options.gradOutputs === undefined ? [] : toList(options.gradOutputs);
  if (seedList.length > 0 && seedList.length !== outs.length) {
    throw new ChainruleError(
      'grad',
      `got ${seedList.length} gradOutputs for ${outs.length} outputs; expected one per output`,
    );
  }
  const seeds = outs.map((y, i) => seedFor('grad', y, seedList[i], i));
  const targets = new Set(ins);
  const grads = propagate('grad', outs, seeds, (v) => targets.has(v), createGraph, retainGraph);
  const result = ins.map((v, i) => {
    const g = grads.get(v);
    if (g) return g;
    if (!options.allowUnused) {
      throw new ChainruleError(
        'grad',
        `inputs[${i}]${v.name ? ` ("${v.name}")` : ''} is not used to compute the outputs; pass { allowUnused: true } to get a zero gradient`,
      );
    }
    return new Var(T.zeros(v.shape, { dtype: v.dtype }));
  });
  return Array.isArray(inputs) ? result : result[0]!;
}

/**
 * Backpropagate from `y` into the `.grad` of every leaf that requires a gradient. Gradients
 * accumulate across calls; clear them with `zeroGrad`.
 */
export function backward(y: Var, seed?: Var | Tensor, options: { retainGraph?: boolean } = {}): void {
  if (!y.requiresGrad) {
    throw new ChainruleError(
      'backward',
      'this Var does not require a gradient: no input of the ops that made it requires one',
    );
  }
  const s = seedFor('backward', y, seed, 0);
  const grads = propagate(
    'backward',
    [y],
    [s],
    (v) => v.isLeaf && v.requiresGrad,
    false,
    options.retainGraph ?? false,
  );
  for (const [v, g] of grads) {
    if (!v.isLeaf || !v.requiresGrad) continue;
    if (v.grad) {
      const sum = T.add(v.grad, g.value);
      v.grad = sum;
    } else v.grad = g.value; // tensors are immutable, so sharing is safe
  }
}

setBackwardHook(backward);
