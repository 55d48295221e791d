/**
 * Checkpoints: a module's stateDict through safetensors files and bytes, and corrupt input.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { input } from '@chainrule/autograd';
import * as T from '@chainrule/tensor';
import { Rng, type Tensor } from '@chainrule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { decode, encode } from '../src/checkpoint.ts';
import { load, loadSync, save, saveSync } from '../src/files.ts';
import { BatchNorm1d, Linear, ReLU, Sequential } from '../src/layers.ts';
import type { StateDict } from '../src/module.ts';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from '../src/safetensors.ts';
import { arr } from './helpers.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'chainrule-nn-checkpoint-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function makeNet(seed: number, dtype: 'float32' | 'float64' = 'float32') {
  const rng = new Rng(seed);
  return new Sequential(
    new Linear(3, 4, { rng, dtype }),
    new BatchNorm1d(4, { dtype }),
    new ReLU(),
    new Linear(4, 2, { rng, dtype }),
  );
}

/** A trained-looking network: running statistics moved off their defaults. */
function trained(seed: number, dtype: 'float32' | 'float64' = 'float32') {
  const net = makeNet(seed, dtype);
  net.forward(input(T.randn([6, 3], new Rng(seed + 100), { dtype })));
  return net;
}

function expectSameDict(a: StateDict, b: StateDict): void {
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) {
    const [x, y] = [a[k]!, b[k]!] as [Tensor, Tensor];
    expect(y.dtype, k).toBe(x.dtype);
    expect(y.shape, k).toEqual(x.shape);
    expect(arr(y), k).toEqual(arr(x)); // bit-exact
  }
}

describe('checkpoints', () => {
  it('saveSync/loadSync round-trips a stateDict bit-exactly, and loadStateDict accepts the result', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const src = trained(1, dtype);
      const path = join(tempDir(), 'net.safetensors');
      saveSync(path, src.stateDict(), { step: '42' });
      const { tensors, metadata } = loadSync(path);
      expect(metadata).toEqual({ step: '42' });
      expectSameDict(src.stateDict(), tensors);
      const dst = makeNet(2, dtype);
      dst.loadStateDict(tensors);
      expectSameDict(src.stateDict(), dst.stateDict());
      src.eval();
      dst.eval();
      const x = input(T.randn([2, 3], new Rng(7), { dtype }));
      expect(arr(dst.forward(x))).toEqual(arr(src.forward(x)));
    }
  });

  it('async save/load, overwriting an existing file atomically (no temporary files left)', async () => {
    const dir = tempDir();
    const path = join(dir, 'ckpt.safetensors');
    await save(path, trained(1).stateDict());
    const second = trained(3);
    await save(path, second.stateDict(), { note: 'second' });
    expect(readdirSync(dir)).toEqual(['ckpt.safetensors']);
    const { tensors, metadata } = await load(path);
    expect(metadata).toEqual({ note: 'second' });
    expectSameDict(second.stateDict(), tensors);
  });

  it('encode/decode in memory, the same bytes as the file', () => {
    const sd = trained(4).stateDict();
    const bytes = encode(sd, { a: 'b' });
    const path = join(tempDir(), 'x.safetensors');
    saveSync(path, sd, { a: 'b' });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    const { tensors, metadata } = decode(bytes);
    expect(metadata).toEqual({ a: 'b' });
    expectSameDict(sd, tensors);
  });

  it('a truncated or corrupt file is a SafetensorsError, from every reader', async () => {
    const dir = tempDir();
    const good = encode(trained(5).stateDict());
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, good.subarray(0, good.length - 10));
    const garbage = join(dir, 'garbage.safetensors');
    writeFileSync(garbage, new TextEncoder().encode('definitely not a safetensors file'));
    const tiny = join(dir, 'tiny.safetensors');
    writeFileSync(tiny, new Uint8Array([1, 2, 3]));
    for (const path of [truncated, garbage, tiny]) {
      expect(() => loadSync(path), path).toThrow(SafetensorsError);
      await expect(load(path), path).rejects.toBeInstanceOf(SafetensorsError);
      expect(() => decode(new Uint8Array(readFileSync(path)))).toThrow(SafetensorsError);
    }
    // The error names the file.
    expect(() => loadSync(truncated)).toThrow(/truncated\.safetensors/);
  });

  it('each tensor carries a SHA-256 in __metadata__; a flipped byte is an error naming the tensor', () => {
    const sd = trained(6).stateDict();
    const bytes = encode(sd, { note: 'x' });
    const raw = decodeSafetensors(bytes);
    // Stored per tensor in the header, next to the user's metadata, which decoding returns unchanged.
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    for (const name of Object.keys(sd))
      expect(header.__metadata__[`sha256.${name}`]).toMatch(/^[0-9a-f]{64}$/);
    expect(raw.metadata).toEqual({ note: 'x' });
    expect(decode(bytes).metadata).toEqual({ note: 'x' });
    // Flip one bit in the middle of the last tensor's data (the file ends with it).
    const last = Object.entries(raw.tensors).at(-1)!;
    const flipped = bytes.slice();
    flipped[flipped.length - 2]! ^= 0x10;
    const path = join(tempDir(), 'flipped.safetensors');
    writeFileSync(path, flipped);
    const name = last[0];
    expect(() => decode(flipped)).toThrow(SafetensorsError);
    expect(() => decodeSafetensors(flipped)).toThrow(SafetensorsError);
    expect(() => loadSync(path)).toThrow(
      new RegExp(`flipped\\.safetensors: tensor "${name.replace(/\./g, '\\.')}": SHA-256 of the data is`),
    );
  });

  it('files without checksums (written elsewhere) still load', () => {
    const sd = trained(7).stateDict();
    const plain = encodeSafetensors(
      Object.fromEntries(
        Object.entries(sd).map(([k, t]) => [
          k,
          { dtype: t.dtype as 'float32', shape: [...t.shape], data: t.dataSync() as Float32Array },
        ]),
      ),
      { from: 'torch' },
    );
    const { tensors, metadata } = decode(plain);
    expect(metadata).toEqual({ from: 'torch' });
    expectSameDict(sd, tensors);
  });

  it('saving something that is not a tensor is a clear error', () => {
    const bad = { w: [1, 2, 3] } as unknown as StateDict;
    expect(() => encode(bad)).toThrow(/save: entry "w" is not a Tensor/);
    const path = join(tempDir(), 'never.safetensors');
    expect(() => saveSync(path, bad)).toThrow(/not a Tensor/);
  });
});
