import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  eventFiles,
  TENSORBOARD_TAGS,
  type TensorBoardEpisode,
  TensorBoardSink,
} from '../src/tensorboard/index.ts';
import { named, python, pythonReadRun } from './tfevents/independent.ts';
import { readEventFile, scalarsOfRun } from './tfevents/reader.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-tb-sink-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

const episodeAt = (step: number): TensorBoardEpisode => ({
  step,
  return: -step * 1.5,
  avgMaxQ: step > 40 ? step / 7 : null,
  criticLoss: step > 40 ? 1 / step : null,
  actorLoss: step > 40 ? -step / 3 : null,
  sigma: 0.1,
});

/**
 * A run of `episodes` 20-step episodes, interrupted at each step of `kills` (a session's file
 * keeps what was flushed up to the kill) and resumed from the checkpoint before it.
 */
function runWithKills(dir: string, steps: number[], kills: { at: number; checkpoint: number }[]): void {
  let from = 0;
  for (const kill of [...kills, { at: Number.POSITIVE_INFINITY, checkpoint: 0 }]) {
    const sink = new TensorBoardSink(dir, from);
    for (const s of steps.filter((s) => s > from && s <= kill.at)) {
      // What a killed session logs after the checkpoint the next one resumes from is lost
      // work; make it differ (other values, and steps the next session never logs), so that
      // only TensorBoard's restart rule can make the run read right.
      const orphan = s > kill.checkpoint && kill.at !== Number.POSITIVE_INFINITY;
      sink.episode(orphan ? { ...episodeAt(s), return: 1000 + s } : episodeAt(s), 100 + s);
      if (orphan) sink.episode({ ...episodeAt(s + 5), return: 2000 + s });
      if (s % 60 === 0) sink.evaluation({ step: s, mean: -s, std: s / 10 });
      sink.flush();
    }
    // A killed session is not closed: its file ends wherever the last flush left it.
    if (kill.at === Number.POSITIVE_INFINITY) sink.close();
    from = kill.checkpoint;
  }
}

const withoutSpeed = (run: Map<string, [number, number][]>) => {
  const copy = new Map(run);
  copy.delete(TENSORBOARD_TAGS.stepsPerSecond);
  return copy;
};

describe('TensorBoardSink', () => {
  it('an episode writes Reward and Qmax Value at its step; values a run does not have yet are left out', () => {
    const dir = join(root, `run-${dirs++}`);
    const sink = new TensorBoardSink(dir, 0);
    sink.episode(episodeAt(20), 55);
    sink.episode(episodeAt(60));
    sink.evaluation({ step: 60, mean: -150, std: 12.5 });
    sink.close();
    const { events } = readEventFile(sink.path);
    expect(events[1]).toMatchObject({ step: 1, sessionStatus: 1 });
    expect(events.slice(2).map((e) => [e.step, e.scalars?.map((s) => s.tag)])).toEqual([
      [20, ['Reward', 'Exploration Scale', 'Steps per Second']],
      [60, ['Reward', 'Qmax Value', 'Loss/Critic', 'Loss/Actor', 'Exploration Scale']],
      [60, ['Eval/Return Mean', 'Eval/Return Std']],
    ]);
    expect(events[3]?.scalars?.[1]?.value).toBe(Math.fround(60 / 7));
  });

  it('property: sessions killed after any flush and resumed from any earlier checkpoint read as the uninterrupted run', () => {
    const steps = Array.from({ length: 10 }, (_, i) => 20 * (i + 1));
    const straightDir = join(root, `run-${dirs++}`);
    runWithKills(straightDir, steps, []);
    const straight = withoutSpeed(scalarsOfRun(straightDir, eventFiles(straightDir)));
    fc.assert(
      fc.property(
        // Each kill: the episode end it came after, and the checkpoint the next session resumes
        // from (0: none complete, so the run starts over), never past the kill.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 10 })), { maxLength: 3 }),
        (pairs) => {
          const kills = pairs.map(([a, c]) => {
            const at = steps[a]!;
            return { at, checkpoint: c === 0 ? 0 : Math.min(steps[c - 1]!, at) };
          });
          const dir = join(root, `run-${dirs++}`);
          runWithKills(dir, steps, kills);
          expect(withoutSpeed(scalarsOfRun(dir, eventFiles(dir)))).toEqual(straight);
          expect(eventFiles(dir)).toHaveLength(kills.length + 1);
        },
      ),
      { numRuns: 30 },
    );
  });

  it.skipIf(!python.ok)(
    named('Python reads a killed and resumed run as the uninterrupted one', python),
    () => {
      const steps = Array.from({ length: 10 }, (_, i) => 20 * (i + 1));
      const straightDir = join(root, `run-${dirs++}`);
      runWithKills(straightDir, steps, []);
      const dir = join(root, `run-${dirs++}`);
      // Killed at 140 with a checkpoint at 80, then at 180 with one at 160.
      runWithKills(dir, steps, [
        { at: 140, checkpoint: 80 },
        { at: 180, checkpoint: 160 },
      ]);
      const straight = withoutSpeed(pythonReadRun(straightDir));
      expect(straight.get('Reward')).toEqual(steps.map((s) => [s, Math.fround(-s * 1.5)]));
      expect(withoutSpeed(pythonReadRun(dir))).toEqual(straight);
    },
  );
});
