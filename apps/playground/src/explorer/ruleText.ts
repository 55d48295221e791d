/**
 * The gradient rule of each op in words, as `GRAD_RULES` in packages/autograd/src/rules.ts
 * writes it (g is the upstream gradient, y the op's output).
 * @module
 */
import type { Primitive } from '@chainrule/autograd';

/** One text per primitive: a primitive added to the contract without its text does not compile. */
export const RULE_TEXT: Readonly<Record<Primitive, string>> = {
  neg: 'dx = −g',
  exp: 'dx = g · y   (y = eˣ)',
  log: 'dx = g / x',
  sqrt: 'dx = g / (2y)',
  square: 'dx = g · 2x',
  abs: 'dx = g · sign(x)',
  sign: 'dx = 0 (a zero gradient everywhere)',
  reciprocal: 'dx = −g · y²',
  tanh: 'dx = g · (1 − y²)',
  sigmoid: 'dx = g · y(1 − y)',
  relu: 'dx = g where x > 0, else 0 (selected: 0 even where g is ∞)',
  sin: 'dx = g · cos x',
  cos: 'dx = −g · sin x',
  log1p: 'dx = g / (1 + x)',
  expm1: 'dx = g · eˣ',
  erf: 'dx = g · (2/√π) e^(−x²)',
  atan2: 'dy = g · x / (x² + y²),  dx = −g · y / (x² + y²)   (then un-broadcast)',
  clip: 'dx = g where min ≤ x ≤ max, else 0 (selected)',
  add: 'da = g,  db = g   (then un-broadcast)',
  sub: 'da = g,  db = −g   (then un-broadcast)',
  mul: 'da = g · b,  db = g · a   (then un-broadcast)',
  div: 'da = g / b,  db = −g · a / b²   (then un-broadcast)',
  pow: 'da = g · b · aᵇ⁻¹ (0 where b = 0),  db = g · y · ln a (0 where a = 0, b ≥ 0)',
  maximum: 'the gradient goes to the larger input (half to each at a tie)',
  minimum: 'the gradient goes to the smaller input (half to each at a tie)',
  where: 'g goes to a where the condition holds, to b elsewhere',
  sum: 'dx = g broadcast back over the summed axes',
  max: 'g shared equally by the elements equal to the max',
  min: 'g shared equally by the elements equal to the min',
  matmul: 'C = A·B:  dA = g·Bᵀ,  dB = Aᵀ·g',
  fusedDense: 'dz through the activation, then dx = dz·Wᵀ, dW = xᵀ·dz, db = Σ dz',
  reshape: 'dx = g reshaped to x',
  transpose: 'dx = g transposed back',
  broadcastTo: 'dx = g (the engine un-broadcasts)',
  slice: 'dx = g padded with zeros',
  pad: 'dx = the slice of g (the padding value is a constant)',
  concat: 'each input gets its slice of g',
  gather: 'dx = scatterAdd(g) along the same axis',
  scatterAdd: 'dx = gather(g) along the same axis',
  cast: 'dx = g cast back',
  batchNorm: 'dx = σ⁻¹(gγ − mean(gγ) − x̂·mean(gγ·x̂)), dγ = Σ g·x̂, dβ = Σ g',
};
