/**
 * The op table for the gradient tests: one fast-check arbitrary of test cases per key of
 * GRAD_RULES. A case is float64 inputs, the function to differentiate, and the tolerances
 * (default gradcheck tolerances unless a case needs looser ones, as float32 casts do).
 * Each arbitrary draws random shapes and values from a domain where the op is smooth.
 */

import type { DenseActivation, Tensor } from '@chainrule/tensor';
import * as T from '@chainrule/tensor';
import fc from 'fast-check';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';
import {
  arbBroadcastableShapes,
  arbDistinctTensors,
  arbShape,
  arbTensor,
  clipDomain,
  type GradcheckOptions,
  OP_DOMAINS,
  type TensorOptions,
} from '../src/testing/index.ts';

/** One test case. */
export interface OpCase {
  /** A readable description of the call. */
  readonly label: string;
  /** The inputs (float64). */
  readonly inputs: Tensor[];
  /** The function to check. */
  readonly f: (...xs: Var[]) => Var;
  /** Tolerances, when the defaults do not apply. */
  readonly options?: GradcheckOptions;
}

const SH = { maxRank: 3, maxDim: 3 } as const;

function mkCase(
  label: string,
  inputs: Tensor[],
  f: (...xs: Var[]) => Var,
  options?: GradcheckOptions,
): OpCase {
  const show = () =>
    `${label} with ${inputs.map((t, i) => `x${i}: [${t.shape.join(',')}] ${JSON.stringify(t.toArray())}`).join('; ')}`;
  return { label, inputs, f, options, toString: show, [fc.toStringMethod]: show } as OpCase;
}

const unaryCase = (name: string, fn: (x: Var) => Var, dom: TensorOptions = {}) =>
  arbShape(SH)
    .chain((s) => arbTensor(s, dom))
    .map((x) => mkCase(`${name}(x0)`, [x], fn));

/** Binary op over two broadcastable Vars, or with a number on either side. */
function binaryCase(
  name: string,
  fn: (a: Var | number, b: Var | number) => Var,
  domA: TensorOptions = {},
  domB: TensorOptions = {},
  constants: { a: number; b: number } = { a: 0.7, b: 1.3 },
): fc.Arbitrary<OpCase> {
  const vars = arbBroadcastableShapes(2, SH)
    .chain(([sa, sb]) => fc.tuple(arbTensor(sa!, domA), arbTensor(sb!, domB)))
    .map(([a, b]) => mkCase(`${name}(x0, x1)`, [a, b], (x, y) => fn(x!, y!)));
  const left = arbShape(SH)
    .chain((s) => arbTensor(s, domB))
    .map((b) => mkCase(`${name}(${constants.a}, x0)`, [b], (y) => fn(constants.a, y!)));
  const right = arbShape(SH)
    .chain((s) => arbTensor(s, domA))
    .map((a) => mkCase(`${name}(x0, ${constants.b})`, [a], (x) => fn(x!, constants.b)));
  return fc.oneof({ arbitrary: vars, weight: 3 }, left, right);
}

/** Distinct values across both operands, so maximum/minimum never tie. */
function extremeBinaryCase(name: 'maximum' | 'minimum'): fc.Arbitrary<OpCase> {
  const fn = A[name];
  return arbBroadcastableShapes(2, SH)
    .chain(([sa, sb]) => arbDistinctTensors([sa!, sb!], OP_DOMAINS[name]))
    .map(([a, b]) => mkCase(`${name}(x0, x1)`, [a!, b!], (x, y) => fn(x!, y!)));
}

/** Axes to reduce: all (undefined), one (maybe negative), or a subset. */
function arbAxes(rank: number): fc.Arbitrary<number | number[] | undefined> {
  const all = fc.constant(undefined);
  if (rank === 0) return fc.oneof(all, fc.constant([] as number[]));
  const idx = Array.from({ length: rank }, (_, i) => i);
  return fc.oneof(
    all,
    fc.integer({ min: -rank, max: rank - 1 }),
    fc.subarray(idx, { minLength: 1 }),
    fc.constant([] as number[]),
  );
}

function reductionCase(name: 'sum' | 'max' | 'min'): fc.Arbitrary<OpCase> {
  const fn = A[name];
  return arbShape(SH).chain((s) =>
    fc
      .tuple(arbTensor(s, OP_DOMAINS[name] ?? {}), arbAxes(s.length), fc.boolean())
      .map(([x, axes, keep]) =>
        mkCase(`${name}(x0, ${JSON.stringify(axes) ?? 'all'}, keepDims=${keep})`, [x], (v) =>
          fn(v!, axes, keep),
        ),
      ),
  );
}

