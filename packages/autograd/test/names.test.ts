/**
 * Names and small traps: data leaves (`input`, `constant`) versus kept, trainable tensors
 * (`param`), the deprecated `variable`, and `defineOp` run twice (a REPL, a hot reload).
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';

describe('data leaves and parameters have distinct names', () => {
  it('input and constant are data that tidy releases; param is kept, as tf.variable', () => {
    let x: Var | undefined;
    let c: Var | undefined;
    let p: Var | undefined;
    T.tidy(() => {
      x = A.input([1, 2], { requiresGrad: true, name: 'x' });
      c = A.constant([3, 4]);
      p = A.param([5, 6]);
    });
    expect(x!.requiresGrad).toBe(true);
    expect(x!.value.isDisposed).toBe(true);
    expect(c!.requiresGrad).toBe(false);
    expect(c!.value.isDisposed).toBe(true);
    expect(p!.requiresGrad).toBe(true);
    expect(p!.value.isVariable).toBe(true);
    expect(p!.value.isDisposed).toBe(false);
    p!.value.dispose();
  });

  it('variable, deprecated, is input under its old name', () => {
    const v = A.variable([1], { requiresGrad: true, dtype: 'float64', name: 'old' });
    expect([v.requiresGrad, v.dtype, v.name, v.value.isVariable]).toEqual([true, 'float64', 'old', false]);
  });
});

describe('defineOp run twice', () => {
  const def = () => ({
    name: 'names.cube',
    forward: ([x]: readonly T.Tensor[]) => T.mul(T.square(x!), x!),
    vjp: (g: Var, { inputs: [x] }: A.RuleContext) => [A.mul(g, A.mul(A.square(x!), 3))],
  });

  it('accepts an identical definition (new function objects, same source)', () => {
    const first = A.defineOp(def());
    const again = A.defineOp(def());
    const x = A.param(T.tensor([2], { dtype: 'float64' }));
    expect(first(x).value.item()).toBe(8);
    expect(A.grad(again(x), x).value.item()).toBe(12);
    expect(A.customOpNames().filter((n) => n === 'names.cube')).toHaveLength(1);
  });

  it('refuses a different definition unless { replace: true }, which also swaps the rule', () => {
    const old = A.defineOp(def());
    const other = {
      name: 'names.cube',
      forward: ([x]: readonly T.Tensor[]) => T.mul(T.mul(T.square(x!), x!), 2),
      vjp: (g: Var, { inputs: [x] }: A.RuleContext) => [A.mul(g, A.mul(A.square(x!), 6))],
    };
    expect(() => A.defineOp(other)).toThrow(
      'defineOp: an op named "names.cube" is already defined differently; pick another name, or pass { replace: true } to replace it',
    );
    const twice = A.defineOp(other, { replace: true });
    const x = A.param(T.tensor([2], { dtype: 'float64' }));
    expect(twice(x).value.item()).toBe(16);
    // An op made before records the same name, so backward uses the new rule.
    expect(A.grad(old(x), x).value.item()).toBe(24);
    A.defineOp(def(), { replace: true });
  });

  it('a replacement drops kernels the new definition does not have', () => {
    const withKernel = A.defineOp({
      ...def(),
      name: 'names.k',
      kernels: { js: ({ outputs }) => T.jsData(outputs[0]!).fill(7) },
    });
    const x = A.param(T.tensor([2], { dtype: 'float64' }));
    T.withBackend('js', () => expect(withKernel(x).value.item()).toBe(7));
    expect(T.getKernel('names.k', 'js')).toBeDefined();
    const plain = A.defineOp({ ...def(), name: 'names.k' }, { replace: true });
    expect(T.getKernel('names.k', 'js')).toBeUndefined();
    T.withBackend('js', () => expect(plain(x).value.item()).toBe(8));
  });
});
