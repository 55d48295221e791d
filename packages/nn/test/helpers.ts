/**
 * Test helpers for @chainrule/nn: gradient checks of a module with respect to its input and
 * its parameters (with the public float64 `gradcheck`), and seeded data.
 */
import { Var } from '@chainrule/autograd';
import { type GradcheckOptions, type GradcheckReport, gradcheck } from '@chainrule/autograd/testing';
import * as T from '@chainrule/tensor';
import { Rng, type Tensor } from '@chainrule/tensor';
import type { Module } from '../src/module.ts';

export { gradcheck };

/** The module that owns the dotted parameter `name`, and the last name component. */
function owner(m: Module, name: string): [Module, string] {
  const parts = name.split('.');
  let cur = m;
  for (const p of parts.slice(0, -1)) {
    const c = new Map(cur.namedChildren()).get(p);
    if (!c) throw new Error(`no child "${p}" in ${name}`);
    cur = c;
  }
  return [cur, parts.at(-1)!];
}

/**
 * Run `fn` with the module's parameter Vars replaced by `vars` (in `namedParameters()` order),
 * so the module's own `forward` builds a graph into Vars a gradient checker owns. The layers
 * read their parameters from fields (`this.weight`), which is what gets swapped; the
 * originals are restored afterwards.
 */
export function withParams<R>(m: Module, vars: readonly Var[], fn: () => R): R {
  const named = m.namedParameters();
  if (named.length !== vars.length)
    throw new Error(`expected ${named.length} parameter Vars, got ${vars.length}`);
  const restore: (() => void)[] = [];
  try {
    named.forEach(([name, old], i) => {
      const [mod, leaf] = owner(m, name);
      const rec = mod as unknown as Record<string, unknown>;
      const key = Object.keys(rec).find((k) => rec[k] === old);
      if (key === undefined) throw new Error(`parameter "${name}" (${leaf}) is not held in a field`);
      rec[key] = vars[i];
      restore.push(() => {
        rec[key] = old;
      });
    });
    return fn();
  } finally {
    for (const r of restore) r();
  }
}

/** gradcheck of `m.forward(x)` with respect to `x` and every parameter of `m`. */
export function checkModule(m: Module, x: Tensor, options: GradcheckOptions = {}): GradcheckReport {
  const params = m.parameters().map((p) => p.value);
  return gradcheck((xv, ...ps) => withParams(m, ps, () => m.forward(xv)), [x, ...params], options);
}

/** A float64 tensor of `shape` with N(0, std²) entries from a generator seeded with `seed`. */
export function randn64(shape: readonly number[], seed: number, std = 1): Tensor {
  return T.randn([...shape], new Rng(seed), { dtype: 'float64', std });
}

/** The elements of a tensor or Var as a plain array. */
export function arr(x: Tensor | Var): number[] {
  return Array.from((x instanceof Var ? x.value : x).dataSync());
}
