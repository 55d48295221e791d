/**
 * The run directory written by train(), the checkpoint loadRun() reads back, and the
 * trainer's error paths.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync } from '@chainrule/nn/node';
import { getBackend } from '@chainrule/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DDPG, makeConfig } from '../src/index.ts';
import {
  type EpisodeMetrics,
  evaluate,
  loadRun,
  type Progress,
  recordEpisode,
  type Summary,
  train,
} from '../src/node.ts';

const tiny = {
  actorHidden: [16, 16],
  criticHidden: [16, 16],
  batchSize: 16,
  learningStarts: 16,
  bufferSize: 10_000,
};

const root = mkdtempSync(join(tmpdir(), 'chainrule-rundir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the run directory', () => {
  const out = join(root, 'run');
  let result: Awaited<ReturnType<typeof train>>;
  const progress: Progress[] = [];

  beforeAll(async () => {
    result = await train({
      env: 'Pendulum-v1',
      seed: 1,
      steps: 250,
      config: makeConfig('paper', tiny),
      out,
      maxEpisodeSteps: 50,
      evalEvery: 100,
      evalEpisodes: 2,
      checkpointEvery: 0,
      saveReplay: true,
      resume: false,
      onProgress: (p) => progress.push(p),
    });
  });

  it('holds the expected files', () => {
    for (const f of [
      'config.json',
      'metrics.csv',
      'metrics.jsonl',
      'eval.csv',
      'eval.jsonl',
      'summary.json',
      'learning-curve.svg',
      'checkpoint/manifest.json',
      'checkpoint/agent.safetensors',
      'checkpoint/replay.safetensors',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
  });

  it('metrics.csv / metrics.jsonl: a header and one row per episode', () => {
    const lines = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    const header = 'episode,step,return,length,avgMaxQ,criticLoss,actorLoss,sigma,wallSeconds';
    expect(lines[0]).toBe(header);
    expect(lines).toHaveLength(1 + 5);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EpisodeMetrics);
    expect(rows.map((r) => r.episode)).toEqual([1, 2, 3, 4, 5]);
    expect(rows.map((r) => r.step)).toEqual([50, 100, 150, 200, 250]);
    expect(rows.every((r) => r.length === 50)).toBe(true);
    expect(rows).toEqual(result.episodes);
    for (const r of rows) {
      expect(Object.keys(r)).toEqual(header.split(','));
      expect(r.sigma).toBe(0.2); // OU σ, constant
      expect(r.return).toBeLessThan(0);
      // Updates start once 16 transitions are stored, i.e. in the first episode.
      expect(
        Number.isFinite(r.avgMaxQ) && Number.isFinite(r.criticLoss) && Number.isFinite(r.actorLoss),
      ).toBe(true);
    }
    const csvRow = lines[1]!.split(',');
    expect(Number(csvRow[2])).toBe(rows[0]!.return);
  });

  it('eval.csv: periodic evaluations plus one at the end', () => {
    const lines = readFileSync(join(out, 'eval.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('step,mean,std,min,max');
    const steps = lines.slice(1).map((l) => Number(l.split(',')[0]));
    expect(steps).toEqual([100, 200, 250]);
    for (const l of lines.slice(1)) {
      const [, mean, std, min, max] = l.split(',').map(Number) as [number, number, number, number, number];
      expect(min).toBeLessThanOrEqual(mean);
      expect(mean).toBeLessThanOrEqual(max);
      expect(std).toBeGreaterThanOrEqual(0);
    }
  });

  it('summary.json has every field', () => {
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    expect(Object.keys(s).sort()).toEqual(
      [
        'env',
        'algo',
        'preset',
        'seed',
        'steps',
        'evalReturnMean',
        'evalReturnStd',
        'wallSeconds',
        'stepsPerSecond',
        'backend',
      ].sort(),
    );
    expect(s).toMatchObject({ env: 'Pendulum-v1', algo: 'ddpg', preset: 'paper', seed: 1, steps: 250 });
    expect(s.backend).toBe(getBackend().name);
    expect(s.evalReturnMean).toBe(result.evals.at(-1)!.mean);
    expect(s.evalReturnStd).toBeGreaterThanOrEqual(0);
    expect(s.wallSeconds).toBeGreaterThan(0);
    expect(s.stepsPerSecond).toBeCloseTo(250 / s.wallSeconds, 6);
    expect(result.summary).toEqual(s);
  });

  it('learning-curve.svg is an SVG', () => {
    const svg = readFileSync(join(out, 'learning-curve.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('ddpg (paper) on Pendulum-v1, seed 1');
  });

  it('config.json and the checkpoint manifest describe the run', () => {
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ env: 'Pendulum-v1', seed: 1, steps: 250 });
    expect(cfg.config).toEqual(makeConfig('paper', tiny));
    const m = JSON.parse(readFileSync(join(out, 'checkpoint', 'manifest.json'), 'utf8'));
    expect(m).toMatchObject({ version: 1, env: 'Pendulum-v1', seed: 1, step: 250, episode: 5 });
    expect(m.replay).toBe('replay.safetensors');
    expect(m.agent.updates).toBe((result.agent as DDPG).updates);
    expect(m.envState.kind).toBeTypeOf('string');
    const { tensors } = loadSync(join(out, 'checkpoint', 'agent.safetensors'));
    for (const k of [
      'actor.fc1.weight',
      'actor.bn1.runningMean',
      'criticTarget.out.bias',
      'opt.critic.0.m',
      'opt.actor.0.v',
    ]) {
      expect(
        Object.keys(tensors).some((n) => n.startsWith(k)),
        k,
      ).toBe(true);
    }
  });

  it('loadRun restores the trained agent; evaluate and recordEpisode use it', () => {
    const run = loadRun(out);
    expect(run.env).toBe('Pendulum-v1');
    expect(run.seed).toBe(1);
    const agent = run.agent as DDPG;
    const trained = result.agent as DDPG;
    const flat = (a: DDPG) => a.actor.parameters().map((p) => Array.from(p.value.dataSync()));
    expect(flat(agent)).toEqual(flat(trained));
    const e1 = evaluate(agent, 'Pendulum-v1', 1, 5);
    const e2 = evaluate(trained, 'Pendulum-v1', 1, 5);
    expect(e1.returns).toEqual(e2.returns);
    const { frames, total } = recordEpisode(run, 5);
    expect(frames).toHaveLength(201); // the reset state plus 200 steps (the registered limit)
    expect(Object.keys(frames[0]!)).toContain('theta');
    expect(total).toBeCloseTo(e1.returns[0]!, 6);
  });

  it('the progress callback runs after every episode', () => {
    expect(progress.map((p) => p.step)).toEqual([50, 100, 150, 200, 250]);
    expect(progress.at(-1)).toMatchObject({ steps: 250, episode: 5 });
    expect(progress.at(-1)!.stepsPerSecond).toBeGreaterThan(0);
    expect(progress[2]!.lastEval).toBe(result.evals[0]!.mean);
  });
});

describe('train without a run directory', () => {
  it('returns the summary and writes nothing', async () => {
    const r = await train({
      env: 'LQR-v0',
      seed: 0,
      steps: 30,
      config: makeConfig('dpg'),
      evalEvery: 0,
      evalEpisodes: 1,
      checkpointEvery: 0,
      saveReplay: false,
      resume: false,
    });
    expect(r.summary).toMatchObject({ env: 'LQR-v0', algo: 'dpg', preset: 'dpg', steps: 30 });
    expect(r.episodes).toHaveLength(1);
    expect(r.evals).toHaveLength(1);
  });
});

describe('trainer error paths', () => {
  const base = {
    seed: 0,
    steps: 10,
    evalEvery: 0,
    evalEpisodes: 1,
    checkpointEvery: 0,
    saveReplay: false,
    resume: false,
  };

  it('an unknown env names the known ones', async () => {
    await expect(train({ ...base, env: 'Nope-v0', config: makeConfig('td3', tiny) })).rejects.toThrow(
      /unknown environment "Nope-v0"; known: Pendulum-v1, MountainCarContinuous-v0, LQR-v0/,
    );
  });

  it('makeConfig rejects bad overrides and names the field', () => {
    expect(() => makeConfig('paper', { gamma: 2 })).toThrow(/gamma/);
    expect(() => makeConfig('paper', { batchSize: 1 })).toThrow(/batchSize/);
    expect(() => makeConfig('paper', { actorHidden: [] })).toThrow(/actorHidden/);
    expect(() => makeConfig('paper', { noise: 'pink' as never })).toThrow(/noise/);
    expect(() => makeConfig('paper', { tau: -0.1, actorLr: 0 })).toThrow(/tau.*actorLr|actorLr.*tau/);
    expect(() => makeConfig('paper', { bogus: 1 } as never)).toThrow(/bogus/);
    expect(() => makeConfig('td3', { actionLayer: 3 })).toThrow(/actionLayer 3 exceeds/);
    expect(() => makeConfig('foo' as never)).toThrow(
      /unknown preset "foo"; known presets: tuned, paper, td3, dpg/,
    );
    // Undefined overrides are ignored (what the CLI passes for flags not given).
    expect(makeConfig('paper', { gamma: undefined })).toEqual(makeConfig('paper'));
  });

  it('DPG does not support BatchNorm', async () => {
    await expect(
      train({ ...base, env: 'LQR-v0', config: makeConfig('dpg', { batchNorm: true }) }),
    ).rejects.toThrow(/DPG: batchNorm is not supported/);
  });

  it('a DPG run cannot be resumed or loaded (it is not checkpointed)', async () => {
    const out = join(root, 'dpg');
    await train({ ...base, env: 'LQR-v0', config: makeConfig('dpg'), out, steps: 20 });
    await expect(
      train({ ...base, env: 'LQR-v0', config: makeConfig('dpg'), out, steps: 40, resume: true }),
    ).rejects.toThrow(/dpg runs are not checkpointed/);
    expect(() => loadRun(out)).toThrow(/loading dpg agents is not supported/);
  });

  it('loadRun: a missing or corrupt checkpoint is a clear error', () => {
    expect(() => loadRun(join(root, 'nowhere'))).toThrow(/no checkpoint in/);
    const bad = join(root, 'bad');
    rmSync(bad, { recursive: true, force: true });
    // A directory with a manifest that is not JSON.
    const dir = join(bad, 'checkpoint');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), '{nope');
    expect(() => loadRun(bad)).toThrow(/is not valid JSON/);
    writeFileSync(join(dir, 'manifest.json'), '{"version": 2}');
    expect(() => loadRun(bad)).toThrow(/not a chainrule checkpoint manifest/);
  });

  it('loadRun validates the manifest config, and loads runs written before actorOutput/actorBias', () => {
    const src = join(root, 'run', 'checkpoint');
    const manifest = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8'));
    const copy = (name: string, edit: (config: Record<string, unknown>) => void) => {
      const dir = join(root, name, 'checkpoint');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'agent.safetensors'), readFileSync(join(src, 'agent.safetensors')));
      const config = { ...manifest.config };
      edit(config);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, config }));
      return join(root, name);
    };
    const badGamma = copy('bad-config', (c) => {
      c.gamma = 2;
    });
    expect(() => loadRun(badGamma)).toThrow(/manifest\.json: invalid config: gamma/);
    const old = copy('old-config', (c) => {
      delete c.actorOutput;
      delete c.actorBias;
    });
    const run = loadRun(old);
    expect(run.agent.config.actorOutput).toBe('tanh');
    expect(run.agent.config.actorBias).toBe(true);
  });
});
