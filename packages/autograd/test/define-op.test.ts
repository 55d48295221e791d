/**
 * defineOp: ops added from outside get first and higher derivatives, the engine's one
 * un-broadcast, pictures, traces, anomaly mode, per-backend kernels, and clear errors for
 * malformed definitions and wrong rules.
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import * as A from '../src/index.ts';
import { GRAD_RULES, PRIMITIVES, type Var } from '../src/index.ts';

const f64 = (v: T.NestedArray) => A.param(v, { dtype: 'float64' });
const data = (v: Var | T.Tensor) => Array.from((v instanceof A.Var ? v.value : v).dataSync());
const sigma = (x: number) => 1 / (1 + Math.exp(-x));

const softplusForward = ([x]: readonly T.Tensor[]) =>
  T.add(T.relu(x!), T.log(T.add(T.exp(T.neg(T.abs(x!))), 1)));

let jsKernelCalls = 0;
const softplus = A.defineOp({
  name: 'test.softplus',
  forward: softplusForward,
  kernels: {
    js: ({ inputs, outputs }) => {
      jsKernelCalls++;
      const x = T.jsData(inputs[0]!);
      const y = T.jsData(outputs[0]!);
      for (let i = 0; i < x.length; i++) y[i] = Math.max(x[i]!, 0) + Math.log1p(Math.exp(-Math.abs(x[i]!)));
    },
  },
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(x!))],
});

/** log(eᵃ + eᵇ), binary with broadcasting; the rule returns gradients of the output's shape. */
const logaddexp = A.defineOp({
  name: 'test.logaddexp',
  arity: 2,
  forward: ([a, b]) => T.log(T.add(T.exp(a!), T.exp(b!))),
  vjp: (g, { inputs: [a, b], output: y, needs }) => [
    needs[0] ? A.mul(g, A.exp(A.sub(a!, y))) : null,
    needs[1] ? A.mul(g, A.exp(A.sub(b!, y))) : null,
  ],
});

/** x·scale, with the scale as an attribute. */
const scaled = A.defineOp({
  name: 'test.scaled',
  attrs: { scale: 2 },
  forward: ([x], { scale }) => T.mul(x!, scale),
  vjp: (g, { attrs }) => [A.mul(g, attrs.scale)],
});

describe('defineOp: values and derivatives', () => {
  it('computes the forward and first, second and third derivatives through its rule', () => {
    const xs = [-2, -0.5, 0, 1.5];
    const x = f64(xs);
    const y = softplus(x);
    expect(y.node!.op).toBe('test.softplus');
    expect(data(y).map((v, i) => v - Math.log1p(Math.exp(xs[i]!)))).toEqual(
      xs.map(() => expect.closeTo(0, 14)),
    );
    const d1 = A.grad(A.sum(y), x, { createGraph: true });
    const d2 = A.grad(A.sum(d1), x, { createGraph: true });
    const d3 = A.grad(A.sum(d2), x);
    xs.forEach((v, i) => {
      const s = sigma(v);
      expect(data(d1)[i]).toBeCloseTo(s, 14);
      expect(data(d2)[i]).toBeCloseTo(s * (1 - s), 14);
      expect(data(d3)[i]).toBeCloseTo(s * (1 - s) * (1 - 2 * s), 14);
    });
  });

  it('takes numbers as constants of the other inputs’ dtype', () => {
    const b = f64([0, 1]);
    const y = logaddexp(0.5, b);
    expect(y.dtype).toBe('float64');
    expect(y.node!.inputs![0]!.requiresGrad).toBe(false);
    const g = A.grad(A.sum(y), b);
    expect(data(g)[0]).toBeCloseTo(Math.exp(0) / (Math.exp(0.5) + Math.exp(0)), 14);
  });

  it('records its attributes; withAttrs overrides them per call', () => {
    const x = f64([1, 2]);
    expect(data(scaled(x))).toEqual([2, 4]);
    const y = scaled.withAttrs({ scale: -3 })(x);
    expect(data(y)).toEqual([-3, -6]);
    expect(y.node!.attrs).toEqual({ scale: -3 });
    expect(data(A.grad(A.sum(y), x))).toEqual([-3, -3]);
    expect(scaled.opName).toBe('test.scaled');
    expect(scaled.arity).toBe(1);
    expect(scaled.name).toBe('test.scaled');
  });

  it('records nothing under noGrad or when no input requires a gradient', () => {
    expect(A.noGrad(() => softplus(f64([1]))).node).toBeNull();
    expect(softplus(A.input([1], { dtype: 'float64' })).requiresGrad).toBe(false);
  });
});

