/**
 * Safetensors files on disk (Node only): the file half of `checkpoint.ts` and `safetensors.ts`,
 * which work on bytes and run anywhere. Writes are atomic (see `atomic.ts`).
 * @module
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, writeFileAtomicSync } from './atomic.ts';
import { decode, encode, fromRaw } from './checkpoint.ts';
import type { StateDict } from './module.ts';
import {
  type DecodedSafetensors,
  decodeSafetensors,
  encodeSafetensors,
  type RawTensor,
  SafetensorsError,
} from './safetensors.ts';

/** Write tensors to a safetensors file, atomically (temporary file, then rename). */
export async function save(
  path: string,
  tensors: StateDict,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encode(tensors, metadata));
}

/** {@link save}, synchronously. */
export function saveSync(path: string, tensors: StateDict, metadata?: Record<string, string>): void {
  writeFileAtomicSync(path, encode(tensors, metadata));
}

/** Read a safetensors file. A truncated or corrupt file is a clear `SafetensorsError`; nothing is half-loaded. */
export async function load(path: string): Promise<{ tensors: StateDict; metadata: Record<string, string> }> {
  const d = await loadSafetensors(path);
  return { tensors: fromRaw(d.tensors), metadata: d.metadata };
}

/** {@link load}, synchronously. */
export function loadSync(path: string): { tensors: StateDict; metadata: Record<string, string> } {
  return decode(readFileSync(path), path);
}

/**
 * Encodes with {@link encodeSafetensors} and writes the file atomically (temp file in the same directory, fsync,
 * rename; see {@link writeFileAtomic}), so `path` never holds a partial file.
 *
 * @param path Destination file; its directory must exist.
 * @param tensors Tensors by name (see {@link encodeSafetensors}).
 * @param metadata Optional string→string metadata.
 * @throws {SafetensorsError} If encoding fails, or (with the filesystem error as `cause`) if writing fails.
 */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata, { source: path });
  try {
    await writeFileAtomic(path, bytes);
  } catch (err) {
    throw new SafetensorsError(`cannot write file (${err instanceof Error ? err.message : String(err)})`, {
      file: path,
      cause: err,
    });
  }
}

/**
 * Reads a whole safetensors file and decodes it with {@link decodeSafetensors}; error messages name `path`.
 *
 * @param path The file to read.
 * @returns The tensors by name, and the metadata (`{}` if the file has none).
 * @throws {SafetensorsError} If the file cannot be read (filesystem error as `cause`) or is not valid.
 */
export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new SafetensorsError(`cannot read file (${err instanceof Error ? err.message : String(err)})`, {
      file: path,
      cause: err,
    });
  }
  return decodeSafetensors(bytes, { source: path });
}
