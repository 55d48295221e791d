/**
 * When an environment counts as solved: the evaluation return a run must reach. The sweep
 * counts seeds at or above it, and {@link train} records when a run first reached it.
 * @module
 */

/**
 * Fixed thresholds: Pendulum-v1 −200 (the RL Zoo's "solved" line for 20k-step DDPG/TD3),
 * MountainCarContinuous-v0 90 (Gymnasium's reward threshold).
 */
export const SOLVE_THRESHOLDS: Readonly<Record<string, number>> = {
  'Pendulum-v1': -200,
  'MountainCarContinuous-v0': 90,
};

/**
 * LQR-v0 has no fixed line: its cost depends on the episodes' start states. A run counts
 * as solved when its cost is within 5% of the Riccati-optimal cost on the same evaluation
 * episodes, that is return ≥ 1.05 × the optimal (negative) return.
 */
export const LQR_COST_RATIO = 1.05;

/**
 * The return at or above which an evaluation counts as solved, or undefined for an env
 * without one. `optimalReturnMean` is the optimum on the run's evaluation episodes (LQR-v0).
 */
export function solveThreshold(env: string, optimalReturnMean?: number): number | undefined {
  if (optimalReturnMean !== undefined) return LQR_COST_RATIO * optimalReturnMean;
  return SOLVE_THRESHOLDS[env];
}

/** The first evaluation at or above `threshold`, as {step, wallSeconds}; null if none. */
export function firstSolved(
  evals: readonly { step: number; mean: number; wallSeconds?: number }[],
  threshold: number | undefined,
): { step: number; wallSeconds: number | null } | null {
  if (threshold === undefined) return null;
  const e = evals.find((x) => x.mean >= threshold);
  return e ? { step: e.step, wallSeconds: e.wallSeconds ?? null } : null;
}
