/**
 * The autograd explorer tab: pick an example or type an expression, see the graph, step
 * through backward one rule at a time, check the gradients numerically, see second
 * derivatives. The state lives in the URL's hash, so a link reproduces the view.
 * @module
 */
import * as A from '@chainrule/autograd';
import { type GradcheckReport, gradcheck, gradgradcheck } from '@chainrule/autograd/testing';
import { fmt, h, shapeText, tensorTable } from '../dom.ts';
import { drawGraph } from './graph.ts';
import { findJumps, findKinks, type Jump } from './kinks.ts';
import {
  type Built,
  buildProblem,
  EXAMPLES,
  EXPRESSION_EXAMPLES,
  type ExampleId,
  isExpressionExample,
  type ProblemState,
} from './problems.ts';
import { RULE_TEXT } from './ruleText.ts';
import { hessianBlocks, type PhaseResult, type Step, stepProblem } from './stepper.ts';

const EXPRESSION_NOTE =
  'Every named tensor is a leaf that requires a gradient. A non-scalar result is seeded with ones (the gradient of its sum).';

/** What to look for in each example. */
const EXAMPLE_NOTES: Record<ExampleId, string> = {
  mlp: 'mean((tanh(x W1 + b1) W2 + b2 − t)²). Watch the bias adds: their gradients come back [4,k] and are summed over the batch.',
  broadcast:
    'x [3,1] · y [1,4] + b [4]: every input is broadcast, so every gradient is summed back to its shape.',
  softmax:
    'Cross-entropy of a linear classifier: mean over the batch of −Σ t·logSoftmax(xW + b). logSoftmax is a composite (x − max − log Σ exp(x − max), the max detached), so its nodes are primitives; the gradient reaching the logits is (softmax − t)/N.',
  'actor-chain':
    'The DDPG actor gradient as TF1 computed it: first dQ/da through the critic only, then −dQ/da / N seeded into the actor (tf.gradients with grad_ys). The same numbers as examples/actor-gradient.ts.',
  'actor-surrogate':
    'The same gradient as PyTorch computes it: backward from −mean Q(s, μ(s)) through critic and actor together. The final gradients equal the TF1 way’s.',
};

/** Read the explorer's state from URL parameters (defaults: the TF1-style actor gradient). */
export function stateFromParams(p: URLSearchParams): { problem: ProblemState; step: number } {
  const step = Math.max(0, Number.parseInt(p.get('step') ?? '0', 10) || 0);
  const expression = p.get('expr');
  if (expression !== null)
    return { problem: { kind: 'expression', expression, tensors: p.get('tensors') ?? '' }, step };
  const ex = p.get('ex');
  const id: ExampleId = ex && ex in EXAMPLES ? (ex as ExampleId) : 'actor-chain';
  return { problem: { kind: 'example', id, seed: Number.parseInt(p.get('seed') ?? '0', 10) || 0 }, step };
}

function paramsFromState(problem: ProblemState, step: number): URLSearchParams {
  const p = new URLSearchParams();
  if (problem.kind === 'expression') {
    p.set('expr', problem.expression);
    p.set('tensors', problem.tensors);
  } else {
    p.set('ex', problem.id);
    if (problem.id.startsWith('actor')) p.set('seed', String(problem.seed));
  }
  if (step > 0) p.set('step', String(step));
  return p;
}