const matmulCase: fc.Arbitrary<OpCase> = fc
  .record({
    batch: arbBroadcastableShapes(2, { maxRank: 2, maxDim: 2 }),
    m: fc.integer({ min: 1, max: 3 }),
    k: fc.integer({ min: 1, max: 3 }),
    n: fc.integer({ min: 1, max: 3 }),
    tA: fc.boolean(),
    tB: fc.boolean(),
  })
  .chain(({ batch: [ba, bb], m, k, n, tA, tB }) => {
    const sa = [...ba!, ...(tA ? [k, m] : [m, k])];
    const sb = [...bb!, ...(tB ? [n, k] : [k, n])];
    return fc
      .tuple(arbTensor(sa), arbTensor(sb))
      .map(([a, b]) =>
        mkCase(`matmul(x0, x1, {transposeA: ${tA}, transposeB: ${tB}})`, [a, b], (x, y) =>
          A.matmul(x!, y!, { transposeA: tA, transposeB: tB }),
        ),
      );
  });

const ACTIVATIONS: DenseActivation[] = ['linear', 'relu', 'tanh', 'sigmoid'];

const fusedDenseCase: fc.Arbitrary<OpCase> = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    nIn: fc.integer({ min: 1, max: 3 }),
    nOut: fc.integer({ min: 1, max: 3 }),
    act: fc.constantFrom(...ACTIVATIONS),
    bias: fc.boolean(),
  })
  .chain(({ batch, nIn, nOut, act, bias }) =>
    fc
      .tuple(arbTensor([batch, nIn]), arbTensor([nIn, nOut]), arbTensor([nOut]))
      .filter(([x, w, b]) => {
        if (act !== 'relu') return true;
        // keep the pre-activation away from relu's kink
        const z = T.add(T.matmul(x, w), bias ? b : 0);
        return Array.from(z.dataSync()).every((v) => Math.abs(v) > 1e-3);
      })
      .map(([x, w, b]) =>
        bias
          ? mkCase(`dense(x0, x1, x2, '${act}')`, [x, w, b], (xv, wv, bv) => A.dense(xv!, wv!, bv!, act))
          : mkCase(`dense(x0, x1, undefined, '${act}')`, [x, w], (xv, wv) =>
              A.dense(xv!, wv!, undefined, act),
            ),
      ),
  );

/** Training-mode batch norm: every column spread out (a near-constant column makes 1/σ steep). */
const batchNormCase: fc.Arbitrary<OpCase> = fc
  .record({ batch: fc.integer({ min: 2, max: 4 }), features: fc.integer({ min: 1, max: 3 }) })
  .chain(({ batch, features }) =>
    fc
      .tuple(arbTensor([batch, features]), arbTensor([features]), arbTensor([features]))
      .filter(([x]) => {
        const v = T.variance(x, 0).dataSync();
        return Array.from(v).every((s) => s > 0.05);
      })
      .map(([x, gamma, beta]) =>
        mkCase(
          'batchNormTrain(x0, x1, x2, 1e-3).y',
          [x, gamma, beta],
          (xv, gv, bv) => A.batchNormTrain(xv!, gv!, bv!, 1e-3).y,
        ),
      ),
  );

const reshapeCase: fc.Arbitrary<OpCase> = arbShape(SH).chain((s) =>
  fc
    .tuple(
      arbTensor(s),
      fc.shuffledSubarray(s, { minLength: s.length, maxLength: s.length }),
      fc.array(fc.nat(3), { maxLength: 2 }),
      fc.boolean(),
    )
    .map(([x, dims, ones, infer]) => {
      const to = [...dims];
      for (const p of ones) to.splice(Math.min(p, to.length), 0, 1);
      if (infer && to.length > 0) to[0] = -1;
      return mkCase(`reshape(x0, ${JSON.stringify(to)})`, [x], (v) => A.reshape(v!, to));
    }),
);

const transposeCase: fc.Arbitrary<OpCase> = arbShape(SH).chain((s) => {
  const idx = s.map((_, i) => i);
  return fc
    .tuple(
      arbTensor(s),
      fc.option(fc.shuffledSubarray(idx, { minLength: s.length, maxLength: s.length }), { nil: undefined }),
    )
    .map(([x, perm]) =>
      mkCase(`transpose(x0, ${JSON.stringify(perm) ?? 'reversed'})`, [x], (v) => A.transpose(v!, perm)),
    );
});

const broadcastToCase: fc.Arbitrary<OpCase> = arbShape(SH).chain((full) =>
  fc
    .record({
      drop: fc.integer({ min: 0, max: full.length }),
      ones: fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
    })
    .chain(({ drop, ones }) => {
      const src = full.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
      return arbTensor(src).map((x) =>
        mkCase(`broadcastTo(x0, ${JSON.stringify(full)})`, [x], (v) => A.broadcastTo(v!, full)),
      );
    }),
);

