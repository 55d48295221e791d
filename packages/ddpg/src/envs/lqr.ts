/**
 * LQR-v0: a discrete-time linear-quadratic regulator (by default a double integrator)
 * whose optimal policy is known in closed form, so a learned policy can be scored against
 * the true optimum.
 * @module
 */
import type { Rng } from '@chainrule/tensor';
import { BaseEnv, type BaseEnvOptions, type DynamicsStep, validateAction } from './base.ts';
import { EnvError } from './errors.ts';
import {
  checkMatrix,
  identity,
  isPositiveDefinite,
  isSymmetric,
  type Matrix,
  matVec,
  maxAbs,
  quadForm,
  riccatiStep,
  scale,
  solveDare,
  zeros,
} from './linalg.ts';
import { type Policy, type RolloutResult, rolloutPolicy } from './rollout.ts';
import { Box } from './spaces.ts';
import type { JsonValue } from './types.ts';
import { TimeLimit } from './wrappers.ts';

/** The default LQR episode length (the registry's time limit). */
export const LQR_DEFAULT_HORIZON = 100;

/** Constructor options of {@link LqrEnv}. */
export interface LqrOptions extends BaseEnvOptions {
  /** The time step of the default double integrator (default 0.1); ignored when `A` and `B` are given. */
  dt?: number;
  /** The `n x n` state matrix (default `[[1, dt], [0, 1]]`). Give `A` and `B` together. */
  A?: Matrix;
  /** The `n x m` input matrix (default `[[dt²/2], [dt]]`). */
  B?: Matrix;
  /** The state cost: an `n x n` symmetric PSD matrix, or a scalar `q` for `q I` (default 1). */
  Q?: Matrix | number;
  /** The action cost: an `m x m` symmetric PD matrix, or a scalar `r > 0` for `r I` (default 0.1). */
  R?: Matrix | number;
  /** Actions are clipped to `[-actionBound, actionBound]` per element (default 10). */
  actionBound?: number;
  /** Initial states are drawn from `U(-initBound, initBound)^n` (default 1). */
  initBound?: number;
  /** Names of the state variables (default `position, velocity` for the double integrator, else `x0, x1, ...`). */
  stateNames?: string[];
}

function copyMatrix(a: Matrix): Matrix {
  return a.map((row) => [...row]);
}

function freeze(a: Matrix): Matrix {
  for (const row of a) Object.freeze(row);
  return Object.freeze(a) as Matrix;
}

/**
 * LQR-v0: state `x ∈ Rⁿ`, action `u ∈ Rᵐ`, dynamics `x' = A x + B u`, reward
 * `-(xᵀQx + uᵀRu)` (the cost of the state *before* the transition and the clipped action).
 * The observation is the state itself (unbounded observation space). Never terminates; the
 * registry adds a 100-step `TimeLimit`.
 *
 * Defaults: the double integrator with `dt = 0.1`, `A = [[1, dt], [0, 1]]`,
 * `B = [[dt²/2], [dt]]` (exact zero-order-hold discretisation of `p̈ = u`), `Q = I`,
 * `R = 0.1`, initial state `U(-1, 1)²`, actions clipped to `[-10, 10]`. The optimal gain is
 * then `K ≈ [2.586, 3.443]`, so from any initial state `|u| ≤ |K|₁ ≈ 6.03` and along
 * the optimal trajectory the action only shrinks: the bound never clips the optimal policy
 * (a smaller bound such as 5 would clip it near the corners of the initial box).
 *
 * The infinite-horizon optimum comes from the discrete algebraic Riccati equation (solved
 * at construction): `V*(x) = xᵀPx` and `u* = -Kx`.
 */
export class LqrEnv extends BaseEnv {
  /** `'LQR-v0'`. */
  readonly id = 'LQR-v0';
  /** State matrix (frozen). */
  readonly A: Matrix;
  /** Input matrix (frozen). */
  readonly B: Matrix;
  /** State cost (frozen). */
  readonly Q: Matrix;
  /** Action cost (frozen). */
  readonly R: Matrix;
  /** The state dimension `n`. */
  readonly stateDim: number;
  /** The action dimension `m`. */
  readonly actionDim: number;
  /** The per-element action bound. */
  readonly actionBound: number;
  /** The per-element bound of the initial-state distribution. */
  readonly initBound: number;
  /** Unbounded, shape `[n]`. */
  readonly observationSpace: Box;
  /** `[-actionBound, actionBound]^m`. */
  readonly actionSpace: Box;
  /** The state variable names. */
  readonly stateNames: readonly string[];
  /** The number of Riccati iterations the solver needed. */
  readonly riccatiIterations: number;
  private readonly options: LqrOptions;
  private readonly P: Matrix;
  private readonly K: Matrix;

