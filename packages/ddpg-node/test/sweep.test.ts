/**
 * The sweep's pieces without child processes: seeds and presets, the plan, the 95% CI,
 * aggregation of run directories, the README markers, the k8s manifest (validated against
 * the Kubernetes JSON schema of kubernetes-models), and the time-to-solve summary fields.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstSolved, solveThreshold } from '@chainrule/ddpg';
import fc from 'fast-check';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { sweepMain } from '../src/sweep/cli.ts';
import { jobManifest } from '../src/sweep/k8s.ts';
import {
  parsePresets,
  parseSeeds,
  planRuns,
  type SweepSpec,
  saveSpec,
  trainArgs,
} from '../src/sweep/plan.ts';
import {
  aggregateRuns,
  findRuns,
  README_END,
  README_START,
  replaceBetweenMarkers,
  resultsTable,
} from '../src/sweep/results.ts';
import { meanCi95 } from '../src/sweep/stats.ts';
import { train } from '../src/trainer.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-sweep-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  let out = '';
  let err = '';
  const a = vi.spyOn(console, 'log').mockImplementation((...x: unknown[]) => {
    out += `${x.join(' ')}\n`;
  });
  const b = vi.spyOn(console, 'error').mockImplementation((...x: unknown[]) => {
    err += `${x.join(' ')}\n`;
  });
  try {
    return { value: await fn(), out, err };
  } finally {
    a.mockRestore();
    b.mockRestore();
  }
}

const spec: SweepSpec = {
  env: 'Pendulum-v1',
  presets: ['tuned', 'td3'],
  seeds: [0, 1, 2],
  steps: 20000,
  trainArgs: [],
};

describe('seeds and presets', () => {
  it('parses ranges and lists into ascending distinct seeds', () => {
    expect(parseSeeds('0-4')).toEqual([0, 1, 2, 3, 4]);
    expect(parseSeeds('5,0,2')).toEqual([0, 2, 5]);
    expect(parseSeeds('0-2,7,1')).toEqual([0, 1, 2, 7]);
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 8 }), (xs) => {
        expect(parseSeeds(xs.join(','))).toEqual([...new Set(xs)].sort((a, b) => a - b));
      }),
    );
  });
  it('names what is wrong', () => {
    expect(() => parseSeeds('4-0')).toThrow(/--seeds: the range 4-0 runs backwards/);
    expect(() => parseSeeds('a')).toThrow(/--seeds: "a" is not a seed or a range/);
    expect(() => parsePresets('tuned,fast')).toThrow(
      /--presets: unknown preset "fast"; expected one of tuned/,
    );
  });
});

describe('the plan', () => {
  it('has one run per (preset, seed), presets first, in index order', () => {
    const runs = planRuns(spec);
    expect(runs.map((r) => `${r.index}:${r.preset}-s${r.seed}`)).toEqual([
      '0:tuned-s0',
      '1:tuned-s1',
      '2:tuned-s2',
      '3:td3-s0',
      '4:td3-s1',
      '5:td3-s2',
    ]);
    expect(trainArgs({ ...spec, trainArgs: ['--eval-episodes', '5'] }, runs[4]!, 'out')).toEqual([
      '--env',
      'Pendulum-v1',
      '--preset',
      'td3',
      '--seed',
      '1',
      '--steps',
      '20000',
      '--eval-episodes',
      '5',
      '--out',
      join('out', 'runs', 'td3-s1'),
    ]);
  });
  it('refuses to continue a sweep directory with other settings', () => {
    const dir = join(root, 'spec');
    mkdirSync(dir);
    saveSpec(dir, spec);
    saveSpec(dir, spec);
    expect(() => saveSpec(dir, { ...spec, steps: 1000 })).toThrow(
      /holds another sweep: steps is 20000 there, 1000 given/,
    );
  });
});

describe('meanCi95', () => {
  it("uses Student's t with n − 1 degrees of freedom", () => {
    // t(0.975, 4) = 2.776445; sd of 1..5 = sqrt(2.5).
    const r = meanCi95([1, 2, 3, 4, 5]);
    expect(r.mean).toBe(3);
    expect(r.halfWidth).toBeCloseTo((2.776445 * Math.sqrt(2.5)) / Math.sqrt(5), 5);
    // Two seeds: t(0.975, 1) = 12.7062.
    expect(meanCi95([0, 2]).halfWidth).toBeCloseTo(12.7062, 3);
    expect(meanCi95([7]).halfWidth).toBeNull();
  });
});

/** A finished run directory with a summary (optionally without the time-to-solve fields, as older runs). */
function fakeRun(
  dir: string,
  o: {
    env?: string;
    preset?: string;
    seed: number;
    final: number;
    evals: number[];
    legacy?: boolean;
    optimal?: number;
    differsFromPreset?: Record<string, { preset: unknown; value: unknown }>;
  },
): void {
  mkdirSync(dir, { recursive: true });
  const env = o.env ?? 'Pendulum-v1';
  const evals = o.evals.map((mean, i) => ({
    step: (i + 1) * 1000,
    mean,
    std: 1,
    min: mean,
    max: mean,
    wallSeconds: i + 1,
  }));
  writeFileSync(join(dir, 'eval.jsonl'), evals.map((e) => `${JSON.stringify(e)}\n`).join(''));
  writeFileSync(join(dir, 'run.json'), '{}');
  const threshold = solveThreshold(env, o.optimal) ?? null;
  const solved = firstSolved(evals, threshold ?? undefined);
  const summary: Record<string, unknown> = {
    env,
    algo: 'ddpg',
    preset: o.preset ?? 'tuned',
    seed: o.seed,
    steps: evals.length * 1000,
    evalReturnMean: o.final,
    evalReturnStd: 3,
    wallSeconds: 10 + o.seed,
    ...(o.optimal !== undefined ? { optimalReturnMean: o.optimal } : {}),
    ...(o.differsFromPreset ? { differsFromPreset: o.differsFromPreset } : {}),
  };
  if (!o.legacy)
    Object.assign(summary, {
      solveThreshold: threshold,
      solvedAtStep: solved?.step ?? null,
      solvedAtWallSeconds: solved?.wallSeconds ?? null,
    });
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
}

