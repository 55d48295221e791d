/**
 * A self-contained reader/writer for the safetensors format (https://github.com/huggingface/safetensors).
 * It works on plain typed arrays ({@link RawTensor}) and does not depend on the Tensor class.
 *
 * File layout:
 * - 8 bytes: `N`, the header length, an unsigned little-endian 64-bit integer;
 * - `N` bytes: a UTF-8 JSON object mapping each tensor name to
 *   `{ "dtype": "F32", "shape": [2, 2], "data_offsets": [begin, end] }`, plus an optional `"__metadata__"`
 *   string→string map; it may be padded at the end with spaces (0x20);
 * - the byte buffer: raw little-endian tensor data; `data_offsets` are relative to its start.
 *
 * This module works on bytes and runs anywhere; `saveSafetensors`/`loadSafetensors` (files) are in
 * `@chainrule/nn/node`.
 *
 * @module
 */
import { z } from 'zod';
import { sha256Hex } from './sha256.ts';

/**
 * The `__metadata__` key prefix of a tensor's SHA-256 (`sha256.<name>`: 64 hex digits of its
 * stored bytes). chainrule's `encode` writes one per tensor; decoding checks every one it finds.
 */
export const CHECKSUM_PREFIX = 'sha256.';

/** Element types recognised in a safetensors header. */
export type SafetensorsDType = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * A dense tensor as plain data: row-major (C order) elements in `data`, `data.length === product(shape)`.
 * A scalar has `shape: []` and one element; a tensor with a 0 dimension has no elements.
 */
export interface RawTensor {
  /** Element type; `'float32'` goes with a `Float32Array`, `'float64'` with a `Float64Array`. */
  dtype: 'float32' | 'float64';
  /** Dimensions, each a non-negative safe integer. */
  shape: number[];
  /** Elements in row-major order. */
  data: Float32Array | Float64Array;
}

/** The result of decoding a safetensors file. */
export interface DecodedSafetensors {
  /** Tensors by name. */
  tensors: Record<string, RawTensor>;
  /** The `__metadata__` map, or `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** Options for {@link decodeSafetensors}. */
export interface DecodeSafetensorsOptions {
  /** A file name or other label for the bytes, included in error messages. */
  source?: string;
}

/** Options for {@link encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /** The file the bytes are for, included in error messages. */
  source?: string;
}

/** Where a {@link SafetensorsError} happened, beyond its message. */
export interface SafetensorsErrorContext {
  /** The file being read or written, when known. */
  file?: string | undefined;
  /** The tensor (header key) concerned, when the failure is about one tensor. */
  tensor?: string | undefined;
  /** The underlying error (e.g. a filesystem error), if any. */
  cause?: unknown;
}

/**
 * The only error type thrown by this module's encode/decode/save/load functions.
 *
 * The message has the form `safetensors <file>: tensor "<name>": <detail>` (the file and tensor parts are left
 * out when unknown or not applicable) and the detail says what was expected and what was found.
 */
export class SafetensorsError extends Error {
  /** The file being read or written, when known. */
  readonly file: string | undefined;
  /** The tensor (header key) concerned, when the failure is about one tensor. */
  readonly tensor: string | undefined;
  /** The message without the file/tensor prefix. */
  readonly detail: string;

  /**
   * @param detail What went wrong: what was expected and what was found.
   * @param context The file, tensor and underlying cause, when known.
   */
  constructor(detail: string, context: SafetensorsErrorContext = {}) {
    const where = context.file !== undefined ? ` ${context.file}` : '';
    const what = context.tensor !== undefined ? `tensor ${JSON.stringify(context.tensor)}: ` : '';
    super(
      `safetensors${where}: ${what}${detail}`,
      context.cause !== undefined ? { cause: context.cause } : {},
    );
    this.name = 'SafetensorsError';
    this.file = context.file;
    this.tensor = context.tensor;
    this.detail = detail;
  }
}

/**
 * The largest header accepted when reading (and produced when writing): 100,000,000 bytes, the same limit as
 * the reference Rust implementation.
 */
