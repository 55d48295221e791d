/**
 * Small dense matrix helpers (plain `number[][]`, row-major) and the discrete algebraic
 * Riccati equation, for the LQR environment. Written for the tiny sizes of control
 * benchmarks (a handful of states and actions), not for speed.
 * @module
 */

/** A dense matrix as an array of rows; every row has the same length. */
export type Matrix = number[][];

/** The `rows x cols` zero matrix. */
export function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
}

/** The `n x n` identity matrix. */
export function identity(n: number): Matrix {
  const m = zeros(n, n);
  for (let i = 0; i < n; i++) m[i]![i] = 1;
  return m;
}

/** `[rows, cols]` of a matrix (a 0 x 0 matrix for `[]`). */
export function dims(a: Matrix): [number, number] {
  return [a.length, a.length === 0 ? 0 : a[0]!.length];
}

/**
 * Check that `a` is a well-formed matrix of finite numbers (and of the given size).
 * @returns an error description, or null when it is valid.
 */
export function checkMatrix(a: unknown, rows?: number, cols?: number): string | null {
  if (!Array.isArray(a) || a.length === 0) return 'not a non-empty array of rows';
  const c = Array.isArray(a[0]) ? a[0].length : -1;
  for (const row of a) {
    if (!Array.isArray(row) || row.length !== c || c === 0)
      return 'rows are not equal-length non-empty arrays';
    if (row.some((v) => typeof v !== 'number' || !Number.isFinite(v))) return 'has a non-finite entry';
  }
  if (rows !== undefined && a.length !== rows) return `has ${a.length} rows, expected ${rows}`;
  if (cols !== undefined && c !== cols) return `has ${c} columns, expected ${cols}`;
  return null;
}

/** The transpose `aᵀ`. */
export function transpose(a: Matrix): Matrix {
  const [r, c] = dims(a);
  const t = zeros(c, r);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j]![i] = a[i]![j]!;
  return t;
}

/** The product `a b`. Throws on mismatched inner dimensions. */
export function matMul(a: Matrix, b: Matrix): Matrix {
  const [r, k] = dims(a);
  const [k2, c] = dims(b);
  if (k !== k2) throw new RangeError(`matMul: inner dimensions differ (${r}x${k} times ${k2}x${c})`);
  const out = zeros(r, c);
  for (let i = 0; i < r; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i]![p]!;
      if (aip === 0) continue;
      for (let j = 0; j < c; j++) out[i]![j]! += aip * b[p]![j]!;
    }
  }
  return out;
}

/** The matrix-vector product `a x`. */
export function matVec(a: Matrix, x: ArrayLike<number>): Float64Array {
  const [r, c] = dims(a);
  if (x.length !== c) throw new RangeError(`matVec: ${r}x${c} matrix times a vector of length ${x.length}`);
  const out = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += a[i]![j]! * x[j]!;
    out[i] = s;
  }
  return out;
}

/** The element-wise sum `a + b`. */
export function add(a: Matrix, b: Matrix): Matrix {
  return a.map((row, i) => row.map((v, j) => v + b[i]![j]!));
}

/** The element-wise difference `a - b`. */
export function sub(a: Matrix, b: Matrix): Matrix {
  return a.map((row, i) => row.map((v, j) => v - b[i]![j]!));
}

/** `s a`. */
export function scale(a: Matrix, s: number): Matrix {
  return a.map((row) => row.map((v) => v * s));
}

/** `(a + aᵀ) / 2`, to remove rounding asymmetry from a matrix that should be symmetric. */
export function symmetrize(a: Matrix): Matrix {
  return a.map((row, i) => row.map((v, j) => 0.5 * (v + a[j]![i]!)));
}

/** The largest absolute entry. */
export function maxAbs(a: Matrix): number {
  let m = 0;
  for (const row of a) for (const v of row) m = Math.max(m, Math.abs(v));
  return m;
}

/** The quadratic form `xᵀ P x`. */
export function quadForm(p: Matrix, x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    let r = 0;
    for (let j = 0; j < x.length; j++) r += p[i]![j]! * x[j]!;
    s += x[i]! * r;
  }
  return s;
}

/**
 * Solve `a X = b` for `X` by Gaussian elimination with partial pivoting.
 * @throws RangeError if `a` is not square, the sizes disagree, or `a` is (numerically) singular.
 */
export function solve(a: Matrix, b: Matrix): Matrix {
  const [n, n2] = dims(a);
  const [bn, m] = dims(b);
  if (n !== n2 || bn !== n)
    throw new RangeError(`solve: need a square ${n}x${n} system, got ${n}x${n2} and ${bn}x${m}`);
  const lu = a.map((row) => [...row]);
  const x = b.map((row) => [...row]);
  const scaleRef = maxAbs(a) || 1;
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(lu[r]![col]!) > Math.abs(lu[piv]![col]!)) piv = r;
    if (Math.abs(lu[piv]![col]!) <= 1e-14 * scaleRef) throw new RangeError('solve: the matrix is singular');
    [lu[col], lu[piv]] = [lu[piv]!, lu[col]!];
    [x[col], x[piv]] = [x[piv]!, x[col]!];
    const d = lu[col]![col]!;
    for (let r = col + 1; r < n; r++) {
      const f = lu[r]![col]! / d;
      if (f === 0) continue;
      for (let j = col; j < n; j++) lu[r]![j]! -= f * lu[col]![j]!;
      for (let j = 0; j < m; j++) x[r]![j]! -= f * x[col]![j]!;
    }
  }
  for (let col = n - 1; col >= 0; col--) {
    const d = lu[col]![col]!;
    for (let j = 0; j < m; j++) {
      let s = x[col]![j]!;
      for (let k = col + 1; k < n; k++) s -= lu[col]![k]! * x[k]![j]!;
      x[col]![j] = s / d;
    }
  }
  return x;
}

