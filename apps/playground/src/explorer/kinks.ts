/**
 * Where the checked function has no derivative: ties and kinks.
 *
 * gradcheck compares the analytic gradient with central differences (f(x+ε) − f(x−ε)) / 2ε.
 * Where f has a kink (relu or abs at 0, clip at a bound, a tie of max), the two sides of
 * that difference fall on different pieces of f, and at a kink of the gradient (any of the
 * above, for gradgradcheck) the difference of gradients is a jump divided by 2ε: about
 * 1/ε = 10⁶ times the jump. A failed check there says "this point is not differentiable",
 * not "the rule is wrong", and the page must say so.
 *
 * Two ways to find such points:
 * - in the graph: an op whose input sits on its kink ({@link findKinks});
 * - numerically: a one-sided difference that does not shrink as the step shrinks, which a
 *   smooth function's always does ({@link findJumps}). This also catches kinks the graph
 *   cannot name (a `where` on a comparison, an op added later).
 *
 * This module has no DOM code, so the tests run it in Node too.
 * @module
 */
import * as A from '@chainrule/autograd';
import type { GradcheckFn } from '@chainrule/autograd/testing';
import * as T from '@chainrule/tensor';

/** One op evaluated on its non-differentiable point. */
export interface Kink {
  /** The op's name, e.g. `max`. */
  readonly op: string;
  /** What is at the kink, in words, e.g. `a tie: elements [0] and [1] are both 1`. */
  readonly detail: string;
}

/** One input element along which the function (order 1) or its gradient (order 2) jumps. */
export interface Jump {
  /** The input's name. */
  readonly input: string;
  /** The element's multi-index in that input. */
  readonly index: readonly number[];
}

/** The default closeness to a kink, relative to the values' size; a few times gradcheck's ε = 1e-6. */
export const KINK_TOL = 4e-6;

function near(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = flat % n;
    flat = Math.floor(flat / n);
  }
  return idx;
}

const at = (flat: number, shape: readonly number[]) => `[${unravel(flat, shape).join(',')}]`;
const num = (v: number) => String(Number(v.toPrecision(6)));

/** Every Var reachable from `root` that an op produced. */
function opVars(root: A.Var): A.Var[] {
  const seen = new Set<A.Var>();
  const out: A.Var[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (!v.node?.inputs) continue;
    out.push(v);
    stack.push(...v.node.inputs);
  }
  return out;
}

/** The first element of `d` near any of `points`, or −1. */
function firstNear(d: ArrayLike<number>, points: readonly number[], tol: number): number {
  for (let i = 0; i < d.length; i++) if (points.some((p) => near(d[i]!, p, tol))) return i;
  return -1;
}

/** For max/min over `axes`: the first slice where two elements attain the extreme, as flat indices. */
function firstTie(
  x: T.Tensor,
  y: T.Tensor,
  axes: readonly number[],
  tol: number,
): [number, number, number] | null {
  const d = x.dataSync();
  const keep = x.shape.map((n, i) => (axes.includes(i) ? 1 : n));
  const yd = T.broadcastTo(T.reshape(y, keep), x.shape).dataSync();
  // Which slice each element belongs to: its multi-index with the reduced axes zeroed.
  const firstInSlice = new Map<string, number>();
  for (let i = 0; i < d.length; i++) {
    if (!near(d[i]!, yd[i]!, tol)) continue;
    const key = unravel(i, x.shape)
      .map((c, k) => (axes.includes(k) ? 0 : c))
      .join(',');
    const j = firstInSlice.get(key);
    if (j !== undefined) return [j, i, yd[i]!];
    firstInSlice.set(key, i);
  }
  return null;
}

/**
 * The ops in `f`'s graph at `inputs` whose input sits on (within `tol` of) a point where the
 * op has no derivative: relu, abs and sign at 0, clip at a bound, a tie of max, min,
 * maximum or minimum.
 */
