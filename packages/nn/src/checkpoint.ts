/**
 * Tensors to and from safetensors bytes. Reading and writing files is Node-only and lives in
 * `files.ts`, exported from `@chainrule/nn/node`.
 * @module
 */
import { ChainruleError, type Tensor, tensor } from '@chainrule/tensor';
import type { StateDict } from './module.ts';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from './safetensors.ts';

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

/** Encode tensors (for example a `stateDict()`) and string metadata as safetensors bytes. */
export function encode(tensors: StateDict, metadata?: Record<string, string>): Uint8Array {
  return encodeSafetensors(toRaw(tensors), metadata);
}

/** Decode safetensors bytes into tensors and metadata. */
export function decode(
  bytes: Uint8Array,
  source?: string,
): { tensors: StateDict; metadata: Record<string, string> } {
  const d = decodeSafetensors(bytes, source ? { source } : undefined);
  return { tensors: fromRaw(d.tensors), metadata: d.metadata };
}
