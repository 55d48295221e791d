/**
 * Small DOM helpers: build elements, and show a tensor as a table of numbers.
 * @module
 */
import type { Tensor } from '@chainrule/tensor';

type Child = Node | string | null | undefined | false;

/** Create an element with attributes (`on*` keys take listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | EventListener | undefined> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') e.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

/** A number as the page prints it: 6 significant digits, no trailing zeros. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  return String(Number(v.toPrecision(6)));
}

const MAX_ROWS = 10;
const MAX_COLS = 10;

/**
 * A tensor as a table (rank ≤ 2; higher ranks are shown as rows of their last axis).
 * `data-shape` carries the shape; cells beyond 10×10 are elided with a note. The table comes
 * wrapped in a scrolling box.
 */
export function tensorTable(t: Tensor, attrs: Record<string, string> = {}): HTMLElement {
  const d = t.dataSync();
  const cols = t.rank === 0 ? 1 : t.shape[t.rank - 1]!;
  const rows = cols === 0 ? 0 : d.length / cols;
  const table = h('table', { class: 'tensor', 'data-shape': t.shape.join(','), ...attrs });
  const body = h('tbody');
  for (let r = 0; r < Math.min(rows, MAX_ROWS); r++) {
    const tr = h('tr');
    for (let c = 0; c < Math.min(cols, MAX_COLS); c++) tr.append(h('td', {}, fmt(d[r * cols + c]!)));
    if (cols > MAX_COLS) tr.append(h('td', { class: 'more' }, '…'));
    body.append(tr);
  }
  if (rows > MAX_ROWS)
    body.append(h('tr', {}, h('td', { class: 'more', colspan: MAX_COLS }, `… ${rows} rows`)));
  table.append(body);
  // Wide tensors scroll inside their own box instead of widening the page.
  return h('div', { class: 'tensor-wrap' }, table);
}

/** A shape as the library prints it: `[2,3]`. */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
