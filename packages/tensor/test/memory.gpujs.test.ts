/**
 * The memory model on the `gpujs` backend (run with `pnpm test:gpujs`): the same cases as
 * `memory.test.ts` runs on `js` and `wasm`, plus textures released with their tensors.
 */
import { describe, expect, it } from 'vitest';
import '../src/gpujs.ts';
import * as T from '../src/index.ts';
import { memoryCases } from './memory-cases.ts';

process.env.CHAINRULE_GPUJS_MODE ??= 'webasm';

memoryCases('gpujs');

describe('gpujs memory()', () => {
  it('a tidy loop holds live storages and textures flat', () => {
    T.withBackend('gpujs', () => {
      const w = T.keep(T.uniform([16, 16], -1, 1, new T.Rng(1)));
      const step = () => T.tidy(() => w.assign(T.tanh(T.matmul(w, w))));
      for (let i = 0; i < 5; i++) step();
      const before = T.memory().backends.gpujs!;
      for (let i = 0; i < 50; i++) step();
      const after = T.memory().backends.gpujs!;
      expect(after.numTensors).toBe(before.numTensors);
      expect(after.gpujsLiveStorages).toBe(before.gpujsLiveStorages);
      expect(after.gpujsLiveTextures).toBe(before.gpujsLiveTextures);
      w.dispose();
    });
  });
});
