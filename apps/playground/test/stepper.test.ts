import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { actorGradientBothWays } from '../../../examples/actor-gradient.ts';
import {
  ACTOR_PARAM_NAMES,
  buildExpression,
  buildProblem,
  EXAMPLES,
  type ExampleId,
  outputName,
} from '../src/explorer/problems.ts';
import { hessianBlocks, maxAbsDiff, stepProblem } from '../src/explorer/stepper.ts';

const close = (a: T.Tensor, b: T.Tensor, tol = 1e-12) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(tol);
};

describe('the explorer compares infinities as equal values', () => {
  it('sum(sqrt(x)) at x = 0: an infinite gradient on both sides is no mismatch', () => {
    const [phase] = stepProblem(buildExpression('sum(sqrt(x))', 'x = [0, 4]'));
    expect(phase!.mismatches).toEqual([]);
  });

  it('maxAbsDiff: same infinity or NaN on both sides is 0, an infinity against a number is not', () => {
    const t = (v: number[]) => T.tensor(v, { dtype: 'float64' });
    const inf = Number.POSITIVE_INFINITY;
    expect(maxAbsDiff(t([inf, Number.NaN, 1]), t([inf, Number.NaN, 1.5]))).toBe(0.5);
    expect(maxAbsDiff(t([inf]), t([-inf]))).toBe(inf);
    expect(maxAbsDiff(t([inf]), t([1]))).toBe(inf);
    expect(maxAbsDiff(t([Number.NaN]), t([1]))).toBe(inf);
  });
});

describe('the explorer steps backward exactly as the engine does', () => {
  for (const id of Object.keys(EXAMPLES) as ExampleId[]) {
    it(`${id}: same rules, same shapes, same gradients as traceBackward + grad`, () => {
      const phases = stepProblem(buildProblem({ kind: 'example', id, seed: 0 }));
      for (const p of phases) {
        expect(p.mismatches).toEqual([]);
        expect(p.steps.length).toBeGreaterThan(0);
      }
    });
  }

  it('the TF1-style example reproduces examples/actor-gradient.ts (dQ/da, then θμ)', () => {
    const ref = actorGradientBothWays(0);
    const [p1, p2] = stepProblem(buildProblem({ kind: 'example', id: 'actor-chain', seed: 0 }));
    close(p1!.grads[0]!.value, ref.dQda);
    expect(p1!.steps.map((s) => s.op)).toEqual(ref.stepsCritic.map((s) => s.op));
    expect(p2!.steps.map((s) => s.op)).toEqual(ref.stepsActor.map((s) => s.op));
    ACTOR_PARAM_NAMES.forEach((name, i) => {
      const g = p2!.grads.find((x) => x.label === name)!;
      close(g.value, ref.tf1[i]!);
    });
  });

  it('the PyTorch-style example gives the surrogate gradients of examples/actor-gradient.ts', () => {
    const ref = actorGradientBothWays(3);
    const [p] = stepProblem(buildProblem({ kind: 'example', id: 'actor-surrogate', seed: 3 }));
    for (const [i, name] of ACTOR_PARAM_NAMES.entries()) {
      close(p!.grads.find((x) => x.label === name)!.value, ref.pytorch[i]!);
    }
  });

  it('shows where un-broadcasting summed: x [3,1] * y [1,4] + b [4]', () => {
    const [p] = stepProblem(buildProblem({ kind: 'example', id: 'broadcast', seed: 0 }));
    const sums = p!.steps.flatMap((s) =>
      s.inputs.filter((i) => i.unbroadcast).map((i) => [i.label, i.unbroadcast!.axes]),
    );
    expect(sums).toEqual(
      expect.arrayContaining([
        ['b', [0]],
        ['x', [1]],
        ['y', [0]],
      ]),
    );
  });

  it('the output is never named like a tensor: grad(f, [x, y, b]), grad(f1, [f, x]) when f is taken', () => {
    const [p] = stepProblem(buildProblem({ kind: 'example', id: 'broadcast', seed: 0 }));
    expect(p!.code).toBe('grad(f, [x, y, b])');
    const clash = buildExpression('sum(f * x)', 'f = [1, 2]\nx = [3, 4]\nf1 = 0');
    // f1 is defined though unused: still taken.
    expect(clash.phases[0]!.code).toBe('grad(f2, [f, x])');
    expect(clash.graphRoots[0]!.name).toBe('f2');
    expect(outputName(['x', 'y'])).toBe('f');
    expect(outputName(['f', 'x'])).toBe('f1');
  });

  it('second derivatives match central differences of the gradient (MLP, b1 and W2)', () => {
    const built = buildProblem({ kind: 'example', id: 'mlp', seed: 0 });
    const blocks = hessianBlocks(built);
    const { fn, inputs, names } = built.check;
    for (const name of ['b1', 'W2']) {
      const i = names.indexOf(name);
      const h = blocks[i]!.rows!;
      const gradAt = (x: Float64Array) => {
        const xs = inputs.map((t, k) =>
          A.param(k === i ? T.tensor(x, { shape: t.shape, dtype: 'float64' }) : t),
        );
        return A.grad(fn(...xs), xs[i]!).value.dataSync();
      };
      const x0 = Float64Array.from(inputs[i]!.dataSync());
      const eps = 1e-5;
      let nonzero = 0;
      for (let j = 0; j < x0.length; j++) {
        const up = Float64Array.from(x0);
        const down = Float64Array.from(x0);
        up[j]! += eps;
        down[j]! -= eps;
        const gu = gradAt(up);
        const gd = gradAt(down);
        for (let k = 0; k < x0.length; k++) {
          const numeric = (gu[k]! - gd[k]!) / (2 * eps);
          expect(Math.abs(h[j]![k]! - numeric)).toBeLessThan(1e-6);
          if (Math.abs(numeric) > 1e-3) nonzero++;
        }
      }
      expect(nonzero).toBeGreaterThan(0);
    }
  });
});
