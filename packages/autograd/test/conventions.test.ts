/**
 * The gradient conventions at kinks, ties and domain edges, each compared with PyTorch's
 * answer (torch 1.13, float64; the expected numbers were printed by PyTorch, see the comment
 * on each case). Documented in docs/autograd.md, "Conventions".
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';
import { assertGradcheck, assertGradgradcheck } from '../src/testing/index.ts';

const DTYPES = ['float64', 'float32'] as const;
const X = [-1.5, -0.25, 2, 0.75];
const arr = (x: Var | null): number[] => {
  if (x === null) throw new Error('expected a gradient, got null');
  return Array.from(x.value.dataSync());
};
/** Elementwise closeness that treats equal infinities as equal and fails on any NaN. */
function close(actual: number[], expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    const ok = a === e || Math.abs(a - e) <= tol * Math.max(1, Math.abs(e));
    expect(ok, `element ${i}: ${a} vs PyTorch's ${e}`).toBe(true);
  });
}
const tolOf = (dtype: string) => (dtype === 'float64' ? 1e-12 : 1e-6);

describe.each(DTYPES)('masks select the upstream gradient (%s)', (dtype) => {
  const param = () => A.param(T.tensor(X, { dtype }));
  // Each mask meets an infinite upstream gradient at the masked elements (d/dy of sqrt,
  // log, pow(·, 0.5) or reciprocal at y = 0). PyTorch gives 0 there; multiplying by the
  // mask would give inf·0 = NaN.
  const cases: [string, (x: Var) => Var, number[]][] = [
    // torch: x.relu().sqrt().sum()
    ['sqrt(relu(x))', (x) => A.sqrt(A.relu(x)), [0, 0, 0.35355339059327373, 0.5773502691896258]],
    // torch: x.relu().log().sum()
    ['log(relu(x))', (x) => A.log(A.relu(x)), [0, 0, 0.5, 1.3333333333333333]],
    // torch: x.relu().pow(0.5).sum()
    ['pow(relu(x), 0.5)', (x) => A.pow(A.relu(x), 0.5), [0, 0, 0.35355339059327373, 0.5773502691896258]],
    // torch: x.relu().reciprocal().sum()
    ['reciprocal(relu(x))', (x) => A.reciprocal(A.relu(x)), [0, 0, -0.25, -1.7777777777777777]],
    // torch: x.clamp(0, 1).sqrt().sum()
    ['sqrt(clip(x, 0, 1))', (x) => A.sqrt(A.clip(x, 0, 1)), [0, 0, 0, 0.5773502691896258]],
    // torch: torch.maximum(x, zeros).sqrt().sum()
    ['sqrt(maximum(x, 0))', (x) => A.sqrt(A.maximum(x, 0)), [0, 0, 0.35355339059327373, 0.5773502691896258]],
    // torch: torch.minimum(-x, zeros).neg().sqrt().sum()
    [
      'sqrt(-minimum(-x, 0))',
      (x) => A.sqrt(A.neg(A.minimum(A.neg(x), 0))),
      [0, 0, 0.35355339059327373, 0.5773502691896258],
    ],
    // torch: x.relu().pow(-1.5).sum()  (grad of x)
    ['pow(relu(x), -1.5)', (x) => A.pow(A.relu(x), -1.5), [0, 0, -0.26516504294495535, -3.0792014356780038]],
    // torch: x.relu().pow(0).sum(): d/da a⁰ is 0, also at a = 0
    ['pow(relu(x), 0)', (x) => A.pow(A.relu(x), 0), [0, 0, 0, 0]],
  ];
  it.each(cases)('grad(sum(%s), x) is PyTorch’s', (_, f, expected) => {
    const x = param();
    close(arr(A.grad(A.sum(f(x)), x)), expected, tolOf(dtype));
  });

  it('the relu of fusedDense selects too', () => {
    // torch: torch.relu(x @ w).sqrt().sum(), grads of x and w
    const x = A.param(
      T.tensor(
        [
          [1, 2],
          [-1, 0.5],
        ],
        { dtype },
      ),
    );
    const w = A.param(
      T.tensor(
        [
          [1, -1],
          [0.5, 1],
        ],
        { dtype },
      ),
    );
    const [gx, gw] = A.grad(A.sum(A.sqrt(A.dense(x, w, undefined, 'relu'))), [x, w]);
    close(
      arr(gx!),
      [-0.14644660940672627, 0.6767766952966369, -0.4082482904638631, 0.4082482904638631],
      tolOf(dtype),
    );
    close(
      arr(gw!),
      [0.35355339059327373, 0.09175170953613693, 0.7071067811865475, 1.2041241452319316],
      tolOf(dtype),
    );
  });
});

