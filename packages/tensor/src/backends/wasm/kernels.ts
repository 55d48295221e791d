/**
 * Kernels of the `wasm` backend.
 *
 * Float32 math runs in the hand-written SIMD module (kernels/*.wat): matmul and the fused
 * dense layer, elementwise unary and binary ops (with broadcasting), sum/max/min and the
 * fused Adam step. Those kernels declare `supports: float32 only`, so float64 tensors fall
 * back to the js reference (logged and counted), which keeps gradient checks exact.
 *
 * Data movement (transpose, slice, pad, concat, gather, scatterAdd, broadcastTo, where,
 * cast) and the ops without a SIMD version (log, log1p, expm1, erf, pow, atan2) are TypeScript loops over fresh
 * views of the wasm memory, for either dtype: the data stays resident in wasm memory.
 *
 * Views are created after the last allocation of a kernel (outputs are allocated before a
 * kernel runs; the matmul scratch is taken before any view): growing the memory detaches
 * them.
 * @module
 */
import { type KernelArgs, type KernelFn, registerKernel } from '../../backend.ts';
import type { TypedArray } from '../../dtype.ts';
import type {
  AdamAttrs,
  BatchNormAttrs,
  FusedDenseAttrs,
  IndexAttrs,
  KernelName,
  MatmulAttrs,
  PadAttrs,
} from '../../kernels.ts';
import { broadcastStrides, stridesOf } from '../../shape.ts';
import { erf } from '../../special.ts';
import type { Tensor } from '../../tensor.ts';
import { ptrOf, runtime, viewOf } from './backend.ts';

const B = 'wasm';

/** True when every input is float32: the SIMD kernels' precondition. */
const float32Only = ({ inputs }: { inputs: readonly Tensor[] }): boolean =>
  inputs.every((t) => t.dtype === 'float32');

function reg<K extends KernelName>(op: K, fn: KernelFn<K>, simd = true): void {
  registerKernel<K>(simd ? { op, backend: B, fn, supports: float32Only } : { op, backend: B, fn });
}

// ---------------------------------------------------------------- shape helpers

/**
 * Merge dimensions that every operand walks contiguously (stride[d] = stride[d+1]·shape[d+1])
 * and drop dimensions of size 1, so most broadcasts become one or two loops.
 */
export function collapseDims(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStr: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStr[k]![last] === s[d]! * n)) {
      outShape[last]! *= n;
      strides.forEach((s, k) => {
        outStr[k]![last] = s[d]!;
      });
    } else {
      outShape.push(n);
      strides.forEach((s, k) => {
        outStr[k]!.push(s[d]!);
      });
    }
  }
  return { shape: outShape, strides: outStr };
}

/**
 * Call `body(offsets)` for each index of `shape` (row-major), with one running offset per
 * stride list. A small odometer; `offsets` is reused between calls.
 */
