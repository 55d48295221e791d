/**
 * Source generation for gpu.js kernels.
 *
 * Every gpujs kernel has a flat 1-D output (`this.thread.x` is the row-major output
 * index) and flat 1-D inputs. Shapes are baked into the source as literals, so a kernel
 * is specific to one shape signature and is compiled once per signature (backend.ts
 * caches it). The sources use the JavaScript subset gpu.js translates to GLSL and to
 * WebAssembly: `var`, arithmetic, `Math.*`, ternaries and loops with literal bounds.
 *
 * Index arithmetic runs in float32 on every gpu.js backend. A quotient is computed as
 * floor((r + 0.5) / s) and then corrected by one in either direction, which is exact for
 * every index below 2^24 (the products q·s are exact there); kernels are only used for
 * tensors below that size.
 * @module
 */
import type { Activation, BinaryOp, ComparisonOp, UnaryOp } from '../../kernels.ts';

/** The largest element count (of any input or output) gpujs kernels accept: 2^24. */
export const MAX_ELEMENTS = 1 << 24;

/** Format an integer as a float literal. */
export function lit(n: number): string {
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got ${n}`);
  return `${n}.0`;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** Strides reading `inShape` broadcast to `outShape` (0 on broadcast dimensions). */
export function bcastStrides(inShape: readonly number[], outShape: readonly number[]): number[] {
  const s = stridesOf(inShape);
  const out = new Array<number>(outShape.length).fill(0);
  const off = outShape.length - inShape.length;
  for (let i = 0; i < inShape.length; i++) out[off + i] = inShape[i] === 1 ? 0 : s[i]!;
  return out;
}

/**
 * Drop dimensions of size 1 and merge neighbouring dimensions that every operand walks
 * contiguously (stride[d] = stride[d+1]·shape[d+1], which includes both being broadcast).
 * Fewer dimensions means fewer divisions per element.
 */
export function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = sh.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k]![last] === s[d]! * shape[d]!)) {
      sh[last] = sh[last]! * shape[d]!;
      strides.forEach((s, k) => {
        st[k]![last] = s[d]!;
      });
    } else {
      sh.push(shape[d]!);
      strides.forEach((s, k) => {
        st[k]!.push(s[d]!);
      });
    }
  }
  return { shape: sh, strides: st };
}

/** The code that splits the output index and the offsets it yields. */
export interface Unravel {
  /** Statements (ending in newlines). */
  readonly code: string;
  /** For each operand, an expression for its offset (a variable name or a literal). */
  readonly offsets: string[];
  /** The collapsed output shape and, per dimension, the variable holding its index. */
  readonly shape: number[];
  readonly index: string[];
}

/**
 * Statements that split `this.thread.x` over `shape` (row-major) and compute, for each
 * operand, the offset sum(index[d]·strides[d]). Offsets are named `<prefix>0`, ...
 * With `keepDims`, dimensions are not collapsed (callers that need per-dimension indices).
 */
export function unravel(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  prefix = 'o',
  keepDims = false,
): Unravel {
  const c = keepDims ? { shape: [...shape], strides: strides.map((s) => [...s]) } : collapse(shape, strides);
  const rank = c.shape.length;
  const outStr = stridesOf(c.shape);
  let code = 'var i = this.thread.x;\n';
  const index: string[] = [];
  if (rank > 0) code += 'var r0 = i;\n';
  for (let d = 0; d < rank; d++) {
    const q = `q${d}`;
    index.push(q);
    if (d === rank - 1) {
      code += `var ${q} = r${d};\n`;
      break;
    }
    const s = lit(outStr[d]!);
    code += `var ${q} = Math.floor((r${d} + 0.5) / ${s});\n`;
    code += `${q} = ${q} * ${s} > r${d} ? ${q} - 1.0 : ${q};\n`;
    code += `${q} = (${q} + 1.0) * ${s} <= r${d} ? ${q} + 1.0 : ${q};\n`;
    code += `var r${d + 1} = r${d} - ${q} * ${s};\n`;
  }
  const offsets = c.strides.map((st, k) => {
    // Identical to the output layout: the offset is the output index itself.
    if (rank > 0 && st.every((v, d) => v === outStr[d])) return 'i';
    const terms: string[] = [];
    st.forEach((v, d) => {
      if (v === 0 || c.shape[d] === 1) return;
      terms.push(v === 1 ? index[d]! : `${index[d]} * ${lit(v)}`);
    });
    if (terms.length === 0) return '0.0';
    const name = `${prefix}${k}`;
    code += `var ${name} = ${terms.join(' + ')};\n`;
    return name;
  });
  return { code, offsets, shape: c.shape, index };
}

/**
 * The sum of index expressions, with literal terms folded into one (gpu.js's GLSL output
 * rejects an array index made only of literals, such as `0.0 + 1.0`). Empty: `0.0`.
 */
export function sumExpr(terms: readonly (string | number)[]): string {
  let constant = 0;
  const vars: string[] = [];
  for (const t of terms) {
    if (typeof t === 'number') constant += t;
    else if (/^-?\d+(\.\d+)?$/.test(t)) constant += Number(t);
    else vars.push(t);
  }
  if (constant !== 0 || vars.length === 0) vars.push(lit(constant));
  return vars.join(' + ');
}

/** A kernel function source with parameters `params` and body `body`. */
export function fn(params: readonly string[], body: string): string {
  return `function (${params.join(', ')}) {\n${body}}`;
}

/**
 * tanh in float32 without GLSL's tanh (ES 1.00 has none). For |v| < 0.625 an odd
 * polynomial, Cephes' tanhf (relative error ~1e-7): the exponential form
 * (1 − e^{−2|v|})/(1 + e^{−2|v|}) cancels near 0 (tanh(4.58e-7) came out 2.4% low, and
 * tanh(1.2e-38) was 0), while v + v³·p(v²) is v itself once v² underflows. From 0.625 up
 * the exponential form loses nothing and saturates to ±1 without overflow.
 */
const TANH_SMALL =
  'v + v * (v * v) * ((((-0.00570498872745 * (v * v) + 0.0206390887954) * (v * v) - 0.0537397155531) * (v * v) + 0.133314422036) * (v * v) - 0.333332819422)';
const TANH_LARGE =
  '(v < 0.0 ? -1.0 : 1.0) * (1.0 - Math.exp(-2.0 * Math.abs(v))) / (1.0 + Math.exp(-2.0 * Math.abs(v)))';

/**
 * Unary expressions over a variable `v`, by op name. tanh and sigmoid are written in
 * forms that do not overflow for large |v| (GLSL ES 1.00 has no tanh, and e^v/(1+e^v)
 * is Infinity/Infinity for large v).
 */
export const UNARY_EXPR: Partial<Record<UnaryOp, string>> = {
  neg: '-v',
  exp: 'Math.exp(v)',
  log: 'Math.log(v)',
  sqrt: 'Math.sqrt(v)',
  square: 'v * v',
  abs: 'Math.abs(v)',
  sign: 'v > 0.0 ? 1.0 : (v < 0.0 ? -1.0 : 0.0)',
  reciprocal: '1.0 / v',
  // NaN fails the test and takes the exponential form, which keeps it NaN.
  tanh: `Math.abs(v) < 0.625 ? ${TANH_SMALL} : ${TANH_LARGE}`,
  sigmoid: 'v >= 0.0 ? 1.0 / (1.0 + Math.exp(-v)) : Math.exp(v) / (1.0 + Math.exp(v))',
  // NaN < 0 is false, so NaN passes through as in the js kernel.
  relu: 'v < 0.0 ? 0.0 : v',
  // GLSL sin/cos (gpu.js maps Math.sin/Math.cos): drivers reduce large arguments with
  // float32 π, so accuracy falls with |v|; the parity test bounds it on [−100, 100].
  sin: 'Math.sin(v)',
  cos: 'Math.cos(v)',
};

/**
 * Binary expressions over variables `a` and `b`. GLSL's pow is undefined for a <= 0, so
 * pow spells out JavaScript's cases: b = 0 gives 1, a = 0 gives 0 or Infinity, a negative
 * base with an integer exponent takes the sign of the parity, and with a non-integer
 * exponent gives NaN (written sqrt(a) for a < 0, as there is no NaN literal).
 */
export const BINARY_EXPR: Partial<Record<BinaryOp | ComparisonOp, string>> = {
  add: 'a + b',
  sub: 'a - b',
  mul: 'a * b',
  div: 'a / b',
  pow:
    'b == 0.0 ? 1.0 : (a == 0.0 ? (b > 0.0 ? 0.0 : 1.0 / a) : (a > 0.0 ? Math.pow(a, b) : ' +
    '(Math.floor(b) != b ? Math.sqrt(a) : ' +
    '(Math.floor(b * 0.5) * 2.0 == b ? Math.pow(-a, b) : -Math.pow(-a, b)))))',
  maximum: 'Math.max(a, b)',
  minimum: 'Math.min(a, b)',
  equal: 'a == b ? 1.0 : 0.0',
  notEqual: 'a != b ? 1.0 : 0.0',
  less: 'a < b ? 1.0 : 0.0',
  lessEqual: 'a <= b ? 1.0 : 0.0',
  greater: 'a > b ? 1.0 : 0.0',
  greaterEqual: 'a >= b ? 1.0 : 0.0',
};

/** The activation of the fused dense forward, applied to `v`. */
export function activationExpr(activation: Activation): string {
  if (activation === 'linear') return 'v';
  const e = UNARY_EXPR[activation];
  if (!e) throw new Error(`unknown activation ${activation}`);
  return e;
}