export function findKinks(f: GradcheckFn, inputs: readonly T.Tensor[], tol = KINK_TOL): Kink[] {
  const xs = inputs.map((t) => A.param(T.cast(t, 'float64')));
  const kinks: Kink[] = [];
  for (const v of opVars(f(...xs))) {
    const node = v.node!;
    const inputsOf = node.inputs!;
    const x = inputsOf[0]!.value;
    const shape = x.shape;
    switch (node.op) {
      case 'relu':
      case 'abs':
      case 'sign': {
        const i = firstNear(x.dataSync(), [0], tol);
        if (i >= 0)
          kinks.push({ op: node.op, detail: `its input is ${num(x.dataSync()[i]!)} at ${at(i, shape)}` });
        break;
      }
      case 'clip': {
        const lo = node.attrs.min as number;
        const hi = node.attrs.max as number;
        const i = firstNear(x.dataSync(), [lo, hi], tol);
        if (i >= 0) {
          const value = x.dataSync()[i]!;
          const bound = near(value, lo, tol) ? `min = ${num(lo)}` : `max = ${num(hi)}`;
          kinks.push({
            op: 'clip',
            detail: `its input ${num(value)} at ${at(i, shape)} is on the bound ${bound}`,
          });
        }
        break;
      }
      case 'max':
      case 'min': {
        const tie = firstTie(x, v.value, node.attrs.axes as number[], tol);
        if (tie) {
          const [i, j, value] = tie;
          kinks.push({
            op: node.op,
            detail: `a tie: elements ${at(i, shape)} and ${at(j, shape)} are both ${num(value)}, the ${node.op === 'max' ? 'maximum' : 'minimum'}`,
          });
        }
        break;
      }
      case 'maximum':
      case 'minimum': {
        const b = inputsOf[1]!.value;
        const da = T.broadcastTo(x, v.shape).dataSync();
        const db = T.broadcastTo(b, v.shape).dataSync();
        for (let i = 0; i < da.length; i++) {
          if (!near(da[i]!, db[i]!, tol)) continue;
          kinks.push({ op: node.op, detail: `a tie: both sides are ${num(da[i]!)} at ${at(i, v.shape)}` });
          break;
        }
        break;
      }
    }
  }
  return kinks;
}

/**
 * The input elements along which `f` (order 1) or its gradient (order 2) jumps at `inputs`.
 *
 * With S(h) the change across ±h of one element, |f(x+h) + f(x−h) − 2f(x)| / h for order 1
 * (the change of slope) and max |∇f(x+h) − ∇f(x−h)| for order 2: a smooth function has
 * S(h) = O(h), so S(ε) ≈ S(8ε)/8; at a kink S stays at the size of the jump. An element
 * jumps when S(ε) > S(8ε)/2 and S(ε) is above rounding noise. `f` is summed if not a scalar.
 * At most `limit` elements are probed (in input order).
 */
export function findJumps(
  f: GradcheckFn,
  inputs: readonly T.Tensor[],
  names: readonly string[],
  order: 1 | 2,
  { eps = 1e-6, limit = 256 }: { eps?: number; limit?: number } = {},
): Jump[] {
  const base = inputs.map((t) => Float64Array.from(t.dataSync()));
  const shapes = inputs.map((t) => t.shape);
  const tensors = (data: Float64Array[]) =>
    data.map((d, i) => T.tensor(d, { shape: shapes[i]!, dtype: 'float64' }));
  const value = (data: Float64Array[]): number[] => [
    A.noGrad(() => T.sum(f(...tensors(data).map((t) => A.variable(t))).value).dataSync()[0]!),
  ];
  const gradient = (data: Float64Array[]): number[] => {
    const xs = tensors(data).map((t) => A.param(t));
    const y = A.sum(f(...xs));
    if (!y.requiresGrad) return [];
    return A.grad(y, xs, { allowUnused: true }).flatMap((g) => Array.from(g.value.dataSync()));
  };
  const at0 = order === 1 ? value(base) : gradient(base);
  const scale = 1 + Math.max(0, ...at0.map(Math.abs));
  const shifted = (i: number, j: number, h: number) => {
    const data = base.map((d) => d.slice());
    data[i]![j]! += h;
    return order === 1 ? value(data) : gradient(data);
  };
  const change = (i: number, j: number, h: number): number => {
    const up = shifted(i, j, h);
    const down = shifted(i, j, -h);
    if (order === 1) return Math.abs(up[0]! + down[0]! - 2 * at0[0]!) / h;
    let m = 0;
    for (let k = 0; k < up.length; k++) m = Math.max(m, Math.abs(up[k]! - down[k]!));
    return m;
  };
  const jumps: Jump[] = [];
  let probed = 0;
  for (let i = 0; i < base.length; i++) {
    for (let j = 0; j < base[i]!.length; j++) {
      if (probed++ >= limit) return jumps;
      const small = change(i, j, eps);
      if (!(small > 1e-7 * scale)) continue;
      if (small > change(i, j, 8 * eps) / 2) jumps.push({ input: names[i]!, index: unravel(j, shapes[i]!) });
    }
  }
  return jumps;
}
