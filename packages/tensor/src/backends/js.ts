/**
 * The `js` backend: plain TypeScript loops over Float32Array / Float64Array.
 *
 * This is the reference implementation. It is written to be read, and every other
 * backend is tested against it. Each kernel receives validated inputs and outputs that
 * are already allocated with their final shapes (see `run.ts`).
 * @module
 */
import { type Backend, type KernelArgs, registerBackend, registerKernel, type Storage } from '../backend.ts';
import { allocTyped, type DType, type TypedArray } from '../dtype.ts';
import {
  type AdamAttrs,
  type BatchNormAttrs,
  BINARY_OPS,
  type BinaryOp,
  COMPARISON_OPS,
  type ComparisonOp,
  type FusedDenseAttrs,
  type IndexAttrs,
  type LerpAttrs,
  type MatmulAttrs,
  type PadAttrs,
  UNARY_OPS,
  type UnaryOp,
} from '../kernels.ts';
import { broadcastStrides, stridesOf } from '../shape.ts';
import { erf } from '../special.ts';
import type { Tensor } from '../tensor.ts';

/** Storage of the `js` backend: a typed array. */
export interface JsStorage extends Storage {
  /** The elements, row-major. */
  data: TypedArray;
}

/** The `js` backend object. */
export const jsBackend: Backend = {
  name: 'js',
  alloc(dtype: DType, size: number): JsStorage {
    return { backend: jsBackend, refs: 0, data: allocTyped(dtype, size) };
  },
  fromTyped(data: TypedArray): JsStorage {
    return { backend: jsBackend, refs: 0, data: data.slice() };
  },
  read(storage: Storage): TypedArray {
    return (storage as JsStorage).data.slice();
  },
  free(storage: Storage): void {
    (storage as JsStorage).data = new Float32Array(0);
  },
  supportsDType(): boolean {
    return true;
  },
  replayable: true,
  fill(storage: Storage, _dtype: DType, _size: number, value: number): void {
    (storage as JsStorage).data.fill(value);
  },
  info() {
    return { description: 'reference TypeScript loops' };
  },
};

registerBackend('js', () => jsBackend);

/** The typed array behind a `js` tensor (the live buffer, not a copy). */
export function jsData(t: Tensor): TypedArray {
  return (t.storage as JsStorage).data;
}

// ---------------------------------------------------------------- elementwise unary

type Unary = (x: number) => number;

function unaryKernel(f: Unary) {
  return ({ inputs, outputs }: KernelArgs) => {
    const x = jsData(inputs[0]!);
    const y = jsData(outputs[0]!);
    for (let i = 0; i < x.length; i++) y[i] = f(x[i]!);
  };
}

/** The unary kernels of the `js` backend, by op name. */
/** The unary kernels' formulas: one per `unary()` entry of `OPS` (a missing one does not compile). */
export const UNARY_FUNCS: Record<UnaryOp, Unary> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  square: (x) => x * x,
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  reciprocal: (x) => 1 / x,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x > 0 || Number.isNaN(x) ? x : 0),
  sin: Math.sin,
  cos: Math.cos,
  log1p: Math.log1p,
  expm1: Math.expm1,
  erf,
};

for (const op of UNARY_OPS) registerKernel({ op, backend: 'js', fn: unaryKernel(UNARY_FUNCS[op]) });

registerKernel({
  op: 'clip',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<{ min: number; max: number }>) => {
    const x = jsData(inputs[0]!);
    const y = jsData(outputs[0]!);
    const { min, max } = attrs;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      y[i] = Math.min(Math.max(v, min), max);
    }
  },
});

// ---------------------------------------------------------------- broadcasting loops

/**
 * Visit every element of `outShape` in row-major order, calling `body(o, offsets)` with
 * the output index and, for each input, the offset to read under broadcasting.
 */
function forEachBroadcast(
  outShape: readonly number[],
  inShapes: readonly (readonly number[])[],
  body: (o: number, offs: Int32Array) => void,
): void {
  const rank = outShape.length;
  const n = inShapes.length;
  const strides = inShapes.map((s) => broadcastStrides(s, outShape));
  const offs = new Int32Array(n);
  const idx = new Int32Array(rank);
  let total = 1;
  for (const d of outShape) total *= d;
  for (let o = 0; o < total; o++) {
    body(o, offs);
    // advance the odometer
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < n; k++) offs[k]! += strides[k]![d]!;
      if (idx[d]! < outShape[d]!) break;
      for (let k = 0; k < n; k++) offs[k]! -= strides[k]![d]! * outShape[d]!;
      idx[d] = 0;
    }
  }
}

