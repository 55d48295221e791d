import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeConfig, type Td3Config } from '@chainrule/ddpg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BenchCase, CASE, defaultCases, matmulCase } from '../src/cases.ts';
import {
  pythonCandidates,
  runTorch,
  TORCH_SCRIPT,
  torchEnv,
  torchSelected,
} from '../src/contenders/torch.ts';
import { type AgentState, compareUpdates } from '../src/contenders/torch-parity.ts';
import type { SamplingPlan } from '../src/harness.ts';
import { runBench } from '../src/main.ts';

const PLAN: SamplingPlan = {
  timeMs: 0,
  samples: 2,
  minSamples: 1,
  maxTaskMs: 200,
  warmupMs: 0,
  warmupIterations: 1,
  noWarmupAboveMs: 100,
};

/**
 * A stand-in for `torch_bench.py`, run by node instead of python. `mode`: `ok` answers like
 * the real script (matmul computed from the input files), `wrong` corrupts the matmul,
 * `unavailable` cannot import torch, `crash` exits 1 on `run`, `garbage` prints non-JSON.
 */
const FAKE = `
import fs from 'node:fs';
const mode = process.argv[2];
const [cmd, reqPath] = process.argv.slice(3);
const info = { protocol: 1, available: true, torch: '9.9.9-fake', python: '3.0.0', executable: '/fake/python',
  blas: { name: 'openblas', libraries: ['/fake/libopenblas.so'], config: 'OpenBLAS fake', corename: 'Zen' }, defaultThreads: 1 };
const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
if (mode === 'unavailable') { say({ protocol: 1, available: false, reason: "No module named 'torch'" }); process.exit(0); }
if (cmd === 'probe') { say(info); process.exit(0); }
if (mode === 'crash') { process.stderr.write('Traceback (most recent call last):\\nRuntimeError: boom\\n'); process.exit(1); }
if (mode === 'garbage') { process.stdout.write('not json'); process.exit(0); }
const req = JSON.parse(fs.readFileSync(reqPath, 'utf8'));
const f32 = (s) => { const b = fs.readFileSync(s.file); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const rows = [];
for (const t of req.tasks) for (const n of t.threads) {
  const row = { case: t.case, threads: n, status: 'ok', torchThreads: n, blasThreads: n, samples: 3, medianMs: 2 / n, p10Ms: 1.5 / n, p90Ms: 3 / n };
  if (t.kind === 'matmul') {
    const a = f32(t.a), b = f32(t.b); const [m, k] = t.a.shape; const nn = t.b.shape[1];
    const c = new Float32Array(m * nn);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < nn; j++) c[i * nn + j] += a[i * k + p] * b[p * nn + j];
    if (mode === 'wrong') c[1] += 1;
    row.outputFile = req.outDir + '/' + t.id + '-' + n + '.f32';
    fs.writeFileSync(row.outputFile, new Uint8Array(c.buffer));
  }
  rows.push(row);
}
say({ ...info, verify: [], rows });
`;

let dir: string;
let fakeScript: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chainrule-torch-test-'));
  fakeScript = path.join(dir, 'fake-torch.mjs');
  await writeFile(fakeScript, FAKE);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Options that run the fake in `mode` (node <fake> <mode> probe|run <request>). */
function fakeOptions(mode: string) {
  return { python: [process.execPath], script: fakeScript, scriptArgs: [mode] };
}

const tiny = matmulCase(64, 3, 400);
const ddpgCase = (name: string): BenchCase => defaultCases().find((c) => c.name === name)!;

