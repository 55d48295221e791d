/**
 * The kernels of the `gpujs` backend. Each one builds a gpu.js kernel source for the
 * shapes it is given (see codegen.ts) and runs it through the cache in backend.ts.
 *
 * Ops without a kernel here fall back to the js kernels through the registry (logged and
 * counted by run.ts), and so do the cases a `supports` hook declines: tensors of 2^24
 * elements or more, and loops that would be unreasonably long on the GPU.
 * @module
 */
import { type KernelArgs, type KernelFn, type KernelSupports, registerKernel } from '../../backend.ts';
import type {
  AdamAttrs,
  BinaryOp,
  ComparisonOp,
  FusedDenseAttrs,
  IndexAttrs,
  KernelAttrs,
  KernelName,
  LerpAttrs,
  MatmulAttrs,
  PadAttrs,
  UnaryOp,
} from '../../kernels.ts';
import type { Tensor } from '../../tensor.ts';
import { copyStorage, launch, setHost } from './backend.ts';
import {
  activationExpr,
  BINARY_EXPR,
  bcastStrides,
  fn,
  lit,
  MAX_ELEMENTS,
  stridesOf,
  sumExpr,
  UNARY_EXPR,
  unravel,
} from './codegen.ts';

const BACKEND = 'gpujs';

function reg<K extends KernelName>(
  op: K,
  f: KernelFn<K>,
  supports: KernelSupports<KernelAttrs[K]> = inputsFit,
): void {
  registerKernel<K>({ op, backend: BACKEND, fn: f, supports });
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const fmt = (shape: readonly number[]): string => shape.join('x');

/** Every input has fewer than 2^24 elements (float32 index arithmetic is exact there). */
function inputsFit({ inputs }: { inputs: readonly Tensor[] }): boolean {
  return inputs.every((t) => t.size < MAX_ELEMENTS);
}

/** Inputs and a result of `outSize` elements fit. */
function fits(inputs: readonly Tensor[], outSize: number): boolean {
  return outSize < MAX_ELEMENTS && inputsFit({ inputs });
}

function broadcastSize(shapes: readonly (readonly number[])[]): number {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  let n = 1;
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v !== 1) d = v;
    }
    n *= d;
  }
  return n;
}

// ---------------------------------------------------------------- elementwise

/**
 * An elementwise kernel over `out`'s shape: each input is read under broadcasting into a
 * variable (`names[k]`), then `expr` is returned. `hp` is an optional host array of
 * float parameters (clip bounds, lerp t), so their values do not change the source.
 */
function elementwise(
  key: string,
  inputs: readonly Tensor[],
  out: Tensor,
  names: readonly string[],
  expr: string,
  hp?: Float32Array,
): void {
  const strides = inputs.map((t) => bcastStrides(t.shape, out.shape));
  const shapesKey = inputs.map((t) => fmt(t.shape)).join(',');
  launch(out, {
    key: `${key}:${shapesKey}->${fmt(out.shape)}`,
    source: () => {
      const u = unravel(out.shape, strides);
      let body = u.code;
      names.forEach((name, k) => {
        body += `var ${name} = x${k}[${u.offsets[k]}];\n`;
      });
      body += `return ${expr};\n`;
      const params = inputs.map((_, k) => `x${k}`);
      return fn(hp ? [...params, 'hp'] : params, body);
    },
    args: hp ? [...inputs, hp] : inputs,
  });
}

for (const [op, expr] of Object.entries(UNARY_EXPR) as [UnaryOp, string][]) {
  reg(op, ({ inputs, outputs }) => elementwise(op, inputs, outputs[0]!, ['v'], expr));
}

reg('clip', ({ inputs, outputs, attrs }: KernelArgs<{ min: number; max: number }>) => {
  const hp = new Float32Array([attrs.min, attrs.max]);
  // hp[0] and hp[1] may be ±Infinity; float textures and wasm hold those exactly.
  elementwise('clip', inputs, outputs[0]!, ['v'], 'Math.min(Math.max(v, hp[0]), hp[1])', hp);
});

for (const [op, expr] of Object.entries(BINARY_EXPR) as [BinaryOp | ComparisonOp, string][]) {
  reg(
    op,
    ({ inputs, outputs }) => elementwise(op, inputs, outputs[0]!, ['a', 'b'], expr),
    ({ inputs }) => fits(inputs, broadcastSize(inputs.map((t) => t.shape))),
  );
}