function forEachIndex(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  body: (offs: Int32Array) => void,
): void {
  const rank = shape.length;
  const n = strides.length;
  const offs = new Int32Array(n);
  const idx = new Int32Array(rank);
  let total = 1;
  for (const d of shape) total *= d;
  for (let o = 0; o < total; o++) {
    body(offs);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      for (let k = 0; k < n; k++) offs[k]! += strides[k]![d]!;
      if (idx[d]! < shape[d]!) break;
      for (let k = 0; k < n; k++) offs[k]! -= strides[k]![d]! * shape[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * dst[dstStart + row-major index over `shape`] = src[srcStart + Σ idx·srcStrides], with the
 * innermost dimension as a block copy when contiguous and a fill when broadcast.
 */
function stridedCopy(
  src: TypedArray,
  srcStart: number,
  srcStrides: readonly number[],
  shape: readonly number[],
  dst: TypedArray,
  dstStart: number,
  dstStrides: readonly number[] = stridesOf(shape),
): void {
  const c = collapseDims(shape, [srcStrides, dstStrides]);
  const r = c.shape.length;
  if (r === 0) {
    if (src.length > srcStart && dst.length > dstStart) dst[dstStart] = src[srcStart]!;
    return;
  }
  const inner = c.shape[r - 1]!;
  const si = c.strides[0]![r - 1]!;
  const di = c.strides[1]![r - 1]!;
  const outer = c.shape.slice(0, r - 1);
  const os = [c.strides[0]!.slice(0, r - 1), c.strides[1]!.slice(0, r - 1)];
  forEachIndex(outer, os, (offs) => {
    const s0 = srcStart + offs[0]!;
    const d0 = dstStart + offs[1]!;
    if (si === 1 && di === 1) dst.set(src.subarray(s0, s0 + inner), d0);
    else if (si === 0 && di === 1) dst.fill(src[s0]!, d0, d0 + inner);
    else for (let j = 0; j < inner; j++) dst[d0 + j * di] = src[s0 + j * si]!;
  });
}

// ---------------------------------------------------------------- elementwise unary (SIMD)

for (const op of [
  'neg',
  'exp',
  'sqrt',
  'square',
  'abs',
  'sign',
  'reciprocal',
  'tanh',
  'sigmoid',
  'relu',
] as const) {
  const name = `un_${op}`;
  reg(op, ({ inputs, outputs }: KernelArgs) => {
    unarySplit(name, inputs[0]!, outputs[0]!, 0, 0);
  });
}

/** un_<op> over x, split across threads when large (elementwise: any split is exact). */
function unarySplit(name: string, x: Tensor, out: Tensor, p0: number, p1: number): void {
  const px = ptrOf(x);
  const po = ptrOf(out);
  runtime().split(name, x.size, 4, x.size, (i0, i1) => [px + 4 * i0, po + 4 * i0, i1 - i0, p0, p1]);
}

reg('clip', ({ inputs, outputs, attrs }: KernelArgs<{ min: number; max: number }>) => {
  unarySplit('un_clip', inputs[0]!, outputs[0]!, attrs.min, attrs.max);
});

// log has no SIMD approximation: Math.log over the view (exactly the reference's result).
reg(
  'log',
  ({ inputs, outputs }: KernelArgs) => {
    const x = viewOf(inputs[0]!);
    const y = viewOf(outputs[0]!);
    for (let i = 0; i < x.length; i++) y[i] = Math.log(x[i]!);
  },
  false,
);

// sin and cos: float64 Cody–Waite reduction and Taylor polynomials in SIMD
// (kernels/12-trig.wat), valid for |x| ≤ 2^20. The kernel reports inputs beyond that, and
// only then this loop recomputes them with Math (exact, rounded to float32).
const TRIG_LIMIT = 2 ** 20;
for (const [op, f] of [
  ['sin', Math.sin],
  ['cos', Math.cos],
] as const) {
  reg(op, ({ inputs, outputs }: KernelArgs) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    if (!runtime().k[`un_${op}`]!(ptrOf(x), ptrOf(out), x.size)) return;
    const xv = viewOf(x);
    const yv = viewOf(out);
    for (let i = 0; i < xv.length; i++) if (Math.abs(xv[i]!) > TRIG_LIMIT) yv[i] = f(xv[i]!);
  });
}

// log1p, expm1 and erf have no SIMD version: the js reference's float64 functions over the
// views, rounded to float32 on store (exactly the reference's result).
for (const [op, f] of [
  ['log1p', Math.log1p],
  ['expm1', Math.expm1],
  ['erf', erf],
] as const) {
  reg(
    op,
    ({ inputs, outputs }: KernelArgs) => {
      const x = viewOf(inputs[0]!);
      const y = viewOf(outputs[0]!);
      for (let i = 0; i < x.length; i++) y[i] = f(x[i]!);
    },
    false,
  );
}

// ---------------------------------------------------------------- elementwise binary (SIMD)

const BINARY_SIMD = [
  'add',
  'sub',
  'mul',
  'div',
  'maximum',
  'minimum',
  'equal',
  'notEqual',
  'less',
  'lessEqual',
  'greater',
  'greaterEqual',
] as const;

/**
 * Run `bin_<op>` over a broadcast: collapse the dimensions, let the kernel do the last two
 * (rows × cols, each operand contiguous or broadcast along each), loop over the rest here.
 */
function binarySimd(name: string) {
  return ({ inputs, outputs }: KernelArgs) => {
    const [ta, tb] = inputs as [Tensor, Tensor];
    const out = outputs[0]!;
    if (out.size === 0) return;
    const rt = runtime();
    const f = rt.k[name]!;
    const pa = ptrOf(ta);
    const pb = ptrOf(tb);
    const po = ptrOf(out);
    const c = collapseDims(out.shape, [
      broadcastStrides(ta.shape, out.shape),
      broadcastStrides(tb.shape, out.shape),
    ]);
    const r = c.shape.length;
    if (r === 0) {
      f(pa, 0, 1, pb, 0, 1, po, 1, 1);
      return;
    }
    const [sa, sb] = c.strides as [number[], number[]];
    const cols = c.shape[r - 1]!;
    const rows = r >= 2 ? c.shape[r - 2]! : 1;
    const ars = r >= 2 ? sa[r - 2]! * 4 : 0;
    const brs = r >= 2 ? sb[r - 2]! * 4 : 0;
    const acs = sa[r - 1]!;
    const bcs = sb[r - 1]!;
    if (r <= 2) {
      // Large ones split across threads: by rows, or by columns for a single row.
      if (rows > 1)
        rt.split(name, rows, 1, out.size, (i0, i1) => [
          pa + i0 * ars,
          ars,
          acs,
          pb + i0 * brs,
          brs,
          bcs,
          po + i0 * cols * 4,
          i1 - i0,
          cols,
        ]);
      else
        rt.split(name, cols, 4, out.size, (i0, i1) => [
          pa + i0 * acs * 4,
          0,
          acs,
          pb + i0 * bcs * 4,
          0,
          bcs,
          po + i0 * 4,
          1,
          i1 - i0,
        ]);
      return;
    }
    const block = rows * cols * 4;
    let o = po;
    forEachIndex(c.shape.slice(0, r - 2), [sa.slice(0, r - 2), sb.slice(0, r - 2)], (offs) => {
      f(pa + offs[0]! * 4, ars, acs, pb + offs[1]! * 4, brs, bcs, o, rows, cols);
      o += block;
    });
  };
}

for (const op of BINARY_SIMD) reg(op, binarySimd(`bin_${op}`));

/** A broadcasting binary loop over views, for ops without SIMD code (pow) and for `where`. */
function broadcastLoop(
  out: Tensor,
  ins: readonly Tensor[],
  body: (o: number, offs: Int32Array, views: TypedArray[]) => void,
): void {
  const c = collapseDims(
    out.shape,
    ins.map((t) => broadcastStrides(t.shape, out.shape)),
  );
  const views = ins.map(viewOf);
  let o = 0;
  forEachIndex(c.shape, c.strides, (offs) => {
    body(o++, offs, views);
  });
}

reg(
  'pow',
  ({ inputs, outputs }: KernelArgs) => {
    const out = outputs[0]!;
    const y = viewOf(out);
    broadcastLoop(out, inputs, (o, offs, [a, b]) => {
      y[o] = a![offs[0]!]! ** b![offs[1]!]!;
    });
  },
  false,
);

reg(
  'atan2',
  ({ inputs, outputs }: KernelArgs) => {
    const out = outputs[0]!;
    const y = viewOf(out);
    broadcastLoop(out, inputs, (o, offs, [a, b]) => {
      y[o] = Math.atan2(a![offs[0]!]!, b![offs[1]!]!);
    });
  },
  false,
);

reg(
  'where',
  ({ inputs, outputs }: KernelArgs) => {
    const out = outputs[0]!;
    const y = viewOf(out);
    // SIMD path: float32 with each operand full-size or a scalar, as in the masking
    // gradient rules' where(mask, g, 0) (kernels/15-where.wat).
    if (out.dtype === 'float32' && inputs.every((t) => t.size === 1 || t.size === out.size)) {
      const [c, a, b] = inputs as [Tensor, Tensor, Tensor];
      const [fc, fa, fb] = [c, a, b].map((t) => (t.size === out.size ? 1 : 0)) as [number, number, number];
      const [pc, pa, pb, po] = [ptrOf(c), ptrOf(a), ptrOf(b), ptrOf(out)];
      runtime().split('where_sel', out.size, 4, out.size, (i0, i1) => [
        pc + 4 * i0 * fc,
        pa + 4 * i0 * fa,
        pb + 4 * i0 * fb,
        po + 4 * i0,
        i1 - i0,
        fc,
        fa,
        fb,
      ]);
      return;
    }
    broadcastLoop(out, inputs, (o, offs, [c, a, b]) => {
      y[o] = c![offs[0]!]! !== 0 ? a![offs[1]!]! : b![offs[2]!]!;
    });
  },
  false,
);

reg(
  'broadcastTo',
  ({ inputs, outputs }: KernelArgs) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    stridedCopy(viewOf(x), 0, broadcastStrides(x.shape, out.shape), out.shape, viewOf(out), 0);
  },
  false,
);

// ---------------------------------------------------------------- reductions (SIMD)

const REDUCE_INIT = { sum: 0, max: Number.NEGATIVE_INFINITY, min: Number.POSITIVE_INFINITY };

/**
 * Long sums run in blocks whose float32 partial sums are added in float64, so the error
 * does not grow with the length: a block of SUM_CHUNK elements (16 SIMD partial sums of 64
 * terms each) or SUM_BLOCK_ROWS rows (red_cols adds rows in order) errs by at most about
 * 68·2^-24 of its Σ|x|. Hence |Δ| ≤ 2^-24·|S| + 68·2^-24·Σ|x| for any length (documented
 * on `sum` in ops.ts); a single float32 running sum errs by up to n·2^-24·Σ|x|.
 */
const SUM_CHUNK = 1024;
const SUM_BLOCK_ROWS = 64;

/** Σ x[0..n) at byte address `px`: red_all over chunks, chunk results added in float64. */
function sumAll(px: number, n: number): number {
  const f = runtime().k.red_all_sum!;
  let acc = 0;
  for (let i = 0; i < n; i += SUM_CHUNK) acc += f(px + i * 4, Math.min(SUM_CHUNK, n - i));
  return acc;
}

/**
 * Column sums of a [rows, cols] block at `px` into `acc`: one red_cols per block of
 * SUM_BLOCK_ROWS rows, each into its own row of scratch (blocks run across threads when
 * large), then the block sums added in block order in float64. The blocks are fixed, so
 * the result is the same bits for any thread count.
 */
function sumCols(px: number, rows: number, cols: number, acc: Float64Array): void {
  const rt = runtime();
  const blocks = Math.ceil(rows / SUM_BLOCK_ROWS);
  const tmp = rt.scratch(blocks * cols * 4);
  rt.each('red_cols_sum', blocks, rows * cols, (b) => [
    px + b * SUM_BLOCK_ROWS * cols * 4,
    Math.min(SUM_BLOCK_ROWS, rows - b * SUM_BLOCK_ROWS),
    cols,
    tmp + b * cols * 4,
  ]);
  const part = rt.heap.f32(tmp, blocks * cols);
  for (let b = 0; b < blocks; b++) for (let j = 0; j < cols; j++) acc[j]! += part[b * cols + j]!;
}

/**
 * sum over the grouped pattern, blocked as above. False (use the one-call kernels) when the
 * pattern is another one or the reduced length fits in one block anyway.
 */
function sumBlocked(pattern: string, g: number[], px: number, out: Tensor): boolean {
  const y = viewOf(out);
  switch (pattern) {
    case 'R':
      if (g[0]! <= SUM_CHUNK) return false;
      y[0] = sumAll(px, g[0]!);
      return true;
    case 'KR':
      if (g[1]! <= SUM_CHUNK) return false;
      for (let r = 0; r < g[0]!; r++) y[r] = sumAll(px + r * g[1]! * 4, g[1]!);
      return true;
    case 'RK':
    case 'KRK': {
      const [outer, rows, cols] = pattern === 'RK' ? [1, g[0]!, g[1]!] : [g[0]!, g[1]!, g[2]!];
      if (rows <= SUM_BLOCK_ROWS) return false;
      const acc = new Float64Array(cols);
      for (let i = 0; i < outer; i++) {
        acc.fill(0);
        sumCols(px + i * rows * cols * 4, rows, cols, acc);
        viewOf(out).set(acc, i * cols);
      }
      return true;
    }
  }
  return false;
}

function reduceSimd(op: 'sum' | 'max' | 'min') {
  const combine =
    op === 'sum'
      ? (acc: number, v: number) => acc + v
      : op === 'max'
        ? (acc: number, v: number) => (v > acc || Number.isNaN(v) ? v : acc)
        : (acc: number, v: number) => (v < acc || Number.isNaN(v) ? v : acc);
  return ({ inputs, outputs, attrs }: KernelArgs<{ axes: number[] }>) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    const k = runtime().k;
    if (x.size === 0) {
      viewOf(out).fill(REDUCE_INIT[op]);
      return;
    }
    // Drop size-1 dimensions and merge neighbours that are both reduced or both kept.
    const groups: { n: number; red: boolean }[] = [];
    x.shape.forEach((n, i) => {
      if (n === 1) return;
      const red = attrs.axes.includes(i);
      const last = groups[groups.length - 1];
      if (last && last.red === red) last.n *= n;
      else groups.push({ n, red });
    });
    const px = ptrOf(x);
    const po = ptrOf(out);
    const pattern = groups.map((g) => (g.red ? 'R' : 'K')).join('');
    const g = groups.map((q) => q.n);
    if (op === 'sum' && sumBlocked(pattern, g, px, out)) return;
    switch (pattern) {
      case '':
      case 'R':
        viewOf(out)[0] = k[`red_all_${op}`]!(px, x.size);
        return;
      case 'K':
        viewOf(out).set(viewOf(x));
        return;
      case 'KR':
        // Each row's reduction is independent: rows split across threads when large.
        runtime().split(`red_rows_${op}`, g[0]!, 1, x.size, (i0, i1) => [
          px + i0 * g[1]! * 4,
          i1 - i0,
          g[1]!,
          po + i0 * 4,
        ]);
        return;
      case 'RK':
        k[`red_cols_${op}`]!(px, g[0]!, g[1]!, po);
        return;
      case 'KRK': {
        const f = k[`red_cols_${op}`]!;
        for (let i = 0; i < g[0]!; i++) f(px + i * g[1]! * g[2]! * 4, g[1]!, g[2]!, po + i * g[2]! * 4);
        return;
      }
    }
    // Anything else (R K R ...): the reference's odometer over views, accumulating in
    // float64 as the reference does.
    const xv = viewOf(x);
    const y = new Float64Array(out.size).fill(REDUCE_INIT[op]);
    const keepShape = x.shape.map((d, i) => (attrs.axes.includes(i) ? 1 : d));
    const ostr = broadcastStrides(keepShape, x.shape).map((s, i) => (attrs.axes.includes(i) ? 0 : s));
    let i = 0;
    forEachIndex(x.shape, [ostr], (offs) => {
      const o = offs[0]!;
      y[o] = combine(y[o]!, xv[i++]!);
    });
    viewOf(out).set(y);
  };
}

