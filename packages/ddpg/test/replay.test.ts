import { Rng } from '@chainrule/tensor';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayBuffer, type Transition } from '../src/replay.ts';

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

describe('ReplayBuffer storage', () => {
  it('fills slots in order and wraps around, overwriting the oldest', () => {
    const buf = new ReplayBuffer(3, 2, 1);
    expect(buf.size).toBe(0);
    expect(buf.capacity).toBe(3);
    buf.add(tr(0));
    buf.add(tr(1));
    expect(buf.size).toBe(2);
    expect(buf.nextIndex).toBe(2);
    expect(buf.isFull).toBe(false);
    buf.add(tr(2));
    expect(buf.size).toBe(3);
    expect(buf.nextIndex).toBe(0);
    expect(buf.isFull).toBe(true);
    buf.add(tr(3));
    buf.add(tr(4));
    expect(buf.size).toBe(3);
    expect(buf.nextIndex).toBe(2);
    // slots: 0 ← t3, 1 ← t4, 2 ← t2 (the oldest, overwritten next)
    expect(buf.get(0)).toEqual({
      obs: [3, 3.5],
      action: [-3],
      reward: 30,
      nextObs: [4, 4.5],
      terminated: false,
      truncated: false,
    });
    expect(buf.get(1).obs).toEqual([4, 4.5]);
    expect(buf.get(2).obs).toEqual([2, 2.5]);
    expect(buf.get(2).reward).toBe(20);
    expect(() => buf.get(3)).toThrow(/index must be an integer in \[0, 3\)/);
  });

  it('holds exactly the last min(n, capacity) transitions (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 25 }), (cap, n) => {
        const buf = new ReplayBuffer(cap, 2, 1, { dtype: 'float64' });
        for (let k = 0; k < n; k++) buf.add(tr(k, k % 3 === 0, k % 2 === 0));
        const size = Math.min(n, cap);
        expect(buf.size).toBe(size);
        expect(buf.nextIndex).toBe(n % cap);
        // Oldest to newest: slot (start + j) % cap holds transition n - size + j.
        const start = n >= cap ? n % cap : 0;
        for (let j = 0; j < size; j++) {
          const k = n - size + j;
          const got = buf.get((start + j) % cap);
          expect(got.obs).toEqual([k, k + 0.5]);
          expect(got.action).toEqual([-k]);
          expect(got.reward).toBe(10 * k);
          expect(got.nextObs).toEqual([k + 1, k + 1.5]);
          expect(got.terminated).toBe(k % 3 === 0);
          expect(got.truncated).toBe(k % 2 === 0);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('stores terminated and truncated separately', () => {
    const buf = new ReplayBuffer(4, 2, 1);
    buf.add(tr(0, true, false));
    buf.add(tr(1, false, true));
    buf.add(tr(2, true, true));
    buf.add({ ...tr(3), terminated: 0, truncated: 0 });
    expect([0, 1, 2, 3].map((i) => [buf.get(i).terminated, buf.get(i).truncated])).toEqual([
      [true, false],
      [false, true],
      [true, true],
      [false, false],
    ]);
    const rng = new Rng(5);
    for (let r = 0; r < 16; r++) {
      const batch = buf.sample(4, rng);
      const term = batch.terminated.dataSync();
      const trunc = batch.truncated.dataSync();
      const rew = batch.reward.dataSync();
      for (let b = 0; b < 4; b++) {
        const i = batch.indices[b]!;
        expect(rew[b]).toBe(10 * i);
        expect(term[b]).toBe(i === 0 || i === 2 ? 1 : 0);
        expect(trunc[b]).toBe(i === 1 || i === 2 ? 1 : 0);
      }
    }
  });

  it('clear() empties the buffer', () => {
    const buf = new ReplayBuffer(3, 2, 1);
    for (let k = 0; k < 5; k++) buf.add(tr(k));
    buf.clear();
    expect(buf.size).toBe(0);
    expect(buf.nextIndex).toBe(0);
    expect(() => buf.sample(1, new Rng(0))).toThrow(/empty/);
    buf.add(tr(7));
    expect(buf.get(0).obs).toEqual([7, 7.5]);
  });
});

describe('ReplayBuffer.sample', () => {
  it('returns tensors of the right shapes and dtype holding the sampled rows', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const buf = new ReplayBuffer(10, 2, 1, { dtype });
      for (let k = 0; k < 7; k++) buf.add(tr(k, k === 6, k === 3));
      const batch = buf.sample(5, new Rng(1));
      expect(batch.obs.shape).toEqual([5, 2]);
      expect(batch.action.shape).toEqual([5, 1]);
      expect(batch.reward.shape).toEqual([5, 1]);
      expect(batch.nextObs.shape).toEqual([5, 2]);
      expect(batch.terminated.shape).toEqual([5, 1]);
      expect(batch.truncated.shape).toEqual([5, 1]);
      expect(batch.indices).toBeInstanceOf(Int32Array);
      expect(batch.indices.length).toBe(5);
      for (const t of [
        batch.obs,
        batch.action,
        batch.reward,
        batch.nextObs,
        batch.terminated,
        batch.truncated,
      ]) {
        expect(t.dtype).toBe(dtype);
      }
      const obs = batch.obs.toArray() as number[][];
      const next = batch.nextObs.toArray() as number[][];
      const act = batch.action.toArray() as number[][];
      batch.indices.forEach((i, b) => {
        expect(i).toBeGreaterThanOrEqual(0);
        expect(i).toBeLessThan(7);
        const t = buf.get(i);
        expect(obs[b]).toEqual(t.obs);
        expect(next[b]).toEqual(t.nextObs);
        expect(act[b]).toEqual(t.action);
      });
    }
  });

  it('is reproducible with the same seed and uses rng.int(size) per row', () => {
    const buf = new ReplayBuffer(50, 2, 1);
    for (let k = 0; k < 40; k++) buf.add(tr(k));
    const a = buf.sample(16, new Rng(42));
    const b = buf.sample(16, new Rng(42));
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    expect(a.obs.toArray()).toEqual(b.obs.toArray());
    const ref = new Rng(42);
    expect(Array.from(a.indices)).toEqual(Array.from({ length: 16 }, () => ref.int(40)));
    const c = buf.sample(16, new Rng(43));
    expect(Array.from(c.indices)).not.toEqual(Array.from(a.indices));
  });

  it('reuses its batch arrays safely: earlier batches are not overwritten', () => {
    const buf = new ReplayBuffer(20, 2, 1);
    for (let k = 0; k < 20; k++) buf.add(tr(k));
    const rng = new Rng(9);
    const first = buf.sample(8, rng);
    const snapshot = first.obs.toArray();
    const firstIdx = Array.from(first.indices);
    buf.sample(8, rng);
    buf.sample(3, rng); // smaller batch through the same arrays
    buf.sample(12, rng); // larger: arrays grow
    expect(first.obs.toArray()).toEqual(snapshot);
    expect(Array.from(first.indices)).toEqual(firstIdx);
  });

  it('is uniform over the stored slots (chi-square, loose)', () => {
    const cap = 10;
    const buf = new ReplayBuffer(cap, 2, 1);
    for (let k = 0; k < 25; k++) buf.add(tr(k)); // wrapped
    const rng = new Rng(2024);
    const counts = new Array<number>(cap).fill(0);
    const n = 20_000;
    for (let r = 0; r < n / cap; r++) {
      for (const i of buf.sample(cap, rng).indices) counts[i]!++;
    }
    const e = n / cap;
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    // 9 degrees of freedom: P(chi2 > 33.7) ≈ 1e-4.
    expect(chi2).toBeLessThan(33.7);

    // A partially filled buffer samples only its filled slots.
    const part = new ReplayBuffer(100, 2, 1);
    for (let k = 0; k < 4; k++) part.add(tr(k));
    const seen = new Set(part.sample(4, new Rng(3)).indices);
    for (let r = 0; r < 50; r++) for (const i of part.sample(4, rng).indices) seen.add(i);
    expect([...seen].sort()).toEqual([0, 1, 2, 3]);
  });

  it('rejects bad batch sizes and an empty buffer', () => {
    const buf = new ReplayBuffer(10, 2, 1);
    expect(() => buf.sample(1, new Rng(0))).toThrow(/ReplayBuffer.sample: the buffer is empty/);
    buf.add(tr(0));
    buf.add(tr(1));
    expect(() => buf.sample(3, new Rng(0))).toThrow(
      /batchSize 3 is larger than the number of stored transitions \(2\)/,
    );
    expect(() => buf.sample(0, new Rng(0))).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => buf.sample(1.5, new Rng(0))).toThrow(/batchSize must be a positive integer/);
  });
});

