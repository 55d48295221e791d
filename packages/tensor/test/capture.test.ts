import { afterEach, describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';
import { keep, Rng, replayable, replayableVariants, type Tensor } from '../src/index.ts';

afterEach(() => T.setBackend('wasm'));

function bits(t: Tensor): number[] {
  return Array.from(new Uint32Array(t.dataSync().buffer));
}

/**
 * A small training step with everything a replay must repeat: a kernel chain over an
 * argument and variables, a reshape view, assigns, a step counter in a 0-d variable that a
 * kernel advances and Adam's bias correction reads, a learning rate in a 0-d variable set
 * from outside, and results in an object.
 */
function model(seed: number) {
  const rng = new Rng(seed);
  const w = keep(T.randn([4, 3], rng));
  const m = keep(T.zeros([4, 3]));
  const v = keep(T.zeros([4, 3]));
  const b = keep(T.zeros([3]));
  const steps = keep(T.scalar(0, 'float64'));
  const lr = keep(T.scalar(0.1, 'float64'));
  const fn = (x: Tensor, y: Tensor) => {
    const opts = {
      lr,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      decoupled: false,
      amsgrad: false,
    };
    const step = steps.assign(T.increment(steps));
    const pred = T.add(T.matmul(x, w), b);
    const err = T.sub(pred, y);
    const gw = T.matmul(x, err, { transposeA: true });
    const gb = T.reshape(T.sum(err, 0, true), [3]);
    const [w2, m2, v2] = T.adamUpdate(w, gw, m, v, undefined, { ...opts, step });
    w.assign(w2!);
    m.assign(m2!);
    v.assign(v2!);
    b.assign(T.sub(b, T.mul(gb, 0.05)));
    return { loss: T.mean(T.square(err)), pred };
  };
  return { w, b, steps, lr, fn };
}

function batch(rng: Rng, n = 5): [Tensor, Tensor] {
  return [T.randn([n, 4], rng), T.randn([n, 3], rng)];
}

describe('replayable', () => {
  for (const backend of ['wasm', 'js']) {
    it(`on ${backend}: replays are bit-identical to eager calls, step counter and lr schedule included`, () => {
      T.setBackend(backend);
      const eager = model(1);
      const replayed = model(1);
      const step = replayable(replayed.fn, { poison: true });
      const rng = new Rng(2);
      for (let i = 0; i < 8; i++) {
        const [x, y] = batch(rng);
        // A learning-rate schedule, set between calls: the replay reads the variable anew.
        for (const s of [eager, replayed]) s.lr.assign(T.scalar(0.1 / (1 + i), 'float64'));
        const a = T.tidy(() => eager.fn(x, y));
        const b = step.call([x, y]);
        expect(bits(b.loss)).toEqual(bits(a.loss));
        expect(bits(b.pred)).toEqual(bits(a.pred));
      }
      expect(bits(replayed.w)).toEqual(bits(eager.w));
      expect(bits(replayed.b)).toEqual(bits(eager.b));
      // The counter advanced on every call, and its value reached the Adam kernel (else w differs).
      expect(replayed.steps.item()).toBe(8);
      expect(step.stats()).toMatchObject({
        captures: 1,
        eagerCalls: 1,
        replays: 6,
        plans: 1,
        eagerReason: undefined,
      });
    });
  }

  it('never overwrites a result the caller still holds', () => {
    const m = model(3);
    const step = replayable(m.fn);
    const rng = new Rng(4);
    const held: { loss: Tensor; copy: number[] }[] = [];
    for (let i = 0; i < 6; i++) {
      const { loss } = step.call(batch(rng));
      held.push({ loss, copy: bits(loss) });
    }
    for (const h of held) expect(bits(h.loss)).toEqual(h.copy);
    expect(step.stats().replays).toBe(4);
  });

  it('captures a plan per argument shape and per variant', () => {
    const m = model(5);
    const step = replayable(m.fn, { warmup: 0 });
    const rng = new Rng(6);
    for (let i = 0; i < 3; i++) {
      step.call(batch(rng, 5));
      step.call(batch(rng, 7));
      step.call(batch(rng, 5), 'other');
    }
    expect(step.stats()).toMatchObject({ captures: 3, replays: 6, plans: 3 });
  });

  it('keeps memory flat across replays and releases its buffers on dispose', () => {
    const m = model(7);
    const rng = new Rng(8);
    const inputs = batch(rng);
    const before = T.memory();
    const step = replayable(m.fn);
    for (let i = 0; i < 3; i++) T.tidy(() => void step.call(inputs));
    const warm = T.memory();
    for (let i = 0; i < 20; i++) T.tidy(() => void step.call(inputs));
    const after = T.memory();
    expect(after.numTensors).toBe(warm.numTensors);
    expect(after.numBytes).toBe(warm.numBytes);
    step.dispose();
    expect(T.memory().numBytes).toBe(before.numBytes);
  });

  it('runs eagerly, and says why, when the function reads data, draws random numbers or returns a number', () => {
    const w = keep(T.ones([2]));
    const x = T.ones([2]);
    const reads = replayable((a: Tensor) => T.mul(a, T.sum(a).item()), { warmup: 0 });
    const rng = new Rng(1);
    const draws = replayable((a: Tensor) => T.add(a, T.randn([2], rng)), { warmup: 0 });
    const numbers = replayable((a: Tensor) => ({ n: 3, t: T.mul(a, w) }) as never, { warmup: 0 });
    for (let i = 0; i < 3; i++) {
      reads.call([x]);
      draws.call([x]);
      numbers.call([x]);
    }
    expect(reads.stats()).toMatchObject({ replays: 0, eagerCalls: 3 });
    expect(reads.stats().eagerReason).toMatch(
      /reads tensor data \(dataSync, item or toArray of a float32 \[\] tensor\)/,
    );
    expect(draws.stats().eagerReason).toMatch(/draws random numbers from an Rng/);
    expect(numbers.stats().eagerReason).toMatch(/returns a number/);
    // Eager calls still compute: the draws differ from call to call.
    expect(bits(draws.call([x]))).not.toEqual(bits(draws.call([x])));
  });

  it('captures again when variables that shared a buffer no longer do', () => {
    const src = keep(T.tensor([1, 2]));
    const dst = keep(T.tensor([0, 0]));
    dst.assign(src); // a hard copy: dst and src share storage
    const step = replayable((a: Tensor) => T.add(T.mul(src, a), dst), { warmup: 0 });
    const x = T.tensor([10, 10]);
    expect(step.call([x]).toArray()).toEqual([11, 22]);
    expect(step.call([x]).toArray()).toEqual([11, 22]); // replayed
    dst.assign(T.tensor([5, 5])); // now they differ
    expect(step.call([x]).toArray()).toEqual([15, 25]);
    expect(step.stats()).toMatchObject({ captures: 2, replays: 1 });
  });

  it('captures again after a variable object is replaced (invalidateCaptures), and names a disposed variable', () => {
    let w = keep(T.tensor([2]));
    const step = replayable((a: Tensor) => T.mul(a, w), { warmup: 0 });
    const x = T.tensor([3]);
    step.call([x]);
    expect(step.call([x]).toArray()).toEqual([6]);
    w = keep(T.tensor([4]));
    T.invalidateCaptures();
    expect(step.call([x]).toArray()).toEqual([12]);
    expect(step.stats().captures).toBe(2);
    w.dispose();
    expect(() => step.call([x])).toThrow(
      /replayable: a variable the captured function uses \(float32 \[1\]\) was disposed/,
    );
  });

  it('the poison check catches a kernel that leaves part of its output unwritten', () => {
    // A js kernel that writes only the first element: eager allocation zeroes the rest, a
    // reused buffer would keep stale values, and poison makes that visible as NaN.
    T.registerCustomKernel({
      op: 'firstOnly',
      backend: 'js',
      fn: ({ inputs, outputs }) => {
        (outputs[0]!.storage as T.JsStorage).data[0] = (inputs[0]!.storage as T.JsStorage).data[0]!;
      },
    });
    T.setBackend('js');
    const f = (a: Tensor) => T.runCustomKernel('firstOnly', [a], [{ shape: a.shape, dtype: a.dtype }])[0]!;
    const step = replayable(f, { warmup: 0, poison: true });
    const x = T.tensor([1, 2, 3]);
    expect(step.call([x]).toArray()).toEqual([1, 0, 0]);
    expect(step.call([x]).toArray()).toEqual([1, Number.NaN, Number.NaN]);
  });

  it('is off with CHAINRULE_REPLAY=0 and rejects other values', () => {
    const previous = process.env.CHAINRULE_REPLAY;
    try {
      process.env.CHAINRULE_REPLAY = '0';
      const off = replayable((a: Tensor) => T.neg(a), { warmup: 0 });
      for (let i = 0; i < 3; i++) off.call([T.ones([2])]);
      expect(off.stats()).toMatchObject({ replays: 0, eagerCalls: 3 });
      expect(off.enabled).toBe(false);
      process.env.CHAINRULE_REPLAY = 'yes';
      expect(() => replayable((a: Tensor) => a)).toThrow(
        /CHAINRULE_REPLAY: expected 0, 1, poison or verify, got "yes"/,
      );
    } finally {
      if (previous === undefined) delete process.env.CHAINRULE_REPLAY;
      else process.env.CHAINRULE_REPLAY = previous;
    }
  });

  it('records an inner replayable into an outer capture', () => {
    const w = keep(T.tensor([1, 2]));
    const inner = replayable((a: Tensor) => T.mul(a, w), { warmup: 0 });
    const outer = replayable((a: Tensor) => T.add(inner.call([a]), 1), { warmup: 0 });
    const x = T.tensor([3, 4]);
    for (let i = 0; i < 3; i++) expect(outer.call([x]).toArray()).toEqual([4, 9]);
    w.assign(T.tensor([0, 1]));
    expect(outer.call([x]).toArray()).toEqual([1, 5]);
    expect(outer.stats()).toMatchObject({ captures: 1, replays: 3 });
  });

  it('passes the variant to a replayableVariants function, so a branch is decided once', () => {
    const w = keep(T.tensor([1, 2]));
    const seen: string[] = [];
    const step = replayableVariants(
      (branch: 'double' | 'plain', a: Tensor) => {
        seen.push(branch); // runs only when a call is eager or captured
        return branch === 'double' ? T.mul(T.mul(a, w), 2) : T.mul(a, w);
      },
      { warmup: 0 },
    );
    const x = T.tensor([3, 4]);
    for (let i = 0; i < 3; i++) {
      expect(step.call([x], 'double').toArray()).toEqual([6, 16]);
      expect(step.call([x], 'plain').toArray()).toEqual([3, 8]);
    }
    expect(seen).toEqual(['double', 'plain']);
    expect(step.stats()).toMatchObject({ captures: 2, replays: 4, plans: 2 });
  });

  for (const backend of ['wasm', 'js']) {
    it(`on ${backend}: verify mode passes a faithful replay and keeps the eager run's state`, () => {
      T.setBackend(backend);
      const eager = model(11);
      const checked = model(11);
      const step = replayable(checked.fn, { verify: true });
      expect(step.verify).toBe(true);
      const rng = new Rng(12);
      for (let i = 0; i < 5; i++) {
        const [x, y] = batch(rng);
        for (const s of [eager, checked]) s.lr.assign(T.scalar(0.05 * (i + 1), 'float64'));
        const a = T.tidy(() => eager.fn(x, y));
        const b = step.call([x, y]);
        expect(bits(b.loss)).toEqual(bits(a.loss));
      }
      expect(bits(checked.w)).toEqual(bits(eager.w));
      expect(checked.steps.item()).toBe(5);
      expect(step.stats()).toMatchObject({ captures: 1, replays: 3 });
    });
  }

  it('verify mode names the kernel that reads a JavaScript number frozen at capture', () => {
    const w = keep(T.tensor([1, 2]));
    const box = { scale: 0.5 };
    // The scale reaches `mul` as a number: a constant of the capture.
    const step = replayable((a: Tensor) => T.mul(T.add(a, w), box.scale), { warmup: 0, verify: true });
    const x = T.tensor([3, 4]);
    step.call([x]);
    step.call([x]); // replayed and verified: same number, no difference
    box.scale = 0.25;
    expect(() => step.call([x])).toThrow(
      /replayable: CHAINRULE_REPLAY=verify: replay 2 of variant "" differs from the eager function: kernel 1 \(mul: \[2\], \[\] -> \[2\]\): input 1 \(a constant of the capture \(a JavaScript number passed to an op.*is \[0\.5\] in the replay, \[0\.25\] eagerly/,
    );
  });

  it('verify mode names an attribute frozen at capture', () => {
    const box = { t: 0.5 };
    const a0 = keep(T.tensor([0, 0]));
    const step = replayable((b: Tensor) => T.lerp(a0, b, box.t), { warmup: 0, verify: true });
    const x = T.tensor([2, 4]);
    step.call([x]);
    box.t = 0.25;
    expect(() => step.call([x])).toThrow(
      /kernel 0 \(lerp: \[2\], \[2\] -> \[2\]\): attribute t is 0\.5 in the replay \(frozen at capture\), 0\.25 eagerly/,
    );
  });

  it('CHAINRULE_REPLAY=verify turns verify on', () => {
    const previous = process.env.CHAINRULE_REPLAY;
    try {
      process.env.CHAINRULE_REPLAY = 'verify';
      const f = replayable((a: Tensor) => T.neg(a));
      expect(f.verify).toBe(true);
      expect(f.enabled).toBe(true);
    } finally {
      if (previous === undefined) delete process.env.CHAINRULE_REPLAY;
      else process.env.CHAINRULE_REPLAY = previous;
    }
  });
});
