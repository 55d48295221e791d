/**
 * What the explorer differentiates: a typed expression, or one of the worked examples.
 *
 * A problem builds a graph and says which gradient calls to step through ("phases"). Most
 * problems have one phase, `grad(f, inputs)`. The DDPG actor gradient the TF1 way has two:
 * `grad(sum(Q), a)`, then `grad(a, θμ, { gradOutputs: −dQ/da / N })`.
 *
 * This module has no DOM code, so the tests run it in Node too.
 * @module
 */
import * as A from '@chainrule/autograd';
import type { GradcheckFn } from '@chainrule/autograd/testing';
import * as T from '@chainrule/tensor';
import { evaluate, namesIn, parseExpression, parseTensors } from './expression.ts';

/** One gradient call to step through. */
export interface PhaseSpec {
  /** The call, as code, e.g. `grad(sum(Q), a)`. */
  readonly code: string;
  /** Make the call's arguments; `earlier` holds the gradients of the phases before it. */
  make(earlier: readonly (readonly A.Var[])[]): {
    outputs: A.Var[];
    targets: A.Var[];
    gradOutputs?: A.Var[];
  };
}

/** A problem, built. */
export interface Built {
  /** The Vars whose graph is drawn. */
  readonly graphRoots: A.Var[];
  readonly phases: PhaseSpec[];
  /** A function of float64 inputs for gradcheck and second derivatives, and its inputs. */
  readonly check: { names: string[]; inputs: T.Tensor[]; fn: GradcheckFn };
}

/** The state a page URL carries: an example id, or an expression with its tensors. */
export type ProblemState =
  | { kind: 'example'; id: ExampleId; seed: number }
  | { kind: 'expression'; expression: string; tensors: string };

/** The worked examples. */
export const EXAMPLES = {
  mlp: 'A small MLP and its loss',
  broadcast: 'Broadcasting',
  softmax: 'Softmax and cross-entropy',
  'actor-chain': 'DDPG actor gradient: chain rule (TF1)',
  'actor-surrogate': 'DDPG actor gradient: −mean Q (PyTorch)',
} as const;

/** An example's id. */
export type ExampleId = keyof typeof EXAMPLES;

/** The examples that are typed expressions (and so editable). */
export type ExpressionExampleId = 'mlp' | 'broadcast' | 'softmax';

/** True when the example `id` is a typed expression. */
export function isExpressionExample(id: string): id is ExpressionExampleId {
  return id === 'mlp' || id === 'broadcast' || id === 'softmax';
}

/** The typed-expression form of the MLP, broadcasting and softmax examples (they are editable). */
export const EXPRESSION_EXAMPLES: Record<ExpressionExampleId, { expression: string; tensors: string }> = {
  mlp: {
    expression: 'mean((tanh(x @ W1 + b1) @ W2 + b2 - t) ^ 2)',
    tensors: [
      'x = [[0.5, -1.2, 0.3], [1.0, 0.4, -0.7], [-0.3, 0.8, 1.1], [0.9, -0.5, 0.2]]',
      'W1 = [[0.4, -0.6], [0.7, 0.2], [-0.3, 0.5]]',
      'b1 = [0.1, -0.2]',
      'W2 = [[0.8], [-0.5]]',
      'b2 = [0.05]',
      't = [[0.5], [-0.2], [0.3], [0.1]]',
    ].join('\n'),
  },
  broadcast: {
    expression: 'sum(x * y + b)',
    tensors: ['x = [[1], [2], [3]]', 'y = [[0.5, -1, 2, 0.25]]', 'b = [0.1, 0.2, 0.3, 0.4]'].join('\n'),
  },
  // A linear classifier's cross-entropy with one-hot targets t: the mean over the batch of
  // −Σ_c t_c log softmax(z)_c, as PyTorch's cross_entropy (and nn's crossEntropyLoss) computes it.
  softmax: {
    expression: 'mean(-sum(t * logSoftmax(x @ W + b, 1), 1))',
    tensors: [
      'x = [[0.5, -1.2], [1.0, 0.4], [-0.3, 0.8]]',
      'W = [[0.4, -0.6, 0.1], [0.7, 0.2, -0.5]]',
      'b = [0.1, -0.2, 0.05]',
      't = [[1, 0, 0], [0, 0, 1], [0, 1, 0]]',
    ].join('\n'),
  },
};

