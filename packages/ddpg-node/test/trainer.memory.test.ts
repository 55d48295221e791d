/**
 * The trainer holds flat memory without yielding to the event loop: every update and every
 * action runs in a `tidy` scope and the networks' and optimisers' tensors are variables, so
 * after the first episodes `memory()` is the same at the end of every episode.
 */

import { makeConfig } from '@chainrule/ddpg';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { train } from '../src/index.ts';

const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 10_000,
};

describe('train()', () => {
  for (const noise of ['ou', 'param'] as const) {
    it(`holds live tensors and bytes flat from episode to episode (${noise} noise)`, async () => {
      const seen: { numTensors: number; numBytes: number; wasm: number }[] = [];
      await train({
        env: 'Pendulum-v1',
        seed: 3,
        steps: 400,
        config: makeConfig('paper', { ...tiny, noise }),
        maxEpisodeSteps: 50,
        evalEvery: 200,
        evalEpisodes: 1,
        checkpointEvery: 0,
        saveReplay: false,
        resume: false,
        onProgress: () => {
          const m = T.memory();
          seen.push({
            numTensors: m.numTensors,
            numBytes: m.numBytes,
            wasm: m.backends.wasm?.wasmMemoryBytes ?? 0,
          });
        },
      });
      expect(seen.length).toBeGreaterThanOrEqual(8);
      // From the third episode on (updates start after 16 steps), nothing accumulates.
      for (const s of seen.slice(3)) expect(s).toEqual(seen[2]);
    });
  }
});