describe('PyTorch contender: process and parsing (fake python)', () => {
  it('removes OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE together, and only those', () => {
    const env = torchEnv({
      OPENBLAS_CORETYPE: 'Haswell',
      OPENBLAS_L2_SIZE: '1',
      PATH: '/bin',
      OMP_NUM_THREADS: '3',
    });
    expect(env).toEqual({ PATH: '/bin', OMP_NUM_THREADS: '3' });
  });

  it('tries CHAINRULE_BENCH_PYTHON alone, else python3 then the system python3', () => {
    expect(pythonCandidates({ CHAINRULE_BENCH_PYTHON: '/opt/py/bin/python' })).toEqual([
      '/opt/py/bin/python',
    ]);
    expect(pythonCandidates({})).toEqual(['python3', '/usr/bin/python3']);
  });

  it('selects rows by --filter on "<case> pytorch-cpu-<n>t" and ignores cases it has no implementation of', () => {
    const cases = defaultCases();
    expect(torchSelected({ cases, plan: PLAN })).toBe(true);
    expect(torchSelected({ cases, plan: PLAN, filter: 'tfjs' })).toBe(false);
    expect(torchSelected({ cases, plan: PLAN, filter: 'pytorch-cpu-2t' })).toBe(true);
    expect(torchSelected({ cases: [ddpgCase(CASE.dense)], plan: PLAN })).toBe(false);
  });

  it('turns the answer into rows: both thread counts, GFLOP/s, notes, the matmul output checked', async () => {
    const log: string[] = [];
    const { rows, info } = await runTorch({
      ...fakeOptions('ok'),
      cases: [tiny],
      plan: PLAN,
      log: (m) => log.push(m),
    });
    expect(info).toMatchObject({
      version: '9.9.9-fake',
      blas: { name: 'openblas', corename: 'Zen' },
      threads: [1, 2],
    });
    expect(rows.map((r) => [r.impl, r.backend, r.status])).toEqual([
      ['pytorch', 'cpu-1t', 'ok'],
      ['pytorch', 'cpu-2t', 'ok'],
    ]);
    expect(rows[0]).toMatchObject({ medianMs: 2, p10Ms: 1.5, p90Ms: 3, samples: 3 });
    expect(rows[0]!.gflops).toBeCloseTo(tiny.flops! / 2e6, 6);
    expect(rows[1]!.note).toContain('torch.set_num_threads(2), openblas 2 thread(s)');
  });

  it('marks a wrong matmul output as mismatch', async () => {
    const { rows } = await runTorch({ ...fakeOptions('wrong'), cases: [tiny], plan: PLAN, log: () => {} });
    expect(rows.map((r) => r.status)).toEqual(['mismatch', 'mismatch']);
    expect(rows[0]!.error).toContain('float64 reference');
  });

  it('marks a DDPG case whose verification state is missing as mismatch', async () => {
    const { rows } = await runTorch({
      ...fakeOptions('ok'),
      cases: [ddpgCase(CASE.ddpgTuned)],
      plan: PLAN,
      threads: [1],
      log: () => {},
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'mismatch', error: 'Python returned no verification state' });
  });

  it('skips with one line when no interpreter imports torch', async () => {
    for (const opts of [fakeOptions('unavailable'), { python: [path.join(dir, 'no-such-python')] }]) {
      const log: string[] = [];
      const { rows, info } = await runTorch({ ...opts, cases: [tiny], plan: PLAN, log: (m) => log.push(m) });
      expect(rows).toEqual([]);
      expect(info).toBeNull();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatch(/^PyTorch not available: skipping its contenders \(.+\)$/);
    }
  });

  it('turns a crash or unparseable output into error rows that carry the reason', async () => {
    const crash = await runTorch({ ...fakeOptions('crash'), cases: [tiny], plan: PLAN, log: () => {} });
    expect(crash.rows.map((r) => r.status)).toEqual(['error', 'error']);
    expect(crash.rows[0]!.error).toContain('RuntimeError: boom');
    const garbage = await runTorch({ ...fakeOptions('garbage'), cases: [tiny], plan: PLAN, log: () => {} });
    expect(garbage.rows[0]!.status).toBe('error');
  });

  it('runBench adds the rows, the machine info and the PyTorch ÷ chainrule table', async () => {
    const out = path.join(dir, 'report');
    const { report } = await runBench({
      outDir: out,
      progress: false,
      plan: PLAN,
      cases: [tiny],
      contenders: [],
      torch: fakeOptions('ok'),
      log: () => {},
    });
    expect(report.machine.torch?.version).toBe('9.9.9-fake');
    expect(report.results.map((r) => r.backend)).toEqual(['cpu-1t', 'cpu-2t']);
    const md = await readFile(path.join(out, 'latest.md'), 'utf8');
    expect(md).toContain('chainrule vs TensorFlow.js and PyTorch');
    expect(md).toContain(
      '| PyTorch | 9.9.9-fake (Python 3.0.0, /fake/python; BLAS: OpenBLAS fake, core Zen; threads 1, 2) |',
    );
  });
});

