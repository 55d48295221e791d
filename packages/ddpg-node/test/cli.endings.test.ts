/**
 * How the CLI ends and refuses: the commands it prints for each launcher, a finished run
 * resumed, --steps below the run's, a corrupt latest checkpoint, one checkpoint set per step,
 * and errors that say what to type instead.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { commandLine, type LaunchContext, launcherWords, shellWord } from '../src/cli/launcher.ts';
import { main, progressText } from '../src/cli/main.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-endings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    out += `${a.map(String).join(' ')}\n`;
  });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
    err += `${a.map(String).join(' ')}\n`;
  });
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out, err };
}

const ctx = (env: Record<string, string>, argv1: string, execArgv: string[] = []): LaunchContext => ({
  env,
  argv: ['/usr/bin/node', argv1],
  execArgv,
  cwd: '/repo',
});

describe('the launcher a printed command starts with', () => {
  const script = 'node --import tsx packages/ddpg-node/src/cli/main.ts';
  it('npx -y pnpm@V train when pnpm came from the npx cache', () => {
    const env = {
      npm_lifecycle_event: 'train',
      npm_lifecycle_script: script,
      npm_config_user_agent: 'pnpm/10.34.9 npm/? node/v20.20.2 linux x64',
      npm_execpath: '/root/.npm/_npx/c80dab5832ec79ce/node_modules/pnpm/bin/pnpm.cjs',
    };
    expect(
      commandLine(['--out', 'runs/p 0', '--resume'], ctx(env, '/repo/packages/ddpg-node/src/cli/main.ts')),
    ).toBe("npx -y pnpm@10.34.9 train --out 'runs/p 0' --resume");
  });
  it('pnpm train with a pnpm of ones own; npm run train -- with npm', () => {
    const pnpm = {
      npm_lifecycle_event: 'train',
      npm_lifecycle_script: script,
      npm_config_user_agent: 'pnpm/10.34.9 npm/? node/v20.20.2 linux x64',
      npm_execpath: '/usr/lib/node_modules/pnpm/bin/pnpm.cjs',
    };
    expect(launcherWords(ctx(pnpm, '/repo/x/main.ts'))).toEqual(['pnpm', 'train']);
    const npm = { ...pnpm, npm_config_user_agent: 'npm/11.19.1 node/v20.20.2 linux x64' };
    expect(launcherWords(ctx(npm, '/repo/x/main.ts'))).toEqual(['npm', 'run', 'train', '--']);
  });
  it('the installed bin: chainrule-ddpg on PATH, npx chainrule-ddpg under npx', () => {
    const bin = mkdtempSync(join(root, 'bin-'));
    writeFileSync(join(bin, 'chainrule-ddpg'), '');
    expect(launcherWords(ctx({ PATH: bin }, join(bin, 'chainrule-ddpg')))).toEqual(['chainrule-ddpg']);
    // pnpm's wrapper runs the package's file; the name on PATH is what the user typed.
    expect(
      launcherWords(ctx({ PATH: bin }, '/p/node_modules/@chainrule/ddpg-node/dist/cli/main.js')),
    ).toEqual(['chainrule-ddpg']);
    expect(launcherWords(ctx({ PATH: bin, npm_command: 'exec' }, join(bin, 'chainrule-ddpg')))).toEqual([
      'npx',
      'chainrule-ddpg',
    ]);
  });
  it("a sweep's child (the sweep script's environment, node on the bin file): node on the same file", () => {
    const env = {
      npm_lifecycle_event: 'sweep',
      npm_lifecycle_script: 'node --import tsx packages/ddpg-node/src/sweep/cli.ts',
      npm_config_user_agent: 'pnpm/10.34.9',
      PATH: '/repo/node_modules/.bin',
    };
    expect(launcherWords(ctx(env, '/repo/packages/ddpg-node/bin/chainrule-ddpg.mjs'))).toEqual([
      'node',
      'packages/ddpg-node/bin/chainrule-ddpg.mjs',
    ]);
  });
  it('shellWord quotes only what needs it', () => {
    expect(shellWord('runs/p0')).toBe('runs/p0');
    expect(shellWord("it's here")).toBe(`'it'\\''s here'`);
  });
});

describe('the progress line', () => {
  it('shows the average max Q as the README says, within the terminal width', () => {
    const p = {
      step: 12000,
      steps: 20000,
      episode: 60,
      lastReturn: -150,
      avgMaxQ: -12.34,
      lastEval: -160,
      stepsPerSecond: 381,
      etaSeconds: 21,
    };
    expect(progressText(p, 120)).toBe(
      '12000/20000 | 381 steps/s | ETA 21s | return -150 | eval -160 | avg max Q -12.3',
    );
    expect(progressText(p, 80).length).toBeLessThanOrEqual(80 - 18);
  });
});

const SMALL = [
  '--actor-hidden',
  '8',
  '--critic-hidden',
  '8',
  '--batch-size',
  '16',
  '--learning-starts',
  '50',
  '--eval-every',
  '0',
  '--eval-episodes',
  '1',
  '--checkpoint-every',
  '200',
  '--keep-checkpoints',
  '5',
  '--no-progress',
];

describe('run edge cases', () => {
  const dir = join(root, 'run');
  beforeAll(async () => {
    const r = await run('--steps', '600', ...SMALL, '--out', dir);
    expect(r.code, r.err).toBe(0);
  });

  it('resuming a finished run says so and writes nothing', async () => {
    const before = readdirSync(join(dir, 'checkpoints')).sort();
    const mtime = statSync(join(dir, 'summary.json')).mtimeMs;
    const r = await run('--out', dir, '--resume', '--no-progress');
    expect(r.code).toBe(0);
    expect(r.err).toContain(`${dir} is already finished at step 600; nothing to do`);
    expect(r.err).toContain(`--out ${dir} --resume --steps 1200`);
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(before);
    expect(statSync(join(dir, 'summary.json')).mtimeMs).toBe(mtime);
  });

  it('--steps below the steps trained is an error saying what to give', async () => {
    const r = await run('--out', dir, '--resume', '--steps', '400', '--no-progress');
    expect(r.code).toBe(1);
    expect(r.err).toContain('--steps 400 is below the 600 steps');
    expect(r.err).toContain('use --steps ≥ 601');
  });

  it('no two checkpoint sets for the same step', () => {
    const steps = readdirSync(join(dir, 'checkpoints'))
      .map((n) => /-step-(\d+)$/.exec(n)?.[1])
      .filter((s) => s !== undefined);
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps).toContain('600');
  });

  it('a corrupt latest checkpoint names the newest valid older set, and --from-checkpoint continues from it', async () => {
    const d = join(root, 'corrupt');
    expect((await run('--steps', '800', ...SMALL, '--out', d)).code).toBe(0);
    rmSync(join(d, 'summary.json'));
    const latest = readFileSync(join(d, 'checkpoints', 'latest'), 'utf8').trim();
    writeFileSync(join(d, 'checkpoints', latest, 'state.json'), '{ not json');
    const r = await run('--out', d, '--resume', '--steps', '1000', '--no-progress');
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${latest}, is corrupt`);
    const older = /The newest complete older checkpoint is (ckpt-\d+-step-(\d+))/.exec(r.err);
    expect(older?.[2]).toBe('600');
    expect(r.err).toContain(`--out ${d} --resume --from-checkpoint ${older![1]}`);
    const again = await run(
      '--out',
      d,
      '--resume',
      '--steps',
      '1000',
      '--no-progress',
      '--from-checkpoint',
      older![1]!,
    );
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain('resuming');
    expect(again.err).toContain('at step 600 of 1000');
    // The corrupt set was removed; the resumed run wrote a whole one at that step again.
    const now = readdirSync(join(d, 'checkpoints')).filter((n) => n.endsWith('-step-800'));
    for (const n of now)
      expect(() => JSON.parse(readFileSync(join(d, 'checkpoints', n, 'state.json'), 'utf8'))).not.toThrow();
  });

  it('--steps 100 says what to type instead', async () => {
    const r = await run('--steps', '100', '--no-progress', '--out', join(root, 'short'));
    expect(r.code).toBe(1);
    expect(r.err).toContain('use --steps ≥ 1001, or lower --learning-starts');
    expect(existsSync(join(root, 'short'))).toBe(false);
  });
});
