/**
 * The chainrule-ddpg CLI, driven through `main(argv)` with its output captured.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BAR_WIDTH, formatDuration, main, progressText } from '../src/cli/main.ts';
import { defaultRunPath, describeFsError } from '../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Run the CLI; returns the exit code and everything written to stdout and stderr. */
async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const toOut = (...a: unknown[]) => {
    out += `${a.map(String).join(' ')}\n`;
  };
  const toErr = (...a: unknown[]) => {
    err += `${a.map(String).join(' ')}\n`;
  };
  const spies = [
    vi.spyOn(console, 'log').mockImplementation(toOut),
    vi.spyOn(console, 'error').mockImplementation(toErr),
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    }),
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    }),
  ];
  try {
    const code = await main(argv);
    return { code, out, err };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('chainrule-ddpg --help', () => {
  it('exits 0 and lists the training flags and the other commands', async () => {
    const { code, out } = await run('--help');
    expect(code).toBe(0);
    for (const flag of [
      '--env',
      '--preset',
      '--algo',
      '--actor-lr',
      '--critic-lr',
      '--critic-weight-decay',
      '--gamma',
      '--tau',
      '--hard-update-every',
      '--buffer-size',
      '--batch-size',
      '--seed',
      '--steps',
      '--max-episodes',
      '--max-episode-len',
      '--noise',
      '--noise-sigma',
      '--noise-decay',
      '--start-steps',
      '--actor-update',
      '--reward-scale',
      '--normalize-obs',
      '--out',
      '--backend',
      '--resume',
      '--eval-every',
      '--eval-episodes',
      '--checkpoint-every',
      '--no-save-replay',
      '--no-progress',
      '--force',
      '--keep-checkpoints',
      '--actor-hidden',
      '--learning-starts',
      '--no-batch-norm',
    ]) {
      expect(out, flag).toContain(flag);
    }
    // Which flags may change on --resume, and which seeds eval and summary.json use.
    expect(out).toMatch(
      /On --resume the run's own settings apply. Only these flags may differ from them:\n {2}--steps, --max-episodes, --eval-every/,
    );
    expect(out).toContain('seed+1000000');
    expect(out).toContain('seed+2000000');
    expect(out).toContain('eval --run <dir>');
    expect(out).toContain('render --run <dir>');
    expect(out).toContain('Pendulum-v1');
    // Flags of some algorithms only say whose they are.
    expect(out).toMatch(
      /--policy-delay <n>\s+actor and target updates every n critic updates\s+\(td3 only\)/,
    );
    expect(out).toMatch(/--batch-size <n>\s+minibatch size \(ddpg, td3 only\)/);
  });

  it('a leading literal -- is ignored (pnpm train -- --help)', async () => {
    const direct = await run('--help');
    const viaPnpm = await run('--', '--help');
    expect(viaPnpm.code).toBe(0);
    expect(viaPnpm.out).toBe(direct.out);
  });

  it('help, eval --help and render --help exit 0', async () => {
    const top = await run('help');
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/train[\s\S]*eval[\s\S]*render/);
    const ev = await run('eval', '--help');
    expect(ev.code).toBe(0);
    expect(ev.out).toContain('--run <dir>');
    expect(ev.out).toContain('--episodes');
    const rd = await run('render', '--help');
    expect(rd.code).toBe(0);
    expect(rd.out).toContain('--file');
    expect(rd.out).toContain('--fps');
  });
});

