/**
 * The testing toolkit itself: gradcheck's reports, gradgradcheck, the arbitraries and the
 * properties (including that they fail when they should).
 */
import * as T from '@chainrule/tensor';
import { jsData, type Tensor } from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';
import {
  arbBroadcastableShapes,
  arbDistinctTensors,
  arbShape,
  arbTensor,
  assertGradcheck,
  assertGradgradcheck,
  avoidNear,
  clipDomain,
  gradcheck,
  gradgradcheck,
  KINK_MARGIN,
  OP_DOMAINS,
  propAdjointIdentity,
  propInputsNotMutated,
  propRetainGraphDoubles,
  propReuseAccumulates,
  propVjpLinear,
  unravelIndex,
} from '../src/testing/index.ts';

const f64 = (v: T.NestedArray): Tensor => T.tensor(v, { dtype: 'float64' });
/** x · stop_gradient(x): the engine reports half the true derivative 2x. */
const halfWrong = (x: Var) => A.mul(x, x.detach());

describe('gradcheck', () => {
  it('passes a correct gradient, with a report', () => {
    const r = gradcheck((x) => A.sum(A.tanh(x)), [f64([[0.5, -1, 2]])]);
    expect(r.ok).toBe(true);
    expect(r.failures).toEqual([]);
    expect(r.maxAbsError).toBeLessThan(1e-8);
    expect(r.message).toMatch(/gradcheck passed: 3 elements checked/);
  });

  it('reports each wrong element with its input, index, analytic and numeric values', () => {
    const r = gradcheck((a, b) => A.add(A.mul(a, b), halfWrong(b)), [f64([1, 2]), f64([[3, -4]])]);
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => [f.input, f.index])).toEqual([
      [1, [0, 0]],
      [1, [0, 1]],
    ]);
    const [first] = r.failures;
    expect(first!.numeric / first!.analytic).toBeCloseTo(
      (1 + 2 * 3) / (1 + 3), // d/db (a·b + b²) = a + 2b; the engine sees a + b
      4,
    );
    expect(r.maxAbsError).toBeGreaterThan(1);
    expect(r.message).toContain('input 1 at index [0,0]: analytic');
    expect(r.message).toContain(`vs numeric ${first!.numeric.toPrecision(8)}`);
  });

  it('uses a random cotangent for a non-scalar output, seeded', () => {
    const wrong = (x: Var) => halfWrong(x);
    const r0 = gradcheck(wrong, [f64([1, 2, 3])], { seed: 0 });
    const r1 = gradcheck(wrong, [f64([1, 2, 3])], { seed: 1 });
    const r0again = gradcheck(wrong, [f64([1, 2, 3])], { seed: 0 });
    expect(r0.ok).toBe(false);
    expect(r0.failures).toEqual(r0again.failures);
    expect(r0.failures[0]!.analytic).not.toBe(r1.failures[0]!.analytic);
    // analytic = v·x, numeric = 2·v·x
    for (const f of r0.failures) expect(f.numeric / f.analytic).toBeCloseTo(2, 6);
  });

  it('fast mode checks random directions and reports index null', () => {
    expect(
      gradcheck(
        (x) => A.exp(x),
        [
          f64([
            [0.1, 0.2],
            [0.3, 0.4],
          ]),
        ],
        { fast: true },
      ).ok,
    ).toBe(true);
    const r = gradcheck(
      halfWrong,
      [
        f64([
          [0.1, 0.2],
          [0.3, 0.4],
        ]),
      ],
      { fast: true, nDirections: 4 },
    );
    expect(r.ok).toBe(false);
    expect(r.failures).toHaveLength(4);
    expect(r.failures.every((f) => f.index === null && f.input === 0)).toBe(true);
    expect(r.message).toContain('input 0 along a random direction');
  });

  it('evaluates in float64 whatever the inputs are, and never mutates them', () => {
    const t32 = T.tensor([0.1, 0.7]);
    const v = A.param(T.tensor([[0.3, -0.2]]));
    const before = [Array.from(t32.dataSync()), Array.from(v.value.dataSync())];
    const seen: string[] = [];
    const r = gradcheck(
      (a, b) => {
        seen.push(a.dtype, b.dtype);
        return A.sum(A.mul(A.exp(a), A.sum(b)));
      },
      [t32, v],
    );
    expect(r.ok).toBe(true);
    expect(new Set(seen)).toEqual(new Set(['float64']));
    expect([Array.from(t32.dataSync()), Array.from(v.value.dataSync())]).toEqual(before);
    expect(t32.dtype).toBe('float32');
    expect(v.grad).toBeNull();
  });

  it('reports an output outside the domain instead of comparing NaNs', () => {
    const r = gradcheck((x) => A.log(x), [f64([-1, 2])]);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/NaN or Infinity/);
  });

  it('handles outputs that do not depend on some (or all) inputs', () => {
    expect(gradcheck((a, _b) => A.sum(A.square(a)), [f64([1]), f64([2, 3])]).ok).toBe(true);
    expect(gradcheck((a) => A.sign(a), [f64([1, -2])]).ok).toBe(true);
    expect(gradcheck(() => A.input(f64([1, 2])), [f64([1])]).ok).toBe(true);
  });

  it('assertGradcheck throws the report message', () => {
    expect(() => assertGradcheck(halfWrong, [f64([1, 2])])).toThrow(/input 0 at index \[0\]: analytic/);
    expect(assertGradcheck((x) => A.square(x), [f64([1, 2])]).ok).toBe(true);
  });

  it('rejects bad options and inputs', () => {
    expect(() => gradcheck((x) => x, [f64([1])], { eps: 0 })).toThrow(/eps > 0/);
    expect(() => gradcheck((x) => x, [f64([1])], { fast: true, nDirections: 0 })).toThrow(/nDirections/);
    expect(() => gradcheck((x) => x, [])).toThrow(/non-empty/);
    expect(() => gradcheck(() => 3 as unknown as Var, [f64([1])])).toThrow(/must return a Var/);
  });

  it('unravelIndex is row-major', () => {
    expect(unravelIndex(5, [2, 3])).toEqual([1, 2]);
    expect(unravelIndex(0, [])).toEqual([]);
    expect(unravelIndex(7, [2, 2, 2])).toEqual([1, 1, 1]);
  });
});