reg(
  'where',
  ({ inputs, outputs }) => elementwise('where', inputs, outputs[0]!, ['c', 'a', 'b'], 'c != 0.0 ? a : b'),
  ({ inputs }) => fits(inputs, broadcastSize(inputs.map((t) => t.shape))),
);

reg('lerp', ({ inputs, outputs, attrs }: KernelArgs<LerpAttrs>) => {
  const hp = new Float32Array([attrs.t]);
  elementwise('lerp', inputs, outputs[0]!, ['a', 'b'], '(1.0 - hp[0]) * a + hp[0] * b', hp);
});

// ---------------------------------------------------------------- layout

/** out[i] = x[start + sum(index[d]·strides[d])]: transpose, slice and broadcastTo. */
function strided(key: string, x: Tensor, out: Tensor, strides: readonly number[], start: number): void {
  launch(out, {
    key: `${key}:${fmt(x.shape)}->${fmt(out.shape)}:${strides.join(',')}+${start}`,
    source: () => {
      const u = unravel(out.shape, [strides]);
      return fn(['x0'], `${u.code}return x0[${sumExpr([u.offsets[0]!, start])}];\n`);
    },
    args: [x],
  });
}

reg('transpose', ({ inputs, outputs, attrs }: KernelArgs<{ perm: number[] }>) => {
  const x = inputs[0]!;
  const inStr = stridesOf(x.shape);
  strided(
    'transpose',
    x,
    outputs[0]!,
    attrs.perm.map((p) => inStr[p]!),
    0,
  );
});

reg('broadcastTo', ({ inputs, outputs }) => {
  const x = inputs[0]!;
  const out = outputs[0]!;
  strided('broadcastTo', x, out, bcastStrides(x.shape, out.shape), 0);
});

reg('slice', ({ inputs, outputs, attrs }: KernelArgs<{ begin: number[] }>) => {
  const x = inputs[0]!;
  const str = stridesOf(x.shape);
  const start = attrs.begin.reduce((acc, b, i) => acc + b * str[i]!, 0);
  strided('slice', x, outputs[0]!, str, start);
});

// float32 is the only dtype here, so a cast is a copy; textures are shared by reference count.
reg('cast', ({ inputs, outputs }) => copyStorage(outputs[0]!, inputs[0]!));

// The pad value travels as a one-element argument, so one compiled kernel serves every value.
reg(
  'pad',
  ({ inputs, outputs, attrs }: KernelArgs<PadAttrs>) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    const inStr = stridesOf(x.shape);
    const pv = Float32Array.of(attrs.value);
    launch(out, {
      key: `pad:${fmt(x.shape)}:${attrs.paddings.map((p) => p.join('/')).join(',')}`,
      source: () => {
        if (x.size === 0) return fn(['pv'], 'return pv[0];\n');
        const u = unravel(out.shape, [], 'o', true);
        const conds: string[] = [];
        const terms: string[] = [];
        x.shape.forEach((n, d) => {
          const before = attrs.paddings[d]![0];
          const q = u.index[d]!;
          conds.push(`${q} >= ${lit(before)} && ${q} < ${lit(before + n)}`);
          terms.push(`(${q} - ${lit(before)}) * ${lit(inStr[d]!)}`);
        });
        const cond = conds.length ? conds.join(' && ') : '1.0 > 0.0';
        const off = terms.length ? terms.join(' + ') : '0.0';
        // The offset is clamped to 0 outside the input, so every read is in bounds.
        let body = u.code;
        body += `var ok = (${cond}) ? 1.0 : 0.0;\n`;
        body += `var src = ok > 0.5 ? ${off} : 0.0;\n`;
        body += 'var v = x0[src];\n';
        body += 'return ok > 0.5 ? v : pv[0];\n';
        return fn(['x0', 'pv'], body);
      },
      args: x.size === 0 ? [pv] : [x, pv],
    });
  },
  ({ inputs, attrs }) => {
    const x = inputs[0]!;
    const a = attrs as PadAttrs;
    // A non-finite pad value (-Infinity before a max pool) is left to js: textures may not keep it.
    if (!Number.isFinite(a.value)) return false;
    return fits(inputs, sizeOf(x.shape.map((d, i) => d + a.paddings[i]![0] + a.paddings[i]![1])));
  },
);

