/**
 * Output files: `latest.json`, `latest.md` and `ratios.svg`, each written atomically
 * (temporary file, then rename).
 *
 * @module
 */

import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { compile } from 'vega-lite';
import type { BenchCase } from './cases.ts';
import { TORCH_IMPL } from './contenders/torch.ts';
import { BASELINE, contenderId, type ResultRow } from './harness.ts';
import type { MachineInfo } from './machine.ts';

export interface Report {
  readonly machine: MachineInfo;
  /** The command that reproduces this run. */
  readonly command: string;
  /** How to read `speedupVsTfjsWasm`. */
  readonly convention: string;
  readonly results: ResultRow[];
}

export const BASELINE_ID = contenderId(BASELINE);
export const CONVENTION = `speedup = median(${BASELINE_ID}) / median(contender), both from the same run; > 1 means faster than ${BASELINE_ID}`;

/** Fill `speedupVsTfjsWasm` of every row from the baseline row of the same case. */
export function computeRatios(rows: ResultRow[]): void {
  for (const row of rows) {
    const base = rows.find(
      (r) => r.case === row.case && r.impl === BASELINE.impl && r.backend === BASELINE.backend,
    );
    row.speedupVsTfjsWasm =
      base && base.status === 'ok' && row.status === 'ok' && base.medianMs && row.medianMs
        ? base.medianMs / row.medianMs
        : null;
  }
}