type Binary = (a: number, b: number) => number;

function binaryKernel(f: Binary) {
  return ({ inputs, outputs }: KernelArgs) => {
    const [ta, tb] = inputs as [Tensor, Tensor];
    const out = outputs[0]!;
    const a = jsData(ta);
    const b = jsData(tb);
    const y = jsData(out);
    if (a.length === y.length && b.length === y.length) {
      for (let i = 0; i < y.length; i++) y[i] = f(a[i]!, b[i]!);
    } else if (b.length === 1 && a.length === y.length) {
      const s = b[0]!;
      for (let i = 0; i < y.length; i++) y[i] = f(a[i]!, s);
    } else if (a.length === 1 && b.length === y.length) {
      const s = a[0]!;
      for (let i = 0; i < y.length; i++) y[i] = f(s, b[i]!);
    } else if (a.length === y.length && isRowVector(tb.shape, out.shape)) {
      // [..., n] op [n]: the bias-add pattern
      const n = b.length;
      for (let i = 0; i < y.length; i += n) for (let j = 0; j < n; j++) y[i + j] = f(a[i + j]!, b[j]!);
    } else if (b.length === y.length && isRowVector(ta.shape, out.shape)) {
      const n = a.length;
      for (let i = 0; i < y.length; i += n) for (let j = 0; j < n; j++) y[i + j] = f(a[j]!, b[i + j]!);
    } else {
      forEachBroadcast(out.shape, [ta.shape, tb.shape], (o, offs) => {
        y[o] = f(a[offs[0]!]!, b[offs[1]!]!);
      });
    }
  };
}

/** True when `shape` broadcasts to `outShape` as one row repeated: [1, ..., 1, n] with n the last dimension. */
function isRowVector(shape: readonly number[], outShape: readonly number[]): boolean {
  const n = outShape[outShape.length - 1];
  if (shape.length === 0 || shape[shape.length - 1] !== n) return false;
  for (let i = 0; i < shape.length - 1; i++) if (shape[i] !== 1) return false;
  return true;
}

/** The binary kernels of the `js` backend, by op name. Comparisons give 1 or 0. */
/** The binary and comparison kernels' formulas: one per entry of `OPS` of those kinds. */
export const BINARY_FUNCS: Record<BinaryOp | ComparisonOp, Binary> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  atan2: Math.atan2,
  maximum: Math.max,
  minimum: Math.min,
  equal: (a, b) => (a === b ? 1 : 0),
  notEqual: (a, b) => (a !== b ? 1 : 0),
  less: (a, b) => (a < b ? 1 : 0),
  lessEqual: (a, b) => (a <= b ? 1 : 0),
  greater: (a, b) => (a > b ? 1 : 0),
  greaterEqual: (a, b) => (a >= b ? 1 : 0),
};

for (const op of [...BINARY_OPS, ...COMPARISON_OPS])
  registerKernel({ op, backend: 'js', fn: binaryKernel(BINARY_FUNCS[op]) });

registerKernel({
  op: 'where',
  backend: 'js',
  fn: ({ inputs, outputs }: KernelArgs) => {
    const [tc, ta, tb] = inputs as [Tensor, Tensor, Tensor];
    const c = jsData(tc);
    const a = jsData(ta);
    const b = jsData(tb);
    const out = outputs[0]!;
    const y = jsData(out);
    forEachBroadcast(out.shape, [tc.shape, ta.shape, tb.shape], (o, offs) => {
      y[o] = c[offs[0]!]! !== 0 ? a[offs[1]!]! : b[offs[2]!]!;
    });
  },
});

registerKernel({
  op: 'broadcastTo',
  backend: 'js',
  fn: ({ inputs, outputs }: KernelArgs) => {
    const x = jsData(inputs[0]!);
    const out = outputs[0]!;
    const y = jsData(out);
    forEachBroadcast(out.shape, [inputs[0]!.shape], (o, offs) => {
      y[o] = x[offs[0]!]!;
    });
  },
});