const MAX_CONCAT_INPUTS = 8;

reg(
  'concat',
  ({ inputs, outputs, attrs }: KernelArgs<{ axis: number }>) => {
    const out = outputs[0]!;
    const outer = sizeOf(out.shape.slice(0, attrs.axis));
    const outRow = out.size / Math.max(outer, 1);
    const parts: { t: Tensor; row: number; begin: number }[] = [];
    let col = 0;
    for (const t of inputs) {
      const row = outer === 0 ? 0 : t.size / outer;
      if (row > 0) parts.push({ t, row, begin: col });
      col += row;
    }
    launch(out, {
      key: `concat:${fmt(out.shape)}:${parts.map((p) => `${p.row}@${p.begin}`).join(',')}`,
      source: () => {
        const u = unravel([outer, outRow], [], 'o', true);
        const [q, c] = u.index as [string, string];
        let body = u.code;
        // Each part's offset is clamped into its own rows, so every read is in bounds.
        parts.forEach((p, k) => {
          body += `var o${k} = ${q} * ${lit(p.row)} + Math.max(0.0, Math.min(${c} - ${lit(p.begin)}, ${lit(p.row - 1)}));\n`;
        });
        const last = parts.length - 1;
        body += `var v = x${last}[o${last}];\n`;
        for (let k = last - 1; k >= 0; k--) {
          body += `v = ${c} < ${lit(parts[k + 1]!.begin)} ? x${k}[o${k}] : v;\n`;
        }
        body += 'return v;\n';
        return fn(
          parts.map((_, k) => `x${k}`),
          body,
        );
      },
      args: parts.map((p) => p.t),
    });
  },
  ({ inputs }) =>
    inputs.length <= MAX_CONCAT_INPUTS &&
    fits(
      inputs,
      inputs.reduce((n, t) => n + t.size, 0),
    ),
);

/** [outer, n, inner] around `axis`: the sizes before it, along it and after it. */
function aroundAxis(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis] ?? 1, sizeOf(shape.slice(axis + 1))];
}

reg(
  'gather',
  ({ inputs, outputs, attrs }: KernelArgs<IndexAttrs>) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    const [outer, n, inner] = aroundAxis(x.shape, attrs.axis);
    const k = attrs.indices.length;
    launch(out, {
      key: `gather:${fmt(x.shape)}:${attrs.axis}:${k}`,
      source: () => {
        const u = unravel([outer, k, inner], [], 'o', true);
        const [o, q, c] = u.index as [string, string, string];
        const src = `(${o} * ${lit(n)} + idx[${q}]) * ${lit(inner)} + ${c}`;
        return fn(['x0', 'idx'], `${u.code}return x0[${src}];\n`);
      },
      args: [x, Float32Array.from(attrs.indices)],
    });
  },
  ({ inputs, attrs }) => {
    const x = inputs[0]!;
    const a = attrs as IndexAttrs;
    const [outer, , inner] = aroundAxis(x.shape, a.axis);
    return fits(inputs, outer * a.indices.length * inner);
  },
);

/** scatterAdd loops over every index for every output element; beyond this, js is better. */
const MAX_SCATTER_WORK = 1 << 26;

reg(
  'scatterAdd',
  ({ inputs, outputs, attrs }: KernelArgs<IndexAttrs>) => {
    const x = inputs[0]!;
    const out = outputs[0]!;
    const k = attrs.indices.length;
    if (k === 0 || out.size === 0) {
      setHost(out, new Float32Array(out.size));
      return;
    }
    const [outer, n, inner] = aroundAxis(out.shape, attrs.axis);
    launch(out, {
      key: `scatterAdd:${fmt(x.shape)}:${attrs.axis}:${n}`,
      source: () => {
        const u = unravel([outer, n, inner], [], 'o', true);
        const [o, q, c] = u.index as [string, string, string];
        // Sums in index order, like the js kernel (adding 0.0 for other slots changes nothing).
        let body = u.code;
        body += 'var s = 0.0;\n';
        body += `for (var j = 0; j < ${k}; j++) {\n`;
        body += `  s += idx[j] == ${q} ? x0[(${o} * ${lit(k)} + j) * ${lit(inner)} + ${c}] : 0.0;\n`;
        body += '}\nreturn s;\n';
        return fn(['x0', 'idx'], body);
      },
      args: [x, Float32Array.from(attrs.indices)],
    });
  },
  ({ inputs, attrs }) => {
    // The output's size along the axis is not visible here; the largest index bounds it from below.
    const a = attrs as IndexAttrs;
    let slots = 1;
    for (const v of a.indices) slots = Math.max(slots, v + 1);
    return inputsFit({ inputs }) && inputs[0]!.size * slots < MAX_SCATTER_WORK;
  },
);

