/**
 * The chainrule-ddpg CLI, driven through `main(argv)` with its output captured.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.ts';

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
    ]) {
      expect(out, flag).toContain(flag);
    }
    expect(out).toContain('eval --run <dir>');
    expect(out).toContain('render --run <dir>');
    expect(out).toContain('Pendulum-v1');
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
    [['--steps', '-5'], /--steps must be an integer >= 1, got "-5"/],
    [['--steps', '1.5'], /--steps must be an integer/],
    [['--steps', 'many'], /--steps must be an integer/],
    [['--gamma', '2'], /--gamma must be a number >= 0 and <= 1, got "2"/],
    [['--tau', '-1'], /--tau must be a number >= 0/],
    [['--batch-size', '1'], /--batch-size must be an integer >= 2/],
    [
      ['--env', 'Nope-v0'],
      /'Nope-v0' is invalid. Allowed choices are Pendulum-v1, MountainCarContinuous-v0, LQR-v0/,
    ],
    [['--preset', 'foo'], /'foo' is invalid. Allowed choices are tuned, paper, td3, dpg/],
    [['--noise', 'pink'], /'pink' is invalid/],
    [['--bogus'], /unknown option '--bogus'/],
    [['train', '--steps', '5', '--max-episodes', '2'], /give either --steps or --max-episodes, not both/],
    [['--backend', 'nope', '--steps', '5'], /unknown backend "nope"; available: .*js/],
    [['--actor-lr', '0', '--steps', '5'], /invalid hyperparameters: actorLr/],
    [['eval'], /required option '--run <dir>' not specified/],
    [['eval', '--run', join(root, 'nowhere')], /no checkpoint in .*nowhere/],
    [['render', '--run', join(root, 'nowhere')], /no checkpoint in .*nowhere/],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' '), async () => {
      const train = !['eval', 'render'].includes(argv[0]!);
      const { code, err } = await run(...argv, ...(train ? ['--no-progress'] : []));
      expect(code).not.toBe(0);
      expect(err).toMatch(message);
    });
  }

  it('--resume with no checkpoint', async () => {
    const out = join(root, 'empty');
    const { code, err } = await run('--resume', '--out', out, '--steps', '100', '--no-progress');
    expect(code).toBe(1);
    expect(err).toMatch(/--resume: no checkpoint at .*empty.*manifest\.json/);
  });
});

describe('chainrule-ddpg train / eval / render', () => {
  const ddpgRun = join(root, 'ddpg-run');

  beforeAll(async () => {
    // TD3 preset: no updates before 1000 stored transitions, so 300 steps only run the policy.
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
    expect(r.err).toBe(
      `chainrule-ddpg: td3 (td3 preset) on Pendulum-v1, seed 2, 300 steps → ${ddpgRun}\nwrote ${join(ddpgRun, 'summary.json')} and ${join(ddpgRun, 'learning-curve.svg')}\n`,
    );
    expect(r.code).toBe(0);
  });

  it('train writes the run directory and prints the summary', () => {
    for (const f of [
      'config.json',
      'metrics.csv',
      'metrics.jsonl',
      'eval.csv',
      'summary.json',
      'learning-curve.svg',
      'checkpoint/manifest.json',
      'checkpoint/agent.safetensors',
    ]) {
      expect(existsSync(join(ddpgRun, f)), f).toBe(true);
    }
    const summary = JSON.parse(readFileSync(join(ddpgRun, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ env: 'Pendulum-v1', algo: 'td3', preset: 'td3', seed: 2, steps: 300 });
    const cfg = JSON.parse(readFileSync(join(ddpgRun, 'config.json'), 'utf8'));
    expect(cfg.config).toMatchObject({ batchSize: 16, startSteps: 50, algo: 'td3' });
    expect(readFileSync(join(ddpgRun, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 2);
  });

  it('eval --run prints the evaluation as JSON', async () => {
    const { code, out } = await run('eval', '--run', ddpgRun, '--episodes', '2', '--seed', '7');
    expect(code).toBe(0);
    const r = JSON.parse(out);
    expect(r).toMatchObject({ run: ddpgRun, env: 'Pendulum-v1', episodes: 2 });
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
    expect(svg.match(/values="([^"]*)"/)![1]!.split(';')).toHaveLength(201);
  });

  it('--resume continues a checkpointed run to a larger --steps', async () => {
    const { code } = await run(
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
    expect(code).toBe(0);
    const summary = JSON.parse(readFileSync(join(ddpgRun, 'summary.json'), 'utf8'));
    expect(summary.steps).toBe(400);
    // Episodes 1 (200 steps) and 2 (cut at 300) from before, and a new one from the resumed run.
    const rows = readFileSync(join(ddpgRun, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(rows.map((l) => JSON.parse(l).step)).toEqual([200, 300, 400]);
  });

  it('a DPG run on LQR (--preset dpg) trains; eval of it is a clear error', async () => {
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
      '--out',
      dpgRun,
    );
    expect(t.code).toBe(0);
    const summary = JSON.parse(t.out);
    expect(summary).toMatchObject({ env: 'LQR-v0', algo: 'dpg', preset: 'dpg', steps: 300 });
    expect(JSON.parse(readFileSync(join(dpgRun, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(readFileSync(join(dpgRun, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + 3);
    const e = await run('eval', '--run', dpgRun);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/loading dpg agents is not supported/);
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
      '--eval-episodes',
      '2',
      '--no-progress',
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
      '--out',
      dir,
    );
    expect(t.code).toBe(0);
    expect(JSON.parse(t.out).steps).toBe(60);
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(rows.map((l) => JSON.parse(l).length)).toEqual([20, 20, 20]);
  });
});
