/**
 * Reading the PyTorch fixtures (JSON written by fixtures/make_torch_reference.py and its
 * kin): tensors as `{ shape, data }` with `'inf'`, `'-inf'` and `'nan'` spelled out, and the
 * comparison every fixture test uses. Shared by the op, loss and published-suite tests.
 */
import { readFileSync } from 'node:fs';
import * as T from '@chainrule/tensor';

/** A number as JSON can carry it. */
export type Num = number | 'inf' | '-inf' | 'nan';

/** A tensor in a fixture. */
export interface TJson {
  shape: number[];
  data: Num[];
}

/** One case: an op with options, its inputs, the weights w of sum(w·f(x)), f's value and the gradients. */
export interface Case {
  op: string;
  options: Record<string, unknown>;
  inputs: TJson[];
  weight: TJson;
  value: TJson;
  grads: (TJson | null)[];
}

/** Read a fixture file next to the test that asks for it (`new URL('./fixtures/x.json', import.meta.url)`). */
export function readFixture<C = Case>(url: URL): { torch: string; cases: C[] } {
  return JSON.parse(readFileSync(url, 'utf8')) as { torch: string; cases: C[] };
}

/** The number a {@link Num} stands for. */
export const num = (v: Num): number =>
  v === 'inf'
    ? Number.POSITIVE_INFINITY
    : v === '-inf'
      ? Number.NEGATIVE_INFINITY
      : v === 'nan'
        ? Number.NaN
        : v;

/** A fixture tensor as a float64 tensor. */
export const toTensor = (t: TJson): T.Tensor =>
  T.tensor(t.data.map(num), { shape: t.shape, dtype: 'float64' });

/** a and b agree: both NaN, equal (infinities included), or within `atol` + `rtol` relative. */
export function agree(a: number, b: number, rtol = 1e-9, atol = 0): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= atol + rtol * Math.max(Math.abs(a), Math.abs(b));
}

/** The first element where `got` and the reference disagree (as {@link agree} says), or null. */
export function firstMismatch(
  what: string,
  got: ArrayLike<number>,
  want: TJson,
  rtol = 1e-9,
  atol = 0,
): string | null {
  if (got.length !== want.data.length) return `${what}: ${got.length} elements, PyTorch ${want.data.length}`;
  for (let i = 0; i < got.length; i++) {
    const w = num(want.data[i]!);
    if (!agree(got[i]!, w, rtol, atol)) return `${what}[${i}]: chainrule ${got[i]}, PyTorch ${w}`;
  }
  return null;
}
