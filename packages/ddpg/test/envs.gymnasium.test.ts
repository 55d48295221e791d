/**
 * Gymnasium-exactness, one row per case: from a state, one action gives Gymnasium's
 * observation, reward and flags. The rows were printed by `fixtures/gymnasium_rows.py`, a
 * line-by-line transcription of Gymnasium's `Pendulum-v1` and `MountainCarContinuous-v0`
 * `step()` and `TimeLimit.step()` run with NumPy; the next difference found is one more row.
 *
 * Observations are float32 in Gymnasium, so they must match exactly. Rewards are float64
 * sums of libm results (sin, cos), so they may differ in the last bit between libms: they
 * match to 1e-15 relative.
 */
import { describe, expect, it } from 'vitest';
import { type EnvId, makeEnv } from '../src/envs/index.ts';

interface GymnasiumRow {
  /** What the row exercises. */
  note: string;
  env: EnvId;
  /** The TimeLimit for this row (default: the registry's). */
  limit?: number;
  state: Record<string, number>;
  action: number[];
  observation: number[];
  reward: number;
  terminated: boolean;
  truncated: boolean;
}

const ROWS: GymnasiumRow[] = [
  {
    note: 'from horizontal, u = 1',
    env: 'Pendulum-v1',
    state: { theta: Math.PI / 2, thetaDot: 0.0 },
    action: [1.0],
    observation: [-0.044984813779592514, 0.9989876747131348, 0.8999999761581421],
    reward: -2.4684011002723394,
    terminated: false,
    truncated: false,
  },
  {
    note: 'upright, spinning, full negative torque',
    env: 'Pendulum-v1',
    state: { theta: 0.0, thetaDot: 1.0 },
    action: [-2.0],
    observation: [0.9993875622749329, 0.03499285504221916, 0.699999988079071],
    reward: -0.10400000000000001,
    terminated: false,
    truncated: false,
  },
  {
    note: 'speed clipped to 8 before integrating',
    env: 'Pendulum-v1',
    state: { theta: Math.PI / 2, thetaDot: 7.5 },
    action: [2.0],
    observation: [-0.3894183337688446, 0.9210609793663025, 8.0],
    reward: -8.09640110027234,
    terminated: false,
    truncated: false,
  },
  {
    note: 'speed clipped to -8',
    env: 'Pendulum-v1',
    state: { theta: -Math.PI / 2, thetaDot: -7.5 },
    action: [-2.0],
    observation: [-0.3894183337688446, -0.9210609793663025, -8.0],
    reward: -8.09640110027234,
    terminated: false,
    truncated: false,
  },
  {
    note: 'angle normalised in the cost',
    env: 'Pendulum-v1',
    state: { theta: 2 * Math.PI + 0.5, thetaDot: 0.0 },
    action: [0.0],
    observation: [0.8688218593597412, 0.49512478709220886, 0.35956916213035583],
    reward: -0.25,
    terminated: false,
    truncated: false,
  },
  {
    note: 'negative angle normalised',
    env: 'Pendulum-v1',
    state: { theta: (-3 * Math.PI) / 2, thetaDot: 0.0 },
    action: [0.0],
    observation: [-0.03749120980501175, 0.9992969632148743, 0.75],
    reward: -2.4674011002723395,
    terminated: false,
    truncated: false,
  },
  {
    note: 'torque clipped to 2 (dynamics and cost)',
    env: 'Pendulum-v1',
    state: { theta: 0.0, thetaDot: 0.0 },
    action: [5.0],
    observation: [0.9998875260353088, 0.014999437145888805, 0.30000001192092896],
    reward: -0.004,
    terminated: false,
    truncated: false,
  },
  {
    note: 'generic',
    env: 'Pendulum-v1',
    state: { theta: 1.234, thetaDot: -3.21 },
    action: [0.37],
    observation: [0.44316670298576355, 0.8964391946792603, -2.446636438369751],
    reward: -2.5533029000000003,
    terminated: false,
    truncated: false,
  },
  {
    note: 'TimeLimit(1): truncated',
    env: 'Pendulum-v1',
    limit: 1,
    state: { theta: 0.1, thetaDot: 0.2 },
    action: [0.0],
    observation: [0.9935381412506104, 0.11349865049123764, 0.27487507462501526],
    reward: -0.01400000000000002,
    terminated: false,
    truncated: true,
  },
  {
    note: 'from the valley',
    env: 'MountainCarContinuous-v0',
    state: { position: -0.5, velocity: 0.0 },
    action: [1.0],
    observation: [-0.4986768364906311, 0.0013231569901108742],
    reward: -0.1,
    terminated: false,
    truncated: false,
  },
  {
    note: 'velocity clipped to 0.07 before moving',
    env: 'MountainCarContinuous-v0',
    state: { position: -0.5, velocity: 0.07 },
    action: [1.0],
    observation: [-0.4300000071525574, 0.07000000029802322],
    reward: -0.1,
    terminated: false,
    truncated: false,
  },
  {
    note: 'left wall: clamp, leftward velocity becomes 0',
    env: 'MountainCarContinuous-v0',
    state: { position: -1.19, velocity: -0.02 },
    action: [-1.0],
    observation: [-1.2000000476837158, 0.0],
    reward: -0.1,
    terminated: false,
    truncated: false,
  },
  {
    note: 'leaving the wall',
    env: 'MountainCarContinuous-v0',
    state: { position: -1.2, velocity: 0.0 },
    action: [1.0],
    observation: [-1.1962580680847168, 0.0037418960127979517],
    reward: -0.1,
    terminated: false,
    truncated: false,
  },
  {
    note: 'reaches the goal: +100 minus the penalty',
    env: 'MountainCarContinuous-v0',
    state: { position: 0.44, velocity: 0.02 },
    action: [0.5],
    observation: [0.4601295590400696, 0.02012956142425537],
    reward: 99.975,
    terminated: true,
    truncated: false,
  },
  {
    note: 'raw action charged: force 1, penalty 0.784',
    env: 'MountainCarContinuous-v0',
    state: { position: -0.3, velocity: 0.01 },
    action: [2.8],
    observation: [-0.2900540232658386, 0.009945974685251713],
    reward: -0.7839999999999999,
    terminated: false,
    truncated: false,
  },
  {
    note: 'raw action charged: force -1, penalty 0.9',
    env: 'MountainCarContinuous-v0',
    state: { position: -0.3, velocity: 0.01 },
    action: [-3.0],
    observation: [-0.2930540144443512, 0.006945975124835968],
    reward: -0.9,
    terminated: false,
    truncated: false,
  },
  {
    note: 'generic',
    env: 'MountainCarContinuous-v0',
    state: { position: -0.7, velocity: -0.013 },
    action: [0.3],
    observation: [-0.7112878561019897, -0.011287884786725044],
    reward: -0.009,
    terminated: false,
    truncated: false,
  },
  {
    note: 'TimeLimit(1) on a terminating step: both flags',
    env: 'MountainCarContinuous-v0',
    limit: 1,
    state: { position: 0.44, velocity: 0.02 },
    action: [0.0],
    observation: [0.45937955379486084, 0.01937956176698208],
    reward: 100.0,
    terminated: true,
    truncated: true,
  },
  {
    note: 'TimeLimit(2), first step: neither flag',
    env: 'MountainCarContinuous-v0',
    limit: 2,
    state: { position: -0.5, velocity: 0.0 },
    action: [0.0],
    observation: [-0.5001768469810486, -0.00017684300837572664],
    reward: 0.0,
    terminated: false,
    truncated: false,
  },
];

describe('one step matches Gymnasium', () => {
  it.each(ROWS)('$env: $note', (row) => {
    const env = makeEnv(row.env, row.limit === undefined ? {} : { maxEpisodeSteps: row.limit });
    env.reset({ initialState: row.state });
    const r = env.step(row.action);
    expect(Array.from(r.observation)).toEqual(row.observation);
    expect(Math.abs(r.reward - row.reward)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(row.reward)));
    expect({ terminated: r.terminated, truncated: r.truncated }).toEqual({
      terminated: row.terminated,
      truncated: row.truncated,
    });
  });
});
