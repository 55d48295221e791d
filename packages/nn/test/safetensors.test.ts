import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../src/atomic.ts';
import { loadSafetensors, saveSafetensors } from '../src/files.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_LENGTH,
  type RawTensor,
  SafetensorsError,
} from '../src/safetensors.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, name)));

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chainrule-safetensors-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Builds a file by hand from the spec: u64 LE length of `header`, the header bytes, then `data`.
 * `declaredLength` overrides the length prefix (to corrupt it).
 */
function handFile(header: string, data: ArrayLike<number> = [], declaredLength?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(Array.from(data), 8 + h.length);
  return out;
}

/** Little-endian bytes of float32 values, written through DataView (independent of the encoder). */
function f32Bytes(values: number[]): number[] {
  const dv = new DataView(new ArrayBuffer(4 * values.length));
  values.forEach((v, i) => {
    dv.setFloat32(4 * i, v, true);
  });
  return Array.from(new Uint8Array(dv.buffer));
}

function bytesOf(a: Float32Array | Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Runs `fn` and returns the SafetensorsError it throws (fails the test on success or any other error type). */
function catchSafetensorsError(fn: () => unknown): SafetensorsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SafetensorsError) return err;
    throw new Error(`expected a SafetensorsError, got ${String(err)}`);
  }
  throw new Error('expected a SafetensorsError, but the call succeeded');
}

function expectDecodeError(bytes: Uint8Array, ...fragments: string[]): SafetensorsError {
  const err = catchSafetensorsError(() => decodeSafetensors(bytes));
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

/** Checks the invariants of a successful decode: every tensor is complete and consistent. */
function expectFullyValid(result: ReturnType<typeof decodeSafetensors>): void {
  for (const t of Object.values(result.tensors)) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    expect(t.data.length).toBe(count);
    expect(t.dtype === 'float64' ? t.data instanceof Float64Array : t.data instanceof Float32Array).toBe(
      true,
    );
  }
  for (const v of Object.values(result.metadata)) expect(typeof v).toBe('string');
}

const WEIGHT_HEADER = '{"weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}';

