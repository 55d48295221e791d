/**
 * The kernel contract (`OPS` in kernels.ts): the lists derived from it, and the types that make
 * a wrong kernel name or attribute a compile error. The `@ts-expect-error` lines are checked
 * by `pnpm typecheck` (tsc includes the tests): if one of them compiled, tsc would fail.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';

describe('the kernel contract', () => {
  it('derives the kernel names, the primitives and the op families from one record', () => {
    const names = Object.keys(T.OPS);
    expect([...T.KERNEL_NAMES].sort()).toEqual(names.filter((n) => n !== 'reshape').sort());
    // reshape is a primitive with no kernel; comparisons and optimiser kernels are not primitives.
    expect(T.PRIMITIVE_NAMES).toContain('reshape');
    for (const n of [...T.COMPARISON_OPS, 'adamUpdate', 'lerp']) expect(T.PRIMITIVE_NAMES).not.toContain(n);
    expect(T.UNARY_OPS).toEqual(names.filter((n) => T.OPS[n as T.OpName].kind === 'unary'));
    expect(T.isKernelName('matmul')).toBe(true);
    expect(T.isKernelName('reshape')).toBe(false);
  });

  it('a wrong attribute does not compile; at run time it gives garbage, which is why', () => {
    T.withBackend('js', () => {
      const x = T.tensor([-2, 0.5, 3]);
      const outs = [{ shape: x.shape, dtype: x.dtype }];
      expect(Array.from(T.runKernel('clip', [x], outs, { min: 0, max: 1 })[0]!.dataSync())).toEqual([
        0, 0.5, 1,
      ]);
      // @ts-expect-error: clip needs `max` as well as `min`.
      const missing = T.runKernel('clip', [x], outs, { min: 0 })[0]!;
      expect(Array.from(missing.dataSync()).every(Number.isNaN)).toBe(true);
      // @ts-expect-error: clip's attributes are required.
      const none = T.runKernel('clip', [x], outs)[0]!;
      expect(Array.from(none.dataSync()).every(Number.isNaN)).toBe(true);
      // @ts-expect-error: not a built-in kernel name (custom kernels go through runCustomKernel).
      expect(() => T.runKernel('clipp', [x], outs)).toThrow(/^clipp: no kernel is registered/);
    });
  });

  it('registerKernel types the kernel by its op; custom names go through registerCustomKernel', () => {
    const typed = (): void =>
      T.registerKernel({
        op: 'pad',
        backend: 'contract-test',
        // @ts-expect-error: pad's attributes have no `widths`.
        fn: ({ attrs }: T.KernelArgs<{ widths: number[] }>) => void attrs.widths,
      });
    typed(); // registers under a backend nobody selects
    expect(T.getKernel('pad', 'contract-test')).toBeDefined();
    expect(() => T.registerCustomKernel({ op: 'matmul', backend: 'js', fn: () => {} })).toThrow(
      /^registerCustomKernel: "matmul" is a built-in kernel; register it with registerKernel/,
    );
    expect(() => T.runCustomKernel('sum', [], [])).toThrow(/^runCustomKernel: "sum" is a built-in kernel/);
  });
});