describe('gradgradcheck', () => {
  it('passes correct second derivatives, over the inputs and the cotangent', () => {
    const r = gradgradcheck((a, b) => A.mul(A.tanh(a), A.square(b)), [f64([0.3, -0.8]), f64([1.5])]);
    expect(r.ok).toBe(true);
    // inputs: a (2) + b (1) + the cotangent v (2 elements)
    expect(r.message).toMatch(/gradgradcheck passed: 5 elements checked/);
  });

  it('catches a gradient that is right to first order only', () => {
    // x · tanh(x) as xd·tanh(x) + (x − xd)·tanh(xd) with xd = detach(x): the value and the
    // first derivative tanh(x) + x·(1 − tanh²x) are right, but the graph of the derivative
    // misses every path through xd.
    const f = (x: Var) => {
      const xd = x.detach();
      return A.add(A.mul(xd, A.tanh(x)), A.mul(A.sub(x, xd), A.tanh(xd)));
    };
    expect(gradcheck(f, [f64([0.5, -1.2])]).ok).toBe(true);
    const r = gradgradcheck(f, [f64([0.5, -1.2])]);
    expect(r.ok).toBe(false);
    expect(r.failures.every((fl) => fl.input === 0)).toBe(true);
    expect(r.message).toMatch(/gradgradcheck failed: .*\n {2}input 0 at index \[\d\]/);
    expect(() => assertGradgradcheck(f, [f64([0.5, -1.2])])).toThrow(/gradgradcheck failed/);
  });

  it('checks the cotangent too, and names it', () => {
    const r = gradgradcheck((x) => A.mul(x, x), [f64([2])], { fast: true, nDirections: 2 });
    expect(r.ok).toBe(true);
    expect(r.message).toMatch(/4 directions/); // 2 per input, inputs x and v
  });

  it('does not mutate its inputs', () => {
    const x = f64([0.2, 0.4]);
    gradgradcheck((v) => A.exp(v), [x]);
    expect(Array.from(x.dataSync())).toEqual([0.2, 0.4]);
  });
});

