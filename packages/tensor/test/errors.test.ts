/**
 * Every error path: the message names the op, the offending values or shapes and what was
 * expected. Messages are matched as text, so rewording one is a deliberate change.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';
import { shapeArb } from './helpers.ts';

const z = (...shape: number[]) => T.zeros(shape);
const z64 = (...shape: number[]) => T.zeros(shape, { dtype: 'float64' });

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('ChainruleError', () => {
  it('is an Error with the op name as prefix and property', () => {
    const e = caught(() => T.add(z(2), z(3)));
    expect(e).toBeInstanceOf(T.ChainruleError);
    expect(e).toBeInstanceOf(Error);
    expect((e as T.ChainruleError).name).toBe('ChainruleError');
    expect((e as T.ChainruleError).op).toBe('add');
    expect((e as Error).message.startsWith('add: ')).toBe(true);
    expect(T.fmtShape([2, 3])).toBe('[2,3]');
    expect(T.fmtShape([])).toBe('[]');
  });
});

describe('shape mismatches', () => {
  it('binary ops name the op and both shapes', () => {
    expect(() => T.add(z(2, 3), z(4))).toThrow(
      /^add: shapes \[2,3\] and \[4\] are not broadcastable \(dimension -1 is 3 vs 4\); expected equal sizes or 1$/,
    );
    expect(() => T.mul(z(5, 2), z(3, 4, 1))).toThrow(
      /mul: shapes \[5,2\] and \[3,4,1\] are not broadcastable/,
    );
  });

  it('every binary op reports non-broadcastable random shapes with both shapes', () => {
    const ops = [...T.BINARY_OPS, ...T.COMPARISON_OPS];
    fc.assert(
      fc.property(shapeArb(1, 3, 1, 3), fc.nat(), fc.constantFrom(...ops), (shape, at, op) => {
        // sizes a[i] >= 2 and a[i] + 1 differ and neither is 1: never broadcastable
        const i = at % shape.length;
        const a = [...shape];
        a[i] = Math.max(2, shape[i]!);
        const other = [...a];
        other[i] = a[i]! + 1;
        const f = T[op] as (x: T.Tensor, y: T.Tensor) => T.Tensor;
        const msg = `${op}: shapes ${T.fmtShape(a)} and ${T.fmtShape(other)} are not broadcastable`;
        expect(() => f(T.zeros(a), T.zeros(other))).toThrow(msg);
      }),
      { numRuns: 60 },
    );
  });

  it('where reports all three shapes', () => {
    expect(() => T.where(z(2), z(3), z(2))).toThrow(
      /where: shapes \[2\] and \[3\] and \[2\] are not broadcastable/,
    );
  });

  it('matmul: inner dimensions, with the flags', () => {
    expect(() => T.matmul(z(2, 3), z(4, 5))).toThrow(
      /^matmul: inner dimensions differ: a \[2,3\] gives k=3, b \[4,5\] gives k=4 \(transposeA=false, transposeB=false\); expected equal$/,
    );
    expect(() => T.matmul(z(2, 3), z(2, 3), { transposeB: true, transposeA: true })).toThrow(
      /matmul: inner dimensions differ: a \[2,3\] gives k=2, b \[2,3\] gives k=3 \(transposeA=true, transposeB=true\)/,
    );
  });

  it('matmul: scalars, vectors with transpose flags, and batch dims', () => {
    expect(() => T.matmul(z(), z(3, 1))).toThrow(
      /^matmul: expected tensors of rank >= 1, got a \[\] and b \[3,1\]; use mul for a scalar$/,
    );
    expect(() => T.matmul(z(3), z(2))).toThrow(
      /^matmul: inner dimensions differ: a \[1,3\] gives k=3, b \[2,1\]/,
    );
    expect(() => T.matmul(z(3), z(3, 1), { transposeA: true })).toThrow(
      /^matmul: a transpose flag was set for a 1-D operand \(a \[3\], b \[3,1\]\); a vector has no transpose$/,
    );
    expect(() => T.matmul(z(2, 2, 3), z(3, 3, 1))).toThrow(
      /matmul: shapes \[2\] and \[3\] are not broadcastable/,
    );
  });

  it('fusedDense: shapes, bias and activation', () => {
    expect(() => T.fusedDense(z(2, 3), z(4, 5), undefined)).toThrow(
      /fusedDense: expected x \[batch, in\] and w \[in, out\], got x \[2,3\] and w \[4,5\]/,
    );
    expect(() => T.fusedDense(z(2, 3), z(3, 5), z(4))).toThrow(
      /^fusedDense: bias \[4\] does not broadcast to the output \[2,5\]; expected \[5\] or a shape that broadcasts to it$/,
    );
    expect(() => T.fusedDense(z(2, 3), z(3, 5), undefined, 'gelu' as T.DenseActivation)).toThrow(
      /fusedDense: unknown activation "gelu"; expected linear, relu, tanh or sigmoid/,
    );
  });
});

describe('dtype mismatches', () => {
  it('binary ops, matmul, where, concat, stack, fusedDense', () => {
    expect(() => T.add(z(2), z64(2))).toThrow(
      /^add: dtype mismatch: a is float32, b is float64; cast one with cast\(\)$/,
    );
    expect(() => T.pow(z64(2), z(1))).toThrow(/pow: dtype mismatch: a is float64, b is float32/);
    expect(() => T.matmul(z(2, 2), z64(2, 2))).toThrow(/matmul: dtype mismatch: a is float32, b is float64/);
    expect(() => T.where(z(2), z64(2), 0)).toThrow(
      /where: dtype mismatch: cond float32, a float64, b float64; expected one dtype/,
    );
    expect(() => T.concat([z(2), z64(2)])).toThrow(/concat: dtype mismatch: float32, float64/);
    expect(() => T.stack([z(2), z64(2)])).toThrow(/concat: dtype mismatch: float32, float64/);
    expect(() => T.fusedDense(z(1, 2), z64(2, 2), undefined)).toThrow(
      /fusedDense: dtype mismatch: x float32, w float64, b undefined/,
    );
  });

  it('unknown dtypes', () => {
    const bad = 'int32' as T.DType;
    const msg = /unknown dtype "int32"; expected 'float32' or 'float64'/;
    expect(() => T.zeros([2], { dtype: bad })).toThrow(/^zeros: unknown dtype "int32"/);
    expect(() => T.ones([2], { dtype: bad })).toThrow(msg);
    expect(() => T.full([2], 1, { dtype: bad })).toThrow(/^full: unknown dtype/);
    expect(() => T.tensor([1], { dtype: bad })).toThrow(/^tensor: unknown dtype "int32"/);
    expect(() => T.scalar(1, bad)).toThrow(/^scalar: unknown dtype/);
    expect(() => T.eye(2, 2, { dtype: bad })).toThrow(/^eye: unknown dtype/);
    expect(() => T.arange(3, undefined, 1, { dtype: bad })).toThrow(/^arange: unknown dtype/);
    expect(() => T.linspace(0, 1, 3, { dtype: bad })).toThrow(/^linspace: unknown dtype/);
    expect(() => T.rand([2], new T.Rng(1), { dtype: bad })).toThrow(/^uniform: unknown dtype/);
    expect(() => T.cast(z(2), bad)).toThrow(/^cast: unknown dtype "int32"; expected 'float32' or 'float64'$/);
    expect(T.isDType('float32')).toBe(true);
    expect(T.isDType('int32')).toBe(false);
  });
});

describe('axes', () => {
  it('out of range, repeated, non-integer', () => {
    const x = z(2, 3);
    expect(() => T.sum(x, 2)).toThrow(
      /^sum: axis 2 is out of range for a tensor of rank 2; expected an integer in \[-2, 1\]$/,
    );
    expect(() => T.max(x, -3)).toThrow(/max: axis -3 is out of range for a tensor of rank 2/);
    expect(() => T.min(x, [0, 0])).toThrow(/^min: axis 0 is repeated in \[0,0\]$/);
    expect(() => T.sum(x, [1, -1])).toThrow(/sum: axis -1 is repeated in \[1,-1\]/);
    expect(() => T.sum(x, 0.5)).toThrow(/sum: axis 0.5 is out of range/);
    expect(() => T.mean(x, 5)).toThrow(/^mean: axis 5 is out of range/);
    expect(() => T.variance(x, [0, 0])).toThrow(/^variance: axis 0 is repeated/);
    expect(() => T.sum(T.scalar(1), 1)).toThrow(
      /^sum: axis 1 is out of range for a tensor of rank 0; expected 0 or -1 \(a scalar's one wrapped axis\)$/,
    );
    expect(() => T.max(T.scalar(1), [0, -1])).toThrow(/^max: axis -1 is repeated in \[0,-1\]$/);
    expect(() => T.gather(T.scalar(1), [0], 0)).toThrow(/gather:/);
  });

  it("a scalar's axis 0 or -1 wraps to no axis, as in PyTorch (sum(scalar, 0) is the scalar)", () => {
    for (const ax of [0, -1, [0], [-1]]) {
      expect(T.sum(T.scalar(3), ax).dataSync()).toEqual(new Float32Array([3]));
      expect(T.max(T.scalar(3), ax, true).shape).toEqual([]);
    }
    expect(T.mean(T.scalar(3), 0).dataSync()).toEqual(new Float32Array([3]));
  });

  it('expandDims / squeeze / concat / stack axes', () => {
    expect(() => T.expandDims(z(2), 2)).toThrow(/^expandDims: axis 2 is out of range for a tensor of rank 2/);
    expect(() => T.squeeze(z(2, 1), 0)).toThrow(/^squeeze: axis 0 of shape \[2,1\] has size 2, expected 1$/);
    expect(() => T.squeeze(z(2, 1), 2)).toThrow(/^squeeze: axis 2 is out of range/);
    expect(() => T.concat([z(2), z(2)], 1)).toThrow(/^concat: axis 1 is out of range for a tensor of rank 1/);
    expect(() => T.stack([z(2), z(2)], 3)).toThrow(/^stack: axis 3 is out of range for a tensor of rank 2/);
  });
});

describe('layout ops', () => {
  it('slice out of range', () => {
    const x = z(2, 4);
    expect(() => T.slice(x, [0, 2], [2, 3])).toThrow(
      /^slice: out of range in dimension 1: begin 2 size 3 for shape \[2,4\]; expected 0 <= begin and begin \+ size <= 4$/,
    );
    expect(() => T.slice(x, [-1, 0])).toThrow(/slice: out of range in dimension 0: begin -1/);
    expect(() => T.slice(x, [3])).toThrow(/slice: out of range in dimension 0: begin 3 size -1/);
    expect(() => T.slice(x, [0, 0], [1, -2])).toThrow(/slice: out of range in dimension 1: begin 0 size -2/);
    expect(() => T.slice(x, [0.5])).toThrow(/slice: out of range in dimension 0/);
    expect(() => T.slice(x, [0, 0, 0])).toThrow(
      /^slice: begin \[0,0,0\] and size undefined must have equal length <= rank 2 of \[2,4\]$/,
    );
    expect(() => T.slice(x, [0], [1, 1])).toThrow(
      /slice: begin \[0\] and size \[1,1\] must have equal length/,
    );
  });

  it('bad permutations', () => {
    const x = z(2, 3);
    expect(() => T.transpose(x, [0, 0])).toThrow(
      /^transpose: perm \[0,0\] is not a permutation of 0..1 for shape \[2,3\]$/,
    );
    expect(() => T.transpose(x, [0])).toThrow(/transpose: perm \[0\] is not a permutation of 0..1/);
    expect(() => T.permute(x, [1, 2])).toThrow(/transpose: perm \[1,2\] is not a permutation/);
    expect(() => T.permute(x, [0, 1, 2])).toThrow(/transpose: perm \[0,1,2\] is not a permutation/);
  });

  it('broadcastTo incompatible', () => {
    expect(() => T.broadcastTo(z(3), [4])).toThrow(
      /^broadcastTo: shapes \[3\] and \[4\] are not broadcastable/,
    );
    expect(() => T.broadcastTo(z(2, 3), [3])).toThrow(/^broadcastTo: cannot broadcast \[2,3\] to \[3\]$/);
    expect(() => T.broadcastTo(z(2, 1), [1, 3])).toThrow(
      /^broadcastTo: cannot broadcast \[2,1\] to \[1,3\]$/,
    );
    expect(() => T.broadcastTo(z(2), [-2])).toThrow(/^broadcastTo: invalid shape \[-2\]/);
  });

  it('reshape: size mismatch, two -1s, bad dims', () => {
    const x = z(2, 3);
    expect(() => T.reshape(x, [4])).toThrow(
      /^reshape: cannot reshape \[2,3\] \(6 elements\) to \[4\] \(4 elements\); sizes must match$/,
    );
    expect(() => x.reshape([-1, -1])).toThrow(/^reshape: only one dimension may be -1, got \[-1,-1\]$/);
    expect(() => T.reshape(x, [-1, 4])).toThrow(
      /^reshape: cannot reshape \[2,3\] \(6 elements\) to \[-1,4\]$/,
    );
    expect(() => T.reshape(x, [-2, -3])).toThrow(
      /^reshape: invalid dimension -2 in \[-2,-3\]; expected non-negative integers or -1$/,
    );
    expect(() => T.reshape(x, [1.5, 4])).toThrow(/reshape: invalid dimension 1.5/);
    expect(() => T.reshape(z(0, 3), [-1, 0])).toThrow(
      /reshape: cannot reshape \[0,3\] \(0 elements\) to \[-1,0\]/,
    );
  });

  it('pad with bad paddings, or a crop larger than the dimension (PyTorch errors too)', () => {
    expect(() => T.pad(z(2, 2), [[1, 1]])).toThrow(
      /^pad: expected 2 pairs of integers \[before, after\] for shape \[2,2\], got \[\[1,1\]\]$/,
    );
    expect(() => T.pad(z(2), [[1, 0.5]])).toThrow(/pad: expected 1 pairs of integers/);
    expect(() => T.pad(z(2), [[-2, -1]])).toThrow(
      /^pad: paddings\[0\] = \[-2, -1\] crops 3 elements from dimension 0 of size 2 in \[2\]; expected at most 2$/,
    );
    expect(() => T.pad(z(2), [[1, 1]], 'x' as never)).toThrow(/^pad: value must be a number, got string$/);
  });

  it('concat / stack mismatches and empty lists', () => {
    expect(() => T.concat([z(2, 3), z(2, 4)])).toThrow(
      /^concat: shapes \[2,3\], \[2,4\] differ outside axis 0; expected equal other dimensions$/,
    );
    expect(() => T.concat([z(2, 3), z(2)], 0)).toThrow(/concat: shapes \[2,3\], \[2\] differ outside axis 0/);
    expect(() => T.concat([])).toThrow(/^concat: expected a non-empty array of tensors$/);
    expect(() => T.concat([z(1), 3 as never])).toThrow(/^concat: tensors\[1\] must be a Tensor, got number$/);
    expect(() => T.stack([])).toThrow(/^stack: expected a non-empty array of tensors$/);
    expect(() => T.stack([z(2), z(3)])).toThrow(/^stack: shapes \[2\], \[3\] differ; expected all equal$/);
  });

  it('gather / scatterAdd index errors', () => {
    const x = z(3, 2);
    expect(() => T.gather(x, [0, 3])).toThrow(
      /^gather: index 3 at position 1 is out of range; expected an integer in \[0, 3\)$/,
    );
    expect(() => T.gather(x, [-1])).toThrow(/gather: index -1 at position 0 is out of range/);
    expect(() => T.gather(x, [1.5])).toThrow(/gather: index 1.5 at position 0 is out of range/);
    expect(() => T.gather(T.scalar(1), [0])).toThrow(
      /^gather: cannot gather from a scalar; expected rank >= 1$/,
    );
    expect(() => T.gather(x, [0], 2)).toThrow(/^gather: axis 2 is out of range/);
    expect(() => T.gather(x, [[0], [1, 2]])).toThrow(
      /^gather: indices are ragged at indices\[1\]: expected 1 entries like indices\[0\]$/,
    );
    expect(() => T.scatterAdd(z(2, 2), [0, 5], 3)).toThrow(
      /^scatterAdd: index 5 at position 1 is out of range; expected an integer in \[0, 3\)$/,
    );
    expect(() => T.scatterAdd(z(2, 2), [0], 3)).toThrow(
      /^scatterAdd: updates \[2,2\] must hold the indices' shape \[1\] at axis 0$/,
    );
    expect(() => T.scatterAdd(z(2, 2), [0, 1, 1], 3, 1)).toThrow(
      /^scatterAdd: updates \[2,2\] must hold the indices' shape \[3\] at axis 1$/,
    );
    expect(() => T.scatterAdd(T.scalar(1), [], 3)).toThrow(
      /scatterAdd: updates \[\] must hold the indices' shape \[0\] at axis 0/,
    );
    expect(() => T.scatterAdd(z(1), [0], -1)).toThrow(
      /^scatterAdd: size must be a non-negative integer, got -1$/,
    );
  });
});

describe('values', () => {
  it('clip with a NaN bound', () => {
    expect(() => T.clip(z(2), Number.NaN, 1)).toThrow(
      /^clip: expected min and max not NaN, got min=NaN, max=1$/,
    );
  });

  it('item on a non-scalar', () => {
    expect(() => z(2, 2).item()).toThrow(/^item: expected a tensor with one element, got shape \[2,2\]$/);
    expect(() => z(0).item()).toThrow(/item: expected a tensor with one element, got shape \[0\]/);
  });

  it('max / min over an empty dimension', () => {
    expect(() => T.max(z(0, 2))).toThrow(/^max: cannot reduce over an empty dimension of shape \[0,2\]$/);
    expect(() => T.min(z(2, 0), 1)).toThrow(/^min: cannot reduce over an empty dimension of shape \[2,0\]$/);
    // reducing over the other, non-empty axis is fine
    expect(T.max(z(2, 0), 0).shape).toEqual([0]);
  });

  it('variance with a bad correction', () => {
    expect(() => T.variance(z(3), 0, false, -1)).toThrow(
      /^variance: correction must be a finite number >= 0, got -1$/,
    );
  });

  it('constructor shapes', () => {
    expect(() => T.zeros([2, -1])).toThrow(
      /^zeros: invalid shape \[2,-1\]; expected an array of non-negative integers$/,
    );
    expect(() => T.ones([1.5])).toThrow(/^ones: invalid shape \[1.5\]/);
    expect(() => T.full('2' as never, 0)).toThrow(/^full: invalid shape "2"/);
  });
});

describe('argument types', () => {
  it('non-tensor inputs', () => {
    expect(() => T.add(1, 2)).toThrow(/^add: at least one operand must be a Tensor, got two numbers$/);
    expect(() => T.neg(null as never)).toThrow(/^neg: x must be a Tensor, got null$/);
    expect(() => T.exp([1, 2] as never)).toThrow(/^exp: x must be a Tensor, got object$/);
    expect(() => T.add(z(1), '1' as never)).toThrow(/^add: b must be a Tensor, got string$/);
    expect(() => T.matmul(z(1, 1), undefined as never)).toThrow(
      /^matmul: b must be a Tensor, got undefined$/,
    );
    expect(() => T.sum({} as never)).toThrow(/^sum: x must be a Tensor, got object$/);
    expect(() => T.where(0 as never, z(1), z(1))).toThrow(/^where: cond must be a Tensor, got number$/);
    expect(() => T.scatterAdd(null as never, [], 0)).toThrow(
      /^scatterAdd: updates must be a Tensor, got null$/,
    );
  });
});

describe('disposed tensors', () => {
  it('ops, reads and views refuse a disposed tensor', () => {
    const x = T.tensor([1, 2]);
    x.dispose();
    expect(() => T.add(x, 1)).toThrow(/^add: an input tensor was disposed before use$/);
    expect(() => T.neg(x)).toThrow(/^neg: an input tensor was disposed before use$/);
    expect(() => T.sum(x)).toThrow(/^sum: an input tensor was disposed before use$/);
    expect(() => x.dataSync()).toThrow(
      /^Tensor: this float32 tensor of shape \[2\] was disposed \(a tensor made inside tidy\(\) is released when the scope returns unless the scope returns it; make long-lived tensors variables with keep\(\) and update them with assign\(\)\)$/,
    );
    expect(() => x.toArray()).toThrow(/Tensor: this float32 tensor of shape \[2\] was disposed/);
    const s = T.scalar(1);
    s.dispose();
    expect(() => s.item()).toThrow(/^Tensor: this float32 tensor of shape \[\] was disposed \(/);
    expect(() => T.reshape(x, [2, 1])).toThrow(/^Tensor: this float32 tensor of shape \[2\] was disposed \(/);
    expect(() => x.backend).toThrow(/was disposed/);
  });
});