/** The problem a state describes; an expression that does not parse throws a ChainruleError. */
export function buildProblem(state: ProblemState): Built {
  if (state.kind === 'expression') return buildExpression(state.expression, state.tensors);
  if (isExpressionExample(state.id)) {
    const e = EXPRESSION_EXAMPLES[state.id];
    return buildExpression(e.expression, e.tensors);
  }
  return buildActorGradient(state.seed, state.id === 'actor-chain' ? 'chain' : 'surrogate');
}

/**
 * The output's name: `f`, or `f1`, `f2`, ... when a tensor already has that name, so that the
 * phase's code (`grad(f, [x, y])`) never shows one name for two things.
 */
export function outputName(tensorNames: readonly string[]): string {
  if (!tensorNames.includes('f')) return 'f';
  let k = 1;
  while (tensorNames.includes(`f${k}`)) k++;
  return `f${k}`;
}

/** f = the expression; one phase: grad(f, every tensor it uses). */
export function buildExpression(expression: string, tensors: string): Built {
  const expr = parseExpression(expression);
  const values = parseTensors(tensors);
  const names = namesIn(expr);
  for (const n of names) {
    if (!values.has(n)) {
      throw new T.ChainruleError(
        'expression',
        `"${n}" is not defined; defined tensors: ${[...values.keys()].join(', ') || '(none)'}`,
      );
    }
  }
  const inputs = names.map((n) => values.get(n)!);
  const fn: GradcheckFn = (...xs) => {
    const y = evaluate(expr, new Map(names.map((n, i) => [n, xs[i]!])));
    if (typeof y === 'number') throw new T.ChainruleError('expression', 'the expression uses no tensor');
    return y;
  };
  const leaves = names.map((n, i) => A.param(inputs[i]!, { name: n }));
  const y = fn(...leaves);
  const out = outputName([...values.keys()]);
  y.name = out;
  if (!y.requiresGrad)
    throw new T.ChainruleError('expression', 'the expression does not depend on any tensor');
  const seeded = y.size === 1 ? '' : ', { gradOutputs: ones }';
  return {
    graphRoots: [y],
    phases: [
      {
        code: `grad(${out}, [${names.join(', ')}]${seeded})`,
        make: () => ({
          outputs: [y],
          targets: leaves,
          ...(y.size === 1 ? {} : { gradOutputs: [A.constant(T.onesLike(y.value))] }),
        }),
      },
    ],
    check: { names, inputs, fn },
  };
}

// ------------------------------------------------------------------ the DDPG actor gradient
// The same toy actor and critic, drawn from the same seeded generator in the same order, as
// examples/actor-gradient.ts, so that the page and that script print the same numbers.

/** Sizes of the toy problem (Pendulum-like: 3 state numbers, actions in [−2, 2]). */
export const ACTOR_SIZES = {
  batch: 4,
  state: 3,
  action: 2,
  actorHidden: 5,
  criticHidden1: 6,
  criticHidden2: 8,
  actionBound: 2,
} as const;

/** The actor parameters' names, in the order the gradients are listed. */
export const ACTOR_PARAM_NAMES = ['actor.W1', 'actor.b1', 'actor.W2', 'actor.b2'] as const;

function makeParam(name: string, shape: number[], rng: T.Rng, std: number): A.Var {
  return A.param(T.randn(shape, rng, { dtype: 'float64', std }), { name });
}

