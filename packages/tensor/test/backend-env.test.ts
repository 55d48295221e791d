/**
 * CHAINRULE_BACKEND and CHAINRULE_DEBUG are read from the environment when first needed,
 * so each test loads a fresh copy of the package (vi.resetModules + dynamic import).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type TensorModule = typeof import('../src/index.ts');

const saved = { backend: process.env.CHAINRULE_BACKEND, debug: process.env.CHAINRULE_DEBUG };

async function fresh(env: { backend?: string; debug?: string }): Promise<TensorModule> {
  if (env.backend === undefined) delete process.env.CHAINRULE_BACKEND;
  else process.env.CHAINRULE_BACKEND = env.backend;
  if (env.debug === undefined) delete process.env.CHAINRULE_DEBUG;
  else process.env.CHAINRULE_DEBUG = env.debug;
  vi.resetModules();
  return import('../src/index.ts');
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeEach(() => {
  vi.restoreAllMocks();
});

afterEach(() => {
  restoreEnv('CHAINRULE_BACKEND', saved.backend);
  restoreEnv('CHAINRULE_DEBUG', saved.debug);
  vi.restoreAllMocks();
});

describe('CHAINRULE_BACKEND', () => {
  it('an unknown name is a clear error on first use, naming the variable and the registered backends', async () => {
    const T = await fresh({ backend: 'nope' });
    expect(() => T.getBackend()).toThrow(
      /^CHAINRULE_BACKEND: unknown backend "nope"; registered backends: js(, \w+)* \(set in the environment\)$/,
    );
    expect(() => T.tensor([1])).toThrow(/CHAINRULE_BACKEND: unknown backend "nope"/);
    // setBackend still works and takes precedence
    T.setBackend('js');
    expect(T.getBackend().name).toBe('js');
  });

  it('selects a registered backend', async () => {
    const T = await fresh({ backend: 'js' });
    expect(T.getBackend().name).toBe('js');
    const U = await fresh({ backend: 'other' });
    U.registerBackend('other', () => ({ ...U.jsBackend, name: 'other' }));
    expect(U.getBackend().name).toBe('other');
  });

  it('is read only on first use', async () => {
    const T = await fresh({});
    expect(T.getBackend().name).toBe(T.DEFAULT_BACKEND);
    process.env.CHAINRULE_BACKEND = 'nope';
    expect(T.getBackend().name).toBe(T.DEFAULT_BACKEND);
  });
});

describe('CHAINRULE_DEBUG', () => {
  it('makes the default logger print fallbacks to stderr', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const T = await fresh({ debug: '1' });
    T.registerBackend('bare', () => ({ ...T.jsBackend, name: 'bare' }));
    T.setBackend('bare');
    T.neg(T.tensor([1]));
    expect(spy).toHaveBeenCalledWith(
      '[chainrule] kernel "neg" has no bare implementation; falling back to js',
    );
  });

  it('is silent without it', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const T = await fresh({});
    T.registerBackend('bare', () => ({ ...T.jsBackend, name: 'bare' }));
    T.setBackend('bare');
    T.neg(T.tensor([1]));
    expect(T.getFallbackCounts()).toEqual({ 'neg@bare': 1 });
    expect(spy).not.toHaveBeenCalled();
  });
});
