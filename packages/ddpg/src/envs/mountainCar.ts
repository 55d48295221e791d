/**
 * MountainCarContinuous-v0, Gymnasium-exact: its constants, update, reward and float32
 * state (gymnasium/envs/classic_control/continuous_mountain_car.py).
 * @module
 */
import type { Rng } from '@chainrule/tensor';
import { BaseEnv, type BaseEnvOptions, type DynamicsStep } from './base.ts';
import { EnvError } from './errors.ts';
import { Box } from './spaces.ts';
import type { JsonValue } from './types.ts';

/** Constructor options of {@link MountainCarContinuousEnv}. */
export interface MountainCarContinuousOptions extends BaseEnvOptions {
  /** The velocity the car must have (at least) at the goal (Gymnasium's `goal_velocity`, default 0). */
  goalVelocity?: number;
}

/**
 * MountainCarContinuous-v0: an under-powered car in a valley must rock back and forth to
 * reach the flag on the right hill.
 *
 * - State / observation `[position, velocity]` in `[-1.2, 0.6] x [-0.07, 0.07]`; the track
 *   height is `sin(3 position)`.
 * - Action: force in `[-1, 1]` (clipped).
 * - Update, in this order: `velocity += force * 0.0015 - 0.0025 cos(3 position)`; clip the
 *   velocity to ±0.07; `position += velocity`; clip the position to `[-1.2, 0.6]`; if the
 *   car is at the left wall (`position == -1.2`) moving left, `velocity = 0` (inelastic).
 * - `terminated = position >= 0.45 && velocity >= goalVelocity`.
 * - Reward `-0.1 action[0]²` on the **raw** action (only the force is clipped, so an
 *   action of 2.8 pushes like 1 and costs 0.784), plus 100 on the terminating step.
 * - The state is stored as float32 after every step (`np.array(..., dtype=np.float32)`);
 *   the step's arithmetic is float64 on it, as NumPy 1.x promotes float32 scalars mixed
 *   with Python floats. Observations are the state rounded to float32.
 * - Reset: position ~ U(-0.6, -0.4), velocity 0 (kept in float64 until the first step, as
 *   Gymnasium's reset does; the observation is rounded).
 * - The registry adds the 999-step `TimeLimit`.
 */
export class MountainCarContinuousEnv extends BaseEnv {
  /** `'MountainCarContinuous-v0'`. */
  readonly id = 'MountainCarContinuous-v0';
  /** Smallest force (-1). */
  readonly minAction = -1.0;
  /** Largest force (1). */
  readonly maxAction = 1.0;
  /** Left wall (-1.2). */
  readonly minPosition = -1.2;
  /** Right end of the track (0.6). */
  readonly maxPosition = 0.6;
  /** Speed limit (0.07). */
  readonly maxSpeed = 0.07;
  /** Position of the flag (0.45). */
  readonly goalPosition = 0.45;
  /** Minimum velocity at the flag (default 0). */
  readonly goalVelocity: number;
  /** Force multiplier (0.0015). */
  readonly power = 0.0015;
  /** `[position, velocity]` in `[-1.2, -0.07]` .. `[0.6, 0.07]`, as float32 (Gymnasium's bounds hold the rounded state). */
  readonly observationSpace = new Box(
    [Math.fround(-1.2), Math.fround(-0.07)],
    [Math.fround(0.6), Math.fround(0.07)],
  );
  /** Force in `[-1, 1]`, shape `[1]`. */
  readonly actionSpace = new Box(-1, 1, [1]);
  /** `['position', 'velocity']`. */
  readonly stateNames = ['position', 'velocity'] as const;

  /** @param options see {@link MountainCarContinuousOptions}. */
  constructor(options: MountainCarContinuousOptions = {}) {
    super(options);
    const gv = options.goalVelocity ?? 0;
    if (typeof gv !== 'number' || !Number.isFinite(gv)) {
      throw new EnvError(this.id, 'constructor', `goalVelocity must be a finite number, got ${String(gv)}`);
    }
    this.goalVelocity = gv;
  }

  /** Rejects a user-supplied state outside the observation space. */
  protected override checkInitialState(state: Float64Array): void {
    if (!this.observationSpace.contains(state)) {
      throw new EnvError(
        this.id,
        'reset',
        `initialState { position: ${state[0]}, velocity: ${state[1]} } is outside ` +
          `position [${this.minPosition}, ${this.maxPosition}] x velocity [${-this.maxSpeed}, ${this.maxSpeed}]`,
      );
    }
  }

  protected override sampleInitialState(rng: Rng): Float64Array {
    return Float64Array.of(rng.uniform(-0.6, -0.4), 0);
  }

  protected override transition(
    state: Float64Array,
    _action: Float64Array,
    rawAction: Float64Array,
  ): DynamicsStep {
    let position = state[0]!;
    let velocity = state[1]!;
    const raw = rawAction[0]!;
    const force = Math.min(Math.max(raw, this.minAction), this.maxAction);
    velocity += force * this.power - 0.0025 * Math.cos(3 * position);
    if (velocity > this.maxSpeed) velocity = this.maxSpeed;
    if (velocity < -this.maxSpeed) velocity = -this.maxSpeed;
    position += velocity;
    if (position > this.maxPosition) position = this.maxPosition;
    if (position < this.minPosition) position = this.minPosition;
    if (position === this.minPosition && velocity < 0) velocity = 0;
    const terminated = position >= this.goalPosition && velocity >= this.goalVelocity;
    let reward = 0;
    if (terminated) reward = 100.0;
    reward -= raw ** 2 * 0.1; // Gymnasium: math.pow(action[0], 2) * 0.1, the unclipped action
    // Termination used the float64 values; the stored state is float32, as Gymnasium's.
    return { state: Float64Array.of(Math.fround(position), Math.fround(velocity)), reward, terminated };
  }

  protected override observe(state: Float64Array): Float64Array {
    return Float64Array.from(state, Math.fround);
  }

  protected override config(): JsonValue {
    return { goalVelocity: this.goalVelocity };
  }
}
