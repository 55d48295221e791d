/**
 * The error type thrown by environments and wrappers, and the formatting helpers the
 * messages share.
 * @module
 */

/**
 * An error raised by an environment or wrapper about bad input or bad call order.
 * The message always starts with the environment (or wrapper) and the method, e.g.
 * `Pendulum-v1.step: ...`.
 */
export class EnvError extends Error {
  /** The environment or wrapper that raised the error, e.g. `'Pendulum-v1'` or `'TimeLimit(LQR-v0)'`. */
  readonly env: string;
  /**
   * @param env the environment or wrapper name.
   * @param method the method that rejected its input (`'step'`, `'reset'`, ...).
   * @param message what was wrong and what was expected.
   */
  constructor(env: string, method: string, message: string) {
    super(`${env}.${method}: ${message}`);
    this.name = 'EnvError';
    this.env = env;
  }
}

/** Format a number list for error messages: `[0.5, NaN]` (long lists are elided). */
export function fmtValues(values: ArrayLike<unknown>, max = 8): string {
  const parts: string[] = [];
  const n = values.length;
  for (let i = 0; i < Math.min(n, max); i++) parts.push(String(values[i]));
  if (n > max) parts.push(`... (${n} values)`);
  return `[${parts.join(', ')}]`;
}

/** Format a bound pair for error messages: `[-2, 2]` per element, or a list of intervals. */
export function fmtBounds(low: ArrayLike<number>, high: ArrayLike<number>): string {
  const n = low.length;
  let same = true;
  for (let i = 1; i < n; i++) if (low[i] !== low[0] || high[i] !== high[0]) same = false;
  if (n > 0 && same) return `[${low[0]}, ${high[0]}]`;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`[${low[i]}, ${high[i]}]`);
  return parts.join(' x ');
}
