import { describe, expect, it } from 'vitest';
import {
  ASSUMED_STEPS_PER_SECOND,
  aboutDuration,
  LEARN_STEPS,
  parseSpeed,
  SPEEDS,
  secondsToLearn,
  speedNote,
} from '../src/ddpg/speed.ts';

describe('the DDPG tab’s speeds and the note on how long learning takes', () => {
  it('opens at full speed unless the URL names another speed; full speed is listed first', () => {
    expect(parseSpeed(null)).toBe('max');
    expect(parseSpeed('nonsense')).toBe('max');
    expect(parseSpeed('1')).toBe('1');
    expect(parseSpeed('4')).toBe('4');
    expect(SPEEDS.map((s) => s.value)).toEqual(['max', '4', '1']);
  });

  it('a speed plays at most its own rate and at most the machine’s', () => {
    const steps = LEARN_STEPS.tuned;
    expect(secondsToLearn('tuned', '1', 300)).toBe(steps / 20);
    expect(secondsToLearn('tuned', '4', 300)).toBe(steps / 80);
    expect(secondsToLearn('tuned', '4', 50)).toBe(steps / 50);
    expect(secondsToLearn('tuned', 'max', 50)).toBe(steps / 50);
    expect(secondsToLearn('tuned', 'max')).toBe(steps / ASSUMED_STEPS_PER_SECOND);
  });

  it('durations read as seconds under 90 s, then as (half) minutes', () => {
    expect(aboutDuration(48)).toBe('about 50 s');
    expect(aboutDuration(3)).toBe('about 10 s');
    expect(aboutDuration(200)).toBe('about 3½ minutes');
    expect(aboutDuration(240)).toBe('about 4 minutes');
  });

  it('the note says the time at the chosen speed, and at full speed when slower', () => {
    expect(speedNote('tuned', 'max', 64)).toBe(
      'Learning shows after about 4,000 steps (the returns climb from about −1,500 toward −150): about 60 s at full speed (64 steps/s measured here).',
    );
    expect(speedNote('tuned', '1')).toMatch(
      /about 3½ minutes at this speed, about 50 s at full speed \(assuming 80 steps\/s until measured\)\.$/,
    );
  });
});
