/**
 * The optional PyTorch contender: `python/torch_bench.py` runs the matmul and DDPG update
 * cases in one Python process, timed inside Python (`time.perf_counter`, the harness's
 * sampling plan), once per thread count (`torch.set_num_threads(n)` and OpenBLAS's own
 * thread count). Timing a Python call from Node would add the pipe to every sample, so
 * these rows do not go through `runContender`: Python returns finished rows as JSON.
 *
 * Inputs cross as little-endian float32 files in a temporary directory: the same seeded
 * matmul operands, replay batches and initial parameters every JS contender uses.
 * Correctness before speed, as for the JS contenders: matmul outputs are compared with the
 * case's float64 reference, and for the DDPG presets whose update is deterministic
 * (`paper`, `tuned`) one PyTorch update is compared with one chainrule update from the same
 * state (see `torch-parity.ts`); a failed check makes that case's PyTorch rows `mismatch`.
 *
 * If no interpreter can import torch, one line says so and the bench runs without it.
 *
 * @module
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeConfig, type Td3Config } from '@chainrule/ddpg';
import { z } from 'zod';
import { type BenchCase, CASE, compareOutput } from '../cases.ts';
import type { ResultRow, SamplingPlan } from '../harness.ts';
import { ddpgBatch, ddpgInitialParams, matmulInputs } from '../inputs.ts';
import type { TorchInfo } from '../machine.ts';
import { type DdpgPreset, PAPER_PRESET, TD3_PRESET, TUNED_PRESET } from '../specs.ts';
import { chainruleParamName, PENDULUM_SPACES } from './chainrule-nets.ts';
import { type AgentState, chainruleOneUpdate, compareUpdates } from './torch-parity.ts';

/** The Python side. */
export const TORCH_SCRIPT = fileURLToPath(new URL('../../python/torch_bench.py', import.meta.url));

/** `impl` of the PyTorch rows. */
export const TORCH_IMPL = 'pytorch';

/** Thread counts the PyTorch rows are measured at. */
export const TORCH_THREADS: readonly number[] = [1, 2];

/** `backend` of a PyTorch row: `cpu-1t`, `cpu-2t`. */
export const torchBackend = (threads: number): string => `cpu-${threads}t`;

/** Protocol version spoken with `torch_bench.py`. */
const PROTOCOL = 1;

/** The DDPG cases PyTorch runs, with their presets. */
const DDPG_CASES: Readonly<Record<string, DdpgPreset>> = {
  [CASE.ddpgPaper]: PAPER_PRESET,
  [CASE.ddpgTuned]: TUNED_PRESET,
  [CASE.ddpgTd3]: TD3_PRESET,
};

/**
 * The environment of the Python process. These machines set `OPENBLAS_CORETYPE` and
 * `OPENBLAS_L2_SIZE` (for other tools); both are removed together so that OpenBLAS picks
 * its kernels and blocking from the CPU it runs on. Only this child sees the change.
 */
export function torchEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { OPENBLAS_CORETYPE: _c, OPENBLAS_L2_SIZE: _l2, ...rest } = env;
  return rest;
}

/**
 * Interpreters to try, in order: `CHAINRULE_BENCH_PYTHON` alone if set; otherwise
 * `python3` and then `/usr/bin/python3`, because Debian's `python3-torch` lives in the
 * system interpreter, which a pyenv or venv `python3` on the PATH hides.
 */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const chosen = env.CHAINRULE_BENCH_PYTHON?.trim();
  return chosen ? [chosen] : ['python3', '/usr/bin/python3'];
}

const blasSchema = z.object({
  name: z.string(),
  libraries: z.array(z.string()),
  config: z.string().optional(),
  corename: z.string().optional(),
});

const probeSchema = z.discriminatedUnion('available', [
  z.object({ protocol: z.literal(PROTOCOL), available: z.literal(false), reason: z.string() }),
  z.object({
    protocol: z.literal(PROTOCOL),
    available: z.literal(true),
    torch: z.string(),
    python: z.string(),
    executable: z.string(),
    blas: blasSchema,
    defaultThreads: z.number(),
  }),
]);