/** Write `text` to `file` atomically. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, file);
}

function fmtMs(ms: number | null): string {
  if (ms === null) return '—';
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  if (ms >= 0.01) return ms.toFixed(3);
  return ms.toPrecision(2);
}

const escapeCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The Markdown report. */
export function renderMarkdown(report: Report, cases: readonly BenchCase[]): string {
  const { machine } = report;
  const hasJaxjs = report.results.some((r) => r.impl === 'jax-js');
  const hasTorch = report.results.some((r) => r.impl === TORCH_IMPL);
  const others = ['TensorFlow.js', ...(hasJaxjs ? ['jax-js'] : []), ...(hasTorch ? ['PyTorch'] : [])];
  const lines: string[] = [];
  lines.push(
    `# chainrule vs ${others.slice(0, -1).join(', ')}${others.length > 1 ? ' and ' : ''}${others.at(-1)} — benchmark results`,
    '',
  );
  lines.push(`Generated ${machine.date} by \`${report.command}\`.`, '');
  lines.push('| machine | |', '|---|---|');
  lines.push(`| CPU | ${escapeCell(machine.cpu)} (${machine.cores} logical cores) |`);
  lines.push(`| platform | ${machine.platform} |`);
  lines.push(`| Node | ${machine.node} |`);
  if (machine.loadavg) {
    lines.push(
      `| load average at the end (1, 5, 15 min) | ${machine.loadavg.map((x) => x.toFixed(2)).join(', ')} |`,
    );
  }
  if (machine.wasmPeak) {
    const p = machine.wasmPeak;
    lines.push(
      `| wasm SIMD peak, one core (register-only multiply-add loop) | simd ${p.simd.toFixed(1)} GFLOP/s, fma ${p.fma === null ? '—' : `${p.fma.toFixed(1)} GFLOP/s`} |`,
    );
  }
  if (machine.tfjs) {
    const w = machine.tfjs.wasm;
    const wasm = w ? `SIMD ${w.simd ? 'on' : 'off'}, threads ${w.threads ? 'on' : 'off'}` : 'not initialised';
    lines.push(`| tfjs | ${machine.tfjs.version} (wasm backend: ${wasm}) |`);
  }
  if (machine.jaxjs) {
    lines.push(
      `| jax-js | ${machine.jaxjs.version} (wasm device, threads ${machine.jaxjs.threads ? 'on' : 'off'}) |`,
    );
  }
  if (machine.torch) {
    const t = machine.torch;
    const blas = [t.blas.config ?? t.blas.name, t.blas.corename ? `core ${t.blas.corename}` : '']
      .filter(Boolean)
      .join(', ');
    lines.push(
      `| PyTorch | ${t.version} (Python ${t.python}, ${escapeCell(t.executable)}; BLAS: ${escapeCell(blas)}; threads ${t.threads.join(', ')}) |`,
    );
  }
  lines.push(`| gpu.js mode | ${machine.gpujsMode ?? '— (not used)'} |`, '');
  lines.push(
    `**Speedup convention:** ${CONVENTION}. Rows that are not \`ok\` (output mismatch, error, leak) get no ratio, and a baseline that is not \`ok\` gives no ratios for its case.`,
    '',
  );
  lines.push(
    'Times are per iteration: median and p10–p90 of the timed samples (tinybench, after an untimed check run and a warm-up). Readback is part of the measured work: every matmul and fwd+bwd iteration copies its results into JS `Float32Array`s (`dataSync()` for tfjs). The DDPG cases use one fixed replay batch, so sampling cost is excluded for every contender.',
    '',
  );
  for (const c of cases) {
    const rows = report.results.filter((r) => r.case === c.name);
    lines.push(`## ${c.name}`, '', `${c.description}.`, '');
    if (rows.length === 0) {
      lines.push(
        c.fullOnly
          ? '_No contender ran this case (end-to-end wall time is measured for chainrule only; tfjs and jax-js have no e2e contender)._'
          : '_No contender ran this case._',
        '',
      );
      continue;
    }
    const hasFlops = rows.some((r) => r.gflops !== undefined);
    const header = ['contender', 'median ms', 'p10–p90 ms', 'samples'];
    if (hasFlops) header.push('GFLOP/s', '% of wasm peak');
    header.push(`speedup vs ${BASELINE_ID}`, 'status');
    lines.push(
      `| ${header.join(' | ')} |`,
      `|${header.map((h, i) => (i === 0 || h === 'status' ? '---' : '---:')).join('|')}|`,
    );
    for (const r of rows) {
      const cells = [
        `${contenderId(r)}${r.note ? ` (${escapeCell(r.note)})` : ''}`,
        fmtMs(r.medianMs),
        r.p10Ms === null || r.p90Ms === null ? '—' : `${fmtMs(r.p10Ms)}–${fmtMs(r.p90Ms)}`,
        String(r.samples),
      ];
      if (hasFlops)
        cells.push(
          r.gflops === undefined ? '—' : r.gflops.toFixed(2),
          r.peakShare === undefined ? '—' : `${(100 * r.peakShare).toFixed(0)}%`,
        );
      cells.push(r.speedupVsTfjsWasm === null ? '—' : `${r.speedupVsTfjsWasm.toFixed(2)}×`);
      cells.push(r.status === 'ok' ? 'ok' : `**${r.status}**: ${escapeCell(r.error ?? '')}`);
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  lines.push(...torchVsChainrule(report.results, cases));
  lines.push(...threadScaling(report.results, cases));
  lines.push('## Notes', '');
  lines.push(
    '- Correctness before speed: matmul, dense, batch-norm and Adam outputs are compared with float64 references computed by plain JS loops on the same seeded float32 inputs, with float32 error bounds; a `mismatch` row is still timed but excluded from ratios.',
    '- Leak check: for contenders that expose a live-object count (tfjs: `tf.memory().numTensors`; chainrule: wasm heap blocks / gpujs storages; jax-js: live wasm buffers), the count must be the same before and after the warm-up and timed iterations.',
    '- DDPG `paper`: actor 400/300 with BN after both hidden layers, critic with BN on layer 1 only and the action joining at layer 2; target networks also use training-mode BN (batch statistics of the next-state batch); critic loss = MSE + 1e-2 · ½ Σ w² over weight matrices only; Adam ε = 1e-8. BN running-statistic updates are not part of the tfjs update.',
    "- DDPG `tuned`: chainrule's `tuned` preset (the `pnpm train` default): the TD3 networks (256/256, no BN) with one critic, no L2, τ 5e-3; one iteration is one critic step, one actor step and one soft update.",
    '- DDPG `td3`: one iteration is one full TD3 cycle = 2 critic updates + 1 actor update + 1 soft update of all target networks; target-policy noise N(0, 0.2²) clipped to ±0.5, generated with a fixed seed.',
    '- tfjs-wasm runs a matmul through XNNPACK only when neither operand is transposed, caching the packed B per tensor (so the matmul cases measure it with B already packed); the transposed products of every backward pass use a scalar blocked loop, which dominates its dense and DDPG times.',
    '- Adam and DDPG iterations read back nothing but the critic loss (DDPG, one scalar per critic update): the tfjs cpu and wasm backends execute eagerly and synchronously, so all work is done when the call returns.',
    '- `e2e pendulum 20k paper` runs only with `--full` and is chainrule-only wall time.',
  );
  if (hasJaxjs) {
    lines.push(
      "- jax-js runs on its wasm device (single-threaded in Node: it starts workers only when a global `Worker` exists), every case through `jit`: pure functions of parameter pytrees with `valueAndGrad`/`grad`; a DDPG row is one jitted program for the whole cycle, with a hand-written Adam (tfjs' formula). Tracing and kernel compilation happen in `setup()`. Its execution is lazy, so each iteration ends with a readback that dispatches everything (results, the critic losses, or the Adam step counter). TD3 noise comes from a jax PRNG key, so its draws differ from tfjs'. Leak check: live wasm buffers (reference counts mirrored from its backend).",
    );
  }
  if (hasTorch) {
    lines.push(
      "- PyTorch (`pytorch-cpu-<n>t`) runs in one Python process that times itself with `time.perf_counter` under the same sampling plan (check run, warm-up, samples), after `torch.set_num_threads(n)` and OpenBLAS's own thread count set to n. Its DDPG update mirrors chainrule's agent (Adam's L2 on every critic parameter, BN running statistics, the chain-rule actor step, soft update), and for `paper` and `tuned` one update from the same state is checked against chainrule's. Its matmul readback is `.numpy()` (a view: PyTorch's CPU tensors are already host memory).",
    );
  }
  lines.push('');
  return `${lines.join('\n')}`;
}

/**
 * The issue's metric: PyTorch's median ÷ chainrule's, per case and row pair (> 1: chainrule
 * is faster), both from this run. Empty when there are no PyTorch rows.
 */
function torchVsChainrule(rows: readonly ResultRow[], cases: readonly BenchCase[]): string[] {
  const ok = (r: ResultRow) => r.status === 'ok' && r.medianMs !== null && r.medianMs > 0;
  const torch = rows.filter((r) => r.impl === TORCH_IMPL && ok(r));
  if (torch.length === 0) return [];
  // The reference js backend and gpu.js (on a CPU) are not what this comparison is about.
  const chainrule = rows.filter(
    (r) => r.impl === 'chainrule' && r.backend !== 'js' && r.backend !== 'gpujs' && ok(r),
  );
  const table: string[] = [];
  for (const c of cases) {
    for (const ch of chainrule.filter((r) => r.case === c.name)) {
      const ts = torch.filter((r) => r.case === c.name);
      if (ts.length === 0) continue;
      const cells = ts.map((t) => `${contenderId(t)} ${(t.medianMs! / ch.medianMs!).toFixed(2)}`);
      table.push(`| ${c.name} | ${contenderId(ch)} | ${fmtMs(ch.medianMs)} | ${cells.join(' · ')} |`);
    }
  }
  if (table.length === 0) return [];
  return [
    '## PyTorch ÷ chainrule (same run)',
    '',
    'median(PyTorch) / median(chainrule): > 1 means chainrule is faster.',
    '',
    '| case | chainrule row | chainrule ms | PyTorch ÷ chainrule |',
    '|---|---|---:|---|',
    ...table,
    '',
  ];
}

/**
 * chainrule's thread scaling, same run: median(chainrule-wasm-1t) / median(chainrule-wasm-2t)
 * for each case with both rows ok (the issue's "2-thread ÷ 1-thread" speed-up).
 */
export function threadScaling(rows: readonly ResultRow[], cases: readonly BenchCase[]): string[] {
  const ok = (r: ResultRow | undefined) =>
    r !== undefined && r.status === 'ok' && r.medianMs !== null && r.medianMs > 0;
  const table: string[] = [];
  for (const c of cases) {
    const one = rows.find((r) => r.case === c.name && r.impl === 'chainrule' && r.backend === 'wasm-1t');
    const two = rows.find((r) => r.case === c.name && r.impl === 'chainrule' && r.backend === 'wasm-2t');
    if (!ok(one) || !ok(two)) continue;
    table.push(
      `| ${c.name} | ${fmtMs(one!.medianMs)} | ${fmtMs(two!.medianMs)} | ${(one!.medianMs! / two!.medianMs!).toFixed(2)}× |`,
    );
  }
  if (table.length === 0) return [];
  return [
    '## chainrule: 2 threads ÷ 1 thread (same run)',
    '',
    'median(chainrule-wasm-1t) / median(chainrule-wasm-2t): the speed-up from the second thread.',
    '',
    '| case | 1 thread ms | 2 threads ms | speed-up |',
    '|---|---:|---:|---:|',
    ...table,
    '',
  ];
}

type Layer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];
type Encoding = NonNullable<Extract<Layer, { mark: unknown }>['encoding']>;

/** The vega-lite spec of the speedup chart (log-scale x, one bar per contender and case). */
export function chartSpec(rows: readonly ResultRow[], cases: readonly BenchCase[]): TopLevelSpec {
  const data = rows
    .filter((r) => r.speedupVsTfjsWasm !== null && contenderId(r) !== BASELINE_ID)
    .map((r) => ({ case: r.case, contender: contenderId(r), speedup: r.speedupVsTfjsWasm }));
  const order = cases.map((c) => c.name).filter((n) => data.some((d) => d.case === n));
  const speedups = data.map((d) => d.speedup ?? 1);
  const lo = Math.min(0.5, ...speedups.map((s) => s / 2));
  const hi = Math.max(2, ...speedups.map((s) => s * 2));
  const y: Encoding['y'] = {
    field: 'case',
    type: 'nominal',
    sort: order,
    title: null,
    axis: { labelLimit: 260 },
  };
  const yOffset: Encoding['yOffset'] = { field: 'contender', type: 'nominal' };
  const x: Encoding['x'] = {
    field: 'speedup',
    type: 'quantitative',
    scale: { type: 'log', domain: [lo, hi] },
    title: `speedup vs ${BASELINE_ID} (log scale)`,
  };
  const label = (faster: boolean): Layer => ({
    transform: [{ filter: faster ? 'datum.speedup >= 1' : 'datum.speedup < 1' }],
    mark: { type: 'text', align: faster ? 'left' : 'right', dx: faster ? 3 : -3, fontSize: 10 },
    encoding: {
      y,
      yOffset,
      x,
      text: { field: 'label', type: 'nominal' },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Speedup vs ${BASELINE_ID} (same run)`,
      subtitle: `median(${BASELINE_ID}) / median(contender); bars right of 1× are faster, left are slower`,
    },
    width: 560,
    background: 'white',
    data: { values: data.map((d) => ({ ...d, label: `${(d.speedup ?? 1).toPrecision(3)}×` })) },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.9 } },
        encoding: {
          y,
          yOffset,
          x,
          x2: { datum: 1 },
          color: { field: 'contender', type: 'nominal', title: 'contender' },
          tooltip: [
            { field: 'case', type: 'nominal' },
            { field: 'contender', type: 'nominal' },
            { field: 'speedup', type: 'quantitative', format: '.3f' },
          ],
        },
      },
      label(true),
      label(false),
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'rule', color: 'black', strokeDash: [4, 3] },
        encoding: { x: { field: 'one', type: 'quantitative' } },
      },
    ],
  };
}

/** Render the speedup chart to an SVG string (vega-lite → vega, headless). */
export async function renderChart(rows: readonly ResultRow[], cases: readonly BenchCase[]): Promise<string> {
  const spec = chartSpec(rows, cases);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Paths of the written files. */
export interface WrittenFiles {
  readonly json: string;
  readonly md: string;
  readonly svg: string;
}

/** Write `latest.json`, `latest.md` and `ratios.svg` into `outDir`. */
export async function writeReport(
  outDir: string,
  report: Report,
  cases: readonly BenchCase[],
): Promise<WrittenFiles> {
  await mkdir(outDir, { recursive: true });
  const files = {
    json: path.join(outDir, 'latest.json'),
    md: path.join(outDir, 'latest.md'),
    svg: path.join(outDir, 'ratios.svg'),
  };
  const svg = await renderChart(report.results, cases);
  await writeAtomic(files.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomic(files.md, renderMarkdown(report, cases));
  await writeAtomic(files.svg, svg.endsWith('\n') ? svg : `${svg}\n`);
  return files;
}
