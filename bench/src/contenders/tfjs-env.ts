/**
 * TensorFlow.js set-up for Node: the wasm backend loads its `.wasm` binary from the
 * installed package's `dist/` directory on the file system (Emscripten's Node path reads
 * it with `fs`), and tfjs runs in production mode (no debug checks, no console banner).
 *
 * In Node, tfjs-backend-wasm never enables threads (`WASM_HAS_MULTITHREAD_SUPPORT` is
 * hard-wired to false there), so it loads the single-threaded SIMD binary
 * `tfjs-backend-wasm-simd.wasm` when SIMD is available.
 *
 * @module
 */

import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { TfjsInfo } from '../machine.ts';

export type TfjsBackend = 'cpu' | 'wasm';

let configured = false;
let wasmInitialised = false;

/** Directory holding the tfjs-backend-wasm `.wasm` binaries (with a trailing separator). */
export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

function configure(): void {
  if (configured) return;
  configured = true;
  tf.enableProdMode();
  setWasmPaths(wasmDir());
}

/** Make `name` the active tfjs backend (initialising it on first use). */
export async function useTfjsBackend(name: TfjsBackend): Promise<void> {
  configure();
  if (tf.engine().backendName !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs: could not initialise the '${name}' backend`);
  }
  await tf.ready();
  if (tf.getBackend() !== name)
    throw new Error(`tfjs: active backend is '${tf.getBackend()}', wanted '${name}'`);
  if (name === 'wasm') wasmInitialised = true;
}

/** tfjs version and the wasm features in use (`wasm: null` if the backend never ran). */
export async function tfjsInfo(): Promise<TfjsInfo> {
  if (!wasmInitialised) return { version: tf.version.tfjs, wasm: null };
  const [simd, threads] = await Promise.all([
    tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
  ]);
  return { version: tf.version.tfjs, wasm: { simd: Boolean(simd), threads: Boolean(threads) } };
}

/** Live tensors in the tfjs engine (all backends). */
export const liveTensors = (): number => tf.memory().numTensors;