describe('chainrule-ddpg: bad arguments are clear errors with a non-zero exit code', () => {
  const cases: [string[], RegExp][] = [
    [['--steps', '-5'], /--steps must be >= 1, got "-5"/],
    [['--steps', '1.5'], /--steps must be an integer, got "1.5"/],
    [['--steps', 'many'], /--steps must be a number, got "many"/],
    [['--gamma', '2'], /--gamma must be <= 1, got "2"/],
    [['--tau', '-1'], /--tau must be >= 0/],
    [['--batch-size', '1'], /--batch-size must be >= 2/],
    [['--actor-hidden', '64,x'], /--actor-hidden must be a comma-separated list of numbers, got "64,x"/],
    [
      ['--buffer-size', '100', '--steps', '5000'],
      /bufferSize 100 is smaller than max\(batchSize 256, learningStarts 1000\)/,
    ],
    [
      ['--env', 'Nope-v0'],
      /'Nope-v0' is invalid. Allowed choices are Pendulum-v1, MountainCarContinuous-v0, LQR-v0/,
    ],
    [['--preset', 'foo'], /'foo' is invalid. Allowed choices are tuned, paper, td3, dpg/],
    [['--noise', 'pink'], /'pink' is invalid/],
    [['--bogus'], /unknown option '--bogus'/],
    [['train', '--steps', '5', '--max-episodes', '2'], /give either --steps or --max-episodes, not both/],
    [['--backend', 'nope', '--steps', '5'], /unknown backend "nope"; available: .*js/],
    [['--actor-lr', '0', '--steps', '5'], /--actor-lr must be > 0, got "0"/],
    [['eval'], /required option '--run <dir>' not specified/],
    [['eval', '--run', join(root, 'nowhere')], /no run directory at .*nowhere/],
    [['render', '--run', join(root, 'nowhere')], /no run directory at .*nowhere/],
    [['evaluate', '--run', 'x'], /unknown command 'evaluate' \(did you mean 'eval'\?\)/],
    // A flag of another algorithm says whose it is and what to type instead.
    [
      ['--policy-delay', '2', '--algo', 'ddpg', '--steps', '5000'],
      /--policy-delay belongs to td3, not ddpg \(from --algo ddpg\); drop it, or add --algo td3/,
    ],
    [
      ['--target-noise', '0.1', '--target-noise-clip', '0.3', '--steps', '5000'],
      /--target-noise, --target-noise-clip belong to td3, not ddpg \(from --preset tuned\); drop them, or add --algo td3/,
    ],
    [
      ['--preset', 'dpg', '--batch-size', '64', '--steps', '5000'],
      /--batch-size belongs to ddpg and td3, not dpg \(from --preset dpg\); drop it, or add --algo ddpg/,
    ],
    [['--preset', 'dpg', '--batch-norm', '--steps', '5000'], /DPG learns from one transition at a time/],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' '), async () => {
      const train = !['eval', 'render', 'evaluate'].includes(argv[0]!);
      const { code, err } = await run(...argv, ...(train ? ['--no-progress'] : []));
      expect(code).not.toBe(0);
      expect(err).toMatch(message);
    });
  }

  it('--resume of a directory that does not exist shows the path given', async () => {
    const out = join(root, 'empty');
    const { code, err } = await run('--resume', '--out', out, '--steps', '100', '--no-progress');
    expect(code).toBe(1);
    expect(err).toContain(`no run directory at ${out}`);
  });
});

