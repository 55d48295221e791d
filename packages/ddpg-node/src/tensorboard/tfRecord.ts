/**
 * TFRecord framing, the container of TensorBoard's event files. Each record is
 *
 *     uint64 length (little-endian) | uint32 masked CRC-32C of those 8 bytes
 *     | length bytes of data        | uint32 masked CRC-32C of the data
 *
 * as TensorFlow's `core/lib/io/record_writer.cc` writes it. Readers check both CRCs, so a
 * record torn by a crash is recognised and skipped rather than decoded as garbage.
 * @module
 */
import CRC32C from 'crc-32/crc32c.js';

/** Bytes a record adds around its data: the length, its CRC, and the data's CRC. */
export const TF_RECORD_OVERHEAD = 8 + 4 + 4;

/** CRC-32C (Castagnoli) of `bytes`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  // The library returns a signed 32-bit integer.
  return CRC32C.buf(bytes) >>> 0;
}

/**
 * The masked form of a CRC that TFRecord stores. A CRC of data that itself contains CRCs is
 * weak, so TensorFlow rotates it right by 15 bits and adds a constant
 * (`core/lib/hash/crc32c.h`, `Mask`).
 */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord holding `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(TF_RECORD_OVERHEAD + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskCrc(crc32c(out.subarray(0, 8))), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskCrc(crc32c(data)), true);
  return out;
}
