/**
 * Scopes: deterministic release of temporaries, for backends whose memory the garbage
 * collector cannot see (WebAssembly memory, GPU textures). The model is tfjs's `tf.tidy`.
 *
 * `tidy(fn)` runs `fn`, then disposes every tensor created inside it except:
 * - the tensors `fn` returns (directly, in arrays or plain objects, or as an autograd
 *   Var's value), which move to the enclosing scope;
 * - variables (`keep()`): parameters, running statistics and optimiser state. An optimiser
 *   step `assign()`s their new values in place, so nothing needs a keep list.
 * Disposing a tensor that something still uses turns later use into a clear error, never
 * into wrong numbers. See docs/memory.md.
 * @module
 */
import { ChainruleError } from './errors.ts';
import type { Tensor } from './tensor.ts';

const scopes: Tensor[][] = [];

/**
 * @internal Record a new tensor in the innermost scope (called by the Tensor constructor).
 * Returns false when no scope is open: the tensor then belongs to the garbage collector.
 */
export function trackTensor(t: Tensor): boolean {
  const top = scopes[scopes.length - 1];
  if (!top) return false;
  top.push(t);
  return true;
}

function isTensor(value: object): value is Tensor {
  return 'dataSync' in value && 'shape' in value && 'dispose' in value;
}

/** The tensors in a scope's result: tensors, arrays and plain objects of them, and Vars' values. */
function collect(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, into, depth + 1);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    for (const v of Object.values(value)) collect(v, into, depth + 1);
    return;
  }
  // An autograd Var (tensor cannot import autograd): keep its value and gradient. Its
  // graph's other tensors are released, so backward through it afterwards is a clear error.
  const { value: v, grad } = value as { value?: unknown; grad?: unknown };
  if (v && typeof v === 'object' && isTensor(v)) into.add(v);
  if (grad && typeof grad === 'object' && isTensor(grad)) into.add(grad);
}

function release(created: readonly Tensor[], kept: ReadonlySet<Tensor>): void {
  const outer = scopes[scopes.length - 1];
  for (const t of created) {
    if (t.isVariable || t.isDisposed) continue;
    if (!kept.has(t)) t.dispose();
    else if (outer) outer.push(t);
    else t.releaseOnGC();
  }
}

/**
 * Run `fn` and dispose every tensor it created, except the ones it returns (directly, in
 * arrays and plain objects, or as a Var's value), which belong to the enclosing scope, and
 * variables (`keep()`), which no scope releases. Scopes nest. If `fn` throws, its tensors
 * are disposed and the error propagates. Like tfjs's `tf.tidy`; `fn` must be synchronous.
 */
export function tidy<R>(fn: () => R): R {
  if (typeof fn !== 'function') {
    throw new ChainruleError('tidy', `expected a function, got ${typeof fn}`);
  }
  scopes.push([]);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    release(scopes.pop()!, new Set());
    throw e;
  }
  const created = scopes.pop()!;
  if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as { then?: unknown }).then === 'function'
  ) {
    release(created, new Set());
    throw new ChainruleError(
      'tidy',
      'the function returned a Promise; tidy() is synchronous (await outside it, and tidy the synchronous parts)',
    );
  }
  const kept = new Set<Tensor>();
  collect(result, kept);
  release(created, kept);
  return result;
}
