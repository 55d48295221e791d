/**
 * The gradient table: one rule per primitive op.
 *
 * A rule receives the upstream gradient `g` (shaped like the op's output) and the node's
 * inputs and output, and returns one gradient per input, or `null` for "no gradient".
 * Rules are written with the differentiable ops of `ops.ts`, so when backward runs with
 * `createGraph`, the backward pass is itself recorded and can be differentiated again.
 *
 * A rule may return a gradient with the *output's* broadcast shape: the engine sums it back
 * to the input's shape in one place (`unbroadcast` in engine.ts). The one exception is
 * `fusedDense`, whose bias gradient is the sum of dz over the batch by definition.
 * @module
 */

import type { DenseActivation } from '@chainrule/tensor';
import * as T from '@chainrule/tensor';
import * as op from './ops.ts';
import { isGradEnabled, Var } from './var.ts';

/** What a rule sees. `A` types the attributes (for ops made with `defineOp`). */
// biome-ignore lint/suspicious/noExplicitAny: built-in rules read the attributes their op recorded.
export interface RuleContext<A = Record<string, any>> {
  /** The op's inputs, in order. */
  readonly inputs: readonly Var[];
  /** The op's output. */
  readonly output: Var;
  /** The op's attributes. */
  readonly attrs: Readonly<A>;
  /** Which inputs need a gradient; a rule may skip work for the others. */
  readonly needs: readonly boolean[];
}

/**
 * A gradient rule: upstream gradient in, one gradient (or null for none) per input out.
 * The engine checks the result: one entry per input, each a Var of its input's dtype and of
 * its input's shape or a shape the input broadcasts to.
 */
// biome-ignore lint/suspicious/noExplicitAny: see RuleContext.
export type GradRule<A = Record<string, any>> = (g: Var, ctx: RuleContext<A>) => (Var | null)[];

/** The inverse of a permutation. */
function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

/**
 * The entries of per-dimension lists side by side, one triple per dimension of `shape`. The
 * op recorded one entry per dimension; a list of another length is an internal error.
 */
function zipDims(
  opName: string,
  shape: readonly number[],
  a: readonly number[],
  b: readonly number[],
): [number, number, number][] {
  if (a.length !== shape.length || b.length !== shape.length) {
    throw new T.ChainruleError(
      opName,
      `recorded ${a.length} and ${b.length} entries for rank ${shape.length}`,
    );
  }
  return shape.map((d, i) => [d, a[i] as number, b[i] as number]);
}

/** Zeros shaped like x: a constant (it records nothing, so it has no gradient of its own). */
function zerosLike(x: Var): Var {
  return new Var(T.zeros(x.shape, { dtype: x.dtype }));
}

