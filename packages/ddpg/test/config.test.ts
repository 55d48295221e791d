/**
 * Configs per algorithm: the discriminated union, fields of other algorithms, DPG's
 * restrictions in its schema, switching a preset's algorithm, and old flat configs.
 */
import { describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  type AlgoName,
  checkConfig,
  FIELD_OWNERS,
  makeConfig,
  PRESETS,
  type PresetName,
  parseStoredConfig,
} from '../src/index.ts';

const keysOf = (algo: AlgoName) => Object.keys(ALGORITHMS[algo].schema.shape).sort();

/** A config as run.json held it before configs per algorithm: every field, TD3's neutral. */
function legacy(preset: PresetName): Record<string, unknown> {
  const neutral = { tau: 1, hardUpdateEvery: 0, batchSize: 2, bufferSize: 1, learningStarts: 1 };
  return { ...neutral, policyDelay: 1, targetNoise: 0, targetNoiseClip: 0, ...PRESETS[preset] };
}

describe('configs per algorithm', () => {
  it("every preset is valid and has exactly its algorithm's fields", () => {
    for (const [name, preset] of Object.entries(PRESETS)) {
      expect(checkConfig(preset), name).toEqual(preset);
      expect(Object.keys(preset).sort(), name).toEqual(keysOf(preset.algo));
    }
  });

  it("every preset switched to every algorithm has exactly that algorithm's fields, or a clear error", () => {
    for (const preset of Object.keys(PRESETS) as PresetName[])
      for (const algo of Object.keys(ALGORITHMS) as AlgoName[]) {
        let config: ReturnType<typeof makeConfig>;
        try {
          config = makeConfig(preset, { algo });
        } catch (e) {
          // Only the paper preset's BatchNorm cannot become DPG.
          expect([preset, algo, (e as Error).message]).toEqual([
            'paper',
            'dpg',
            expect.stringContaining('DPG learns from one transition at a time'),
          ]);
          continue;
        }
        expect(config.algo).toBe(algo);
        expect(Object.keys(config).sort(), `${preset} as ${algo}`).toEqual(keysOf(algo));
      }
  });

  it('a field of another algorithm is an error naming the algorithm it belongs to', () => {
    expect(() => makeConfig('tuned', { policyDelay: 2 })).toThrow(
      'policyDelay belongs to td3, not ddpg (drop it, or set algo to td3)',
    );
    expect(() => makeConfig('dpg', { batchSize: 64 })).toThrow('batchSize belongs to ddpg and td3, not dpg');
    expect(() => checkConfig({ ...PRESETS.paper, targetNoise: 0.2 })).toThrow('targetNoise belongs to td3');
    expect(() => checkConfig({ ...PRESETS.paper, nonsense: 1 })).toThrow('unknown field nonsense');
    expect(() => checkConfig({ ...PRESETS.paper, algo: 'sac' })).toThrow(
      'algo: must be one of ddpg, td3, dpg, got "sac"',
    );
  });

  it("DPG's restrictions are its schema's, with the reason", () => {
    expect(() => makeConfig('dpg', { batchNorm: true })).toThrow(
      'batchNorm: DPG learns from one transition at a time, so it cannot use BatchNorm',
    );
    expect(() => makeConfig('dpg', { noise: 'param' })).toThrow('noise: DPG has no parameter noise');
    expect(makeConfig('dpg', { noise: 'ou' }).noise).toBe('ou');
  });

  it("--algo td3 on a DDPG preset takes TD3's defaults for TD3's fields; --algo ddpg on td3 drops them", () => {
    const td3 = makeConfig('tuned', { algo: 'td3' });
    expect(td3).toMatchObject({
      algo: 'td3',
      preset: 'tuned',
      policyDelay: 2,
      targetNoise: 0.2,
      targetNoiseClip: 0.5,
    });
    expect(td3).toMatchObject({ actorLr: PRESETS.tuned.actorLr, batchNorm: false });
    const ddpg = makeConfig('td3', { algo: 'ddpg', policyDelay: undefined });
    expect(ddpg).toEqual({ ...PRESETS.tuned, preset: 'td3' });
    const fromDpg = makeConfig('dpg', { algo: 'ddpg' });
    expect(fromDpg).toMatchObject({ actorHidden: [32], batchSize: 256, bufferSize: 1_000_000, tau: 5e-3 });
  });

  it('FIELD_OWNERS names the algorithms of each field', () => {
    expect(FIELD_OWNERS.policyDelay).toEqual(['td3']);
    expect(FIELD_OWNERS.tau).toEqual(['ddpg', 'td3']);
    expect(FIELD_OWNERS.gamma).toEqual(['ddpg', 'td3', 'dpg']);
  });
});

describe('stored configs from before configs per algorithm', () => {
  it('load with the fields their algorithm ignored dropped, when those hold the old presets’ values', () => {
    for (const preset of Object.keys(PRESETS) as PresetName[])
      expect(parseStoredConfig(legacy(preset), 'run.json'), preset).toEqual(PRESETS[preset]);
    // --preset td3 --algo ddpg stored the td3 preset's delay, which DDPG ignored.
    const { algo: _, ...td3 } = legacy('td3');
    expect(parseStoredConfig({ ...td3, algo: 'ddpg' }, 'run.json')).toEqual({
      ...PRESETS.tuned,
      preset: 'td3',
    });
  });

  it('any other value of an ignored field is an error saying what to do', () => {
    expect(() => parseStoredConfig({ ...legacy('tuned'), policyDelay: 3 }, 'runs/x/run.json')).toThrow(
      'runs/x/run.json: policyDelay 3 belongs to td3, and this ddpg run ignored it (configs written before configs per algorithm kept every field); delete "policyDelay" from the config to load the run as it trained',
    );
  });

  it('current configs load as they are', () => {
    for (const preset of Object.values(PRESETS))
      expect(parseStoredConfig(preset, 'run.json')).toEqual(preset);
  });
});
