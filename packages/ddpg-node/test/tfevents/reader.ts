/**
 * A reader of TensorBoard event files for the tests, written apart from the writer: its own
 * bitwise CRC-32C and its own protobuf wire decoder, no code shared with src/tensorboard.
 * It reads what TensorBoard reads and applies the same rule to a restarted run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Bitwise CRC-32C (reflected polynomial 0x82F63B78), slow and plain on purpose. */
export function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function referenceMask(crc: number): number {
  const rotated = ((crc >>> 15) | ((crc & 0x7fff) * 0x20000)) >>> 0;
  return (rotated + 0xa282ead8) % 0x100000000;
}

export interface ReadEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  sessionStatus?: number;
  scalars?: { tag: string; value: number }[];
}

export interface ReadFile {
  events: ReadEvent[];
  /** Bytes at the end that do not form a complete record (a write cut short). */
  tornBytes: number;
}

/** The TFRecords of a file, each CRC checked; a short tail is reported, a bad CRC throws. */
export function readRecords(bytes: Uint8Array): { records: Uint8Array[]; tornBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 12) break;
    const length = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== referenceMask(referenceCrc32c(bytes.subarray(at, at + 8))))
      throw new Error(`record at byte ${at}: the length's CRC does not match`);
    if (bytes.length - at < 12 + length + 4) break;
    const data = bytes.subarray(at + 12, at + 12 + length);
    if (view.getUint32(at + 12 + length, true) !== referenceMask(referenceCrc32c(data)))
      throw new Error(`record at byte ${at}: the data's CRC does not match`);
    records.push(data);
    at += 12 + length + 4;
  }
  return { records, tornBytes: bytes.length - at };
}

/** A protobuf message's fields, in order: varints as bigint, fixed as raw bytes, length-delimited as bytes. */
function fields(bytes: Uint8Array): { field: number; wire: number; value: bigint | Uint8Array }[] {
  const out: { field: number; wire: number; value: bigint | Uint8Array }[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = bytes[at++];
      if (b === undefined) throw new Error('protobuf: varint runs past the end');
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < bytes.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) out.push({ field, wire, value: bytes.subarray(at, (at += 8)) });
    else if (wire === 5) out.push({ field, wire, value: bytes.subarray(at, (at += 4)) });
    else if (wire === 2) {
      const n = Number(varint());
      out.push({ field, wire, value: bytes.subarray(at, (at += n)) });
    } else throw new Error(`protobuf: wire type ${wire} is not expected here`);
  }
  return out;
}

const bytesOf = (v: bigint | Uint8Array) => {
  if (typeof v === 'bigint') throw new Error('protobuf: a length-delimited field was expected');
  return v;
};
const little = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Decode an `Event` by the field numbers of event.proto and summary.proto. */
export function decodeEvent(bytes: Uint8Array): ReadEvent {
  const event: ReadEvent = { wallTime: 0, step: 0 };
  for (const { field, value } of fields(bytes)) {
    if (field === 1) event.wallTime = little(bytesOf(value)).getFloat64(0, true);
    else if (field === 2) event.step = Number(BigInt.asIntN(64, value as bigint));
    else if (field === 3) event.fileVersion = new TextDecoder().decode(bytesOf(value));
    else if (field === 5) {
      event.scalars = [];
      for (const v of fields(bytesOf(value))) {
        if (v.field !== 1) continue;
        let tag = '';
        let simple: number | undefined;
        for (const f of fields(bytesOf(v.value))) {
          if (f.field === 1) tag = new TextDecoder().decode(bytesOf(f.value));
          if (f.field === 2) simple = little(bytesOf(f.value)).getFloat32(0, true);
        }
        if (simple !== undefined) event.scalars.push({ tag, value: simple });
      }
    } else if (field === 7) {
      event.sessionStatus = 0;
      for (const f of fields(bytesOf(value))) if (f.field === 1) event.sessionStatus = Number(f.value);
    }
  }
  return event;
}

export function readEventFile(path: string): ReadFile {
  const { records, tornBytes } = readRecords(readFileSync(path));
  return { events: records.map(decodeEvent), tornBytes };
}

/**
 * The scalars TensorBoard shows for a run: its files read in name order, every START after
 * the first dropping the values at its step or later, and the last value kept per tag and step.
 * Returns tag → [step, value] pairs in step order.
 */
export function scalarsOfRun(dir: string, files: readonly string[]): Map<string, [number, number][]> {
  const byTag = new Map<string, Map<number, number>>();
  let seenStart = false;
  for (const f of files) {
    for (const e of readEventFile(join(dir, f)).events) {
      if (e.sessionStatus === 1) {
        if (seenStart)
          for (const series of byTag.values())
            for (const s of [...series.keys()]) if (s >= e.step) series.delete(s);
        seenStart = true;
      }
      for (const { tag, value } of e.scalars ?? []) {
        if (!byTag.has(tag)) byTag.set(tag, new Map());
        byTag.get(tag)!.set(e.step, value);
      }
    }
  }
  return new Map(
    [...byTag].map(
      ([tag, series]) => [tag, [...series].sort((a, b) => a[0] - b[0])] as [string, [number, number][]],
    ),
  );
}