/** Mount the explorer into `root`. `onState` receives the URL parameters to store. */
export function mountExplorer(
  root: HTMLElement,
  initial: URLSearchParams,
  onState: (p: URLSearchParams) => void,
): void {
  let { problem, step } = stateFromParams(initial);
  let built: Built | null = null;
  let phases: PhaseResult[] = [];
  let steps: Step[] = [];
  let graph: ReturnType<typeof drawGraph> | null = null;

  const select = h(
    'select',
    { id: 'example', name: 'example' },
    ...Object.entries(EXAMPLES).map(([id, title]) => h('option', { value: id }, title)),
    h('option', { value: 'expression' }, 'Your own expression'),
  );
  const seedInput = h('input', {
    id: 'ex-seed',
    type: 'number',
    min: 0,
    step: 1,
    value: 0,
    inputmode: 'numeric',
  });
  const exprInput = h('input', { id: 'expr', type: 'text', spellcheck: 'false', autocomplete: 'off' });
  const tensorsInput = h('textarea', { id: 'tensors', rows: 6, spellcheck: 'false' });
  const errorBox = h('p', { class: 'error', role: 'alert', id: 'explorer-error' });
  const seedLabel = h('label', {}, 'Seed ', seedInput);
  const note = h('p', { class: 'muted', id: 'example-note' });
  const exprFields = h(
    'div',
    { class: 'expr-fields' },
    h(
      'label',
      { for: 'expr' },
      'Expression (ops: + − * / ^ @, exp log sqrt square abs tanh sigmoid relu sin cos log1p expm1 erf rsqrt softplus elu selu gelu silu atan2 softmax logSoftmax logsumexp sum mean max matmul transpose)',
    ),
    exprInput,
    h('label', { for: 'tensors' }, 'Tensors, one per line: name = JSON array'),
    tensorsInput,
  );
  const buildButton = h('button', { type: 'submit', id: 'build' }, 'Build graph');

  const graphBox = h('div', { class: 'graph-scroll', id: 'graph', tabindex: 0, 'aria-label': 'graph' });
  const counter = h('span', { id: 'step-counter', 'aria-live': 'polite' });
  const first = h('button', { type: 'button', id: 'step-first' }, '« Start');
  const back = h('button', { type: 'button', id: 'step-back' }, '◀ Back');
  const next = h('button', { type: 'button', id: 'step-next' }, 'Step ▶');
  const last = h('button', { type: 'button', id: 'step-last' }, 'End »');
  const stepbar = h(
    'div',
    { class: 'stepbar', role: 'group', 'aria-label': 'backward steps (arrow keys step too)' },
    first,
    back,
    next,
    last,
    counter,
  );
  const detail = h('div', { id: 'step-detail', class: 'step-detail' });
  const gradsBox = h('div', { id: 'grads' });
  const checkButton = h('button', { type: 'button', id: 'gradcheck' }, 'Gradcheck (numeric vs analytic)');
  const hessButton = h('button', { type: 'button', id: 'hessian' }, 'Second derivatives');
  // The two checks keep their own boxes, so running one leaves the other's result in view.
  const gradcheckOut = h('div', { id: 'gradcheck-out', class: 'check-block' });
  const hessianOut = h('div', { id: 'hessian-out', class: 'check-block' });
  const checkOut = h('div', { id: 'check-out', 'aria-live': 'polite' }, gradcheckOut, hessianOut);
  // The graph fits the pane's width unless the reader asks for its actual size (then it scrolls).
  const zoomButton = h(
    'button',
    { type: 'button', id: 'graph-zoom', 'aria-pressed': 'false' },
    'Actual size',
  );
  zoomButton.addEventListener('click', () => {
    const actual = zoomButton.getAttribute('aria-pressed') !== 'true';
    zoomButton.setAttribute('aria-pressed', String(actual));
    graphBox.classList.toggle('fit', !actual);
  });
  graphBox.classList.add('fit');

  root.append(
    h(
      'div',
      { class: 'explorer' },
      h(
        'form',
        {
          class: 'panel problem',
          onsubmit: (e: Event) => {
            e.preventDefault();
            readForm();
          },
        },
        h('h2', {}, 'What to differentiate'),
        h('label', { for: 'example' }, 'Example'),
        select,
        note,
        seedLabel,
        exprFields,
        buildButton,
        errorBox,
      ),
      h(
        'div',
        { class: 'panel graph-pane' },
        h('div', { class: 'pane-head' }, h('h2', {}, 'Graph'), zoomButton),
        graphBox,
        legend(),
      ),
      h(
        'div',
        { class: 'panel step-pane' },
        h('h2', {}, 'Backward, one rule at a time'),
        stepbar,
        detail,
        h('h3', {}, 'What grad() returned'),
        gradsBox,
      ),
      // Full width: a Hessian has an input's size squared cells, too many for a side column.
      h(
        'div',
        { class: 'panel checks-pane' },
        h('h2', {}, 'Check the gradients'),
        h('div', { class: 'checks' }, checkButton, hessButton),
        checkOut,
      ),
    ),
  );

  function legend(): HTMLElement {
    return h(
      'p',
      { class: 'legend' },
      h('span', { class: 'key leaf' }, 'leaf (requires grad)'),
      h('span', { class: 'key const' }, 'constant'),
      h('span', { class: 'key op' }, 'op result'),
      h('span', { class: 'key current' }, 'rule firing'),
      h('span', { class: 'key input' }, 'its inputs'),
    );
  }

  function syncForm(): void {
    select.value = problem.kind === 'expression' ? 'expression' : problem.id;
    note.textContent = problem.kind === 'expression' ? EXPRESSION_NOTE : EXAMPLE_NOTES[problem.id];
    const actor = problem.kind === 'example' && problem.id.startsWith('actor');
    seedLabel.hidden = !actor;
    if (problem.kind === 'example') seedInput.value = String(problem.seed);
    const expr =
      problem.kind === 'expression'
        ? problem
        : isExpressionExample(problem.id)
          ? EXPRESSION_EXAMPLES[problem.id]
          : null;
    exprFields.hidden = expr === null;
    if (expr) {
      exprInput.value = expr.expression;
      tensorsInput.value = expr.tensors;
    }
  }

  function readForm(): void {
    const v = select.value;
    if (v === 'expression') {
      problem = { kind: 'expression', expression: exprInput.value, tensors: tensorsInput.value };
    } else {
      const id = v as ExampleId;
      const e = isExpressionExample(id) ? EXPRESSION_EXAMPLES[id] : null;
      // An edited MLP or broadcasting example becomes an expression of its own.
      if (e && (exprInput.value !== e.expression || tensorsInput.value !== e.tensors) && !exprFields.hidden) {
        problem = { kind: 'expression', expression: exprInput.value, tensors: tensorsInput.value };
      } else problem = { kind: 'example', id, seed: Number.parseInt(seedInput.value, 10) || 0 };
    }
    step = 0;
    rebuild();
  }

  select.addEventListener('change', () => {
    const v = select.value;
    if (v === 'expression') {
      // Start from what is in the fields (the MLP's text when coming from an example).
      if (!exprInput.value) {
        exprInput.value = EXPRESSION_EXAMPLES.broadcast.expression;
        tensorsInput.value = EXPRESSION_EXAMPLES.broadcast.tensors;
      }
      problem = { kind: 'expression', expression: exprInput.value, tensors: tensorsInput.value };
    } else problem = { kind: 'example', id: v as ExampleId, seed: Number.parseInt(seedInput.value, 10) || 0 };
    step = 0;
    syncForm();
    rebuild();
  });

  function rebuild(): void {
    errorBox.textContent = '';
    gradcheckOut.replaceChildren();
    hessianOut.replaceChildren();
    try {
      built = buildProblem(problem);
      // Draw before stepping: the picture shows the forward graph as recorded.
      graph = drawGraph(built.graphRoots);
      phases = stepProblem(built);
      steps = phases.flatMap((p) => p.steps);
    } catch (e) {
      built = null;
      graph = null;
      phases = [];
      steps = [];
      errorBox.textContent = (e as Error).message;
    }
    graphBox.replaceChildren(...(graph ? [graph.svg] : []));
    const bad = phases.flatMap((p) => p.mismatches);
    if (bad.length > 0)
      errorBox.textContent = `The step-through disagrees with the engine: ${bad.join('; ')}`;
    step = Math.min(step, steps.length);
    renderGrads();
    show();
  }

  function show(): void {
    onState(paramsFromState(problem, step));
    counter.textContent = `Step ${step} of ${steps.length}`;
    first.disabled = back.disabled = step === 0;
    next.disabled = last.disabled = step >= steps.length;
    const s = step > 0 ? steps[step - 1]! : null;
    const visited = new Set(steps.slice(0, Math.max(0, step - 1)).map((x) => x.output.id));
    graph?.highlight(s ? s.output.id : null, s ? s.inputs.map((i) => i.id) : [], visited);
    if (graph && s) {
      const node = graph.svg.querySelector<SVGGElement>(`[data-var="${s.output.id}"]`);
      if (node) centerIn(graphBox, node);
    }
    detail.replaceChildren(...(s ? stepDetail(s) : intro()));
    // A button that just disabled itself (Start at step 0, End at the last) would drop the
    // keyboard focus to the page: hand it to the button that still moves.
    const active = document.activeElement;
    if (active instanceof HTMLButtonElement && active.disabled && stepbar.contains(active)) {
      (step === 0 ? next : back).focus();
    }
  }

  function intro(): Node[] {
    if (!built) return [];
    return [
      h(
        'p',
        {},
        'The forward pass recorded the graph. Step to run the gradient rules from the output back to the inputs.',
      ),
      h(
        'ol',
        { class: 'phases' },
        ...phases.map((p) => h('li', {}, h('code', {}, p.code), ` — ${p.steps.length} rules`)),
      ),
    ];
  }

  function stepDetail(s: Step): Node[] {
    const phase = phases[s.phase]!;
    const out: Node[] = [
      h(
        'p',
        { class: 'phase' },
        phases.length > 1 ? `Phase ${s.phase + 1}: ` : '',
        h('code', {}, phase.code),
      ),
      h(
        'p',
        { class: 'rule' },
        'Rule ',
        h('strong', { 'data-role': 'op' }, s.op),
        ` (node #${s.node}) produced `,
        h('strong', {}, s.output.label),
        ` ${shapeText(s.output.shape)}: `,
        h('code', {}, (A.isPrimitive(s.op) ? RULE_TEXT[s.op] : undefined) ?? `see GRAD_RULES.${s.op}`),
      ),
      h('h3', {}, `Upstream gradient g ${shapeText(s.upstream.shape)}`),
      tensorTable(s.upstream, { 'data-role': 'upstream' }),
    ];
    s.inputs.forEach((inp, i) => {
      const parts: Node[] = [h('h3', {}, `Input ${i}: ${inp.label} ${shapeText(inp.shape)}`)];
      if (!inp.needed || !inp.grad) {
        parts.push(h('p', { class: 'muted' }, 'No gradient: not on a path to a requested input.'));
      } else {
        if (inp.unbroadcast) {
          const u = inp.unbroadcast;
          parts.push(
            h(
              'p',
              { class: 'unbroadcast', 'data-role': 'unbroadcast' },
              `Un-broadcast: the rule gave ${shapeText(u.from)}; summed over axes [${u.axes.join(',')}] → ${shapeText(u.to)}`,
            ),
            h('details', {}, h('summary', {}, 'before summing'), tensorTable(inp.rule!)),
          );
        }
        if (inp.accumulates) {
          parts.push(
            h(
              'p',
              { class: 'muted' },
              'This Var already has a gradient from another use: the two are added.',
            ),
          );
        }
        parts.push(tensorTable(inp.grad, { 'data-role': 'input-grad', 'data-label': inp.label }));
      }
      out.push(h('div', { class: 'input' }, ...parts));
    });
    return out;
  }

  function renderGrads(): void {
    gradsBox.replaceChildren(
      ...phases.flatMap((p, k) => [
        h('p', {}, phases.length > 1 ? `Phase ${k + 1}: ` : '', h('code', {}, p.code)),
        ...p.grads.map((g) =>
          h(
            'div',
            { class: 'final' },
            h('span', {}, `∂/∂${g.label} ${shapeText(g.value.shape)}`),
            tensorTable(g.value, { 'data-role': 'final-grad', 'data-label': g.label }),
          ),
        ),
      ]),
    );
  }

  const go = (k: number) => {
    step = Math.max(0, Math.min(steps.length, k));
    show();
  };
  // With focus on the step bar, the arrow keys step too (Home/End jump to the ends).
  stepbar.addEventListener('keydown', (e) => {
    const to = { ArrowRight: step + 1, ArrowLeft: step - 1, Home: 0, End: steps.length }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    go(to);
  });
  first.addEventListener('click', () => go(0));
  back.addEventListener('click', () => go(step - 1));
  next.addEventListener('click', () => go(step + 1));
  last.addEventListener('click', () => go(steps.length));

  checkButton.addEventListener('click', () => {
    if (!built) return;
    const { fn, inputs, names } = built.check;
    const r1 = gradcheck(fn, inputs);
    const r2 = gradgradcheck(fn, inputs);
    // A failure at a tie or a kink is the point's fault, not the rule's: say which.
    const kinks = r1.ok && r2.ok ? [] : findKinks(fn, inputs);
    const jumps = (order: 1 | 2, r: GradcheckReport) => (r.ok ? [] : findJumps(fn, inputs, names, order));
    const j1 = jumps(1, r1);
    const j2 = jumps(2, r2);
    const line = (what: string, r: GradcheckReport, j: Jump[]) => {
      const err = `largest |analytic − numeric| = ${r.maxAbsError.toExponential(2)}`;
      const kink = !r.ok && (j.length > 0 || kinks.length > 0);
      const verdict = r.ok ? 'passed' : kink ? 'not differentiable here' : 'FAILED';
      return h(
        'p',
        { class: r.ok ? 'ok' : kink ? 'warn' : 'error', 'data-role': what, 'data-verdict': verdict },
        `${what}: ${verdict}; ${err}`,
      );
    };
    const where = (j: readonly Jump[]) =>
      j
        .slice(0, 4)
        .map((x) => `${x.input}[${x.index.join(',')}]`)
        .join(', ') + (j.length > 4 ? `, … (${j.length} in all)` : '');
    const explain: Node[] = [];
    if (kinks.length > 0 || j1.length > 0 || j2.length > 0) {
      explain.push(
        h(
          'div',
          { class: 'kinks', 'data-role': 'kinks' },
          h(
            'p',
            {},
            'These inputs sit where the function is not differentiable (to the order checked): the central differences straddle a jump, so a mismatch there says nothing about the rules. Move the inputs off the tie or kink to check them.',
          ),
          h(
            'ul',
            {},
            ...kinks.map((k) => h('li', { 'data-role': 'kink' }, h('code', {}, k.op), `: ${k.detail}`)),
            j1.length > 0 ? h('li', {}, `The function’s slope jumps along ${where(j1)}.`) : null,
            j2.length > 0 ? h('li', {}, `The gradient jumps along ${where(j2)}.`) : null,
          ),
        ),
      );
    }
    gradcheckOut.replaceChildren(
      line('gradcheck', r1, j1),
      line('gradgradcheck', r2, j2),
      ...explain,
      h('p', { class: 'muted' }, `Central differences in float64 over ${names.join(', ')}.`),
      ...(r1.ok || explain.length > 0 ? [] : [h('pre', {}, r1.message)]),
    );
  });

  hessButton.addEventListener('click', () => {
    if (!built) return;
    const blocks = hessianBlocks(built);
    const kinks = findKinks(built.check.fn, built.check.inputs);
    hessianOut.replaceChildren(
      h(
        'p',
        {},
        'Second derivatives ∂²f/∂xᵢ∂xⱼ within each input, of the function gradcheck checks (f summed if not a scalar), computed by differentiating the backward pass (createGraph):',
      ),
      ...(kinks.length > 0
        ? [
            h(
              'p',
              { class: 'warn', 'data-role': 'hessian-kinks' },
              `At a tie or kink (${kinks.map((k) => `${k.op}: ${k.detail}`).join('; ')}) the function has no second derivative: these are the rules’ one-sided choice.`,
            ),
          ]
        : []),
      ...blocks.map((b) =>
        h(
          'div',
          { class: 'final' },
          h('span', {}, `${b.name} ${shapeText(b.shape)}`),
          b.rows
            ? h(
                'div',
                { class: 'tensor-wrap' },
                h(
                  'table',
                  { class: 'tensor', 'data-role': 'hessian', 'data-label': b.name },
                  h('tbody', {}, ...b.rows.map((r) => h('tr', {}, ...r.map((v) => h('td', {}, fmt(v)))))),
                ),
              )
            : h('p', { class: 'muted' }, 'more than 16 elements: skipped'),
        ),
      ),
    );
  });

  syncForm();
  rebuild();
}

/** Scroll `box` so that `node` is in view, without moving the page. */
function centerIn(box: HTMLElement, node: SVGGElement): void {
  const b = box.getBoundingClientRect();
  const n = node.getBoundingClientRect();
  const dx = n.left + n.width / 2 - (b.left + b.width / 2);
  const dy = n.top + n.height / 2 - (b.top + b.height / 2);
  box.scrollBy({ left: dx, top: dy });
}
