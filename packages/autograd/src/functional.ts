/**
 * Function transforms in the style of JAX: `vjp` and `valueAndGrad`.
 * @module
 */
import { ChainruleError, type Tensor } from '@chainrule/tensor';
import { grad } from './engine.ts';
import { Var } from './var.ts';

function leafFrom(x: Var | Tensor): Var {
  return new Var(x instanceof Var ? x.value : x, {
    requiresGrad: true,
    name: x instanceof Var ? x.name : undefined,
  });
}

/**
 * Evaluate `f` at `primals` and return its output with a function that maps a cotangent
 * (shaped like the output) to the vector-Jacobian products, one per primal.
 * The graph is retained, so the returned function can be called many times.
 */
export function vjp(
  f: (...args: Var[]) => Var,
  ...primals: (Var | Tensor)[]
): [Var, (cotangent: Var | Tensor) => Var[]] {
  const xs = primals.map(leafFrom);
  const out = f(...xs);
  if (!(out instanceof Var)) throw new ChainruleError('vjp', 'f must return a Var');
  const vjpFn = (cotangent: Var | Tensor) =>
    grad(out, xs, { gradOutputs: cotangent, retainGraph: true, allowUnused: true });
  return [out, vjpFn];
}

/**
 * Turn a scalar-valued `f` into a function returning `[value, gradient]`. By default the
 * gradient is with respect to the first argument; pass `argnums` (a number or an array)
 * for others. Arguments are treated as fresh leaves.
 */
export function valueAndGrad(
  f: (...args: Var[]) => Var,
  argnums: number | number[] = 0,
): (...args: (Var | Tensor)[]) => [Var, Var | Var[]] {
  return (...args) => {
    const xs = args.map(leafFrom);
    const out = f(...xs);
    if (!(out instanceof Var) || out.size !== 1) {
      throw new ChainruleError(
        'valueAndGrad',
        `f must return a one-element Var, got shape ${out instanceof Var ? `[${out.shape.join(',')}]` : typeof out}`,
      );
    }
    const idx = Array.isArray(argnums) ? argnums : [argnums];
    for (const i of idx) {
      if (!Number.isInteger(i) || i < 0 || i >= xs.length) {
        throw new ChainruleError('valueAndGrad', `argnums ${i} is out of range for ${xs.length} argument(s)`);
      }
    }
    const gs = grad(
      out,
      idx.map((i) => xs[i]!),
      { allowUnused: true },
    );
    return [out, Array.isArray(argnums) ? gs : gs[0]!];
  };
}
