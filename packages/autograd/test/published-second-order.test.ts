/**
 * Other libraries' published gradient tests, judged by PyTorch, to second order and in both
 * precisions (published-suites.test.ts is the float64, first-order list): micrograd's engine tests,
 * tinygrad's test_ops edge cases and tfjs-core's op gradient tests, for the ops chainrule has
 * (issue 23). fixtures/make_published_cases.py lists the cases (our own list of what each
 * source checks) and asks PyTorch 1.13 for the value, the gradient of sum(w·f(x)) (w = the
 * source's dy, or ones) and the second-order gradient d/dx sum(v·∂/∂x sum(w·f)), in float64
 * and in float32.
 *
 * Tolerances: float64 1e-9 relative plus 1e-14 absolute; float32 1e-5 relative plus 1e-6
 * absolute (PyTorch and chainrule round in different orders); NaN where PyTorch gives NaN and
 * the same infinities in both. Where every finite reference number of a tensor is an integer (relu's and sign's
 * gradients, clip's masks, max's tie shares of integer dy...), the match must be exact.
 * Where the source's own expectation differs from PyTorch's, the case's `note` says so;
 * PyTorch is the judge.
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';
import { moreOps, sanity } from './micrograd.ts';
import { agree, type Num, num, readFixture, type TJson } from './torchFixture.ts';

type Source = 'micrograd' | 'tinygrad' | 'tfjs';
type Precision = 'float64' | 'float32';

interface Expected {
  value: TJson;
  grads: (TJson | null)[];
  second: (TJson | null)[];
}

interface PublishedCase {
  source: Source;
  test: string;
  program: string;
  options: Record<string, unknown>;
  note: string | null;
  inputs: TJson[];
  weight: TJson;
  v: (TJson | null)[];
  float64: Expected;
  float32: Expected;
}

const fixture = readFixture<PublishedCase>(new URL('./fixtures/published-cases.json', import.meta.url));

/** An option of the case, typed by the program that reads it. */
const opt = <V>(c: PublishedCase, k: string): V => c.options[k] as V;
const n = (c: PublishedCase, k: string) => num(c.options[k] as Num);
const axesOf = (c: PublishedCase) => opt<number[] | null | undefined>(c, 'axes') ?? undefined;
const keep = (c: PublishedCase) => opt<boolean | undefined>(c, 'keepDims') ?? false;