export const MAX_HEADER_LENGTH = 100_000_000;

/** The header key reserved for the string→string metadata map. */
const METADATA_KEY = '__metadata__';

/** Bytes per element for every recognised dtype. */
const BYTES_PER_ELEMENT: Record<SafetensorsDType, number> = {
  F64: 8,
  I64: 8,
  F32: 4,
  I32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const DTYPES = [
  'F32',
  'F64',
  'F16',
  'BF16',
  'I64',
  'I32',
  'I16',
  'I8',
  'U8',
  'BOOL',
] as const satisfies readonly SafetensorsDType[];

/** True when the host stores multi-byte numbers little-endian (the file format is always little-endian). */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------------------------
// Header validation schemas (zod 4). Error functions build "expected …, found …" details; the path of the issue
// (e.g. `shape[1]`) is prefixed when the issue is formatted.

/** A short, safe description of an arbitrary JSON value for error messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return kind === 'object' || kind === 'array' ? `${kind} ${shown}` : shown;
}

const nonNegativeIntMessage = (iss: { input?: unknown }) =>
  `expected a non-negative integer, found ${describe(iss.input)}`;
const nonNegativeInt = z.int({ error: nonNegativeIntMessage }).min(0, { error: nonNegativeIntMessage });

const tensorInfoSchema = z.object(
  {
    dtype: z.enum(DTYPES, {
      error: (iss) => `unknown dtype ${describe(iss.input)} (expected one of ${DTYPES.join(', ')})`,
    }),
    shape: z.array(nonNegativeInt, {
      error: (iss) => `expected an array of non-negative integers, found ${describe(iss.input)}`,
    }),
    data_offsets: z.tuple([nonNegativeInt, nonNegativeInt], {
      error: (iss) => `expected [begin, end] (two non-negative integers), found ${describe(iss.input)}`,
    }),
  },
  {
    error: (iss) => `expected an object {"dtype", "shape", "data_offsets"}, found ${describe(iss.input)}`,
  },
);

const metadataSchema = z.record(
  z.string(),
  z.string({ error: (iss) => `expected a string value, found ${describe(iss.input)}` }),
  { error: (iss) => `expected an object mapping strings to strings, found ${describe(iss.input)}` },
);

const headerSchema = z.record(z.string(), z.unknown(), {
  error: (iss) =>
    `header JSON must be an object mapping tensor names to entries, found ${describe(iss.input)}`,
});

/** Formats a zod issue path like `shape[1]` or `data_offsets`. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    out += typeof seg === 'number' ? `[${seg}]` : out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** The first issue of a failed zod parse, as `path: message`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid value';
  const path = formatPath(issue.path);
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}

/** Defines an own enumerable property (safe even for keys like `__proto__`). */
function defineEntry<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Duplicate-key detection. JSON.parse silently keeps the last of duplicated keys; the spec requires unique names,
// so the (already syntactically valid) header text is scanned once for duplicated object keys at any depth.

interface DuplicateKey {
  key: string;
  /** The top-level key the duplicate is nested in, or undefined for a duplicated top-level key. */
  within: string | undefined;
}

/** Returns the first duplicated object key in `text`, which must be valid JSON. */
function findDuplicateKey(text: string): DuplicateKey | undefined {
  type Frame = { isObject: true; keys: Set<string>; expectKey: boolean } | { isObject: false };
  const stack: Frame[] = [];
  let topKey: string | undefined;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      i++;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) {
          break;
        }
      }
      const top = stack[stack.length - 1];
      if (top?.isObject && top.expectKey) {
        const token = text.slice(start, i + 1);
        const key = escaped ? (JSON.parse(token) as string) : token.slice(1, -1);
        if (top.keys.has(key)) return { key, within: stack.length === 1 ? undefined : topKey };
        top.keys.add(key);
        top.expectKey = false;
        if (stack.length === 1) topKey = key;
      }
    } else if (c === 0x7b /* { */) {
      stack.push({ isObject: true, keys: new Set(), expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ isObject: false });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.isObject) top.expectKey = true;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

