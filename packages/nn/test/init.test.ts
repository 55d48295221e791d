/**
 * Initialisers: bounds and spreads, determinism, and the rng requirement.
 */
import { Rng } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { type Init, initTensor } from '../src/init.ts';
import { Linear } from '../src/layers.ts';
import { arr } from './helpers.ts';

const maxAbs = (xs: number[]) => Math.max(...xs.map(Math.abs));
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stdOf = (xs: number[]) => {
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};

describe('initialisers', () => {
  it('fanIn (the default): weight and bias in ±1/√in, filling the range', () => {
    const lin = new Linear(16, 200, { rng: new Rng(1) });
    const bound = 1 / Math.sqrt(16); // 0.25
    for (const p of [lin.weight, lin.bias!]) {
      const xs = arr(p);
      expect(maxAbs(xs)).toBeLessThanOrEqual(bound);
      expect(maxAbs(xs)).toBeGreaterThan(0.95 * bound);
      expect(Math.min(...xs)).toBeLessThan(-0.9 * bound); // both signs
    }
    expect(Math.abs(meanOf(arr(lin.weight)))).toBeLessThan(0.02);
  });

  it("uniform(±3e-3), the DDPG paper's final layers: weight and bias", () => {
    const lin = new Linear(300, 4, { rng: new Rng(2), init: { uniform: [-3e-3, 3e-3] } });
    for (const p of [lin.weight, lin.bias!]) {
      expect(maxAbs(arr(p))).toBeLessThanOrEqual(3e-3);
    }
    expect(maxAbs(arr(lin.weight))).toBeGreaterThan(2.9e-3);
    // An asymmetric interval is honoured too.
    const xs = arr(initTensor({ uniform: [2, 3] }, [1000], 1, 1, new Rng(0)));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...xs)).toBeLessThan(3);
  });

  it('glorot: U(±√(6/(in+out))), with a zero bias by default', () => {
    const lin = new Linear(40, 60, { rng: new Rng(3), init: 'glorot' });
    const bound = Math.sqrt(6 / 100);
    expect(maxAbs(arr(lin.weight))).toBeLessThanOrEqual(bound);
    expect(maxAbs(arr(lin.weight))).toBeGreaterThan(0.95 * bound);
    expect(arr(lin.bias!).every((b) => b === 0)).toBe(true);
  });

  it('he: N(0, 2/in) (std roughly √(2/in)), with a zero bias by default', () => {
    const lin = new Linear(50, 400, { rng: new Rng(4), init: 'he' });
    const xs = arr(lin.weight); // 20 000 draws: the sample std is within a few percent
    expect(stdOf(xs)).toBeGreaterThan(0.95 * Math.sqrt(2 / 50));
    expect(stdOf(xs)).toBeLessThan(1.05 * Math.sqrt(2 / 50));
    expect(Math.abs(meanOf(xs))).toBeLessThan(0.01);
    expect(arr(lin.bias!).every((b) => b === 0)).toBe(true);
  });

  it('zeros needs no rng; biasInit overrides the bias initialiser', () => {
    const lin = new Linear(3, 2, { init: 'zeros' });
    expect(arr(lin.weight)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(arr(lin.bias!)).toEqual([0, 0]);
    const fanInWeightZeroBias = new Linear(3, 2, { rng: new Rng(0), biasInit: 'zeros' });
    expect(arr(fanInWeightZeroBias.bias!)).toEqual([0, 0]);
    const zeroWeightUniformBias = new Linear(3, 2, {
      rng: new Rng(0),
      init: 'zeros',
      biasInit: { uniform: [1, 2] },
    });
    expect(arr(zeroWeightUniformBias.bias!).every((b) => b >= 1 && b < 2)).toBe(true);
    expect(initTensor('zeros', [2], 1, 1, new Rng(0), 'float64').dtype).toBe('float64');
  });

  it('the same seed gives the same weights; another seed gives others', () => {
    const inits: Init[] = ['fanIn', 'glorot', 'he', { uniform: [-1, 1] }];
    for (const init of inits) {
      const a = new Linear(5, 7, { rng: new Rng(42), init });
      const b = new Linear(5, 7, { rng: new Rng(42), init });
      const c = new Linear(5, 7, { rng: new Rng(43), init });
      expect(arr(b.weight)).toEqual(arr(a.weight));
      expect(arr(b.bias!)).toEqual(arr(a.bias!));
      expect(arr(c.weight)).not.toEqual(arr(a.weight));
    }
  });

  it('dtype follows the option', () => {
    const lin = new Linear(2, 2, { rng: new Rng(0), dtype: 'float64' });
    expect(lin.weight.dtype).toBe('float64');
    expect(lin.bias!.dtype).toBe('float64');
    expect(new Linear(2, 2, { rng: new Rng(0) }).weight.dtype).toBe('float32');
  });

  it('Linear without an rng is a clear error (unless everything is zeros)', () => {
    expect(() => new Linear(3, 2)).toThrow(
      /Linear: an rng \(a seeded Rng\) is required to initialise the weights/,
    );
    expect(() => new Linear(3, 2, { init: 'zeros', biasInit: 'fanIn' })).toThrow(/an rng .* is required/);
    expect(() => new Linear(3, 2, { init: 'zeros', bias: false })).not.toThrow();
  });

  it('unknown initialisers and bad uniform bounds are clear errors', () => {
    const rng = new Rng(0);
    expect(() => initTensor('xavier' as Init, [2], 1, 1, rng)).toThrow(
      /init: unknown initialiser "xavier"; expected 'fanIn', 'glorot', 'he', 'zeros' or \{ uniform: \[a, b\] \}/,
    );
    expect(() => initTensor({ uniform: [1, -1] }, [2], 1, 1, rng)).toThrow(
      /init: uniform bounds must satisfy a <= b, got \[1, -1\]/,
    );
    expect(() => initTensor({ uniform: [Number.NaN, 1] }, [2], 1, 1, rng)).toThrow(/a <= b/);
    expect(() => new Linear(2, 2, { rng, init: { uniform: [1, 0] } })).toThrow(/uniform bounds/);
  });
});
