/**
 * Engine semantics: accumulation, freeing, seeds, errors, noGrad/detach/freeze,
 * higher-order gradients, anomaly mode, the function transforms and traces.
 */
import * as T from '@chainrule/tensor';
import { ChainruleError, type Tensor } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';

const f64 = (v: T.NestedArray): Tensor => T.tensor(v, { dtype: 'float64' });
const p64 = (v: T.NestedArray, name?: string): Var => A.param(f64(v), { name });
const arr = (x: Var | Tensor | null): number[] => {
  if (x === null) throw new Error('expected a value, got null');
  return Array.from((x instanceof T.Tensor ? x : x.value).dataSync());
};
const close = (actual: number[], expected: number[], tol = 1e-12) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    expect(Math.abs(a - expected[i]!), `element ${i}: ${a} vs ${expected[i]}`).toBeLessThan(tol);
  });
};

describe('accumulation into .grad', () => {
  it('adds up across backward calls until zeroGrad', () => {
    const x = p64([1, -2, 3]);
    A.sum(A.square(x)).backward();
    close(arr(x.grad), [2, -4, 6]);
    A.sum(A.square(x)).backward();
    close(arr(x.grad), [4, -8, 12]);
    A.zeroGrad([x]);
    expect(x.grad).toBeNull();
    A.sum(A.mul(x, 3)).backward();
    close(arr(x.grad), [3, 3, 3]);
  });

  it('a node used twice receives both contributions', () => {
    const x = p64([0.5, -1]);
    A.sum(A.mul(x, x)).backward();
    close(arr(x.grad), [1, -2]);
    const t = A.tanh(x);
    const [g] = A.grad(A.sum(A.add(t, t)), [x]);
    close(
      arr(g!),
      arr(x).map((v) => 2 * (1 - Math.tanh(v) ** 2)),
    );
  });

  it('grad() returns gradients and leaves .grad alone', () => {
    const x = p64([1, 2]);
    const g = A.grad(A.sum(A.square(x)), x);
    close(arr(g), [2, 4]);
    expect(x.grad).toBeNull();
    expect(g.requiresGrad).toBe(false);
  });
});

describe('graph freeing and retainGraph', () => {
  it('backward frees the graph: the node drops its inputs and output', () => {
    const x = p64([1, 2]);
    const y = A.sum(A.exp(x));
    const node = y.node!;
    const inner = node.inputs![0]!.node!;
    expect(node.inputs).not.toBeNull();
    y.backward();
    expect(node.inputs).toBeNull();
    expect(node.output).toBeNull();
    expect(inner.inputs).toBeNull();
    expect(inner.output).toBeNull();
  });

  it('a second backward without retainGraph is an error that mentions retainGraph', () => {
    const x = p64([1, 2]);
    const y = A.sum(A.exp(x));
    y.backward();
    expect(() => y.backward()).toThrow(/retainGraph/);
    expect(() => A.grad(y, x)).toThrow(/retainGraph/);
  });

  it('retainGraph keeps the graph, and a second pass doubles .grad', () => {
    const x = p64([1, 2]);
    const y = A.sum(A.exp(x));
    y.backward(undefined, { retainGraph: true });
    expect(y.node!.inputs).not.toBeNull();
    y.backward();
    close(arr(x.grad), [2 * Math.E, 2 * Math.exp(2)]);
  });
});

describe('seeds', () => {
  it('a non-scalar output needs a seed', () => {
    const x = p64([1, 2]);
    const y = A.mul(x, 2);
    expect(() => y.backward()).toThrow(ChainruleError);
    expect(() => A.mul(x, 2).backward()).toThrow(/seed|gradOutputs/);
    expect(() => A.grad(A.mul(x, 2), x)).toThrow(/gradOutputs/);
  });

  it('a one-element non-scalar output takes an implicit seed of 1', () => {
    const x = p64([[3]]);
    A.mul(x, 2).backward();
    close(arr(x.grad), [2]);
  });

  it('a seed of the wrong shape is an error naming both shapes', () => {
    const x = p64([1, 2, 3]);
    expect(() => A.mul(x, 2).backward(f64([1, 1]))).toThrow(/\[2\].*\[3\]/);
    expect(() => A.grad(A.mul(x, 2), x, { gradOutputs: f64([[1, 1, 1]]) })).toThrow(/shape/);
  });

  it('a seed of the wrong dtype, or the wrong number of seeds, is an error', () => {
    const x = p64([1, 2]);
    expect(() => A.mul(x, 2).backward(T.tensor([1, 1]))).toThrow(/float32.*float64/);
    expect(() => A.grad([A.mul(x, 2)], [x], { gradOutputs: [f64([1, 1]), f64([1, 1])] })).toThrow(
      /2 gradOutputs for 1 outputs/,
    );
  });

  it('the seed scales the gradient (a vector-Jacobian product)', () => {
    const x = p64([1, 2]);
    A.square(x).backward(f64([10, -1]));
    close(arr(x.grad), [20, -4]);
  });

  it('several outputs with one seed each add up', () => {
    const x = p64([1, 2]);
    const [g] = A.grad([A.square(x), A.sum(x)], [x], { gradOutputs: [f64([1, 1]), undefined] });
    close(arr(g!), [3, 5]);
  });
});