interface TensorEntry {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Reverses the bytes of each `width`-byte element in place (little-endian file ↔ big-endian host). */
function swapBytesInPlace(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Float32 bit pattern of an IEEE 754 binary16 bit pattern (exact, including NaN payloads and subnormals). */
function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal half: mant * 2^-24. Normalise so the leading 1 lands on bit 10.
  let e = 113;
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * Copies one tensor's bytes out of the file buffer into a fresh, aligned typed array. Never creates a typed-array
 * view on the caller's buffer (whose offsets may be unaligned); F32/F64 are byte copies, so they are bit-exact.
 */
function decodeData(
  entry: TensorEntry,
  src: Uint8Array,
  count: number,
  fail: (detail: string) => never,
): Float32Array | Float64Array {
  const { dtype } = entry;
  if (dtype === 'F32' || dtype === 'F64') {
    const width = BYTES_PER_ELEMENT[dtype];
    const copy = new Uint8Array(count * width);
    copy.set(src);
    if (!HOST_IS_LITTLE_ENDIAN) swapBytesInPlace(copy, width);
    return dtype === 'F32'
      ? new Float32Array(copy.buffer, 0, count)
      : new Float64Array(copy.buffer, 0, count);
  }
  const out = new Float32Array(count);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (dtype) {
    case 'F16':
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) {
        const h = view.getUint16(2 * i, true);
        bits[i] = dtype === 'BF16' ? (h << 16) >>> 0 : halfBitsToFloatBits(h);
      }
      break;
    }
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(8 * i, true));
      break;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(2 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case 'U8':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
    case 'BOOL':
      for (let i = 0; i < count; i++) {
        const b = view.getUint8(i);
        if (b > 1) {
          fail(`BOOL element ${i} is byte 0x${b.toString(16).padStart(2, '0')}, expected 0x00 or 0x01`);
        }
        out[i] = b;
      }
      break;
  }
  return out;
}