const sliceCase: fc.Arbitrary<OpCase> = arbShape({ ...SH, minRank: 1 }).chain((s) =>
  fc
    .tuple(
      arbTensor(s),
      fc.tuple(...s.map((d) => fc.integer({ min: 0, max: d - 1 }))),
      fc.array(fc.nat(), { minLength: s.length, maxLength: s.length }),
      fc.boolean(),
    )
    .map(([x, begin, r, toEnd]) => {
      const size = s.map((d, i) => (toEnd && i === 0 ? -1 : 1 + (r[i]! % (d - begin[i]!))));
      return mkCase(`slice(x0, ${JSON.stringify(begin)}, ${JSON.stringify(size)})`, [x], (v) =>
        A.slice(v!, begin, size),
      );
    }),
);

const padCase: fc.Arbitrary<OpCase> = arbShape(SH).chain((s) =>
  fc
    .tuple(
      arbTensor(s),
      fc.array(fc.tuple(fc.integer({ min: -1, max: 2 }), fc.nat(2)), {
        minLength: s.length,
        maxLength: s.length,
      }),
      fc.constantFrom(0, -1.5),
    )
    // A negative width crops (at most half of a dimension here, so nothing is cropped twice).
    .map(([x, q, value]) => {
      const p = q.map(([b, a], i) => [Math.max(b, -Math.floor(s[i]! / 2)), a] as [number, number]);
      return mkCase(`pad(x0, ${JSON.stringify(p)}, ${value})`, [x], (v) => A.pad(v!, p, value));
    }),
);

const concatCase: fc.Arbitrary<OpCase> = arbShape({ ...SH, minRank: 1 }).chain((s) =>
  fc
    .record({
      axis: fc.integer({ min: 0, max: s.length - 1 }),
      negative: fc.boolean(),
      sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    })
    .chain(({ axis, negative, sizes }) =>
      fc.tuple(...sizes.map((d) => arbTensor(s.map((x, i) => (i === axis ? d : x))))).map((xs) => {
        const ax = negative ? axis - s.length : axis;
        return mkCase(`concat([${xs.map((_, i) => `x${i}`).join(', ')}], ${ax})`, xs, (...vs) =>
          A.concat(vs, ax),
        );
      }),
    ),
);

/** Indices with at least one repeat when there are two or more. */
function arbIndices(rows: number, length: fc.Arbitrary<number>): fc.Arbitrary<number[]> {
  return length.chain((n) =>
    fc.array(fc.integer({ min: 0, max: rows - 1 }), { minLength: n, maxLength: n }).map((idx) => {
      if (idx.length >= 2) idx[idx.length - 1] = idx[0]!;
      return idx;
    }),
  );
}

const gatherCase: fc.Arbitrary<OpCase> = arbShape({ ...SH, minRank: 1 }).chain((s) =>
  fc
    .tuple(arbTensor(s), arbIndices(s[0]!, fc.integer({ min: 1, max: 5 })))
    .map(([x, idx]) => mkCase(`gather(x0, ${JSON.stringify(idx)})`, [x], (v) => A.gather(v!, idx))),
);

const scatterAddCase: fc.Arbitrary<OpCase> = fc
  .record({
    rest: arbShape({ maxRank: 2, maxDim: 3 }),
    n: fc.integer({ min: 1, max: 5 }),
    rows: fc.integer({ min: 1, max: 3 }),
  })
  .chain(({ rest, n, rows }) =>
    fc
      .tuple(arbTensor([n, ...rest]), arbIndices(rows, fc.constant(n)))
      .map(([u, idx]) =>
        mkCase(`scatterAdd(x0, ${JSON.stringify(idx)}, ${rows})`, [u], (v) => A.scatterAdd(v!, idx, rows)),
      ),
  );

const whereCase: fc.Arbitrary<OpCase> = arbBroadcastableShapes(3, SH).chain(([sc, sa, sb]) => {
  const size = sc!.reduce((x, y) => x * y, 1);
  return fc
    .tuple(
      fc.array(fc.boolean(), { minLength: size, maxLength: size }),
      arbTensor(sa!),
      arbTensor(sb!),
      fc.constantFrom('vars', 'left', 'right'),
    )
    .map(([bits, a, b, form]) => {
      const cond = T.tensor(
        bits.map((x) => (x ? 1 : 0)),
        { shape: sc!, dtype: 'float64' },
      );
      const c = A.input(cond); // a constant: cond gets no gradient and is not perturbed
      const text = `cond ${JSON.stringify(cond.toArray())}`;
      if (form === 'left') return mkCase(`where(${text}, 0.5, x0)`, [b], (y) => A.where(c, 0.5, y!));
      if (form === 'right') return mkCase(`where(${text}, x0, -0.5)`, [a], (x) => A.where(c, x!, -0.5));
      return mkCase(`where(${text}, x0, x1)`, [a, b], (x, y) => A.where(c, x!, y!));
    });
});