// ---------------------------------------------------------------- reductions

/**
 * Reductions accumulate in float64 and round once at the end, whatever the dtype. A float32
 * running sum stops growing at 2^24 (16777216 + 1 rounds back to 16777216) and drifts by
 * about n·2^-24 in relative terms; in float64 the error of a float32 sum is the final
 * rounding (2^-24 relative) plus at most n·2^-53·Σ|x|, so the reference backend is the most
 * accurate one. max and min are exact in either.
 */
function reduceKernel(init: number, combine: (acc: number, v: number) => number) {
  return ({ inputs, outputs, attrs }: KernelArgs<{ axes: number[] }>) => {
    const t = inputs[0]!;
    const x = jsData(t);
    const out = jsData(outputs[0]!);
    const y = new Float64Array(out.length).fill(init);
    // Fast path: everything into one value.
    if (out.length === 1) {
      let acc = init;
      for (let i = 0; i < x.length; i++) acc = combine(acc, x[i]!);
      out[0] = acc;
      return;
    }
    // Fast path: the leading axis of a 2-D tensor (column sums, as in bias gradients).
    if (t.rank === 2 && attrs.axes.length === 1 && attrs.axes[0] === 0) {
      const [rows, cols] = t.shape as [number, number];
      for (let i = 0; i < rows; i++) {
        const off = i * cols;
        for (let j = 0; j < cols; j++) y[j] = combine(y[j]!, x[off + j]!);
      }
      out.set(y);
      return;
    }
    // Output strides laid over the input's dimensions, 0 on reduced axes.
    const keepShape = t.shape.map((d, i) => (attrs.axes.includes(i) ? 1 : d));
    const ostr = broadcastStrides(keepShape, t.shape).map((s, i) => (attrs.axes.includes(i) ? 0 : s));
    const rank = t.rank;
    const idx = new Int32Array(rank);
    let o = 0;
    for (let i = 0; i < x.length; i++) {
      y[o] = combine(y[o]!, x[i]!);
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]!++;
        o += ostr[d]!;
        if (idx[d]! < t.shape[d]!) break;
        o -= ostr[d]! * t.shape[d]!;
        idx[d] = 0;
      }
    }
    out.set(y);
  };
}

registerKernel({ op: 'sum', backend: 'js', fn: reduceKernel(0, (acc, v) => acc + v) });
// NaN propagates, as in NumPy.
registerKernel({
  op: 'max',
  backend: 'js',
  fn: reduceKernel(Number.NEGATIVE_INFINITY, (acc, v) => (v > acc || Number.isNaN(v) ? v : acc)),
});
registerKernel({
  op: 'min',
  backend: 'js',
  fn: reduceKernel(Number.POSITIVE_INFINITY, (acc, v) => (v < acc || Number.isNaN(v) ? v : acc)),
});

// ---------------------------------------------------------------- matmul

/**
 * C[m,n] = sum_k A[m,k] B[k,n] for one pair of row-major matrices (no transposes: the
 * caller copies transposed operands first). The loops run i-k-j, so the innermost loop
 * walks rows of B and C contiguously; four rows of C are updated per pass over a row of B
 * to reuse each loaded B element four times.
 */
function matmul2d(
  a: TypedArray,
  aOff: number,
  b: TypedArray,
  bOff: number,
  c: TypedArray,
  cOff: number,
  m: number,
  k: number,
  n: number,
): void {
  c.fill(0, cOff, cOff + m * n);
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = cOff + i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    const r0 = aOff + i * k;
    for (let p = 0; p < k; p++) {
      const a0 = a[r0 + p]!;
      const a1 = a[r0 + k + p]!;
      const a2 = a[r0 + 2 * k + p]!;
      const a3 = a[r0 + 3 * k + p]!;
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bp + j]!;
        c[c0 + j]! += a0 * bv;
        c[c1 + j]! += a1 * bv;
        c[c2 + j]! += a2 * bv;
        c[c3 + j]! += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const ci = cOff + i * n;
    for (let p = 0; p < k; p++) {
      const av = a[aOff + i * k + p]!;
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) c[ci + j]! += av * b[bp + j]!;
    }
  }
}

