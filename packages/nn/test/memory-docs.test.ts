/**
 * The code of docs/memory.md, run on the default backend (wasm). Every ```ts block of the
 * page (without its import lines) must appear in this file between `docs:begin` /
 * `docs:end` markers, whitespace aside; what the blocks print is checked against the
 * comments that show it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as A from '@chainrule/autograd';
import { Adam, Linear, mseLoss } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { afterEach, describe, expect, it, vi } from 'vitest';

const DOC = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/memory.md');

afterEach(() => {
  vi.restoreAllMocks();
});

/** Run `fn` and return what it printed with console.log, one array of arguments per call. */
function printed(fn: () => void): unknown[][] {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  fn();
  return log.mock.calls;
}

describe('docs/memory.md', () => {
  it('runs on wasm, the default backend', () => {
    expect(T.getBackend().name).toBe(process.env.CHAINRULE_BACKEND ?? 'wasm');
  });

  it('a variable assigned 1,000 times in tidy scopes stays one object with one storage', () => {
    const live = T.memory().numBytes;
    const out = printed(() => {
      // docs:begin assign
      const w = T.keep(T.zeros([3])); // a variable
      const before = w;
      for (let i = 0; i < 1000; i++) {
        T.tidy(() => w.assign(T.add(w, 1))); // the sum is a temporary; w takes its value
      }
      console.log(w === before, w.version, w.dataSync()); // true 1000 Float32Array [1000, 1000, 1000]
      // docs:end
      expect(T.memory().numBytes - live).toBe(3 * 4);
      w.dispose();
    });
    expect(out).toEqual([[true, 1000, new Float32Array([1000, 1000, 1000])]]);
    expect(T.memory().numBytes).toBe(live);
  });

  it('the training loop learns and ends with the memory it started with', () => {
    const out = printed(() => {
      // docs:begin loop
      const rng = new T.Rng(0);
      const net = new Linear(4, 1, { rng });
      const opt = new Adam(net.parameters(), { lr: 0.05 });
      const target = T.tensor([[1], [2], [3], [4]]); // made outside every scope: yours to keep

      function step(): number {
        const x = A.constant(T.eye(4));
        const loss = mseLoss(net.forward(x), A.constant(target));
        opt.zeroGrad();
        loss.backward();
        opt.step(); // assigns the weights and Adam's moments in place
        return loss.item();
      }

      const start = T.memory();
      let loss = Number.NaN;
      for (let i = 0; i < 500; i++) loss = T.tidy(step);
      const end = T.memory();
      console.log(loss < 1e-3, end.numTensors === start.numTensors, end.numBytes === start.numBytes);
      // true true true
      // docs:end
      net.dispose();
      opt.dispose();
      target.dispose();
    });
    expect(out).toEqual([[true, true, true]]);
  });

  it('a tensor released by its scope is an error that names it; the returned one survives', () => {
    // docs:begin released
    let inner: T.Tensor | undefined;
    const doubled = T.tidy(() => {
      inner = T.tensor([1, 2, 3]);
      return T.mul(inner, 2);
    });
    doubled.dataSync(); // Float32Array [2, 4, 6]: returned, so it survives
    // inner.dataSync() throws: "Tensor: this float32 tensor of shape [3] was disposed (a tensor
    // made inside tidy() is released when the scope returns unless the scope returns it; ...)"
    // docs:end
    expect(Array.from(doubled.dataSync())).toEqual([2, 4, 6]);
    expect(() => inner!.dataSync()).toThrow(
      'Tensor: this float32 tensor of shape [3] was disposed (a tensor made inside tidy() is released when the scope returns unless the scope returns it; ',
    );
    doubled.dispose();
  });

  it('every ts block of docs/memory.md is in this file, and every region is in the page', () => {
    const doc = readFileSync(DOC, 'utf8');
    const self = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
    const importRe = /^import\s+(type\s+)?(\{[\s\S]*?\}|\*\s+as\s+\w+)\s+from\s+'([^']+)';\s*$/gm;
    const regions = [...self.matchAll(/\/\/ docs:begin [\w-]+\n([\s\S]*?)\/\/ docs:end/g)].map((m) =>
      squash(m[1]!),
    );
    const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const modules: Record<string, object> = { '@chainrule/tensor': T, '@chainrule/autograd': A };
    for (const block of blocks) {
      for (const m of block.matchAll(importRe)) {
        if (m[3] === '@chainrule/nn') {
          for (const name of ['Adam', 'Linear', 'mseLoss']) expect(m[2]).toContain(name);
        } else expect(modules[m[3]!], `docs import from ${m[3]}`).toBeDefined();
      }
    }
    const code = blocks.map((b) => squash(b.replace(importRe, '')));
    expect(code.sort()).toEqual([...regions].sort());
  });
});