describe('round trip', () => {
  const tensors: Record<string, RawTensor> = {
    w: { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-40]) },
    v: { dtype: 'float64', shape: [4], data: new Float64Array([Math.PI, -1e300, 5e-324, 42]) },
    scalar: { dtype: 'float32', shape: [], data: new Float32Array([7.25]) },
    empty: { dtype: 'float64', shape: [3, 0, 2], data: new Float64Array(0) },
    nonFinite: { dtype: 'float32', shape: [3], data: new Float32Array([Number.NaN, Infinity, -Infinity]) },
  };
  const metadata = { format: 'chainrule', step: '1200', 'unicode ✓': 'é "q" \n' };

  it('round-trips several tensors and metadata', () => {
    const { tensors: out, metadata: meta } = decodeSafetensors(encodeSafetensors(tensors, metadata));
    expect(Object.keys(out).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const o = out[name]!;
      expect(o.dtype).toBe(t.dtype);
      expect(o.shape).toEqual(t.shape);
      expect(o.data.constructor).toBe(t.data.constructor);
      expect(bytesOf(o.data)).toEqual(bytesOf(t.data));
    }
    expect(meta).toEqual(metadata);
  });

  it('returns {} metadata when none was written, and handles no tensors at all', () => {
    expect(decodeSafetensors(encodeSafetensors(tensors)).metadata).toEqual({});
    const empty = encodeSafetensors({});
    expect(empty.length).toBe(16);
    expect(decodeSafetensors(empty)).toEqual({ tensors: {}, metadata: {} });
    expect(decodeSafetensors(encodeSafetensors({}, {})).metadata).toEqual({});
  });

  it('is deterministic regardless of key insertion order', () => {
    const reversed = Object.fromEntries(Object.entries(tensors).reverse());
    expect(encodeSafetensors(reversed, metadata)).toEqual(encodeSafetensors(tensors, metadata));
  });

  it('keeps awkward names: "__proto__", integer-like keys, unicode', () => {
    const odd: Record<string, RawTensor> = {};
    for (const name of ['__proto__', '10', '2', 'constructor', 'ü.weight', 'a"b\\c']) {
      Object.defineProperty(odd, name, {
        value: { dtype: 'float32', shape: [1], data: new Float32Array([name.length]) },
        enumerable: true,
      });
    }
    const out = decodeSafetensors(encodeSafetensors(odd)).tensors;
    expect(Object.keys(out).sort()).toEqual(Object.keys(odd).sort());
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    const proto = Object.getOwnPropertyDescriptor(out, '__proto__')?.value as RawTensor;
    expect(proto.data[0]).toBe(9);
  });

  it('copies data out: the result does not alias the input bytes', () => {
    const bytes = encodeSafetensors(tensors);
    const out = decodeSafetensors(bytes).tensors;
    bytes.fill(0xff, 8);
    expect(Array.from(out.w!.data)).toEqual(Array.from(tensors.w!.data));
  });

  it('decodes from a Uint8Array at an unaligned offset of a larger buffer (and from a Buffer)', () => {
    const bytes = encodeSafetensors(tensors, metadata);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const out = decodeSafetensors(big.subarray(3));
    expect(bytesOf(out.tensors.v!.data)).toEqual(bytesOf(tensors.v!.data));
    const fromBuffer = decodeSafetensors(Buffer.from(bytes));
    expect(bytesOf(fromBuffer.tensors.w!.data)).toEqual(bytesOf(tensors.w!.data));
  });

  it('writes output that an independent minimal parser accepts, padded and aligned', () => {
    const bytes = encodeSafetensors(tensors, metadata);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(dv.getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    expect(text.startsWith('{')).toBe(true);
    expect(/^[^ ]*\} *$/.test(text.slice(text.lastIndexOf('}')))).toBe(true);
    const header = JSON.parse(text) as Record<
      string,
      { dtype: string; shape: number[]; data_offsets: number[] }
    >;
    expect(header.__metadata__).toEqual(metadata);
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    expect(names.sort()).toEqual(Object.keys(tensors).sort());
    const ranges = names.map((k) => header[k]!.data_offsets as [number, number]).sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [b, e] of ranges) {
      expect(b).toBe(at);
      at = e;
    }
    expect(8 + n + at).toBe(bytes.length);
    for (const name of names) {
      const { dtype, shape, data_offsets } = header[name]!;
      const t = tensors[name]!;
      expect(dtype).toBe(t.dtype === 'float32' ? 'F32' : 'F64');
      expect(shape).toEqual(t.shape);
      const [b, e] = data_offsets as [number, number];
      // Alignment: each tensor starts at a file offset that is a multiple of its element size.
      expect((8 + n + b) % t.data.BYTES_PER_ELEMENT).toBe(0);
      expect(bytes.subarray(8 + n + b, 8 + n + e)).toEqual(bytesOf(t.data));
    }
    // Larger elements first, then by name.
    const order = [...names].sort((a, b) => header[a]!.data_offsets[0]! - header[b]!.data_offsets[0]!);
    expect(order).toEqual(['empty', 'v', 'nonFinite', 'scalar', 'w']);
  });

  const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
  const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const tensorArb: fc.Arbitrary<RawTensor> = fc.oneof(
    shapeArb.chain((shape) =>
      fc
        .array(fc.float(), { minLength: count(shape), maxLength: count(shape) })
        .map((xs): RawTensor => ({ dtype: 'float32', shape, data: new Float32Array(xs) })),
    ),
    shapeArb.chain((shape) =>
      fc
        .array(fc.double(), { minLength: count(shape), maxLength: count(shape) })
        .map((xs): RawTensor => ({ dtype: 'float64', shape, data: new Float64Array(xs) })),
    ),
    // Raw bit patterns: every NaN payload and signalling NaN must survive.
    shapeArb.chain((shape) =>
      fc
        .array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: count(shape), maxLength: count(shape) })
        .map(
          (xs): RawTensor => ({
            dtype: 'float32',
            shape,
            data: new Float32Array(new Uint32Array(xs).buffer),
          }),
        ),
    ),
    shapeArb.chain((shape) =>
      fc
        .array(fc.integer({ min: 0, max: 0xffffffff }), {
          minLength: 2 * count(shape),
          maxLength: 2 * count(shape),
        })
        .map(
          (xs): RawTensor => ({
            dtype: 'float64',
            shape,
            data: new Float64Array(new Uint32Array(xs).buffer),
          }),
        ),
    ),
  );

  it('property: random dicts round-trip bit-exactly', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 8, unit: 'binary' }), tensorArb, { maxKeys: 5 }),
        fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), { maxKeys: 3 }),
        (tensors, metadata) => {
          fc.pre(!('__metadata__' in tensors));
          const out = decodeSafetensors(encodeSafetensors(tensors, metadata));
          expect(Object.keys(out.tensors).sort()).toEqual(Object.keys(tensors).sort());
          for (const [name, t] of Object.entries(tensors)) {
            const o = out.tensors[name]!;
            expect(o.dtype).toBe(t.dtype);
            expect(o.shape).toEqual(t.shape);
            expect(bytesOf(o.data)).toEqual(bytesOf(t.data));
          }
          expect(out.metadata).toEqual(metadata);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('hand-written files (not produced by our encoder)', () => {
  it('reads a header typed out in the test: "weight" F32 [2,2] = [1,2,3,4]', () => {
    // prettier-ignore
    const data = [
      0x00,
      0x00,
      0x80,
      0x3f, // 1.0f
      0x00,
      0x00,
      0x00,
      0x40, // 2.0f
      0x00,
      0x00,
      0x40,
      0x40, // 3.0f
      0x00,
      0x00,
      0x80,
      0x40, // 4.0f
    ];
    const bytes = handFile(WEIGHT_HEADER, data);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([62, 0, 0, 0, 0, 0, 0, 0]);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({});
    expect(tensors.weight!.dtype).toBe('float32');
    expect(tensors.weight!.shape).toEqual([2, 2]);
    expect(Array.from(tensors.weight!.data)).toEqual([1, 2, 3, 4]);
    // The committed fixture (made by test/fixtures/make_fixtures.py with Python's struct) is byte-identical.
    expect(fixture('weight_f32.safetensors')).toEqual(bytes);
  });

  it('reads a space-padded header with __metadata__ and entries listed out of data order', async () => {
    const { tensors, metadata } = await loadSafetensors(join(FIXTURES, 'padded_metadata.safetensors'));
    expect(metadata).toEqual({ format: 'pt', note: 'café "quoted"' });
    expect(tensors.a).toEqual({ dtype: 'float32', shape: [2], data: new Float32Array([-0.5, 0.25]) });
    expect(tensors.b).toEqual({ dtype: 'float32', shape: [], data: new Float32Array([7]) });
  });

  it('reads F64 data at an unaligned file offset, a U8 byte and an empty tensor', () => {
    const { tensors } = decodeSafetensors(fixture('f64_unaligned.safetensors'));
    expect(tensors.x!.dtype).toBe('float64');
    expect(tensors.x!.data).toBeInstanceOf(Float64Array);
    expect(Array.from(tensors.x!.data)).toEqual([0.1, -1.25, 1e300]);
    expect(tensors.u).toEqual({ dtype: 'float32', shape: [1], data: new Float32Array([200]) });
    expect(tensors.e).toEqual({ dtype: 'float64', shape: [0, 4], data: new Float64Array(0) });
  });

  it('converts F16, BF16, I64, I32, I16, I8, U8 and BOOL to float32', () => {
    const { tensors } = decodeSafetensors(fixture('other_dtypes.safetensors'));
    const values = (name: string) => {
      expect(tensors[name]!.dtype).toBe('float32');
      return Array.from(tensors[name]!.data);
    };
    expect(tensors.h!.shape).toEqual([2, 3]);
    expect(values('h')).toEqual([1, -2, 65504, 2 ** -24, Infinity, 0.333251953125]);
    expect(values('bf')).toEqual([1, -3]);
    expect(values('l')).toEqual([-5, 2 ** 40]);
    expect(values('i')).toEqual([-7, 123456]);
    expect(values('s')).toEqual([-32768, 32767]);
    expect(values('c')).toEqual([-128, 127]);
    expect(values('u')).toEqual([0, 255]);
    expect(values('t')).toEqual([1, 0, 1]);
  });

  it('decodes every one of the 65536 F16 bit patterns like the IEEE binary16 formula', () => {
    const data = new Uint8Array(2 * 65536);
    const dv = new DataView(data.buffer);
    for (let h = 0; h < 65536; h++) dv.setUint16(2 * h, h, true);
    const bytes = handFile('{"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]}}', data);
    const got = decodeSafetensors(bytes).tensors.h!.data;
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const expected =
        e === 0x1f
          ? m === 0
            ? sign * Infinity
            : Number.NaN
          : e === 0
            ? sign * m * 2 ** -24
            : sign * (1 + m / 1024) * 2 ** (e - 15);
      if (!Object.is(got[h], expected))
        throw new Error(`F16 0x${h.toString(16)}: got ${got[h]}, want ${expected}`);
    }
  });

  it('rejects BOOL bytes other than 0 and 1', () => {
    const bytes = handFile('{"t":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', [1, 2]);
    const err = expectDecodeError(bytes, 'tensor "t"', 'BOOL element 1 is byte 0x02, expected 0x00 or 0x01');
    expect(err.tensor).toBe('t');
  });
});