  /**
   * @param options see {@link LqrOptions}.
   * @throws EnvError on inconsistent matrices or when the Riccati iteration does not converge.
   */
  constructor(options: LqrOptions = {}) {
    super(options);
    const fail = (why: string): never => {
      throw new EnvError('LQR-v0', 'constructor', why);
    };
    this.options = { ...options };
    const dt = options.dt ?? 0.1;
    if (!(Number.isFinite(dt) && dt > 0)) fail(`dt must be a finite number > 0, got ${dt}`);
    if ((options.A === undefined) !== (options.B === undefined)) fail('give A and B together (or neither)');
    const A =
      options.A !== undefined
        ? copyMatrix(options.A)
        : [
            [1, dt],
            [0, 1],
          ];
    const B = options.B !== undefined ? copyMatrix(options.B) : [[0.5 * dt * dt], [dt]];
    const errA = checkMatrix(A);
    if (errA !== null) fail(`A ${errA}`);
    const n = A.length;
    if (A[0]!.length !== n) fail(`A must be square, got ${n}x${A[0]!.length}`);
    const errB = checkMatrix(B, n);
    if (errB !== null) fail(`B ${errB} (B must be ${n} x m)`);
    const m = B[0]!.length;
    const asMatrix = (v: Matrix | number | undefined, dflt: number, size: number, name: string): Matrix => {
      if (v === undefined || typeof v === 'number') {
        const s = v ?? dflt;
        if (!Number.isFinite(s)) fail(`${name} must be finite, got ${s}`);
        return scale(identity(size), s);
      }
      const err = checkMatrix(v, size, size);
      if (err !== null) fail(`${name} ${err} (expected ${size}x${size})`);
      if (!isSymmetric(v)) fail(`${name} must be symmetric`);
      return copyMatrix(v);
    };
    const Q = asMatrix(options.Q, 1, n, 'Q');
    const R = asMatrix(options.R, 0.1, m, 'R');
    const jitter = 1e-12 * (1 + maxAbs(Q));
    if (!isPositiveDefinite(Q.map((row, i) => row.map((v, j) => v + (i === j ? jitter : 0))))) {
      fail('Q must be positive semi-definite');
    }
    if (!isPositiveDefinite(R)) fail('R must be positive definite');
    const actionBound = options.actionBound ?? 10;
    if (!(Number.isFinite(actionBound) && actionBound > 0))
      fail(`actionBound must be > 0, got ${actionBound}`);
    const initBound = options.initBound ?? 1;
    if (!(Number.isFinite(initBound) && initBound >= 0)) fail(`initBound must be >= 0, got ${initBound}`);
    const defaultNames =
      options.A === undefined ? ['position', 'velocity'] : Array.from({ length: n }, (_, i) => `x${i}`);
    const names = options.stateNames ?? defaultNames;
    if (!Array.isArray(names) || names.length !== n || new Set(names).size !== n) {
      fail(`stateNames must be ${n} distinct names, got ${JSON.stringify(names)}`);
    }
    let sol: ReturnType<typeof solveDare>;
    try {
      sol = solveDare(A, B, Q, R);
    } catch (e) {
      throw new EnvError('LQR-v0', 'constructor', (e as Error).message);
    }
    this.A = freeze(A);
    this.B = freeze(B);
    this.Q = freeze(Q);
    this.R = freeze(R);
    this.P = freeze(sol.P);
    this.K = freeze(sol.K);
    this.riccatiIterations = sol.iterations;
    this.stateDim = n;
    this.actionDim = m;
    this.actionBound = actionBound;
    this.initBound = initBound;
    this.stateNames = Object.freeze([...names]);
    this.observationSpace = new Box(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, [n]);
    this.actionSpace = new Box(-actionBound, actionBound, [m]);
  }

  protected override sampleInitialState(rng: Rng): Float64Array {
    const x = new Float64Array(this.stateDim);
    for (let i = 0; i < x.length; i++) x[i] = rng.uniform(-this.initBound, this.initBound);
    return x;
  }

  /** The stage cost `xᵀQx + uᵀRu`. */
  stageCost(x: ArrayLike<number>, u: ArrayLike<number>): number {
    return quadForm(this.Q, x) + quadForm(this.R, u);
  }

  /** `A x + B u`. */
  nextState(x: ArrayLike<number>, u: ArrayLike<number>): Float64Array {
    const ax = matVec(this.A, x);
    const bu = matVec(this.B, u);
    for (let i = 0; i < ax.length; i++) ax[i]! += bu[i]!;
    return ax;
  }

  protected override transition(state: Float64Array, action: Float64Array): DynamicsStep {
    return {
      state: this.nextState(state, action),
      reward: -this.stageCost(state, action),
      terminated: false,
    };
  }

  protected override observe(state: Float64Array): Float64Array {
    return Float64Array.from(state);
  }

