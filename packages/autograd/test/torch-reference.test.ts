/**
 * The new ops against PyTorch (float64): values, and the gradient of a weighted sum
 * sum(w·f(x)), at random inputs and at extreme and special ones (±50, ±1e4, signed zeros,
 * ±∞, ties), agree to 1e-9 relative; NaN where PyTorch gives NaN, the same infinities.
 * The fixture is made by fixtures/make_torch_reference.py (PyTorch 1.13, Debian's
 * python3-torch), so this test needs no Python.
 */
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';
import { type Case, firstMismatch, num, readFixture, type TJson, toTensor } from './torchFixture.ts';

const fixture = readFixture(new URL('./fixtures/torch-reference.json', import.meta.url));

const opt = <K extends string>(c: Case, k: K) => c.options[k] as never;

const OPS: Record<string, (c: Case, xs: Var[]) => Var> = {
  sin: (_, [x]) => A.sin(x!),
  cos: (_, [x]) => A.cos(x!),
  log1p: (_, [x]) => A.log1p(x!),
  expm1: (_, [x]) => A.expm1(x!),
  erf: (_, [x]) => A.erf(x!),
  rsqrt: (_, [x]) => A.rsqrt(x!),
  softplus: (c, [x]) => A.softplus(x!, { beta: opt(c, 'beta'), threshold: opt(c, 'threshold') }),
  elu: (c, [x]) => A.elu(x!, opt(c, 'alpha')),
  selu: (_, [x]) => A.selu(x!),
  gelu: (c, [x]) => A.gelu(x!, { approximate: opt(c, 'approximate') }),
  silu: (_, [x]) => A.silu(x!),
  atan2: (_, [y, x]) => A.atan2(y!, x!),
  softmax: (c, [x]) => A.softmax(x!, opt(c, 'axis')),
  logSoftmax: (c, [x]) => A.logSoftmax(x!, opt(c, 'axis')),
  logsumexp: (c, [x]) => A.logsumexp(x!, opt(c, 'axes'), opt(c, 'keepDims')),
};

/** Run one case: value and gradients of sum(w·f(x)); the first mismatch, or null. */
export function runCase(
  c: Case,
  f: (xs: Var[]) => Var,
  value: TJson = c.value,
  grads: readonly (TJson | null)[] = c.grads,
): string | null {
  const xs = c.inputs.map((t, i) => (c.grads[i] ? A.param(toTensor(t)) : A.constant(toTensor(t))));
  const y = f(xs);
  const bad = firstMismatch('value', y.value.dataSync(), value);
  if (bad) return bad;
  if (JSON.stringify(y.shape) !== JSON.stringify(c.value.shape))
    return `shape ${y.shape} vs ${c.value.shape}`;
  const wrt = xs.filter((_, i) => c.grads[i]);
  const gs = A.grad(A.sum(A.mul(y, A.constant(toTensor(c.weight)))), wrt, { allowUnused: true });
  let k = 0;
  for (let i = 0; i < xs.length; i++) {
    const want = grads[i];
    if (!want) continue;
    const g = gs[k++];
    const got = g ? g.value.dataSync() : new Float64Array(xs[i]!.size);
    const m = firstMismatch(`grad[${i}]`, got, want);
    if (m) return m;
  }
  return null;
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/**
 * The one place chainrule is deliberately more accurate than PyTorch 1.13: its elu (and
 * selu) compute α(eˣ − 1) with exp, which cancels for small |x| (at x = −1e−10 PyTorch gives
 * −1.0000000827e−10, 8e−8 relative off), where chainrule uses expm1. For −1e−6 < x < 0 the
 * expected value is the exact α·expm1(x) (Math.expm1); everywhere else PyTorch's.
 */
function referenceValue(c: Case): TJson {
  if (c.op !== 'elu' && c.op !== 'selu') return c.value;
  const [scale, alpha] = c.op === 'selu' ? [SELU_SCALE, SELU_ALPHA] : [1, (c.options.alpha as number) ?? 1];
  const x = c.inputs[0]!.data.map(num);
  return {
    shape: c.value.shape,
    data: c.value.data.map((v, i) => (x[i]! < 0 && x[i]! > -1e-6 ? scale * alpha * Math.expm1(x[i]!) : v)),
  };
}

/**
 * And expm1's gradient: PyTorch 1.13 computes it as (y + 1)·g, which rounds to 0·g below
 * x ≈ −37 and loses digits well before (at x = −50 it gives 0 for e⁻⁵⁰·w ≈ 2e−22·w);
 * chainrule's rule uses exp(x). For x < −1 the expected gradient is the exact w·eˣ.
 */
function referenceGrads(c: Case): (TJson | null)[] {
  if (c.op !== 'expm1') return c.grads;
  const x = c.inputs[0]!.data.map(num);
  const w = c.weight.data.map(num);
  const g = c.grads[0]!;
  return [{ shape: g.shape, data: g.data.map((v, i) => (x[i]! < -1 ? w[i]! * Math.exp(x[i]!) : v)) }];
}

describe(`the new ops agree with PyTorch ${fixture.torch} to 1e-9 relative (float64)`, () => {
  it('the fixture covers every new op', () => {
    expect(new Set(fixture.cases.map((c) => c.op))).toEqual(new Set(Object.keys(OPS)));
  });
  it.each(fixture.cases.map((c, i) => [`${c.op} ${JSON.stringify(c.options)} #${i}`, c] as const))(
    '%s',
    (_, c) => {
      expect(runCase(c, (xs) => OPS[c.op]!(c, xs), referenceValue(c), referenceGrads(c))).toBeNull();
    },
  );
});
