/**
 * The kernel contract (kernels.ts): every built-in kernel name has a js reference kernel,
 * and the import graph keeps ops and backends apart (no backend imports another, and ops.ts
 * imports no backend).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as T from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The files a source file imports, resolved and relative to src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s+'(\.[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => relative(src, resolve(dirname(file), s)));
}

/** Which backend a file under src/backends/ belongs to (`js`, `wasm`, `gpujs`), else null. */
function backendOf(path: string): string | null {
  const m = /^backends\/([^/.]+)/.exec(path);
  return m ? m[1]! : null;
}

describe('the kernel contract', () => {
  it('lists every built-in kernel once, each with a js kernel', () => {
    expect(new Set(T.KERNEL_NAMES).size).toBe(T.KERNEL_NAMES.length);
    for (const op of T.KERNEL_NAMES) expect(T.getKernel(op, 'js'), op).toBeDefined();
  });

  it('has one Activation type, which fusedDense validates against', () => {
    expect(T.ACTIVATIONS).toEqual(['linear', 'relu', 'tanh', 'sigmoid']);
    const x = T.ones([1, 1]);
    expect(() => T.fusedDense(x, x, undefined, 'gelu' as T.Activation)).toThrow(
      'fusedDense: unknown activation "gelu"; expected linear, relu, tanh or sigmoid',
    );
  });

  it('no backend imports another backend, and ops.ts imports no backend', () => {
    const files = tsFiles(src).map((f) => relative(src, f));
    expect(files).toContain('kernels.ts');
    const offending: string[] = [];
    for (const f of files) {
      const own = backendOf(f);
      for (const dep of importsOf(join(src, f))) {
        const other = backendOf(dep);
        if (other && other !== own && (own !== null || f === 'ops.ts')) offending.push(`${f} → ${dep}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
