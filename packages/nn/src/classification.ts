/**
 * Classification losses with PyTorch's semantics: `crossEntropyLoss`, `nllLoss` and
 * `bceWithLogitsLoss`. Built from autograd's ops (logSoftmax, where, sums), so their
 * gradients, and second derivatives, come from the primitives' rules.
 *
 * Class indices are integers held in a float tensor (chainrule has no integer dtype); they
 * are read once, checked, and turned into a constant one-hot mask.
 * @module
 */
import type { Var } from '@chainrule/autograd';
import * as A from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { ChainruleError, fmtShape, shapesEqual } from '@chainrule/tensor';
import type { Reduction } from './losses.ts';

/** Options of {@link nllLoss}. */
export interface NllLossOptions {
  /** `'mean'` (default: over the targets that are not ignored), `'sum'` or `'none'`. */
  reduction?: Reduction;
  /** A target equal to this contributes nothing, to the loss or to the mean's count. Default −100. */
  ignoreIndex?: number;
}

/** Options of {@link crossEntropyLoss}. */
export interface CrossEntropyOptions extends NllLossOptions {
  /**
   * ε in [0, 1]: the target becomes (1 − ε)·target + ε/C (Szegedy et al. 2016, §7). Default 0.
   * `ignoreIndex` applies to class indices only, as in PyTorch.
   */
  labelSmoothing?: number;
}

/** Options of {@link bceWithLogitsLoss}. */
export interface BceWithLogitsOptions {
  /** `'mean'` (default), `'sum'` or `'none'`. */
  reduction?: Reduction;
  /** The weight of the positive term per class, broadcast against the logits (PyTorch's `pos_weight`). */
  posWeight?: Var | T.Tensor | number;
}

function checkReduction(op: string, reduction: unknown): Reduction {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new ChainruleError(
      op,
      `unknown reduction ${JSON.stringify(reduction)}; expected 'mean', 'sum' or 'none'`,
    );
  }
  return reduction;
}

function asVar(op: string, name: string, x: unknown): Var {
  if (x instanceof A.Var) return x;
  if (x instanceof T.Tensor) return A.input(x);
  throw new ChainruleError(op, `${name} must be a Var or a Tensor, got ${x === null ? 'null' : typeof x}`);
}

/** The class dimension: 0 for input [C], else 1 ([N, C] or [N, C, d1, ...]). */
function classAxis(op: string, input: Var): number {
  if (input.rank === 0) {
    throw new ChainruleError(op, 'input must have shape [C], [N, C] or [N, C, d1, ...], got a scalar');
  }
  return input.rank === 1 ? 0 : 1;
}

/**
 * The negative log-likelihood of integer class indices, before reduction (0 where ignored),
 * and how many targets count. `logp` holds log-probabilities with classes along `axis`.
 */
function indexNll(
  op: string,
  logp: Var,
  target: Var,
  axis: number,
  ignoreIndex: number,
): { nll: Var; count: number } {
  const shape = logp.shape;
  const want = shape.filter((_, i) => i !== axis);
  if (!shapesEqual(target.shape, want)) {
    throw new ChainruleError(
      op,
      `input ${fmtShape(shape)} needs a target of class indices ${fmtShape(want)} or of class probabilities ${fmtShape(shape)}, got ${fmtShape(target.shape)}`,
    );
  }
  const classes = shape[axis]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  const t = target.value.dataSync();
  const mask = T.allocTyped(logp.dtype, logp.size);
  let count = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (c === ignoreIndex) continue;
    if (!Number.isInteger(c) || c < 0 || c >= classes) {
      throw new ChainruleError(
        op,
        `target[${i}] = ${c} is not a class index: expected an integer in [0, ${classes}) or ignoreIndex (${ignoreIndex})`,
      );
    }
    const outer = Math.floor(i / inner);
    mask[(outer * classes + c) * inner + (i % inner)] = 1;
    count++;
  }
  const onehot = A.input(T.Tensor.fromTyped(mask, [...shape]));
  // where, not a product with the mask: a −∞ log-probability of another class must not give NaN.
  const nll = A.neg(A.sum(A.where(onehot, logp, 0), axis));
  return { nll, count };
}

function reduceOver(x: Var, reduction: Reduction, count: number): Var {
  if (reduction === 'none') return x;
  const total = A.sum(x);
  return reduction === 'sum' ? total : A.div(total, count);
}

function checkIgnoreIndex(op: string, ignoreIndex: unknown): number {
  if (typeof ignoreIndex !== 'number' || !Number.isInteger(ignoreIndex)) {
    throw new ChainruleError(op, `ignoreIndex must be an integer, got ${String(ignoreIndex)}`);
  }
  return ignoreIndex;
}

/**
 * The negative log-likelihood loss (PyTorch's `nll_loss`): −input[n, target[n]] for
 * log-probabilities `input` of shape [C], [N, C] or [N, C, d1, ...] and integer class
 * indices `target` of shape [], [N] or [N, d1, ...]. `'mean'` divides by the number of
 * targets that are not `ignoreIndex` (NaN when there are none, as in PyTorch).
 */
