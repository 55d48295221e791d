/**
 * The DDPG actor gradient, computed two ways with @chainrule/autograd.
 *
 *   npx tsx examples/actor-gradient.ts
 *
 * DDPG updates the actor μθ(s) along the deterministic policy gradient
 *
 *   ∇θ J ≈ (1/N) Σᵢ ∇a Q(sᵢ, a)|a=μθ(sᵢ) · ∇θ μθ(sᵢ)
 *
 * Two styles of code compute it:
 *
 *   (1) TF1 (Emami's blog, Lillicrap's reference code): ask the critic for dQ/da, then push
 *       −dQ/da / N back through the actor alone:
 *         action_grads = tf.gradients(critic.out, critic.action)
 *         tf.gradients(actor.scaled_out, actor.params, grad_ys = -action_grads) / N
 *
 *   (2) PyTorch: write a loss and let autograd walk through critic and actor together:
 *         (-critic(s, actor(s))).mean().backward()
 *
 * Both are the chain rule, split at a different place. This file computes both with the
 * same parameters and prints them, their largest difference, a picture of the graph and a
 * trace of every gradient rule that fired in way (1).
 *
 * Everything is float64 so that the two ways agree to ~1e-16, not to float32 noise.
 * @module
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';

/** Sizes of the toy problem (Pendulum-like: 3 state numbers, actions in [−2, 2]). */
export const SIZES = {
  batch: 4,
  state: 3,
  action: 2,
  actorHidden: 5,
  criticHidden1: 6,
  criticHidden2: 8,
  actionBound: 2,
} as const;

/** A trainable float64 parameter with N(0, std²) entries and a name for pictures and traces. */
function makeParam(name: string, shape: number[], rng: T.Rng, std: number): A.Var {
  return A.param(T.randn(shape, rng, { dtype: 'float64', std }), { name });
}

/** The actor's parameters θμ. */
export interface Actor {
  W1: A.Var; // [state, hidden]
  b1: A.Var; // [hidden]
  W2: A.Var; // [hidden, action]
  b2: A.Var; // [action]
}

/** The critic's parameters θQ. The action enters at the second layer, as in the DDPG paper. */
export interface Critic {
  W1: A.Var; // [state, h1]
  b1: A.Var; // [h1]
  W2: A.Var; // [h1, h2]   (state path)
  Wa: A.Var; // [action, h2] (action path, joins here)
  b2: A.Var; // [h2]
  W3: A.Var; // [h2, 1]
  b3: A.Var; // [1]
}

/**
 * μθ(s) = tanh(relu(s W1 + b1) W2 + b2) · actionBound.
 *
 * Every op below goes through `record` in packages/autograd/src/ops.ts: it computes the value
 * and, because W1 etc. require gradients, appends a Node (op name, inputs, attrs) to the graph.
 * The `+ b1` is a broadcast add: [N,hidden] + [hidden]. Its gradient for b1 will come back
 * shaped [N,hidden] and the engine will sum it over axis 0 (the trace below shows this).
 */
export function mu(actor: Actor, s: A.Var): A.Var {
  const h = s.matmul(actor.W1).add(actor.b1).relu();
  return h.matmul(actor.W2).add(actor.b2).tanh().mul(SIZES.actionBound);
}

/**
 * Q(s, a) = relu(relu(s W1 + b1) W2 + a Wa + b2) W3 + b3, shape [N, 1].
 * The state goes through one layer alone; the action joins at the second layer.
 */
export function Q(critic: Critic, s: A.Var, a: A.Var): A.Var {
  const h1 = s.matmul(critic.W1).add(critic.b1).relu();
  const h2 = h1.matmul(critic.W2).add(a.matmul(critic.Wa)).add(critic.b2).relu();
  return h2.matmul(critic.W3).add(critic.b3);
}

