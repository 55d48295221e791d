import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareOutput, defaultCases, matmulCase } from '../src/cases.ts';
import { tfjsMatmul } from '../src/contenders/tfjs.ts';
import { type Contender, quantile, type SamplingPlan } from '../src/harness.ts';
import { matmulInputs } from '../src/inputs.ts';
import { parseCli, type RunBenchResult, runBench } from '../src/main.ts';
import { threadScaling } from '../src/report.ts';

const TINY_PLAN: SamplingPlan = {
  timeMs: 20,
  samples: 5,
  minSamples: 2,
  maxTaskMs: 500,
  warmupMs: 0,
  warmupIterations: 1,
  noWarmupAboveMs: 100,
};

/** A plain-JS matmul contender; `corrupt` makes its output wrong, `leak` grows a fake object count. */
function jsMatmul(
  m: number,
  k: number,
  n: number,
  opts: { corrupt?: boolean; leak?: boolean; name: string },
): Contender {
  const { a, b } = matmulInputs(m, k, n);
  const c = new Float32Array(m * n);
  let live = 0;
  return {
    case: `matmul ${m}x${k}x${n}`,
    impl: 'js',
    backend: opts.name,
    setup() {},
    run() {
      c.fill(0);
      for (let i = 0; i < m; i++)
        for (let p = 0; p < k; p++)
          for (let j = 0; j < n; j++) c[i * n + j]! += a[i * k + p]! * b[p * n + j]!;
      if (opts.corrupt) c[3]! += 0.5;
      if (opts.leak) live++;
    },
    output: () => c.slice(),
    liveObjects: () => live,
  };
}

describe('bench harness', () => {
  let dir: string;
  let result: RunBenchResult;
  const messages: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'chainrule-bench-'));
    result = await runBench({
      outDir: dir,
      quick: true,
      progress: false,
      plan: TINY_PLAN,
      cases: [matmulCase(8, 8, 8)],
      contenders: [
        tfjsMatmul(8, 8, 8, 'wasm'),
        tfjsMatmul(8, 8, 8, 'cpu'),
        jsMatmul(8, 8, 8, { name: 'loops' }),
        jsMatmul(8, 8, 8, { name: 'wrong', corrupt: true }),
        jsMatmul(8, 8, 8, { name: 'leaky', leak: true }),
      ],
      log: (m) => messages.push(m),
    });
  }, 30_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes a latest.json with the documented schema', async () => {
    const json = JSON.parse(await readFile(path.join(dir, 'latest.json'), 'utf8'));
    expect(Object.keys(json.machine)).toEqual(
      expect.arrayContaining(['cpu', 'cores', 'node', 'date', 'platform', 'gpujsMode']),
    );
    expect(typeof json.machine.cpu).toBe('string');
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.machine.gpujsMode).toBeNull();
    expect(json.machine.tfjs.wasm).toEqual({ simd: expect.any(Boolean), threads: expect.any(Boolean) });
    expect(json.results).toHaveLength(5);
    for (const r of json.results) {
      expect(r.case).toBe('matmul 8x8x8');
      expect(typeof r.impl).toBe('string');
      expect(typeof r.backend).toBe('string');
      expect(['ok', 'mismatch', 'error']).toContain(r.status);
      if (r.status !== 'error') {
        expect(r.medianMs).toBeGreaterThan(0);
        expect(r.p10Ms).toBeLessThanOrEqual(r.medianMs);
        expect(r.p90Ms).toBeGreaterThanOrEqual(r.medianMs);
        expect(r.samples).toBeGreaterThanOrEqual(2);
        expect(r.gflops).toBeGreaterThan(0);
      }
    }
    const byBackend = (b: string) => json.results.find((r: { backend: string }) => r.backend === b);
    expect(byBackend('wasm')).toMatchObject({ impl: 'tfjs', status: 'ok', speedupVsTfjsWasm: 1 });
    expect(byBackend('cpu')).toMatchObject({ impl: 'tfjs', status: 'ok' });
    expect(byBackend('cpu').speedupVsTfjsWasm).toBeGreaterThan(0);
    expect(byBackend('loops').status).toBe('ok');
  });

  it('marks a wrong output as mismatch and leaves it out of the ratios', () => {
    const wrong = result.report.results.find((r) => r.backend === 'wrong')!;
    expect(wrong.status).toBe('mismatch');
    expect(wrong.speedupVsTfjsWasm).toBeNull();
    expect(wrong.error).toMatch(/C\[3\]/);
    expect(messages.some((m) => m.startsWith('MISMATCH'))).toBe(true);
  });

  it('marks a leaking contender as error with the leak size', () => {
    const leaky = result.report.results.find((r) => r.backend === 'leaky')!;
    expect(leaky.status).toBe('error');
    expect(leaky.error).toMatch(/leak: live objects 1 → \d+ \(\+\d+\)/);
    expect(leaky.medianMs).toBeNull();
  });

  it('writes a latest.md with a table per case', async () => {
    const md = await readFile(path.join(dir, 'latest.md'), 'utf8');
    expect(md).toContain('## matmul 8x8x8');
    expect(md).toMatch(
      /\| contender \| median ms \| p10–p90 ms \| samples \| GFLOP\/s \| % of wasm peak \| speedup vs tfjs-wasm \| status \|/,
    );
    expect(md).toMatch(/\| tfjs-wasm \| [\d.]+ \| [\d.]+–[\d.]+ \| \d+ \| [\d.]+ \| — \| 1\.00× \| ok \|/);
    expect(md).toContain('**mismatch**');
    expect(md).toContain('median(tfjs-wasm) / median(contender)');
    expect(md).toContain('pnpm bench');
  });

  it('writes ratios.svg and no temporary files', async () => {
    const svg = await readFile(path.join(dir, 'ratios.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('tfjs-cpu');
    expect((await readdir(dir)).sort()).toEqual(['latest.json', 'latest.md', 'ratios.svg']);
  });
});

