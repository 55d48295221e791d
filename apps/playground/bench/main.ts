/**
 * The browser bench page: starts the bench worker and exposes `runUpdateBench` for the
 * runner (scripts/benchBrowser.ts), which drives it in headless Chromium.
 * @module
 */
import type { BenchReply, BenchRequest, UpdateBenchResult } from './protocol.ts';

declare global {
  interface Window {
    runUpdateBench(request: BenchRequest): Promise<UpdateBenchResult>;
  }
}

window.runUpdateBench = (request) =>
  new Promise((resolve, reject) => {
    // The update runs in a Web Worker: the wasm pool's caller blocks in Atomics.wait, which a
    // page's main thread may not do.
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<BenchReply>) => {
      worker.terminate();
      const out = document.getElementById('result');
      if (out) out.textContent = JSON.stringify(e.data, null, 2);
      if (e.data.ok) resolve(e.data.result);
      else reject(new Error(e.data.message));
    };
    worker.onerror = (e) => reject(new Error(`bench worker: ${e.message}`));
    worker.postMessage(request);
  });
