/**
 * `pnpm bench`: same-run benchmarks of chainrule against TensorFlow.js (and jax-js, when
 * its optional dependency is installed, and PyTorch, when a Python interpreter imports torch).
 *
 * Writes `latest.json`, `latest.md` and `ratios.svg` into the output directory.
 * {@link runBench} is the programmatic entry point (used by the tests).
 *
 * @module
 */

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listBackends } from '@chainrule/tensor';
import { gpujsMode } from '@chainrule/tensor/gpujs';
import cliProgress from 'cli-progress';
import { runtime, simdPeakGflops } from '../../packages/tensor/src/backends/wasm/backend.ts';
import { type BenchCase, defaultCases } from './cases.ts';
import { chainruleContenders } from './contenders/chainrule.ts';
import { jaxjsContenders, jaxjsInfo } from './contenders/jaxjs.ts';
import { tfjsContenders } from './contenders/tfjs.ts';
import { tfjsInfo } from './contenders/tfjs-env.ts';
import { type RunTorchOptions, runTorch, torchSelected } from './contenders/torch.ts';
import {
  type Contender,
  contenderId,
  FULL_PLAN,
  QUICK_PLAN,
  type ResultRow,
  runContender,
  type SamplingPlan,
} from './harness.ts';
import { machineInfo } from './machine.ts';
import { CONVENTION, computeRatios, type Report, type WrittenFiles, writeReport } from './report.ts';

/** The default output directory: `bench/results`. */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../results', import.meta.url));

/** A problem with the requested run (bad flag, empty selection): reported without a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface RunBenchOptions {
  /** Where to write latest.json, latest.md and ratios.svg. */
  outDir: string;
  /** Also run the `--full`-only cases (end-to-end training). */
  full?: boolean;
  /** Only run (case, contender) pairs whose `"<case> <impl>-<backend>"` contains this (case-insensitive). */
  filter?: string;
  /** Very few samples (smoke test). */
  quick?: boolean;
  /** Show a progress bar (default: when stderr is a TTY). */
  progress?: boolean;
  /** Cases to run (default: {@link defaultCases}). */
  cases?: BenchCase[];
  /** Contenders (default: {@link defaultContenders}). */
  contenders?: Contender[];
  /** Sampling plan override (default: quick or full plan). */
  plan?: SamplingPlan;
  /** gpu.js mode of chainrule's GPU backend, recorded in the machine info. */
  gpujsMode?: string | null;
  /** The reproducing command recorded in the report. */
  command?: string;
  /** Progress / error messages (default: stderr). */
  log?: (message: string) => void;
  /**
   * The PyTorch rows: `false` for none; options (interpreters, script, thread counts) to
   * run them. Default: run them (if torch imports) unless `contenders` is given.
   */
  torch?: false | Pick<RunTorchOptions, 'python' | 'script' | 'scriptArgs' | 'threads' | 'verify'>;
}

export interface RunBenchResult {
  readonly report: Report;
  readonly files: WrittenFiles;
}

/**
 * The default contenders: tfjs on wasm (the baseline), tfjs on cpu, chainrule's, then
 * jax-js' when `@jax-js/jax` (an optional dependency) is installed; otherwise one line
 * goes to `log` and the run goes on without them.
 */
export async function defaultContenders(
  log: (message: string) => void = console.error,
): Promise<Contender[]> {
  return [
    ...tfjsContenders('wasm'),
    ...tfjsContenders('cpu'),
    ...chainruleContenders(),
    ...(await jaxjsContenders(log)),
  ];
}

function commandFor(o: RunBenchOptions): string {
  const args = ['pnpm bench'];
  if (o.full) args.push('--full');
  if (o.quick) args.push('--quick');
  if (o.filter) args.push('--filter', JSON.stringify(o.filter));
  if (o.outDir !== DEFAULT_OUT_DIR)
    args.push('--out', JSON.stringify(path.relative(process.cwd(), o.outDir) || '.'));
  return args.join(' ');
}