const rowSchema = z.object({
  case: z.string(),
  threads: z.number().int().positive(),
  status: z.enum(['ok', 'error']),
  error: z.string().optional(),
  torchThreads: z.number().optional(),
  blasThreads: z.number().nullable().optional(),
  samples: z.number().int().nonnegative().optional(),
  medianMs: z.number().optional(),
  p10Ms: z.number().optional(),
  p90Ms: z.number().optional(),
  outputFile: z.string().optional(),
});

const verifySchema = z.object({
  case: z.string(),
  file: z.string(),
  tensors: z.array(
    z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number() }),
  ),
  criticLoss: z.number(),
  actorLoss: z.number(),
});

const runSchema = z.object({
  protocol: z.literal(PROTOCOL),
  available: z.literal(true),
  torch: z.string(),
  python: z.string(),
  blas: blasSchema,
  verify: z.array(verifySchema),
  rows: z.array(rowSchema),
});

/** What `torch_bench.py run` prints: the parsed, validated JSON. */
export type TorchRunOutput = z.infer<typeof runSchema>;

/** An interpreter that imports torch, with what it reported; or why none does. */
export type TorchProbe =
  | { readonly ok: true; readonly python: string; readonly info: TorchInfo }
  | { readonly ok: false; readonly reason: string };

/** Options of {@link probeTorch} and {@link runTorch}. */
export interface TorchOptions {
  /** Interpreters to try (default: {@link pythonCandidates}). */
  python?: readonly string[];
  /** The Python script (default: {@link TORCH_SCRIPT}; tests pass a fake). */
  script?: string;
  /** Arguments between the script and its command (tests: the fake's mode). */
  scriptArgs?: readonly string[];
  /** Thread counts (default: {@link TORCH_THREADS}). */
  threads?: readonly number[];
}

/** The last line of a child's output that is not empty (its error, usually). */
const lastLine = (s: string): string =>
  s
    .trim()
    .split('\n')
    .filter((l) => l.trim())
    .at(-1) ?? '';

/**
 * Find an interpreter that can import torch: runs `<python> torch_bench.py probe` for each
 * candidate and takes the first that answers `available: true`.
 */
export function probeTorch(options: TorchOptions = {}): TorchProbe {
  const script = [options.script ?? TORCH_SCRIPT, ...(options.scriptArgs ?? [])];
  const reasons: string[] = [];
  for (const python of options.python ?? pythonCandidates()) {
    const r = spawnSync(python, [...script, 'probe'], { env: torchEnv(), encoding: 'utf8', timeout: 60_000 });
    if (r.error) {
      reasons.push(`${python}: ${r.error.message}`);
      continue;
    }
    let parsed: z.infer<typeof probeSchema>;
    try {
      parsed = probeSchema.parse(JSON.parse(r.stdout));
    } catch {
      reasons.push(`${python}: exit ${r.status}, ${lastLine(r.stderr) || 'no valid JSON on stdout'}`);
      continue;
    }
    if (!parsed.available) {
      reasons.push(`${python}: ${parsed.reason}`);
      continue;
    }
    const { torch, python: version, executable, blas } = parsed;
    return {
      ok: true,
      python,
      info: {
        version: torch,
        python: version,
        executable,
        blas,
        threads: [...(options.threads ?? TORCH_THREADS)],
      },
    };
  }
  return { ok: false, reason: reasons.join('; ') || 'no Python interpreter to try' };
}

/** A float32 input file for Python. */
interface FileSpec {
  readonly file: string;
  readonly shape: readonly number[];
}

/** One (case, thread counts) job for Python. */
type TorchTask =
  | {
      id: string;
      case: string;
      kind: 'matmul';
      a: FileSpec;
      b: FileSpec;
      maxSamples?: number;
      threads: number[];
    }
  | {
      id: string;
      case: string;
      kind: 'ddpg';
      config: Record<string, unknown>;
      spaces: typeof PENDULUM_SPACES;
      params: Record<string, FileSpec>;
      batch: Record<'s' | 'a' | 'r' | 's2' | 'done', FileSpec>;
      threads: number[];
    };

const MATMUL_NAME = /^matmul (\d+)x(\d+)x(\d+)$/;

