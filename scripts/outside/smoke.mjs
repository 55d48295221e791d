// The outside-the-workspace smoke test: plain JavaScript that uses the packages exactly as a
// user's project does, through their published entry points. node.mjs runs it in Node,
// browser.mjs in Chromium (bundled by esbuild); both must print the same lines.
import * as A from '@chainrule/autograd';
import {
  arbBroadcastableShapes,
  arbTensor,
  checkOp,
  gradcheck,
  gradgradcheck,
} from '@chainrule/autograd/testing';
import { makeEnv } from '@chainrule/ddpg';
import { Adam, Linear, mseLoss, Sequential, Tanh } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import fc from 'fast-check';

export const SEED = 7;

// A user-defined op: softplus(x) = max(x, 0) + log(1 + exp(-|x|)), its forward written with
// tensor ops and its vector-Jacobian rule g·sigmoid(x) with differentiable ops, so that second
// derivatives work too.
const softplusForward = ([x]) => T.add(T.relu(x), T.log(T.add(T.exp(T.neg(T.abs(x))), 1)));
export const softplus = A.defineOp({
  name: 'softplus',
  forward: softplusForward,
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(x))],
});
// The same op with a sign slip in its rule, which checkOp must catch.
const softplusWrong = A.defineOp({
  name: 'softplusWrong',
  forward: softplusForward,
  vjp: (g, { inputs: [x] }) => [A.mul(g, A.sigmoid(A.neg(x)))],
});

const values = (t) => Array.from(t.dataSync());

/**
 * Runs every step and reports each result through `print(label, value)`.
 * `roundTrip(stateDict)` saves a state dict as safetensors and loads it back (files in
 * Node, bytes in the browser) and resolves to the loaded tensors.
 */
export async function smoke({ print, roundTrip }) {
  T.setBackend('wasm');
  print('backend', T.getBackendInfo().name);

  // 1. A gradient and a second derivative of the user's function.
  const x = A.param(T.tensor([-2, -0.5, 0, 0.5, 2]));
  const y = A.sum(softplus(x));
  const [dx] = A.grad(y, [x], { createGraph: true });
  const [d2x] = A.grad(A.sum(dx), [x]);
  print('softplus', values(y.value));
  print('d/dx', values(dx.value));
  print('d2/dx2', values(d2x.value));

  // 2. The op's rule, property-checked: checkOp draws shapes and values with fast-check
  // (first and second order), and shrinks a failure to a minimal case.
  const ok = checkOp(softplus, { seed: SEED, numRuns: 20 });
  if (!ok.ok) throw new Error(ok.message);
  print('checkOp softplus', `${ok.numRuns} cases passed`);
  const wrong = checkOp(softplusWrong, { seed: SEED, numRuns: 20 });
  if (wrong.ok) throw new Error('checkOp missed the wrong rule of softplusWrong');
  print('checkOp softplusWrong', {
    failed: wrong.failure.check,
    shapes: wrong.counterexample.shapes,
    inputs: wrong.counterexample.inputs.map(values),
  });
  // gradcheck and gradgradcheck (float64 central differences) of a two-input function using
  // the op, over random broadcastable shapes and values drawn by the fast-check arbitraries.
  const pairs = arbBroadcastableShapes(2, { maxRank: 3, maxDim: 3 }).chain(([sa, sb]) =>
    fc.tuple(arbTensor(sa), arbTensor(sb)),
  );
  const f = (a, b) => A.sum(A.mul(softplus(a), b));
  const checked = fc.check(
    fc.property(pairs, ([a, b]) => gradcheck(f, [a, b]).ok && gradgradcheck(f, [a, b]).ok),
    { seed: SEED, numRuns: 20 },
  );
  if (checked.failed) throw new Error(`gradcheck property failed: ${JSON.stringify(checked.counterexample)}`);
  print('gradcheck property', `${checked.numRuns} runs passed (seed ${SEED})`);

  // 3. A small Linear + Adam model fitting y = sin(x1) + x2 / 2, each step inside tidy.
  const rng = new T.Rng(SEED);
  const net = new Sequential(new Linear(2, 16, { rng }), new Tanh(), new Linear(16, 1, { rng }));
  const opt = new Adam(net.parameters(), { lr: 0.02 });
  const xs = T.uniform([64, 2], -2, 2, rng);
  const xv = values(xs);
  const target = T.tensor(Array.from({ length: 64 }, (_, i) => [Math.sin(xv[2 * i]) + xv[2 * i + 1] / 2]));
  const batch = A.variable(xs);
  const labels = A.variable(target);
  const losses = [];
  for (let step = 0; step < 60; step++) {
    // Parameters and Adam's moments are variables, assigned in place: no keep list.
    const loss = T.tidy(() => {
      opt.zeroGrad();
      const l = mseLoss(net.forward(batch), labels);
      l.backward();
      opt.step();
      return values(l.value)[0];
    });
    losses.push(loss);
  }
  print('loss at steps 0, 20, 40, 59', [losses[0], losses[20], losses[40], losses[59]]);
  if (!(losses[59] < losses[0] / 4)) throw new Error(`training did not learn: ${losses[0]} → ${losses[59]}`);
  const probe = A.variable(T.tensor([[0.5, -1]]));
  const before = values(net.forward(probe).value);
  print('prediction at (0.5, -1)', before);

  // 4. safetensors: save the trained weights, load them into a fresh model.
  const loaded = await roundTrip(net.stateDict());
  const copy = new Sequential(
    new Linear(2, 16, { rng: new T.Rng(99) }),
    new Tanh(),
    new Linear(16, 1, { rng: new T.Rng(98) }),
  );
  copy.loadStateDict(loaded);
  const after = values(copy.forward(probe).value);
  if (after.some((v, i) => v !== before[i]))
    throw new Error(`loaded model predicts ${after}, expected ${before}`);
  print('safetensors round trip', `${Object.keys(loaded).length} tensors, same prediction`);

  // 5. An environment from @chainrule/ddpg, seeded.
  const env = makeEnv('Pendulum-v1');
  const { observation } = env.reset({ seed: SEED });
  const stepped = env.step([0.5]);
  print('Pendulum-v1 reset', Array.from(observation));
  print('Pendulum-v1 step reward', stepped.reward);
}
