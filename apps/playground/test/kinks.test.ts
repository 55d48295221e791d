import * as A from '@chainrule/autograd';
import { type GradcheckFn, gradgradcheck } from '@chainrule/autograd/testing';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { findJumps, findKinks } from '../src/explorer/kinks.ts';
import { buildExpression } from '../src/explorer/problems.ts';

const t = (v: number[] | number[][]) => T.tensor(v, { dtype: 'float64' });

describe('findKinks names the op at its non-differentiable point', () => {
  it('a tie of max, over all axes and along one axis', () => {
    const f: GradcheckFn = (x) => A.max(x!);
    expect(findKinks(f, [t([1, 3, 3])])).toEqual([
      { op: 'max', detail: 'a tie: elements [1] and [2] are both 3, the maximum' },
    ]);
    expect(findKinks(f, [t([1, 3, 2])])).toEqual([]);
    // Row-wise max: ties across rows are not ties.
    const rows: GradcheckFn = (x) => A.sum(A.max(x!, 1));
    expect(
      findKinks(rows, [
        t([
          [1, 2],
          [2, 0],
        ]),
      ]),
    ).toEqual([]);
    expect(
      findKinks(rows, [
        t([
          [1, 2],
          [5, 5],
        ]),
      ]),
    ).toEqual([{ op: 'max', detail: 'a tie: elements [1,0] and [1,1] are both 5, the maximum' }]);
  });

  it('relu, abs and sign at 0, clip at a bound, maximum at a tie', () => {
    const x = t([0.5, 0, -1]);
    expect(findKinks((v) => A.sum(A.relu(v!)), [x]).map((k) => k.op)).toEqual(['relu']);
    expect(findKinks((v) => A.sum(A.abs(v!)), [x])[0]!.detail).toBe('its input is 0 at [1]');
    expect(findKinks((v) => A.sum(A.clip(v!, -1, 1)), [x])[0]!.detail).toBe(
      'its input -1 at [2] is on the bound min = -1',
    );
    expect(findKinks((a, b) => A.sum(A.maximum(a!, b!)), [x, t([2, 0, 3])])[0]!.detail).toBe(
      'a tie: both sides are 0 at [1]',
    );
    expect(findKinks((v) => A.sum(A.relu(v!)), [t([0.5, 0.1, -1])])).toEqual([]);
  });

  it('sees through the rest of the graph: relu of (x − 1) at x = 1', () => {
    expect(findKinks((v) => A.sum(A.relu(A.sub(v!, 1))), [t([2, 1])])[0]!.detail).toBe(
      'its input is 0 at [1]',
    );
  });
});

describe('findJumps: one-sided differences that do not shrink with the step mean a kink', () => {
  it('at a tie of max the gradient jumps along both tied elements, not the third', () => {
    const f: GradcheckFn = (x) => A.max(x!);
    expect(findJumps(f, [t([3, 1, 3])], ['x'], 2)).toEqual([
      { input: 'x', index: [0] },
      { input: 'x', index: [2] },
    ]);
    // The value has a kink there too (slopes 1 and 0 on the two sides).
    expect(findJumps(f, [t([3, 1, 3])], ['x'], 1).map((j) => j.index)).toEqual([[0], [2]]);
  });

  it('a smooth function has no jumps, at either order, even with large curvature', () => {
    const f: GradcheckFn = (x, y) => A.sum(A.add(A.exp(A.mul(x!, 3)), A.mul(A.tanh(x!), y!)));
    const inputs = [t([0.5, -1, 2]), t([1, 2, -3])];
    expect(findJumps(f, inputs, ['x', 'y'], 1)).toEqual([]);
    expect(findJumps(f, inputs, ['x', 'y'], 2)).toEqual([]);
  });

  it('finds a kink the graph cannot name: leakyRelu (a where on a comparison) at 0', () => {
    const f: GradcheckFn = (x) => A.sum(A.leakyRelu(x!, 0.1));
    expect(findKinks(f, [t([0, 1])])).toEqual([]);
    expect(findJumps(f, [t([0, 1])], ['x'], 2)).toEqual([{ input: 'x', index: [0] }]);
  });

  it('the issue’s case: gradgradcheck fails at a tie of max, and both finders say why', () => {
    const built = buildExpression('max(x) * 2', 'x = [1, 1, 0.5]');
    const { fn, inputs, names } = built.check;
    expect(gradgradcheck(fn, inputs).ok).toBe(false);
    expect(findKinks(fn, inputs).map((k) => k.op)).toEqual(['max']);
    expect(findJumps(fn, inputs, names, 2).map((j) => j.index)).toEqual([[0], [1]]);
  });
});
