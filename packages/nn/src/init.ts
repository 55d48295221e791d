/**
 * Initialisers. Every one draws from an explicit seeded generator.
 * @module
 */
import { ChainruleError, type DType, type Rng, randn, type Tensor, uniform, zeros } from '@chainrule/tensor';

/**
 * An initialiser for a weight or bias of a layer with `fanIn` inputs and `fanOut` outputs:
 * - `fanIn`: U(±1/√fanIn), the DDPG paper's hidden layers (and PyTorch's Linear default);
 * - `{ uniform: [a, b] }`: U(a, b), for example the paper's final layers, ±3e-3;
 * - `glorot`: U(±√(6/(fanIn+fanOut))) (Glorot & Bengio 2010);
 * - `he`: N(0, 2/fanIn) (He et al. 2015);
 * - `zeros`.
 */
export type Init = 'fanIn' | 'glorot' | 'he' | 'zeros' | { uniform: readonly [number, number] };

/** Draw a tensor of `shape` with initialiser `init`. */
export function initTensor(
  init: Init,
  shape: readonly number[],
  fanIn: number,
  fanOut: number,
  rng: Rng,
  dtype: DType = 'float32',
): Tensor {
  if (typeof init === 'object' && init !== null && 'uniform' in init) {
    const [a, b] = init.uniform;
    if (!(a <= b)) throw new ChainruleError('init', `uniform bounds must satisfy a <= b, got [${a}, ${b}]`);
    return uniform(shape, a, b, rng, { dtype });
  }
  switch (init) {
    case 'fanIn': {
      const r = 1 / Math.sqrt(fanIn);
      return uniform(shape, -r, r, rng, { dtype });
    }
    case 'glorot': {
      const r = Math.sqrt(6 / (fanIn + fanOut));
      return uniform(shape, -r, r, rng, { dtype });
    }
    case 'he':
      return randn(shape, rng, { dtype, std: Math.sqrt(2 / fanIn) });
    case 'zeros':
      return zeros(shape, { dtype });
    default:
      throw new ChainruleError(
        'init',
        `unknown initialiser ${JSON.stringify(init)}; expected 'fanIn', 'glorot', 'he', 'zeros' or { uniform: [a, b] }`,
      );
  }
}