describe('aggregating run directories', () => {
  const a = join(root, 'machine-a');
  const b = join(root, 'machine-b');
  fakeRun(join(a, 'runs', 'tuned-s0'), { seed: 0, final: -150, evals: [-900, -180, -150] });
  fakeRun(join(a, 'runs', 'tuned-s1'), { seed: 1, final: -250, evals: [-1000, -199, -250] });
  // From another machine, written before the time-to-solve fields existed.
  fakeRun(join(b, 'tuned-s2'), { seed: 2, final: -400, evals: [-1200, -800, -400], legacy: true });
  fakeRun(join(b, 'lqr-s0'), {
    env: 'LQR-v0',
    preset: 'lqr',
    seed: 0,
    final: -10.4,
    evals: [-50, -10.4],
    optimal: -10,
  });
  // An unfinished run is left out.
  mkdirSync(join(b, 'tuned-s3'));
  writeFileSync(join(b, 'tuned-s3', 'run.json'), '{}');

  it('groups by env and preset, with final evals, the CI, seeds at the threshold and the first step there', () => {
    const r = aggregateRuns(findRuns([a, b]));
    expect(r.groups.map((g) => `${g.env}/${g.preset}`)).toEqual(['LQR-v0/lqr', 'Pendulum-v1/tuned']);
    const p = r.groups[1]!;
    expect(p.seeds.map((s) => s.seed)).toEqual([0, 1, 2]);
    expect(p.mean).toBeCloseTo(-800 / 3, 10);
    expect(p.ci95).toBeCloseTo(meanCi95([-150, -250, -400]).halfWidth!, 10);
    expect(p.solved).toBe(1);
    expect(p.seeds.map((s) => s.solvedAtStep)).toEqual([2000, 2000, null]);
    expect(p.seeds.map((s) => s.solvedAtWallSeconds)).toEqual([2, 2, null]);
    expect(p.reached).toBe(2);
    expect(p.medianStepsToThreshold).toBe(2000);
    expect(p.curve.map((c) => c.step)).toEqual([1000, 2000, 3000]);
    expect(p.curve[0]!.mean).toBeCloseTo(-1033.333, 3);
    // LQR-v0: within 5% of the optimal cost counts; 10.4 / 10 = 1.04.
    const l = r.groups[0]!;
    expect(l.seeds[0]!.costRatio).toBeCloseTo(1.04, 10);
    expect(l.solved).toBe(1);
    expect(l.threshold).toBe('cost ≤ 1.05 × optimal');
    const row = resultsTable(r)
      .split('\n')
      .find((l) => l.includes('Pendulum-v1'))!
      .split('|')
      .map((c) => c.trim());
    expect(row.slice(1, 10)).toEqual([
      'Pendulum-v1',
      'ddpg',
      'tuned',
      '3000',
      '3',
      's0: −150.0 ± 3.0, s1: −250.0 ± 3.0, s2: −400.0 ± 3.0',
      `−266.7 ± ${meanCi95([-150, -250, -400]).halfWidth!.toFixed(1)}`,
      '1/3 (return ≥ −200)',
      's0: 2000, s1: 2000, s2: —',
    ]);
  });

  it('keeps runs that changed their preset apart, and names the changes', () => {
    const dir = join(root, 'overrides');
    const changed = {
      noise: { preset: 'gaussian', value: 'param' },
      normalizeObs: { preset: false, value: true },
    };
    fakeRun(join(dir, 'plain-s0'), { env: 'MountainCarContinuous-v0', seed: 0, final: 0, evals: [0] });
    for (const seed of [0, 1])
      fakeRun(join(dir, `param-s${seed}`), {
        env: 'MountainCarContinuous-v0',
        seed,
        final: 93,
        evals: [93],
        differsFromPreset: changed,
      });
    const r = aggregateRuns(findRuns([dir]));
    expect(r.groups.map((g) => [g.preset, g.overrides, g.seeds.length, g.solved])).toEqual([
      ['tuned', '', 1, 0],
      ['tuned', 'noise param, normalizeObs true', 2, 2],
    ]);
    expect(resultsTable(r)).toContain('| tuned (noise param, normalizeObs true) |');
  });

  it('names a run found in two places', () => {
    fakeRun(join(root, 'copy', 'tuned-s0'), { seed: 0, final: -150, evals: [-900, -180, -150] });
    expect(() => aggregateRuns(findRuns([a, join(root, 'copy')]))).toThrow(
      /seed 0 \(3000 steps\) is in both .*machine-a.*copy/,
    );
  });

  it('aggregate writes results, and report --write replaces only the marked block of a README', async () => {
    const out = join(root, 'combined');
    const agg = await quiet(() => sweepMain(['aggregate', a, b, '--out', out]));
    expect(agg.value).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.groups).toHaveLength(2);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toMatch(/\| LQR-v0 +\| ddpg \| lqr +\|/);
    expect(readFileSync(join(out, 'learning-curves.svg'), 'utf8')).toContain('tuned (ddpg, 3 seeds)');

    const readme = join(root, 'README.md');
    writeFileSync(readme, `# x\n\nbefore\n${README_START}\nold table\n${README_END}\nafter\n`);
    const rep = await quiet(() => sweepMain(['report', out, '--write', readme]));
    expect(rep.value).toBe(0);
    const text = readFileSync(readme, 'utf8');
    expect(text).not.toContain('old table');
    expect(text.startsWith('# x\n\nbefore\n')).toBe(true);
    expect(text.endsWith(`${README_END}\nafter\n`)).toBe(true);
    expect(text).toContain(`Generated by \`pnpm sweep report ${out} --write ${readme}\``);
    expect(text).toContain(resultsTable(results));
    expect(() => replaceBetweenMarkers('no markers', 'x', 'R.md')).toThrow(
      /R.md has no <!-- sweep-report:start -->/,
    );
  });
});

