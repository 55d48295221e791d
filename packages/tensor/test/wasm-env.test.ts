/**
 * CHAINRULE_WASM_SIMD and CHAINRULE_THREADS are read when the wasm backend starts, so each
 * test loads a fresh copy of the package (vi.resetModules + dynamic import).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const saved = { simd: process.env.CHAINRULE_WASM_SIMD, threads: process.env.CHAINRULE_THREADS };

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

async function fresh(env: { simd?: string; threads?: string }) {
  restoreEnv('CHAINRULE_WASM_SIMD', env.simd);
  restoreEnv('CHAINRULE_THREADS', env.threads);
  vi.resetModules();
  return import('../src/index.ts');
}

afterEach(() => {
  restoreEnv('CHAINRULE_WASM_SIMD', saved.simd);
  restoreEnv('CHAINRULE_THREADS', saved.threads);
});

describe('CHAINRULE_WASM_SIMD', () => {
  for (const path of ['simd', 'fma']) {
    it(`"${path}" starts the backend on that path`, async () => {
      const T = await fresh({ simd: path, threads: '1' });
      expect(T.withBackend('wasm', () => T.getBackendInfo().simdPath)).toBe(path);
    });
  }

  it('unset picks fma where relaxed SIMD validates (Node 20 with the flag chainrule sets)', async () => {
    const T = await fresh({ threads: '1' });
    expect(T.withBackend('wasm', () => T.getBackendInfo().simdPath)).toBe('fma');
  });

  it('any other value is an error naming the variable and the choices', async () => {
    const T = await fresh({ simd: 'avx512', threads: '1' });
    expect(() => T.setBackend('wasm')).toThrow(/CHAINRULE_WASM_SIMD: expected "simd" or "fma", got "avx512"/);
  });
});

describe('CHAINRULE_THREADS', () => {
  it('sets the thread count; setThreads overrides it', async () => {
    const T = await fresh({ threads: '3' });
    expect(T.withBackend('wasm', () => T.getBackendInfo().threads)).toBe(3);
    T.setThreads(1);
    expect(T.withBackend('wasm', () => T.getBackendInfo().threads)).toBe(1);
  });

  it('unset means one thread per core', async () => {
    const { availableParallelism } = await import('node:os');
    const T = await fresh({});
    expect(T.withBackend('wasm', () => T.getBackendInfo().threads)).toBe(availableParallelism());
    T.setThreads(1);
  });

  for (const bad of ['0', '-2', '1.5', 'many']) {
    it(`"${bad}" is an error naming the variable`, async () => {
      const T = await fresh({ threads: bad });
      expect(() => T.setBackend('wasm')).toThrow(
        new RegExp(
          `CHAINRULE_THREADS: expected a whole number of threads ≥ 1, got "${bad.replace('.', '\\.')}"`,
        ),
      );
    });
  }
});