// ---------------------------------------------------------------- reductions

/**
 * A reduction over `axes` into `out` (keep-dims shape). A sum of r ≤ MAX_LOOP terms runs in two levels,
 * blocks of B = ⌈√r⌉ terms added in float32 and the block sums added in float32, so it errs
 * by at most about (B + r/B)·2^-24 ≤ 2√r·2^-24 of Σ|x| rather than r·2^-24 for one running
 * sum (GLSL has no float64; the two levels survive any compiler, where a compensated sum
 * may be optimised away).
 */
function reduce(op: 'sum' | 'max' | 'min', x: Tensor, out: Tensor, axes: readonly number[]): void {
  if (x.size === 0) {
    // Only sum reaches here (max and min of empty dimensions are rejected by the op).
    setHost(out, new Float32Array(out.size));
    return;
  }
  launch(out, {
    key: `${op}:${fmt(x.shape)}:${axes.join(',')}`,
    source: () => {
      // Group neighbouring dimensions of the same kind (kept or reduced); drop size-1 ones.
      const inStr = stridesOf(x.shape);
      const kept: { n: number; s: number }[] = [];
      const red: { n: number; s: number }[] = [];
      let prevKind: 'k' | 'r' | '' = '';
      x.shape.forEach((n, d) => {
        if (n === 1) return;
        const kind = axes.includes(d) ? 'r' : 'k';
        const list = kind === 'r' ? red : kept;
        if (kind === prevKind) {
          // contiguous in the input: merge with the previous dimension of this kind
          const last = list[list.length - 1]!;
          last.n *= n;
          last.s = inStr[d]!;
        } else list.push({ n, s: inStr[d]! });
        prevKind = kind;
      });
      const u = unravel(
        kept.map((g) => g.n),
        [kept.map((g) => g.s)],
        'o',
        true,
      );
      let body = u.code;
      const base = u.offsets[0]!;
      const r = red.reduce((p, g) => p * g.n, 1);
      const block = Math.max(1, Math.ceil(Math.sqrt(r)));
      body += op === 'sum' ? 'var acc = 0.0;\nvar blk = 0.0;\nvar cnt = 0.0;\n' : `var acc = x0[${base}];\n`;
      // Nested loops over the reduced groups, in input order, with running offsets a0, a1, ...
      body += `var a0 = ${base};\n`;
      let close = '';
      red.forEach((g, h) => {
        body += `for (var j${h} = 0; j${h} < ${g.n}; j${h}++) {\n`;
        body += `var a${h + 1} = a${h};\n`;
        close = `a${h} += ${lit(g.s)};\n}\n${close}`;
      });
      body += `var v = x0[a${red.length}];\n`;
      if (op === 'sum') {
        body += 'blk += v;\ncnt += 1.0;\n';
        body += `if (cnt >= ${lit(block)}) {\nacc += blk;\nblk = 0.0;\ncnt = 0.0;\n}\n`;
      }
      // NaN propagates where the backend's comparisons follow IEEE (v != v).
      else if (op === 'max') body += 'acc = (v > acc || v != v) ? v : acc;\n';
      else body += 'acc = (v < acc || v != v) ? v : acc;\n';
      body += close;
      body += op === 'sum' ? 'return acc + blk;\n' : 'return acc;\n';
      return fn(['x0'], body);
    },
    args: [x],
  });
}

/**
 * Reductions loop over the reduced elements per output; cap the loop length. GL drivers
 * stop a shader loop after 65535 iterations (headless-gl on Mesa returned 65535 for a sum
 * of 2^17 ones), so longer reductions run on js, in every mode alike.
 */
