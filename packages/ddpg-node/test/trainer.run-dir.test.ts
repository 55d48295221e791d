/**
 * The run directory written by train(), the checkpoint loadRun() reads back, and the
 * trainer's error paths.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ActorCriticAgent, evaluatePolicy, makeConfig, presetDiff } from '@chainrule/ddpg';
import { loadSync } from '@chainrule/nn/node';
import { getBackend } from '@chainrule/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EpisodeMetrics,
  loadRun,
  type Progress,
  type Summary,
  TrainingInterrupted,
  train,
} from '../src/index.ts';

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
  }, 60_000);

  it('holds the expected files', () => {
    for (const f of [
      'run.json',
      'metrics.csv',
      'metrics.jsonl',
      'eval.csv',
      'eval.jsonl',
      'summary.json',
      'learning-curve.svg',
      'checkpoints/latest',
    ]) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const latest = readFileSync(join(out, 'checkpoints', 'latest'), 'utf8').trim();
    expect(latest).toBe('ckpt-000001-step-250');
    expect(readdirSync(join(out, 'checkpoints', latest)).sort()).toEqual([
      'agent.safetensors',
      'replay.safetensors',
      'state.json',
    ]);
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
        'config',
        'differsFromPreset',
        'solveThreshold',
        'solvedAtStep',
        'solvedAtWallSeconds',
      ].sort(),
    );
    // The full config, and what differs from the preset: "paper" with tiny networks must not look like "paper".
    expect(s.config).toEqual(makeConfig('paper', tiny));
    expect(s.differsFromPreset).toEqual(presetDiff(makeConfig('paper', tiny)));
    expect(s.differsFromPreset.actorHidden).toEqual({ preset: [400, 300], value: [16, 16] });
    expect(Object.keys(s.differsFromPreset).sort()).toEqual(Object.keys(tiny).sort());
    expect(s).toMatchObject({ env: 'Pendulum-v1', algo: 'ddpg', preset: 'paper', seed: 1, steps: 250 });
    expect(s.backend).toBe(getBackend().name);
    expect(s.evalReturnMean).toBe(result.evals.at(-1)!.mean);
    expect(s.solveThreshold).toBe(-200);
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
    // The ±1 std band has its line's colour, and is in the legend.
    const band = svg.match(
      /evaluation ±1 std" role="graphics-symbol" aria-roledescription="area mark" d="[^"]*" fill="(#[0-9a-f]+)"/,
    );
    const line = svg.match(
      /evaluation mean" role="graphics-symbol" aria-roledescription="line mark" d="[^"]*" stroke="(#[0-9a-f]+)"/,
    );
    expect(band?.[1]).toBeDefined();
    expect(band?.[1]).toBe(line?.[1]);
    expect(svg).toMatch(/aria-label="[^"]*evaluation mean, evaluation ±1 std/);
  });

  it('run.json and the checkpoint state describe the run', () => {
    const m = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(m).toMatchObject({
      format: 'chainrule-ddpg-run',
      version: 2,
      env: 'Pendulum-v1',
      seed: 1,
      steps: 250,
    });
    expect(m.config).toEqual(makeConfig('paper', tiny));
    const dir = join(out, 'checkpoints', 'ckpt-000001-step-250');
    const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(st).toMatchObject({ step: 250, episode: 5, replay: true });
    expect(st.agent.updates).toBe((result.agent as ActorCriticAgent).updates);
    expect(st.envState.kind).toBeTypeOf('string');
    // The log offsets are the logs' full lengths at the final checkpoint.
    expect(st.logOffsets['metrics.csv']).toBe(readFileSync(join(out, 'metrics.csv')).length);
    const { tensors } = loadSync(join(dir, 'agent.safetensors'));
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

  it('loadRun restores the trained agent; evaluatePolicy evaluates and records it', () => {
    const run = loadRun(out);
    expect(run.env).toBe('Pendulum-v1');
    expect(run.seed).toBe(1);
    const agent = run.agent as ActorCriticAgent;
    const trained = result.agent as ActorCriticAgent;
    const flat = (a: ActorCriticAgent) => a.actor.parameters().map((p) => Array.from(p.value.dataSync()));
    expect(flat(agent)).toEqual(flat(trained));
    const e1 = evaluatePolicy(agent, 'Pendulum-v1', { episodes: 1, seed: 5 });
    const e2 = evaluatePolicy(trained, 'Pendulum-v1', { episodes: 1, seed: 5 });
    expect(e1.returns).toEqual(e2.returns);
    const recorded = evaluatePolicy(run.agent, run.env, { episodes: 1, seed: 5, record: true });
    const frames = recorded.frames![0]!;
    expect(frames).toHaveLength(201); // the reset state plus 200 steps (the registered limit)
    expect(Object.keys(frames[0]!)).toContain('theta');
    expect(recorded.returns).toEqual(e1.returns);
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

  it('DPG does not support BatchNorm', () => {
    expect(() => makeConfig('dpg', { batchNorm: true })).toThrow(
      /DPG learns from one transition at a time, so it cannot use BatchNorm/,
    );
  });

  it('a DPG run checkpoints like the others: it resumes and loads', async () => {
    const out = join(root, 'dpg');
    const first = await train({ ...base, env: 'LQR-v0', config: makeConfig('dpg'), out, steps: 20 });
    const resumed = await train({ out, resume: true, steps: 40 });
    expect(resumed.summary.steps).toBe(40);
    expect(resumed.agent.updates).toBe(40);
    expect(first.agent.updates).toBe(20);
    const run = loadRun(out);
    expect(run.step).toBe(40);
    expect(run.agent.algo).toBe('dpg');
  });

  it('loadRun: a missing directory or a corrupt run.json is a clear error naming the path', () => {
    const nowhere = join(root, 'nowhere');
    expect(() => loadRun(nowhere)).toThrow(`no run directory at ${nowhere}`);
    const bad = join(root, 'bad');
    rmSync(bad, { recursive: true, force: true });
    mkdirSync(bad, { recursive: true });
    expect(() => loadRun(bad)).toThrow(/is not a run directory \(it has no run\.json/);
    writeFileSync(join(bad, 'run.json'), '{nope');
    expect(() => loadRun(bad)).toThrow(`${join(bad, 'run.json')} is corrupt: not valid JSON`);
    writeFileSync(join(bad, 'run.json'), '{"version": 1}');
    expect(() => loadRun(bad)).toThrow(
      `${join(bad, 'run.json')} is corrupt: not a chainrule-ddpg run manifest`,
    );
  });

  it("loadRun validates run.json's config with the same checks as makeConfig, and loads runs written before actorOutput/actorBias", () => {
    const src = join(root, 'run');
    const copy = (name: string, edit: (config: Record<string, unknown>) => void) => {
      const dir = join(root, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      cpSync(src, dir, { recursive: true });
      const m = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
      edit(m.config);
      writeFileSync(join(dir, 'run.json'), JSON.stringify(m));
      return dir;
    };
    const badGamma = copy('bad-config', (c) => {
      c.gamma = 2;
    });
    expect(() => loadRun(badGamma)).toThrow(/run\.json: gamma: must be <= 1/);
    // The cross-field checks too: a buffer smaller than a batch can never update.
    const tinyBuffer = copy('tiny-buffer', (c) => {
      c.bufferSize = 8;
    });
    expect(() => loadRun(tinyBuffer)).toThrow(
      /run\.json: bufferSize 8 is smaller than max\(batchSize 16, learningStarts 16\)/,
    );
    const old = copy('old-config', (c) => {
      delete c.actorOutput;
      delete c.actorBias;
    });
    const run = loadRun(old);
    expect(run.agent.config.actorOutput).toBe('tanh');
    expect(run.agent.config.actorBias).toBe(true);
  });

  it('flipped bytes in a checkpoint are an error naming the tensor', () => {
    const dir = join(root, 'flipped');
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(root, 'run'), dir, { recursive: true });
    const file = join(dir, 'checkpoints', 'ckpt-000001-step-250', 'agent.safetensors');
    const bytes = readFileSync(file);
    bytes[bytes.length - 3]! ^= 0x01;
    writeFileSync(file, bytes);
    expect(() => loadRun(dir)).toThrow(
      /agent\.safetensors: tensor "[^"]+": SHA-256 of the data is [0-9a-f]+, but the file records/,
    );
  });
});

describe('run directories are never overwritten by accident', () => {
  const base = {
    env: 'LQR-v0',
    seed: 0,
    steps: 20,
    config: makeConfig('dpg'),
    evalEvery: 0,
    evalEpisodes: 1,
    checkpointEvery: 0,
  };

  it('a second run into the same --out is refused, naming it and what it holds', async () => {
    const out = join(root, 'twice');
    await train({ ...base, out });
    const before = readFileSync(join(out, 'summary.json'), 'utf8');
    await expect(train({ ...base, out, seed: 1 })).rejects.toThrow(
      `${out} holds a run (LQR-v0, dpg (dpg), seed 0, checkpoint at step 20); pass --resume to continue it, or --force to start over`,
    );
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(before);
  });

  it('a non-empty directory that is not a run is refused', async () => {
    const out = join(root, 'other');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'notes.txt'), 'mine');
    await expect(train({ ...base, out })).rejects.toThrow(
      `${out} is not empty and is not a run directory; choose another --out, or pass --force to move it aside`,
    );
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('--force moves the old run aside and says where; nothing of it is mixed into the new run', async () => {
    const out = join(root, 'forced');
    await train({ ...base, out });
    writeFileSync(join(out, 'episode.svg'), '<svg/>');
    const moved: (string | undefined)[] = [];
    await train({ ...base, out, seed: 1, force: true, onStart: (s) => moved.push(s.movedAside) });
    expect(moved[0]).toMatch(new RegExp(`^${out.replace(/[/.]/g, '\\$&')}\\.old-`));
    expect(existsSync(join(moved[0]!, 'episode.svg'))).toBe(true);
    expect(existsSync(join(out, 'episode.svg'))).toBe(false);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).seed).toBe(1);
  });

  it('keeps the last K checkpoints and removes stale temporary files on resume', async () => {
    const out = join(root, 'keep');
    await train({ ...base, out, steps: 100, checkpointEvery: 20, keepCheckpoints: 2, maxEpisodeSteps: 20 });
    const names = () => readdirSync(join(out, 'checkpoints')).sort();
    expect(names()).toEqual(['ckpt-000004-step-80', 'ckpt-000005-step-100', 'latest']);
    // What a killed writer leaves: a temp checkpoint, a temp pointer, and a checkpoint never switched in.
    mkdirSync(join(out, 'checkpoints', '.tmp-ckpt-000007-step-120'));
    writeFileSync(join(out, 'checkpoints', 'latest.tmp'), 'x');
    mkdirSync(join(out, 'checkpoints', 'ckpt-000006-step-120'));
    writeFileSync(join(out, 'summary.json.tmp'), 'x');
    await train({ out, resume: true, steps: 100, keepCheckpoints: 2 });
    // The resumed run ends at step 100 again: its set replaces the older one at that step, so
    // the two kept are two distinct states.
    expect(names()).toEqual(['ckpt-000004-step-80', 'ckpt-000006-step-100', 'latest']);
    expect(existsSync(join(out, 'summary.json.tmp'))).toBe(false);
  });

  it('an aborted run (Ctrl-C in the CLI) checkpoints where it stops and resumes from there', async () => {
    const out = join(root, 'aborted');
    const controller = new AbortController();
    const stopped = train({
      ...base,
      out,
      steps: 60,
      maxEpisodeSteps: 20,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 20) controller.abort();
      },
    });
    await expect(stopped).rejects.toBeInstanceOf(TrainingInterrupted);
    await expect(stopped).rejects.toThrow('training interrupted at step 20');
    const from: number[] = [];
    const resumed = await train({ out, resume: true, onStart: (s) => from.push(s.fromStep) });
    expect(from).toEqual([20]);
    const straight = await train({ ...base, steps: 60, maxEpisodeSteps: 20 });
    const rows = (r: typeof straight) => r.episodes.map(({ wallSeconds: _, ...e }) => e);
    expect(rows(resumed)).toEqual(rows(straight));
    expect(resumed.evals.map(({ wallSeconds: _, ...e }) => e)).toEqual(
      straight.evals.map(({ wallSeconds: _, ...e }) => e),
    );
  });

  it('a config that can never update is rejected with one clear message', async () => {
    expect(() => makeConfig('tuned', { bufferSize: 100 })).toThrow(
      'invalid hyperparameters: bufferSize 100 is smaller than max(batchSize 256, learningStarts 1000) = 1000, so the agent never updates',
    );
    await expect(
      train({ ...base, env: 'Pendulum-v1', config: makeConfig('tuned'), steps: 500 }),
    ).rejects.toThrow(
      'invalid hyperparameters: max(batchSize 256, learningStarts 1000) = 1000 is not below steps 500, so the run ends before it learns',
    );
    // Nothing was created for the rejected run.
    const out = join(root, 'never');
    await expect(train({ ...base, env: 'Pendulum-v1', config: { bufferSize: 100 }, out })).rejects.toThrow(
      /bufferSize 100 is smaller/,
    );
    expect(existsSync(out)).toBe(false);
  });
});
