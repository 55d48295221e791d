/**
 * Sweep results: read run directories (from one machine or many), group them by
 * (env, algo, preset, steps), and write results.json, results.md and one learning-curve SVG.
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstSolved, LQR_COST_RATIO, solveThreshold } from '@chainrule/ddpg';
import { writeFileAtomicSync } from '@chainrule/nn/node';
import type { EvalMetrics } from '../runDirectory.ts';
import type { Summary } from '../trainer.ts';
import { meanCi95 } from './stats.ts';

/** One finished run as the results see it. */
export interface SeedResult {
  seed: number;
  /** The final evaluation's mean return and std over its episodes. */
  evalReturnMean: number;
  evalReturnStd: number;
  /** LQR-v0: learned cost / optimal cost on the same episodes. */
  costRatio?: number;
  threshold: number | null;
  solvedAtStep: number | null;
  solvedAtWallSeconds: number | null;
  wallSeconds: number;
}

/** The results of one (env, algo, preset, steps) group. */
export interface GroupResult {
  env: string;
  algo: string;
  preset: string;
  /** The settings the runs changed from their preset (`--noise param, ...`), as `field value` pairs; empty: none. */
  overrides: string;
  steps: number;
  /** How the threshold is defined: a return, or `cost ≤ 1.05 × optimal` (LQR-v0). */
  threshold: string;
  seeds: SeedResult[];
  /** Mean over seeds of the final evaluation, and its 95% CI half-width (Student's t; null for one seed). */
  mean: number;
  ci95: number | null;
  /** LQR-v0: mean cost ratio. */
  meanCostRatio?: number;
  /** Seeds whose final evaluation is at or above the threshold. */
  solved: number;
  /** Seeds whose evaluation reached the threshold at some point, and the median step of those. */
  reached: number;
  medianStepsToThreshold: number | null;
  meanWallSeconds: number;
  /** Mean over seeds of the evaluation curve, with the 95% CI, at the steps every seed evaluated. */
  curve: { step: number; mean: number; lo: number; hi: number }[];
}

/** results.json. */
export interface SweepResults {
  format: 'chainrule-sweep-results';
  version: 1;
  groups: GroupResult[];
}

interface FinishedRun {
  summary: Summary;
  evals: EvalMetrics[];
  dir: string;
}

function readJsonLines<R>(file: string): R[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as R);
}

/**
 * The finished run directories under each path: a run directory itself (summary.json), a
 * sweep directory (its `runs/*`), or a folder of run directories. Unfinished runs are left out.
 */
export function findRuns(paths: readonly string[]): string[] {
  const found: string[] = [];
  const visit = (p: string, depth: number) => {
    if (existsSync(join(p, 'summary.json'))) {
      found.push(p);
      return;
    }
    if (depth === 0 || existsSync(join(p, 'run.json'))) return;
    for (const entry of readdirSync(p, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)))
      if (entry.isDirectory() && entry.name !== 'checkpoints') visit(join(p, entry.name), depth - 1);
  };
  for (const p of paths) {
    if (!existsSync(p)) throw new Error(`no such directory: ${p}`);
    visit(p, 2);
  }
  return found;
}

function readFinishedRun(dir: string): FinishedRun {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
  const evalFile = join(dir, 'eval.jsonl');
  return { summary, evals: existsSync(evalFile) ? readJsonLines<EvalMetrics>(evalFile) : [], dir };
}

