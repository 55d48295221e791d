/**
 * Tensors to and from safetensors bytes. Reading and writing files is Node-only and lives in
 * `files.ts`, exported from `@chainrule/nn/node`.
 * @module
 */
import { ChainruleError, type Tensor, tensor } from '@chainrule/tensor';
import type { StateDict } from './module.ts';
import { CHECKSUM_PREFIX, decodeSafetensors, encodeSafetensors, type RawTensor } from './safetensors.ts';
import { sha256Hex } from './sha256.ts';

function bytesOf(data: Float32Array | Float64Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function withChecksums(
  raw: Record<string, RawTensor>,
  metadata: Record<string, string> | undefined,
): Record<string, string> {
  const out: Record<string, string> = { ...metadata };
  for (const [k, r] of Object.entries(raw)) out[`${CHECKSUM_PREFIX}${k}`] = sha256Hex(bytesOf(r.data));
  return out;
}

function toRaw(tensors: StateDict): Record<string, RawTensor> {
  const raw: Record<string, RawTensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!t || typeof (t as Tensor).dataSync !== 'function')
      throw new ChainruleError('save', `entry "${k}" is not a Tensor`);
    raw[k] = { dtype: t.dtype, shape: [...t.shape], data: t.dataSync() };
  }
  return raw;
}

/** @internal Raw safetensors entries to tensors (used by the file loaders). */
export function fromRaw(raw: Record<string, RawTensor>): StateDict {
  const out: StateDict = {};
  for (const [k, r] of Object.entries(raw)) out[k] = tensor(r.data, { shape: r.shape, dtype: r.dtype });
  return out;
}

/**
 * Encode tensors (for example a `stateDict()`) and string metadata as safetensors bytes.
 * The SHA-256 of each tensor's bytes goes into `__metadata__` as `sha256.<name>`, so
 * {@link decode} can tell flipped bytes from a real checkpoint.
 */
export function encode(tensors: StateDict, metadata?: Record<string, string>): Uint8Array {
  const raw = toRaw(tensors);
  return encodeSafetensors(raw, withChecksums(raw, metadata));
}

/**
 * Decode safetensors bytes into tensors and metadata. Tensors with a recorded SHA-256 are
 * verified by the decoder (a mismatch is a `SafetensorsError` naming the tensor); files
 * without checksums load as they are. The checksum entries are not part of the returned metadata.
 */
export function decode(
  bytes: Uint8Array,
  source?: string,
): { tensors: StateDict; metadata: Record<string, string> } {
  const d = decodeSafetensors(bytes, source ? { source } : undefined);
  return { tensors: fromRaw(d.tensors), metadata: d.metadata };
}
