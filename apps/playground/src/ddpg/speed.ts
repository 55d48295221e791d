/**
 * The playback speeds and how long learning takes at each, in words, for the note beside
 * the speed control. A newcomer who presses Start at real time sees nothing learned for
 * minutes; the note says so before they wait.
 *
 * This module has no DOM code, so the tests run it in Node too.
 * @module
 */
import type { PagePreset, Speed } from './protocol.ts';

/** The speeds in the order the page offers them, full speed first (the default). */
export const SPEEDS: readonly { value: Speed; text: string }[] = [
  { value: 'max', text: 'as fast as it goes' },
  { value: '4', text: '4× real time (80 steps/s)' },
  { value: '1', text: 'real time (20 steps/s)' },
];

/** The speed a page opens with when its URL names none. */
export const DEFAULT_SPEED: Speed = 'max';

/** A URL's `speed` parameter as a speed (the default when absent or unknown). */
export function parseSpeed(value: string | null): Speed {
  return SPEEDS.some((s) => s.value === value) ? (value as Speed) : DEFAULT_SPEED;
}

/**
 * About how many environment steps pass before the training returns climb from around
 * −1,500 toward −150 (the pendulum swings up and holds), per preset. Measured with the page's
 * loop (`runTrainingLoop`, wasm) in Node, training-episode returns: `tuned` first reached
 * −153 at 3,600 steps (seed 0) and −132 at 4,200 (seed 1); `td3` −7 at 5,800 and steady near
 * −131 from 6,600 (seed 0); `paper` first −398 at 12,000 and mostly −130 to −280 from 16,000
 * (seed 0). In Chromium at full speed `tuned` seed 0 reached −153 after 39 s (step 3,629)
 * on the 2-core machine with other work running.
 */
export const LEARN_STEPS: Readonly<Record<PagePreset, number>> = {
  tuned: 4000,
  td3: 6000,
  paper: 16000,
};

/**
 * Steps per second to assume at full speed before the page has measured its own: the worker
 * on one thread of a 2-core laptop trains `tuned` at about 80 (issue 24 measured 84).
 */
export const ASSUMED_STEPS_PER_SECOND = 80;

/** The most steps per second a speed plays (full speed: no cap). */
function cap(speed: Speed): number {
  return speed === '1' ? 20 : speed === '4' ? 80 : Number.POSITIVE_INFINITY;
}

/** Seconds until learning shows at `speed`, given the measured steps/s (or none yet). */
export function secondsToLearn(preset: PagePreset, speed: Speed, measured?: number): number {
  const machine = measured !== undefined && measured > 0 ? measured : ASSUMED_STEPS_PER_SECOND;
  return LEARN_STEPS[preset] / Math.min(cap(speed), machine);
}

/** A duration as the note says it: "about 50 s", "about 3½ minutes". */
export function aboutDuration(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(10, Math.round(seconds / 10) * 10)} s`;
  const halves = Math.round(seconds / 30);
  const whole = Math.floor(halves / 2);
  return `about ${whole}${halves % 2 === 1 ? '½' : ''} minutes`;
}

/** The note beside the speed control: how long learning takes at this speed, and at full speed. */
export function speedNote(preset: PagePreset, speed: Speed, measured?: number): string {
  const steps = LEARN_STEPS[preset].toLocaleString('en-US');
  const rate =
    measured !== undefined && measured > 0
      ? `${Math.round(measured)} steps/s measured here`
      : `assuming ${ASSUMED_STEPS_PER_SECOND} steps/s until measured`;
  const here = aboutDuration(secondsToLearn(preset, speed, measured));
  const full = aboutDuration(secondsToLearn(preset, 'max', measured));
  const head = `Learning shows after about ${steps} steps (the returns climb from about −1,500 toward −150)`;
  if (speed === 'max') return `${head}: ${here} at full speed (${rate}).`;
  return `${head}: ${here} at this speed, ${full} at full speed (${rate}).`;
}
