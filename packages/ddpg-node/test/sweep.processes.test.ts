/**
 * The sweep with real train CLI child processes (tiny LQR-v0 runs): a failed run is
 * reported while the others finish, a rerun skips finished runs and retries the failed
 * one, and running every JOB_COMPLETION_INDEX of the k8s Job locally (one of them
 * interrupted and resumed) gives the same results.json as the local sweep.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';
import { sweepMain } from '../src/sweep/cli.ts';
import { planRuns, type SweepSpec } from '../src/sweep/plan.ts';
import { runOne } from '../src/sweep/runner.ts';

const CLI = fileURLToPath(new URL('../src/sweep/cli.ts', import.meta.url));

function runIndexProcess(index: number, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, JOB_COMPLETION_INDEX: String(index) },
      stdio: 'ignore',
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

const root = mkdtempSync(join(tmpdir(), 'chainrule-sweep-proc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  '--batch-size',
  '32',
  '--learning-starts',
  '100',
  '--start-steps',
  '100',
  '--eval-every',
  '100',
  '--eval-episodes',
  '2',
  '--checkpoint-every',
  '0',
];
// Presets that take the same replay flags (a DPG config has no --batch-size or --learning-starts).
const flags = ['--env', 'LQR-v0', '--presets', 'lqr,tuned', '--seeds', '0', '--steps', '300'];

async function sweep(...argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const a = vi.spyOn(console, 'log').mockImplementation(() => {});
  const b = vi.spyOn(console, 'error').mockImplementation((...x: unknown[]) => {
    err += `${x.join(' ')}\n`;
  });
  try {
    return { code: await sweepMain(argv), err };
  } finally {
    a.mockRestore();
    b.mockRestore();
  }
}

/** results.json without wall times, which differ from run to run. */
function results(dir: string): unknown {
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'), (k, v) =>
    /wall/i.test(k) ? undefined : v,
  );
}

it('runs in parallel, reports a failed run, resumes, and matches the k8s indices run one by one', {
  timeout: 600_000,
}, async () => {
  const local = join(root, 'local');
  // A broken run directory: its run fails, the other finishes.
  mkdirSync(join(local, 'runs', 'tuned-s0'), { recursive: true });
  writeFileSync(join(local, 'runs', 'tuned-s0', 'run.json'), 'not json');
  const first = await sweep(...flags, '--jobs', '2', '--no-progress', '--out', local, '--', ...TINY);
  expect(first.code).toBe(1);
  expect(first.err).toMatch(/tuned-s0 failed \(exit 1/);
  expect(first.err).toMatch(/1 of 2 runs failed/);
  for (const r of ['lqr-s0']) expect(existsSync(join(local, 'runs', r, 'summary.json'))).toBe(true);

  // Fixed, the rerun skips the finished run and runs only the failed one.
  rmSync(join(local, 'runs', 'tuned-s0'), { recursive: true });
  const second = await sweep(...flags, '--jobs', '2', '--no-progress', '--out', local, '--', ...TINY);
  expect(second.code).toBe(0);
  expect(second.err).toContain('sweep: 1 run, 1 already finished, 0 failed');
  expect(second.err).not.toMatch(/starting lqr-s0/);

  // The cluster's way: each index alone, into a shared directory. Index 0 was interrupted
  // at step 200 (run.json and a checkpoint, no summary) and is resumed to 300.
  const cluster = join(root, 'cluster');
  const spec: SweepSpec = {
    env: 'LQR-v0',
    presets: ['lqr', 'tuned'],
    seeds: [0],
    steps: 300,
    trainArgs: TINY,
  };
  const run0 = planRuns(spec)[0]!;
  expect((await runOne({ ...spec, steps: 200 }, run0, cluster)).status).toBe('done');
  unlinkSync(join(cluster, run0.dir, 'summary.json'));
  // As in a pod: the sweep CLI in its own process, told its index only by JOB_COMPLETION_INDEX.
  const codes: (number | null)[] = [];
  codes.push(
    ...(await Promise.all(
      [0, 1].map((i) => runIndexProcess(i, ['run-index', ...flags, '--out', cluster, '--', ...TINY])),
    )),
  );
  expect(codes).toEqual([0, 0]);
  expect(readFileSync(join(cluster, 'logs', 'lqr-s0.log'), 'utf8')).toMatch(/--resume/);
  expect((await sweep('aggregate', cluster)).code).toBe(0);
  expect(results(cluster)).toEqual(results(local));
});