export function nllLoss(input: Var, target: Var | T.Tensor, options: NllLossOptions = {}): Var {
  const op = 'nllLoss';
  const reduction = checkReduction(op, options.reduction ?? 'mean');
  const ignoreIndex = checkIgnoreIndex(op, options.ignoreIndex ?? -100);
  const x = asVar(op, 'input', input);
  const { nll, count } = indexNll(op, x, asVar(op, 'target', target), classAxis(op, x), ignoreIndex);
  return reduceOver(nll, reduction, count);
}

/**
 * The cross-entropy of logits (PyTorch's `cross_entropy`), computed from `logSoftmax`.
 *
 * - `input`: logits [C], [N, C] or [N, C, d1, ...], classes along axis 1 (axis 0 for [C]).
 * - `target`: class indices (integers in a float tensor) of shape [], [N] or [N, d1, ...];
 *   or class probabilities of the input's own shape (the shapes decide, as in PyTorch).
 *
 * With indices, `'mean'` divides by the number of targets that are not `ignoreIndex`; with
 * probabilities, by the number of samples (N·d1·…).
 */
export function crossEntropyLoss(input: Var, target: Var | T.Tensor, options: CrossEntropyOptions = {}): Var {
  const op = 'crossEntropyLoss';
  const reduction = checkReduction(op, options.reduction ?? 'mean');
  const ignoreIndex = checkIgnoreIndex(op, options.ignoreIndex ?? -100);
  const eps = options.labelSmoothing ?? 0;
  if (typeof eps !== 'number' || !(eps >= 0 && eps <= 1)) {
    throw new ChainruleError(op, `labelSmoothing must be in [0, 1], got ${String(eps)}`);
  }
  const x = asVar(op, 'input', input);
  const t = asVar(op, 'target', target);
  const axis = classAxis(op, x);
  const classes = x.shape[axis]!;
  const logp = A.logSoftmax(x, axis);

  if (shapesEqual(t.shape, x.shape)) {
    // Class probabilities: −Σ_c t'_c log p_c with t' = (1 − ε)t + ε/C.
    const smoothed = eps === 0 ? t : A.add(A.mul(t, 1 - eps), eps / classes);
    const perSample = A.neg(A.sum(A.mul(logp, smoothed), axis));
    return reduceOver(perSample, reduction, x.size / classes);
  }

  const { nll, count } = indexNll(op, logp, t, axis, ignoreIndex);
  const loss = reduceOver(nll, reduction, count);
  if (eps === 0) return loss;
  // PyTorch's label smoothing with indices: (1 − ε)·nll + (ε/C)·(−Σ_c log p_c), the second
  // term 0 where the target is ignored and reduced with the same count.
  const kept = A.input(T.notEqual(t.value, ignoreIndex));
  const uniform = A.where(kept, A.neg(A.sum(logp, axis)), 0);
  return A.add(A.mul(loss, 1 - eps), A.mul(reduceOver(uniform, reduction, count), eps / classes));
}

/**
 * softplus(z) = ln(1 + e^z) for any z without overflow: z + ln(1 + e^(−z)) for z > 0,
 * ln(1 + e^z) otherwise, each branch on its safe half of z (so no 0·∞ reaches a gradient).
 * Its gradient at 0 is σ(0) = ½, which max(z, 0) + ln(1 + e^(−|z|)) would get wrong.
 */
function softplusStable(z: Var): Var {
  const pos = A.greater(z, 0);
  const zp = A.where(pos, z, 0);
  const zn = A.where(pos, 0, z);
  return A.where(pos, A.add(zp, A.log1p(A.exp(A.neg(zp)))), A.log1p(A.exp(zn)));
}

/**
 * Binary cross-entropy of logits (PyTorch's `binary_cross_entropy_with_logits`), in
 * log-space: (1 − t)·x + w·softplus(−x) with w = 1 + (posWeight − 1)·t, which is
 * −[w_pos·t·ln σ(x) + (1 − t)·ln(1 − σ(x))] without computing σ(x), so logits of ±1e4 give
 * finite losses and gradients.
 */
export function bceWithLogitsLoss(
  input: Var,
  target: Var | T.Tensor,
  options: BceWithLogitsOptions = {},
): Var {
  const op = 'bceWithLogitsLoss';
  const reduction = checkReduction(op, options.reduction ?? 'mean');
  const x = asVar(op, 'input', input);
  const t = asVar(op, 'target', target);
  if (!shapesEqual(x.shape, t.shape)) {
    throw new ChainruleError(
      op,
      `target ${fmtShape(t.shape)} must have the input's shape ${fmtShape(x.shape)}`,
    );
  }
  const spNeg = softplusStable(A.neg(x));
  let weighted = spNeg;
  if (options.posWeight !== undefined) {
    const pw = options.posWeight;
    let logWeight: Var;
    if (typeof pw === 'number') {
      logWeight = A.add(A.mul(t, pw - 1), 1);
    } else {
      const w = asVar(op, 'posWeight', pw);
      T.broadcastShapes(`${op} (posWeight)`, w.shape, x.shape);
      logWeight = A.add(A.mul(A.sub(w, 1), t), 1);
    }
    weighted = A.mul(logWeight, spNeg);
  }
  const loss = A.add(A.mul(A.sub(1, t), x), weighted);
  return reduceOver(loss, reduction, loss.size);
}
