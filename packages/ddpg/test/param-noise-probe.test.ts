import { describe, expect, it } from 'vitest';
import { probe } from '../../../examples/param-noise-probe.ts';

// The finding docs/ddpg.md reports for MountainCarContinuous-v0 with parameter noise: on raw
// observations a perturbed actor barely reacts to velocity (±0.07 against position's
// −1.2 … 0.6), so it cannot pump the car; normalised observations make it follow velocity.
describe('examples/param-noise-probe.ts', () => {
  it('perturbed actors follow velocity only on normalised observations, and never reach the flag on raw ones', () => {
    const [raw, normalised] = probe(6);
    expect(raw!.observations).toBe('raw');
    expect(raw!.velocityShare).toBeLessThan(0.2);
    expect(normalised!.velocityShare).toBeGreaterThan(0.35);
    expect(raw!.reachedGoal).toBe(0);
  }, 120_000);
});
