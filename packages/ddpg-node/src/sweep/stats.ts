/**
 * Statistics across seeds.
 * @module
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** Mean and the half-width of its two-sided 95% confidence interval (Student's t, n − 1 dof; null below 2 values). */
export function meanCi95(values: readonly number[]): { mean: number; halfWidth: number | null } {
  const n = values.length;
  if (n === 0) throw new Error('meanCi95: no values');
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { mean, halfWidth: null };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, halfWidth: tQuantile(0.975, n - 1) * Math.sqrt(variance / n) };
}
