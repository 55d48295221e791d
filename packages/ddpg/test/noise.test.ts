import { BatchNorm1d, LayerNorm, Linear, ReLU, Sequential } from '@chainrule/nn';
import { Rng, tensor } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import {
  type ActionNoiseState,
  AdaptiveParamNoise,
  ExponentialDecay,
  GaussianNoise,
  LinearAnneal,
  makeNoise,
  OrnsteinUhlenbeckNoise,
} from '../src/noise.ts';

/** Sample variance over all dimensions of `n` samples after `burnIn` discarded ones. */
function sampleVariance(
  sample: () => Float64Array,
  n: number,
  burnIn: number,
): { mean: number; variance: number } {
  for (let i = 0; i < burnIn; i++) sample();
  let s = 0;
  let s2 = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    for (const v of sample()) {
      s += v;
      s2 += v * v;
      count++;
    }
  }
  const mean = s / count;
  return { mean, variance: s2 / count - mean * mean };
}

describe('OrnsteinUhlenbeckNoise', () => {
  it('with sigma = 0 decays toward mu exactly per the formula', () => {
    const theta = 0.15;
    const dt = 0.05;
    const mu = [0.5, -1];
    const noise = new OrnsteinUhlenbeckNoise({
      actDim: 2,
      mu,
      theta,
      sigma: 0,
      dt,
      x0: [2, 3],
      rng: new Rng(1),
    });
    let x = [2, 3];
    for (let t = 0; t < 200; t++) {
      const got = noise.sample();
      x = x.map((xi, i) => xi + theta * (mu[i]! - xi) * dt + 0 * Math.sqrt(dt));
      expect(Array.from(got)).toEqual(x);
    }
    // Closed form: x_n − μ = (x0 − μ)(1 − θ·dt)^n.
    const decay = (1 - theta * dt) ** 200;
    expect(x[0]).toBeCloseTo(0.5 + 1.5 * decay, 12);
    expect(x[1]).toBeCloseTo(-1 + 4 * decay, 12);
  });

  it('includes the sqrt(dt) factor: one step equals the hand formula with the same normal draw', () => {
    const rng = new Rng(7);
    const sigma = 0.2;
    const theta = 0.15;
    const dt = 1e-2;
    const noise = new OrnsteinUhlenbeckNoise({
      actDim: 3,
      mu: 0.1,
      theta,
      sigma,
      dt,
      x0: [0.3, -0.2, 0],
      rng,
    });
    const draws = rng.clone();
    const got = noise.sample();
    const x0 = [0.3, -0.2, 0];
    for (let i = 0; i < 3; i++) {
      const z = draws.normal();
      const expected = x0[i]! + theta * (0.1 - x0[i]!) * dt + sigma * Math.sqrt(dt) * z;
      expect(got[i]).toBeCloseTo(expected, 14);
      // The noise part is σ·√dt·z = 0.1·σ·z: without √dt (the bug) it would be 10× larger.
      const noisePart = got[i]! - (x0[i]! + theta * (0.1 - x0[i]!) * dt);
      expect(noisePart).toBeCloseTo(0.1 * sigma * z, 14);
    }
    // The rng advanced by exactly the three normal draws.
    expect(rng.getState()).toEqual(draws.getState());
  });

  it('has the stationary variance of the discretised process (coarse dt, tight bound)', () => {
    const theta = 1;
    const dt = 0.1;
    const sigma = 0.3;
    const noise = new OrnsteinUhlenbeckNoise({ actDim: 4, theta, sigma, dt, rng: new Rng(11) });
    const { mean, variance } = sampleVariance(() => noise.sample(), 100_000, 200);
    const discrete = (sigma ** 2 * dt) / (1 - (1 - theta * dt) ** 2); // 0.02105
    const continuous = sigma ** 2 / (2 * theta); // 0.02
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance / discrete - 1)).toBeLessThan(0.025);
    expect(Math.abs(variance - discrete)).toBeLessThan(Math.abs(variance - continuous));
  });

  it('has stationary variance ≈ σ²/(2θ) with the default parameters (long run, loose bound)', () => {
    const noise = new OrnsteinUhlenbeckNoise({ actDim: 2, rng: new Rng(12) });
    expect([noise.theta, noise.sigma, noise.dt]).toEqual([0.15, 0.2, 1e-2]);
    const { variance } = sampleVariance(() => noise.sample(), 300_000, 3000);
    const discrete = (0.04 * 0.01) / (1 - (1 - 0.0015) ** 2);
    expect(discrete).toBeCloseTo(0.04 / 0.3, 3);
    expect(Math.abs(variance / discrete - 1)).toBeLessThan(0.2);
    // With the √dt bug the standard deviation would be ≈ 10 × sqrt(0.1333) ≈ 3.65.
    expect(Math.sqrt(variance)).toBeLessThan(0.5);
  });

  it('reset() returns x to x0 (or zeros)', () => {
    const withX0 = new OrnsteinUhlenbeckNoise({ actDim: 2, x0: [1, 2], rng: new Rng(3) });
    const zero = new OrnsteinUhlenbeckNoise({ actDim: 2, rng: new Rng(3) });
    for (let i = 0; i < 10; i++) {
      withX0.sample();
      zero.sample();
    }
    expect(Array.from(zero.state)).not.toEqual([0, 0]);
    withX0.reset();
    zero.reset();
    expect(Array.from(withX0.state)).toEqual([1, 2]);
    expect(Array.from(zero.state)).toEqual([0, 0]);
  });

  it('returns fresh arrays from sample()', () => {
    const noise = new OrnsteinUhlenbeckNoise({ actDim: 2, rng: new Rng(3) });
    const a = noise.sample();
    const copy = Array.from(a);
    noise.sample();
    expect(Array.from(a)).toEqual(copy);
  });

  it('round-trips its state through JSON and resumes exactly', () => {
    const sched = new ExponentialDecay({ initial: 0.3, factor: 0.99 });
    const a = new OrnsteinUhlenbeckNoise({ actDim: 3, sigma: sched, rng: new Rng(21) });
    for (let i = 0; i < 10; i++) {
      a.sample();
      a.step();
    }
    const saved = JSON.parse(JSON.stringify(a.getState())) as ActionNoiseState;
    expect(saved.kind).toBe('ou');
    expect(saved.x).toHaveLength(3);
    expect(saved.step).toBe(10);
    const expected: number[][] = [];
    for (let i = 0; i < 5; i++) {
      expected.push(Array.from(a.sample()));
      a.step();
    }
    const b = new OrnsteinUhlenbeckNoise({ actDim: 3, sigma: sched, rng: new Rng(999) });
    b.setState(saved);
    expect(b.sigma).toBe(0.3 * 0.99 ** 10);
    for (let i = 0; i < 5; i++) {
      expect(Array.from(b.sample())).toEqual(expected[i]);
      b.step();
    }
    expect(a.getState({ includeRng: false }).rng).toBeUndefined();
    expect(() => b.setState({ ...saved, kind: 'gaussian' })).toThrow(
      /state.kind is "gaussian"; expected "ou"/,
    );
    expect(() => b.setState({ ...saved, actDim: 2 })).toThrow(/state.actDim is 2; this noise has actDim 3/);
    expect(() => b.setState({ ...saved, x: [1, 2] })).toThrow(
      /state.x must be a number or an array of length 3/,
    );
  });

  it('lets sigma follow a schedule through step() and setStep()', () => {
    const rng = new Rng(4);
    const noise = new OrnsteinUhlenbeckNoise({
      actDim: 1,
      sigma: new LinearAnneal({ initial: 0.4, final: 0.1, steps: 3 }),
      rng,
    });
    expect(noise.sigma).toBe(0.4);
    noise.step();
    expect(noise.sigma).toBeCloseTo(0.3, 15);
    expect(noise.stepCount).toBe(1);
    noise.step(5);
    expect(noise.sigma).toBe(0.1);
    noise.setStep(0);
    expect(noise.sigma).toBe(0.4);
    const draw = rng.clone().normal();
    expect(noise.sample()[0]).toBeCloseTo(0.4 * 0.1 * draw, 15);
    expect(() => noise.setStep(-1)).toThrow(/step must be a non-negative integer, got -1/);
  });

  it('validates its options', () => {
    const rng = new Rng(0);
    expect(() => new OrnsteinUhlenbeckNoise({ actDim: 0, rng })).toThrow(/actDim must be a positive integer/);
    expect(() => new OrnsteinUhlenbeckNoise({ actDim: 2, mu: [0], rng })).toThrow(
      /mu must be a number or an array of length 2/,
    );
    expect(() => new OrnsteinUhlenbeckNoise({ actDim: 1, dt: 0, rng })).toThrow(/dt must be > 0/);
    expect(() => new OrnsteinUhlenbeckNoise({ actDim: 1, sigma: -1, rng })).toThrow(
      /sigma must be a finite number >= 0/,
    );
    expect(() => new OrnsteinUhlenbeckNoise({ actDim: 1 } as never)).toThrow(
      /a seeded Rng is required \(options\.rng\), got undefined/,
    );
    // The error names what was passed instead.
    expect(() => new OrnsteinUhlenbeckNoise({ actDim: 1, rng: Math.random } as never)).toThrow(
      /got function/,
    );
    expect(() => new OrnsteinUhlenbeckNoise({ actDim: 1, rng: new Map() } as never)).toThrow(/got Map/);
  });
});