  protected override config(): JsonValue {
    return {
      A: copyMatrix(this.A),
      B: copyMatrix(this.B),
      Q: copyMatrix(this.Q),
      R: copyMatrix(this.R),
      actionBound: this.actionBound,
      initBound: this.initBound,
    };
  }

  private checkState(method: string, x: ArrayLike<number>): void {
    if (x === null || typeof x !== 'object' || x.length !== this.stateDim) {
      throw new EnvError(this.id, method, `expected a state of ${this.stateDim} numbers, got ${String(x)}`);
    }
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) throw new EnvError(this.id, method, `state element ${i} is ${x[i]}`);
    }
  }

  /** The optimal gain `K` (`m x n`, a copy): the optimal policy is `u = -K x`. */
  optimalGain(): Matrix {
    return copyMatrix(this.K);
  }

  /** The stabilising DARE solution `P` (`n x n`, a copy): `V*(x) = xᵀPx`. */
  riccatiSolution(): Matrix {
    return copyMatrix(this.P);
  }

  /** The optimal action `-K x` for an observation (clipped into the action space, a no-op in practice). */
  optimalAction(observation: ArrayLike<number>): Float64Array {
    this.checkState('optimalAction', observation);
    const u = matVec(this.K, observation);
    for (let i = 0; i < u.length; i++) u[i] = -u[i]!;
    return this.actionSpace.clip(u, u);
  }

  /** The optimal policy as a {@link Policy}. */
  optimalPolicy(): Policy {
    return (obs) => this.optimalAction(obs);
  }

  /** The optimal infinite-horizon cost from `x0`: `x0ᵀ P x0` (the return is its negative). */
  optimalCost(x0: ArrayLike<number>): number {
    this.checkState('optimalCost', x0);
    return quadForm(this.P, x0);
  }

  /**
   * The return of `policy` over `horizon` steps from `x0`, with exactly the env's dynamics,
   * clipping and reward (no RNG involved).
   */
  rolloutReturn(x0: ArrayLike<number>, policy: Policy, horizon: number = LQR_DEFAULT_HORIZON): number {
    this.checkState('rolloutReturn', x0);
    if (!Number.isInteger(horizon) || horizon < 0) {
      throw new EnvError(this.id, 'rolloutReturn', `horizon must be a non-negative integer, got ${horizon}`);
    }
    let x: Float64Array = Float64Array.from(x0);
    let ret = 0;
    for (let t = 0; t < horizon; t++) {
      const u = validateAction(this.id, policy(Float64Array.from(x)), this.actionSpace);
      ret -= this.stageCost(x, u);
      x = this.nextState(x, u);
    }
    return ret;
  }

  /**
   * The return of the optimal (stationary, infinite-horizon) policy `u = -Kx` over
   * `horizon` steps from `x0`: what an episode of that length scores. As `horizon` grows it
   * tends to `-optimalCost(x0)`.
   */
  optimalReturn(x0: ArrayLike<number>, horizon: number = LQR_DEFAULT_HORIZON): number {
    return this.rolloutReturn(x0, this.optimalPolicy(), horizon);
  }

  /**
   * The exact optimal cost of a `horizon`-step episode from `x0` when the policy may depend
   * on the time step (backward Riccati recursion from `P = 0`, no action bound). No policy of
   * the observation alone can do better; the stationary optimum is within a relative
   * ~1e-9 of it for the default env and horizon 100.
   */
  finiteHorizonOptimalCost(x0: ArrayLike<number>, horizon: number = LQR_DEFAULT_HORIZON): number {
    this.checkState('finiteHorizonOptimalCost', x0);
    let p = zeros(this.stateDim, this.stateDim);
    for (let k = 0; k < horizon; k++) p = riccatiStep(this.A, this.B, this.Q, this.R, p);
    return quadForm(p, x0);
  }

  /**
   * Evaluate `policy` on `nEpisodes` episodes of `horizon` steps, episode `i` starting from
   * `reset({ seed: seed + i })` of a fresh copy of this env (this env is not touched), so
   * every policy evaluated with the same seed sees the same initial states.
   */
  rolloutPolicy(
    policy: Policy,
    nEpisodes: number,
    seed: number,
    horizon: number = LQR_DEFAULT_HORIZON,
  ): RolloutResult {
    const env = new TimeLimit(new LqrEnv(this.options), horizon);
    return rolloutPolicy(env, policy, { episodes: nEpisodes, seed, maxSteps: horizon });
  }

  /** {@link LqrEnv.rolloutPolicy} for the optimal policy `u = -Kx`: the score to compare against. */
  evaluateOptimalPolicy(
    nEpisodes: number,
    seed: number,
    horizon: number = LQR_DEFAULT_HORIZON,
  ): RolloutResult {
    return this.rolloutPolicy(this.optimalPolicy(), nEpisodes, seed, horizon);
  }
}
