/**
 * Pictures of the graph: Graphviz DOT and Mermaid. Each Var is a box showing its name or
 * op, its shape, a short summary of its value and, when known, of its gradient. Edges run
 * from inputs to the Var an op produced.
 * @module
 */
import type { Tensor } from '@chainrule/tensor';
import type { Var } from './var.ts';

/** A short value summary: the values for tiny tensors, else mean and range. */
export function summarize(t: Tensor): string {
  const d = t.dataSync();
  const f = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(3)).toString());
  if (d.length === 0) return 'empty';
  if (d.length <= 4) return `[${Array.from(d, f).join(', ')}]`;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let s = 0;
  for (const v of d) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    s += v;
  }
  return `mean ${f(s / d.length)} ∈ [${f(lo)}, ${f(hi)}]`;
}

interface GraphNode {
  v: Var;
  label: string[];
}

function collect(roots: readonly Var[]): { nodes: GraphNode[]; edges: [number, number][] } {
  const seen = new Map<Var, GraphNode>();
  const edges: [number, number][] = [];
  // An explicit stack rather than recursion, so deep graphs do not overflow the call stack.
  const stack: Var[] = [...roots];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    const what = v.node ? `${v.node.op}` : v.requiresGrad ? 'leaf' : 'constant';
    const label = [
      `${v.name ? `${v.name} · ` : ''}${what} #${v.id}`,
      `shape [${v.shape.join(',')}] ${v.dtype}`,
      `value ${summarize(v.value)}`,
    ];
    if (v.grad) label.push(`grad ${summarize(v.grad)}`);
    seen.set(v, { v, label });
    for (const u of v.node?.inputs ?? []) {
      edges.push([u.id, v.id]);
      stack.push(u);
    }
  }
  return { nodes: [...seen.values()], edges };
}

/**
 * The graph that produced `roots` in Graphviz DOT. Render with `dot -Tsvg`.
 * Leaves that require gradients are blue, constants grey.
 */
export function toDot(roots: Var | Var[]): string {
  const { nodes, edges } = collect(Array.isArray(roots) ? roots : [roots]);
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  const lines = [
    'digraph chainrule {',
    '  rankdir=BT;',
    '  node [shape=box, fontname="monospace", fontsize=10];',
  ];
  for (const { v, label } of nodes) {
    const fill = v.node ? 'white' : v.requiresGrad ? 'lightblue' : 'lightgrey';
    lines.push(`  v${v.id} [label="${label.map(esc).join('\\n')}", style=filled, fillcolor=${fill}];`);
  }
  for (const [a, b] of edges) lines.push(`  v${a} -> v${b};`);
  lines.push('}');
  return lines.join('\n');
}

/** The graph that produced `roots` as a Mermaid flowchart (GitHub renders it in Markdown). */
export function toMermaid(roots: Var | Var[]): string {
  const { nodes, edges } = collect(Array.isArray(roots) ? roots : [roots]);
  const esc = (s: string) => s.replace(/"/g, '#quot;');
  const lines = ['flowchart BT'];
  for (const { v, label } of nodes) lines.push(`  v${v.id}["${label.map(esc).join('<br/>')}"]`);
  for (const [a, b] of edges) lines.push(`  v${a} --> v${b}`);
  const leaves = nodes.filter(({ v }) => !v.node && v.requiresGrad).map(({ v }) => `v${v.id}`);
  if (leaves.length > 0) {
    lines.push('  classDef leaf fill:#dbeafe,stroke:#1e40af;');
    lines.push(`  class ${leaves.join(',')} leaf;`);
  }
  return lines.join('\n');
}
