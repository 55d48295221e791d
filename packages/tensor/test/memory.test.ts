/**
 * The memory model (variables, `assign`, `tidy`, `memory()`) on the `js` and `wasm`
 * backends; `memory.gpujs.test.ts` runs the same cases on `gpujs`.
 */
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.ts';
import { memoryCases } from './memory-cases.ts';

memoryCases('js');
memoryCases('wasm');

describe('memory()', () => {
  it('sums the backends and adds the wasm backend figures', () => {
    const a = T.withBackend('wasm', () => T.zeros([8]));
    const b = T.withBackend('js', () => T.zeros([8], { dtype: 'float64' }));
    const m = T.memory();
    const sum = (k: 'numTensors' | 'numBytes') => Object.values(m.backends).reduce((n, x) => n + x[k], 0);
    expect(m.numTensors).toBe(sum('numTensors'));
    expect(m.numBytes).toBe(sum('numBytes'));
    expect(m.backends.wasm!.wasmMemoryBytes).toBeGreaterThan(0);
    expect(m.backends.wasm!.wasmBytesInUse).toBeGreaterThanOrEqual(m.backends.wasm!.numBytes);
    a.dispose();
    b.dispose();
  });
});