/** Whether PyTorch has an implementation of the case. */
export function torchSupports(caseName: string): boolean {
  return MATMUL_NAME.test(caseName) || caseName in DDPG_CASES;
}

/**
 * The chainrule config fields the Python agent reads (it mirrors `@chainrule/ddpg`'s
 * DDPG/TD3 update with these settings).
 */
function pythonConfig(preset: DdpgPreset): Record<string, unknown> {
  // DDPG's config lacks TD3's fields; the Python agent reads them as no delay and no smoothing.
  const c = { policyDelay: 1, targetNoise: 0, targetNoiseClip: 0, ...makeConfig(preset.name) } as Td3Config;
  return {
    algo: c.algo,
    actorHidden: c.actorHidden,
    criticHidden: c.criticHidden,
    batchNorm: c.batchNorm,
    actionLayer: c.actionLayer,
    actorOutput: c.actorOutput,
    actorBias: c.actorBias,
    actorLr: c.actorLr,
    criticLr: c.criticLr,
    criticWeightDecay: c.criticWeightDecay,
    gamma: c.gamma,
    tau: c.tau,
    policyDelay: c.policyDelay,
    targetNoise: c.targetNoise,
    targetNoiseClip: c.targetNoiseClip,
    actorUpdate: c.actorUpdate,
  };
}

/** The bench's initial parameters under chainrule's agent names (`actor.fc1.weight`, `critic2.out.bias`). */
export function initialAgentParams(
  preset: DdpgPreset,
): Map<string, { shape: readonly number[]; data: Float32Array }> {
  const init = ddpgInitialParams(preset);
  const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const p of init.actor) out.set(`actor.${chainruleParamName(preset.actor, p.name)}`, p);
  init.critics.forEach((params, i) => {
    const spec = preset.critics[i]!;
    for (const p of params)
      out.set(`${i === 0 ? 'critic' : `critic${i + 1}`}.${chainruleParamName(spec, p.name)}`, p);
  });
  return out;
}

