/**
 * The SIMD peak probe: `peak_madd` computes what it claims (each lane iterates
 * acc ← 0.999·acc + 0.001, which converges to 1, so 48 lanes sum to 48), and
 * simdPeakGflops reports a positive, finite rate for every path the engine runs.
 */
import { describe, expect, it } from 'vitest';
import { runtime, setSimdPath, simdPeakGflops } from '../src/backends/wasm/backend.ts';
import * as T from '../src/index.ts';

describe('wasm SIMD peak probe', () => {
  it('peak_madd iterates acc ← 0.999·acc + 0.001 on 48 lanes (sum → 48) on every path', () => {
    T.withBackend('wasm', () => T.zeros([1]));
    const rt = runtime();
    for (const path of rt.paths) {
      const prev = rt.path;
      setSimdPath(path);
      const f = runtime().k.peak_madd!;
      expect(f(0)).toBeGreaterThan(0);
      expect(f(0)).not.toBeCloseTo(48, 1);
      expect(f(100_000)).toBeCloseTo(48, 2);
      setSimdPath(prev);
      const g = simdPeakGflops(path, 2, 5);
      expect(Number.isFinite(g) && g > 0).toBe(true);
    }
  });
});