/** Run the selected benchmarks and write the report files. */
export async function runBench(opts: RunBenchOptions): Promise<RunBenchResult> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const cases = (opts.cases ?? defaultCases()).filter((c) => opts.full || !c.fullOnly);
  const contenders = opts.contenders ?? (await defaultContenders(log));
  const plan = opts.plan ?? (opts.quick ? QUICK_PLAN : FULL_PLAN);
  const filter = opts.filter?.toLowerCase();

  const known = new Set((opts.cases ?? defaultCases()).map((c) => c.name));
  for (const c of contenders) {
    if (!known.has(c.case))
      log(`WARNING: contender ${contenderId(c)} targets unknown case '${c.case}'; skipped`);
  }
  const tasks: { c: Contender; bc: BenchCase }[] = [];
  for (const bc of cases) {
    for (const c of contenders) {
      if (c.case !== bc.name) continue;
      if (filter && !`${c.case} ${contenderId(c)}`.toLowerCase().includes(filter)) continue;
      tasks.push({ c, bc });
    }
  }
  const torchOpts =
    opts.torch === false || (opts.torch === undefined && opts.contenders)
      ? undefined
      : { ...(opts.torch || {}), cases, plan, log, ...(opts.filter ? { filter: opts.filter } : {}) };
  const wantTorch = torchOpts !== undefined && torchSelected(torchOpts);
  // The SIMD peak is probed before the contenders and again after them, and the higher
  // value kept: other work on the machine can only lower it.
  const usesWasm = tasks.some((t) => t.c.impl === 'chainrule' && t.c.backend.startsWith('wasm'));
  const peakBefore = usesWasm ? measureWasmPeak() : null;
  if (tasks.length === 0 && !wantTorch) {
    throw new UsageError(
      `nothing to run${opts.filter ? ` (no case/contender matches --filter ${JSON.stringify(opts.filter)})` : ''}. Cases: ${cases.map((c) => c.name).join(', ')}`,
    );
  }

  const progress = opts.progress ?? Boolean(process.stderr.isTTY);
  const multibar = progress
    ? new cliProgress.MultiBar(
        {
          format: ' {bar} {value}/{total} | {duration_formatted} | {task} [{stage}]',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: true,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bar = multibar?.create(tasks.length, 0, { task: '', stage: '' });
  // Benchmarks block the event loop, so cli-progress's redraw timer rarely fires: redraw
  // explicitly whenever something changes.
  const show = (value: number, payload: { task: string; stage: string }): void => {
    if (!bar || !multibar) return;
    bar.update(value, payload);
    multibar.update();
  };
  const say = multibar
    ? (m: string) => {
        multibar.log(`${m}\n`);
        multibar.update();
      }
    : log;

  const rows: ResultRow[] = [];
  try {
    for (const [i, { c, bc }] of tasks.entries()) {
      const name = `${c.case} · ${contenderId(c)}`;
      show(i, { task: name, stage: 'setup' });
      const row = await runContender(c, bc, plan, {
        stage: (stage) => show(i, { task: name, stage }),
        log: say,
      });
      rows.push(row);
      if (!multibar) {
        const t =
          row.medianMs === null ? row.status : `${row.medianMs.toPrecision(4)} ms (${row.samples} samples)`;
        say(`[${i + 1}/${tasks.length}] ${name}: ${t}`);
      }
      show(i + 1, { task: name, stage: row.status });
    }
  } finally {
    multibar?.stop();
  }
  // PyTorch runs last, in one Python process that times itself (see contenders/torch.ts).
  const torch = wantTorch ? await runTorch({ ...torchOpts, log }) : { rows: [], info: null };
  for (const row of torch.rows) {
    rows.push(row);
    const t =
      row.medianMs === null ? row.status : `${row.medianMs.toPrecision(4)} ms (${row.samples} samples)`;
    log(`${row.case} · ${contenderId(row)}: ${t}`);
  }

  computeRatios(rows);
  const peakAfter = usesWasm ? measureWasmPeak() : null;
  const wasmPeak =
    peakBefore && peakAfter
      ? {
          simd: Math.max(peakBefore.simd, peakAfter.simd),
          fma:
            peakBefore.fma === null || peakAfter.fma === null
              ? null
              : Math.max(peakBefore.fma, peakAfter.fma),
        }
      : null;
  if (wasmPeak) {
    const peak = wasmPeak.fma ?? wasmPeak.simd;
    log(
      `wasm SIMD peak of one core: simd ${wasmPeak.simd.toFixed(1)}, fma ${wasmPeak.fma?.toFixed(1) ?? '—'} GFLOP/s`,
    );
    for (const r of rows) if (r.gflops !== undefined) r.peakShare = r.gflops / peak;
  }
  const usesTfjs = tasks.some((t) => t.c.impl === 'tfjs');
  const usesJaxjs = tasks.some((t) => t.c.impl === 'jax-js');
  const usesGpujs = tasks.some((t) => t.c.impl === 'chainrule' && t.c.backend === 'gpujs');
  const detectedGpujsMode = usesGpujs && listBackends().includes('gpujs') ? gpujsMode() : null;
  const report: Report = {
    machine: machineInfo({
      gpujsMode: opts.gpujsMode ?? detectedGpujsMode,
      tfjs: usesTfjs ? await tfjsInfo() : null,
      jaxjs: usesJaxjs ? await jaxjsInfo() : null,
      torch: torch.info,
      wasmPeak,
    }),
    command: opts.command ?? commandFor(opts),
    convention: CONVENTION,
    results: rows,
  };
  const files = await writeReport(opts.outDir, report, cases);
  return { report, files };
}

/** One core's wasm SIMD peak for each path the engine runs (see MachineInfo.wasmPeak). */
function measureWasmPeak(): { simd: number; fma: number | null } {
  const simd = simdPeakGflops('simd');
  return { simd, fma: runtime().paths.includes('fma') ? simdPeakGflops('fma') : null };
}

const HELP = `Usage: pnpm bench [options]

Same-run benchmarks of chainrule against TensorFlow.js, against jax-js when the
optional @jax-js/jax is installed, and against PyTorch (1 and 2 threads) when a Python
interpreter imports torch (CHAINRULE_BENCH_PYTHON, else python3, else /usr/bin/python3).
tfjs-wasm is the baseline: speedup = median(tfjs-wasm) / median(contender).

Options:
  --full             also run the end-to-end case (e2e pendulum 20k paper)
  --filter <text>    only run (case, contender) pairs whose "<case> <impl>-<backend>"
                     contains <text> (case-insensitive), e.g. "matmul", "tfjs-cpu", "ddpg",
                     "jax-js", "pytorch"
  --out <dir>        output directory (default: bench/results)
  --quick            very few samples (smoke test; numbers are noisy)
  --help             show this help

Writes <dir>/latest.json, <dir>/latest.md and <dir>/ratios.svg.
Exit code 1 if any row is a mismatch or an error (the files are written anyway).`;

/** Parse command-line arguments; returns `'help'` for --help. Throws on bad input. */
export function parseCli(argv: readonly string[]): RunBenchOptions | 'help' {
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let values: { full?: boolean; filter?: string; out?: string; quick?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        full: { type: 'boolean' },
        filter: { type: 'string' },
        out: { type: 'string' },
        quick: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    const msg = e instanceof Error ? e.message : String(e);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const opt = /'([^']+)'/.exec(msg)?.[1] ?? msg;
      throw new Error(`unknown option '${opt}'`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']+)'/.exec(msg)?.[1] ?? msg;
      throw new Error(`unexpected argument '${arg}' (options start with --)`);
    }
    throw new Error(msg);
  }
  if (values.help) return 'help';
  if (values.filter !== undefined && values.filter.trim() === '')
    throw new Error('--filter needs a non-empty value');
  return {
    outDir: values.out ? path.resolve(values.out) : DEFAULT_OUT_DIR,
    full: values.full ?? false,
    quick: values.quick ?? false,
    ...(values.filter !== undefined ? { filter: values.filter } : {}),
  };
}

