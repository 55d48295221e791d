/**
 * Scopes: deterministic release of temporaries, for backends whose memory the garbage
 * collector cannot see (WebAssembly memory, GPU textures).
 *
 * `tidy(fn, keep)` runs `fn`, then disposes every tensor created inside it, except the
 * tensors `keep()` lists after `fn` returns and any tensors `fn` returns. A training step
 * wraps itself in one scope and keeps its parameters, buffers and optimiser state.
 * With `{ releaseReplaced: true }`, tensors `keep()` listed before `fn` ran but not after
 * (parameter values an optimiser replaced) are released as well.
 * Disposing a tensor that something still uses turns later use into a clear error, never
 * into wrong numbers.
 * @module
 */
import type { Tensor } from './tensor.ts';

const scopes: Tensor[][] = [];

/** @internal Record a new tensor in the innermost scope (called by the Tensor constructor). */
export function trackTensor(t: Tensor): void {
  const top = scopes[scopes.length - 1];
  if (top) top.push(t);
}

function collect(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 3 || value === null || typeof value !== 'object') return;
  if ('dataSync' in value && 'shape' in value && 'dispose' in value) {
    into.add(value as Tensor);
    return;
  }
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const v of items) collect(v, into, depth + 1);
}

/**
 * Run `fn` and dispose the tensors it created, except those it returns (directly, or in
 * arrays and plain objects) and those listed by `keep` (evaluated after `fn`).
 * Scopes nest: tensors kept by an inner scope belong to the enclosing one.
 */
export function tidy<R>(
  fn: () => R,
  keep?: () => Iterable<Tensor | null | undefined>,
  options: { releaseReplaced?: boolean } = {},
): R {
  // With releaseReplaced, tensors that `keep` listed before `fn` but not after were replaced
  // (an optimiser step swaps parameter values): they are released too.
  const before = options.releaseReplaced && keep ? new Set(keep()) : undefined;
  scopes.push([]);
  let created: Tensor[] = [];
  let result: R;
  try {
    result = fn();
  } finally {
    created = scopes.pop()!;
  }
  const kept = new Set<Tensor>();
  collect(result, kept);
  if (keep) for (const t of keep()) if (t) kept.add(t);
  const outer = scopes[scopes.length - 1];
  for (const t of created) {
    if (kept.has(t)) outer?.push(t);
    else t.dispose();
  }
  if (before) for (const t of before) if (t && !kept.has(t)) t.dispose();
  return result;
}