for (const op of ['sum', 'max', 'min'] as const) reg(op, reduceSimd(op));

// ---------------------------------------------------------------- matmul (SIMD)

/** k is processed in blocks of this many, so a packed 8-column panel of B (8 KB) stays in L1. */
const KC = 256;
const ACT = { linear: 0, relu: 1, tanh: 2, sigmoid: 3 } as const;

reg('matmul', ({ inputs, outputs, attrs }: KernelArgs<MatmulAttrs>) => {
  const [ta, tb] = inputs as [Tensor, Tensor];
  const out = outputs[0]!;
  if (out.size === 0) return;
  const { transposeA, transposeB } = attrs;
  const ra = ta.rank;
  const rb = tb.rank;
  const m = transposeA ? ta.shape[ra - 1]! : ta.shape[ra - 2]!;
  const k = transposeA ? ta.shape[ra - 2]! : ta.shape[ra - 1]!;
  const n = transposeB ? tb.shape[rb - 2]! : tb.shape[rb - 1]!;
  const rt = runtime();
  const pa = ptrOf(ta);
  const pb = ptrOf(tb);
  const pc = ptrOf(out);
  const ta_ = transposeA ? 1 : 0;
  const tb_ = transposeB ? 1 : 0;
  const batchShape = out.shape.slice(0, -2);
  if (batchShape.length === 0) {
    rt.matmul(pa, pb, pc, m, k, n, ta_, tb_, KC, 0, 0);
    return;
  }
  const aStr = broadcastStrides(ta.shape.slice(0, -2), batchShape);
  const bStr = broadcastStrides(tb.shape.slice(0, -2), batchShape);
  const aMat = m * k * 4;
  const bMat = k * n * 4;
  let c = pc;
  forEachIndex(batchShape, [aStr, bStr], (offs) => {
    rt.matmul(pa + offs[0]! * aMat, pb + offs[1]! * bMat, c, m, k, n, ta_, tb_, KC, 0, 0);
    c += m * n * 4;
  });
});

