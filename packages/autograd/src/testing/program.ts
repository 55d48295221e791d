/**
 * `arbProgram`: random differentiable programs (small DAGs of autograd ops) for property
 * tests of the whole engine: unary, binary (with broadcasting), reductions, matmul, dense
 * and shape ops, with nodes consumed more than once.
 *
 * A program is generated as a list of small integer "instructions" and interpreted against
 * the shapes so far, so every instruction list gives a valid program and shrinking (dropping
 * instructions, lowering the integers) gives smaller valid programs. Values stay in safe
 * domains: only smooth ops are used, positive-only ops get positive arguments (`log(1 + x²)`),
 * and an op that could make values large (a static bound over 30) is replaced by `tanh`.
 * @module
 */
import * as T from '@chainrule/tensor';
import { type DenseActivation, Rng, type Tensor } from '@chainrule/tensor';
import fc from 'fast-check';
import * as op from '../ops.ts';
import { noGrad, Var } from '../var.ts';
import { arbBroadcastableShapes, arbTensor } from './arbitraries.ts';

/** Options for {@link arbProgram}. */
export interface ProgramOptions {
  /** The most op nodes (instructions). Default 6. */
  maxNodes?: number;
  /** The most inputs; each program has 1..inputs. Default 2. */
  inputs?: number;
  /** The largest rank of an input. Default 3. */
  maxRank?: number;
  /** The largest dimension of an input. Default 3. */
  maxDim?: number;
  /** The largest number of elements of an intermediate value. Default 36. */
  maxSize?: number;
  /** Input values lie in `[−range, range]`. Default 2. */
  range?: number;
}

/** One node of a {@link Program}. */
export interface ProgramStep {
  /** The node's name: `v<k>`, numbered after the inputs `x0, x1, …`. */
  readonly name: string;
  /** The main op (for example `matmul`, or `log` for `log(1 + a²)`). */
  readonly op: string;
  /** A readable right-hand side, for example `matmul(v2, v2, {transposeB})`. */
  readonly text: string;
  /** The node's shape. */
  readonly shape: readonly number[];
  /** The indices of the nodes (inputs first) this step consumes. */
  readonly args: readonly number[];
  /** A static bound on the absolute values of the node. */
  readonly bound: number;
  /** Compute the node from the nodes so far. */
  readonly apply: (nodes: readonly Var[]) => Var;
}

/** A random program: its inputs, the function, and a readable listing. */
export interface Program {
  /** The inputs, float64. */
  readonly inputs: Tensor[];
  /** The program as a function of one Var per input. */
  readonly f: (...xs: Var[]) => Var;
  /** The op nodes, in order. */
  readonly steps: readonly ProgramStep[];
  /** Whether the output is summed to a scalar. */
  readonly scalarOutput: boolean;
  /** A listing of the program and its inputs, one line per node. */
  toString(): string;
}

/** One generated instruction: integers that the interpreter maps onto a valid op. */
interface Instruction {
  kind: number;
  a: number;
  b: number;
  p: number;
}

const BOUND_LIMIT = 30;

interface NodeInfo {
  name: string;
  shape: number[];
  bound: number;
  value: Var;
}

interface Candidate {
  op: string;
  text: string;
  args: number[];
  bound: number;
  apply: (nodes: readonly Var[]) => Var;
}

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
const shp = (s: readonly number[]) => `[${s.join(',')}]`;

function broadcastable(a: readonly number[], b: readonly number[]): boolean {
  const r = Math.max(a.length, b.length);
  for (let i = 1; i <= r; i++) {
    const x = a[a.length - i] ?? 1;
    const y = b[b.length - i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
}

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = r; i >= 1; i--) out.push(Math.max(a[a.length - i] ?? 1, b[b.length - i] ?? 1));
  return out;
}

type Builder = (ia: number, ib: number, nodes: readonly NodeInfo[], rng: Rng) => Candidate | null;

const unary =
  (name: string, text: (a: string) => string, bound: (b: number) => number, fn: (x: Var) => Var): Builder =>
  (ia, _ib, nodes) => ({
    op: name,
    text: text(nodes[ia]!.name),
    args: [ia],
    bound: bound(nodes[ia]!.bound),
    apply: (v) => fn(v[ia]!),
  });

/** The second operand: `ib` if it broadcasts against `ia`, else `ia` itself (a reused node). */
function partner(ia: number, ib: number, nodes: readonly NodeInfo[]): number {
  return broadcastable(nodes[ia]!.shape, nodes[ib]!.shape) ? ib : ia;
}

