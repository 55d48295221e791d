/**
 * Pendulum-v1, the classic inverted-pendulum swing-up, with Gymnasium's exact
 * constants and equations (gymnasium/envs/classic_control/pendulum.py).
 * @module
 */
import type { Rng } from '@chainrule/tensor';
import { BaseEnv, type BaseEnvOptions, type DynamicsStep } from './base.ts';
import { EnvError } from './errors.ts';
import { Box } from './spaces.ts';
import type { JsonValue } from './types.ts';

/**
 * Wrap an angle into [-π, π), as Gymnasium's `angle_normalize`:
 * `((x + π) mod 2π) - π` with Python's floored modulo (JavaScript's `%` truncates, so
 * negative angles are shifted back into range).
 */
export function angleNormalize(x: number): number {
  const twoPi = 2 * Math.PI;
  let r = (x + Math.PI) % twoPi;
  if (r < 0) r += twoPi;
  return r - Math.PI;
}

/** Constructor options of {@link PendulumEnv}. */
export interface PendulumOptions extends BaseEnvOptions {
  /** Gravitational acceleration (Gymnasium's `g`, default 10.0). */
  g?: number;
}

/**
 * Pendulum-v1: swing a pendulum up and keep it upright with a bounded torque.
 *
 * - State `(θ, θ̇)` with θ = 0 upright; observation `[cos θ, sin θ, θ̇]` in
 *   `[-1, 1] x [-1, 1] x [-8, 8]`.
 * - Action: torque `u` in `[-2, 2]` (clipped).
 * - Reward `-(angleNormalize(θ)² + 0.1 θ̇² + 0.001 u²)`, computed on the state *before*
 *   the transition, so it lies in `[-16.27, 0]`.
 * - Dynamics (semi-implicit Euler, dt = 0.05, m = l = 1):
 *   `θ̇' = clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u) dt, -8, 8)`, then `θ' = θ + θ̇' dt`
 *   (the speed is clipped *before* it integrates the angle).
 * - Reset: θ ~ U(-π, π), θ̇ ~ U(-1, 1) (θ drawn first). Never terminates; the registry
 *   adds the 200-step `TimeLimit`.
 *
 * Gymnasium-exact: the state is float64 and the observation is rounded to float32, as in
 * Gymnasium. There is no rendering here (see {@link PendulumEnv.physicalState}).
 */
export class PendulumEnv extends BaseEnv {
  /** `'Pendulum-v1'`. */
  readonly id = 'Pendulum-v1';
  /** Maximum angular speed (8). */
  readonly maxSpeed = 8;
  /** Maximum torque (2). */
  readonly maxTorque = 2;
  /** Time step (0.05 s). */
  readonly dt = 0.05;
  /** Gravity (default 10). */
  readonly g: number;
  /** Mass (1). */
  readonly m = 1;
  /** Length (1). */
  readonly l = 1;
  /** `[cos θ, sin θ, θ̇]` in `[-1, -1, -8]` .. `[1, 1, 8]`. */
  readonly observationSpace = new Box([-1, -1, -8], [1, 1, 8]);
  /** Torque in `[-2, 2]`, shape `[1]`. */
  readonly actionSpace = new Box(-2, 2, [1]);
  /** `['theta', 'thetaDot']`. */
  readonly stateNames = ['theta', 'thetaDot'] as const;

  /** @param options see {@link PendulumOptions}. */
  constructor(options: PendulumOptions = {}) {
    super(options);
    const g = options.g ?? 10;
    if (typeof g !== 'number' || !Number.isFinite(g)) {
      throw new EnvError('Pendulum-v1', 'constructor', `g must be a finite number, got ${String(g)}`);
    }
    this.g = g;
  }

  /** Rejects a user-supplied `thetaDot` outside `[-8, 8]` (the observation space). */
  protected override checkInitialState(state: Float64Array): void {
    if (Math.abs(state[1]!) > this.maxSpeed) {
      throw new EnvError(
        this.id,
        'reset',
        `initialState.thetaDot = ${state[1]} is outside [-${this.maxSpeed}, ${this.maxSpeed}]`,
      );
    }
  }

  protected override sampleInitialState(rng: Rng): Float64Array {
    const theta = rng.uniform(-Math.PI, Math.PI);
    const thetaDot = rng.uniform(-1, 1);
    return Float64Array.of(theta, thetaDot);
  }

  protected override transition(state: Float64Array, action: Float64Array): DynamicsStep {
    const th = state[0]!;
    const thdot = state[1]!;
    const { g, m, l, dt } = this;
    const u = action[0]!; // already clipped to [-maxTorque, maxTorque]
    const cost = angleNormalize(th) ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2;
    let newthdot = thdot + (((3 * g) / (2 * l)) * Math.sin(th) + (3.0 / (m * l ** 2)) * u) * dt;
    newthdot = Math.min(Math.max(newthdot, -this.maxSpeed), this.maxSpeed);
    const newth = th + newthdot * dt;
    return { state: Float64Array.of(newth, newthdot), reward: -cost, terminated: false };
  }

  protected override observe(state: Float64Array): Float64Array {
    const th = state[0]!;
    // Gymnasium: np.array([cos θ, sin θ, θ̇], dtype=np.float32)
    return Float64Array.of(Math.fround(Math.cos(th)), Math.fround(Math.sin(th)), Math.fround(state[1]!));
  }

  protected override config(): JsonValue {
    return { g: this.g };
  }

  /** Adds `torque`: the last applied (clipped) torque, 0 right after a reset. */
  protected override extraPhysicalState(): Record<string, number> {
    return { torque: this.lastAction?.[0] ?? 0 };
  }
}
