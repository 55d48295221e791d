/**
 * Print a markdown table of run directories' summary.json files, grouped by preset:
 *   npx tsx scripts/results-table.ts runs/pendulum-*
 * Runs on an environment with a known optimum (LQR-v0: `optimalReturnMean` in the summary)
 * get a second table of cost ratios (learned cost / optimal cost on the same episodes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from '@chainrule/ddpg/node';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: npx tsx scripts/results-table.ts <run dir>...');
  process.exit(2);
}
const runs: Summary[] = dirs
  .filter((d) => existsSync(join(d, 'summary.json')))
  .map((d) => JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8')) as Summary);
const groups = new Map<string, Summary[]>();
for (const r of runs) {
  const key = `${r.env} | ${r.algo} | ${r.preset}`;
  groups.set(key, [...(groups.get(key) ?? []), r]);
}
const scored = new Map<string, Summary[]>();
for (const [key, rs] of [...groups]) {
  if (rs.every((r) => r.optimalReturnMean !== undefined)) {
    scored.set(key, rs);
    groups.delete(key);
  }
}
if (groups.size > 0) printReturns();
if (scored.size > 0) printCostRatios();

function printReturns(): void {
  console.log(
    '| env | algo | preset | seeds | eval return per seed (10 episodes, 20k steps) | mean over seeds | seeds ≥ −200 | wall s per run |',
  );
  console.log('|---|---|---|---|---|---:|---:|---:|');
  for (const [key, rs] of groups) {
    rs.sort((a, b) => a.seed - b.seed);
    const mean = rs.reduce((s, r) => s + r.evalReturnMean, 0) / rs.length;
    const solved = rs.filter((r) => r.evalReturnMean >= -200).length;
    const per = rs
      .map((r) => `s${r.seed}: ${r.evalReturnMean.toFixed(0)} ± ${r.evalReturnStd.toFixed(0)}`)
      .join(', ');
    const wall = rs.map((r) => r.wallSeconds.toFixed(0)).join(', ');
    console.log(`| ${key} | ${rs.length} | ${per} | ${mean.toFixed(1)} | ${solved}/${rs.length} | ${wall} |`);
  }
}

function printCostRatios(): void {
  if (groups.size > 0) console.log('');
  console.log(
    '| env | algo | preset | seeds | cost / optimal cost per seed (10 episodes) | mean ratio | seeds within 5% | wall s per run |',
  );
  console.log('|---|---|---|---|---|---:|---:|---:|');
  for (const [key, rs] of scored) {
    rs.sort((a, b) => a.seed - b.seed);
    const ratio = (r: Summary) => r.evalReturnMean / r.optimalReturnMean!;
    const mean = rs.reduce((s, r) => s + ratio(r), 0) / rs.length;
    const within = rs.filter((r) => ratio(r) <= 1.05).length;
    const per = rs.map((r) => `s${r.seed}: ${ratio(r).toFixed(3)}`).join(', ');
    const wall = rs.map((r) => r.wallSeconds.toFixed(0)).join(', ');
    console.log(`| ${key} | ${rs.length} | ${per} | ${mean.toFixed(3)} | ${within}/${rs.length} | ${wall} |`);
  }
}