describe('GaussianNoise', () => {
  it('has mean 0 and standard deviation sigma', () => {
    const noise = new GaussianNoise({ actDim: 3, sigma: 0.5, rng: new Rng(8) });
    const { mean, variance } = sampleVariance(() => noise.sample(), 40_000, 0);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(Math.sqrt(variance) - 0.5)).toBeLessThan(0.01);
  });

  it('scales one draw by the scheduled sigma and round-trips its state', () => {
    const rng = new Rng(9);
    const noise = new GaussianNoise({
      actDim: 2,
      sigma: new ExponentialDecay({ initial: 3, factor: 0.9995 }),
      rng,
    });
    noise.setStep(100);
    const draws = rng.clone();
    const s = noise.sample();
    const sigma = 3 * 0.9995 ** 100;
    expect(noise.sigma).toBe(sigma);
    expect(s[0]).toBe(sigma * draws.normal());
    expect(s[1]).toBe(sigma * draws.normal());
    const saved = JSON.parse(JSON.stringify(noise.getState())) as ActionNoiseState;
    const next = Array.from(noise.sample());
    const other = new GaussianNoise({
      actDim: 2,
      sigma: new ExponentialDecay({ initial: 3, factor: 0.9995 }),
      rng: new Rng(1),
    });
    other.setState(saved);
    expect(Array.from(other.sample())).toEqual(next);
    expect(() => new GaussianNoise({ actDim: 2, rng } as never)).toThrow(/sigma is required/);
  });
});

