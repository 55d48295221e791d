import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplayBuffer, type Transition } from '@chainrule/ddpg';
import { Rng } from '@chainrule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { loadReplayBuffer, saveReplayBuffer } from '../src/replayFiles.ts';

/** A transition whose every value encodes `k`, so contents can be checked exactly. */
function tr(k: number, terminated = false, truncated = false): Transition {
  return {
    obs: [k, k + 0.5],
    action: [-k],
    reward: 10 * k,
    nextObs: [k + 1, k + 1.5],
    terminated,
    truncated,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'chainrule-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ReplayBuffer save/load', () => {
  const cases: [string, number, 'float32' | 'float64'][] = [
    ['partially filled', 5, 'float32'],
    ['wrapped around', 23, 'float32'],
    ['wrapped, float64', 17, 'float64'],
  ];
  for (const [name, n, dtype] of cases) {
    it(`round-trips and samples identically afterwards (${name})`, () => {
      const buf = new ReplayBuffer(8, 2, 1, { dtype });
      for (let k = 0; k < n; k++) buf.add({ ...tr(k, k % 4 === 0, k % 5 === 0), reward: k / 3 });
      const path = join(dir, `buf-${n}-${dtype}.safetensors`);
      saveReplayBuffer(path, buf);
      const loaded = loadReplayBuffer(path);
      expect(loaded.capacity).toBe(8);
      expect(loaded.obsDim).toBe(2);
      expect(loaded.actDim).toBe(1);
      expect(loaded.dtype).toBe(dtype);
      expect(loaded.size).toBe(buf.size);
      expect(loaded.nextIndex).toBe(buf.nextIndex);
      for (let i = 0; i < buf.size; i++) expect(loaded.get(i)).toEqual(buf.get(i));

      const rngA = new Rng(77);
      const rngB = rngA.clone();
      for (let r = 0; r < 3; r++) {
        const a = buf.sample(4, rngA);
        const b = loaded.sample(4, rngB);
        expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
        for (const f of ['obs', 'action', 'reward', 'nextObs', 'terminated', 'truncated'] as const) {
          expect(b[f].toArray()).toEqual(a[f].toArray());
        }
      }
      // Adding after load overwrites the same slot as adding to the original.
      buf.add(tr(100));
      loaded.add(tr(100));
      expect(loaded.nextIndex).toBe(buf.nextIndex);
      for (let i = 0; i < buf.size; i++) expect(loaded.get(i)).toEqual(buf.get(i));
    });
  }

  it('copyFrom() makes an exact copy of a loaded buffer', () => {
    const buf = new ReplayBuffer(6, 2, 1);
    for (let k = 0; k < 9; k++) buf.add(tr(k, k === 4, k === 7));
    const path = join(dir, 'copy.safetensors');
    saveReplayBuffer(path, buf);
    const target = new ReplayBuffer(6, 2, 1);
    target.add(tr(99));
    target.copyFrom(loadReplayBuffer(path));
    expect(target.size).toBe(6);
    expect(target.nextIndex).toBe(3);
    for (let i = 0; i < 6; i++) expect(target.get(i)).toEqual(buf.get(i));
    const rng = new Rng(5);
    expect(Array.from(target.sample(6, rng.clone()).indices)).toEqual(Array.from(buf.sample(6, rng).indices));
    expect(() => new ReplayBuffer(7, 2, 1).copyFrom(buf)).toThrow(
      /copyFrom: the source has capacity 6, obsDim 2, actDim 1, float32; this buffer has capacity 7/,
    );
  });

  it('round-trips an empty buffer', () => {
    const path = join(dir, 'empty.safetensors');
    saveReplayBuffer(path, new ReplayBuffer(4, 3, 2));
    const loaded = loadReplayBuffer(path);
    expect(loaded.size).toBe(0);
    expect(loaded.capacity).toBe(4);
    expect(loaded.obsDim).toBe(3);
    expect(loaded.actDim).toBe(2);
  });
});