/** Reinsert reduced axes as size-1 dimensions so `g` broadcasts against the input. */
function keepDimsShape(inputShape: readonly number[], axes: readonly number[]): number[] {
  return inputShape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** For max and min: share g equally between the elements equal to the extreme value. */
const extremeRule: GradRule<op.PrimitiveAttrs['max' | 'min']> = (g, { inputs: [x], output: y, attrs }) => {
  const keep = keepDimsShape(x!.shape, attrs.axes);
  const yk = op.reshape(y, keep);
  const mask = op.equal(x!, yk); // constant: which elements attained the extreme
  const count = op.sum(mask, attrs.axes, true);
  return [op.div(op.mul(op.reshape(g, keep), mask), count)];
};

/**
 * g where the constant mask is nonzero, else 0. Selecting (not multiplying by a 0/1 mask)
 * keeps an infinite or NaN upstream gradient out of the masked elements: inf·0 would be
 * NaN, where the true derivative is 0. PyTorch's `threshold_backward` and `where` do the same.
 */
function select(mask: Var, g: Var): Var {
  return op.where(mask, g, 0);
}

/**
 * The gradients of maximum(a, b) (or minimum, with `aWins` = a < b): the winner takes g, and
 * at a tie each side takes g/2, as PyTorch's `maximum`/`minimum` backward do.
 */
function tieSplit(g: Var, aWins: Var, bWins: Var, tie: Var): [Var, Var] {
  const half = select(tie, op.mul(g, 0.5));
  return [op.where(aWins, g, half), op.where(bWins, g, half)];
}

/**
 * The table: one rule per primitive. Its type lists every name in `PRIMITIVES`, so a
 * primitive without a rule does not compile, and each rule's `attrs` has its primitive's type
 * (`PrimitiveAttrs[P]`), as jax-js types its rule tables.
 */
export const GRAD_RULES: { readonly [P in op.Primitive]: GradRule<op.PrimitiveAttrs[P]> } = {
  // ---- elementwise unary: d/dx f(x) = f'(x), times g
  neg: (g) => [op.neg(g)],
  exp: (g, { output: y }) => [op.mul(g, y)],
  log: (g, { inputs: [x] }) => [op.div(g, x!)],
  sqrt: (g, { output: y }) => [op.div(g, op.mul(y, 2))],
  square: (g, { inputs: [x] }) => [op.mul(g, op.mul(x!, 2))],
  // Subgradient at 0: sign(0) = 0.
  abs: (g, { inputs: [x] }) => [op.mul(g, op.sign(x!))],
  // The derivative of sign is 0 wherever it exists; 0 everywhere, as PyTorch's sign_backward
  // (zeros_like): a zero gradient, not "no gradient", so grad() and .grad see zeros.
  sign: (_g, { inputs: [x] }) => [zerosLike(x!)],
  reciprocal: (g, { output: y }) => [op.neg(op.mul(g, op.square(y)))],
  tanh: (g, { output: y }) => [op.mul(g, op.sub(1, op.square(y)))],
  sigmoid: (g, { output: y }) => [op.mul(g, op.mul(y, op.sub(1, y)))],
  // Subgradient at 0: 0. PyTorch's threshold_backward zeroes g where x <= 0 and passes it
  // elsewhere, NaN included (NaN <= 0 is false), so the mask is "not x <= 0", not "x > 0".
  relu: (g, { inputs: [x] }) => [op.where(op.lessEqual(x!, 0), 0, g)],
  sin: (g, { inputs: [x] }) => [op.mul(g, op.cos(x!))],
  cos: (g, { inputs: [x] }) => [op.neg(op.mul(g, op.sin(x!)))],
  log1p: (g, { inputs: [x] }) => [op.div(g, op.add(x!, 1))],
  // d/dx (eˣ − 1) = eˣ, computed as exp(x): y + 1 would round to 0 for x below −37.
  expm1: (g, { inputs: [x] }) => [op.mul(g, op.exp(x!))],
  // d/dx erf x = (2/√π)·e^(−x²)
  erf: (g, { inputs: [x] }) => [op.mul(g, op.mul(op.exp(op.neg(op.square(x!))), 2 / Math.sqrt(Math.PI)))],
  // g on the closed interval [min, max], 0 outside (selected, as PyTorch's clamp_backward).
  clip: (g, { inputs: [x], attrs }) => [
    select(op.mul(op.greaterEqual(x!, attrs.min), op.lessEqual(x!, attrs.max)), g),
  ],

  // ---- elementwise binary (the engine un-broadcasts the results)
  add: (g, { needs }) => [needs[0] ? g : null, needs[1] ? g : null],
  sub: (g, { needs }) => [needs[0] ? g : null, needs[1] ? op.neg(g) : null],
  mul: (g, { inputs: [a, b], needs }) => [needs[0] ? op.mul(g, b!) : null, needs[1] ? op.mul(g, a!) : null],
  div: (g, { inputs: [a, b], needs }) => [
    needs[0] ? op.div(g, b!) : null,
    needs[1] ? op.neg(op.div(op.mul(g, a!), op.square(b!))) : null,
  ],
  // d/da aᵇ = b·aᵇ⁻¹, defined as 0 where b = 0 (PyTorch's pow_backward_self), so a⁰ has
  // gradient 0 even at a = 0.  d/db aᵇ = aᵇ·ln a, defined as 0 where a = 0 and b ≥ 0
  // (PyTorch's pow_backward_exponent) instead of 0·(−∞) = NaN. ln a is NaN for a < 0, so
  // that term is only computed when b needs it. Where a is masked, ln sees 1 instead, so
  // neither this gradient nor its own gradient (createGraph) meets ln 0.
  pow: (g, { inputs: [a, b], output: y, needs }) => {
    let da: Var | null = null;
    let db: Var | null = null;
    if (needs[0]) {
      // Where b = 0 the base is replaced by 1 before aᵇ⁻¹ is formed, so the masked branch
      // is finite: at a = 0 it would be 0⁻¹ = ∞, and its own derivative (createGraph)
      // would send 0·∞ = NaN through the select. The second derivative of a⁰ is then 0, as
      // PyTorch's x.pow(0.0) (a constant) gives; its tensor-exponent path gives that NaN.
      const bZero = op.equal(b!, 0);
      const d = op.mul(g, op.mul(b!, op.pow(op.where(bZero, 1, a!), op.sub(b!, 1))));
      da = op.where(bZero, 0, d);
    }
    if (needs[1]) {
      const baseZero = op.mul(op.equal(a!, 0), op.greaterEqual(b!, 0));
      db = op.mul(g, op.mul(y, op.log(op.where(baseZero, 1, a!))));
    }
    return [da, db];
  },
  // atan2(y, x): d/dy = x/(x² + y²), d/dx = −y/(x² + y²); NaN at (0, 0), as PyTorch's atan2_backward.
  atan2: (g, { inputs: [y, x], needs }) => {
    const scaled = op.div(g, op.add(op.square(x!), op.square(y!)));
    return [needs[0] ? op.mul(scaled, x!) : null, needs[1] ? op.neg(op.mul(scaled, y!)) : null];
  },
  // At a tie (a == b) each side gets half of g (PyTorch's convention).
  maximum: (g, { inputs: [a, b] }) => tieSplit(g, op.greater(a!, b!), op.less(a!, b!), op.equal(a!, b!)),
  minimum: (g, { inputs: [a, b] }) => tieSplit(g, op.less(a!, b!), op.greater(a!, b!), op.equal(a!, b!)),
  where: (g, { inputs: [c] }) => [null, op.where(c!, g, 0), op.where(c!, 0, g)],

  // ---- reductions: spread g back over the reduced axes
  sum: (g, { inputs: [x], attrs }) => [
    op.broadcastTo(op.reshape(g, keepDimsShape(x!.shape, attrs.axes)), x!.shape),
  ],
  max: extremeRule,
  min: extremeRule,

  // ---- matmul. With C = op(A)·op(B), op = identity or transpose:
  //   C = A B    : dA = g Bᵀ,   dB = Aᵀ g
  //   C = Aᵀ B   : dA = B gᵀ,   dB = A g
  //   C = A Bᵀ   : dA = g B,    dB = gᵀ A
  //   C = Aᵀ Bᵀ  : dA = Bᵀ gᵀ,  dB = gᵀ Aᵀ
  // Broadcast batch dimensions are summed by the engine's un-broadcast.
  matmul: (g, { inputs: [a, b], attrs, needs }) => {
    const { transposeA: tA, transposeB: tB } = attrs;
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

  // ---- fused dense y = act(z), z = x W + b: first through the activation, then as matmul + add.
  fusedDense: (g, { inputs: [x, w, b], output: y, attrs, needs }) => {
    const dz = activationGrad(g, y, attrs.activation);
    return [
      needs[0] ? op.matmul(dz, w!, { transposeB: true }) : null,
      needs[1] ? op.matmul(x!, dz, { transposeA: true }) : null,
      b && needs[2] ? op.sum(dz, 0) : null,
    ];
  },

  // ---- shape ops: move g back to where each element came from
  reshape: (g, { inputs: [x] }) => [op.reshape(g, x!.shape)],
  transpose: (g, { attrs }) => [op.transpose(g, inversePerm(attrs.perm))],
  broadcastTo: (g) => [g], // the engine's un-broadcast does the summing
  // The block [begin, begin + size) of each dimension gets g; zeros before and after it.
  slice: (g, { inputs: [x], attrs }) => [
    op.pad(
      g,
      zipDims('slice', x!.shape, attrs.begin, attrs.size).map(
        ([d, b, n]) => [b, d - b - n] as [number, number],
      ),
    ),
  ],
  // The padded elements are constants (attrs.value): only the copied block gets g.
  pad: (g, { inputs: [x], attrs }) => [
    op.slice(
      g,
      attrs.paddings.map((p) => p[0]),
      x!.shape,
    ),
  ],
  concat: (g, { inputs, attrs }) => {
    let offset = 0;
    return inputs.map((x) => {
      const begin = x.shape.map((_, d) => (d === attrs.axis ? offset : 0));
      offset += x.shape[attrs.axis] ?? 0; // the axis exists: concat normalised it
      return op.slice(g, begin, x.shape);
    });
  },
  // gather and scatterAdd are adjoint along the same axis (flat indices: rank is a reshape).
  gather: (g, { attrs }) => [op.scatterAdd(g, attrs.indices, attrs.size, attrs.axis)],
  scatterAdd: (g, { attrs }) => [op.gather(g, attrs.indices, attrs.axis)],
  cast: (g, { inputs: [x] }) => [op.cast(g, x!.dtype)],

  // y = γ·x̂ + β with x̂ = (x − μ)·σ⁻¹ over the batch. When this backward is not itself being
  // recorded (no createGraph), one fused kernel gives all three gradients. Recorded, the same
  // formulas are written with ops, so their own gradients (second derivatives) follow.
  batchNorm: (g, { inputs: [x, gamma], attrs }) => {
    if (!isGradEnabled()) {
      const r = T.batchNormGrad(g.value, x!.value, gamma!.value, attrs.eps);
      return [new Var(r.dx), new Var(r.dgamma), new Var(r.dbeta)];
    }
    const c = op.sub(x!, op.mean(x!, 0, true));
    const inv = op.reciprocal(op.sqrt(op.add(op.mean(op.square(c), 0, true), attrs.eps)));
    const xhat = op.mul(c, inv);
    const dxhat = op.mul(g, gamma!);
    // dx = σ⁻¹·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) (Ioffe & Szegedy 2015, the backward of Alg. 1)
    const dx = op.mul(
      inv,
      op.sub(op.sub(dxhat, op.mean(dxhat, 0, true)), op.mul(xhat, op.mean(op.mul(dxhat, xhat), 0, true))),
    );
    return [dx, op.sum(op.mul(g, xhat), 0), op.sum(g, 0)];
  },
};

/**
 * dL/dz for y = act(z), given dL/dy = g. The derivative is written with y itself: y is the
 * output of this fused node, so under `createGraph` its own gradient flows back through
 * this same rule, and second derivatives come out right.
 */
function activationGrad(g: Var, y: Var, act: DenseActivation): Var {
  switch (act) {
    case 'linear':
      return g;
    case 'relu':
      // y <= 0 exactly where z <= 0; subgradient 0 at 0; g passes at NaN, as relu's rule
      return op.where(op.lessEqual(y, 0), 0, g);
    case 'tanh':
      return op.mul(g, op.sub(1, op.square(y)));
    case 'sigmoid':
      return op.mul(g, op.mul(y, op.sub(1, y)));
  }
}