describe('ReplayBuffer validation', () => {
  it('rejects bad constructor arguments', () => {
    expect(() => new ReplayBuffer(0, 2, 1)).toThrow(/capacity must be a positive integer, got 0/);
    expect(() => new ReplayBuffer(3, 1.5, 1)).toThrow(/obsDim must be a positive integer/);
    expect(() => new ReplayBuffer(3, 2, -1)).toThrow(/actDim must be a positive integer/);
    // biome-ignore lint/suspicious/noExplicitAny: testing a bad dtype
    expect(() => new ReplayBuffer(3, 2, 1, { dtype: 'int8' as any })).toThrow(/unknown dtype "int8"/);
  });

  it('names the offending field and writes nothing on error', () => {
    const buf = new ReplayBuffer(3, 2, 1);
    buf.add(tr(0));
    const bad: [Partial<Transition> & Record<string, unknown>, RegExp][] = [
      [{ obs: [1, 2, 3] }, /ReplayBuffer.add: obs has length 3; expected 2/],
      [{ action: [] }, /action has length 0; expected 1/],
      [{ nextObs: [0, Number.NaN] }, /nextObs\[1\] is NaN; expected a finite number/],
      [{ obs: [Number.POSITIVE_INFINITY, 0] }, /obs\[0\] is Infinity/],
      [{ action: ['1'] as unknown as number[] }, /action\[0\] must be a finite number, got string 1/],
      [{ reward: Number.NaN }, /reward is NaN/],
      [{ reward: undefined as unknown as number }, /reward must be a finite number, got undefined/],
      [{ reward: 1e39 }, /reward is 1e\+39, which overflows float32/],
      [
        { terminated: 'yes' as unknown as boolean },
        /terminated must be a boolean \(or 0\/1\), got string yes/,
      ],
      [{ truncated: 2 }, /truncated must be a boolean/],
      [
        { obs: undefined as unknown as number[] },
        /obs must be an array or typed array of length 2, got undefined/,
      ],
    ];
    for (const [patch, re] of bad) {
      expect(() => buf.add({ ...tr(5), ...patch } as Transition)).toThrow(re);
    }
    expect(() => buf.add(null as unknown as Transition)).toThrow(/expected a transition/);
    expect(buf.size).toBe(1);
    expect(buf.nextIndex).toBe(1);
    expect(buf.get(0).obs).toEqual([0, 0.5]);
    // Typed arrays are accepted, and float64 buffers take values beyond float32's range.
    buf.add({ ...tr(1), obs: new Float64Array([1, 1.5]), nextObs: new Float32Array([2, 2.5]) });
    const b64 = new ReplayBuffer(2, 2, 1, { dtype: 'float64' });
    b64.add({ ...tr(1), reward: 1e39 });
    expect(b64.get(0).reward).toBe(1e39);
  });
});

