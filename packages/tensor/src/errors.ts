/**
 * Errors. Every error chainrule throws about bad input names the op, the values it was
 * given and what it expected.
 * @module
 */

/** An error raised by a chainrule op; `op` names the operation that rejected its input. */
export class ChainruleError extends Error {
  /** The op (or function) that raised the error. */
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ChainruleError';
    this.op = op;
  }
}

/** Format a shape the way error messages print it: `[2,3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