reg('fusedDense', ({ inputs, outputs, attrs }: KernelArgs<FusedDenseAttrs>) => {
  const [tx, tw, tbias] = inputs as [Tensor, Tensor, Tensor | undefined];
  const out = outputs[0]!;
  if (out.size === 0) return;
  const [m, k] = tx.shape as [number, number];
  const n = tw.shape[1]!;
  runtime().matmul(
    ptrOf(tx),
    ptrOf(tw),
    ptrOf(out),
    m,
    k,
    n,
    0,
    0,
    KC,
    tbias ? ptrOf(tbias) : 0,
    ACT[attrs.activation],
  );
});

// ---------------------------------------------------------------- layout (TS over views, any dtype)

reg(
  'transpose',
  ({ inputs, outputs, attrs }: KernelArgs<{ perm: number[] }>) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    const inStr = stridesOf(x.shape);
    stridedCopy(
      viewOf(x),
      0,
      attrs.perm.map((p) => inStr[p]!),
      out.shape,
      viewOf(out),
      0,
    );
  },
  false,
);

reg(
  'slice',
  ({ inputs, outputs, attrs }: KernelArgs<{ begin: number[] }>) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    if (out.size === 0) return;
    const str = stridesOf(x.shape);
    const start = attrs.begin.reduce((acc, b, i) => acc + b * str[i]!, 0);
    stridedCopy(viewOf(x), start, str, out.shape, viewOf(out), 0);
  },
  false,
);

