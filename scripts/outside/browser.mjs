// Runs smoke.mjs in a browser page, with checkpoints as bytes (encode/decode from
// @chainrule/nn). Bundled by esbuild; chromium.mjs reads window.__smoke.
import { decode, encode } from '@chainrule/nn';
import { smoke } from './smoke.mjs';

const lines = [];
window.__smoke = { lines, done: false, error: null };
smoke({
  print: (label, value) => {
    const line = JSON.stringify([label, value]);
    lines.push(line);
    console.log(line);
  },
  roundTrip: async (stateDict) => decode(encode(stateDict, { format: 'pt' })).tensors,
})
  .catch((e) => {
    window.__smoke.error = String(e?.stack ?? e);
  })
  .finally(() => {
    window.__smoke.done = true;
  });