describe('the Kubernetes Job', () => {
  const o = { name: 'pendulum-sweep', image: 'chainrule-sweep:1', claim: 'results', mountPath: '/results' };
  it('is a schema-valid batch/v1 Indexed Job with one completion per run', () => {
    const m = jobManifest({ ...spec, trainArgs: ['--eval-episodes', '5'] }, o);
    expect(() => new Job(m as never).validate()).not.toThrow();
    const s = m.spec as {
      completionMode: string;
      completions: number;
      template: { spec: { containers: { args: string[] }[] } };
    };
    expect(s.completionMode).toBe('Indexed');
    expect(s.completions).toBe(6);
    expect(s.template.spec.containers[0]!.args).toEqual([
      'run-index',
      '--env',
      'Pendulum-v1',
      '--presets',
      'tuned,td3',
      '--seeds',
      '0,1,2',
      '--steps',
      '20000',
      '--out',
      '/results',
      '--',
      '--eval-episodes',
      '5',
    ]);
  });
  it('is checked by a validator that rejects broken manifests', () => {
    const m = jobManifest(spec, o) as { spec: Record<string, unknown> };
    expect(() => new Job({ ...m, spec: { ...m.spec, completions: 'six' } } as never).validate()).toThrow(
      /completions must be integer/,
    );
    expect(() => jobManifest(spec, { ...o, name: 'Pendulum_Sweep' })).toThrow(
      /--job-name must be a DNS label/,
    );
  });
  it('--emit k8s writes the YAML, which parses to a valid Job, and a Dockerfile', async () => {
    const out = join(root, 'k8s');
    const r = await quiet(() =>
      sweepMain([
        '--env',
        'Pendulum-v1',
        '--presets',
        'tuned',
        '--seeds',
        '0-4',
        '--emit',
        'k8s',
        '--out',
        out,
      ]),
    );
    expect(r.value).toBe(0);
    const job = parse(readFileSync(join(out, 'job.yaml'), 'utf8'));
    expect(() => new Job(job).validate()).not.toThrow();
    expect(job.spec.completions).toBe(5);
    const docker = readFileSync(join(out, 'Dockerfile'), 'utf8');
    expect(docker).toMatch(/^FROM node:20/m);
    expect(docker).toContain('pnpm@10.34.9 install --frozen-lockfile');
  });
});

describe('time to solve in summary.json', () => {
  it('records the first evaluation at or above the threshold, evaluating every 1000 steps by default', async () => {
    const { summary, evals } = await train({
      env: 'LQR-v0',
      steps: 2000,
      evalEpisodes: 2,
      checkpointEvery: 0,
      config: { preset: 'lqr', batchSize: 32, learningStarts: 100, startSteps: 100 },
    });
    expect(evals.map((e) => e.step)).toEqual([1000, 2000]);
    expect(evals[1]!.wallSeconds!).toBeGreaterThanOrEqual(evals[0]!.wallSeconds!);
    expect(summary.solveThreshold).toBeCloseTo(1.05 * summary.optimalReturnMean!, 10);
    const first = evals.find((e) => e.mean >= summary.solveThreshold!);
    expect(summary.solvedAtStep).toBe(first?.step ?? null);
    expect(summary.solvedAtWallSeconds).toBe(first?.wallSeconds ?? null);
    expect(solveThreshold('Pendulum-v1')).toBe(-200);
    expect(solveThreshold('MountainCarContinuous-v0')).toBe(90);
  });
});