const clipCase: fc.Arbitrary<OpCase> = fc
  .record({ lo: fc.integer({ min: -150, max: 50 }), width: fc.integer({ min: 20, max: 150 }) })
  .chain(({ lo, width }) => {
    const min = lo / 100;
    const max = (lo + width) / 100;
    return arbShape(SH)
      .chain((s) => arbTensor(s, clipDomain(min, max)))
      .map((x) => mkCase(`clip(x0, ${min}, ${max})`, [x], (v) => A.clip(v!, min, max)));
  });

const castCase: fc.Arbitrary<OpCase> = arbShape(SH).chain((s) =>
  fc.tuple(arbTensor(s), fc.boolean()).map(([x, viaFloat32]) =>
    viaFloat32
      ? // float32 rounding (~1e-7) over a step of 1e-3 is ~1e-4 of noise: loosen the tolerance.
        mkCase("cast(cast(x0, 'float32'), 'float64')", [x], (v) => A.cast(A.cast(v!, 'float32'), 'float64'), {
          eps: 1e-3,
          atol: 1e-3,
          rtol: 1e-3,
        })
      : mkCase("cast(x0, 'float64')", [x], (v) => A.cast(v!, 'float64')),
  ),
);

const powCase: fc.Arbitrary<OpCase> = fc.oneof(
  binaryCase('pow', A.pow, OP_DOMAINS.pow, { min: -2, max: 2 }, { a: 2.5, b: 3 }),
  arbShape(SH)
    .chain((s) => arbTensor(s, OP_DOMAINS.pow))
    .map((x) => mkCase('pow(x0, 2.5)', [x], (v) => A.pow(v!, 2.5))),
);

/** Every key of GRAD_RULES, mapped to its cases. */
export const OP_CASES: Readonly<Record<string, fc.Arbitrary<OpCase>>> = {
  neg: unaryCase('neg', A.neg),
  exp: unaryCase('exp', A.exp),
  log: unaryCase('log', A.log, OP_DOMAINS.log),
  sqrt: unaryCase('sqrt', A.sqrt, OP_DOMAINS.sqrt),
  square: unaryCase('square', A.square),
  abs: unaryCase('abs', A.abs, OP_DOMAINS.abs),
  sign: unaryCase('sign', A.sign, OP_DOMAINS.sign),
  reciprocal: fc.oneof(
    unaryCase('reciprocal', A.reciprocal, OP_DOMAINS.reciprocal),
    unaryCase('reciprocal', A.reciprocal, OP_DOMAINS.div), // negative values too
  ),
  tanh: unaryCase('tanh', A.tanh, { min: -3, max: 3 }),
  sigmoid: unaryCase('sigmoid', A.sigmoid, { min: -4, max: 4 }),
  relu: unaryCase('relu', A.relu, OP_DOMAINS.relu),
  sin: unaryCase('sin', A.sin, { min: -4, max: 4 }),
  cos: unaryCase('cos', A.cos, { min: -4, max: 4 }),
  log1p: unaryCase('log1p', A.log1p, { min: -0.7, max: 3 }),
  expm1: unaryCase('expm1', A.expm1, { min: -3, max: 3 }),
  erf: unaryCase('erf', A.erf, { min: -2.5, max: 2.5 }),
  clip: clipCase,
  add: binaryCase('add', A.add),
  sub: binaryCase('sub', A.sub),
  mul: binaryCase('mul', A.mul),
  div: binaryCase('div', A.div, {}, OP_DOMAINS.div),
  pow: powCase,
  // Away from the origin, where the gradient is NaN (as PyTorch's).
  atan2: binaryCase(
    'atan2',
    A.atan2,
    { min: -2, max: 2, avoid: (v) => Math.abs(v) < 0.3 },
    {
      min: -2,
      max: 2,
      avoid: (v) => Math.abs(v) < 0.3,
    },
  ),
  maximum: extremeBinaryCase('maximum'),
  minimum: extremeBinaryCase('minimum'),
  where: whereCase,
  sum: reductionCase('sum'),
  max: reductionCase('max'),
  min: reductionCase('min'),
  matmul: matmulCase,
  fusedDense: fusedDenseCase,
  reshape: reshapeCase,
  transpose: transposeCase,
  broadcastTo: broadcastToCase,
  slice: sliceCase,
  pad: padCase,
  concat: concatCase,
  gather: gatherCase,
  scatterAdd: scatterAddCase,
  cast: castCase,
  batchNorm: batchNormCase,
};