const MAX_LOOP = 65535;

for (const op of ['sum', 'max', 'min'] as const) {
  reg(
    op,
    ({ inputs, outputs, attrs }: KernelArgs<{ axes: number[] }>) =>
      reduce(op, inputs[0]!, outputs[0]!, attrs.axes),
    ({ inputs, attrs }) => {
      const x = inputs[0]!;
      const r = (attrs.axes as number[]).reduce((n, a) => n * x.shape[a]!, 1);
      return inputsFit({ inputs }) && r <= MAX_LOOP;
    },
  );
}

// ---------------------------------------------------------------- matmul and fused dense

interface MatmulGeometry {
  m: number;
  k: number;
  n: number;
}

function geometry(a: Tensor, b: Tensor, tA: boolean, tB: boolean): MatmulGeometry {
  const ra = a.rank;
  const rb = b.rank;
  return {
    m: tA ? a.shape[ra - 1]! : a.shape[ra - 2]!,
    k: tA ? a.shape[ra - 2]! : a.shape[ra - 1]!,
    n: tB ? b.shape[rb - 2]! : b.shape[rb - 1]!,
  };
}

/**
 * The body of a (batched, transposed) matrix product into a variable `v`, with optional
 * bias `x2[col]`. The dot product accumulates in order p = 0..k-1, like the js kernel.
 */
function matmulBody(
  a: Tensor,
  b: Tensor,
  out: Tensor,
  { m, k, n }: MatmulGeometry,
  tA: boolean,
  tB: boolean,
  bias: boolean,
): string {
  const batch = out.shape.slice(0, -2);
  const aB = bcastStrides(a.shape.slice(0, -2), batch).map((s) => s * m * k);
  const bB = bcastStrides(b.shape.slice(0, -2), batch).map((s) => s * k * n);
  // Over [batch..., m, n]: a moves with the row, b with the column, the bias with the column.
  const strides = [
    [...aB, tA ? 1 : k, 0],
    [...bB, 0, tB ? k : 1],
  ];
  if (bias) strides.push([...batch.map(() => 0), 0, 1]);
  const u = unravel([...batch, m, n], strides);
  const [oa, ob] = u.offsets as [string, string];
  const pa = tA ? m : 1;
  const pb = tB ? 1 : n;
  // Walk both operands with running offsets: an add per step instead of a multiply
  // (about 4× faster in webasm, a little faster in headless-gl).
  let body = u.code;
  body += `var ia = ${oa};\nvar ib = ${ob};\n`;
  body += 'var s = 0.0;\n';
  body += `for (var p = 0; p < ${k}; p++) {\n`;
  body += '  s += x0[ia] * x1[ib];\n';
  body += `  ia += ${lit(pa)};\n  ib += ${lit(pb)};\n`;
  body += '}\n';
  body += bias ? `var v = s + x2[${u.offsets[2]}];\n` : 'var v = s;\n';
  return body;
}

reg(
  'matmul',
  ({ inputs, outputs, attrs }: KernelArgs<MatmulAttrs>) => {
    const [a, b] = inputs as [Tensor, Tensor];
    const out = outputs[0]!;
    const { transposeA: tA, transposeB: tB } = attrs;
    const g = geometry(a, b, tA, tB);
    if (g.k === 0) {
      setHost(out, new Float32Array(out.size));
      return;
    }
    launch(out, {
      key: `matmul:${fmt(a.shape)}:${fmt(b.shape)}:${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`,
      source: () => fn(['x0', 'x1'], `${matmulBody(a, b, out, g, tA, tB, false)}return v;\n`),
      args: [a, b],
    });
  },
  ({ inputs, attrs }) => {
    const [a, b] = inputs as [Tensor, Tensor];
    const g = geometry(a, b, attrs.transposeA, attrs.transposeB);
    const batch = broadcastSize([a.shape.slice(0, -2), b.shape.slice(0, -2)]);
    return fits(inputs, batch * g.m * g.n) && g.k <= MAX_LOOP;
  },
);

