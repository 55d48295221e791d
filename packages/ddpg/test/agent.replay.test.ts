import { makeConfig } from '@chainrule/ddpg';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { type ActorCriticAgent, type AgentConfig, createAgent } from '../src/index.ts';

// The replayed update (T.replayable) must be the eager update, bit for bit: same weights,
// optimiser moments, running statistics, targets and statistics after every update.
const spaces = { obsDim: 3, actDim: 2, actionLow: [-2, -1], actionHigh: [2, 1] };
const tiny = {
  actorHidden: [16, 8],
  criticHidden: [16, 8],
  batchSize: 8,
  learningStarts: 8,
  bufferSize: 1000,
};

function fill(agent: ActorCriticAgent, n: number, seed: number): void {
  const rng = new Rng(seed);
  for (let i = 0; i < n; i++) {
    agent.observe({
      obs: [rng.normal(), rng.normal(), rng.normal()],
      action: [rng.uniform(-2, 2), rng.uniform(-1, 1)],
      reward: rng.normal(),
      nextObs: [rng.normal(), rng.normal(), rng.normal()],
      terminated: rng.uniform(0, 1) < 0.1,
      truncated: false,
    });
  }
}

/**
 * The replay mode of the replayed agents: `poison`, or `verify` when the suite runs under
 * CHAINRULE_REPLAY=verify (CI does), which also checks every replay kernel by kernel
 * against the eager update.
 */
const REPLAYED = process.env.CHAINRULE_REPLAY === 'verify' ? 'verify' : 'poison';

function make(config: AgentConfig, replay: '0' | 'poison' | 'verify'): ActorCriticAgent {
  const previous = process.env.CHAINRULE_REPLAY;
  process.env.CHAINRULE_REPLAY = replay;
  try {
    return createAgent(spaces, config, 7);
  } finally {
    if (previous === undefined) delete process.env.CHAINRULE_REPLAY;
    else process.env.CHAINRULE_REPLAY = previous;
  }
}

function bits(agent: ActorCriticAgent): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(agent.state().tensors))
    out[k] = Array.from(new Uint32Array(t.dataSync().buffer));
  return out;
}

const cases: [string, AgentConfig][] = [
  ['tuned', makeConfig('tuned', tiny)],
  ['paper (BatchNorm, L2, OU noise)', makeConfig('paper', tiny)],
  ['td3 (twin critics, smoothing noise, delayed actor)', makeConfig('td3', tiny)],
  ['tuned with hard target copies every 3 updates', makeConfig('tuned', { ...tiny, hardUpdateEvery: 3 })],
  [
    'parameter noise (LayerNorm actor, σ adaptation every 50 updates)',
    makeConfig('tuned', { ...tiny, noise: 'param' }),
  ],
];

afterEach(() => T.setBackend('wasm'));

describe('replayed updates', () => {
  for (const backend of ['wasm', 'js']) {
    for (const [name, config] of cases) {
      it(`${name} on ${backend}: bit-identical to eager, every update (${REPLAYED})`, () => {
        T.setBackend(backend);
        const replayed = make(config, REPLAYED);
        const eager = make(config, '0');
        fill(replayed, 64, 1);
        fill(eager, 64, 1);
        const updates = name.startsWith('parameter') ? 55 : 9;
        for (let i = 0; i < updates; i++) {
          const a = replayed.update();
          const b = eager.update();
          expect(a).toEqual(b);
        }
        expect(bits(replayed)).toEqual(bits(eager));
        expect(replayed.meta()).toEqual(eager.meta());
        const stats = replayed.compiledUpdate.stats();
        expect(stats.eagerReason).toBeUndefined();
        expect(stats.replays).toBeGreaterThan(updates / 2);
        expect(eager.compiledUpdate.stats().replays).toBe(0);
      });
    }
  }

  it('td3 under verify: every replay of both branches matches the eager update kernel by kernel', () => {
    const agent = make(makeConfig('td3', tiny), 'verify');
    expect(agent.compiledUpdate.verify).toBe(true);
    fill(agent, 64, 3);
    for (let i = 0; i < 8; i++) agent.update();
    expect(agent.compiledUpdate.stats()).toMatchObject({ plans: 2, replays: 4, eagerReason: undefined });
  });

  it('keeps memory flat: replays allocate no new tensors', () => {
    const agent = make(makeConfig('tuned', tiny), 'poison');
    fill(agent, 64, 2);
    for (let i = 0; i < 5; i++) agent.update();
    const before = T.memory();
    for (let i = 0; i < 20; i++) agent.update();
    const after = T.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });
});
