/**
 * Module: names, parameters, buffers, children, modes, zeroGrad and strict state dicts.
 */

import * as A from '@chainrule/autograd';
import { input, param, type Var } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, LayerNorm, Linear, ReLU, Sequential, Tanh } from '../src/layers.ts';
import { Module, type StateDict } from '../src/module.ts';
import { Adam } from '../src/optim.ts';
import { arr } from './helpers.ts';

/** A module with its own parameter and buffer, and nested children. */
class Net extends Module {
  readonly scale: Var;
  readonly encoder: Sequential;
  readonly head: Linear;
  constructor(seed = 0) {
    super();
    const rng = new Rng(seed);
    this.scale = this.registerParameter('scale', param(T.tensor([2])));
    this.registerBuffer('steps', T.zeros([1]));
    this.encoder = this.registerModule(
      'encoder',
      new Sequential(new Linear(3, 4, { rng }), new BatchNorm1d(4), new ReLU()),
    );
    this.head = this.registerModule('head', new Linear(4, 2, { rng }));
  }
  forward(x: Var): Var {
    return A.mul(this.head.forward(this.encoder.forward(x)), this.scale);
  }
  /** Expose the protected registration methods to the error tests. */
  register(kind: 'param' | 'buffer' | 'module', name: string): void {
    if (kind === 'param') this.registerParameter(name, param(T.zeros([1])));
    else if (kind === 'buffer') this.registerBuffer(name, T.zeros([1]));
    else this.registerModule(name, new ReLU());
  }
}

const snapshot = (m: Module): Record<string, number[]> =>
  Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, arr(t)]));

describe('Module: names and traversal', () => {
  it('Sequential children are named 0, 1, ... and parameters get dotted names', () => {
    const rng = new Rng(1);
    const seq = new Sequential(new Linear(2, 3, { rng }), new ReLU(), new Linear(3, 1, { rng, bias: false }));
    expect(seq.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight']);
    expect(seq.namedChildren().map(([n]) => n)).toEqual(['0', '1', '2']);
    expect(seq.children()).toEqual(seq.layers);
    expect(seq.parameters()[0]).toBe((seq.layers[0] as Linear).weight);
    expect(seq.numParameters()).toBe(2 * 3 + 3 + 3 * 1);
    expect(seq.buffers()).toEqual([]);
  });

  it('nested modules: own entries first, then each child in registration order', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n]) => n)).toEqual([
      'scale',
      'encoder.0.weight',
      'encoder.0.bias',
      'encoder.1.weight',
      'encoder.1.bias',
      'head.weight',
      'head.bias',
    ]);
    expect(net.namedBuffers().map(([n]) => n)).toEqual([
      'steps',
      'encoder.1.runningMean',
      'encoder.1.runningVar',
    ]);
    expect(net.buffers()).toHaveLength(3);
    expect(net.buffers()[1]).toBe((net.encoder.layers[1] as BatchNorm1d).runningMean);
    // children() is direct children only.
    expect(net.namedChildren().map(([n]) => n)).toEqual(['encoder', 'head']);
    expect(net.children()).toEqual([net.encoder, net.head]);
    expect(Object.keys(net.stateDict())).toEqual([
      ...net.namedParameters().map(([n]) => n),
      ...net.namedBuffers().map(([n]) => n),
    ]);
  });

  it('parameters are named after their registration name when unnamed', () => {
    const lin = new Linear(2, 2, { rng: new Rng(0) });
    expect(lin.weight.name).toBe('weight');
    expect(lin.bias!.name).toBe('bias');
  });

  it('registration rejects dotted, empty and duplicate names', () => {
    const net = new Net();
    expect(() => net.register('param', 'a.b')).toThrow(
      /invalid name "a\.b": expected a non-empty name without dots/,
    );
    expect(() => net.register('buffer', '')).toThrow(/invalid name ""/);
    expect(() => net.register('module', 'head')).toThrow(/the name "head" is already registered/);
    expect(() => net.register('param', 'steps')).toThrow(/the name "steps" is already registered/);
    expect(() => net.register('buffer', 'scale')).toThrow(/the name "scale" is already registered/);
  });
});