registerKernel({
  op: 'matmul',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<MatmulAttrs>) => {
    const [ta, tb] = inputs as [Tensor, Tensor];
    const out = outputs[0]!;
    const { transposeA, transposeB } = attrs;
    const ra = ta.rank;
    const rb = tb.rank;
    const m = transposeA ? ta.shape[ra - 1]! : ta.shape[ra - 2]!;
    const k = transposeA ? ta.shape[ra - 2]! : ta.shape[ra - 1]!;
    const n = transposeB ? tb.shape[rb - 2]! : tb.shape[rb - 1]!;
    // Transposed operands are copied into row-major scratch once, so one loop serves all four cases.
    const a = transposeA ? transposeLastTwo(jsData(ta), ta.shape) : jsData(ta);
    const b = transposeB ? transposeLastTwo(jsData(tb), tb.shape) : jsData(tb);
    const c = jsData(out);
    const batchShape = out.shape.slice(0, -2);
    const nBatch = batchShape.reduce((x, y) => x * y, 1);
    const aStr = broadcastStrides(ta.shape.slice(0, -2), batchShape);
    const bStr = broadcastStrides(tb.shape.slice(0, -2), batchShape);
    const outStr = stridesOf(batchShape);
    for (let bi = 0; bi < nBatch; bi++) {
      let aIdx = 0;
      let bIdx = 0;
      let rem = bi;
      for (let d = 0; d < batchShape.length; d++) {
        const q = Math.floor(rem / outStr[d]!);
        rem -= q * outStr[d]!;
        aIdx += q * aStr[d]!;
        bIdx += q * bStr[d]!;
      }
      matmul2d(a, aIdx * m * k, b, bIdx * k * n, c, bi * m * n, m, k, n);
    }
  },
});

function transposeLastTwo(x: TypedArray, shape: readonly number[]): TypedArray {
  const r = shape.length;
  const rows = shape[r - 2]!;
  const cols = shape[r - 1]!;
  const out = x instanceof Float64Array ? new Float64Array(x.length) : new Float32Array(x.length);
  const mat = rows * cols;
  for (let off = 0; off < x.length; off += mat) {
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) out[off + j * rows + i] = x[off + i * cols + j]!;
  }
  return out;
}

// ---------------------------------------------------------------- fused dense

registerKernel({
  op: 'fusedDense',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<FusedDenseAttrs>) => {
    const [tx, tw, tbias] = inputs as [Tensor, Tensor, Tensor | undefined];
    const [m, k] = tx.shape as [number, number];
    const n = tw.shape[1]!;
    const y = jsData(outputs[0]!);
    matmul2d(jsData(tx), 0, jsData(tw), 0, y, 0, m, k, n);
    const act = attrs.activation === 'linear' ? undefined : UNARY_FUNCS[attrs.activation]!;
    const bias = tbias ? jsData(tbias) : undefined;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let v = y[i * n + j]! + (bias ? bias[j]! : 0);
        if (act) v = act(v);
        y[i * n + j] = v;
      }
    }
  },
});

// ---------------------------------------------------------------- layout

registerKernel({
  op: 'transpose',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<{ perm: number[] }>) => {
    const t = inputs[0]!;
    const x = jsData(t);
    const out = outputs[0]!;
    const y = jsData(out);
    const inStr = stridesOf(t.shape);
    // Reading strides: output dimension d walks input dimension perm[d].
    const readStr = attrs.perm.map((p) => inStr[p]!);
    forEachStrided(out.shape, readStr, (o, off) => {
      y[o] = x[off]!;
    });
  },
});

