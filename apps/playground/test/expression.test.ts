import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { evaluate, namesIn, parseExpression, parseTensors } from '../src/explorer/expression.ts';

const vars = (src: string) => new Map([...parseTensors(src)].map(([k, t]) => [k, A.param(t, { name: k })]));

describe('expression parser', () => {
  it('follows precedence: ^ binds tighter than unary minus, @ than *, * than +', () => {
    const v = vars('x = 2\ny = 3');
    const val = (s: string) => {
      const r = evaluate(parseExpression(s), v);
      return typeof r === 'number' ? r : r.item();
    };
    expect(val('x + y * x')).toBe(8);
    expect(val('-x ^ 2')).toBe(-4);
    expect(val('x ^ y ^ 0')).toBe(2); // right-associative: x^(y^0)
    expect(val('(x + y) * 2 - 1')).toBe(9);
    expect(val('x / y * 3')).toBeCloseTo(2, 12);
  });

  it('computes matmul, broadcasting and reductions with the autograd ops', () => {
    const v = vars('W = [[1, 2], [3, 4]]\nx = [[1, 1]]\nb = [10, 20]');
    const y = evaluate(parseExpression('sum(x @ W + b, 1)'), v) as A.Var;
    expect(y.toArray()).toEqual([4 + 6 + 30]);
    expect(namesIn(parseExpression('sum(x @ W + b * x)'))).toEqual(['x', 'W', 'b']);
  });

  it('gives the same gradients as the same program written with the ops', () => {
    const src = 'W = [[0.5, -1], [2, 0.25]]\nx = [[1, -2]]';
    const v = vars(src);
    const y = evaluate(parseExpression('mean(tanh(x @ W) ^ 2)'), v) as A.Var;
    const [gW] = A.grad(y, [v.get('W')!]);
    const W = A.param(
      T.tensor(
        [
          [0.5, -1],
          [2, 0.25],
        ],
        { dtype: 'float64' },
      ),
    );
    const x = A.param(T.tensor([[1, -2]], { dtype: 'float64' }));
    const ref = A.grad(A.mean(A.pow(A.tanh(A.matmul(x, W)), 2)), [W])[0]!;
    expect(Array.from(gW!.value.dataSync())).toEqual(Array.from(ref.value.dataSync()));
  });

  it('rejects bad input with the column and what was expected', () => {
    expect(() => parseExpression('x +')).toThrow(/expected a number.*at column 4, got "the end"/);
    expect(() => parseExpression('foo(x)')).toThrow(/unknown function "foo"/);
    expect(() => parseExpression('sum(x, 1, 2)')).toThrow(/sum takes 1 or 2 argument/);
    expect(() => parseExpression('x $ y')).toThrow(/unexpected character "\$" at column 3/);
    expect(() => parseTensors('x = [1, 2')).toThrow(/line 1: the value of x is not a JSON/);
    expect(() => parseTensors('exp = 1')).toThrow(/"exp" is a function name/);
    expect(() => evaluate(parseExpression('z + 1'), vars('x = 1'))).toThrow(
      /unknown name "z"; defined tensors: x/,
    );
  });

  it('never evaluates code: a name that looks like JavaScript is just an unknown tensor', () => {
    expect(() => evaluate(parseExpression('alert(1)'), new Map())).toThrow(/unknown function "alert"/);
    expect(() => parseExpression('constructor.constructor')).toThrow(/unexpected character "\."/);
  });
});

describe('the ops of issue 23 in the expression language', () => {
  it('softmax, logSoftmax, logsumexp (with an axis), atan2 and the activations evaluate as autograd does', () => {
    const x = A.input(
      T.tensor(
        [
          [1, 2, 3],
          [-1, 0, 4],
        ],
        { dtype: 'float64' },
      ),
    );
    const vars = new Map([['x', x]]);
    const run = (src: string) => (evaluate(parseExpression(src), vars) as A.Var).value.toArray();
    expect(run('softmax(x)')).toEqual(A.softmax(x).value.toArray());
    expect(run('logSoftmax(x, 0)')).toEqual(A.logSoftmax(x, 0).value.toArray());
    expect(run('logsumexp(x, 1)')).toEqual(A.logsumexp(x, 1).value.toArray());
    expect(run('atan2(x, 2)')).toEqual(A.atan2(x, 2).value.toArray());
    for (const f of ['sin', 'cos', 'erf', 'gelu', 'silu', 'softplus', 'elu', 'selu'] as const) {
      expect(run(`${f}(x)`), f).toEqual((A[f] as (v: typeof x) => typeof x)(x).value.toArray());
    }
  });
});
