// Runs smoke.mjs in Node, with checkpoints as files (@chainrule/nn/node), and prints one
// JSON line per result: the lines browser.mjs must reproduce in Chromium.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load, save } from '@chainrule/nn/node';
import { smoke } from './smoke.mjs';

const dir = mkdtempSync(join(tmpdir(), 'chainrule-smoke-'));
try {
  await smoke({
    print: (label, value) => console.log(JSON.stringify([label, value])),
    roundTrip: async (stateDict) => {
      const file = join(dir, 'model.safetensors');
      await save(file, stateDict, { format: 'pt' });
      return (await load(file)).tensors;
    },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