describe('Module: modes and gradients', () => {
  it('train() and eval() propagate to every descendant', () => {
    const net = new Net();
    const all = (): boolean[] => [net, net.encoder, ...net.encoder.layers, net.head].map((m) => m.training);
    expect(all().every(Boolean)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(all().some(Boolean)).toBe(false);
    net.train();
    expect(all().every(Boolean)).toBe(true);
    net.train(false);
    expect(all().some(Boolean)).toBe(false);
  });

  it('zeroGrad clears the gradient of every parameter, nested ones included', () => {
    const net = new Net();
    A.sum(net.forward(input(T.randn([4, 3], new Rng(2))))).backward();
    expect(net.parameters().every((p) => p.grad !== null)).toBe(true);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === null)).toBe(true);
  });
});

describe('Module: state dicts', () => {
  it('round trip: another instance loads the state and computes the same outputs', () => {
    const a = new Net(1);
    a.forward(input(T.randn([5, 3], new Rng(3)))); // move the running statistics off their defaults
    const b = new Net(2);
    expect(snapshot(b)).not.toEqual(snapshot(a));
    b.loadStateDict(a.stateDict());
    expect(snapshot(b)).toEqual(snapshot(a));
    a.eval();
    b.eval();
    const x = input(T.randn([2, 3], new Rng(4)));
    expect(arr(b.forward(x))).toEqual(arr(a.forward(x)));
  });

  it('stateDict returns copies, and loading keeps the parameter Vars (optimisers stay attached)', () => {
    const net = new Net();
    const sd = net.stateDict();
    expect(sd['head.weight']).not.toBe(net.head.weight.value);
    sd['head.weight']!.dispose();
    expect(arr(net.head.weight).length).toBe(8);
    const weightVar = net.head.weight;
    const other = new Net(5).stateDict();
    net.loadStateDict(other);
    expect(net.head.weight).toBe(weightVar);
    expect(arr(net.head.weight)).toEqual(arr(other['head.weight']!));
    // The loaded tensors are copies too.
    expect(net.head.weight.value).not.toBe(other['head.weight']);
    const opt = new Adam(net.parameters(), { lr: 0.1 });
    A.sum(net.forward(input(T.randn([3, 3], new Rng(6))))).backward();
    opt.step();
    expect(arr(net.head.weight)).not.toEqual(arr(other['head.weight']!));
  });

  it('strict: missing, unexpected and mismatched keys are all listed in one error, and nothing changes', () => {
    const net = new Net(1);
    net.forward(input(T.randn([5, 3], new Rng(3))));
    const before = snapshot(net);
    const bad: StateDict = new Net(2).stateDict();
    delete bad['head.bias']; // missing parameter
    delete bad['encoder.1.runningVar']; // missing buffer
    bad['head.extra'] = T.zeros([1]); // unexpected
    bad['encoder.0.weight'] = T.zeros([4, 3]); // transposed shape: [3,4] expected
    bad.scale = T.zeros([1], { dtype: 'float64' }); // dtype mismatch
    let message = '';
    try {
      net.loadStateDict(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^loadStateDict: /);
    expect(message).toContain('missing keys: head.bias, encoder.1.runningVar');
    expect(message).toContain('unexpected keys: head.extra');
    expect(message).toContain('encoder.0.weight (expected float32 [3,4], got float32 [4,3])');
    expect(message).toContain('scale (expected float32 [1], got float64 [1])');
    expect(message).toContain('Nothing was loaded.');
    expect(snapshot(net)).toEqual(before);
  });

  it('each kind of problem alone is reported', () => {
    const net = new LayerNorm(3);
    expect(() => net.loadStateDict({ weight: T.ones([3]) })).toThrow(
      /missing keys: bias\. Nothing was loaded/,
    );
    expect(() => net.loadStateDict({ ...net.stateDict(), gamma: T.ones([3]) })).toThrow(
      /unexpected keys: gamma\. Nothing/,
    );
    expect(() => net.loadStateDict({ weight: T.ones([2]), bias: T.zeros([3]) })).toThrow(
      /shape or dtype mismatches: weight \(expected float32 \[3\], got float32 \[2\]\)/,
    );
  });

  it('assignBuffer reports unknown children and buffers', () => {
    const net = new Net();
    expect(() => net.assignBuffer('decoder.runningMean', T.zeros([4]))).toThrow(
      /no child module for "decoder\.runningMean"/,
    );
    expect(() => net.assignBuffer('encoder.1.runningStd', T.zeros([4]))).toThrow(
      /no buffer named "runningStd"/,
    );
    net.assignBuffer('steps', T.ones([1]));
    expect(arr(net.stateDict().steps!)).toEqual([1]);
  });

  it('modules without parameters have an empty state dict', () => {
    expect(new Tanh().stateDict()).toEqual({});
    new Tanh().loadStateDict({});
  });
});