function seedResult(r: FinishedRun): SeedResult {
  const s = r.summary;
  // Summaries written before the time-to-solve fields: derive them from the evaluations.
  const threshold =
    s.solveThreshold !== undefined ? s.solveThreshold : (solveThreshold(s.env, s.optimalReturnMean) ?? null);
  const solved =
    s.solvedAtStep !== undefined
      ? { step: s.solvedAtStep, wallSeconds: s.solvedAtWallSeconds ?? null }
      : firstSolved(r.evals, threshold ?? undefined);
  const out: SeedResult = {
    seed: s.seed,
    evalReturnMean: s.evalReturnMean,
    evalReturnStd: s.evalReturnStd,
    threshold,
    solvedAtStep: solved?.step ?? null,
    solvedAtWallSeconds: solved?.wallSeconds ?? null,
    wallSeconds: s.wallSeconds,
  };
  if (s.optimalReturnMean !== undefined) out.costRatio = s.evalReturnMean / s.optimalReturnMean;
  return out;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function thresholdLabel(env: string, seeds: SeedResult[]): string {
  if (seeds.some((s) => s.costRatio !== undefined)) return `cost ≤ ${LQR_COST_RATIO} × optimal`;
  const t = seeds[0]?.threshold;
  return t === null || t === undefined ? `none for ${env}` : `return ≥ ${t}`;
}

/** A run's changes from its preset as `field value, ...` (fields in name order); empty: none. */
export function overridesLabel(summary: Pick<Summary, 'differsFromPreset'>): string {
  return Object.entries(summary.differsFromPreset ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${Array.isArray(v.value) ? v.value.join(',') : String(v.value)}`)
    .join(', ');
}

/**
 * Aggregate run directories into results, one group per (env, algo, preset, changes from
 * the preset, steps). A run found twice is an error naming both places.
 */
export function aggregateRuns(runDirs: readonly string[]): SweepResults {
  const groups = new Map<string, FinishedRun[]>();
  const seen = new Map<string, string>();
  for (const dir of runDirs) {
    const r = readFinishedRun(dir);
    const s = r.summary;
    const key = `${s.env}|${s.algo}|${s.preset}|${overridesLabel(s)}|${s.steps}`;
    const id = `${key}|${s.seed}`;
    const other = seen.get(id);
    if (other !== undefined)
      throw new Error(
        `the run ${s.env} ${s.preset} seed ${s.seed} (${s.steps} steps) is in both ${other} and ${dir}; pass only one of them`,
      );
    seen.set(id, dir);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: GroupResult[] = [];
  for (const runs of groups.values()) {
    runs.sort((a, b) => a.summary.seed - b.summary.seed);
    const first = runs[0]!.summary;
    const seeds = runs.map(seedResult);
    const { mean, halfWidth } = meanCi95(seeds.map((s) => s.evalReturnMean));
    const reachedSteps = seeds.flatMap((s) => (s.solvedAtStep === null ? [] : [s.solvedAtStep]));
    const g: GroupResult = {
      env: first.env,
      algo: first.algo,
      preset: first.preset,
      overrides: overridesLabel(first),
      steps: first.steps,
      threshold: thresholdLabel(first.env, seeds),
      seeds,
      mean,
      ci95: halfWidth,
      solved: seeds.filter((s) => s.threshold !== null && s.evalReturnMean >= s.threshold).length,
      reached: reachedSteps.length,
      medianStepsToThreshold: median(reachedSteps),
      meanWallSeconds: seeds.reduce((a, s) => a + s.wallSeconds, 0) / seeds.length,
      curve: meanCurve(runs.map((r) => r.evals)),
    };
    if (seeds.every((s) => s.costRatio !== undefined))
      g.meanCostRatio = seeds.reduce((a, s) => a + s.costRatio!, 0) / seeds.length;
    out.push(g);
  }
  out.sort((a, b) =>
    a.env !== b.env
      ? a.env.localeCompare(b.env)
      : a.preset !== b.preset
        ? a.preset.localeCompare(b.preset)
        : a.overrides !== b.overrides
          ? a.overrides.localeCompare(b.overrides)
          : a.steps - b.steps,
  );
  return { format: 'chainrule-sweep-results', version: 1, groups: out };
}

function meanCurve(perSeed: readonly EvalMetrics[][]): GroupResult['curve'] {
  const maps = perSeed.map((evals) => new Map(evals.map((e) => [e.step, e.mean])));
  const steps = [...(maps[0]?.keys() ?? [])]
    .filter((step) => maps.every((m) => m.has(step)))
    .sort((a, b) => a - b);
  return steps.map((step) => {
    const { mean, halfWidth } = meanCi95(maps.map((m) => m.get(step)!));
    return { step, mean, lo: mean - (halfWidth ?? 0), hi: mean + (halfWidth ?? 0) };
  });
}

const f0 = (x: number) => x.toFixed(0);
const signed = (x: number, d: number) => x.toFixed(d).replace(/^-/, '−');

/** A markdown table with its columns padded to one width, as the formatter (biome) writes them. */
export function alignedTable(header: string[], right: boolean[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(3, h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((x, c) => (right[c] ? x.padStart(widths[c]!) : x.padEnd(widths[c]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, c) => (right[c] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return `${[line(header), rule, ...rows.map(line)].join('\n')}\n`;
}

/** The markdown table of results (one row per group), as in results.md and the README. */
export function resultsTable(results: SweepResults): string {
  const header = [
    'env',
    'algo',
    'preset',
    'steps',
    'seeds',
    'final eval per seed (mean ± std over episodes)',
    'mean ± 95% CI',
    'seeds ≥ threshold',
    'first step at threshold per seed',
    'wall s per run',
  ];
  const right = [false, false, false, true, true, false, true, true, false, true];
  const rows = results.groups.map((g) => {
    const per = g.seeds
      .map(
        (s) =>
          `s${s.seed}: ${signed(s.evalReturnMean, 1)} ± ${s.evalReturnStd.toFixed(1)}${s.costRatio !== undefined ? ` (cost ×${s.costRatio.toFixed(3)})` : ''}`,
      )
      .join(', ');
    const ci = g.ci95 === null ? '' : ` ± ${g.ci95.toFixed(1)}`;
    const ratio = g.meanCostRatio !== undefined ? ` (cost ×${g.meanCostRatio.toFixed(3)})` : '';
    return [
      g.env,
      g.algo,
      g.overrides ? `${g.preset} (${g.overrides})` : g.preset,
      String(g.steps),
      String(g.seeds.length),
      per,
      `${signed(g.mean, 1)}${ci}${ratio}`,
      `${g.solved}/${g.seeds.length} (${g.threshold.replace(/-/g, '−')})`,
      g.seeds.map((s) => `s${s.seed}: ${s.solvedAtStep ?? '—'}`).join(', '),
      g.seeds.map((s) => f0(s.wallSeconds)).join(', '),
    ];
  });
  return alignedTable(header, right, rows);
}

/** results.md: the table and what its columns mean. */
export function resultsMarkdown(results: SweepResults): string {
  return `# Sweep results

${resultsTable(results)}
- Final eval: the deterministic policy's mean return over the run's evaluation episodes at its last step (seeds fixed per run).
- 95% CI: Student's t with n − 1 degrees of freedom over the seeds' final evaluations.
- Threshold: Pendulum-v1 −200, MountainCarContinuous-v0 90; LQR-v0: cost within ${Math.round((LQR_COST_RATIO - 1) * 100)}% of the Riccati optimum on the same episodes.
- First step at threshold: the first evaluation (every \`--eval-every\` steps) at or above it; — if none.
`;
}

/** One learning curve per group: mean over seeds with its 95% CI band. */
export async function curvesSvg(results: SweepResults): Promise<string> {
  const { renderVegaLite } = await import('../plots.ts');
  const rows = results.groups.flatMap((g) =>
    g.curve.map((c) => ({
      ...c,
      series: `${g.preset}${g.overrides ? ` + ${g.overrides}` : ''} (${g.algo}, ${g.seeds.length} seeds)`,
    })),
  );
  const envs = [...new Set(results.groups.map((g) => g.env))].join(', ');
  return renderVegaLite({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Evaluation return on ${envs}: mean over seeds, band = 95% CI`,
    width: 640,
    height: 320,
    data: { values: rows },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'environment steps' },
      color: { field: 'series', type: 'nominal', title: null },
    },
    layer: [
      {
        mark: { type: 'area', opacity: 0.2 },
        encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
      {
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { y: { field: 'mean', type: 'quantitative', title: 'evaluation return' } },
      },
    ],
  });
}

/** Aggregate `paths` and write results.json, results.md and learning-curves.svg into `out`. */
export async function writeResults(paths: readonly string[], out: string): Promise<SweepResults> {
  const results = aggregateRuns(findRuns(paths));
  writeFileAtomicSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileAtomicSync(join(out, 'results.md'), resultsMarkdown(results));
  if (results.groups.some((g) => g.curve.length > 0))
    writeFileAtomicSync(join(out, 'learning-curves.svg'), await curvesSvg(results));
  return results;
}

/** Read a sweep directory's results.json, checking what it is. */
export function readResults(dir: string): SweepResults {
  const file = join(dir, 'results.json');
  if (!existsSync(file))
    throw new Error(`${file} does not exist; run \`pnpm sweep aggregate ${dir}\` (or the sweep) first`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as SweepResults;
  if (r.format !== 'chainrule-sweep-results')
    throw new Error(`${file} is not a sweep results file (format ${JSON.stringify(r.format)})`);
  return r;
}

export const README_START = '<!-- sweep-report:start -->';
export const README_END = '<!-- sweep-report:end -->';

/** Replace the text between the README markers with `block`; an error naming the file if they are missing. */
export function replaceBetweenMarkers(text: string, block: string, file: string): string {
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < 0 || b < a)
    throw new Error(`${file} has no ${README_START} … ${README_END} block to replace`);
  return `${text.slice(0, a + README_START.length)}\n${block}${text.slice(b)}`;
}