describe('what grad() may be asked for', () => {
  it('an input that does not require a gradient is an error', () => {
    const x = A.input(f64([1, 2]), { name: 'obs' });
    const w = p64([1, 1]);
    expect(() => A.grad(A.sum(A.mul(x, w)), [w, x])).toThrow(
      /inputs\[1\] \("obs"\) does not require a gradient/,
    );
  });

  it('an unused input is an error, or a zero gradient with allowUnused', () => {
    const x = p64([1, 2]);
    const unused = p64([[1, 2, 3]], 'u');
    expect(() => A.grad(A.sum(A.square(x)), [x, unused])).toThrow(/"u"\) is not used.*allowUnused/);
    const [gx, gu] = A.grad(A.sum(A.square(x)), [x, unused], { allowUnused: true });
    close(arr(gx!), [2, 4]);
    expect(gu!.shape).toEqual([1, 3]);
    expect(gu!.dtype).toBe('float64');
    close(arr(gu!), [0, 0, 0]);
  });

  it('an intermediate (non-leaf) Var is a valid input', () => {
    const x = p64([0.3, -0.4]);
    const h = A.tanh(x);
    const g = A.grad(A.sum(A.square(h)), h);
    close(
      arr(g),
      arr(h).map((v) => 2 * v),
    );
  });
});

describe('noGrad, detach and freeze', () => {
  it('noGrad records nothing', () => {
    const x = p64([1, 2]);
    const y = A.noGrad(() => A.sum(A.mul(x, x)));
    expect(y.node).toBeNull();
    expect(y.requiresGrad).toBe(false);
    expect(A.isGradEnabled()).toBe(true);
    expect(() => y.backward()).toThrow(/does not require a gradient/);
    const z = A.noGrad(() => A.enableGrad(() => A.sum(x)));
    expect(z.node?.op).toBe('sum');
  });

  it('detach cuts the graph', () => {
    const x = p64([1.5, -2]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    const g = A.grad(A.sum(A.mul(x, d)), x); // d/dx (x · const) = const
    close(arr(g), [1.5, -2]);
    const h = A.tanh(x).detach();
    expect(h.node).toBeNull();
    expect(A.mul(h, 2).requiresGrad).toBe(false);
  });

  it('freeze stops gradients into a leaf, unfreeze lets them through again', () => {
    const x = p64([1, 2]);
    const w = p64([3, 4], 'w');
    A.freeze([w]);
    A.sum(A.mul(x, w)).backward();
    close(arr(x.grad), [3, 4]);
    expect(w.grad).toBeNull();
    expect(() => A.grad(A.sum(A.mul(x, w)), w)).toThrow(/"w"\) does not require a gradient/);
    A.unfreeze([w]);
    A.sum(A.mul(x, w)).backward();
    close(arr(w.grad), [1, 2]);
  });
});

describe('higher-order gradients (createGraph)', () => {
  it('d²/dx² x³ = 6x and d³/dx³ x³ = 6', () => {
    for (const cube of [(x: Var) => A.pow(x, 3), (x: Var) => A.mul(A.mul(x, x), x)]) {
      const x = p64([-1.5, 0.5, 2]);
      const y = A.sum(cube(x));
      const g1 = A.grad(y, x, { createGraph: true });
      expect(g1.requiresGrad).toBe(true);
      expect(g1.node).not.toBeNull();
      close(arr(g1), [6.75, 0.75, 12]);
      const g2 = A.grad(A.sum(g1), x, { createGraph: true });
      close(arr(g2), [-9, 3, 12]);
      const g3 = A.grad(A.sum(g2), x);
      close(arr(g3), [6, 6, 6]);
    }
  });

  it('without createGraph the gradient carries no graph', () => {
    const x = p64([2]);
    const g = A.grad(A.sum(A.pow(x, 3)), x);
    expect(g.requiresGrad).toBe(false);
    expect(g.node).toBeNull();
  });

  it('createGraph retains the graph by default', () => {
    const x = p64([2]);
    const y = A.sum(A.pow(x, 3));
    A.grad(y, x, { createGraph: true });
    close(arr(A.grad(y, x)), [12]);
  });
});