const binary =
  (name: string, fn: (a: Var, b: Var) => Var, bound: (a: number, b: number) => number): Builder =>
  (ia, ib, nodes) => {
    const j = partner(ia, ib, nodes);
    return {
      op: name,
      text: `${name}(${nodes[ia]!.name}, ${nodes[j]!.name})`,
      args: [ia, j],
      bound: bound(nodes[ia]!.bound, nodes[j]!.bound),
      apply: (v) => fn(v[ia]!, v[j]!),
    };
  };

function reduction(name: 'sum' | 'mean'): Builder {
  return (ia, _ib, nodes, rng) => {
    const a = nodes[ia]!;
    const r = a.shape.length;
    const picked = a.shape.flatMap((_, d) => (rng.int(2) ? [d] : []));
    const axes = r === 0 || picked.length === 0 || rng.int(3) === 0 ? undefined : picked;
    const keep = rng.int(2) === 1;
    const count = axes === undefined ? size(a.shape) : axes.reduce((n, d) => n * a.shape[d]!, 1);
    return {
      op: name,
      text: `${name}(${a.name}, ${axes ? `[${axes.join(',')}]` : 'all'}${keep ? ', keepDims' : ''})`,
      args: [ia],
      bound: name === 'sum' ? a.bound * count : a.bound,
      apply: (v) => (name === 'sum' ? op.sum(v[ia]!, axes, keep) : op.mean(v[ia]!, axes, keep)),
    };
  };
}

const matmul: Builder = (ia, ib, nodes, rng) => {
  const a = nodes[ia]!;
  const b = nodes[ib]!;
  if (a.shape.length < 2) return null;
  const last2 = (s: readonly number[], t: boolean) => {
    const m = s[s.length - 2]!;
    const n = s[s.length - 1]!;
    return t ? [n, m] : [m, n];
  };
  const flags: [boolean, boolean][] = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ];
  const start = rng.int(4);
  if (b.shape.length >= 2 && broadcastable(a.shape.slice(0, -2), b.shape.slice(0, -2))) {
    for (let t = 0; t < 4; t++) {
      const [tA, tB] = flags[(start + t) % 4]!;
      const [, ka] = last2(a.shape, tA);
      const [kb] = last2(b.shape, tB);
      if (ka === kb) return matmulCandidate(ia, ib, tA, tB, nodes, ka!);
    }
  }
  // a·aᵀ or aᵀ·a: always defined, and a node consumed twice.
  const tA = rng.int(2) === 1;
  const k = tA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!;
  return matmulCandidate(ia, ia, tA, !tA, nodes, k);
};

function matmulCandidate(
  ia: number,
  ib: number,
  tA: boolean,
  tB: boolean,
  nodes: readonly NodeInfo[],
  k: number,
): Candidate {
  const flagText = [tA ? 'transposeA' : '', tB ? 'transposeB' : ''].filter(Boolean).join(', ');
  return {
    op: 'matmul',
    text: `matmul(${nodes[ia]!.name}, ${nodes[ib]!.name}${flagText ? `, {${flagText}}` : ''})`,
    args: [ia, ib],
    bound: nodes[ia]!.bound * nodes[ib]!.bound * k,
    apply: (v) => op.matmul(v[ia]!, v[ib]!, { transposeA: tA, transposeB: tB }),
  };
}

const dense: Builder = (ia, ib, nodes, rng) => {
  const a = nodes[ia]!;
  const r = a.shape.length;
  if (r === 0) return null;
  // x = a as a matrix [m, k] (k its last dimension), the weight xᵀ [k, m], a bias [m] if
  // node ib has that shape.
  const k = a.shape[r - 1]!;
  const m = size(a.shape) / k;
  const act = (['linear', 'tanh', 'sigmoid'] as DenseActivation[])[rng.int(3)]!;
  const b = nodes[ib]!;
  const bias = b.shape.length === 1 && b.shape[0] === m ? ib : undefined;
  const bound = act === 'linear' ? a.bound * a.bound * k + (bias === undefined ? 0 : b.bound) : 1;
  const x = r === 2 ? a.name : `reshape(${a.name}, [${m},${k}])`;
  const matrix = (v: Var) => (r === 2 ? v : op.reshape(v, [m, k]));
  return {
    op: 'fusedDense',
    text: `dense(${x}, transpose(${x})${bias === undefined ? '' : `, ${b.name}`}, '${act}')`,
    args: bias === undefined ? [ia] : [ia, bias],
    bound,
    apply: (v) => {
      const xv = matrix(v[ia]!);
      return op.dense(xv, op.transpose(xv), bias === undefined ? undefined : v[bias]!, act);
    },
  };
};