describe('makeNoise', () => {
  it('builds the configured action noise with an optional σ decay', () => {
    const rng = new Rng(0);
    const ou = makeNoise({ noise: 'ou', noiseSigma: 0.3, noiseDecay: 1 }, 2, rng);
    expect(ou).toBeInstanceOf(OrnsteinUhlenbeckNoise);
    expect(ou!.sigma).toBe(0.3);
    ou!.step(10);
    expect(ou!.sigma).toBe(0.3);
    const g = makeNoise({ noise: 'gaussian', noiseSigma: 2, noiseDecay: 0.5 }, 3, rng);
    expect(g).toBeInstanceOf(GaussianNoise);
    expect(g!.actDim).toBe(3);
    g!.step(2);
    expect(g!.sigma).toBe(0.5);
    expect(makeNoise({ noise: 'none', noiseSigma: 0, noiseDecay: 1 }, 2, rng)).toBeUndefined();
    expect(() => makeNoise({ noise: 'param', noiseSigma: 0.1, noiseDecay: 1 }, 2, rng)).toThrow(
      /AdaptiveParamNoise/,
    );
  });
});

describe('schedules', () => {
  it('ExponentialDecay: initial · factor^step with a floor', () => {
    const d = new ExponentialDecay({ initial: 3 });
    expect(d.factor).toBe(0.9998);
    expect(d.value(0)).toBe(3);
    expect(d.value(1)).toBe(3 * 0.9998);
    expect(d.value(1000)).toBeCloseTo(3 * 0.9998 ** 1000, 12);
    const floored = new ExponentialDecay({ initial: 1, factor: 0.5, min: 0.1 });
    expect(floored.value(1)).toBe(0.5);
    expect(floored.value(3)).toBe(0.125);
    expect(floored.value(4)).toBe(0.1);
    expect(floored.value(100)).toBe(0.1);
    expect(() => d.value(-1)).toThrow(/step must be a non-negative integer/);
    expect(() => new ExponentialDecay({ initial: 1, factor: 1.5 })).toThrow(/factor must be in \(0, 1\]/);
  });

  it('LinearAnneal: linear from initial to final over steps, then constant', () => {
    const l = new LinearAnneal({ initial: 1, final: 0.2, steps: 4 });
    expect(l.value(0)).toBe(1);
    expect(l.value(1)).toBeCloseTo(0.8, 15);
    expect(l.value(2)).toBeCloseTo(0.6, 15);
    expect(l.value(4)).toBe(0.2);
    expect(l.value(50)).toBe(0.2);
    expect(() => new LinearAnneal({ initial: 1, final: 0, steps: 0 })).toThrow(
      /steps must be a positive integer/,
    );
  });
});