/** Visit each element of `shape` in row-major order with an offset advanced by `strides`. */
function forEachStrided(
  shape: readonly number[],
  strides: readonly number[],
  body: (o: number, off: number) => void,
  start = 0,
): void {
  const rank = shape.length;
  const idx = new Int32Array(rank);
  let total = 1;
  for (const d of shape) total *= d;
  let off = start;
  for (let o = 0; o < total; o++) {
    body(o, off);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= strides[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

registerKernel({
  op: 'slice',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<{ begin: number[] }>) => {
    const t = inputs[0]!;
    const x = jsData(t);
    const out = outputs[0]!;
    const y = jsData(out);
    const str = stridesOf(t.shape);
    const start = attrs.begin.reduce((acc, b, i) => acc + b * str[i]!, 0);
    forEachStrided(
      out.shape,
      str,
      (o, off) => {
        y[o] = x[off]!;
      },
      start,
    );
  },
});

registerKernel({
  op: 'pad',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<PadAttrs>) => {
    const t = inputs[0]!;
    const x = jsData(t);
    const out = outputs[0]!;
    const y = jsData(out);
    y.fill(attrs.value);
    const str = stridesOf(out.shape);
    const start = attrs.paddings.reduce((acc, [before], i) => acc + before * str[i]!, 0);
    forEachStrided(
      t.shape,
      str,
      (i, off) => {
        y[off] = x[i]!;
      },
      start,
    );
  },
});

registerKernel({
  op: 'concat',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<{ axis: number }>) => {
    const out = outputs[0]!;
    const y = jsData(out);
    const axis = attrs.axis;
    const outer = out.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const outRow = out.size / Math.max(outer, 1);
    let colOffset = 0;
    for (const t of inputs) {
      const x = jsData(t);
      const row = outer === 0 ? 0 : t.size / outer;
      for (let o = 0; o < outer; o++) {
        y.set(x.subarray(o * row, (o + 1) * row), o * outRow + colOffset);
      }
      colOffset += row;
    }
  },
});

/** [outer, n, inner] around `axis`: the sizes before it, along it and after it. */
function aroundAxis(shape: readonly number[], axis: number): [number, number, number] {
  const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
  return [prod(shape.slice(0, axis)), shape[axis] ?? 1, prod(shape.slice(axis + 1))];
}

registerKernel({
  op: 'gather',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<IndexAttrs>) => {
    const t = inputs[0]!;
    const x = jsData(t);
    const y = jsData(outputs[0]!);
    const [outer, n, inner] = aroundAxis(t.shape, attrs.axis);
    const idx = attrs.indices;
    const k = idx.length;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < k; i++) {
        const src = (o * n + idx[i]!) * inner;
        y.set(x.subarray(src, src + inner), (o * k + i) * inner);
      }
    }
  },
});

registerKernel({
  op: 'scatterAdd',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<IndexAttrs>) => {
    const x = jsData(inputs[0]!);
    const out = outputs[0]!;
    const y = jsData(out);
    const [outer, n, inner] = aroundAxis(out.shape, attrs.axis);
    const idx = attrs.indices;
    const k = idx.length;
    y.fill(0);
    // In index order, so repeated indices add up in a fixed order on every backend.
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < k; i++) {
        const dst = (o * n + idx[i]!) * inner;
        const src = (o * k + i) * inner;
        for (let j = 0; j < inner; j++) y[dst + j]! += x[src + j]!;
      }
    }
  },
});

registerKernel({
  op: 'cast',
  backend: 'js',
  fn: ({ inputs, outputs }: KernelArgs) => {
    jsData(outputs[0]!).set(jsData(inputs[0]!));
  },
});

// ---------------------------------------------------------------- optimiser kernels

registerKernel({
  op: 'adamUpdate',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<AdamAttrs>) => {
    const p = jsData(inputs[0]!);
    const g = jsData(inputs[1]!);
    const m = jsData(inputs[2]!);
    const v = jsData(inputs[3]!);
    const vmax = attrs.amsgrad ? jsData(inputs[4]!) : undefined;
    const pOut = jsData(outputs[0]!);
    const mOut = jsData(outputs[1]!);
    const vOut = jsData(outputs[2]!);
    const vmaxOut = attrs.amsgrad ? jsData(outputs[3]!) : undefined;
    const { beta1, beta2, eps, weightDecay, decoupled } = attrs;
    // The step and the learning rate are the last two inputs, read now (a replay's values).
    const step = jsData(inputs[inputs.length - 2]!)[0]!;
    const lr = jsData(inputs[inputs.length - 1]!)[0]!;
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    for (let i = 0; i < p.length; i++) {
      let w = p[i]!;
      let gi = g[i]!;
      if (weightDecay !== 0) {
        if (decoupled) w -= lr * weightDecay * w;
        else gi += weightDecay * w; // L2 added to the gradient, as in PyTorch's Adam
      }
      const mi = beta1 * m[i]! + (1 - beta1) * gi;
      const vi = beta2 * v[i]! + (1 - beta2) * gi * gi;
      mOut[i] = mi;
      vOut[i] = vi;
      let vHat = vi;
      if (vmax && vmaxOut) {
        vHat = Math.max(vmax[i]!, vi);
        vmaxOut[i] = vHat;
      }
      pOut[i] = w - (lr * (mi / bc1)) / (Math.sqrt(vHat / bc2) + eps);
    }
  },
});