/** True when the symmetric matrix `a` is positive definite (its Cholesky factorisation succeeds). */
export function isPositiveDefinite(a: Matrix): boolean {
  const n = a.length;
  const l = zeros(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i]![j]!;
      for (let k = 0; k < j; k++) s -= l[i]![k]! * l[j]![k]!;
      if (i === j) {
        if (!(s > 0)) return false;
        l[i]![i] = Math.sqrt(s);
      } else {
        l[i]![j] = s / l[j]![j]!;
      }
    }
  }
  return true;
}

/** True when `a` is square and symmetric to within `tol` (relative to its largest entry). */
export function isSymmetric(a: Matrix, tol = 1e-12): boolean {
  const [r, c] = dims(a);
  if (r !== c) return false;
  const ref = maxAbs(a) || 1;
  for (let i = 0; i < r; i++)
    for (let j = 0; j < i; j++) if (Math.abs(a[i]![j]! - a[j]![i]!) > tol * ref) return false;
  return true;
}

/**
 * The LQR gain for a cost-to-go matrix `P`: `K = (R + BᵀPB)⁻¹ BᵀPA`, so that `u = -K x`
 * minimises `uᵀRu + (Ax + Bu)ᵀ P (Ax + Bu)`.
 */
export function lqrGain(a: Matrix, b: Matrix, r: Matrix, p: Matrix): Matrix {
  const bt = transpose(b);
  const btp = matMul(bt, p);
  return solve(add(r, matMul(btp, b)), matMul(btp, a));
}

/**
 * One Riccati step: `Q + AᵀPA − AᵀPB (R + BᵀPB)⁻¹ BᵀPA` (symmetrised). It maps the
 * cost-to-go of the remaining `k` steps to that of `k + 1` steps.
 */
export function riccatiStep(a: Matrix, b: Matrix, q: Matrix, r: Matrix, p: Matrix): Matrix {
  const at = transpose(a);
  const atp = matMul(at, p);
  const atpa = matMul(atp, a);
  const atpb = matMul(atp, b);
  const k = lqrGain(a, b, r, p);
  return symmetrize(sub(add(q, atpa), matMul(atpb, k)));
}

/**
 * The DARE residual `Q + AᵀPA − AᵀPB (R + BᵀPB)⁻¹ BᵀPA − P`; zero at the solution.
 */
export function dareResidual(a: Matrix, b: Matrix, q: Matrix, r: Matrix, p: Matrix): Matrix {
  return sub(riccatiStep(a, b, q, r, p), p);
}

/** Options of {@link solveDare}. */
export interface DareOptions {
  /** Stop when no entry of `P` changes by more than `tol * (1 + max|P|)` (default 1e-13). */
  tol?: number;
  /** Give up after this many iterations (default 100000). */
  maxIterations?: number;
}

/** The result of {@link solveDare}. */
export interface DareSolution {
  /** The stabilising solution `P` (symmetric, positive semi-definite). */
  P: Matrix;
  /** The optimal gain `K` (`u = -K x`), `m x n`. */
  K: Matrix;
  /** The number of fixed-point iterations used. */
  iterations: number;
  /** The largest absolute entry of the DARE residual at `P`. */
  residual: number;
}

/**
 * Solve the discrete algebraic Riccati equation
 * `P = Q + AᵀPA − AᵀPB (R + BᵀPB)⁻¹ BᵀPA` by fixed-point (value) iteration from `P = Q`:
 * the iterates are the optimal costs of longer and longer horizons, which converge to the
 * stabilising solution when `(A, B)` is stabilisable and `(A, Q^½)` detectable (linearly,
 * at the squared closed-loop spectral radius).
 *
 * @param a the `n x n` state matrix.
 * @param b the `n x m` input matrix.
 * @param q the `n x n` symmetric positive semi-definite state cost.
 * @param r the `m x m` symmetric positive definite action cost.
 * @throws RangeError if the iteration does not converge (e.g. `(A, B)` not stabilisable).
 */
export function solveDare(
  a: Matrix,
  b: Matrix,
  q: Matrix,
  r: Matrix,
  options: DareOptions = {},
): DareSolution {
  const tol = options.tol ?? 1e-13;
  const maxIterations = options.maxIterations ?? 100_000;
  let p = q.map((row) => [...row]);
  for (let it = 1; it <= maxIterations; it++) {
    const next = riccatiStep(a, b, q, r, p);
    const ref = maxAbs(next);
    if (!Number.isFinite(ref)) break;
    const change = maxAbs(sub(next, p));
    p = next;
    if (change <= tol * (1 + ref)) {
      return { P: p, K: lqrGain(a, b, r, p), iterations: it, residual: maxAbs(dareResidual(a, b, q, r, p)) };
    }
  }
  throw new RangeError(
    `solveDare: the Riccati iteration did not converge in ${maxIterations} iterations ` +
      '(is (A, B) stabilisable and (A, Q) detectable?)',
  );
}