/** What {@link actorGradientBothWays} returns. */
export interface ActorGradientResult {
  /** The seed that drew the parameters and the states. */
  seed: number;
  /** Actor parameter names, in the order of the gradient lists. */
  names: string[];
  /** The actor's parameter shapes, in the same order. */
  shapes: (readonly number[])[];
  /** Way (1), TF1 style: grad(a, θμ, { gradOutputs: −dQ/da / N }). One tensor per parameter. */
  tf1: T.Tensor[];
  /** Way (2), PyTorch style: grad(−mean(Q(s, μ(s))), θμ). One tensor per parameter. */
  pytorch: T.Tensor[];
  /** The largest |tf1 − pytorch| over every element of every parameter. */
  maxAbsDiff: number;
  /** dQ/da from way (1), shape [N, action]. Row i only depends on sample i. */
  dQda: T.Tensor;
  /** The graph of sum(Q(s, μ(s))) as a Mermaid flowchart, drawn before any grad() freed it. */
  mermaid: string;
  /** The gradient rules that fired in step 1a, grad(sum(Q), a), as `formatTrace` prints them. */
  traceCritic: string;
  /** The gradient rules that fired in step 1b, grad(a, θμ, { gradOutputs }). */
  traceActor: string;
  /** The trace steps of step 1a, for tests. */
  stepsCritic: A.TraceStep[];
  /** The trace steps of step 1b, for tests. */
  stepsActor: A.TraceStep[];
  /** True if no parameter (actor or critic) had `.grad` set after ways (1) and (2): grad() never writes `.grad`. */
  gradLeftDotGradAlone: boolean;
  /**
   * For contrast: `loss.backward()` (what PyTorch code calls) fills `.grad` of every leaf
   * that requires one, critic parameters included. True if some critic `.grad` became non-zero.
   */
  backwardTouchedCritic: boolean;
  /** The largest |actor .grad from backward() − pytorch| (backward and grad agree). */
  backwardMaxAbsDiff: number;
}

function maxAbsDiff(xs: readonly T.Tensor[], ys: readonly T.Tensor[]): number {
  let m = 0;
  xs.forEach((x, i) => {
    const a = x.dataSync();
    const b = ys[i]!.dataSync();
    for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  });
  return m;
}

/**
 * Build a seeded actor, critic and batch of states, then compute the DDPG actor gradient
 * both ways. Prints nothing.
 */