/** The programs, chainrule's side of the table in make_published_cases.py. */
const PROGRAMS: Record<string, (c: PublishedCase, xs: Var[]) => Var> = {
  'micrograd.sanity': (_, [x]) => sanity(x!),
  'micrograd.moreOps': (_, [a, b]) => moreOps(a!, b!),
  tanh: (_, [x]) => A.tanh(x!),
  exp: (_, [x]) => A.exp(x!),
  log: (_, [x]) => A.log(x!),
  sqrt: (_, [x]) => A.sqrt(x!),
  rsqrt: (_, [x]) => A.rsqrt(x!),
  relu: (_, [x]) => A.relu(x!),
  abs: (_, [x]) => A.abs(x!),
  sign: (_, [x]) => A.sign(x!),
  sin: (_, [x]) => A.sin(x!),
  cos: (_, [x]) => A.cos(x!),
  sigmoid: (_, [x]) => A.sigmoid(x!),
  erf: (_, [x]) => A.erf(x!),
  softplus: (c, [x]) => A.softplus(x!, { beta: opt<number | undefined>(c, 'beta') }),
  gelu: (c, [x]) => A.gelu(x!, { approximate: opt<'none' | 'tanh' | undefined>(c, 'approximate') }),
  elu: (c, [x]) => A.elu(x!, opt<number | undefined>(c, 'alpha')),
  selu: (_, [x]) => A.selu(x!),
  silu: (_, [x]) => A.silu(x!),
  maximum: (_, [a, b]) => A.maximum(a!, b!),
  minimum: (_, [a, b]) => A.minimum(a!, b!),
  maximumConst: (c, [x]) => A.maximum(x!, n(c, 'c')),
  pow: (_, [a, b]) => A.pow(a!, b!),
  powConst: (c, [x]) => A.pow(x!, n(c, 'exponent')),
  constPow: (c, [x]) => A.pow(n(c, 'base'), x!),
  mulConst: (c, [x]) => A.mul(x!, n(c, 'c')),
  divConst: (c, [x]) => A.div(x!, n(c, 'c')),
  constDiv: (c, [x]) => A.div(n(c, 'c'), x!),
  sum: (c, [x]) => A.sum(x!, axesOf(c), keep(c)),
  mean: (c, [x]) => A.mean(x!, axesOf(c), keep(c)),
  variance: (c, [x]) => A.variance(x!, axesOf(c), false, opt<number>(c, 'correction')),
  max: (c, [x]) => {
    const m = A.max(x!, axesOf(c), keep(c));
    return c.options.scale === undefined ? m : A.mul(m, n(c, 'scale'));
  },
  min: (c, [x]) => A.min(x!, axesOf(c), keep(c)),
  softmax: (c, [x]) => A.softmax(x!, opt<number>(c, 'axis')),
  logSoftmax: (c, [x]) => A.logSoftmax(x!, opt<number>(c, 'axis')),
  logsumexp: (c, [x]) => A.logsumexp(x!, axesOf(c), keep(c)),
  matmul: (_, [a, b]) => A.matmul(a!, b!),
  pad: (c, [x]) => A.pad(x!, opt<[number, number][]>(c, 'paddings'), n(c, 'value')),
  clip: (c, [x]) => A.clip(x!, n(c, 'min'), n(c, 'max')),
  gather: (c, [x]) => A.gather(x!, opt<number[]>(c, 'indices'), opt<number>(c, 'axis')),
  maskLess: (_, [x]) => A.mul(x!, A.less(x!, 0)),
  maskNotEqual: (_, [x]) => A.mul(x!, A.notEqual(x!, 0)),
  stackMax: (_, [a, b]) => A.max(A.stack([a!, b!]), [0]),
  topo: (_, [x]) => A.mul(A.add(x!, x!), x!),
  slice: (c, [x]) => A.slice(x!, opt<number[]>(c, 'begin'), opt<number[]>(c, 'size')),
  concat: (c, xs) => A.concat(xs, opt<number>(c, 'axis')),
  broadcastTo: (c, [x]) => A.broadcastTo(x!, opt<number[]>(c, 'shape')),
};

const TOL: Record<Precision, { rtol: number; atol: number }> = {
  // The absolute part is for sums that cancel to 0, such as the gradient of sum(softmax(x)):
  // both libraries return rounding noise there (PyTorch 5e-17, chainrule 0 or 1e-16).
  float64: { rtol: 1e-9, atol: 1e-14 },
  float32: { rtol: 1e-5, atol: 1e-6 },
};

/** The first element where `got` and PyTorch disagree, or null (exact if the reference is integer-valued). */
function mismatch(what: string, got: ArrayLike<number>, want: TJson, p: Precision): string | null {
  if (got.length !== want.data.length) return `${what}: ${got.length} elements, PyTorch ${want.data.length}`;
  const ref = want.data.map(num);
  const exact = ref.every((r) => !Number.isFinite(r) || Number.isInteger(r));
  const { rtol, atol } = exact ? { rtol: 0, atol: 0 } : TOL[p];
  for (let i = 0; i < got.length; i++) {
    if (!agree(got[i]!, ref[i]!, rtol, atol)) return `${what}[${i}]: chainrule ${got[i]}, PyTorch ${ref[i]}`;
  }
  return null;
}

const toTensor = (t: TJson, dtype: Precision) => T.tensor(t.data.map(num), { shape: t.shape, dtype });

