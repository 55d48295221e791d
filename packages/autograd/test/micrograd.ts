/**
 * micrograd's two engine-test expressions (test_engine.py), op for op, for the published
 * suites (published-suites.test.ts and published-second-order.test.ts).
 * @module
 */
import type { Var } from '../src/index.ts';
import * as A from '../src/index.ts';

/** micrograd's test_sanity_check expression. */
export function sanity(x: Var): Var {
  const z = A.add(A.add(A.mul(2, x), 2), x);
  const q = A.add(A.relu(z), A.mul(z, x));
  const h = A.relu(A.mul(z, z));
  return A.add(A.add(h, q), A.mul(q, x));
}

/** micrograd's test_more_ops expression. */
export function moreOps(a: Var, b: Var): Var {
  let c = A.add(a, b);
  let d = A.add(A.mul(a, b), A.pow(b, 3));
  c = A.add(A.add(c, c), 1);
  c = A.add(A.add(A.add(c, 1), c), A.neg(a));
  d = A.add(A.add(d, A.mul(d, 2)), A.relu(A.add(b, a)));
  d = A.add(A.add(d, A.mul(3, d)), A.relu(A.sub(b, a)));
  const e = A.sub(c, d);
  const f = A.pow(e, 2);
  return A.add(A.div(f, 2), A.div(10, f));
}
