/**
 * Study tools: graph pictures (toDot, toMermaid) and backward traces (traceBackward,
 * formatTrace).
 */
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import * as A from '../src/index.ts';

/**
 * y = sum(square(x W + b)) with x a constant [4,2], W a parameter [2,3], b a parameter [3].
 * Seven Vars: x, W, b, matmul, add, square, sum. Six edges.
 */
function smallGraph() {
  const x = A.input(
    [
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ],
    { dtype: 'float64', name: 'x' },
  );
  const W = A.param(
    [
      [0.5, 0, -1],
      [0, 1, 0.25],
    ],
    { dtype: 'float64', name: 'W' },
  );
  const b = A.param([0.5, -1, 2], { dtype: 'float64', name: 'b' });
  const z = A.matmul(x, W);
  const u = A.add(z, b);
  const sq = A.square(u);
  const y = A.sum(sq);
  return { x, W, b, z, u, sq, y, vars: [x, W, b, z, u, sq, y] };
}

/** Node ids declared in a DOT picture, in order. */
function dotNodes(dot: string): number[] {
  return [...dot.matchAll(/^ {2}v(\d+) \[label="/gm)].map((m) => Number(m[1]));
}
/** Edges of a DOT picture as [from, to] ids. */
function dotEdges(dot: string): [number, number][] {
  return [...dot.matchAll(/^ {2}v(\d+) -> v(\d+);$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
}
/** The label of one Var in a DOT picture, with `\n` turned into real newlines. */
function dotLabel(dot: string, id: number): string {
  const m = new RegExp(`^ {2}v${id} \\[label="((?:[^"\\\\]|\\\\.)*)"`, 'm').exec(dot);
  if (!m) throw new Error(`no node v${id}`);
  return m[1]!.replace(/\\n/g, '\n');
}
function mermaidNodes(mmd: string): number[] {
  return [...mmd.matchAll(/^ {2}v(\d+)\["/gm)].map((m) => Number(m[1]));
}
function mermaidEdges(mmd: string): [number, number][] {
  return [...mmd.matchAll(/^ {2}v(\d+) --> v(\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);
}
function mermaidLabel(mmd: string, id: number): string {
  const m = new RegExp(`^ {2}v${id}\\["([^"]*)"\\]$`, 'm').exec(mmd);
  if (!m) throw new Error(`no node v${id}`);
  return m[1]!.replace(/<br\/>/g, '\n');
}

const sortPairs = (e: [number, number][]) => [...e].sort((p, q) => p[0] - q[0] || p[1] - q[1]);

describe('toDot', () => {
  it('is a well-formed digraph with one node per Var and edges input → output', () => {
    const g = smallGraph();
    const dot = A.toDot(g.y);
    const lines = dot.split('\n');
    expect(lines[0]).toBe('digraph chainrule {');
    expect(lines.at(-1)).toBe('}');
    expect(dot).toContain('rankdir=BT;');
    // Balanced braces and quotes outside escapes.
    expect(dot.split('{').length).toBe(dot.split('}').length);
    expect(dot.replace(/\\"/g, '').split('"').length % 2).toBe(1);

    const ids = dotNodes(dot);
    expect([...ids].sort((p, q) => p - q)).toEqual(g.vars.map((v) => v.id).sort((p, q) => p - q));
    expect(new Set(ids).size).toBe(ids.length);
    expect(sortPairs(dotEdges(dot))).toEqual(
      sortPairs([
        [g.x.id, g.z.id],
        [g.W.id, g.z.id],
        [g.z.id, g.u.id],
        [g.b.id, g.u.id],
        [g.u.id, g.sq.id],
        [g.sq.id, g.y.id],
      ]),
    );
    // Every edge endpoint is a declared node.
    for (const [p, q] of dotEdges(dot)) {
      expect(ids).toContain(p);
      expect(ids).toContain(q);
    }
  });

  it('labels each Var with its name or op, shape, dtype and a value summary', () => {
    const g = smallGraph();
    const dot = A.toDot(g.y);
    expect(dotLabel(dot, g.W.id)).toBe(
      `W · leaf #${g.W.id}\nshape [2,3] float64\nvalue mean 0.125 ∈ [-1, 1]`,
    );
    expect(dotLabel(dot, g.b.id)).toBe(`b · leaf #${g.b.id}\nshape [3] float64\nvalue [0.5, -1, 2]`);
    expect(dotLabel(dot, g.x.id)).toContain(`x · constant #${g.x.id}`);
    expect(dotLabel(dot, g.z.id)).toMatch(/^matmul #\d+\nshape \[4,3\] float64\nvalue mean /);
    expect(dotLabel(dot, g.u.id)).toMatch(/^add #\d+\nshape \[4,3\] float64/);
    expect(dotLabel(dot, g.sq.id)).toMatch(/^square #\d+\nshape \[4,3\] float64/);
    // y = Σ (xW + b)²; one element, so the value itself is shown.
    const y = g.y.item();
    expect(dotLabel(dot, g.y.id)).toBe(
      `sum #${g.y.id}\nshape [] float64\nvalue [${Number.isInteger(y) ? y : Number(y.toPrecision(3))}]`,
    );
    // Colours: parameters blue, constants grey, op results white.
    expect(dot).toMatch(new RegExp(`v${g.W.id} \\[.*fillcolor=lightblue\\];`));
    expect(dot).toMatch(new RegExp(`v${g.x.id} \\[.*fillcolor=lightgrey\\];`));
    expect(dot).toMatch(new RegExp(`v${g.u.id} \\[.*fillcolor=white\\];`));
  });

  it('shows the gradient of leaves after backward with retainGraph, and nothing before', () => {
    const g = smallGraph();
    expect(A.toDot(g.y)).not.toContain('grad ');
    g.y.backward(undefined, { retainGraph: true });
    const dot = A.toDot(g.y);
    // dy/db = Σ_rows 2(xW + b): check the numbers against a hand computation.
    const u = g.u.value.dataSync();
    const db = [0, 1, 2].map((j) => [0, 1, 2, 3].reduce((s, i) => s + 2 * u[i * 3 + j]!, 0));
    expect(Array.from(g.b.grad!.dataSync())).toEqual(db);
    const fmt = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(3)).toString());
    expect(dotLabel(dot, g.b.id).split('\n').at(-1)).toBe(`grad [${db.map(fmt).join(', ')}]`);
    expect(dotLabel(dot, g.W.id)).toMatch(/\ngrad mean .* ∈ \[.*\]$/);
    // Non-leaves and constants carry no .grad.
    for (const v of [g.x, g.z, g.u, g.sq, g.y]) expect(dotLabel(dot, v.id)).not.toContain('grad ');
    // The graph was retained: the picture still has every edge.
    expect(dotEdges(dot)).toHaveLength(6);
  });

  it('escapes quotes and backslashes in names', () => {
    const w = A.param([1, 2], { dtype: 'float64', name: 'w"\\1' });
    const dot = A.toDot(A.sum(w));
    expect(dot).toContain('w\\"\\\\1 · leaf');
    expect(dot.replace(/\\\\/g, '').replace(/\\"/g, '').split('"').length % 2).toBe(1);
  });
});

describe('toMermaid', () => {
  it('is a flowchart with one node per Var, edges input → output, and leaves styled', () => {
    const g = smallGraph();
    const mmd = A.toMermaid(g.y);
    const lines = mmd.split('\n');
    expect(lines[0]).toBe('flowchart BT');
    const ids = mermaidNodes(mmd);
    expect([...ids].sort((p, q) => p - q)).toEqual(g.vars.map((v) => v.id).sort((p, q) => p - q));
    expect(sortPairs(mermaidEdges(mmd))).toEqual(sortPairs(dotEdges(A.toDot(g.y))));
    // Every line is a node, an edge or a style line.
    for (const line of lines.slice(1)) {
      expect(line).toMatch(
        /^ {2}(v\d+\["[^"]*"\]|v\d+ --> v\d+|classDef leaf .*;|class (v\d+,)*v\d+ leaf;)$/,
      );
    }
    const classLine = lines.find((l) => l.startsWith('  class '))!;
    const styled = classLine
      .replace(/^ {2}class /, '')
      .replace(/ leaf;$/, '')
      .split(',');
    expect(styled.sort()).toEqual([`v${g.W.id}`, `v${g.b.id}`].sort());
  });

  it('carries the same labels as toDot, with <br/> between lines', () => {
    const g = smallGraph();
    g.y.backward(undefined, { retainGraph: true });
    const mmd = A.toMermaid(g.y);
    const dot = A.toDot(g.y);
    for (const v of g.vars) expect(mermaidLabel(mmd, v.id)).toBe(dotLabel(dot, v.id));
    expect(mermaidLabel(mmd, g.b.id)).toContain('\ngrad [');
  });

  it('escapes double quotes in names', () => {
    const w = A.param([1, 2], { dtype: 'float64', name: 'say "hi"' });
    const mmd = A.toMermaid(A.sum(w));
    expect(mmd).toContain('say #quot;hi#quot; · leaf');
    expect(mermaidNodes(mmd)).toHaveLength(2);
  });

  it('draws several roots once each, and an input used twice as two edges', () => {
    const x = A.param([1, 2, 3], { dtype: 'float64', name: 'x' });
    const sq = A.mul(x, x);
    const y1 = A.sum(sq);
    const y2 = A.mean(sq);
    const mmd = A.toMermaid([y1, y2]);
    const ids = mermaidNodes(mmd);
    expect(new Set(ids).size).toBe(ids.length);
    // x, sq, y1, and for the mean: sum, the constant count, div.
    expect(ids).toHaveLength(6);
    expect(mermaidEdges(mmd).filter(([p, q]) => p === x.id && q === sq.id)).toHaveLength(2);
  });

  it('after grad() without retainGraph only the root is left to draw', () => {
    const g = smallGraph();
    A.grad(g.y, [g.W, g.b]);
    const mmd = A.toMermaid(g.y);
    expect(mermaidNodes(mmd)).toEqual([g.y.id]);
    expect(mermaidEdges(mmd)).toEqual([]);
  });
});

describe('traceBackward and formatTrace', () => {
  it('record the rule that fired and the un-broadcast of a bias add ([4,3] + [3] → sum over axis 0)', () => {
    const x = A.param(T.randn([4, 3], new T.Rng(1), { dtype: 'float64' }), { name: 'x' });
    const b = A.param([0.1, 0.2, 0.3], { dtype: 'float64', name: 'b' });
    const h = A.add(x, b);
    const y = A.sum(h);
    const { result, steps } = A.traceBackward(() => A.grad(y, [x, b]));

    expect(steps.map((s) => s.op)).toEqual(['sum', 'add']);
    const [sumStep, addStep] = steps;
    expect(sumStep).toMatchObject({
      op: 'sum',
      node: y.node!.id,
      output: y.id,
      gradShape: [],
      inputShapes: [[4, 3]],
      ruleShapes: [[4, 3]],
      unbroadcasts: [],
    });
    expect(addStep).toMatchObject({
      op: 'add',
      node: h.node!.id,
      output: h.id,
      gradShape: [4, 3],
      inputShapes: [[4, 3], [3]],
      // add's rule returns g for both inputs; the engine sums the second back to [3].
      ruleShapes: [
        [4, 3],
        [4, 3],
      ],
      unbroadcasts: [{ input: 1, from: [4, 3], to: [3], axes: [0] }],
    });
    // The reduction really happened: db = 4 for each element (4 rows summed).
    expect(result[1]!.shape).toEqual([3]);
    expect(Array.from(result[1]!.value.dataSync())).toEqual([4, 4, 4]);

    const text = A.formatTrace(steps);
    expect(text.split('\n')).toEqual([
      `  1. sum (node #${y.node!.id} → Var#${y.id}): g []; inputs [4,3]; rule gives [4,3]`,
      `  2. add (node #${h.node!.id} → Var#${h.id}): g [4,3]; inputs [4,3], [3]; rule gives [4,3], [4,3]`,
      '       un-broadcast input 1: sum [4,3] over axes [0] → [3]',
    ]);
  });

  it('shows a keepDims-style broadcast ([2,4,3] + [4,1]) reduced over axes 0 and 2', () => {
    const x = A.param(T.ones([2, 4, 3], { dtype: 'float64' }));
    const c = A.param(T.ones([4, 1], { dtype: 'float64' }));
    const { result, steps } = A.traceBackward(() => A.grad(A.sum(A.mul(x, c)), c));
    const mul = steps.find((s) => s.op === 'mul')!;
    expect(mul.unbroadcasts).toEqual([{ input: 1, from: [2, 4, 3], to: [4, 1], axes: [0, 2] }]);
    expect(A.formatTrace(steps)).toContain('un-broadcast input 1: sum [2,4,3] over axes [0,2] → [4,1]');
    expect(Array.from(result.value.dataSync())).toEqual([6, 6, 6, 6]);
  });

  it('marks inputs that get no gradient with —', () => {
    const x = A.input(T.ones([2, 3], { dtype: 'float64' })); // a constant
    const w = A.param(T.ones([3, 2], { dtype: 'float64' }));
    const { steps } = A.traceBackward(() => A.grad(A.sum(A.matmul(x, w)), w));
    const mm = steps.find((s) => s.op === 'matmul')!;
    expect(mm.ruleShapes).toEqual([null, [3, 2]]);
    expect(A.formatTrace(steps)).toMatch(/matmul .*; rule gives —, \[3,2\]$/m);
  });

  it('records only backward passes inside the callback, also for backward()', () => {
    const x = A.param([1, 2], { dtype: 'float64' });
    A.grad(A.sum(A.exp(x)), x); // outside: not traced
    const { steps } = A.traceBackward(() => A.sum(A.tanh(x)).backward());
    expect(steps.map((s) => s.op)).toEqual(['sum', 'tanh']);
    const after = A.traceBackward(() => 0);
    expect(after.steps).toEqual([]);
    expect(A.formatTrace([])).toBe('');
  });
});