describe('AdaptiveParamNoise', () => {
  function nets() {
    const make = (seed: number) => {
      const rng = new Rng(seed);
      return new Sequential(
        new Linear(3, 4, { rng }),
        new LayerNorm(4),
        new ReLU(),
        new BatchNorm1d(4),
        new Linear(4, 2, { rng }),
      );
    };
    const actor = make(1);
    // Give the actor's LayerNorm non-default values so copying is visible.
    const ln = actor.layers[1] as LayerNorm;
    ln.weight!.value = tensor([1.5, 2, 2.5, 3]);
    ln.bias!.value = tensor([0.1, 0.2, 0.3, 0.4]);
    const sd = actor.stateDict();
    sd['3.runningMean'] = tensor([1, 2, 3, 4]);
    actor.loadStateDict(sd);
    return { actor, perturbed: make(2) };
  }

  it('copies parameters adding N(0, σ²) to all but LayerNorm parameters', () => {
    const { actor, perturbed } = nets();
    const before = actor.stateDict();
    const noise = new AdaptiveParamNoise({ initialStddev: 0.05 });
    const rng = new Rng(31);
    const draws = rng.clone();
    noise.perturb(actor, perturbed, rng);

    const pert = new Map(perturbed.namedParameters());
    const names = actor.namedParameters().map(([n]) => n);
    expect(names).toEqual([
      '0.weight',
      '0.bias',
      '1.weight',
      '1.bias',
      '3.weight',
      '3.bias',
      '4.weight',
      '4.bias',
    ]);
    for (const [name, p] of actor.namedParameters()) {
      const src = p.value.dataSync();
      const got = pert.get(name)!.value.dataSync();
      if (name.startsWith('1.')) {
        expect(Array.from(got)).toEqual(Array.from(src)); // LayerNorm: copied unchanged
      } else {
        for (let i = 0; i < src.length; i++) {
          expect(got[i]).toBe(Math.fround(src[i]! + 0.05 * draws.normal()));
        }
      }
    }
    expect(rng.getState()).toEqual(draws.getState());
    // Buffers are copied; the actor itself is untouched.
    expect(Array.from(perturbed.stateDict()['3.runningMean']!.dataSync())).toEqual([1, 2, 3, 4]);
    const after = actor.stateDict();
    for (const k of Object.keys(before)) expect(after[k]!.toArray()).toEqual(before[k]!.toArray());
  });

  it('refuses modules with different architectures', () => {
    const { actor } = nets();
    const other = new Sequential(new Linear(3, 5, { rng: new Rng(0) }));
    const noise = new AdaptiveParamNoise();
    expect(() => noise.perturb(actor, other, new Rng(0))).toThrow(
      /actor and perturbed differ: .*"0.weight" is float32 \[3,5\]/,
    );
    expect(() => noise.perturb(actor, actor, new Rng(0))).toThrow(/different module/);
  });

  it('distance is sqrt(mean((a − b)²))', () => {
    const noise = new AdaptiveParamNoise();
    const a = tensor([
      [0, 0],
      [0, 0],
    ]);
    const b = tensor([
      [1, 1],
      [1, 3],
    ]);
    expect(noise.distance(a, b)).toBeCloseTo(Math.sqrt(3), 12);
    expect(noise.distance(b, b)).toBe(0);
    expect(() => noise.distance(a, tensor([1, 2]))).toThrow(/shapes differ: \[2,2\] and \[2\]/);
  });

  it('adapts: σ / α when too far, σ · α otherwise; state round trip', () => {
    const noise = new AdaptiveParamNoise({
      initialStddev: 0.1,
      desiredActionStddev: 0.2,
      adoptionCoefficient: 1.01,
    });
    expect(noise.currentStddev).toBe(0.1);
    noise.adapt(0.3);
    expect(noise.currentStddev).toBeCloseTo(0.1 / 1.01, 15);
    noise.adapt(0.1);
    noise.adapt(0.2); // equal to desired: grows
    expect(noise.currentStddev).toBeCloseTo(0.1 * 1.01, 15);
    const saved = JSON.parse(JSON.stringify(noise.getState()));
    const other = new AdaptiveParamNoise();
    other.setState(saved);
    expect(other.currentStddev).toBe(noise.currentStddev);
    other.reset();
    expect(other.currentStddev).toBe(0.1);
    expect(() => noise.adapt(Number.NaN)).toThrow(/distance must be a finite number/);
    expect(() => new AdaptiveParamNoise({ adoptionCoefficient: 1 })).toThrow(
      /adoptionCoefficient must be > 1/,
    );
    expect(() => other.setState({ kind: 'ou' } as never)).toThrow(/expected \{ kind: 'adaptive-param'/);
  });
});
