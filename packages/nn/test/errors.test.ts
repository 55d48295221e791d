/**
 * The error paths of the layers, optimisers and target updates, asserting on the messages.
 * (Losses: losses.test.ts; Module registration and state dicts: module.test.ts;
 * initialisers: init.test.ts; checkpoints: checkpoint.test.ts.)
 */
import { input, param } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { ChainruleError, Rng } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, LayerNorm, LeakyReLU, Linear, ReLU, Sequential } from '../src/layers.ts';
import { Adam, clipGradNorm, hardUpdate, SGD, type SGDOptions, softUpdate } from '../src/optim.ts';

const rng = () => new Rng(0);
const x = (...shape: number[]) => input(T.zeros(shape));

describe('layer constructor arguments', () => {
  it('Linear: sizes must be positive integers', () => {
    expect(() => new Linear(0, 2, { rng: rng() })).toThrow(/^Linear: in must be a positive integer, got 0$/);
    expect(() => new Linear(2, 2.5, { rng: rng() })).toThrow(
      /^Linear: out must be a positive integer, got 2\.5$/,
    );
    expect(() => new Linear(Number.NaN, 2, { rng: rng() })).toThrow(/in must be a positive integer, got NaN/);
    expect(() => new Linear(2, -1, { rng: rng() })).toThrow(ChainruleError);
  });

  it('BatchNorm1d: features, eps and momentum', () => {
    expect(() => new BatchNorm1d(0)).toThrow(/^BatchNorm1d: features must be a positive integer, got 0$/);
    expect(() => new BatchNorm1d(1.5)).toThrow(/features must be a positive integer, got 1\.5/);
    expect(() => new BatchNorm1d(2, { eps: 0 })).toThrow(/^BatchNorm1d: eps must be > 0, got 0$/);
    expect(() => new BatchNorm1d(2, { eps: -1e-5 })).toThrow(/eps must be > 0/);
    expect(() => new BatchNorm1d(2, { momentum: 1.5 })).toThrow(
      /^BatchNorm1d: momentum must be in \[0, 1\], got 1\.5$/,
    );
    expect(() => new BatchNorm1d(2, { momentum: -0.1 })).toThrow(/momentum must be in \[0, 1\]/);
    expect(() => new BatchNorm1d(2, { momentum: Number.NaN })).toThrow(
      /momentum must be in \[0, 1\], got NaN/,
    );
    expect(() => new BatchNorm1d(2, { momentum: 0 })).not.toThrow();
    expect(() => new BatchNorm1d(2, { momentum: 1 })).not.toThrow();
  });

  it('LayerNorm: the normalised size', () => {
    expect(() => new LayerNorm(0)).toThrow(/^LayerNorm: normalized size must be a positive integer, got 0$/);
    expect(() => new LayerNorm(2.5)).toThrow(/got 2\.5/);
  });

  it('LeakyReLU: the slope must be in [0, 1)', () => {
    expect(() => new LeakyReLU(-0.1)).toThrow(/^LeakyReLU: negativeSlope must be in \[0, 1\), got -0\.1$/);
    expect(() => new LeakyReLU(1)).toThrow(/negativeSlope must be in \[0, 1\), got 1/);
    expect(() => new LeakyReLU(Number.NaN)).toThrow(/got NaN/);
    expect(new LeakyReLU().negativeSlope).toBe(0.01);
  });
});

describe('layer input shapes', () => {
  it('Linear: [batch, in] only', () => {
    const lin = new Linear(3, 2, { rng: rng() });
    expect(() => lin.forward(x(3))).toThrow(/^Linear: expected input \[batch, 3\], got \[3\]$/);
    expect(() => lin.forward(x(2, 4))).toThrow(/^Linear: expected input \[batch, 3\], got \[2,4\]$/);
    expect(() => lin.forward(x(1, 2, 3))).toThrow(/got \[1,2,3\]/);
    expect(lin.forward(x(5, 3)).shape).toEqual([5, 2]);
    // A dtype mismatch is reported by the fused dense kernel.
    expect(() => lin.forward(input(T.zeros([1, 3], { dtype: 'float64' })))).toThrow(/dtype mismatch/);
  });

  it('BatchNorm1d: [batch, features] only; batch size 1 in training', () => {
    const bn = new BatchNorm1d(3);
    expect(() => bn.forward(x(4, 2))).toThrow(/^BatchNorm1d: expected input \[batch, 3\], got \[4,2\]$/);
    expect(() => bn.forward(x(3))).toThrow(/got \[3\]/);
    expect(() => bn.forward(x(1, 3))).toThrow(
      /^BatchNorm1d: training mode needs more than one sample per batch to compute statistics, got input \[1,3\]$/,
    );
  });

  it('LayerNorm: the last dimension must match; a scalar is rejected', () => {
    const ln = new LayerNorm(3);
    expect(() => ln.forward(x(3, 2))).toThrow(
      /^LayerNorm: expected the last dimension to be 3, got \[3,2\]$/,
    );
    expect(() => ln.forward(input(T.scalar(1)))).toThrow(/expected the last dimension to be 3, got \[\]/);
    expect(ln.forward(x(2, 2, 3)).shape).toEqual([2, 2, 3]);
  });

  it('Sequential passes a child error through', () => {
    const seq = new Sequential(
      new Linear(2, 3, { rng: rng() }),
      new ReLU(),
      new Linear(4, 1, { rng: rng() }),
    );
    expect(() => seq.forward(x(1, 2))).toThrow(/Linear: expected input \[batch, 4\], got \[1,3\]/);
  });
});