async function writeF32(
  dir: string,
  name: string,
  data: Float32Array,
  shape: readonly number[],
): Promise<FileSpec> {
  const file = path.join(dir, `${name.replace(/[^\w.-]/g, '_')}.f32`);
  // Float32Array bytes are in the platform's order; every supported platform is little-endian.
  await writeFile(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return { file, shape };
}

async function buildTask(bc: BenchCase, threads: number[], dir: string, index: number): Promise<TorchTask> {
  const id = `t${index}`;
  const m = MATMUL_NAME.exec(bc.name);
  if (m) {
    const [mm, k, n] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const inp = matmulInputs(mm, k, n);
    return {
      id,
      case: bc.name,
      kind: 'matmul',
      a: await writeF32(dir, `${id}-a`, inp.a, [mm, k]),
      b: await writeF32(dir, `${id}-b`, inp.b, [k, n]),
      ...(bc.maxSamples !== undefined ? { maxSamples: bc.maxSamples } : {}),
      threads,
    };
  }
  const preset = DDPG_CASES[bc.name];
  if (!preset) throw new Error(`PyTorch has no implementation of case '${bc.name}'`);
  const params: Record<string, FileSpec> = {};
  for (const [name, p] of initialAgentParams(preset))
    params[name] = await writeF32(dir, `${id}-${name}`, p.data, p.shape);
  const b = ddpgBatch(preset.batch);
  const B = b.batch;
  return {
    id,
    case: bc.name,
    kind: 'ddpg',
    config: pythonConfig(preset),
    spaces: PENDULUM_SPACES,
    params,
    batch: {
      s: await writeF32(dir, `${id}-s`, b.s, [B, b.obsDim]),
      a: await writeF32(dir, `${id}-a`, b.a, [B, b.actDim]),
      r: await writeF32(dir, `${id}-r`, b.r, [B, 1]),
      s2: await writeF32(dir, `${id}-s2`, b.s2, [B, b.obsDim]),
      done: await writeF32(dir, `${id}-done`, b.done, [B, 1]),
    },
    threads,
  };
}

/** Run `<python> <script> run <request>`; stderr lines go to `log`; resolves with stdout. */
function runPython(
  python: string,
  script: readonly string[],
  request: string,
  log: (m: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [...script, 'run', request], {
      env: torchEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) log(`  ${l}`);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${python} ${path.basename(script[0]!)} exited with ${signal ?? `code ${code}`}: ${lastLine(err)}`,
          ),
        );
    });
  });
}

/** Options of {@link runTorch}. */
export interface RunTorchOptions extends TorchOptions {
  /** The cases of this run (those PyTorch does not implement are ignored). */
  cases: readonly BenchCase[];
  plan: SamplingPlan;
  /** The bench's `--filter`, matched against `"<case> pytorch-cpu-<n>t"` (case-insensitive). */
  filter?: string;
  log?: (message: string) => void;
  /** Check one DDPG update against chainrule's (default true). */
  verify?: boolean;
}

/** Result of {@link runTorch}: rows to add to the report, and what ran (`null`: skipped). */
export interface TorchResult {
  readonly rows: ResultRow[];
  readonly info: TorchInfo | null;
}

/** The (case, thread counts) pairs the filter selects. */
function selection(o: RunTorchOptions): { bc: BenchCase; threads: number[] }[] {
  const filter = o.filter?.toLowerCase();
  const threads = o.threads ?? TORCH_THREADS;
  return o.cases
    .filter((bc) => !bc.fullOnly && torchSupports(bc.name))
    .map((bc) => ({
      bc,
      threads: threads.filter(
        (n) => !filter || `${bc.name} ${TORCH_IMPL}-${torchBackend(n)}`.toLowerCase().includes(filter),
      ),
    }))
    .filter((s) => s.threads.length > 0);
}

/** Whether any PyTorch row would run with these options (no interpreter is started). */
export function torchSelected(o: RunTorchOptions): boolean {
  return selection(o).length > 0;
}

function rowNote(
  threads: number,
  blas: string,
  blasThreads: number | null | undefined,
  extra?: string,
): string {
  const b = blasThreads === null || blasThreads === undefined ? blas : `${blas} ${blasThreads} thread(s)`;
  return [`torch.set_num_threads(${threads}), ${b}`, extra].filter(Boolean).join('; ');
}

function readState(buf: Buffer, v: z.infer<typeof verifySchema>): AgentState {
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const tensors = new Map<string, Float32Array>();
  for (const t of v.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset + n > all.length) throw new Error(`${v.file}: ${t.name} runs past the end of the file`);
    tensors.set(t.name, all.subarray(t.offset, t.offset + n));
  }
  return { tensors, criticLoss: v.criticLoss, actorLoss: v.actorLoss };
}

/**
 * Run the selected PyTorch rows: probe an interpreter (skipping with one line on `log` if
 * none imports torch), write the inputs, run Python once, and turn its answer into result
 * rows (status `mismatch` where an output check failed, `error` where Python failed).
 */
export async function runTorch(o: RunTorchOptions): Promise<TorchResult> {
  const log = o.log ?? ((m: string) => console.error(m));
  const selected = selection(o);
  if (selected.length === 0) return { rows: [], info: null };
  const probe = probeTorch(o);
  if (!probe.ok) {
    log(`PyTorch not available: skipping its contenders (${probe.reason})`);
    return { rows: [], info: null };
  }
  const script = [o.script ?? TORCH_SCRIPT, ...(o.scriptArgs ?? [])];
  const rowBase = (caseName: string, threads: number): ResultRow => ({
    case: caseName,
    impl: TORCH_IMPL,
    backend: torchBackend(threads),
    medianMs: null,
    p10Ms: null,
    p90Ms: null,
    samples: 0,
    speedupVsTfjsWasm: null,
    status: 'ok',
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chainrule-torch-'));
  try {
    const tasks = await Promise.all(selected.map((s, i) => buildTask(s.bc, s.threads, dir, i)));
    // Verification: the deterministic DDPG presets (TD3's target noise comes from different generators).
    const verifyCases =
      o.verify === false ? [] : tasks.filter((t) => t.kind === 'ddpg' && t.case !== CASE.ddpgTd3);
    const chainrule = new Map<string, AgentState>();
    for (const t of verifyCases) chainrule.set(t.case, chainruleOneUpdate(DDPG_CASES[t.case]!));
    const request = path.join(dir, 'request.json');
    await writeFile(
      request,
      JSON.stringify({ protocol: PROTOCOL, outDir: dir, plan: o.plan, verify: verifyCases, tasks }),
    );
    log(
      `PyTorch ${probe.info.version} (${probe.python}, BLAS ${probe.info.blas.name}): ${tasks.length} case(s)`,
    );
    let out: TorchRunOutput;
    try {
      out = runSchema.parse(JSON.parse(await runPython(probe.python, script, request, log)));
    } catch (e) {
      const msg = `PyTorch run failed: ${e instanceof Error ? e.message : String(e)}`;
      log(`ERROR ${msg}`);
      return {
        rows: selected.flatMap((s) =>
          s.threads.map((n) => ({ ...rowBase(s.bc.name, n), status: 'error' as const, error: msg })),
        ),
        info: probe.info,
      };
    }

    // Verification verdicts, per case.
    const verdicts = new Map<string, { ok: boolean; message: string }>();
    for (const v of out.verify) {
      const mine = chainrule.get(v.case);
      if (!mine) continue;
      try {
        const preset = DDPG_CASES[v.case]!;
        const cmp = compareUpdates(
          initialAgentParams(preset),
          mine,
          readState(await readFile(v.file), v),
          makeConfig(preset.name),
        );
        verdicts.set(v.case, {
          ok: cmp.ok,
          message: cmp.ok
            ? `one update matches chainrule's (worst error/tolerance ${cmp.worstRatio.toPrecision(2)})`
            : `one update differs from chainrule's: ${cmp.message}`,
        });
      } catch (e) {
        verdicts.set(v.case, {
          ok: false,
          message: `verification failed: ${e instanceof Error ? e.message : String(e)}`,
        });
      }
    }
    for (const t of verifyCases)
      if (!verdicts.has(t.case))
        verdicts.set(t.case, { ok: false, message: 'Python returned no verification state' });

    const rows: ResultRow[] = [];
    for (const s of selected) {
      for (const n of s.threads) {
        const row = rowBase(s.bc.name, n);
        const r = out.rows.find((x) => x.case === s.bc.name && x.threads === n);
        if (!r) {
          rows.push({ ...row, status: 'error', error: 'Python returned no row' });
          continue;
        }
        const verdict = verdicts.get(s.bc.name);
        row.note = rowNote(
          n,
          out.blas.name,
          r.blasThreads,
          verdict?.ok ? 'verified against chainrule' : undefined,
        );
        if (r.status === 'error') {
          rows.push({ ...row, status: 'error', error: r.error ?? 'unknown error' });
          continue;
        }
        if (r.medianMs === undefined || r.p10Ms === undefined || r.p90Ms === undefined || !r.samples) {
          rows.push({ ...row, status: 'error', error: 'Python returned a row without samples' });
          continue;
        }
        row.medianMs = r.medianMs;
        row.p10Ms = r.p10Ms;
        row.p90Ms = r.p90Ms;
        row.samples = r.samples;
        if (s.bc.flops !== undefined && r.medianMs > 0) row.gflops = s.bc.flops / (r.medianMs * 1e6);
        if (verdict && !verdict.ok) {
          row.status = 'mismatch';
          row.error = verdict.message;
        }
        if (s.bc.reference) {
          if (!r.outputFile) {
            row.status = 'error';
            row.error = 'Python returned no output to check';
          } else {
            const buf = await readFile(r.outputFile);
            const cmp = compareOutput(
              new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)),
              s.bc.reference(),
            );
            if (!cmp.ok) {
              row.status = 'mismatch';
              row.error = `output does not match the float64 reference: ${cmp.message}`;
            }
          }
        }
        if (row.status !== 'ok')
          log(`${row.status.toUpperCase()} ${row.case} / ${TORCH_IMPL}-${row.backend}: ${row.error}`);
        rows.push(row);
      }
    }
    for (const [c, v] of verdicts) log(`PyTorch ${c}: ${v.message}`);
    return { rows, info: { ...probe.info, blas: out.blas } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