reg(
  'pad',
  ({ inputs, outputs, attrs }: KernelArgs<PadAttrs>) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    viewOf(out).fill(attrs.value);
    if (x.size === 0) return;
    const str = stridesOf(out.shape);
    const start = attrs.paddings.reduce((acc, [before], i) => acc + before * str[i]!, 0);
    stridedCopy(viewOf(x), 0, stridesOf(x.shape), x.shape, viewOf(out), start, str);
  },
  false,
);

reg(
  'concat',
  ({ inputs, outputs, attrs }: KernelArgs<{ axis: number }>) => {
    const out = outputs[0]!;
    const y = viewOf(out);
    const outer = out.shape.slice(0, attrs.axis).reduce((a, b) => a * b, 1);
    const outRow = outer === 0 ? 0 : out.size / outer;
    let colOffset = 0;
    for (const t of inputs) {
      const x = viewOf(t);
      const row = outer === 0 ? 0 : t.size / outer;
      for (let o = 0; o < outer; o++) y.set(x.subarray(o * row, (o + 1) * row), o * outRow + colOffset);
      colOffset += row;
    }
  },
  false,
);

/** [outer, n, inner] around `axis`: the sizes before it, along it and after it. */
function aroundAxis(shape: readonly number[], axis: number): [number, number, number] {
  const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
  return [prod(shape.slice(0, axis)), shape[axis] ?? 1, prod(shape.slice(axis + 1))];
}