registerKernel({
  op: 'increment',
  backend: 'js',
  fn: ({ inputs, outputs }: KernelArgs) => {
    const x = jsData(inputs[0]!);
    const y = jsData(outputs[0]!);
    for (let i = 0; i < y.length; i++) y[i] = x[i]! + 1;
  },
});

registerKernel({
  op: 'lerp',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<LerpAttrs>) => {
    const a = jsData(inputs[0]!);
    const b = jsData(inputs[1]!);
    const y = jsData(outputs[0]!);
    const t = attrs.t;
    const s = 1 - t;
    // (1 − t)·a + t·b rather than a + t·(b − a): exact at t = 0 and t = 1 (a hard copy).
    for (let i = 0; i < y.length; i++) y[i] = s * a[i]! + t * b[i]!;
  },
});

/**
 * The batch statistics of column j of x [n, c] in float64: the mean, then the biased
 * variance as the mean of squared deviations (two passes, which does not cancel as
 * E[x²] − E[x]² does).
 */
function columnStats(x: TypedArray, n: number, c: number, j: number): [mean: number, variance: number] {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i * c + j]!;
  const mean = s / n;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const d = x[i * c + j]! - mean;
    s2 += d * d;
  }
  return [mean, s2 / n];
}

registerKernel({
  op: 'batchNorm',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<BatchNormAttrs>) => {
    const [n, c] = inputs[0]!.shape as [number, number];
    const x = jsData(inputs[0]!);
    const gamma = jsData(inputs[1]!);
    const beta = jsData(inputs[2]!);
    const y = jsData(outputs[0]!);
    const meanOut = jsData(outputs[1]!);
    const varOut = jsData(outputs[2]!);
    for (let j = 0; j < c; j++) {
      const [mean, variance] = columnStats(x, n, c, j);
      const scale = gamma[j]! / Math.sqrt(variance + attrs.eps);
      for (let i = 0; i < n; i++) y[i * c + j] = (x[i * c + j]! - mean) * scale + beta[j]!;
      meanOut[j] = mean;
      varOut[j] = variance;
    }
  },
});

registerKernel({
  op: 'batchNormGrad',
  backend: 'js',
  fn: ({ inputs, outputs, attrs }: KernelArgs<BatchNormAttrs>) => {
    const [n, c] = inputs[1]!.shape as [number, number];
    const g = jsData(inputs[0]!);
    const x = jsData(inputs[1]!);
    const gamma = jsData(inputs[2]!);
    const dx = jsData(outputs[0]!);
    const dgamma = jsData(outputs[1]!);
    const dbeta = jsData(outputs[2]!);
    for (let j = 0; j < c; j++) {
      const [mean, variance] = columnStats(x, n, c, j);
      const inv = 1 / Math.sqrt(variance + attrs.eps);
      let sg = 0;
      let sgx = 0;
      for (let i = 0; i < n; i++) {
        sg += g[i * c + j]!;
        sgx += g[i * c + j]! * (x[i * c + j]! - mean);
      }
      const dg = sgx * inv; // Σ g·x̂
      // dx = γσ⁻¹/N · (N·g − Σg − x̂·Σ(g·x̂)): Ioffe & Szegedy (2015), the backward of Alg. 1.
      const k = (gamma[j]! * inv) / n;
      for (let i = 0; i < n; i++) {
        const xhat = (x[i * c + j]! - mean) * inv;
        dx[i * c + j] = k * (n * g[i * c + j]! - sg - xhat * dg);
      }
      dgamma[j] = dg;
      dbeta[j] = sg;
    }
  },
});