export function actorGradientBothWays(seed = 0): ActorGradientResult {
  const { batch: N, state, action, actorHidden, criticHidden1, criticHidden2 } = SIZES;
  const rng = new T.Rng(seed);

  const actor: Actor = {
    W1: makeParam('actor.W1', [state, actorHidden], rng, 0.8),
    b1: makeParam('actor.b1', [actorHidden], rng, 0.3),
    W2: makeParam('actor.W2', [actorHidden, action], rng, 0.8),
    b2: makeParam('actor.b2', [action], rng, 0.3),
  };
  const critic: Critic = {
    W1: makeParam('critic.W1', [state, criticHidden1], rng, 0.8),
    b1: makeParam('critic.b1', [criticHidden1], rng, 0.3),
    W2: makeParam('critic.W2', [criticHidden1, criticHidden2], rng, 0.8),
    Wa: makeParam('critic.Wa', [action, criticHidden2], rng, 0.8),
    b2: makeParam('critic.b2', [criticHidden2], rng, 0.3),
    W3: makeParam('critic.W3', [criticHidden2, 1], rng, 0.8),
    b3: makeParam('critic.b3', [1], rng, 0.3),
  };
  // States are data, not parameters: a leaf that does not require a gradient.
  const s = A.input(T.randn([N, state], rng, { dtype: 'float64' }), { name: 's' });

  const theta = [actor.W1, actor.b1, actor.W2, actor.b2];
  const criticParams = Object.values(critic);

  // ------------------------------------------------------------ way (1): TF1 style
  //
  // Forward: a = μθ(s), then q = Q(s, a). The graph now runs
  //   θμ → (actor ops) → a → (critic ops, with θQ) → q → sum
  const a = mu(actor, s);
  a.name = 'a = μ(s)';
  const q = Q(critic, s, a);
  q.name = 'Q(s,a)';
  const qSum = A.sum(q);

  // Draw the graph now: grad() frees the nodes it runs through (unless retainGraph: true),
  // and a freed node has no inputs left to draw.
  const mermaid = A.toMermaid(qSum);

  // Step 1a. dQ/da. `grad` takes a *non-leaf* input here. The engine marks as "needed"
  // only a and the Vars computed from a, so the rules that run are the critic ops
  // between a and q: sum, the W3 matmul and b3 add, relu, the two adds, and a·Wa.
  //   - The actor's nodes (below a) do not run: nothing there is downstream of a target,
  //     so they are not freed either, and step 1b can still go through them.
  //   - The critic's parameters are not targets, so each rule is told `needs[i] = false`
  //     for them: matmul skips dW, and add's gradient for a bias is dropped unused.
  //   - grad() returns gradients; it never writes `.grad`.
  // Why sum(Q)? Row i of q depends only on row i of a, so the gradient of the sum with
  // respect to a, row i, is exactly ∇a Q(sᵢ, aᵢ). This is also what tf.gradients(out, action)
  // computes: it sums over the outputs it is given.
  // (With ReLU the critic is piecewise linear in a: ∇a Q(sᵢ, ·) = Wa · (maskᵢ ⊙ W3), where
  // maskᵢ says which second-layer units are active for sample i. Two samples with the same
  // mask get the same row of dQ/da. Nothing is wrong when rows repeat.)
  const trace1a = A.traceBackward(() => A.grad(qSum, a));
  const dQda = trace1a.result;

  // Step 1b. Seed the actor's output with −dQ/da / N and backpropagate to θμ alone.
  // grad(a, θ, { gradOutputs: g }) computes the vector-Jacobian product gᵀ · ∂a/∂θ,
  // the same thing as tf.gradients(scaled_out, params, grad_ys = g). Dividing the seed by
  // N instead of the result (as the TF1 code does) is the same by linearity.
  // The minus sign turns "ascend Q" into "descend a loss", so both ways are loss gradients.
  // dQda is a plain value here (grad ran without createGraph), like the numpy array the TF1
  // code feeds into its placeholder. The critic is not in a's graph at all: a's graph goes
  // down to θμ and s only.
  const seedGrad = A.div(A.neg(dQda), N);
  const trace1b = A.traceBackward(() => A.grad(a, theta, { gradOutputs: seedGrad }));
  const tf1Vars = trace1b.result;

  // ------------------------------------------------------------ way (2): PyTorch style
  //
  // A fresh forward pass (way 1 freed the nodes it ran). The loss −mean(Q(s, μθ(s))) is a
  // scalar, so no seed is needed. Backward now passes *through* the critic into the actor:
  // at a it holds −(1/N)·∂Q/∂a, mathematically the seed of way (1), and from there it runs the
  // same actor rules. That is the whole reason the two ways agree.
  const loss = A.neg(A.mean(Q(critic, s, mu(actor, s))));
  const pytorchVars = A.grad(loss, theta);

  // grad() only returns gradients; no `.grad` was set by either way.
  const gradLeftDotGradAlone = [...theta, ...criticParams].every((p) => p.grad === null);

  // ------------------------------------------------------------ contrast: loss.backward()
  //
  // PyTorch code calls loss.backward(), which accumulates into `.grad` of *every* leaf that
  // requires a gradient, the critic's too. The actor update is still right, because only the
  // actor's optimizer steps and the critic's gradients are zeroed before the critic's own
  // update, but the critic's `.grad` was written. Way (1) never computes those gradients.
  const loss2 = A.neg(A.mean(Q(critic, s, mu(actor, s))));
  loss2.backward();
  const backwardTouchedCritic = criticParams.some(
    (p) => p.grad !== null && Array.from(p.grad.dataSync()).some((v) => v !== 0),
  );
  const backwardMaxAbsDiff = maxAbsDiff(
    theta.map((p) => p.grad!),
    pytorchVars.map((g) => g.value),
  );
  A.zeroGrad([...theta, ...criticParams]);

  const tf1 = tf1Vars.map((g) => g.value);
  const pytorch = pytorchVars.map((g) => g.value);
  return {
    seed,
    names: theta.map((p) => p.name!),
    shapes: theta.map((p) => p.shape),
    tf1,
    pytorch,
    maxAbsDiff: maxAbsDiff(tf1, pytorch),
    dQda: dQda.value,
    mermaid,
    traceCritic: A.formatTrace(trace1a.steps),
    traceActor: A.formatTrace(trace1b.steps),
    stepsCritic: trace1a.steps,
    stepsActor: trace1b.steps,
    gradLeftDotGradAlone,
    backwardTouchedCritic,
    backwardMaxAbsDiff,
  };
}

