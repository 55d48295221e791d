/**
 * Float64 gradient checks of every layer and loss against central differences, as
 * fast-check properties over shapes. Layers are checked with respect to the input AND every
 * parameter: `checkModule` runs the module's own forward with the checker's Vars swapped in.
 */
import * as A from '@chainrule/autograd';
import { input, noGrad, type Var } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Activation,
  BatchNorm1d,
  LayerNorm,
  LeakyReLU,
  Linear,
  ReLU,
  Sequential,
  Sigmoid,
  Tanh,
} from '../src/layers.ts';
import { huberLoss, mseLoss, type Reduction, smoothL1Loss } from '../src/losses.ts';
import { arr, checkModule, gradcheck, randn64 } from './helpers.ts';

const RUNS = { numRuns: 12 };
const dim = (max = 4) => fc.integer({ min: 1, max });
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const REDUCTIONS: Reduction[] = ['mean', 'sum', 'none'];
const ACTIVATIONS: Activation[] = ['linear', 'relu', 'tanh', 'sigmoid'];

/** The smallest |element|: inputs of a kink (relu, leaky relu) must stay well clear of 0. */
const minAbs = (xs: number[]) => Math.min(...xs.map(Math.abs));

describe('gradcheck: Linear', () => {
  for (const bias of [true, false]) {
    for (const activation of ACTIVATIONS) {
      it(`bias=${bias}, activation=${activation}: input, weight${bias ? ', bias' : ''}`, () => {
        fc.assert(
          fc.property(dim(), dim(), dim(), seed, (batch, inF, outF, s) => {
            const rng = new Rng(s);
            const layer = new Linear(inF, outF, { bias, activation, rng, dtype: 'float64' });
            const x = randn64([batch, inF], s + 1);
            expect(layer.parameters()).toHaveLength(bias ? 2 : 1);
            // Keep the pre-activation away from relu's kink.
            const z = T.fusedDense(x, layer.weight.value, layer.bias?.value, 'linear');
            fc.pre(activation !== 'relu' || minAbs(arr(z)) > 1e-3);
            const r = checkModule(layer, x);
            expect(r.ok, r.message).toBe(true);
          }),
          RUNS,
        );
      });
    }
  }
});