function summary(report: Report): string {
  const lines = report.results.map((r) => {
    const t = r.medianMs === null ? '—' : `${r.medianMs.toPrecision(4)} ms`;
    const g =
      r.gflops === undefined
        ? ''
        : `  ${r.gflops.toFixed(2)} GFLOP/s${r.peakShare === undefined ? '' : ` (${(100 * r.peakShare).toFixed(0)}% of a core's wasm peak)`}`;
    const s = r.speedupVsTfjsWasm === null ? '' : `  ×${r.speedupVsTfjsWasm.toFixed(2)}`;
    const st = r.status === 'ok' ? '' : `  [${r.status}]`;
    return `  ${r.case.padEnd(32)} ${contenderId(r).padEnd(16)} ${t.padStart(12)}${g}${s}${st}`;
  });
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: RunBenchOptions | 'help';
  try {
    opts = parseCli(argv);
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}\n\n${HELP}`);
    return 2;
  }
  if (opts === 'help') {
    console.log(HELP);
    return 0;
  }
  const t0 = performance.now();
  let result: RunBenchResult;
  try {
    result = await runBench(opts);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`error: ${e.message}`);
    return 2;
  }
  const { report, files } = result;
  console.log(summary(report));
  console.log(`\nwrote ${files.json}\n      ${files.md}\n      ${files.svg}`);
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const bad = report.results.filter((r) => r.status !== 'ok');
  if (bad.length > 0) {
    console.error(`\n${bad.length} row(s) not ok:`);
    for (const r of bad) console.error(`  ${r.case} / ${contenderId(r)}: ${r.status}: ${r.error ?? ''}`);
    return 1;
  }
  return 0;
}

const invokedDirectly =
  process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      process.exitCode = 1;
    },
  );
}
