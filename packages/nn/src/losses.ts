/**
 * Losses, with PyTorch's `reduction` argument.
 * @module
 */

import type { Var } from '@chainrule/autograd';
import * as A from '@chainrule/autograd';
import { ChainruleError, fmtShape, shapesEqual } from '@chainrule/tensor';

/** How to reduce the per-element losses. */
export type Reduction = 'mean' | 'sum' | 'none';

function checkPair(op: string, pred: Var, target: Var, reduction: Reduction): void {
  if (!shapesEqual(pred.shape, target.shape)) {
    throw new ChainruleError(
      op,
      `prediction ${fmtShape(pred.shape)} and target ${fmtShape(target.shape)} must have the same shape`,
    );
  }
  if (!['mean', 'sum', 'none'].includes(reduction)) {
    throw new ChainruleError(op, `unknown reduction "${reduction}"; expected 'mean', 'sum' or 'none'`);
  }
}

function reduce(x: Var, reduction: Reduction): Var {
  return reduction === 'none' ? x : reduction === 'sum' ? A.sum(x) : A.mean(x);
}

/** Mean squared error: reduce((pred − target)²). */
export function mseLoss(pred: Var, target: Var, options: { reduction?: Reduction } = {}): Var {
  const reduction = options.reduction ?? 'mean';
  checkPair('mseLoss', pred, target, reduction);
  return reduce(A.square(A.sub(pred, target)), reduction);
}

/**
 * Huber loss (PyTorch's HuberLoss; with delta = 1 it equals smooth L1):
 * ½d² where |d| ≤ δ, else δ(|d| − ½δ), with d = pred − target.
 */
export function huberLoss(
  pred: Var,
  target: Var,
  options: { reduction?: Reduction; delta?: number } = {},
): Var {
  const reduction = options.reduction ?? 'mean';
  const delta = options.delta ?? 1;
  checkPair('huberLoss', pred, target, reduction);
  if (!(delta > 0)) throw new ChainruleError('huberLoss', `delta must be > 0, got ${delta}`);
  const d = A.sub(pred, target);
  const ad = A.abs(d);
  const quadratic = A.mul(A.square(d), 0.5);
  const linear = A.mul(A.sub(ad, 0.5 * delta), delta);
  return reduce(A.where(A.lessEqual(ad, delta), quadratic, linear), reduction);
}

/** Smooth L1 loss with β (PyTorch's SmoothL1Loss): huber(δ = β) / β. */
export function smoothL1Loss(
  pred: Var,
  target: Var,
  options: { reduction?: Reduction; beta?: number } = {},
): Var {
  const reduction = options.reduction ?? 'mean';
  const beta = options.beta ?? 1;
  checkPair('smoothL1Loss', pred, target, reduction);
  if (!(beta > 0)) throw new ChainruleError('smoothL1Loss', `beta must be > 0, got ${beta}`);
  return A.div(huberLoss(pred, target, { reduction, delta: beta }), beta);
}