describe('anomaly mode', () => {
  it('a NaN in the forward pass names the op and this test file as the call site', () => {
    const x = p64([1, 2]);
    let err: unknown;
    try {
      A.detectAnomaly(() => A.log(A.sub(x, 5)));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChainruleError);
    expect((err as ChainruleError).op).toBe('log');
    expect((err as Error).message).toMatch(/^log: anomaly: the forward pass produced NaN/);
    expect((err as Error).message).toContain('engine.test.ts');
    expect(A.isAnomalyMode()).toBe(false);
  });

  it('outside anomaly mode the same NaN passes silently', () => {
    const x = p64([1, 2]);
    expect(arr(A.log(A.sub(x, 5))).every(Number.isNaN)).toBe(true);
  });

  it('an Infinity made by the backward pass names the op whose rule made it', () => {
    // sqrt(0) = 0 is fine forward; its derivative 1/(2√x) is Infinity at 0.
    const x = p64([0, 4]);
    let err: unknown;
    try {
      A.detectAnomaly(() => A.sum(A.sqrt(x)).backward());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChainruleError);
    expect((err as ChainruleError).op).toBe('sqrt');
    expect((err as Error).message).toMatch(
      /backward pass produced NaN or Infinity in the gradient of input 0/,
    );
    expect((err as Error).message).toContain('engine.test.ts');
    // Without anomaly mode the Infinity just flows into .grad.
    const z = p64([0, 4]);
    A.sum(A.sqrt(z)).backward();
    expect(arr(z.grad)).toEqual([Number.POSITIVE_INFINITY, 0.25]);
  });

  it('finite computations run unchanged in anomaly mode', () => {
    const x = p64([0.5, 2]);
    const g = A.detectAnomaly(() => A.grad(A.sum(A.mul(A.sqrt(x), A.log(x))), x));
    const expected = arr(x).map((v) => Math.log(v) / (2 * Math.sqrt(v)) + 1 / Math.sqrt(v));
    close(arr(g), expected);
  });
});

describe('vjp and valueAndGrad', () => {
  it('vjp returns the output and a reusable, linear pullback', () => {
    const f = (a: Var, b: Var) => A.mul(A.tanh(a), b);
    const a0 = f64([0.1, 0.2]);
    const b0 = f64([3, -1]);
    const [y, back] = A.vjp(f, a0, b0);
    close(arr(y), [Math.tanh(0.1) * 3, -Math.tanh(0.2)]);
    const [ga, gb] = back(f64([1, 0]));
    close(arr(ga!), [3 * (1 - Math.tanh(0.1) ** 2), 0]);
    close(arr(gb!), [Math.tanh(0.1), 0]);
    const [ga2] = back(f64([2, 0])); // callable again: the graph is retained
    close(arr(ga2!), [6 * (1 - Math.tanh(0.1) ** 2), 0]);
  });

  it('vjp gives zeros for an unused primal and does not mutate its primals', () => {
    const a0 = f64([1, 2]);
    const unused = f64([5]);
    const [, back] = A.vjp((a, _u) => A.square(a), a0, unused);
    const [ga, gu] = back(f64([1, 1]));
    close(arr(ga!), [2, 4]);
    close(arr(gu!), [0]);
    expect(arr(a0)).toEqual([1, 2]);
  });

  it('valueAndGrad: the first argument by default, others with argnums', () => {
    const f = (a: Var, b: Var) => A.sum(A.mul(A.square(a), b));
    const a0 = f64([1, 2]);
    const b0 = f64([3, 4]);
    const [v, g] = A.valueAndGrad(f)(a0, b0);
    close(arr(v), [3 + 16]);
    close(arr(g as Var), [6, 16]);
    const [, gb] = A.valueAndGrad(f, 1)(a0, b0);
    close(arr(gb as Var), [1, 4]);
    const [, both] = A.valueAndGrad(f, [1, 0])(a0, b0);
    expect(Array.isArray(both)).toBe(true);
    close(arr((both as Var[])[0]!), [1, 4]);
    close(arr((both as Var[])[1]!), [6, 16]);
  });

  it('valueAndGrad treats Var arguments as fresh leaves', () => {
    const x = A.input(f64([3])); // does not require a gradient: valueAndGrad does not care
    const [, g] = A.valueAndGrad((a: Var) => A.sum(A.square(a)))(x);
    close(arr(g as Var), [6]);
    expect(x.grad).toBeNull();
  });

  it('valueAndGrad rejects a non-scalar f and out-of-range argnums', () => {
    expect(() => A.valueAndGrad((a: Var) => A.square(a))(f64([1, 2]))).toThrow(/one-element Var/);
    expect(() => A.valueAndGrad((a: Var) => A.sum(a), 2)(f64([1]))).toThrow(/argnums 2 is out of range/);
  });
});