describe('chainrule-ddpg train / eval / render', () => {
  const ddpgRun = join(root, 'ddpg-run');

  beforeAll(async () => {
    // TD3 preset with a few updates (from 250 stored transitions), to keep the test short.
    const r = await run(
      'train',
      '--preset',
      'td3',
      '--steps',
      '300',
      '--seed',
      '2',
      '--batch-size',
      '16',
      '--start-steps',
      '50',
      '--learning-starts',
      '250',
      '--eval-every',
      '0',
      '--eval-episodes',
      '1',
      '--checkpoint-every',
      '0',
      '--no-progress',
      '--out',
      ddpgRun,
    );
    expect(r.err).toBe(`chainrule-ddpg: td3 (td3 preset) on Pendulum-v1, seed 2, 300 steps → ${ddpgRun}\n`);
    // A few lines, not the summary's JSON: the evaluation, the run directory, the next commands.
    expect(r.out).toMatch(/^chainrule-ddpg: done: 300 steps in /);
    expect(r.out).toMatch(/\n {2}evaluation {2}-?\d+\.\d ± \d+\.\d at step 300\n/);
    expect(r.out).toContain(`\n  run         ${ddpgRun} (summary.json`);
    expect(r.out).toMatch(/\nnext:\n {2}.+ eval --run .+\n {2}.+ render --run /);
    expect(r.out.split('\n').length).toBeLessThanOrEqual(8);
    expect(r.code).toBe(0);
  }, 60_000);

  it('train writes the run directory and prints the summary', () => {
    for (const f of [
      'run.json',
      'metrics.csv',
      'metrics.jsonl',
      'eval.csv',
      'summary.json',
      'learning-curve.svg',
      'checkpoints/latest',
    ]) {
      expect(existsSync(join(ddpgRun, f)), f).toBe(true);
    }
    const summary = JSON.parse(readFileSync(join(ddpgRun, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ env: 'Pendulum-v1', algo: 'td3', preset: 'td3', seed: 2, steps: 300 });
    const cfg = JSON.parse(readFileSync(join(ddpgRun, 'run.json'), 'utf8'));
    expect(cfg.config).toMatchObject({ batchSize: 16, startSteps: 50, learningStarts: 250, algo: 'td3' });
    expect(summary.differsFromPreset).toEqual({
      batchSize: { preset: 256, value: 16 },
      startSteps: { preset: 1000, value: 50 },
      learningStarts: { preset: 1000, value: 250 },
    });
    expect(readFileSync(join(ddpgRun, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 2);
  });

  it('eval --run prints the evaluation as JSON', async () => {
    const { code, out } = await run('eval', '--run', ddpgRun, '--episodes', '2', '--seed', '7');
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r).toMatchObject({ run: ddpgRun, env: 'Pendulum-v1', episodes: 2, step: 300, seed: 7 });
    expect(r.returns).toHaveLength(2);
    expect(r.mean).toBeCloseTo((r.returns[0] + r.returns[1]) / 2, 9);
    // Deterministic: the same seed gives the same returns.
    const again = JSON.parse((await run('eval', '--run', ddpgRun, '--episodes', '2', '--seed', '7')).out);
    expect(again.returns).toEqual(r.returns);
  });

  it('render --run --file writes an animated SVG of the pendulum', async () => {
    const file = join(root, 'x.svg');
    const { code, out } = await run('render', '--run', ddpgRun, '--file', file, '--fps', '50');
    expect(code).toBe(0);
    expect(out).toMatch(/wrote .*x\.svg \(201 frames, return -?\d+\.\d\d\)/);
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<animateTransform attributeName="transform" type="rotate"');
    expect(svg).toContain('dur="4.02s"');
    const angles = svg.match(/values="([^"]*)"/)![1]!.split(';');
    expect(angles).toHaveLength(201);
    // Without animation, the rod shows the episode's first frame (not upright, the goal).
    expect(svg).toContain(`<g transform="rotate(${angles[0]})">`);
    expect(Number(angles[0])).not.toBe(0);
  });

  it("render into a directory that does not exist names the user's path, not a temporary file", async () => {
    const file = join(root, 'no-such-dir', 'x.svg');
    const { code, err } = await run('render', '--run', ddpgRun, '--file', file);
    expect(code).toBe(1);
    expect(err).toContain(`cannot write ${file}: the directory ${join(root, 'no-such-dir')} does not exist`);
    expect(err).not.toMatch(/\.tmp/);
  });

  it('a second train into the same --out is refused and names it', async () => {
    const { code, err } = await run(
      '--preset',
      'dpg',
      '--env',
      'LQR-v0',
      '--steps',
      '20',
      '--no-progress',
      '--out',
      ddpgRun,
    );
    expect(code).toBe(1);
    expect(err).toContain(`${ddpgRun} holds a run (Pendulum-v1, td3 (td3), seed 2, checkpoint at step 300)`);
  });

  it('--resume with flags that differ from the run names each flag, its stored and its given value', async () => {
    const { code, err } = await run(
      '--out',
      ddpgRun,
      '--resume',
      '--actor-lr',
      '0.5',
      '--preset',
      'paper',
      '--no-progress',
    );
    expect(code).toBe(1);
    expect(err).toContain('  --actor-lr: the run has 0.001, you gave 0.5');
    expect(err).toContain('  --preset: the run has "td3", you gave "paper"');
  });

  it('--resume continues a checkpointed run to a larger --steps', async () => {
    const { code, err } = await run(
      '--preset',
      'td3',
      '--steps',
      '400',
      '--seed',
      '2',
      '--batch-size',
      '16',
      '--start-steps',
      '50',
      '--eval-every',
      '0',
      '--eval-episodes',
      '1',
      '--checkpoint-every',
      '0',
      '--no-progress',
      '--out',
      ddpgRun,
      '--resume',
    );
    expect(err).toContain(`chainrule-ddpg: resuming ${ddpgRun} at step 300 of 400`);
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(ddpgRun, 'summary.json'), 'utf8'));
    expect(summary.steps).toBe(400);
    // Episodes 1 (200 steps) and 2 (cut at 300) from before, and a new one from the resumed run.
    const rows = readFileSync(join(ddpgRun, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(rows.map((l) => JSON.parse(l).step)).toEqual([200, 300, 400]);
  });

  it('a DPG run on LQR (--preset dpg) trains and evaluates', async () => {
    const dpgRun = join(root, 'dpg-run');
    const t = await run(
      '--',
      '--preset',
      'dpg',
      '--env',
      'LQR-v0',
      '--steps',
      '300',
      '--eval-every',
      '0',
      '--eval-episodes',
      '1',
      '--checkpoint-every',
      '0',
      '--no-progress',
      '--json',
      '--out',
      dpgRun,
    );
    expect(t.code).toBe(0);
    const summary = JSON.parse(t.out);
    expect(summary).toMatchObject({ env: 'LQR-v0', algo: 'dpg', preset: 'dpg', steps: 300 });
    expect(JSON.parse(readFileSync(join(dpgRun, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(readFileSync(join(dpgRun, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 3);
    const e = await run('eval', '--run', dpgRun, '--episodes', '2');
    expect(e.code).toBe(0);
    expect(JSON.parse(e.out)).toMatchObject({ env: 'LQR-v0', step: 300, episodes: 2 });
  });

  it('an lqr-preset run on LQR-v0 reports the optimum in summary.json and eval', async () => {
    const lqrRun = join(root, 'lqr-run');
    const t = await run(
      '--preset',
      'lqr',
      '--env',
      'LQR-v0',
      '--steps',
      '300',
      '--learning-starts',
      '100',
      '--eval-episodes',
      '2',
      '--no-progress',
      '--json',
      '--out',
      lqrRun,
    );
    expect(t.code).toBe(0);
    const summary = JSON.parse(t.out);
    expect(summary).toMatchObject({ env: 'LQR-v0', algo: 'ddpg', preset: 'lqr', steps: 300 });
    expect(summary.optimalReturnMean).toBeLessThan(0);
    const e = await run('eval', '--run', lqrRun, '--episodes', '3');
    expect(e.code).toBe(0);
    const r = JSON.parse(e.out);
    expect(r.optimalMean).toBeLessThan(0);
    expect(r.costRatio).toBeCloseTo(r.mean / r.optimalMean, 12);
    // No policy beats the optimum on the same episodes.
    expect(r.costRatio).toBeGreaterThanOrEqual(1 - 1e-9);
  });

  it('--max-episodes sets the number of steps from the episode length', async () => {
    const dir = join(root, 'episodes');
    const t = await run(
      '--preset',
      'dpg',
      '--env',
      'LQR-v0',
      '--max-episodes',
      '3',
      '--max-episode-len',
      '20',
      '--eval-every',
      '0',
      '--eval-episodes',
      '1',
      '--checkpoint-every',
      '0',
      '--no-progress',
      '--json',
      '--out',
      dir,
    );
    expect(t.code).toBe(0);
    expect(JSON.parse(t.out).steps).toBe(60);
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(rows.map((l) => JSON.parse(l).length)).toEqual([20, 20, 20]);
  });
});

describe('the progress line', () => {
  it('fits 80 columns with the bar, even with the widest numbers', () => {
    const widest = progressText({
      step: 1_000_000,
      steps: 1_000_000,
      episode: 99_999,
      lastReturn: -123_456.7,
      avgMaxQ: -1234.5,
      lastEval: -123_456.7,
      stepsPerSecond: 12_345.6,
      etaSeconds: 3600 * 99,
    });
    // ' ' + bar + ' ' + text
    expect(1 + BAR_WIDTH + 1 + widest.length).toBeLessThanOrEqual(80);
    const typical = progressText({
      step: 12_000,
      steps: 20_000,
      episode: 60,
      lastReturn: -150.2,
      avgMaxQ: -3,
      lastEval: -160.4,
      stepsPerSecond: 381.2,
      etaSeconds: 21,
    });
    expect(typical).toBe('12000/20000 | 381 steps/s | ETA 21s | return -150 | eval -160');
  });

  it('formats the ETA in seconds, minutes or hours', () => {
    expect(formatDuration(21.4)).toBe('21s');
    expect(formatDuration(75)).toBe('1m15s');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('the default run directory', () => {
  it('carries the time and never collides with an existing one', () => {
    const at = new Date('2026-11-29T21:03:04.567Z');
    const parts = { env: 'Pendulum-v1', algo: 'ddpg', preset: 'tuned', seed: 0 };
    const first = defaultRunPath(root, parts, at);
    expect(first).toBe(join(root, 'Pendulum-v1-ddpg-tuned-s0-20261129T210304Z'));
    mkdirSync(first);
    expect(defaultRunPath(root, parts, at)).toBe(`${first}-2`);
    mkdirSync(`${first}-2`);
    expect(defaultRunPath(root, parts, at)).toBe(`${first}-3`);
  });
});

describe('file errors say what is wrong with the path given', () => {
  it('a read-only target says so', () => {
    // Tests run as root here, which ignores permissions, so the error is made by hand.
    for (const code of ['EROFS', 'EACCES', 'EPERM'])
      expect(describeFsError(Object.assign(new Error('raw'), { code }), '/data/runs/x').message).toBe(
        `cannot write to /data/runs/x: it is read-only (${code})`,
      );
  });
});