const reshape: Builder = (ia, _ib, nodes, rng) => {
  const a = nodes[ia]!;
  const r = a.shape.length;
  let to: number[];
  const mode = rng.int(3);
  if (r === 0) to = [1];
  else if (mode === 0) to = [-1];
  else if (mode === 1) to = [...a.shape].reverse();
  else {
    to = [...a.shape];
    to.splice(rng.int(r + 1), 0, 1);
  }
  return {
    op: 'reshape',
    text: `reshape(${a.name}, ${shp(to)})`,
    args: [ia],
    bound: a.bound,
    apply: (v) => op.reshape(v[ia]!, to),
  };
};

const transpose: Builder = (ia, _ib, nodes, rng) => {
  const a = nodes[ia]!;
  const r = a.shape.length;
  if (r < 2) return null;
  const perm = a.shape.map((_, i) => i);
  for (let i = r - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  return {
    op: 'transpose',
    text: `transpose(${a.name}, [${perm.join(',')}])`,
    args: [ia],
    bound: a.bound,
    apply: (v) => op.transpose(v[ia]!, perm),
  };
};

const slice: Builder = (ia, _ib, nodes, rng) => {
  const a = nodes[ia]!;
  if (a.shape.length === 0) return null;
  const begin = a.shape.map((d) => rng.int(d));
  const sz = a.shape.map((d, i) => 1 + rng.int(d - begin[i]!));
  return {
    op: 'slice',
    text: `slice(${a.name}, begin ${shp(begin)}, size ${shp(sz)})`,
    args: [ia],
    bound: a.bound,
    apply: (v) => op.slice(v[ia]!, begin, sz),
  };
};

const pad: Builder = (ia, _ib, nodes, rng) => {
  const a = nodes[ia]!;
  if (a.shape.length === 0) return null;
  const p = a.shape.map(() => [rng.int(2), rng.int(2)] as [number, number]);
  return {
    op: 'pad',
    text: `pad(${a.name}, ${JSON.stringify(p)})`,
    args: [ia],
    bound: a.bound,
    apply: (v) => op.pad(v[ia]!, p),
  };
};

const concat: Builder = (ia, ib, nodes, rng) => {
  const a = nodes[ia]!;
  const b = nodes[ib]!;
  const r = a.shape.length;
  if (r === 0) return null;
  let j = ia;
  let axis = rng.int(r);
  if (b.shape.length === r) {
    const diff = a.shape.flatMap((d, i) => (d !== b.shape[i] ? [i] : []));
    if (diff.length === 0 || (diff.length === 1 && diff[0] === axis)) j = ib;
    else if (diff.length === 1) {
      j = ib;
      axis = diff[0]!;
    }
  }
  return {
    op: 'concat',
    text: `concat([${a.name}, ${nodes[j]!.name}], ${axis})`,
    args: [ia, j],
    bound: Math.max(a.bound, nodes[j]!.bound),
    apply: (v) => op.concat([v[ia]!, v[j]!], axis),
  };
};

const broadcastTo: Builder = (ia, _ib, nodes, rng) => {
  const a = nodes[ia]!;
  const ones = a.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  const to = [...a.shape];
  if (ones.length > 0 && rng.int(2) === 0) to[ones[rng.int(ones.length)]!] = 2 + rng.int(2);
  else to.unshift(2 + rng.int(2));
  return {
    op: 'broadcastTo',
    text: `broadcastTo(${a.name}, ${shp(to)})`,
    args: [ia],
    bound: a.bound,
    apply: (v) => op.broadcastTo(v[ia]!, to),
  };
};

const gather: Builder = (ia, _ib, nodes, rng) => {
  const a = nodes[ia]!;
  if (a.shape.length === 0) return null;
  const idx = Array.from({ length: 1 + rng.int(4) }, () => rng.int(a.shape[0]!));
  return {
    op: 'gather',
    text: `gather(${a.name}, [${idx.join(',')}])`,
    args: [ia],
    bound: a.bound,
    apply: (v) => op.gather(v[ia]!, idx),
  };
};

const scatterAdd: Builder = (ia, _ib, nodes, rng) => {
  const a = nodes[ia]!;
  if (a.shape.length === 0) return null;
  const rows = 1 + rng.int(3);
  const idx = Array.from({ length: a.shape[0]! }, () => rng.int(rows));
  return {
    op: 'scatterAdd',
    text: `scatterAdd(${a.name}, [${idx.join(',')}], ${rows})`,
    args: [ia],
    bound: a.bound * idx.length,
    apply: (v) => op.scatterAdd(v[ia]!, idx, rows),
  };
};

const where: Builder = (ia, ib, nodes, rng) => {
  const j = partner(ia, ib, nodes);
  const shape = broadcastShape(nodes[ia]!.shape, nodes[j]!.shape);
  const bits = Array.from({ length: size(shape) }, () => rng.int(2));
  const mask = T.tensor(bits, { shape, dtype: 'float64' });
  return {
    op: 'where',
    text: `where(mask ${JSON.stringify(mask.toArray())}, ${nodes[ia]!.name}, ${nodes[j]!.name})`,
    args: [ia, j],
    bound: Math.max(nodes[ia]!.bound, nodes[j]!.bound),
    apply: (v) => op.where(new Var(mask), v[ia]!, v[j]!),
  };
};

const pow: Builder = (ia, ib, nodes) => {
  const j = partner(ia, ib, nodes);
  const a = nodes[ia]!;
  return {
    op: 'pow',
    text: `pow(1 + ${a.name}², tanh(${nodes[j]!.name}))`,
    args: [ia, j],
    bound: 1 + a.bound * a.bound,
    apply: (v) => op.pow(op.add(op.square(v[ia]!), 1), op.tanh(v[j]!)),
  };
};

const tanh = unary(
  'tanh',
  (a) => `tanh(${a})`,
  () => 1,
  (x) => op.tanh(x),
);

/** The op table. Index 0 (what shrinking reaches) is the simplest: tanh. */
const BUILDERS: readonly Builder[] = [
  tanh,
  unary(
    'sigmoid',
    (a) => `sigmoid(${a})`,
    () => 1,
    (x) => op.sigmoid(x),
  ),
  binary(
    'add',
    (a, b) => op.add(a, b),
    (x, y) => x + y,
  ),
  binary(
    'mul',
    (a, b) => op.mul(a, b),
    (x, y) => x * y,
  ),
  binary(
    'sub',
    (a, b) => op.sub(a, b),
    (x, y) => x + y,
  ),
  reduction('sum'),
  reduction('mean'),
  matmul,
  reshape,
  transpose,
  slice,
  concat,
  broadcastTo,
  unary(
    'exp',
    (a) => `exp(tanh(${a}))`,
    () => Math.E,
    (x) => op.exp(op.tanh(x)),
  ),
  unary(
    'log',
    (a) => `log(1 + ${a}²)`,
    (b) => Math.log1p(b * b),
    (x) => op.log(op.add(op.square(x), 1)),
  ),
  binary(
    'div',
    (a, b) => op.div(a, op.add(op.square(b), 1)),
    (x) => x,
  ),
  unary(
    'neg',
    (a) => `neg(${a})`,
    (b) => b,
    (x) => op.neg(x),
  ),
  unary(
    'square',
    (a) => `square(${a})`,
    (b) => b * b,
    (x) => op.square(x),
  ),
  unary(
    'sqrt',
    (a) => `sqrt(1 + ${a}²)`,
    (b) => Math.sqrt(1 + b * b),
    (x) => op.sqrt(op.add(op.square(x), 1)),
  ),
  unary(
    'reciprocal',
    (a) => `reciprocal(1 + ${a}²)`,
    () => 1,
    (x) => op.reciprocal(op.add(op.square(x), 1)),
  ),
  pad,
  gather,
  dense,
  pow,
  where,
  scatterAdd,
];

/** Run the instruction list against the inputs and return the program's steps. */
function interpret(
  inputs: readonly Tensor[],
  instructions: readonly Instruction[],
  maxSize: number,
  range: number,
): ProgramStep[] {
  const nodes: NodeInfo[] = inputs.map((t, i) => ({
    name: `x${i}`,
    shape: [...t.shape],
    bound: range,
    value: new Var(t),
  }));
  const steps: ProgramStep[] = [];
  noGrad(() => {
    for (const ins of instructions) {
      const n = nodes.length;
      const ia = n - 1 - (ins.a % n);
      const ib = n - 1 - (ins.b % n);
      const rng = new Rng(ins.p);
      // The op the instruction names, or the next one in the table that applies (fits the
      // shapes, keeps values bounded and small); tanh, at index 0, always does.
      let c: Candidate | null = null;
      let value: Var | null = null;
      for (let t = 0; value === null; t++) {
        const k = (ins.kind + t) % BUILDERS.length;
        c = (t >= BUILDERS.length ? tanh : BUILDERS[k]!)(ia, ib, nodes, rng);
        if (c === null || c.bound > BOUND_LIMIT) continue;
        const v = c.apply(nodes.map((x) => x.value));
        if (v.size <= maxSize || t >= BUILDERS.length) value = v;
      }
      c = c!;
      const name = `v${n}`;
      nodes.push({ name, shape: [...value.shape], bound: c.bound, value });
      steps.push({
        name,
        op: c.op,
        text: c.text,
        shape: [...value.shape],
        args: c.args,
        bound: c.bound,
        apply: c.apply,
      });
    }
  });
  return steps;
}

function fmtValues(t: Tensor): string {
  const round = (x: unknown): unknown =>
    Array.isArray(x) ? x.map(round) : Number((x as number).toPrecision(6));
  return JSON.stringify(round(t.toArray()));
}

function makeProgram(
  inputs: Tensor[],
  instructions: readonly Instruction[],
  scalarOutput: boolean,
  o: Required<ProgramOptions>,
): Program {
  const steps = interpret(inputs, instructions, o.maxSize, o.range);
  // The output gathers every sink (a node no later node consumes), so no node is dead code.
  const n0 = inputs.length;
  const consumed = new Set(steps.flatMap((s) => s.args));
  const sinks = steps.flatMap((_step, k) => (consumed.has(n0 + k) && k < steps.length - 1 ? [] : [n0 + k]));
  const names = (k: number) => (k < n0 ? `x${k}` : steps[k - n0]!.name);
  const f = (...xs: Var[]): Var => {
    const nodes: Var[] = [...xs];
    for (const s of steps) nodes.push(s.apply(nodes));
    const out =
      sinks.length === 1
        ? nodes[sinks[0]!]!
        : op.concat(
            sinks.map((k) => op.reshape(nodes[k]!, [-1])),
            0,
          );
    return scalarOutput ? op.sum(out) : out;
  };
  const listing = (): string => {
    const lines = inputs.map((t, i) => `x${i}: ${shp(t.shape)} = ${fmtValues(t)}`);
    for (const s of steps) lines.push(`${s.name} = ${s.text}  → ${shp(s.shape)}`);
    const out =
      sinks.length === 1
        ? names(sinks[0]!)
        : `concat([${sinks.map((k) => `reshape(${names(k)}, [-1])`).join(', ')}], 0)`;
    lines.push(`out = ${scalarOutput ? `sum(${out})` : out}`);
    return `Program {\n  ${lines.join('\n  ')}\n}`;
  };
  return {
    inputs,
    f,
    steps,
    scalarOutput,
    toString: listing,
    [fc.toStringMethod]: listing,
  } as Program;
}

/**
 * Random differentiable programs over 1..`inputs` float64 inputs of mutually broadcastable
 * shapes. Each has up to `maxNodes` op nodes drawn from a table of unary ops (tanh, sigmoid,
 * neg, square, exp∘tanh, log(1 + x²), sqrt(1 + x²), 1/(1 + x²)), binary ops with broadcasting
 * (add, sub, mul, a/(1 + b²), pow(1 + a², tanh b), where), reductions (sum, mean over random
 * axes), matmul (all transpose flags; a·aᵀ when no partner fits), dense, and shape ops
 * (reshape, transpose, slice, pad, concat, broadcastTo, gather, scatterAdd). Operands are
 * drawn from all earlier nodes, so nodes are often consumed twice. The output is the last
 * node (with any other node no later node consumes, flattened and concatenated to it), or
 * its sum.
 *
 * `toString()` lists the program and its inputs, so a shrunk counterexample reads as code.
 */
export function arbProgram(options: ProgramOptions = {}): fc.Arbitrary<Program> {
  const o: Required<ProgramOptions> = {
    maxNodes: options.maxNodes ?? 6,
    inputs: options.inputs ?? 2,
    maxRank: options.maxRank ?? 3,
    maxDim: options.maxDim ?? 3,
    maxSize: options.maxSize ?? 36,
    range: options.range ?? 2,
  };
  // Unbiased: fast-check's bias towards small integers would make most nodes tanh of the last node.
  const instruction = fc.noBias(
    fc.record({ kind: fc.nat(1000), a: fc.nat(1000), b: fc.nat(1000), p: fc.nat(1 << 20) }),
  );
  const inputsArb = fc
    .integer({ min: 1, max: o.inputs })
    .chain((n) =>
      fc.noBias(arbBroadcastableShapes(n, { maxRank: o.maxRank, maxDim: o.maxDim, firstFull: true })),
    )
    .chain((shapes) => fc.tuple(...shapes.map((s) => arbTensor(s, { min: -o.range, max: o.range }))));
  return fc
    .tuple(inputsArb, fc.array(instruction, { minLength: 1, maxLength: o.maxNodes }), fc.boolean())
    .map(([inputs, instructions, scalarOutput]) => makeProgram(inputs, instructions, scalarOutput, o));
}