describe('defineOp: broadcasting goes through the engine’s one un-broadcast', () => {
  it('sums the rule’s output-shaped gradients back to each input, and the trace shows it', () => {
    const a = f64([
      [0.1, -0.2, 0.3],
      [1, 0, -1],
    ]); // [2,3]
    const b = f64([[0.5], [-0.5]]); // [2,1]
    const { steps } = A.traceBackward(() => A.sum(logaddexp(a, b)).backward());
    const step = steps.find((s) => s.op === 'test.logaddexp')!;
    expect(step.ruleShapes).toEqual([
      [2, 3],
      [2, 3],
    ]);
    expect(step.unbroadcasts).toEqual([{ input: 1, from: [2, 3], to: [2, 1], axes: [1] }]);
    // The same gradient from built-in ops.
    const a2 = f64(a.toArray());
    const b2 = f64(b.toArray());
    A.sum(A.log(A.add(A.exp(a2), A.exp(b2)))).backward();
    expect(data(a.grad!)).toEqual(data(a2.grad!).map((v) => expect.closeTo(v, 14)));
    expect(data(b.grad!)).toEqual(data(b2.grad!).map((v) => expect.closeTo(v, 14)));
    expect(b.grad!.shape).toEqual([2, 1]);
  });
});

describe('defineOp: study tools and anomaly mode', () => {
  it('appears under its name in toMermaid, toDot and formatTrace', () => {
    const x = A.param([0.5, -1], { dtype: 'float64', name: 'x' });
    const loss = A.sum(softplus(x));
    expect(A.toMermaid(loss)).toMatch(/test\.softplus #\d+<br\/>shape \[2\] float64/);
    expect(A.toDot(loss)).toMatch(/test\.softplus #\d+\\nshape \[2\] float64/);
    const { steps } = A.traceBackward(() => loss.backward());
    expect(A.formatTrace(steps)).toMatch(
      /2\. test\.softplus \(node #\d+ → Var#\d+\): g \[2\]; inputs \[2\]; rule gives \[2\]/,
    );
  });

  it('names the op and the forward call site when its forward makes a NaN or Infinity', () => {
    const naive = A.defineOp({
      name: 'test.naiveSoftplus',
      forward: ([x]) => T.log(T.add(T.exp(x!), 1)), // e^1000 overflows
      vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(x!))],
    });
    const run = () => A.detectAnomaly(() => naive(f64([1, 1000])));
    expect(run).toThrow(
      /^test\.naiveSoftplus: anomaly: the forward pass produced NaN or Infinity from finite inputs/,
    );
    expect(run).toThrow(/Forward call site:\n.*define-op\.test\.ts/);
  });

  it('names the op when its rule makes a NaN or Infinity in backward', () => {
    const root = A.defineOp({
      name: 'test.sqrt',
      forward: ([x]) => T.sqrt(x!),
      vjp: (g, { output: y }) => [A.div(g, A.mul(y, 2))], // Infinity at 0
    });
    expect(() => A.detectAnomaly(() => A.sum(root(f64([0, 4]))).backward())).toThrow(
      /^test\.sqrt: anomaly: the backward pass produced NaN or Infinity in the gradient of input 0 \(node #\d+\)\nForward call site:/,
    );
  });
});

describe('defineOp: kernels per backend', () => {
  it('runs the registered kernel on its backend and forward elsewhere, with equal results', () => {
    const xs = [-3, -0.25, 0, 0.25, 3];
    const before = jsKernelCalls;
    const onJs = T.withBackend('js', () => softplus(A.input(xs)));
    expect(jsKernelCalls).toBe(before + 1);
    const onWasm = T.withBackend('wasm', () => softplus(A.input(xs)));
    expect(jsKernelCalls).toBe(before + 1);
    expect(T.getKernel('test.softplus', 'js')).toBeDefined();
    expect(data(onJs)).toEqual(data(onWasm).map((v) => expect.closeTo(v, 6)));
  });
});

describe('defineOp: errors', () => {
  const ok = { forward: ([x]: readonly T.Tensor[]) => T.neg(x!), vjp: (g: Var) => [A.neg(g)] };

  it('rejects a name that is taken: a primitive, a kernel, or an op defined before', () => {
    expect(() => A.defineOp({ name: 'exp', ...ok })).toThrow(
      'defineOp: "exp" is a built-in op of @chainrule/autograd; pick another name',
    );
    expect(() => A.defineOp({ name: 'lerp', ...ok })).toThrow(
      'defineOp: "lerp" is a built-in kernel of @chainrule/tensor; pick another name',
    );
    expect(() => A.defineOp({ name: 'test.softplus', ...ok })).toThrow(
      'defineOp: an op named "test.softplus" is already defined differently; pick another name, or pass { replace: true } to replace it',
    );
    expect(A.customOpNames()).toContain('test.softplus');
  });

  it('rejects malformed definitions', () => {
    expect(() => A.defineOp({ name: 'has space', ...ok })).toThrow(/name must be an identifier-like string/);
    expect(() => A.defineOp({ name: 'test.arity0', arity: 0, ...ok })).toThrow(
      'defineOp: test.arity0: arity must be a positive integer, got 0',
    );
    expect(() => A.defineOp({ name: 'test.novjp', forward: ok.forward } as never)).toThrow(
      'defineOp: test.novjp: vjp must be a function, got undefined',
    );
  });

  it('checks the number of inputs at each call', () => {
    expect(() => logaddexp(f64([1]))).toThrow('test.logaddexp: expected 2 input(s), got 1');
    expect(() => logaddexp(1, 2)).toThrow(
      'test.logaddexp: expected at least one input to be a Var, got only numbers',
    );
  });

  it('names the op, the input and the shapes when a rule returns the wrong shape', () => {
    const bad = A.defineOp({ name: 'test.badShape', ...ok, vjp: (g) => [A.sum(g, 0)] });
    const x = f64([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => A.sum(bad(x)).backward()).toThrow(
      /^test\.badShape: the gradient rule \(node #\d+\) returned a gradient of shape \[3\] for input 0 of shape \[2,3\]; expected \[2,3\] or a shape that \[2,3\] broadcasts to$/,
    );
  });

  it('names the op when a rule returns the wrong number of gradients', () => {
    const bad = A.defineOp({ name: 'test.badCount', ...ok, vjp: (g) => [g, g] });
    expect(() => A.sum(bad(f64([1, 2]))).backward()).toThrow(
      /^test\.badCount: the gradient rule \(node #\d+\) returned 2 gradient\(s\) for 1 input\(s\); expected one per input, null where there is none$/,
    );
    const none = A.defineOp({ name: 'test.badNone', arity: 2, ...ok, vjp: (g) => [g] });
    expect(() => A.sum(none(f64([1]), f64([2]))).backward()).toThrow(
      /returned 1 gradient\(s\) for 2 input\(s\)/,
    );
  });

  it('names the op when a rule returns a Tensor or the wrong dtype', () => {
    const tensorRule = A.defineOp({ name: 'test.tensorRule', ...ok, vjp: (g) => [T.neg(g.value) as never] });
    expect(() => A.sum(tensorRule(f64([1]))).backward()).toThrow(
      /^test\.tensorRule: the gradient rule \(node #\d+\) returned a Tensor for input 0; expected a Var computed with the differentiable ops/,
    );
    const dtypeRule = A.defineOp({ name: 'test.dtypeRule', ...ok, vjp: (g) => [A.cast(g, 'float32')] });
    expect(() => A.sum(dtypeRule(f64([1]))).backward()).toThrow(
      /^test\.dtypeRule: the gradient rule \(node #\d+\) returned a float32 gradient for input 0, which is float64; expected float64$/,
    );
  });

  it('says when forward does not return a Tensor', () => {
    const bad = A.defineOp({ name: 'test.badForward', ...ok, forward: () => 3 as never });
    expect(() => bad(f64([1]))).toThrow('test.badForward: forward must return a Tensor, got number');
  });
});

describe('the gradient table is typed by primitive', () => {
  it('has exactly one rule per primitive', () => {
    expect(Object.keys(GRAD_RULES).sort()).toEqual([...PRIMITIVES].sort());
  });

  it('does not compile without a primitive’s rule', () => {
    const { neg: _omitted, ...withoutNeg } = GRAD_RULES;
    // @ts-expect-error: "neg" is missing, and the table's type lists every primitive.
    const incomplete: typeof GRAD_RULES = withoutNeg;
    expect(Object.keys(incomplete)).not.toContain('neg');
  });

  it('every op the built-ins record is a primitive', () => {
    const x = f64([
      [1, 2],
      [3, 4],
    ]);
    const y = A.sum(
      A.concat(
        [
          A.slice(
            A.pad(A.transpose(A.matmul(x, x)), [
              [0, 1],
              [0, 0],
            ]),
            [0, 0],
            [2, 2],
          ),
          A.gather(x, [1, 0]),
        ],
        0,
      ),
    );
    const seen = new Set<string>();
    const stack: Var[] = [y];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (v.node) {
        seen.add(v.node.op);
        stack.push(...v.node.inputs!);
      }
    }
    expect(seen.size).toBeGreaterThan(5);
    for (const op of seen) expect(A.isPrimitive(op)).toBe(true);
  });
});