function decodeImpl(input: Uint8Array, file: string | undefined): DecodedSafetensors {
  const fail = (detail: string, tensor?: string): never => {
    throw new SafetensorsError(detail, { file, tensor });
  };
  if (!(input instanceof Uint8Array)) fail(`expected a Uint8Array of file bytes, found ${describe(input)}`);
  // A plain view, so that Buffer's overridden methods (e.g. a non-copying slice) never come into play.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);

  // 1. Header length prefix.
  if (bytes.length < 8) {
    fail(`file is ${bytes.length} bytes, expected at least 8 bytes for the header-length prefix`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_LENGTH)) {
    fail(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_LENGTH} bytes`);
  }
  const n = Number(headerLength);
  if (8 + n > bytes.length) {
    fail(
      `header length ${n} is larger than the file: expected at least ${8 + n} bytes, found ${bytes.length}`,
    );
  }
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;

  // 2. Header text and JSON.
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsedHeader = headerSchema.safeParse(json);
  if (!parsedHeader.success) return fail(firstIssue(parsedHeader.error));
  if (bytes[8] !== 0x7b) {
    fail(`header must begin with '{' (0x7B), found byte 0x${bytes[8]!.toString(16).padStart(2, '0')}`);
  }
  let duplicate: DuplicateKey | undefined;
  try {
    duplicate = findDuplicateKey(text);
  } catch (err) {
    return fail(`header could not be scanned for duplicate keys (${String(err)})`);
  }
  if (duplicate !== undefined) {
    if (duplicate.within === undefined)
      fail(`duplicate tensor name ${JSON.stringify(duplicate.key)} in header`);
    else if (duplicate.within === METADATA_KEY)
      fail(`duplicate key ${JSON.stringify(duplicate.key)} in __metadata__`);
    else fail(`duplicate key ${JSON.stringify(duplicate.key)} in header entry`, duplicate.within);
  }

  // 3. Entries (use the JSON.parse output itself, not zod's copy, so that keys like "__proto__" survive).
  const header = json as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const name of Object.keys(header)) {
    const value = header[name];
    if (name === METADATA_KEY) {
      const parsed = metadataSchema.safeParse(value);
      if (!parsed.success) fail(`__metadata__: ${firstIssue(parsed.error)}`);
      for (const key of Object.keys(value as object)) {
        defineEntry(metadata, key, (value as Record<string, string>)[key]!);
      }
      continue;
    }
    const parsed = tensorInfoSchema.safeParse(value);
    if (!parsed.success) return fail(firstIssue(parsed.error), name);
    const { dtype, shape, data_offsets } = parsed.data;
    const [begin, end] = data_offsets;
    if (begin > end) fail(`data_offsets [${begin}, ${end}]: expected begin <= end`, name);
    if (end > dataLength) {
      fail(
        `data_offsets [${begin}, ${end}]: end exceeds the data buffer, expected end <= ${dataLength} (data buffer length)`,
        name,
      );
    }
    const width = BYTES_PER_ELEMENT[dtype];
    const count = shape.reduce((acc, d) => acc * BigInt(d), 1n);
    const needed = count * BigInt(width);
    if (BigInt(end - begin) !== needed) {
      fail(
        `data_offsets [${begin}, ${end}] span ${end - begin} bytes, expected ${needed} bytes for dtype ${dtype} ` +
          `with shape [${shape.join(', ')}] (${count} elements x ${width} bytes)`,
        name,
      );
    }
    entries.push({ name, dtype, shape, begin, end });
  }

  // 4. The tensors must tile the data buffer exactly: no overlap, no hole, no trailing bytes.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorEntry | undefined;
  for (const e of byOffset) {
    if (e.begin < covered) {
      fail(
        `data_offsets [${e.begin}, ${e.end}] overlap tensor ${JSON.stringify(previous!.name)} ` +
          `[${previous!.begin}, ${previous!.end}]: expected begin >= ${covered}`,
        e.name,
      );
    }
    if (e.begin > covered) {
      fail(
        `data_offsets [${e.begin}, ${e.end}] leave a hole: bytes [${covered}, ${e.begin}) of the data buffer ` +
          `belong to no tensor (expected begin == ${covered})`,
        e.name,
      );
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    fail(
      `data buffer is ${dataLength} bytes but the tensors cover only bytes [0, ${covered}): ` +
        `expected no trailing bytes`,
    );
  }

  // 5. Copy the data out. Everything was validated above, so this cannot fail half-way (except on BOOL bytes,
  //    and then nothing is returned).
  const tensors: Record<string, RawTensor> = {};
  for (const e of entries) {
    const width = BYTES_PER_ELEMENT[e.dtype];
    const count = (e.end - e.begin) / width;
    const src = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    // 6. A recorded checksum must match the stored bytes: flipped bits are an error, not weights.
    const recorded = metadata[`${CHECKSUM_PREFIX}${e.name}`];
    if (recorded !== undefined) {
      const actual = sha256Hex(src);
      if (actual !== recorded)
        fail(
          `SHA-256 of the data is ${actual}, but the file records ${recorded}: the bytes were changed after writing`,
          e.name,
        );
    }
    const data = decodeData(e, src, count, (detail) => fail(detail, e.name));
    defineEntry(tensors, e.name, {
      dtype: data instanceof Float64Array ? 'float64' : 'float32',
      shape: e.shape,
      data,
    });
  }
  // The checksums are the file's business: callers see only their own metadata.
  for (const k of Object.keys(metadata)) if (k.startsWith(CHECKSUM_PREFIX)) delete metadata[k];
  return { tensors, metadata };
}

/**
 * Decodes a complete safetensors file held in memory.
 *
 * Validation (every failure is a {@link SafetensorsError}; nothing is partially returned):
 * - the file has the 8-byte prefix; the header length is ≤ {@link MAX_HEADER_LENGTH} and fits in the file;
 * - the header is valid UTF-8 and valid JSON, is an object, and begins with `{`; trailing JSON whitespace
 *   (spaces, as written for alignment) is allowed;
 * - keys are unique at every level (the raw text is scanned, since `JSON.parse` keeps the last duplicate);
 * - `__metadata__`, if present, is an object whose values are all strings (`null` is rejected);
 * - every other entry has a dtype among {@link SafetensorsDType}, a shape of non-negative safe integers, and
 *   `data_offsets` `[begin, end]` of non-negative safe integers with `begin <= end <= data length` and
 *   `end - begin == product(shape) * bytesPerElement`; extra fields in an entry are ignored (as in the
 *   reference implementation); an empty tensor name is accepted;
 * - the tensors' byte ranges, sorted, tile the data buffer exactly: no overlap, no hole, no trailing bytes;
 * - a tensor with a recorded SHA-256 (`__metadata__["sha256.<name>"]`) has stored bytes that hash to it.
 *   These checksum entries are verified and left out of the returned metadata; files without them load as
 *   they are.
 *
 * Conversion: `F32` → `float32` and `F64` → `float64`, bit-exact (NaN payloads included). `F16`, `BF16`, `I64`,
 * `I32`, `I16`, `I8`, `U8` and `BOOL` are converted to `float32`: F16/BF16 exactly; integers are rounded to the
 * nearest float32 (exact up to 2^24 in magnitude; `I64` goes through `BigInt` → `Number` first); `BOOL` bytes must
 * be 0 or 1. The original dtype is not reported. Data is always copied into fresh, aligned arrays, read as
 * little-endian regardless of the host; the result never aliases `bytes`.
 *
 * @param bytes The whole file.
 * @param options `source`: a file name for error messages.
 * @returns The tensors by name, and the metadata (`{}` if the file has none).
 * @throws {SafetensorsError} If the bytes are not a valid safetensors file.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  options: DecodeSafetensorsOptions = {},
): DecodedSafetensors {
  return decodeImpl(bytes, options.source);
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

interface EncodeEntry {
  name: string;
  dtype: 'F32' | 'F64';
  shape: number[];
  bytes: Uint8Array;
}

/** Code-unit string comparison (deterministic, locale-independent). */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function encodeImpl(
  tensors: Record<string, RawTensor>,
  metadata: Record<string, string> | undefined,
  file: string | undefined,
): Uint8Array {
  const fail = (detail: string, tensor?: string): never => {
    throw new SafetensorsError(detail, { file, tensor });
  };
  if (typeof tensors !== 'object' || tensors === null || Array.isArray(tensors)) {
    fail(`expected an object mapping tensor names to tensors, found ${describe(tensors)}`);
  }
  const entries: EncodeEntry[] = [];
  for (const name of Object.keys(tensors)) {
    if (name === '') fail('tensor names must be non-empty strings, found ""');
    if (name === METADATA_KEY)
      fail(`"${METADATA_KEY}" is reserved for metadata and cannot name a tensor`, name);
    const t = tensors[name] as unknown;
    if (typeof t !== 'object' || t === null) fail(`expected a RawTensor object, found ${describe(t)}`, name);
    const { dtype, shape, data } = t as Partial<RawTensor>;
    let fileDType: 'F32' | 'F64';
    if (dtype === 'float32') {
      if (!(data instanceof Float32Array)) {
        fail(
          `dtype float32 expects a Float32Array, found ${data?.constructor?.name ?? describe(data)}`,
          name,
        );
      }
      fileDType = 'F32';
    } else if (dtype === 'float64') {
      if (!(data instanceof Float64Array)) {
        fail(
          `dtype float64 expects a Float64Array, found ${data?.constructor?.name ?? describe(data)}`,
          name,
        );
      }
      fileDType = 'F64';
    } else {
      return fail(`expected dtype "float32" or "float64", found ${describe(dtype)}`, name);
    }
    if (!Array.isArray(shape)) return fail(`expected shape to be an array, found ${describe(shape)}`, name);
    shape.forEach((d, i) => {
      if (!Number.isSafeInteger(d) || d < 0) {
        fail(`shape[${i}]: expected a non-negative integer, found ${describe(d)}`, name);
      }
    });
    const count = shape.reduce((acc: bigint, d: number) => acc * BigInt(d), 1n);
    const array = data as Float32Array | Float64Array;
    if (count !== BigInt(array.length)) {
      fail(
        `shape [${shape.join(', ')}] has ${count} elements but data has ${array.length}: expected them to match`,
        name,
      );
    }
    entries.push({
      name,
      dtype: fileDType,
      shape: [...shape],
      bytes: new Uint8Array(array.buffer, array.byteOffset, array.byteLength),
    });
  }

  let metadataJson: string | undefined;
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      fail(`__metadata__: expected an object mapping strings to strings, found ${describe(metadata)}`);
    }
    const keys = Object.keys(metadata).sort(compareStrings);
    const parts: string[] = [];
    for (const key of keys) {
      const value = (metadata as Record<string, unknown>)[key];
      if (typeof value !== 'string') {
        fail(`__metadata__.${key}: expected a string value, found ${describe(value)}`);
      }
      parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
    }
    if (parts.length > 0) metadataJson = `{${parts.join(',')}}`;
  }

  // Layout: larger elements first (F64 before F32, as the Python library orders by alignment), then by name.
  // With the header padded to a multiple of 8 bytes, every tensor starts at an offset aligned to its element size.
  entries.sort(
    (a, b) => BYTES_PER_ELEMENT[b.dtype] - BYTES_PER_ELEMENT[a.dtype] || compareStrings(a.name, b.name),
  );
  const parts: string[] = [];
  if (metadataJson !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson}`);
  let offset = 0;
  const offsets: number[] = [];
  for (const e of entries) {
    const begin = offset;
    offset += e.bytes.byteLength;
    offsets.push(begin);
    parts.push(
      `${JSON.stringify(e.name)}:{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],"data_offsets":[${begin},${offset}]}`,
    );
  }
  const headerText = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(headerText.length / 8) * 8;
  if (headerLength > MAX_HEADER_LENGTH) {
    fail(`header would be ${headerLength} bytes, expected at most ${MAX_HEADER_LENGTH}`);
  }
  let out: Uint8Array;
  try {
    out = new Uint8Array(8 + headerLength + offset);
  } catch {
    return fail(`cannot allocate ${8 + headerLength + offset} bytes for the file`);
  }
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(headerText, 8);
  out.fill(0x20, 8 + headerText.length, 8 + headerLength);
  const dataStart = 8 + headerLength;
  entries.forEach((e, i) => {
    const start = dataStart + offsets[i]!;
    out.set(e.bytes, start);
    if (!HOST_IS_LITTLE_ENDIAN) {
      swapBytesInPlace(out.subarray(start, start + e.bytes.byteLength), BYTES_PER_ELEMENT[e.dtype]);
    }
  });
  return out;
}

/**
 * Encodes tensors (and optional metadata) as a complete safetensors file.
 *
 * Layout (deterministic, one valid layout among many): tensors are ordered by element size, largest first
 * (F64 before F32, like the Python library's alignment ordering), then by name in UTF-16 code-unit order; data is
 * packed contiguously in that order. The header JSON lists `__metadata__` first (keys sorted, omitted when
 * `metadata` is undefined or empty), then the tensors in data order, and is padded with spaces so its length is
 * a multiple of 8, so every tensor's data is aligned to its element size within the file.
 *
 * Data is copied bit-for-bit, little-endian regardless of the host; non-finite values (NaN, ±Infinity) are
 * stored as they are.
 *
 * @param tensors Tensors by name. Names must be non-empty and must not be `"__metadata__"`; dtype must match the
 *   array type; `shape` must be non-negative safe integers whose product is `data.length`.
 * @param metadata Optional string→string map stored as `__metadata__`.
 * @param options `source`: the file the bytes are for, named in error messages.
 * @returns The file bytes.
 * @throws {SafetensorsError} If a name, shape, dtype, array or metadata value is invalid, or the header would
 *   exceed {@link MAX_HEADER_LENGTH}.
 */
export function encodeSafetensors(
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
  options: EncodeSafetensorsOptions = {},
): Uint8Array {
  return encodeImpl(tensors, metadata, options.source);
}