describe('single-shot cases', () => {
  it('time the first run only', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chainrule-bench-'));
    try {
      let runs = 0;
      const { report } = await runBench({
        outDir: dir,
        progress: false,
        cases: [{ name: 'e2e fake', description: 'one long run', singleShot: true, fullOnly: true }],
        full: true,
        contenders: [
          {
            case: 'e2e fake',
            impl: 'js',
            backend: 'sleep',
            setup() {},
            run: () => new Promise<void>((resolve) => setTimeout(() => resolve(void runs++), 30)),
          },
        ],
        log: () => {},
      });
      expect(runs).toBe(1);
      expect(report.results[0]).toMatchObject({ status: 'ok', samples: 1, speedupVsTfjsWasm: null });
      expect(report.results[0]!.medianMs).toBeGreaterThanOrEqual(25);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('cli', () => {
  it('parses flags', () => {
    expect(parseCli(['--quick', '--filter', 'matmul', '--out', 'x'])).toMatchObject({
      quick: true,
      full: false,
      filter: 'matmul',
      outDir: path.resolve('x'),
    });
    expect(parseCli(['--', '--full'])).toMatchObject({ full: true });
    expect(parseCli(['--help'])).toBe('help');
  });

  it('rejects unknown flags and stray arguments clearly', () => {
    expect(() => parseCli(['--fast'])).toThrow("unknown option '--fast'");
    expect(() => parseCli(['matmul'])).toThrow(/unexpected argument 'matmul'/);
    expect(() => parseCli(['--filter'])).toThrow(/--filter/);
  });
});

describe('references', () => {
  it('quantile interpolates linearly', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5], 0.1)).toBeCloseTo(1.4);
    expect(quantile([7], 0.9)).toBe(7);
  });

  it('the default case list has the fixed names', () => {
    expect(defaultCases().map((c) => c.name)).toEqual([
      'matmul 64x3x400',
      'matmul 64x400x300',
      'matmul 256x256x256',
      'matmul 1024x1024x1024',
      'dense fwd+bwd 64x400x300 relu',
      'batchnorm1d fwd+bwd 64x400',
      'adam step paper-critic',
      'ddpg update paper b64',
      'ddpg update tuned b256',
      'ddpg update td3 b256',
      'e2e pendulum 20k paper',
    ]);
  });

  it('the matmul reference accepts float32 rounding and rejects shifted columns', () => {
    const c = matmulCase(16, 32, 16);
    const ref = c.reference!();
    const { a, b } = matmulInputs(16, 32, 16);
    const good = new Float32Array(256);
    const shifted = new Float32Array(256);
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < 16; j++) {
        let s = Math.fround(0);
        let t = 0;
        for (let p = 0; p < 32; p++) {
          s = Math.fround(s + Math.fround(a[i * 32 + p]! * b[p * 16 + j]!));
          t += a[i * 32 + p]! * b[p * 16 + ((j + 1) % 16)]!;
        }
        good[i * 16 + j] = s;
        shifted[i * 16 + j] = t;
      }
    expect(compareOutput(good, ref).ok).toBe(true);
    expect(compareOutput(shifted, ref).ok).toBe(false);
    expect(compareOutput(new Float32Array(255), ref).message).toMatch(/length/);
    good[5] = Number.NaN;
    expect(compareOutput(good, ref).ok).toBe(false);
  });
});

describe('threadScaling', () => {
  const row = (backend: string, medianMs: number, status: 'ok' | 'error' = 'ok') => ({
    case: 'matmul 8x8x8',
    impl: 'chainrule',
    backend,
    medianMs,
    p10Ms: medianMs,
    p90Ms: medianMs,
    samples: 3,
    speedupVsTfjsWasm: null,
    status,
  });
  const cases = [matmulCase(8, 8, 8)];

  it('reports median(wasm-1t) / median(wasm-2t) for a case with both rows ok', () => {
    const md = threadScaling([row('wasm-1t', 9), row('wasm-2t', 5)], cases).join('\n');
    expect(md).toContain('## chainrule: 2 threads ÷ 1 thread (same run)');
    expect(md).toContain('| matmul 8x8x8 | 9.00 | 5.00 | 1.80× |');
  });

  it('gives no table when a row is missing or not ok', () => {
    expect(threadScaling([row('wasm-1t', 9)], cases)).toEqual([]);
    expect(threadScaling([row('wasm-1t', 9), row('wasm-2t', 5, 'error')], cases)).toEqual([]);
  });
});
