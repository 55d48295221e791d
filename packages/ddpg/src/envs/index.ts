/**
 * Continuous-control environments with Gymnasium's API: Pendulum-v1 and
 * MountainCarContinuous-v0, Gymnasium-exact (observation, reward and flags, step for step),
 * and LQR-v0; spaces, wrappers (TimeLimit as Gymnasium's) and the `makeEnv` registry.
 * Observations and actions are plain `Float64Array`s.
 * @module
 */
export { BaseEnv, type BaseEnvOptions, type DynamicsStep, seededRng, validateAction } from './base.ts';
export { EnvError } from './errors.ts';
export { type DareOptions, type DareSolution, dareResidual, type Matrix, solveDare } from './linalg.ts';
export { LQR_DEFAULT_HORIZON, LqrEnv, type LqrOptions } from './lqr.ts';
export { MountainCarContinuousEnv, type MountainCarContinuousOptions } from './mountainCar.ts';
export { angleNormalize, PendulumEnv, type PendulumOptions } from './pendulum.ts';
export {
  type EnvId,
  type EnvOptionTypes,
  type EnvSpec,
  type EnvTypes,
  envSpec,
  listEnvs,
  type MakeEnvOptions,
  makeEnv,
} from './registry.ts';
export { type Policy, type RolloutOptions, type RolloutResult, rolloutPolicy } from './rollout.ts';
export { Box } from './spaces.ts';
export type { Env, EnvState, JsonValue, ResetOptions, ResetResult, StepResult } from './types.ts';
export {
  type EpisodeRecord,
  findEnv,
  NormalizeObservation,
  type NormalizeObservationOptions,
  RecordEpisode,
  RescaleAction,
  RunningMeanStd,
  type RunningMeanStdState,
  ScaleReward,
  TimeLimit,
  Wrapper,
} from './wrappers.ts';