describe('optimiser arguments', () => {
  const p = () => param(T.zeros([2]));

  it('an empty parameter list', () => {
    expect(() => new Adam([])).toThrow(/^Adam: got an empty parameter list$/);
    expect(() => new SGD([], { lr: 0.1 })).toThrow(/^SGD: got an empty parameter list$/);
  });

  it('Adam: lr, eps, weightDecay and betas', () => {
    expect(() => new Adam([p()], { lr: -1 })).toThrow(/^Adam: lr must be a finite number >= 0, got -1$/);
    expect(() => new Adam([p()], { lr: Number.POSITIVE_INFINITY })).toThrow(
      /lr must be a finite number >= 0, got Infinity/,
    );
    expect(() => new Adam([p()], { eps: Number.NaN })).toThrow(
      /^Adam: eps must be a finite number >= 0, got NaN$/,
    );
    expect(() => new Adam([p()], { weightDecay: -0.01 })).toThrow(
      /^Adam: weightDecay must be a finite number >= 0/,
    );
    expect(() => new Adam([p()], { betas: [1, 0.999] })).toThrow(
      /^Adam: betas must be in \[0, 1\), got \[1, 0\.999\]$/,
    );
    expect(() => new Adam([p()], { betas: [0.9, -0.1] })).toThrow(
      /betas must be in \[0, 1\), got \[0\.9, -0\.1\]/,
    );
  });

  it('SGD: lr (required), momentum, weightDecay and Nesterov', () => {
    expect(() => new SGD([p()], {} as SGDOptions)).toThrow(
      /^SGD: lr must be a finite number >= 0, got undefined$/,
    );
    expect(() => new SGD([p()], { lr: 0.1, momentum: -0.5 })).toThrow(
      /^SGD: momentum must be a finite number >= 0/,
    );
    expect(() => new SGD([p()], { lr: 0.1, weightDecay: Number.NaN })).toThrow(
      /weightDecay must be a finite number/,
    );
    expect(() => new SGD([p()], { lr: 0.1, nesterov: true })).toThrow(
      /^SGD: nesterov needs momentum > 0 and dampening 0$/,
    );
    expect(() => new SGD([p()], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true })).toThrow(
      /nesterov needs momentum > 0 and dampening 0/,
    );
  });

  it('clipGradNorm: maxNorm must be positive', () => {
    expect(() => clipGradNorm([p()], 0)).toThrow(/^clipGradNorm: maxNorm must be > 0, got 0$/);
    expect(() => clipGradNorm([p()], Number.NaN)).toThrow(/maxNorm must be > 0, got NaN/);
  });
});

describe('target-update arguments', () => {
  const net = (hidden: number, seed = 0) =>
    new Sequential(new Linear(2, hidden, { rng: new Rng(seed) }), new BatchNorm1d(hidden));

  it('tau must be in [0, 1]', () => {
    expect(() => softUpdate(net(3), net(3), 1.5)).toThrow(/^softUpdate: tau must be in \[0, 1\], got 1\.5$/);
    expect(() => softUpdate(net(3), net(3), -0.1)).toThrow(/tau must be in \[0, 1\]/);
  });

  it('mismatched architectures are a clear error and change nothing', () => {
    const target = net(3);
    const before = target.stateDict();
    const small = new Linear(2, 3, { rng: rng() });
    expect(() => softUpdate(target, small, 0.1)).toThrow(
      /^softUpdate: target has 4 parameters, source has 2$/,
    );
    expect(() => hardUpdate(target, small)).toThrow(/^hardUpdate: target has 4 parameters, source has 2$/);
    expect(() => softUpdate(target, net(4), 0.1)).toThrow(
      /^softUpdate: parameter "0\.weight" is missing from the source or has another shape$/,
    );
    expect(() => hardUpdate(target, net(4))).toThrow(/hardUpdate: parameter "0\.weight" is missing/);
    const renamed = new Sequential(new ReLU(), new Linear(2, 3, { rng: rng() }), new BatchNorm1d(3));
    expect(() => softUpdate(target, renamed, 0.1)).toThrow(
      /parameter "0\.weight" is missing from the source/,
    );
    for (const k of Object.keys(before))
      expect(target.stateDict()[k]!.dataSync()).toEqual(before[k]!.dataSync());
  });

  it('a buffer the target lacks is a clear error, raised before any parameter changes', () => {
    const untracked = new BatchNorm1d(3, { trackRunningStats: false });
    const tracked = new BatchNorm1d(3);
    tracked.weight!.value = T.tensor([2, 3, 4]);
    expect(() => softUpdate(untracked, tracked, 0.5)).toThrow(
      /^softUpdate: buffer "runningMean" is missing from the target$/,
    );
    expect(() => hardUpdate(untracked, tracked)).toThrow(
      /^hardUpdate: buffer "runningMean" is missing from the target$/,
    );
    expect(Array.from(untracked.weight!.value.dataSync())).toEqual([1, 1, 1]);
    expect(() => softUpdate(untracked, tracked, 0.5, { buffers: 'none' })).not.toThrow();
  });
});
