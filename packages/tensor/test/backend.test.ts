/**
 * The backend registry: a fake backend with no kernels runs every op through the js
 * fallback (counted and logged once per op), kernels registered for it take over, and
 * withBackend / setBackend manage the active backend.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';
import { expectAllClose, naiveMatmul, TOL } from './helpers.ts';

interface FakeStorage extends T.Storage {
  data: T.TypedArray;
  freed: boolean;
}

const stats = { allocs: 0, frees: 0, reads: 0 };

/** A backend whose storage wraps a typed array, like js, but with no kernels of its own. */
function makeFake(name: string, dtypes: readonly T.DType[] = ['float32', 'float64']): T.Backend {
  const backend: T.Backend = {
    name,
    alloc(dtype, size): FakeStorage {
      stats.allocs++;
      return { backend, refs: 0, data: T.allocTyped(dtype, size), freed: false };
    },
    fromTyped(data): FakeStorage {
      stats.allocs++;
      return { backend, refs: 0, data: data.slice(), freed: false };
    },
    read(storage) {
      stats.reads++;
      const s = storage as FakeStorage;
      if (s.freed) throw new Error('read after free');
      return s.data.slice();
    },
    free(storage) {
      stats.frees++;
      const s = storage as FakeStorage;
      if (s.freed) throw new Error('double free');
      s.freed = true;
    },
    supportsDType: (dtype) => dtypes.includes(dtype),
    info: () => ({ description: `${name} test backend` }),
  };
  return backend;
}

T.registerBackend('fake', () => makeFake('fake'));
T.registerBackend('fake32', () => makeFake('fake32', ['float32']));
T.registerBackend('fakeKernels', () => makeFake('fakeKernels'));

const messages: string[] = [];

beforeEach(() => {
  messages.length = 0;
  T.setDebugLogger((m) => messages.push(m));
  T.resetFallbackCounts();
});

afterEach(() => {
  T.setBackend('js');
  T.setDebugLogger(() => {});
});

describe('registry', () => {
  it('lists registered backends; js is the reference', () => {
    // js first; built-in accelerated backends (wasm, gpujs) may follow.
    expect(T.listBackends()[0]).toBe('js');
    expect(T.listBackends()).toEqual(expect.arrayContaining(['js', 'fake', 'fake32', 'fakeKernels']));
    expect(T.backendByName('js')).toBe(T.jsBackend);
  });

  it('names the entry point that registers an optional backend', () => {
    // The main entry leaves gpu.js out; '@chainrule/tensor/gpujs' registers that backend.
    expect(T.listBackends()).not.toContain('gpujs');
    expect(() => T.setBackend('gpujs')).toThrow(
      /unknown backend "gpujs"; registered backends: .*; the gpujs backend registers itself when you import '@chainrule\/tensor\/gpujs'$/,
    );
  });

  it('creates a backend instance once and reuses it', () => {
    expect(T.backendByName('fake')).toBe(T.backendByName('fake'));
  });

  it('setBackend rejects an unknown name, listing the registered backends', () => {
    expect(() => T.setBackend('webgpu')).toThrow(
      /^setBackend: unknown backend "webgpu"; registered backends: js(, \w+)*, fake, fake32, fakeKernels$/,
    );
    expect(() => T.withBackend('webgpu', () => 1)).toThrow(/unknown backend "webgpu"/);
    // the active backend is unchanged
    expect(T.getBackend().name).toBe('js');
  });

  it('getBackendInfo reports the name, the registered backends and backend facts', () => {
    expect(T.getBackendInfo()).toEqual({
      name: 'js',
      registered: expect.arrayContaining(['js', 'fake', 'fake32', 'fakeKernels']),
      description: 'reference TypeScript loops',
    });
    T.setBackend('fake');
    expect(T.getBackendInfo().name).toBe('fake');
    expect(T.getBackendInfo().description).toBe('fake test backend');
  });

  it('getKernel finds (op, backend) pairs', () => {
    expect(T.getKernel('matmul', 'js')?.op).toBe('matmul');
    expect(T.getKernel('matmul', 'fake')).toBeUndefined();
  });

  it('debugLog goes to the configured logger', () => {
    T.debugLog('hello');
    expect(messages).toEqual(['hello']);
  });
});