describe('the exponent’s gradient of pow at base 0', () => {
  it('is 0 where a = 0 and b ≥ 0 (PyTorch’s pow_backward_exponent), not 0·(−∞) = NaN', () => {
    for (const dtype of DTYPES) {
      const x = A.param(T.tensor(X, { dtype }));
      const b = A.param(T.scalar(1.5, dtype));
      const [gx, gb] = A.grad(A.sum(A.pow(A.relu(x), b)), [x, b]);
      // torch: x.relu().pow(b).sum() with b = 1.5
      close(arr(gx!), [0, 0, 2.121320343559643, 1.299038105676658], tolOf(dtype));
      close(arr(gb!), [1.7736612997196461], tolOf(dtype));
    }
  });

  it('b = 0 gives Σ ln a over a ≠ 0; b < 0 keeps PyTorch’s −∞', () => {
    const x = A.param(T.tensor(X, { dtype: 'float64' }));
    const b0 = A.param(T.scalar(0, 'float64'));
    close(arr(A.grad(A.sum(A.pow(A.relu(x), b0)), b0)), [0.4054651081081644], 1e-12);
    const bNeg = A.param(T.scalar(-1.5, 'float64'));
    expect(arr(A.grad(A.sum(A.pow(A.relu(x), bNeg)), bNeg))).toEqual([-Infinity]);
  });

  it('second order stays finite at a = 0 (ln never sees the masked zeros)', () => {
    const a = T.tensor([0, 0.5, 2], { dtype: 'float64' });
    const b = T.tensor([1.5, 2.5, 3], { dtype: 'float64' });
    const av = A.param(a);
    const bv = A.param(b);
    const [, dB] = A.grad(A.sum(A.pow(av, bv)), [av, bv], { createGraph: true });
    const [dBdA] = A.grad(A.sum(dB!), [av]);
    expect(arr(dBdA!).every(Number.isFinite)).toBe(true);
    // Away from 0 the rule passes the usual checks (the 0 itself is a kink for a^b in a).
    assertGradgradcheck(
      (p, q) => A.pow(p!, q!),
      [T.tensor([0.5, 2], { dtype: 'float64' }), T.tensor([2.5, 3], { dtype: 'float64' })],
    );
  });
});

describe('ties', () => {
  it('maximum/minimum split a tie 0.5/0.5 (PyTorch’s convention)', () => {
    const a = A.param(T.tensor([1, 2], { dtype: 'float64' }));
    const b = A.param(T.tensor([1, 3], { dtype: 'float64' }));
    // torch: torch.maximum(a, b).sum() → [0.5, 0], [0.5, 1]; minimum → [0.5, 1], [0.5, 0]
    const [ga, gb] = A.grad(A.sum(A.maximum(a, b)), [a, b]);
    expect([arr(ga!), arr(gb!)]).toEqual([
      [0.5, 0],
      [0.5, 1],
    ]);
    const [ma, mb] = A.grad(A.sum(A.minimum(a, b)), [a, b]);
    expect([arr(ma!), arr(mb!)]).toEqual([
      [0.5, 1],
      [0.5, 0],
    ]);
  });

  it('a broadcast tie splits too, and the halves sum back to the broadcast input', () => {
    const a = A.param(T.tensor([[1, 2, 3]], { dtype: 'float64' }));
    const b = A.param(T.scalar(2, 'float64'));
    const [ga, gb] = A.grad(A.sum(A.maximum(a, b)), [a, b]);
    expect(arr(ga!)).toEqual([0, 0.5, 1]);
    expect(arr(gb!)).toEqual([1.5]);
  });

  it('max/min reductions keep sharing the gradient equally among tied elements', () => {
    const x = A.param(T.tensor([1, 3, 3], { dtype: 'float64' }));
    expect(arr(A.grad(A.max(x), x))).toEqual([0, 0.5, 0.5]);
    const y = A.param(T.tensor([2, 2, 2, 5], { dtype: 'float64' }));
    close(arr(A.grad(A.min(y), y)), [1 / 3, 1 / 3, 1 / 3, 0], 1e-15);
  });

  it('leakyRelu has the negative slope at 0 (PyTorch’s leaky_relu)', () => {
    const x = A.param(T.tensor([-1, 0, 1], { dtype: 'float64' }));
    // torch: F.leaky_relu(x, 0.2).sum() → [0.2, 0.2, 1]
    expect(arr(A.grad(A.sum(A.leakyRelu(x, 0.2)), x))).toEqual([0.2, 0.2, 1]);
    expect(arr(A.leakyRelu(x, 0.2))).toEqual([-0.2, 0, 1]);
  });

  it('leakyRelu passes gradcheck and gradgradcheck away from 0', () => {
    const x = T.tensor([-1.3, -0.2, 0.4, 2.1], { dtype: 'float64' });
    assertGradcheck((v) => A.leakyRelu(v!, 0.1), [x]);
    assertGradgradcheck((v) => A.leakyRelu(v!, 0.1), [x]);
  });
});
