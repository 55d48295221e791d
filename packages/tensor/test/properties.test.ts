/**
 * Property tests (fast-check). Data is mostly small integers, for which every sum and
 * product here is exact in float32 and float64, so results can be compared exactly even
 * when the kernel and the reference add in different orders. Where doubles are used,
 * tolerances are given next to the assertion (see also `TOL` in helpers.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';
import {
  broadcastableArb,
  broadcastablePairArb,
  dataArb,
  expectAllClose,
  expectSameTensor,
  finite,
  inversePerm,
  naiveBroadcastShape,
  naiveMatmul,
  naiveTranspose,
  permArb,
  readBroadcast,
  shapeArb,
  sizeOf,
  smallInt,
  TOL,
  tensorOf,
  unravel,
} from './helpers.ts';

const dtypeArb = fc.constantFrom<T.DType>('float32', 'float64');
const ALL_BINARY = [...T.BINARY_OPS, ...T.COMPARISON_OPS] as const;
type BinaryFn = (a: T.TensorLike, b: T.TensorLike) => T.Tensor;
const binaryFn = (op: (typeof ALL_BINARY)[number]) => T[op] as BinaryFn;

/** Tensors for a list of shapes, all of one dtype. */
function tensorsArb(shapes: number[][], value: fc.Arbitrary<number> = finite(3)): fc.Arbitrary<T.Tensor[]> {
  return fc
    .tuple(dtypeArb, ...shapes.map((s) => dataArb(s, value)))
    .map(([dtype, ...data]) => data.map((d, i) => T.tensor(d, { shape: shapes[i]!, dtype })));
}