// gather and scatterAdd copy slices; the same loops as the js reference, over wasm views.
reg(
  'gather',
  ({ inputs, outputs, attrs }: KernelArgs<IndexAttrs>) => {
    const t = inputs[0]!;
    const x = viewOf(t);
    const y = viewOf(outputs[0]!);
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
  false,
);

reg(
  'scatterAdd',
  ({ inputs, outputs, attrs }: KernelArgs<IndexAttrs>) => {
    const x = viewOf(inputs[0]!);
    const out = outputs[0]!;
    const y = viewOf(out);
    const [outer, n, inner] = aroundAxis(out.shape, attrs.axis);
    const idx = attrs.indices;
    const k = idx.length;
    y.fill(0);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < k; i++) {
        const dst = (o * n + idx[i]!) * inner;
        const src = (o * k + i) * inner;
        for (let j = 0; j < inner; j++) y[dst + j]! += x[src + j]!;
      }
    }
  },
  false,
);

reg(
  'cast',
  ({ inputs, outputs }: KernelArgs) => {
    viewOf(outputs[0]!).set(viewOf(inputs[0]!));
  },
  false,
);

// ---------------------------------------------------------------- Adam (SIMD)

registerKernel({
  op: 'adamUpdate',
  backend: B,
  // The SIMD kernel needs float32 state; the step and lr inputs may be float64.
  supports: ({ inputs }) => inputs.slice(0, -2).every((t) => t.dtype === 'float32'),
  fn: adamKernel,
});