// ---------------------------------------------------------------- printing

/** Rows of fixed-width numbers; a vector prints as one row. */
function formatMatrix(t: T.Tensor, indent: string): string {
  const d = t.dataSync();
  const cols = t.rank === 2 ? t.shape[1]! : t.size;
  const rows: string[] = [];
  for (let r = 0; r < d.length / cols; r++) {
    const cells = Array.from(d.subarray(r * cols, (r + 1) * cols), (v) => v.toFixed(10).padStart(14));
    rows.push(indent + cells.join(' '));
  }
  return rows.join('\n');
}

/** Print everything `actorGradientBothWays` computed. */
export function main(seed = 0): void {
  const r = actorGradientBothWays(seed);
  const out: string[] = [];
  out.push(`DDPG actor gradient, both ways (seed ${seed}, batch N=${SIZES.batch}, float64)`);
  out.push('');
  out.push('dQ/da from grad(sum(Q(s, a)), a), one row per sample');
  out.push('(rows repeat when two samples switch on the same ReLU units of the critic):');
  out.push(formatMatrix(r.dQda, '  '));
  out.push('');
  r.names.forEach((name, i) => {
    out.push(`${name} [${r.shapes[i]!.join(',')}]`);
    out.push('  (1) TF1     grad(a, θμ, { gradOutputs: −dQ/da / N })');
    out.push(formatMatrix(r.tf1[i]!, '      '));
    out.push('  (2) PyTorch grad(−mean(Q(s, μ(s))), θμ)');
    out.push(formatMatrix(r.pytorch[i]!, '      '));
  });
  out.push('');
  out.push(`max |difference| between (1) and (2): ${r.maxAbsDiff.toExponential(3)}`);
  out.push(`.grad left untouched by grad(): ${r.gradLeftDotGradAlone}`);
  out.push(
    `loss.backward() wrote non-zero critic .grad: ${r.backwardTouchedCritic} (its actor .grad differs from (2) by at most ${r.backwardMaxAbsDiff.toExponential(3)})`,
  );
  out.push('');
  out.push('Graph of sum(Q(s, μ(s))) as a Mermaid flowchart (Markdown renders it in a mermaid code block):');
  out.push('');
  out.push(r.mermaid);
  out.push('');
  out.push('Backward trace of way (1), step 1a: grad(sum(Q(s, a)), a), critic ops only');
  out.push(r.traceCritic);
  out.push('');
  out.push('Backward trace of way (1), step 1b: grad(a, θμ, { gradOutputs: −dQ/da / N }), actor ops only');
  out.push(r.traceActor);
  console.log(out.join('\n'));
}

// Print only when run as a script (`npx tsx examples/actor-gradient.ts`), not when a test imports it.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const seedArg = process.argv[2];
  main(seedArg === undefined ? 0 : Number(seedArg));
}