describe('broadcasting', () => {
  it('broadcastShapes agrees with the naive rule, and throws exactly when the naive rule does', () => {
    fc.assert(
      fc.property(shapeArb(0, 4, 1, 3), shapeArb(0, 4, 1, 3), (a, b) => {
        let want: number[] | undefined;
        try {
          want = naiveBroadcastShape(a, b);
        } catch {
          want = undefined;
        }
        if (want) {
          expect(T.broadcastShapes('op', a, b)).toEqual(want);
          expect(T.broadcastShapes('op', b, a)).toEqual(want);
        } else {
          expect(() => T.broadcastShapes('op', a, b)).toThrow(/op: shapes .* are not broadcastable/);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('broadcastTo reads each output element from the broadcast source position', () => {
    fc.assert(
      fc.property(
        broadcastablePairArb().chain(([a, b]) =>
          fc.tuple(fc.constant(naiveBroadcastShape(a, b)), tensorOf(a, 'float64', smallInt)),
        ),
        ([out, x]) => {
          const y = T.broadcastTo(x, out);
          expect(y.shape).toEqual(out);
          const xd = x.dataSync();
          const yd = y.dataSync();
          for (let o = 0; o < yd.length; o++) expect(yd[o]).toBe(readBroadcast(xd, x.shape, unravel(o, out)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('every binary op with broadcasting equals the op on explicitly broadcast operands', () => {
    fc.assert(
      fc.property(
        broadcastablePairArb().chain(([sa, sb]) => tensorsArb([sa, sb])),
        fc.constantFrom(...ALL_BINARY),
        ([a, b], op) => {
          const out = naiveBroadcastShape(a!.shape, b!.shape);
          const f = binaryFn(op);
          const direct = f(a!, b!);
          const explicit = f(T.broadcastTo(a!, out), T.broadcastTo(b!, out));
          expectSameTensor(direct, explicit);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a number operand equals a scalar tensor of the same dtype, on either side', () => {
    fc.assert(
      fc.property(
        shapeArb(0, 3).chain((s) => tensorsArb([s])),
        finite(3),
        fc.constantFrom(...ALL_BINARY),
        ([x], v, op) => {
          const f = binaryFn(op);
          const s = T.scalar(v, x!.dtype);
          expectSameTensor(f(x!, v), f(x!, s));
          expectSameTensor(f(v, x!), f(s, x!));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('where with broadcasting equals where on explicitly broadcast operands', () => {
    fc.assert(
      fc.property(
        broadcastableArb(3).chain((shapes) =>
          fc
            .tuple(tensorsArb(shapes.slice(1)), dataArb(shapes[0]!, fc.constantFrom(0, 1, -2)))
            .map(([[a, b], c]) => [T.tensor(c, { shape: shapes[0]!, dtype: a!.dtype }), a!, b!] as const),
        ),
        ([c, a, b]) => {
          const out = naiveBroadcastShape(naiveBroadcastShape(c.shape, a.shape), b.shape);
          const bt = (t: T.Tensor) => T.broadcastTo(t, out);
          expectSameTensor(T.where(c, a, b), T.where(bt(c), bt(a), bt(b)));
          // and elementwise it is c ? a : b
          const cd = bt(c).dataSync();
          const ad = bt(a).dataSync();
          const bd = bt(b).dataSync();
          expect(Array.from(T.where(c, a, b).dataSync())).toEqual(
            Array.from(cd, (v, i) => (v !== 0 ? ad[i] : bd[i])),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('matmul', () => {
  const caseArb = fc
    .record({
      batch: broadcastablePairArb(3, 3),
      m: fc.integer({ min: 0, max: 4 }),
      k: fc.integer({ min: 0, max: 4 }),
      n: fc.integer({ min: 0, max: 4 }),
      transposeA: fc.boolean(),
      transposeB: fc.boolean(),
      dtype: dtypeArb,
    })
    .chain((c) => {
      const aShape = [...c.batch[0], ...(c.transposeA ? [c.k, c.m] : [c.m, c.k])];
      const bShape = [...c.batch[1], ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])];
      return fc.tuple(fc.constant(c), tensorOf(aShape, c.dtype), tensorOf(bShape, c.dtype));
    });

  it('agrees exactly with a naive triple loop (transposes, broadcast batch dims, integer data)', () => {
    fc.assert(
      fc.property(caseArb, ([c, a, b]) => {
        const got = T.matmul(a, b, { transposeA: c.transposeA, transposeB: c.transposeB });
        const ref = naiveMatmul(a.dataSync(), a.shape, b.dataSync(), b.shape, c.transposeA, c.transposeB);
        expect(got.shape).toEqual(ref.shape);
        expect(got.shape).toEqual(T.matmulShape(a.shape, b.shape, c));
        expect(got.dtype).toBe(c.dtype);
        expect(Array.from(got.dataSync())).toEqual(ref.data);
      }),
      { numRuns: 150 },
    );
  });

  it('agrees with the naive loop on doubles (float64, tolerance 1e-12)', () => {
    fc.assert(
      fc.property(
        fc
          .record({
            m: fc.integer({ min: 1, max: 6 }),
            k: fc.integer({ min: 1, max: 6 }),
            n: fc.integer({ min: 1, max: 6 }),
          })
          .chain(({ m, k, n }) =>
            fc.tuple(tensorOf([2, m, k], 'float64', finite(2)), tensorOf([k, n], 'float64', finite(2))),
          ),
        ([a, b]) => {
          const ref = naiveMatmul(a.dataSync(), a.shape, b.dataSync(), b.shape);
          expectAllClose(T.matmul(a, b), ref.data, TOL.f64);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('transpose flags equal explicit transposes', () => {
    fc.assert(
      fc.property(caseArb, ([c, a, b]) => {
        const swap = (t: T.Tensor) =>
          T.transpose(
            t,
            [...t.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : all.length * 2 - 3 - i)),
          );
        const aa = c.transposeA ? swap(a) : a;
        const bb = c.transposeB ? swap(b) : b;
        expectSameTensor(T.matmul(a, b, c), T.matmul(aa, bb));
      }),
      { numRuns: 100 },
    );
  });
});

describe('reductions', () => {
  const opArb = fc.constantFrom('sum', 'max', 'min') as fc.Arbitrary<'sum' | 'max' | 'min'>;
  const caseArb = shapeArb(0, 4, 1, 4).chain((shape) =>
    fc.record({
      x: tensorOf(shape, 'float64'),
      // a random subset of axes, in random order, some written as negative axes
      axes: fc
        .shuffledSubarray([...shape.keys()])
        .chain((ax) =>
          fc.tuple(...ax.map((a) => fc.constantFrom(a, a - shape.length))).map((list) => list as number[]),
        ),
      keepDims: fc.boolean(),
      op: opArb,
    }),
  );

  it('reducing several axes at once equals reducing one axis at a time', () => {
    fc.assert(
      fc.property(caseArb, ({ x, axes, keepDims, op }) => {
        const f = T[op];
        const at = (a: number) => (a < 0 ? a + x.rank : a);
        const once = f(x, axes, keepDims);
        // descending order keeps the remaining axis numbers valid when dims are dropped
        let step = x;
        for (const a of [...axes].map(at).sort((p, q) => q - p)) step = f(step, a, keepDims);
        expectSameTensor(once, step);
        const expectShape = keepDims
          ? x.shape.map((d, i) => (axes.map(at).includes(i) ? 1 : d))
          : x.shape.filter((_, i) => !axes.map(at).includes(i));
        expect(once.shape).toEqual(expectShape);
      }),
      { numRuns: 150 },
    );
  });

  it('reducing over all axes (axes omitted) equals reducing every axis one at a time', () => {
    fc.assert(
      fc.property(caseArb, ({ x, keepDims, op }) => {
        const f = T[op];
        let step = x;
        for (let a = x.rank - 1; a >= 0; a--) step = f(step, a, keepDims);
        const all = f(x, undefined, keepDims);
        expectSameTensor(all, step);
        expect(all.shape).toEqual(keepDims ? x.shape.map(() => 1) : []);
        // and matches a plain loop over the data
        const d = Array.from(x.dataSync());
        const want =
          op === 'sum' ? d.reduce((p, q) => p + q, 0) : op === 'max' ? Math.max(...d) : Math.min(...d);
        expect(all.dataSync()[0]).toBe(want);
      }),
      { numRuns: 100 },
    );
  });

  it('mean = sum / count and variance = mean of squared deviations', () => {
    fc.assert(
      fc.property(caseArb, ({ x, axes, keepDims }) => {
        const count = axes.reduce((n, a) => n * x.shape[a < 0 ? a + x.rank : a]!, 1);
        expectAllClose(T.mean(x, axes, keepDims), T.div(T.sum(x, axes, keepDims), count), TOL.f64);
        const m = T.mean(x, axes, true);
        const v = T.mean(T.square(T.sub(x, m)), axes, keepDims);
        expectAllClose(T.variance(x, axes, keepDims), v, TOL.f64);
      }),
      { numRuns: 100 },
    );
  });
});

describe('layout round trips', () => {
  it('transpose by a random perm matches the naive permutation and its inverse restores the input', () => {
    fc.assert(
      fc.property(
        shapeArb(0, 5, 1, 4).chain((s) => fc.tuple(tensorOf(s, 'float32'), permArb(s.length))),
        ([x, perm]) => {
          const y = T.transpose(x, perm);
          expect(y.shape).toEqual(perm.map((p) => x.shape[p]));
          expect(Array.from(y.dataSync())).toEqual(naiveTranspose(x.dataSync(), x.shape, perm));
          expectSameTensor(T.permute(y, inversePerm(perm)), x);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reshape to a flat vector (or with -1 anywhere) and back restores the input', () => {
    fc.assert(
      fc.property(
        shapeArb(0, 5, 0, 4).chain((s) =>
          fc.tuple(tensorOf(s, 'float64'), fc.integer({ min: 0, max: Math.max(0, s.length - 1) })),
        ),
        ([x, at]) => {
          const flat = T.reshape(x, [-1]);
          expect(flat.shape).toEqual([x.size]);
          expectSameTensor(T.reshape(flat, x.shape), x);
          // -1 in place of one dimension infers it (only when the rest is non-empty)
          const rest = x.shape.filter((_, i) => i !== at);
          if (x.rank > 0 && sizeOf(rest) > 0) {
            const spec = x.shape.map((d, i) => (i === at ? -1 : d));
            expect(T.reshape(x, spec).shape).toEqual(x.shape);
          }
          // expandDims / squeeze round trip
          const axis = at;
          expectSameTensor(T.squeeze(T.expandDims(x, axis), axis), x);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('concat then slice recovers the parts', () => {
    fc.assert(
      fc.property(
        shapeArb(1, 4, 1, 3).chain((base) =>
          fc
            .tuple(
              fc.integer({ min: 0, max: base.length - 1 }),
              fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
              fc.boolean(),
              dtypeArb,
            )
            .chain(([axis, lens, negative, dtype]) =>
              fc.tuple(
                fc.constant(negative ? axis - base.length : axis),
                fc.tuple(
                  ...lens.map((len) =>
                    tensorOf(
                      base.map((d, i) => (i === axis ? len : d)),
                      dtype,
                    ),
                  ),
                ),
              ),
            ),
        ),
        ([axis, parts]) => {
          const cat = T.concat(parts, axis);
          const ax = axis < 0 ? axis + cat.rank : axis;
          expect(cat.shape[ax]).toBe(parts.reduce((n, p) => n + p.shape[ax]!, 0));
          let offset = 0;
          for (const p of parts) {
            const begin = p.shape.map((_, i) => (i === ax ? offset : 0));
            const size = p.shape.map((d, i) => (i === ax ? d : -1));
            expectSameTensor(T.slice(cat, begin, size), p);
            offset += p.shape[ax]!;
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('stack equals concat of expanded tensors, and unstacking by slice recovers them', () => {
    fc.assert(
      fc.property(
        shapeArb(0, 3, 1, 3).chain((s) =>
          fc.tuple(
            fc.array(tensorOf(s, 'float32'), { minLength: 1, maxLength: 3 }),
            fc.integer({ min: 0, max: s.length }),
          ),
        ),
        ([ts, axis]) => {
          const st = T.stack(ts, axis);
          expectSameTensor(
            st,
            T.concat(
              ts.map((t) => T.expandDims(t, axis)),
              axis,
            ),
          );
          ts.forEach((t, i) => {
            const begin = st.shape.map((_, d) => (d === axis ? i : 0));
            const size = st.shape.map((_, d) => (d === axis ? 1 : -1));
            expectSameTensor(T.squeeze(T.slice(st, begin, size), axis), t);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('pad then slice recovers the input, and padding adds only zeros', () => {
    fc.assert(
      fc.property(
        shapeArb(0, 4, 0, 3).chain((s) =>
          fc.tuple(
            tensorOf(s, 'float64'),
            fc.tuple(
              ...s.map(() => fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))),
            ),
          ),
        ),
        ([x, paddings]) => {
          const p = T.pad(x, paddings as [number, number][]);
          expect(p.shape).toEqual(x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]));
          const back = T.slice(
            p,
            paddings.map((q) => q[0]),
            x.shape,
          );
          expectSameTensor(back, x);
          expect(T.sum(p).item()).toBe(T.sum(x).item());
          expect(T.sum(T.abs(p)).item()).toBe(T.sum(T.abs(x)).item());
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('gather / scatterAdd', () => {
  const caseArb = fc
    .record({
      rows: fc.integer({ min: 1, max: 5 }),
      tail: shapeArb(0, 2, 1, 3),
      n: fc.integer({ min: 0, max: 8 }),
      value: fc.constantFrom(smallInt, finite(2)),
    })
    .chain(({ rows, tail, n, value }) =>
      fc.record({
        rows: fc.constant(rows),
        idx: fc.array(fc.integer({ min: 0, max: rows - 1 }), { minLength: n, maxLength: n }),
        x: tensorOf([rows, ...tail], 'float64', value),
        u: tensorOf([n, ...tail], 'float64', value),
      }),
    );

  it('gather picks rows: out[i] = x[idx[i]]', () => {
    fc.assert(
      fc.property(caseArb, ({ x, idx }) => {
        const g = T.gather(x, idx);
        expect(g.shape).toEqual([idx.length, ...x.shape.slice(1)]);
        const rows = x.toArray() as T.NestedArray[];
        expect(g.toArray()).toEqual(idx.map((i) => rows[i]));
      }),
      { numRuns: 100 },
    );
  });

  it('adjoint identity: <gather(x, idx), u> = <x, scatterAdd(u, idx, rows)> (tolerance 1e-12)', () => {
    fc.assert(
      fc.property(caseArb, ({ rows, idx, x, u }) => {
        const lhs = T.sum(T.mul(T.gather(x, idx), u)).item();
        const s = T.scatterAdd(u, idx, rows);
        expect(s.shape).toEqual(x.shape);
        const rhs = T.sum(T.mul(x, s)).item();
        expectAllClose([lhs], [rhs], TOL.f64);
      }),
      { numRuns: 100 },
    );
  });

  it('scatterAdd conserves the total of the updates', () => {
    fc.assert(
      fc.property(caseArb, ({ rows, idx, u }) => {
        expectAllClose([T.sum(T.scatterAdd(u, idx, rows)).item()], [T.sum(u).item()], TOL.f64);
      }),
      { numRuns: 50 },
    );
  });
});

describe('float32 vs float64', () => {
  it('a chain of ops agrees within float32 tolerance', () => {
    // Inputs are float32-representable, so both dtypes start from identical values and
    // differ only by float32 rounding of ~12 intermediate results of magnitude <= ~10:
    // allow |f32 − f64| <= 1e-5 + 1e-5·|f64| (TOL.f32; float32 eps is 1.19e-7, observed worst
    // case over 5000 random chains is ~2% of this bound).
    const f32 = finite(1).map(Math.fround);
    fc.assert(
      fc.property(
        fc
          .record({
            b: fc.integer({ min: 1, max: 5 }),
            i: fc.integer({ min: 1, max: 6 }),
            o: fc.integer({ min: 1, max: 5 }),
          })
          .chain(({ b, i, o }) =>
            fc.tuple(dataArb([b, i], f32), dataArb([i, o], f32), dataArb([o], f32), fc.constant([b, i, o])),
          ),
        ([xd, wd, bd, [b, i, o]]) => {
          const run = (dtype: T.DType) => {
            const x = T.tensor(xd, { shape: [b!, i!], dtype });
            const w = T.tensor(wd, { shape: [i!, o!], dtype });
            const bias = T.tensor(bd, { shape: [o!], dtype });
            const h = T.tanh(T.add(T.matmul(x, w), bias));
            const g = T.mul(T.sigmoid(h), T.exp(T.neg(T.square(h))));
            const z = T.div(T.sub(g, T.mean(g, 0, true)), T.sqrt(T.add(T.variance(g, 0, true), 1)));
            const d = T.fusedDense(z, T.transpose(w), undefined, 'relu');
            return T.concat([
              T.reshape(T.sum(z, 1), [-1]),
              T.reshape(T.max(T.abs(d), 1), [-1]),
              T.reshape(T.log(T.add(T.square(x), 1)), [-1]),
            ]);
          };
          const lo = run('float32');
          const hi = run('float64');
          expect(lo.dtype).toBe('float32');
          expect(hi.dtype).toBe('float64');
          expectAllClose(lo, hi, TOL.f32);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('cast float64 → float32 → float64 equals Math.fround', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { maxLength: 20 }), (d) => {
        const x = T.tensor(new Float64Array(d));
        const back = T.cast(T.cast(x, 'float32'), 'float64');
        expect(Array.from(back.dataSync())).toEqual(d.map(Math.fround));
      }),
      { numRuns: 50 },
    );
  });
});