describe('a backend with no kernels falls back to js', () => {
  it('runs ops with correct results, living on the fake backend', () => {
    T.setBackend('fake');
    const rng = new T.Rng(1);
    const a = T.randn([2, 3, 4], rng, { dtype: 'float64' });
    const b = T.randn([4, 5], rng, { dtype: 'float64' });
    expect(a.backend.name).toBe('fake');
    const c = T.matmul(a, b);
    expect(c.backend.name).toBe('fake');
    expectAllClose(c, naiveMatmul(a.dataSync(), a.shape, b.dataSync(), b.shape).data, TOL.f64);

    const x = T.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(T.add(x, T.tensor([10, 20, 30])).toArray()).toEqual([
      [11, 22, 33],
      [14, 25, 36],
    ]);
    expect(T.sum(x, 1).toArray()).toEqual([6, 15]);
    expect(T.mean(x).item()).toBe(3.5);
    expect(T.transpose(x).toArray()).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(T.concat([x, x], 1).shape).toEqual([2, 6]);
    expect(T.gather(x, [1]).toArray()).toEqual([[4, 5, 6]]);
    expect(T.relu(T.neg(x)).toArray()).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
    // reshape is a view on the fake storage, no kernel involved
    expect(T.reshape(x, [3, 2]).backend.name).toBe('fake');
  });

  it('counts each fallback and logs one message per op', () => {
    T.setBackend('fake');
    const x = T.tensor([1, -2, 3]);
    T.neg(x);
    T.neg(x);
    T.neg(x);
    T.add(x, x);
    const counts = T.getFallbackCounts();
    expect(counts['neg@fake']).toBe(3);
    expect(counts['add@fake']).toBe(1);
    expect(counts['matmul@fake']).toBeUndefined();
    expect(messages).toEqual([
      'kernel "neg" has no fake implementation; falling back to js',
      'kernel "add" has no fake implementation; falling back to js',
    ]);
    expect(messages.filter((m) => m.includes('"neg"'))).toHaveLength(1);
    T.resetFallbackCounts();
    expect(T.getFallbackCounts()).toEqual({});
    // after a reset the first fallback is logged again
    T.neg(x);
    expect(messages.filter((m) => m.includes('"neg"'))).toHaveLength(2);
  });

  it('does not count fallbacks on js itself', () => {
    T.add(T.tensor([1]), 1);
    expect(T.getFallbackCounts()).toEqual({});
    expect(messages).toEqual([]);
  });

  it('accepts inputs that live on another backend', () => {
    const onJs = T.tensor([1, 2, 3]);
    T.setBackend('fake');
    const onFake = T.tensor([10, 20, 30]);
    const y = T.add(onJs, onFake);
    expect(y.backend.name).toBe('fake');
    expect(Array.from(y.dataSync())).toEqual([11, 22, 33]);
    T.setBackend('js');
    const z = T.mul(onFake, 2);
    expect(z.backend.name).toBe('js');
    expect(Array.from(z.dataSync())).toEqual([20, 40, 60]);
  });

  it('frees fake storage exactly once when the last reference goes', () => {
    T.setBackend('fake');
    const x = T.tensor([1, 2]);
    const v = T.reshape(x, [2, 1]);
    const frees = stats.frees;
    x.dispose();
    expect(stats.frees).toBe(frees);
    v.dispose();
    expect(stats.frees).toBe(frees + 1);
    // ops on the fake backend clean up their temporaries: only results remain allocated
    const before = stats.allocs - stats.frees;
    const a = T.tensor([1, 2, 3]);
    const r = T.sub(a, 1);
    expect(stats.allocs - stats.frees).toBe(before + 2);
    a.dispose();
    r.dispose();
    expect(stats.allocs - stats.frees).toBe(before);
  });

  it('a backend that does not store float64 says so', () => {
    T.setBackend('fake32');
    expect(T.zeros([2]).backend.name).toBe('fake32');
    expect(() => T.zeros([2], { dtype: 'float64' })).toThrow(
      /^tensor: the fake32 backend does not support dtype float64; use another backend or dtype$/,
    );
    expect(() => T.tensor(new Float64Array(2))).toThrow(/the fake32 backend does not support dtype float64/);
  });

  it('an op with no kernel anywhere is an error', () => {
    expect(() => T.runCustomKernel('nosuchop', [T.tensor([1])], [{ shape: [1], dtype: 'float32' }])).toThrow(
      /^nosuchop: no kernel is registered for this op on js or js$/,
    );
    T.setBackend('fake');
    expect(() => T.runCustomKernel('nosuchop', [], [])).toThrow(
      /nosuchop: no kernel is registered for this op on fake or js/,
    );
  });
});