function adamKernel({ inputs, outputs, attrs }: KernelArgs<AdamAttrs>): void {
  const { beta1, beta2, eps, weightDecay, decoupled, amsgrad } = attrs;
  const [p, g, m, v] = inputs;
  const vmax = amsgrad ? inputs[4] : undefined;
  // The step and the learning rate are the last two inputs, read now (a replay's values).
  const step = viewOf(inputs[inputs.length - 2]!)[0]!;
  const lr = viewOf(inputs[inputs.length - 1]!)[0]!;
  const [pp, pg, pm, pv, pvx] = [p!, g!, m!, v!].map(ptrOf).concat(amsgrad ? ptrOf(vmax!) : 0) as number[];
  const [qp, qm, qv, qvx] = [0, 1, 2]
    .map((i) => ptrOf(outputs[i]!))
    .concat(amsgrad ? ptrOf(outputs[3]!) : 0) as number[];
  // Elementwise, so a split across threads changes no bit; pieces are whole vectors, so
  // only the last one has a tail (which goes through the kernel's fixed scratch).
  const off = (ptr: number, i0: number) => (ptr === 0 ? 0 : ptr + 4 * i0);
  runtime().split('adam', p!.size, 4, p!.size, (i0, i1) => [
    off(pp!, i0),
    off(pg!, i0),
    off(pm!, i0),
    off(pv!, i0),
    off(pvx!, i0),
    off(qp!, i0),
    off(qm!, i0),
    off(qv!, i0),
    off(qvx!, i0),
    i1 - i0,
    lr,
    beta1,
    1 - beta1,
    beta2,
    1 - beta2,
    eps,
    weightDecay,
    lr * weightDecay,
    decoupled ? 1 : 0,
    amsgrad ? 1 : 0,
    1 - beta1 ** step,
    1 - beta2 ** step,
  ]);
}

// A counter (an optimiser's step count): a plain loop, so float64 counts stay in wasm memory.
reg(
  'increment',
  ({ inputs, outputs }: KernelArgs) => {
    const x = viewOf(inputs[0]!);
    const y = viewOf(outputs[0]!);
    for (let i = 0; i < y.length; i++) y[i] = x[i]! + 1;
  },
  false,
);

// ---------------------------------------------------------------- lerp (Polyak updates, SIMD)

reg('lerp', ({ inputs, outputs, attrs }: KernelArgs<{ t: number }>) => {
  const [pa, pb, po] = [ptrOf(inputs[0]!), ptrOf(inputs[1]!), ptrOf(outputs[0]!)];
  const n = outputs[0]!.size;
  runtime().split('lerp', n, 4, n, (i0, i1) => [pa + 4 * i0, pb + 4 * i0, po + 4 * i0, i1 - i0, attrs.t]);
});

// ---------------------------------------------------------------- batch norm (training, SIMD)
// Columns are independent (each group of four sums down its own rows), so a split by columns
// across threads changes no bit; pieces are whole groups of four, so only the last has a tail.

reg('batchNorm', ({ inputs, outputs, attrs }: KernelArgs<BatchNormAttrs>) => {
  const [n, c] = inputs[0]!.shape as [number, number];
  const [px, pg, pb] = inputs.map(ptrOf) as [number, number, number];
  const [py, pm, pv] = outputs.map(ptrOf) as [number, number, number];
  runtime().split('bn_fwd', c, 4, n * c, (j0, j1) => {
    const o = 4 * j0;
    return [px + o, pg + o, pb + o, py + o, pm + o, pv + o, n, j1 - j0, 4 * c, attrs.eps];
  });
});

reg('batchNormGrad', ({ inputs, outputs, attrs }: KernelArgs<BatchNormAttrs>) => {
  const [n, c] = inputs[1]!.shape as [number, number];
  const [pgr, px, pg] = inputs.map(ptrOf) as [number, number, number];
  const [pdx, pdg, pdb] = outputs.map(ptrOf) as [number, number, number];
  runtime().split('bn_bwd', c, 4, n * c, (j0, j1) => {
    const o = 4 * j0;
    return [pgr + o, px + o, pg + o, pdx + o, pdg + o, pdb + o, n, j1 - j0, 4 * c, attrs.eps];
  });
});
