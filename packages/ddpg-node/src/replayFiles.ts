/**
 * Replay buffers as safetensors files (Node only). `replay.ts` itself works on tensors
 * (`getState`/`fromState`) and runs anywhere.
 * @module
 */

import { ReplayBuffer } from '@chainrule/ddpg';
import { loadSync, saveSync } from '@chainrule/nn/node';

/** Write `buffer` to a safetensors file (atomically). Only the filled rows are written. */
export function saveReplayBuffer(path: string, buffer: ReplayBuffer): void {
  const { tensors, metadata } = buffer.getState();
  saveSync(path, tensors, metadata);
}

/** Read a buffer written by {@link saveReplayBuffer}. */
export function loadReplayBuffer(path: string): ReplayBuffer {
  const { tensors, metadata } = loadSync(path);
  return ReplayBuffer.fromState({ tensors, metadata });
}