/** A synthetic agent state: one actor parameter of 4 values and its Adam moments. */
function state(p: number[], m: number[], target: number[], losses = [1, -2]): AgentState {
  return {
    tensors: new Map([
      ['actor.fc1.weight', Float32Array.from(p)],
      ['actorTarget.fc1.weight', Float32Array.from(target)],
      ['opt.actor.0.m', Float32Array.from(m)],
      ['opt.actor.0.v', Float32Array.from(m.map((x) => 1e-2 * x * x))],
    ]),
    criticLoss: losses[0]!,
    actorLoss: losses[1]!,
  };
}

describe('PyTorch contender: update comparison', () => {
  const cfg = makeConfig('tuned') as Td3Config; // actor lr 1e-3, τ 5e-3
  const init = new Map([['actor.fc1.weight', { data: Float32Array.from([0.5, -0.25, 0.125, 0.3]) }]]);
  const lr = cfg.actorLr;
  const p1 = [0.5 - lr, -0.25 + lr, 0.125 - lr, 0.3];
  const t1 = [0.5 - cfg.tau * lr, -0.25 + cfg.tau * lr, 0.125 - cfg.tau * lr, 0.3];
  const m = [0.01, -0.02, 0.03, 1e-12];
  const ours = state(p1, m, t1);

  it('accepts the same update, and a sign flip where the gradient is at rounding level', () => {
    expect(compareUpdates(init, ours, state(p1, m, t1), cfg).ok).toBe(true);
    const flipped = [...p1];
    flipped[3] = 0.3 - lr; // m[3] is 1e-12: the step's sign is noise
    const r = compareUpdates(init, ours, state(flipped, m, t1), cfg);
    expect(r.ok).toBe(true);
    expect(r.noisy).toBe(1);
  });

  it('rejects a wrong step, a wrong gradient, a missing soft update, a wrong loss, a missing tensor', () => {
    const wrongStep = [...p1];
    wrongStep[0] = 0.5 + lr;
    expect(compareUpdates(init, ours, state(wrongStep, m, t1), cfg).message).toContain('actor.fc1.weight[0]');
    expect(compareUpdates(init, ours, state(wrongStep, m, t1), cfg).ok).toBe(false);
    expect(compareUpdates(init, ours, state(p1, [0.01, -0.02, 0.031, 1e-12], t1), cfg).ok).toBe(false);
    expect(compareUpdates(init, ours, state(p1, m, [0.5, -0.25, 0.125, 0.3]), cfg).ok).toBe(false);
    expect(compareUpdates(init, ours, state(p1, m, t1, [1.01, -2]), cfg).ok).toBe(false);
    const partial: AgentState = { ...ours, tensors: new Map([...ours.tensors].slice(1)) };
    const r = compareUpdates(init, ours, partial, cfg);
    expect(r.ok).toBe(false);
    expect(r.message).toContain('missing in PyTorch: actor.fc1.weight');
  });
});

const hasTorch = pythonCandidates().some(
  (py) =>
    spawnSync(py, ['-c', 'import torch'], { env: torchEnv(), stdio: 'ignore', timeout: 60_000 }).status === 0,
);

describe.runIf(hasTorch)('PyTorch contender: real torch', () => {
  it('one PyTorch update of tuned and paper equals chainrule’s, and the tiny matmul matches its reference', async () => {
    const log: string[] = [];
    const { rows, info } = await runTorch({
      cases: [tiny, ddpgCase(CASE.ddpgPaper), ddpgCase(CASE.ddpgTuned)],
      plan: PLAN,
      threads: [1],
      log: (msg) => log.push(msg),
    });
    expect(info?.blas.name).toMatch(/openblas|reference|mkl|unknown/);
    expect(rows.map((r) => [r.case, r.status, r.error])).toEqual([
      [tiny.name, 'ok', undefined],
      [CASE.ddpgPaper, 'ok', undefined],
      [CASE.ddpgTuned, 'ok', undefined],
    ]);
    for (const r of rows.slice(1)) expect(r.note).toContain('verified against chainrule');
    expect(log.filter((l) => l.includes("matches chainrule's"))).toHaveLength(2);
    expect(TORCH_SCRIPT.endsWith('torch_bench.py')).toBe(true);
  }, 120_000);
});