/** Value, first- and second-order gradients of one case in one precision; the first mismatch, or null. */
function runCase(c: PublishedCase, p: Precision): string | null {
  const want = c[p];
  const xs = c.inputs.map((t, i) => (want.grads[i] ? A.param(toTensor(t, p)) : A.constant(toTensor(t, p))));
  const y = PROGRAMS[c.program]!(c, xs);
  if (JSON.stringify(y.shape) !== JSON.stringify(want.value.shape))
    return `shape [${y.shape}], PyTorch [${want.value.shape}]`;
  const bad = mismatch('value', y.value.dataSync(), want.value, p);
  if (bad) return bad;
  const idx = xs.map((_, i) => i).filter((i) => want.grads[i]);
  if (idx.length === 0) return null;
  const wrt = idx.map((i) => xs[i]!);
  const loss = A.sum(A.mul(y, A.constant(toTensor(c.weight, p))));
  const gs = A.grad(loss, wrt, { allowUnused: true, createGraph: true });
  const zeros = (i: number) => new Float64Array(xs[i]!.size);
  for (const [k, i] of idx.entries()) {
    const g = gs[k];
    const m = mismatch(`grad[${i}]`, g ? g.value.dataSync() : zeros(i), want.grads[i]!, p);
    if (m) return m;
  }
  // Second order: d/dx sum(v·g), where PyTorch's own double backward is the reference.
  const terms = idx.flatMap((i, k) => {
    const g = gs[k];
    return g?.requiresGrad ? [A.sum(A.mul(g, A.constant(toTensor(c.v[i]!, p))))] : [];
  });
  const hs =
    terms.length === 0
      ? wrt.map(() => null)
      : A.grad(
          terms.reduce((s, t) => A.add(s, t)),
          wrt,
          { allowUnused: true },
        );
  for (const [k, i] of idx.entries()) {
    const h = hs[k];
    const m = mismatch(`second[${i}]`, h ? h.value.dataSync() : zeros(i), want.second[i]!, p);
    if (m) return m;
  }
  return null;
}

/**
 * Cases where chainrule does not agree with PyTorch, keyed by `${source}: ${test} (${precision})`,
 * each with the reason. They run as `it.fails`, so a fix makes the suite say so.
 */
const KNOWN: Record<string, string> = {};
const POW_LN0 =
  "second order only: PyTorch's double backward of pow's exponent gradient is NaN at base 0 " +
  '(the derivative of ln a meets 1/0 inside its where-masked branch); chainrule takes ln of ' +
  'where(a == 0 & b >= 0, 1, a), so its second derivative there is 0 (docs/autograd.md, Conventions)';
const VAR_FLOOR =
  "gradient only: with correction > n PyTorch's var_backward divides by n - correction " +
  '(negative, no floor) while its value divides by max(0, n - correction); chainrule ' +
  "differentiates its value's formula and gives NaN (docs/autograd.md, Degenerate inputs; " +
  "tinygrad itself checks this case forward-only, 'TODO: fix backward')";
for (const p of ['float64', 'float32']) {
  KNOWN[`tinygrad: test_pow_zero_tensor (0 ** 0.0) (${p})`] = POW_LN0;
  KNOWN[`tinygrad: test_pow_const (0.0 ** x) (${p})`] = POW_LN0;
  KNOWN[`tinygrad: test_var_one_in_axis axes [0, 3] correction 5 (${p})`] = VAR_FLOOR;
  KNOWN[`tinygrad: test_var_one_in_axis axes [0, 4] correction 5 (${p})`] = VAR_FLOOR;
}

const SOURCES: readonly Source[] = ['micrograd', 'tinygrad', 'tfjs'];

describe(`published gradient tests agree with PyTorch ${fixture.torch}`, () => {
  it('every case names a program this test has', () => {
    expect(fixture.cases.filter((c) => !PROGRAMS[c.program]).map((c) => c.program)).toEqual([]);
  });
  for (const source of SOURCES) {
    const rows = fixture.cases.filter((c) => c.source === source);
    describe(`${source} (${rows.length} cases)`, () => {
      it('has cases', () => expect(rows.length).toBeGreaterThan(0));
      for (const p of ['float64', 'float32'] as const) {
        for (const c of rows) {
          const name = `${source}: ${c.test} (${p})`;
          const title = c.note ? `${name} [${c.note}]` : name;
          const run = () => expect(runCase(c, p)).toBeNull();
          const reason = KNOWN[name];
          if (reason) it.fails(`${title} — known difference: ${reason}`, run);
          else it(title, run);
        }
      }
    });
  }
});
