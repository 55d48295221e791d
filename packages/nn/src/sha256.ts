/**
 * SHA-256 for checkpoint checksums. Node's built-in hash is about ten times faster than a
 * JavaScript one on a replay buffer's tens of megabytes; it is looked up at run time so this
 * module stays importable in a browser, where @noble/hashes does the work.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

interface NodeCrypto {
  createHash(algorithm: 'sha256'): { update(data: Uint8Array): { digest(encoding: 'hex'): string } };
}

const nodeCrypto: NodeCrypto | undefined = (() => {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return p?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
})();

/** The SHA-256 of `bytes` as 64 lowercase hex digits. */
export function sha256Hex(bytes: Uint8Array): string {
  if (nodeCrypto) return nodeCrypto.createHash('sha256').update(bytes).digest('hex');
  return bytesToHex(sha256(bytes));
}
