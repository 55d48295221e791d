/**
 * The memory model's properties, written once and run per backend: `memory.test.ts` runs
 * them on `js` and `wasm`, `memory.gpujs.test.ts` on `gpujs`, so the three backends are
 * held to the same behaviour (see docs/memory.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';

/** This backend's live counters (zeros before it has held a tensor). */
function live(backend: string): T.TensorCounters {
  const m = T.memory().backends[backend];
  return {
    numTensors: m?.numTensors ?? 0,
    numDataBuffers: m?.numDataBuffers ?? 0,
    numBytes: m?.numBytes ?? 0,
    numVariables: m?.numVariables ?? 0,
  };
}

/** A random chain of elementwise ops and reductions on `x`: many temporaries, one result. */
function program(x: T.Tensor, steps: readonly number[]): T.Tensor {
  let y = x;
  for (const s of steps) {
    switch (s % 5) {
      case 0:
        y = T.add(y, 1);
        break;
      case 1:
        y = T.mul(y, y);
        break;
      case 2:
        y = T.tanh(y);
        break;
      case 3:
        y = T.reshape(y, [-1]);
        break;
      default:
        y = T.sum(y, undefined, true);
    }
  }
  return y;
}

/** Register the memory-model tests for `backend`. */
export function memoryCases(backend: string): void {
  const on = <R>(fn: () => R): R => T.withBackend(backend, fn);

  describe(`memory on ${backend}`, () => {
    it('tidy releases every tensor made inside it except the ones it returns (random programs)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 12 }),
          fc.integer({ min: 1, max: 40 }),
          (steps, n) =>
            on(() => {
              const x = T.tidy(() => T.uniform([n], -1, 1, new T.Rng(n)));
              const before = live(backend);
              const y = T.tidy(() => program(x, steps));
              const after = live(backend);
              // The result survives (it may be x itself when the program is empty).
              expect(y.isDisposed).toBe(false);
              expect(after.numTensors - before.numTensors).toBe(y === x ? 0 : 1);
              y.dispose();
              x.dispose();
            }),
        ),
        { numRuns: 50 },
      );
    });

    it('tidy returns tensors in arrays, plain objects and Var-like objects to the enclosing scope', () =>
      on(() => {
        const before = live(backend).numTensors;
        const out = T.tidy(() => {
          const inner = T.tidy(() => {
            const a = T.tensor([1, 2]);
            const temp = T.mul(a, 3);
            return { list: [T.add(temp, 1)], named: { b: T.sub(temp, 1) }, v: { value: a, grad: null } };
          });
          expect(live(backend).numTensors - before).toBe(3);
          return inner;
        });
        expect(live(backend).numTensors - before).toBe(3);
        expect(Array.from(out.list[0]!.dataSync())).toEqual([4, 7]);
        expect(Array.from(out.named.b.dataSync())).toEqual([2, 5]);
        expect(Array.from(out.v.value.dataSync())).toEqual([1, 2]);
        for (const t of [out.list[0]!, out.named.b, out.v.value]) t.dispose();
        expect(live(backend).numTensors).toBe(before);
      }));

    it('variables survive every scope; assign keeps the object and releases the old storage', () =>
      on(() => {
        const before = live(backend);
        const w = T.tidy(() => T.keep(T.tensor([1, 2, 3])));
        expect(w.isVariable).toBe(true);
        const held = w; // what a module, optimiser or graph holds
        for (let i = 0; i < 20; i++) T.tidy(() => w.assign(T.add(w, 1)));
        expect(held).toBe(w);
        expect(w.version).toBe(20);
        expect(Array.from(w.dataSync())).toEqual([21, 22, 23]);
        const after = live(backend);
        expect(after.numTensors - before.numTensors).toBe(1);
        expect(after.numDataBuffers - before.numDataBuffers).toBe(1);
        expect(after.numBytes - before.numBytes).toBe(3 * 4);
        expect(after.numVariables - before.numVariables).toBe(1);
        w.dispose();
        expect(live(backend)).toEqual(before);
      }));

    it('assign shares the value storage (immutable), so releasing the value later changes nothing', () =>
      on(() => {
        const w = T.keep(T.zeros([2]));
        const v = T.tensor([5, 6]);
        w.assign(v);
        v.dispose();
        expect(Array.from(w.dataSync())).toEqual([5, 6]);
        // An earlier view of the variable keeps the value it had (storage is never written).
        const view = T.reshape(w, [2, 1]);
        T.tidy(() => w.assign(T.mul(w, 2)));
        expect(Array.from(view.dataSync())).toEqual([5, 6]);
        expect(Array.from(w.dataSync())).toEqual([10, 12]);
        view.dispose();
        w.dispose();
      }));

    it('assign rejects non-variables, other shapes or dtypes, and disposed tensors, naming them', () =>
      on(() => {
        const plain = T.zeros([2]);
        expect(() => plain.assign(T.ones([2]))).toThrow(
          /assign: only a variable can be assigned, and this float32 tensor of shape \[2\] is not one; make it one with keep/,
        );
        const w = T.keep(T.zeros([2, 3]));
        expect(() => w.assign(T.zeros([3, 2]))).toThrow(
          /assign: expected a float32 tensor of shape \[2,3\], got float32 \[3,2\]/,
        );
        const gone = T.zeros([2, 3]);
        gone.dispose();
        expect(() => w.assign(gone)).toThrow(/assign: the new value \(float32 \[2,3\]\) was disposed/);
        w.dispose();
        expect(() => w.assign(T.zeros([2, 3]))).toThrow(/was disposed/);
        expect(() => T.keep(gone)).toThrow(/keep: .* was disposed/);
        plain.dispose();
      }));

    it('using a tensor that a scope released is a clear error, never wrong numbers', () =>
      on(() => {
        let leaked: T.Tensor | undefined;
        const kept = T.tidy(() => {
          leaked = T.tensor([1, 2, 3]);
          return T.mul(leaked, 2);
        });
        expect(leaked!.isDisposed).toBe(true);
        expect(() => leaked!.dataSync()).toThrow(/was disposed \(a tensor made inside tidy\(\) is released/);
        expect(() => T.add(leaked!, kept)).toThrow(/disposed/);
        // The freed block is reused; the surviving tensor still reads its own numbers.
        const other = T.tidy(() => T.tensor([7, 8, 9]));
        expect(Array.from(kept.dataSync())).toEqual([2, 4, 6]);
        expect(Array.from(other.dataSync())).toEqual([7, 8, 9]);
        kept.dispose();
        other.dispose();
      }));

    it('tidy releases its tensors when the function throws, and rejects a Promise', () =>
      on(() => {
        const before = live(backend).numTensors;
        expect(() =>
          T.tidy(() => {
            T.tensor([1, 2]);
            throw new Error('boom');
          }),
        ).toThrow('boom');
        expect(live(backend).numTensors).toBe(before);
        expect(() =>
          T.tidy(() => {
            T.tensor([1]);
            return Promise.resolve(1);
          }),
        ).toThrow(/tidy: the function returned a Promise/);
        expect(live(backend).numTensors).toBe(before);
      }));

    it('memory() counts a reshape view as a second tensor over the same storage', () =>
      on(() => {
        const before = live(backend);
        const a = T.zeros([4, 5]);
        const b = T.reshape(a, [20]);
        const mid = live(backend);
        expect(mid.numTensors - before.numTensors).toBe(2);
        expect(mid.numDataBuffers - before.numDataBuffers).toBe(1);
        expect(mid.numBytes - before.numBytes).toBe(20 * 4);
        a.dispose();
        expect(live(backend).numBytes - before.numBytes).toBe(20 * 4);
        b.dispose();
        expect(live(backend)).toEqual(before);
      }));

    it('a variable on this backend takes a value computed on js by copying it over', () => {
      const w = on(() => T.keep(T.zeros([3])));
      const v = T.withBackend('js', () => T.tensor([1, 2, 3]));
      w.assign(v);
      expect(w.backend.name).toBe(backend);
      expect(Array.from(w.dataSync())).toEqual([1, 2, 3]);
      v.dispose();
      w.dispose();
    });
  });
}