describe('ReplayBuffer state', () => {
  it('getState/setState restores in memory and rejects mismatches', () => {
    const buf = new ReplayBuffer(4, 2, 1);
    for (let k = 0; k < 6; k++) buf.add(tr(k));
    const state = buf.getState();
    expect(state.metadata).toMatchObject({
      capacity: '4',
      obsDim: '2',
      actDim: '1',
      size: '4',
      nextIndex: '2',
    });
    const other = new ReplayBuffer(4, 2, 1);
    other.add(tr(50));
    other.setState(state);
    expect(other.nextIndex).toBe(2);
    expect(other.get(3)).toEqual(buf.get(3));
    expect(() => new ReplayBuffer(5, 2, 1).setState(state)).toThrow(
      /snapshot is for capacity 4.*this buffer has capacity 5/,
    );
    expect(() =>
      ReplayBuffer.fromState({ ...state, metadata: { ...state.metadata, nextIndex: '9' } }),
    ).toThrow(/nextIndex 9 is inconsistent/);
    expect(() => ReplayBuffer.fromState({ ...state, metadata: { ...state.metadata, format: 'x' } })).toThrow(
      /metadata.format/,
    );
    const { obs: _obs, ...withoutObs } = state.tensors;
    expect(() => other.setState({ ...state, tensors: withoutObs })).toThrow(/missing tensor "obs"/);
    // A failed setState changes nothing.
    expect(other.get(3)).toEqual(buf.get(3));
  });
});