describe('arbitraries', () => {
  it('arbShape respects rank and dimension bounds', () => {
    fc.assert(
      fc.property(arbShape({ minRank: 1, maxRank: 2, maxDim: 5 }), (s) => {
        expect(s.length).toBeGreaterThanOrEqual(1);
        expect(s.length).toBeLessThanOrEqual(2);
        for (const d of s) expect(d >= 1 && d <= 5).toBe(true);
      }),
    );
  });

  it('arbBroadcastableShapes gives shapes that broadcast, with size-1 and missing leading dimensions', () => {
    let ones = 0;
    let shorter = 0;
    fc.assert(
      fc.property(arbBroadcastableShapes(3, { maxRank: 3 }), (shapes) => {
        expect(shapes).toHaveLength(3);
        expect(() => T.broadcastShapes('test', ...shapes)).not.toThrow();
        const r = Math.max(...shapes.map((s) => s.length));
        if (shapes.some((s) => s.length < r)) shorter++;
        if (shapes.some((s) => s.includes(1))) ones++;
      }),
      { numRuns: 200 },
    );
    expect(ones).toBeGreaterThan(20);
    expect(shorter).toBeGreaterThan(20);
    fc.assert(
      fc.property(arbBroadcastableShapes(2, { firstFull: true }), ([full, other]) => {
        expect(T.broadcastShapes('test', full!, other!)).toEqual(full);
      }),
    );
  });

  it('arbTensor respects shape, range, dtype and avoid', () => {
    const avoid = avoidNear([0, 1], 0.25);
    fc.assert(
      fc.property(
        arbShape().chain((s) => arbTensor(s, { min: -1.5, max: 1.5, avoid }).map((t) => [s, t] as const)),
        ([s, t]) => {
          expect(t.shape).toEqual(s);
          expect(t.dtype).toBe('float64');
          for (const v of t.dataSync()) {
            expect(v >= -1.5 && v <= 1.5).toBe(true);
            expect(avoid(v)).toBe(false);
          }
        },
      ),
    );
    const [t32] = fc.sample(arbTensor([2], { dtype: 'float32', avoid: 'kinks' }), 1);
    expect(t32!.dtype).toBe('float32');
  });

  it('the op domains keep clear of kinks, edges and ties', () => {
    const sample = (opts: object) =>
      fc.sample(arbTensor([3, 3], opts), { numRuns: 50, seed: 2 }).flatMap((t) => Array.from(t.dataSync()));
    expect(Math.min(...sample(OP_DOMAINS.log!))).toBeGreaterThan(0);
    expect(Math.min(...sample(OP_DOMAINS.relu!).map(Math.abs))).toBeGreaterThanOrEqual(KINK_MARGIN);
    const clipped = sample(clipDomain(-0.5, 0.5));
    expect(
      Math.min(...clipped.map((v) => Math.min(Math.abs(v + 0.5), Math.abs(v - 0.5)))),
    ).toBeGreaterThanOrEqual(KINK_MARGIN);
    for (const t of fc.sample(arbTensor([4, 4], OP_DOMAINS.max!), 20)) {
      const vals = Array.from(t.dataSync()).sort((a, b) => a - b);
      for (let i = 1; i < vals.length; i++)
        expect(vals[i]! - vals[i - 1]!).toBeGreaterThanOrEqual(0.01 - 1e-12);
    }
  });

  it('arbDistinctTensors keeps values apart across tensors', () => {
    fc.assert(
      fc.property(arbDistinctTensors([[3, 2], [2], []], { min: -1, max: 1, minGap: 0.02 }), (ts) => {
        expect(ts.map((t) => t.shape)).toEqual([[3, 2], [2], []]);
        const vals = ts.flatMap((t) => Array.from(t.dataSync())).sort((a, b) => a - b);
        expect(vals[0]!).toBeGreaterThanOrEqual(-1);
        expect(vals[vals.length - 1]!).toBeLessThanOrEqual(1);
        for (let i = 1; i < vals.length; i++)
          expect(vals[i]! - vals[i - 1]!).toBeGreaterThanOrEqual(0.02 - 1e-12);
      }),
    );
    expect(() => arbDistinctTensors([[100]], { min: 0, max: 1, minGap: 0.1 })).toThrow(
      /cannot fit 100 values/,
    );
  });
});

describe('properties', () => {
  const smooth = (a: Var, b: Var) => A.matmul(A.tanh(a), A.exp(b));
  const inputs = [
    f64([
      [0.1, 0.2],
      [0.3, -0.4],
    ]),
    f64([[0.5], [-0.6]]),
  ];

  it('hold for a correct function, as plain checks and inside fc.property', () => {
    expect(propVjpLinear(smooth, inputs)).toBe(true);
    expect(propAdjointIdentity(smooth, inputs)).toBe(true);
    expect(propReuseAccumulates(smooth, inputs)).toBe(true);
    expect(propInputsNotMutated(smooth, inputs)).toBe(true);
    expect(propRetainGraphDoubles(smooth, inputs)).toBe(true);
    fc.assert(
      fc.property(fc.nat(100), fc.double({ min: -3, max: 3, noNaN: true }), (seed, a) =>
        propVjpLinear(smooth, inputs, { seed, a }),
      ),
      { numRuns: 20 },
    );
  });

  it('propAdjointIdentity catches a wrong gradient', () => {
    expect(() => propAdjointIdentity(halfWrong, [f64([1, 2])])).toThrow(/propAdjointIdentity/);
  });

  it('propInputsNotMutated catches a function that writes into its input', () => {
    const t = T.withBackend('js', () => f64([1, 2]));
    const sneaky = (x: Var) => {
      // Only the js backend exposes a writable array (jsData); this simulates a buggy kernel.
      if (x.value.backend.name !== 'js') x.value = T.withBackend('js', () => T.clone(x.value));
      jsData(x.value)[0] = 42;
      return A.sum(x);
    };
    expect(() => propInputsNotMutated(sneaky, [t])).toThrow(/input 0 element 0 changed from 1 to 42/);
  });

  it('propRetainGraphDoubles leaves the caller’s Vars alone', () => {
    const p = A.param(f64([1, 2]));
    propRetainGraphDoubles((x) => A.sum(A.square(x)), [p]);
    expect(p.grad).toBeNull();
  });
});