describe('gradcheck: BatchNorm1d', () => {
  /** A float64 BatchNorm with random γ, β and running statistics. */
  function randomBn(features: number, s: number, options: { affine?: boolean; trackRunningStats?: boolean }) {
    const bn = new BatchNorm1d(features, { dtype: 'float64', ...options });
    if (bn.weight && bn.bias) {
      bn.weight.value = randn64([features], s + 2);
      bn.bias.value = randn64([features], s + 3);
    }
    if (bn.trackRunningStats) {
      bn.assignBuffer('runningMean', randn64([features], s + 4));
      bn.assignBuffer('runningVar', T.add(T.abs(randn64([features], s + 5)), 0.5));
    }
    return bn;
  }

  it('training mode: the gradient flows through the batch mean and variance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), dim(), seed, (batch, features, s) => {
        const bn = randomBn(features, s, {});
        const x = randn64([batch, features], s + 1, 2);
        const r = checkModule(bn, x);
        expect(r.ok, r.message).toBe(true);
      }),
      RUNS,
    );
  });

  it('training mode: the input gradient sums to zero over the batch (batch statistics are differentiated)', () => {
    // With the statistics treated as constants the sum would be γ/σ·Σg, not 0.
    const bn = randomBn(3, 7, {});
    const x = input(randn64([5, 3], 8), { requiresGrad: true });
    const y = bn.forward(x);
    y.backward(randn64([5, 3], 9));
    const colSums = arr(T.sum(x.grad!, 0));
    for (const c of colSums) expect(Math.abs(c)).toBeLessThan(1e-12);
  });

  it('eval mode: running statistics are constants', () => {
    fc.assert(
      fc.property(dim(6), dim(), seed, (batch, features, s) => {
        const bn = randomBn(features, s, {}).eval();
        const x = randn64([batch, features], s + 1, 2);
        const r = checkModule(bn, x);
        expect(r.ok, r.message).toBe(true);
      }),
      RUNS,
    );
  });

  it('affine false (training) and trackRunningStats false (eval, batch statistics)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 6 }), dim(), seed, (batch, features, s) => {
        const x = randn64([batch, features], s + 1);
        const noAffine = randomBn(features, s, { affine: false });
        expect(noAffine.parameters()).toHaveLength(0);
        const r1 = checkModule(noAffine, x);
        expect(r1.ok, r1.message).toBe(true);
        const untracked = randomBn(features, s, { trackRunningStats: false }).eval();
        const r2 = checkModule(untracked, x);
        expect(r2.ok, r2.message).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('gradcheck: LayerNorm', () => {
  it('any leading shape, with and without the affine part', () => {
    fc.assert(
      fc.property(fc.array(dim(3), { maxLength: 2 }), dim(5), fc.boolean(), seed, (lead, n, affine, s) => {
        const ln = new LayerNorm(n, { dtype: 'float64', elementwiseAffine: affine });
        if (ln.weight && ln.bias) {
          ln.weight.value = randn64([n], s + 2);
          ln.bias.value = randn64([n], s + 3);
        }
        const r = checkModule(ln, randn64([...lead, n], s + 1));
        expect(r.ok, r.message).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('gradcheck: activations', () => {
  it('LeakyReLU (any slope), ReLU, Tanh, Sigmoid modules', () => {
    fc.assert(
      fc.property(
        fc.array(dim(), { minLength: 1, maxLength: 3 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        seed,
        (shape, slope, s) => {
          const x = randn64(shape, s);
          fc.pre(minAbs(arr(x)) > 1e-3);
          for (const m of [new LeakyReLU(slope), new ReLU(), new Tanh(), new Sigmoid()]) {
            const r = checkModule(m, x);
            expect(r.ok, `${m.constructor.name}: ${r.message}`).toBe(true);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('gradcheck: Sequential', () => {
  it('Linear → BatchNorm1d → LeakyReLU → Linear(tanh) → LayerNorm, every parameter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        dim(),
        dim(),
        dim(),
        seed,
        (batch, inF, hidden, outF, s) => {
          const rng = new Rng(s);
          const net = new Sequential(
            new Linear(inF, hidden, { rng, dtype: 'float64' }),
            new BatchNorm1d(hidden, { dtype: 'float64' }),
            new LeakyReLU(0.2),
            new Linear(hidden, outF, { rng, dtype: 'float64', activation: 'tanh' }),
            new LayerNorm(outF, { dtype: 'float64' }),
          );
          expect(net.parameters()).toHaveLength(8);
          const x = randn64([batch, inF], s + 1);
          const h = noGrad(() => net.layers[1]!.forward(net.layers[0]!.forward(input(x))));
          fc.pre(minAbs(arr(h)) > 1e-3); // away from the leaky relu's kink
          const r = checkModule(net, x);
          expect(r.ok, r.message).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe('gradcheck: losses', () => {
  const shapeArb = fc.array(dim(), { maxLength: 3 });
  for (const reduction of REDUCTIONS) {
    it(`mseLoss, huberLoss, smoothL1Loss with reduction '${reduction}' (prediction and target)`, () => {
      fc.assert(
        fc.property(shapeArb, fc.double({ min: 0.2, max: 2, noNaN: true }), seed, (shape, k, s) => {
          const pred = randn64(shape, s, 1.5);
          const target = randn64(shape, s + 1, 1.5);
          const d = arr(T.abs(T.sub(pred, target)));
          // Huber's second derivative jumps at |d| = δ; keep finite differences off that point.
          fc.pre(minAbs(d.map((v) => v - k)) > 1e-3);
          const checks = {
            mse: gradcheck((p, t) => mseLoss(p, t, { reduction }), [pred, target]),
            huber: gradcheck((p, t) => huberLoss(p, t, { reduction, delta: k }), [pred, target]),
            smoothL1: gradcheck((p, t) => smoothL1Loss(p, t, { reduction, beta: k }), [pred, target]),
          };
          for (const [name, r] of Object.entries(checks)) expect(r.ok, `${name}: ${r.message}`).toBe(true);
        }),
        RUNS,
      );
    });
  }
});

describe('the checker itself', () => {
  /** A Linear whose forward wrongly cuts the gradient to its weight. */
  class DetachedWeight extends Linear {
    override forward(x: Var): Var {
      return A.matmul(x, this.weight.detach());
    }
  }

  it('checkModule feeds the checked parameter values into the forward and catches a wrong gradient', () => {
    const layer = new DetachedWeight(2, 3, { rng: new Rng(1), dtype: 'float64', bias: false });
    const r = checkModule(layer, randn64([2, 2], 2));
    expect(r.ok).toBe(false);
    // The failures are on the weight (input 1): the numeric side sees it, the analytic side does not.
    expect(r.message).toMatch(/input 1 at index/);
    expect(r.message).not.toMatch(/input 0 at index/);
  });

  it('withParams restores the original parameter Vars', () => {
    const layer = new Linear(2, 2, { rng: new Rng(1), dtype: 'float64' });
    const w = layer.weight;
    checkModule(layer, randn64([3, 2], 2));
    expect(layer.weight).toBe(w);
    expect(layer.parameters()[0]).toBe(w);
  });
});