reg(
  'fusedDense',
  ({ inputs, outputs, attrs }: KernelArgs<FusedDenseAttrs>) => {
    const [x, w, bias] = inputs as [Tensor, Tensor, Tensor | undefined];
    const out = outputs[0]!;
    const g = geometry(x, w, false, false);
    const act = activationExpr(attrs.activation);
    launch(out, {
      key: `fusedDense:${fmt(x.shape)}:${fmt(w.shape)}:${bias ? 'b' : '-'}:${attrs.activation}`,
      source: () =>
        fn(
          bias ? ['x0', 'x1', 'x2'] : ['x0', 'x1'],
          `${matmulBody(x, w, out, g, false, false, !!bias)}return ${act};\n`,
        ),
      args: bias ? [x, w, bias] : [x, w],
    });
  },
  ({ inputs }) => {
    const [x, w] = inputs as [Tensor, Tensor];
    // k = 0 (an empty inner dimension) is left to js.
    return x.shape[1]! > 0 && x.shape[1]! <= MAX_LOOP && fits(inputs, x.shape[0]! * w.shape[1]!);
  },
);

// ---------------------------------------------------------------- optimiser

/** The value of a one-element tensor (a texture is read back; a host copy is read directly). */
function scalarOf(t: Tensor): number {
  return t.backend.read(t.storage, t.dtype, 1)[0]!;
}

// A counter (an optimiser's step count), on the host: one element is not worth a launch.
reg('increment', ({ inputs, outputs }) => {
  const x = inputs[0]!;
  const y = x.backend.read(x.storage, x.dtype, x.size) as Float32Array;
  for (let i = 0; i < y.length; i++) y[i] = y[i]! + 1;
  setHost(outputs[0]!, y);
});

reg('adamUpdate', ({ inputs, outputs, attrs }: KernelArgs<AdamAttrs>) => {
  const [p, g, m, v] = inputs as [Tensor, Tensor, Tensor, Tensor];
  const [pOut, mOut, vOut, vmaxOut] = outputs as [Tensor, Tensor, Tensor, Tensor | undefined];
  const { beta1, beta2, eps, weightDecay, decoupled, amsgrad } = attrs;
  const vmax = amsgrad ? inputs[4] : undefined;
  // The step and the learning rate are the last two inputs, read now.
  const step = scalarOf(inputs[inputs.length - 2]!);
  const lr = scalarOf(inputs[inputs.length - 1]!);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  // Hyperparameters travel as data, so one compiled kernel serves every step.
  const hp = new Float32Array([beta1, 1 - beta1, beta2, 1 - beta2, lr, eps, weightDecay, bc1, bc2]);
  const l2 = weightDecay !== 0 && !decoupled;
  const grad = l2 ? 'var gi = g + hp[6] * w;\n' : 'var gi = g;\n';
  const shape = fmt(p.shape);
  const flat = (names: string[], body: string) => fn([...names, 'hp'], `var i = this.thread.x;\n${body}`);
  launch(mOut, {
    key: `adam.m:${shape}:${l2}`,
    source: () =>
      flat(['xp', 'xg', 'xm'], `var w = xp[i];\nvar g = xg[i];\n${grad}return hp[0] * xm[i] + hp[1] * gi;\n`),
    args: [p, g, m, hp],
  });
  launch(vOut, {
    key: `adam.v:${shape}:${l2}`,
    source: () =>
      flat(
        ['xp', 'xg', 'xv'],
        `var w = xp[i];\nvar g = xg[i];\n${grad}return hp[2] * xv[i] + hp[3] * gi * gi;\n`,
      ),
    args: [p, g, v, hp],
  });
  let vHat = vOut;
  if (amsgrad && vmax && vmaxOut) {
    launch(vmaxOut, {
      key: `adam.vmax:${shape}`,
      source: () => flat(['xa', 'xb'], 'return Math.max(xa[i], xb[i]);\n'),
      args: [vmax, vOut, hp],
    });
    vHat = vmaxOut;
  }
  const decay = weightDecay !== 0 && decoupled ? 'w = w - hp[4] * hp[6] * w;\n' : '';
  launch(pOut, {
    key: `adam.p:${shape}:${decay !== ''}`,
    source: () =>
      flat(
        ['xp', 'xm', 'xv'],
        `var w = xp[i];\n${decay}return w - (hp[4] * (xm[i] / hp[7])) / (Math.sqrt(xv[i] / hp[8]) + hp[5]);\n`,
      ),
    args: [p, mOut, vHat, hp],
  });
});
