/**
 * The graph as a picture: dagre lays out the Vars (boxes) and the edges from inputs to the
 * Var an op produced, bottom to top like the engine's DOT and Mermaid output; we draw SVG.
 * @module
 */

import type * as A from '@chainrule/autograd';
import * as dagre from '@dagrejs/dagre';
import { labelOf } from './stepper.ts';

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Every Var reachable from `roots`, constants included, and the edges input → output. */
export function collectGraph(roots: readonly A.Var[]): { vars: A.Var[]; edges: [number, number][] } {
  const seen = new Map<number, A.Var>();
  const edges: [number, number][] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v.id)) continue;
    seen.set(v.id, v);
    for (const u of v.node?.inputs ?? []) {
      edges.push([u.id, v.id]);
      stack.push(u);
    }
  }
  return { vars: [...seen.values()], edges };
}

/** A drawn graph: the SVG and a way to highlight the node a backward step is at. */
export interface DrawnGraph {
  readonly svg: SVGSVGElement;
  /** Mark `current` (the Var whose rule fired), its inputs, and the Vars already visited. */
  highlight(current: number | null, inputs: readonly number[], visited: ReadonlySet<number>): void;
}

/** Lay out and draw the graph of `roots`. */
export function drawGraph(roots: readonly A.Var[]): DrawnGraph {
  const { vars, edges } = collectGraph(roots);
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'BT', nodesep: 18, ranksep: 34, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const lines = new Map<number, string[]>();
  for (const v of vars) {
    const kind = v.node ? v.node.op : v.requiresGrad ? 'leaf' : 'constant';
    const l = [labelOf(v), `${v.name ? `${kind} · ` : ''}[${v.shape.join(',')}]`];
    lines.set(v.id, l);
    const width = Math.max(...l.map((s) => s.length)) * 7 + 18;
    g.setNode(String(v.id), { width, height: 38 });
  }
  for (const [a, b] of edges) g.setEdge(String(a), String(b));
  dagre.layout(g);
  const { width = 100, height = 100 } = g.graph();

  const svg = el('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': `computation graph with ${vars.length} values`,
    class: 'graph',
  });
  const defs = el('defs', {});
  const marker = el('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs);

  const edgeEls = new Map<string, SVGPathElement>();
  for (const e of g.edges()) {
    const pts: { x: number; y: number }[] = g.edge(e).points ?? [];
    const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const path = el('path', { d, class: 'edge', 'marker-end': 'url(#arrow)' });
    edgeEls.set(`${e.v}-${e.w}`, path);
    svg.append(path);
  }
  const nodeEls = new Map<number, SVGGElement>();
  for (const v of vars) {
    const n = g.node(String(v.id));
    const kind = v.node ? 'op' : v.requiresGrad ? 'leaf' : 'const';
    const group = el('g', { class: `node ${kind}`, 'data-var': v.id });
    group.append(
      el('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 5 }),
    );
    const [l1, l2] = lines.get(v.id)!;
    group.append(el('text', { x: n.x, y: n.y - 3, class: 'l1' }, l1));
    group.append(el('text', { x: n.x, y: n.y + 12, class: 'l2' }, l2));
    const title = el('title', {}, `${l1}\n${l2}`);
    group.append(title);
    nodeEls.set(v.id, group);
    svg.append(group);
  }

  return {
    svg,
    highlight(current, inputs, visited) {
      for (const [id, e] of nodeEls) {
        e.classList.toggle('current', id === current);
        e.classList.toggle('input', inputs.includes(id));
        e.classList.toggle('visited', visited.has(id) && id !== current);
      }
      for (const [key, e] of edgeEls) {
        const [a, b] = key.split('-').map(Number);
        e.classList.toggle('active', b === current && inputs.includes(a!));
      }
    },
  };
}