/** μθ(s) = tanh(relu(s W1 + b1) W2 + b2) · actionBound. */
function mu(p: readonly A.Var[], s: A.Var): A.Var {
  const [W1, b1, W2, b2] = p;
  const h = s.matmul(W1!).add(b1!).relu();
  return h.matmul(W2!).add(b2!).tanh().mul(ACTOR_SIZES.actionBound);
}

/** Q(s, a) = relu(relu(s W1 + b1) W2 + a Wa + b2) W3 + b3: the action joins at layer 2. */
function Q(c: readonly A.Var[], s: A.Var, a: A.Var): A.Var {
  const [W1, b1, W2, Wa, b2, W3, b3] = c;
  const h1 = s.matmul(W1!).add(b1!).relu();
  const h2 = h1.matmul(W2!).add(a.matmul(Wa!)).add(b2!).relu();
  return h2.matmul(W3!).add(b3!);
}

/** The seeded actor, critic and states (the draw order of examples/actor-gradient.ts). */
export function actorProblem(seed: number): { actor: A.Var[]; critic: A.Var[]; s: A.Var } {
  const { batch: N, state, action, actorHidden, criticHidden1, criticHidden2 } = ACTOR_SIZES;
  const rng = new T.Rng(seed);
  const actor = [
    makeParam('actor.W1', [state, actorHidden], rng, 0.8),
    makeParam('actor.b1', [actorHidden], rng, 0.3),
    makeParam('actor.W2', [actorHidden, action], rng, 0.8),
    makeParam('actor.b2', [action], rng, 0.3),
  ];
  const critic = [
    makeParam('critic.W1', [state, criticHidden1], rng, 0.8),
    makeParam('critic.b1', [criticHidden1], rng, 0.3),
    makeParam('critic.W2', [criticHidden1, criticHidden2], rng, 0.8),
    makeParam('critic.Wa', [action, criticHidden2], rng, 0.8),
    makeParam('critic.b2', [criticHidden2], rng, 0.3),
    makeParam('critic.W3', [criticHidden2, 1], rng, 0.8),
    makeParam('critic.b3', [1], rng, 0.3),
  ];
  const s = A.input(T.randn([N, state], rng, { dtype: 'float64' }), { name: 's' });
  return { actor, critic, s };
}

function buildActorGradient(seed: number, way: 'chain' | 'surrogate'): Built {
  const { actor, critic, s } = actorProblem(seed);
  const N = ACTOR_SIZES.batch;
  // gradcheck differentiates the surrogate loss: both ways compute its gradient.
  const criticValues = critic.map((c) => A.constant(c.value, { name: c.name }));
  const fn: GradcheckFn = (...theta) => A.neg(A.mean(Q(criticValues, s, mu(theta, s))));
  const check = { names: [...ACTOR_PARAM_NAMES], inputs: actor.map((p) => p.value), fn };

  const a = mu(actor, s);
  a.name = 'a = μ(s)';
  if (way === 'surrogate') {
    const q = Q(critic, s, a);
    q.name = 'Q(s,a)';
    const loss = A.neg(A.mean(q));
    loss.name = 'loss';
    return {
      graphRoots: [loss],
      phases: [{ code: 'grad(−mean(Q(s, μ(s))), θμ)', make: () => ({ outputs: [loss], targets: actor }) }],
      check,
    };
  }
  const q = Q(critic, s, a);
  q.name = 'Q(s,a)';
  const qSum = A.sum(q);
  qSum.name = 'sum Q';
  return {
    graphRoots: [qSum],
    phases: [
      { code: 'dQda = grad(sum(Q(s, a)), a)', make: () => ({ outputs: [qSum], targets: [a] }) },
      {
        code: 'grad(a, θμ, { gradOutputs: −dQda / N })',
        make: (earlier) => {
          const dQda = earlier[0]![0]!;
          const seedGrad = A.noGrad(() => A.div(A.neg(dQda), N));
          seedGrad.name = '−dQda/N';
          return { outputs: [a], targets: actor, gradOutputs: [seedGrad] };
        },
      },
    ],
    check,
  };
}
