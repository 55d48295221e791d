/**
 * Atomic file writes: write to a temporary file in the target's directory, fsync it, then rename it over the
 * target. Readers therefore see either the old complete file or the new complete file, never a partial one.
 *
 * @module
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Module-level counter so two writes in the same millisecond from the same process get distinct temp names. */
let tempCounter = 0;

/**
 * The temporary path used for one atomic write of `path`: `${path}.${pid}.${Date.now()}-${counter}.tmp`, in the
 * same directory as `path` (so the final `rename` never crosses a filesystem boundary). No randomness is used:
 * the process id plus a per-process counter make the name unique among concurrent writers, and the timestamp
 * keeps names from a crashed earlier process with a recycled pid from colliding.
 */
function tempPathFor(path: string): string {
  tempCounter += 1;
  return `${path}.${process.pid}.${Date.now()}-${tempCounter}.tmp`;
}

/** Best-effort fsync of a directory so the rename itself is durable (not supported everywhere, e.g. Windows). */
async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Directory fsync is an extra durability guarantee only; ignore platforms/filesystems that refuse it.
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Synchronous counterpart of {@link fsyncDirectory}. */
function fsyncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // See fsyncDirectory.
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // ignore
      }
    }
  }
}

/** Encodes string data as UTF-8; byte data is used as is. */
function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : data;
}

/**
 * Atomically replaces the file at `path` with `data`.
 *
 * Steps: create `${path}.${pid}.${timestamp}-${counter}.tmp` exclusively (flag `wx`) in the same directory,
 * write all bytes, `fsync` the file, close it, `rename` it over `path` (atomic on POSIX filesystems), then
 * best-effort `fsync` the directory. If any step fails the temporary file is removed and the original error is
 * rethrown unchanged; `path` itself is then untouched (it keeps its previous content, or still does not exist).
 *
 * The new file is created with the default mode (0o666 minus the umask); the permissions of a previous file at
 * `path` are not preserved.
 *
 * @param path Destination file path. Its directory must already exist.
 * @param data Bytes to write, or a string, which is written as UTF-8.
 * @throws The underlying Node.js filesystem error (e.g. `ENOENT` when the directory does not exist).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  let handle: FileHandle | undefined;
  let created = false;
  try {
    handle = await open(tmp, 'wx');
    created = true;
    await handle.writeFile(bytes);
    await handle.sync();
    const h = handle;
    handle = undefined;
    await h.close();
    await rename(tmp, path);
  } catch (err) {
    if (handle !== undefined) await handle.close().catch(() => {});
    if (created) await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await fsyncDirectory(dirname(path));
}

/**
 * Synchronous version of {@link writeFileAtomic}, with the same temp-file, fsync, rename and cleanup behaviour.
 *
 * @param path Destination file path. Its directory must already exist.
 * @param data Bytes to write, or a string, which is written as UTF-8.
 * @throws The underlying Node.js filesystem error (e.g. `ENOENT` when the directory does not exist).
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(tmp, 'wx');
    created = true;
    let written = 0;
    while (written < bytes.byteLength) {
      written += writeSync(fd, bytes, written, bytes.byteLength - written);
    }
    fsyncSync(fd);
    const f = fd;
    fd = undefined;
    closeSync(f);
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // ignore: the original error matters more
      }
    }
    if (created) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // ignore: the original error matters more
      }
    }
    throw err;
  }
  fsyncDirectorySync(dirname(path));
}
