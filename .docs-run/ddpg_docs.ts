import * as T from '@chainrule/tensor';
import * as A from '@chainrule/autograd';
import * as nn from '@chainrule/nn';
{
console.log("@@chainrule-docs-block@@3");
// --- block at line 69
const s = A.variable(obs);
const a = actor.forward(s); // a = μθ(s), a non-leaf Var
const q = critic.forward(s, a);
if (mode === 'chain') {
  // 1. ∇a Q(s, a) at a = μ(s). The walk stops at a: the actor's graph is left intact.
  const dQda = grad(A.sum(q), [a])[0]!;
  // 2. The vector-Jacobian product of μ with the seed −dQ/da / N: the chain rule, by hand.
  grads = grad(a, params, { gradOutputs: A.div(A.neg(dQda), n) });
} else {
  grads = grad(A.neg(A.mean(q)), params);
}
}
console.log("@@chainrule-docs-block@@end");
