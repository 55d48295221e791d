import { makeConfig } from '@chainrule/ddpg';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgent, type DdpgConfig } from '../src/index.ts';

// The wasm backend splits matmuls, elementwise kernels, Adam and reductions across threads
// at these presets' real sizes (256-256 at batch 256; 400-300 with BatchNorm at batch 64).
// Training must not depend on the thread count: the same updates give the same bits.
const spaces = { obsDim: 3, actDim: 1, actionLow: [-2], actionHigh: [2] };

function agentAfterUpdates(config: DdpgConfig, threads: number, updates: number): Record<string, number[]> {
  T.setThreads(threads);
  const agent = createAgent(spaces, config, 3);
  const rng = new Rng(11);
  for (let i = 0; i < config.learningStarts + 8; i++)
    agent.observe({
      obs: [rng.normal(), rng.normal(), rng.normal()],
      action: [rng.uniform(-2, 2)],
      reward: rng.normal(),
      nextObs: [rng.normal(), rng.normal(), rng.normal()],
      terminated: false,
      truncated: false,
    });
  for (let i = 0; i < updates; i++) agent.update();
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(agent.state().tensors))
    out[k] = Array.from(new Uint32Array(t.dataSync().buffer));
  return out;
}

afterAll(() => T.setThreads(1));

describe('updates on the wasm backend', () => {
  for (const preset of ['tuned', 'paper'] as const) {
    it(`${preset} at its real sizes: the same bits after 4 updates on 1 and on 2 threads`, () => {
      T.setBackend('wasm');
      const config = makeConfig(preset, { learningStarts: 300 }) as DdpgConfig;
      expect(agentAfterUpdates(config, 2, 4)).toEqual(agentAfterUpdates(config, 1, 4));
    });
  }
});