describe('traceBackward', () => {
  it('records each rule and the un-broadcast of a bias add', () => {
    const x = A.input(
      f64([
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
        [1, 0, 1],
      ]),
    );
    const w = p64(
      [
        [1, 0],
        [0, 1],
        [1, 1],
      ],
      'W',
    );
    const b = p64([0.5, -0.5], 'b');
    const { result, steps } = A.traceBackward(() => {
      const y = A.sum(A.add(A.matmul(x, w), b));
      y.backward();
      return 'done';
    });
    expect(result).toBe('done');
    expect(steps.map((s) => s.op)).toEqual(['sum', 'add', 'matmul']);
    const add = steps[1]!;
    expect(add.gradShape).toEqual([4, 2]);
    expect(add.inputShapes).toEqual([[4, 2], [2]]);
    expect(add.ruleShapes).toEqual([
      [4, 2],
      [4, 2],
    ]);
    expect(add.unbroadcasts).toEqual([{ input: 1, from: [4, 2], to: [2], axes: [0] }]);
    expect(steps[2]!.ruleShapes).toEqual([null, [3, 2]]); // x needs no gradient: its side is skipped
    close(arr(b.grad), [4, 4]);
    const text = A.formatTrace(steps);
    expect(text).toContain('un-broadcast input 1: sum [4,2] over axes [0] → [2]');
  });

  it('a kept size-1 dimension is summed and reshaped', () => {
    const b = p64([[0.5, -0.5]]);
    const x = A.input(
      f64([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    );
    const { steps } = A.traceBackward(() => A.grad(A.sum(A.add(x, b)), b));
    const add = steps.find((s) => s.op === 'add')!;
    expect(add.unbroadcasts).toEqual([{ input: 1, from: [3, 2], to: [1, 2], axes: [0] }]);
  });

  it('records nothing outside its callback', () => {
    const x = p64([1]);
    const { steps } = A.traceBackward(() => 0);
    A.sum(x).backward();
    expect(steps).toEqual([]);
  });
});

describe('documented subgradients and ties', () => {
  it('relu, abs and sign have gradient 0 at 0; clip passes 1 on its closed interval', () => {
    const x = p64([0, 0, 0]);
    close(arr(A.grad(A.sum(A.relu(x)), x)), [0, 0, 0]);
    close(arr(A.grad(A.sum(A.abs(x)), x)), [0, 0, 0]);
    close(arr(A.grad(A.sum(A.sign(x)), x, { allowUnused: true })), [0, 0, 0]);
    const c = p64([-1, 0, 1, 2]);
    close(arr(A.grad(A.sum(A.clip(c, -1, 1)), c)), [1, 1, 1, 0]);
  });

  it('max/min share the gradient between tied elements; maximum/minimum split a tie 0.5/0.5', () => {
    const x = p64([1, 3, 3]);
    close(arr(A.grad(A.max(x), x)), [0, 0.5, 0.5]);
    const y = p64([2, 2, 5]);
    close(arr(A.grad(A.min(y), y)), [0.5, 0.5, 0]);
    const a = p64([1, 2]);
    const b = p64([1, 3]);
    const [ga, gb] = A.grad(A.sum(A.maximum(a, b)), [a, b]);
    close(arr(ga!), [0.5, 0]);
    close(arr(gb!), [0.5, 1]);
    const [ma, mb] = A.grad(A.sum(A.minimum(a, b)), [a, b]);
    close(arr(ma!), [0.5, 1]);
    close(arr(mb!), [0.5, 0]);
  });
});