describe('kernels registered for a backend', () => {
  it('are used instead of the fallback, with inputs moved onto the backend', () => {
    const seen: string[] = [];
    T.registerKernel({
      op: 'neg',
      backend: 'fakeKernels',
      fn: ({ inputs, outputs }: T.KernelArgs) => {
        seen.push(inputs.map((t) => t.backend.name).join(','));
        const x = inputs[0]!.storage as FakeStorage;
        const y = outputs[0]!.storage as FakeStorage;
        for (let i = 0; i < x.data.length; i++) y.data[i] = -x.data[i]! * 100; // recognisable
      },
    });
    const onJs = T.tensor([1, 2]);
    T.withBackend('fakeKernels', () => {
      const y = T.neg(onJs);
      expect(y.backend.name).toBe('fakeKernels');
      expect(Array.from(y.dataSync())).toEqual([-100, -200]);
      expect(Array.from(T.exp(T.zeros([1])).dataSync())).toEqual([1]); // exp still falls back
    });
    expect(seen).toEqual(['fakeKernels']);
    expect(T.getFallbackCounts()).toEqual({ 'exp@fakeKernels': 1 });
    // registering again replaces the kernel
    T.registerKernel({
      op: 'neg',
      backend: 'fakeKernels',
      fn: ({ outputs }: T.KernelArgs) => {
        (outputs[0]!.storage as FakeStorage).data.fill(7);
      },
    });
    T.withBackend('fakeKernels', () => {
      expect(Array.from(T.neg(onJs).dataSync())).toEqual([7, 7]);
    });
    // the js kernel is untouched
    expect(Array.from(T.neg(onJs).dataSync())).toEqual([-1, -2]);
  });
});

describe('withBackend', () => {
  it('runs fn on the named backend, returns its value and restores the previous backend', () => {
    T.setBackend('fake');
    const out = T.withBackend('js', () => {
      expect(T.getBackend().name).toBe('js');
      return T.tensor([1]);
    });
    expect(out.backend.name).toBe('js');
    expect(T.getBackend().name).toBe('fake');
  });

  it('restores the previous backend when fn throws', () => {
    expect(() =>
      T.withBackend('fake', () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(T.getBackend().name).toBe('js');
  });

  it('nests', () => {
    T.withBackend('fake', () => {
      T.withBackend('fake32', () => {
        expect(T.getBackend().name).toBe('fake32');
      });
      expect(T.getBackend().name).toBe('fake');
    });
    expect(T.getBackend().name).toBe('js');
  });
});

describe('a backend prints as its name', () => {
  it('String, template literals, JSON and util.inspect give the name; getBackendInfo is unchanged', async () => {
    const { inspect } = await import('node:util');
    const b = T.backendByName('js');
    expect([String(b), `${b}`, JSON.stringify(b), inspect(b)]).toEqual(['js', 'js', '"js"', 'js']);
    expect(Object.keys(T.withBackend('js', () => T.getBackendInfo()))).not.toContain('toString');
  });
});