describe('corrupt input', () => {
  const validFiles = ['weight_f32.safetensors', 'padded_metadata.safetensors', 'other_dtypes.safetensors'];

  it('truncating a valid file at every length gives a SafetensorsError', () => {
    for (const name of validFiles) {
      const bytes = fixture(name);
      expect(() => decodeSafetensors(bytes)).not.toThrow();
      for (let len = 0; len < bytes.length; len++) {
        catchSafetensorsError(() => decodeSafetensors(bytes.slice(0, len)));
      }
    }
  });

  it('property: flipping header bytes gives a SafetensorsError or a fully valid decode', () => {
    const bytes = fixture('padded_metadata.safetensors');
    const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: headerEnd - 1 }), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (flips) => {
          const copy = bytes.slice();
          for (const [at, mask] of flips) copy[at]! ^= mask;
          let result: ReturnType<typeof decodeSafetensors> | undefined;
          try {
            result = decodeSafetensors(copy);
          } catch (err) {
            if (!(err instanceof SafetensorsError)) throw err;
            return;
          }
          expectFullyValid(result);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('property: replacing a header character by a JSON-significant one never crashes', () => {
    const bytes = fixture('weight_f32.safetensors');
    const special = [...'{}[]",:0123456789-.eE \\tnu'].map((c) => c.charCodeAt(0));
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 8 + 61 }), fc.constantFrom(...special), (at, byte) => {
        const copy = bytes.slice();
        copy[at] = byte;
        try {
          expectFullyValid(decodeSafetensors(copy));
        } catch (err) {
          if (!(err instanceof SafetensorsError)) throw err;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('property: arbitrary bytes give a SafetensorsError or a fully valid decode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          expectFullyValid(decodeSafetensors(bytes));
        } catch (err) {
          if (!(err instanceof SafetensorsError)) throw err;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a file shorter than the 8-byte prefix', () => {
    expectDecodeError(new Uint8Array(5), 'file is 5 bytes, expected at least 8 bytes');
  });

  it('rejects a header length larger than the file', () => {
    expectDecodeError(
      handFile(WEIGHT_HEADER, f32Bytes([1, 2, 3, 4]), 1000n),
      'header length 1000 is larger than the file: expected at least 1008 bytes, found 86',
    );
  });

  it('rejects a header length above the 100 MB limit (including 2^64 - 1)', () => {
    expectDecodeError(
      handFile('{}', [], BigInt(MAX_HEADER_LENGTH) + 1n),
      'exceeds the limit of 100000000 bytes',
    );
    expectDecodeError(
      handFile('{}', [], 2n ** 64n - 1n),
      'header length 18446744073709551615 exceeds the limit',
    );
  });

  it('rejects non-object JSON headers', () => {
    expectDecodeError(handFile('[1,2]'), 'header JSON must be an object', 'found array [1,2]');
    expectDecodeError(handFile('"weights"'), 'header JSON must be an object', 'found "weights"');
    expectDecodeError(handFile('null'), 'header JSON must be an object', 'found null');
    expectDecodeError(handFile('42'), 'header JSON must be an object', 'found 42');
  });

  it('rejects headers that are not JSON, not UTF-8, empty, or do not begin with "{"', () => {
    expectDecodeError(handFile('{"weight":'), 'header is not valid JSON');
    expectDecodeError(handFile(''), 'header is not valid JSON');
    const bad = handFile('{"a":1}');
    bad[10] = 0xff;
    expectDecodeError(bad, 'header is not valid UTF-8');
    expectDecodeError(handFile(' {}'), "header must begin with '{' (0x7B), found byte 0x20");
  });

  it('rejects unknown or missing dtypes', () => {
    const err = expectDecodeError(
      handFile('{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      'tensor "w": dtype: unknown dtype "F17" (expected one of F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL)',
    );
    expect(err.tensor).toBe('w');
    expectDecodeError(
      handFile('{"w":{"dtype":"float32","shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      'unknown dtype "float32"',
    );
    expectDecodeError(
      handFile('{"w":{"shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]),
      'dtype: unknown dtype nothing (missing)',
    );
  });

  it('rejects bad shapes: negative, fractional, unsafe, not an array', () => {
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]}}', new Uint8Array(16)),
      'tensor "w": shape[1]: expected a non-negative integer, found -2',
    );
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', new Uint8Array(4)),
      'shape[0]: expected a non-negative integer, found 1.5',
    );
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":[0,1e300],"data_offsets":[0,0]}}'),
      'shape[1]: expected a non-negative integer, found 1e+300',
    );
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":"2x2","data_offsets":[0,16]}}', new Uint8Array(16)),
      'shape: expected an array of non-negative integers, found "2x2"',
    );
  });

  it('rejects malformed data_offsets and entries', () => {
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}', new Uint8Array(4)),
      'tensor "w": data_offsets: expected [begin, end] (two non-negative integers), found array [0]',
    );
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', new Uint8Array(4)),
      'data_offsets[0]: expected a non-negative integer, found -4',
    );
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}', new Uint8Array(4)),
      'data_offsets [4, 0]: expected begin <= end',
    );
    expectDecodeError(
      handFile('{"w":[1,2]}'),
      'tensor "w": expected an object {"dtype", "shape", "data_offsets"}',
    );
  });

  it('rejects a wrong byte count for the shape', () => {
    expectDecodeError(
      handFile('{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}', new Uint8Array(12)),
      'tensor "w": data_offsets [0, 12] span 12 bytes, expected 16 bytes for dtype F32 with shape [2, 2] (4 elements x 4 bytes)',
    );
    expectDecodeError(
      handFile('{"w":{"dtype":"F64","shape":[],"data_offsets":[0,4]}}', new Uint8Array(4)),
      'span 4 bytes, expected 8 bytes for dtype F64 with shape [] (1 elements x 8 bytes)',
    );
  });

  it('rejects offsets beyond the data buffer', () => {
    expectDecodeError(
      handFile(WEIGHT_HEADER, new Uint8Array(12)),
      'tensor "weight": data_offsets [0, 16]: end exceeds the data buffer, expected end <= 12',
    );
  });

  it('rejects overlapping offsets', () => {
    const header =
      '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}';
    expectDecodeError(
      handFile(header, new Uint8Array(12)),
      'tensor "b": data_offsets [4, 12] overlap tensor "a" [0, 8]: expected begin >= 8',
    );
    // Two tensors on the very same bytes.
    const same =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    expectDecodeError(handFile(same, new Uint8Array(4)), 'overlap tensor');
  });

  it('rejects holes and trailing bytes', () => {
    const header =
      '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    expectDecodeError(
      handFile(header, new Uint8Array(12)),
      'tensor "b": data_offsets [8, 12] leave a hole: bytes [4, 8) of the data buffer belong to no tensor (expected begin == 4)',
    );
    expectDecodeError(
      handFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)),
      'leave a hole: bytes [0, 4)',
    );
    expectDecodeError(
      handFile(WEIGHT_HEADER, new Uint8Array(20)),
      'data buffer is 20 bytes but the tensors cover only bytes [0, 16): expected no trailing bytes',
    );
  });

  it('rejects non-string metadata', () => {
    const tail = ',"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}';
    expectDecodeError(
      handFile(`{"__metadata__":{"ok":"yes","step":3}${tail}`, new Uint8Array(4)),
      '__metadata__: step: expected a string value, found 3',
    );
    expectDecodeError(
      handFile(`{"__metadata__":["a"]${tail}`, new Uint8Array(4)),
      '__metadata__: expected an object mapping strings to strings, found array ["a"]',
    );
    expectDecodeError(
      handFile(`{"__metadata__":null${tail}`, new Uint8Array(4)),
      '__metadata__: expected an object mapping strings to strings, found null',
    );
  });

  it('rejects duplicate names (which JSON.parse would silently merge)', () => {
    const t = '{"dtype":"F32","shape":[],"data_offsets":[0,4]}';
    expectDecodeError(
      handFile(`{"w":${t},"w":${t}}`, new Uint8Array(4)),
      'duplicate tensor name "w" in header',
    );
    // The same name spelled with an escape.
    expectDecodeError(handFile(`{"w":${t},"\\u0077":${t}}`, new Uint8Array(4)), 'duplicate tensor name "w"');
    expectDecodeError(
      handFile('{"w":{"dtype":"F64","dtype":"F32","shape":[],"data_offsets":[0,4]}}', new Uint8Array(4)),
      'tensor "w": duplicate key "dtype" in header entry',
    );
    expectDecodeError(
      handFile(`{"__metadata__":{"k":"1","k":"2"},"w":${t}}`, new Uint8Array(4)),
      'duplicate key "k" in __metadata__',
    );
    // Keys inside string values, and equal keys in different objects, are not duplicates.
    const ok = `{"__metadata__":{"w":"{\\"w\\":1, \\"w\\":2}","dtype":"x"},"w":${t}}`;
    expect(decodeSafetensors(handFile(ok, new Uint8Array(4))).metadata.dtype).toBe('x');
  });

  it('names the file in errors when loading from disk', async () => {
    const dir = tempDir();
    const path = join(dir, 'broken.safetensors');
    writeFileSync(
      path,
      handFile('{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)),
    );
    const err = await loadSafetensors(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).message).toBe(
      `safetensors ${path}: tensor "w": dtype: unknown dtype "F17" (expected one of F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL)`,
    );
    expect((err as SafetensorsError).file).toBe(path);
    const missing = await loadSafetensors(join(dir, 'nope.safetensors')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SafetensorsError);
    expect((missing as SafetensorsError).message).toContain('cannot read file');
    expect(((missing as SafetensorsError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    const viaOption = catchSafetensorsError(() => decodeSafetensors(new Uint8Array(3), { source: 'x.st' }));
    expect(viaOption.message).toBe(
      'safetensors x.st: file is 3 bytes, expected at least 8 bytes for the header-length prefix',
    );
  });
});

describe('encoder validation', () => {
  const t32 = (data: number[], shape = [data.length]): RawTensor => ({
    dtype: 'float32',
    shape,
    data: new Float32Array(data),
  });

  it('rejects empty and reserved names', () => {
    expect(catchSafetensorsError(() => encodeSafetensors({ '': t32([1]) })).message).toContain(
      'tensor names must be non-empty strings',
    );
    expect(catchSafetensorsError(() => encodeSafetensors({ __metadata__: t32([1]) })).message).toContain(
      'is reserved for metadata',
    );
  });

  it('rejects mismatched dtype/array, shape/length and bad dims', () => {
    const wrongArray = { dtype: 'float64', shape: [1], data: new Float32Array(1) } as RawTensor;
    expect(catchSafetensorsError(() => encodeSafetensors({ w: wrongArray })).message).toBe(
      'safetensors: tensor "w": dtype float64 expects a Float64Array, found Float32Array',
    );
    const badDType = { dtype: 'int8', shape: [1], data: new Float32Array(1) } as unknown as RawTensor;
    expect(catchSafetensorsError(() => encodeSafetensors({ w: badDType })).message).toContain(
      'expected dtype "float32" or "float64", found "int8"',
    );
    expect(catchSafetensorsError(() => encodeSafetensors({ w: t32([1, 2, 3], [2, 2]) })).message).toContain(
      'shape [2, 2] has 4 elements but data has 3',
    );
    expect(catchSafetensorsError(() => encodeSafetensors({ w: t32([], [-1]) })).message).toContain(
      'shape[0]: expected a non-negative integer, found -1',
    );
  });

  it('rejects non-string metadata values', () => {
    const meta = { step: 3 } as unknown as Record<string, string>;
    expect(catchSafetensorsError(() => encodeSafetensors({}, meta)).message).toContain(
      '__metadata__.step: expected a string value, found 3',
    );
  });
});

describe('atomic writes', () => {
  const listTmp = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

  it('saveSafetensors then loadSafetensors round-trips and leaves no temp files', async () => {
    const dir = tempDir();
    const path = join(dir, 'model.safetensors');
    const tensors = { w: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) } } satisfies Record<
      string,
      RawTensor
    >;
    await saveSafetensors(path, tensors, { step: '1' });
    await saveSafetensors(path, { w: { ...tensors.w, data: new Float32Array([3, 4]) } }, { step: '2' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const loaded = await loadSafetensors(path);
    expect(Array.from(loaded.tensors.w!.data)).toEqual([3, 4]);
    expect(loaded.metadata).toEqual({ step: '2' });
  });

  it('writeFileAtomic / writeFileAtomicSync write strings and bytes, replacing the target', async () => {
    const dir = tempDir();
    const path = join(dir, 'manifest.json');
    await writeFileAtomic(path, '{"a":1}');
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}');
    await writeFileAtomic(path, new Uint8Array([104, 105]));
    expect(readFileSync(path, 'utf8')).toBe('hi');
    writeFileAtomicSync(path, 'sync ✓');
    expect(readFileSync(path, 'utf8')).toBe('sync ✓');
    writeFileAtomicSync(path, new Uint8Array(0));
    expect(readFileSync(path).length).toBe(0);
    expect(readdirSync(dir)).toEqual(['manifest.json']);
  });

  it('concurrent writers: the target holds exactly one complete version', async () => {
    const dir = tempDir();
    const path = join(dir, 'race.bin');
    const versions = Array.from({ length: 12 }, (_, i) => new Uint8Array(10_000).fill(i));
    await Promise.all(versions.map((v) => writeFileAtomic(path, v)));
    const final = new Uint8Array(readFileSync(path));
    expect(final.length).toBe(10_000);
    expect(final.every((b) => b === final[0])).toBe(true);
    expect(listTmp(dir)).toEqual([]);
  });

  it('a failure throws and leaves no temp file (missing directory, target is a directory)', async () => {
    const dir = tempDir();
    const missing = join(dir, 'no-such-dir', 'x.bin');
    await expect(writeFileAtomic(missing, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => writeFileAtomicSync(missing, 'x')).toThrow(/ENOENT/);
    // The temp file gets created here, then the rename fails: it must be cleaned up.
    const target = join(dir, 'occupied');
    mkdirSync(target);
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(() => writeFileAtomicSync(target, 'x')).toThrow();
    expect(listTmp(dir)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['occupied']);

    const err = await saveSafetensors(missing, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).message).toContain(`safetensors ${missing}: cannot write file`);
    expect(((err as SafetensorsError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(listTmp(dir)).toEqual([]);
  });
});
