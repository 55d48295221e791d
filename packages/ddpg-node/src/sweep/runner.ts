/**
 * Run a sweep locally: one train CLI child process per run, `jobs` at a time.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { planRuns, type SweepRun, type SweepSpec, saveSpec, trainArgs } from './plan.ts';

/** The train CLI's launcher (it registers tsx, so the child needs no build). */
export const TRAIN_BIN = fileURLToPath(new URL('../../bin/chainrule-ddpg.mjs', import.meta.url));

/** How one run of a sweep ended. */
export interface RunOutcome {
  run: SweepRun;
  status: 'done' | 'skipped' | 'failed' | 'interrupted';
  /** Failed: the exit code or signal and the last lines the child wrote. */
  error?: string;
}

/** What a run is now: finished (summary.json), started (run.json: resume it) or new. */
export function runState(out: string, run: SweepRun): 'finished' | 'started' | 'new' {
  const dir = join(out, run.dir);
  if (existsSync(join(dir, 'summary.json'))) return 'finished';
  return existsSync(join(dir, 'run.json')) ? 'started' : 'new';
}

/**
 * The wasm threads each run may use when `jobs` runs share this machine: the cores divided
 * among the runs (at least 1), so that parallel runs do not oversubscribe the cores with
 * spinning kernel threads. `CHAINRULE_THREADS` in the environment wins.
 */
export function threadsPerRun(jobs: number, env: NodeJS.ProcessEnv = process.env): string {
  return env.CHAINRULE_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, jobs))));
}

/**
 * Run one run of the sweep in a child process; resolves when it ends. Its stderr goes to
 * `<out>/logs/<preset>-s<seed>.log`; `onStep` gets the steps it reports. `jobs` (default 1)
 * is how many runs share the machine: it sets the child's `CHAINRULE_THREADS`.
 */
export function runOne(
  spec: SweepSpec,
  run: SweepRun,
  out: string,
  onStep?: (step: number) => void,
  jobs = 1,
  children?: Set<ChildProcess>,
): Promise<RunOutcome> {
  const state = runState(out, run);
  if (state === 'finished') return Promise.resolve({ run, status: 'skipped' });
  const args = [TRAIN_BIN, ...trainArgs(spec, run, out), ...(state === 'started' ? ['--resume'] : [])];
  mkdirSync(join(out, 'logs'), { recursive: true });
  const log = createWriteStream(join(out, 'logs', `${run.preset}-s${run.seed}.log`), { flags: 'a' });
  const threads = threadsPerRun(jobs);
  log.write(`$ CHAINRULE_THREADS=${threads} node ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CHAINRULE_THREADS: threads },
    });
    children?.add(child);
    let tail = '';
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log.write(text);
      tail = (tail + text).slice(-2000);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        // The train CLI's non-interactive progress lines ("step 2000/20000 | ...") and its resume header.
        const m = /^step (\d+)\/\d+/.exec(line) ?? /resuming .* at step (\d+) of/.exec(line);
        if (m) onStep?.(Number(m[1]));
      }
    });
    child.on('error', (e) => {
      log.end();
      resolve({ run, status: 'failed', error: `could not start the train CLI: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      children?.delete(child);
      log.end();
      if (code === 0 && runState(out, run) === 'finished') resolve({ run, status: 'done' });
      // The train CLI's exit code after a checkpoint on SIGINT / SIGTERM.
      else if (code === 130) resolve({ run, status: 'interrupted' });
      else {
        const last = tail.trim().split('\n').slice(-5).join('\n  ');
        resolve({ run, status: 'failed', error: `exit ${signal ?? code}:\n  ${last}` });
      }
    });
  });
}

/** Options of {@link runSweep}. */
export interface SweepOptions {
  /** Runs at a time (default: the number of CPU cores). */
  jobs: number;
  /** Draw progress bars (when stderr is a terminal); otherwise one line per run start and end. */
  progress: boolean;
}

/**
 * Run every run of `spec` not yet finished in `out`, `jobs` at a time: started runs are
 * resumed, finished ones skipped. A failed run is reported and the others go on.
 */
export async function runSweep(spec: SweepSpec, out: string, options: SweepOptions): Promise<RunOutcome[]> {
  mkdirSync(out, { recursive: true });
  saveSpec(out, spec);
  const runs = planRuns(spec);
  const interactive = options.progress && process.stderr.isTTY;
  const multi = interactive
    ? new cliProgress.MultiBar(
        {
          format: ' {name} {bar} {value}/{total} {status}',
          hideCursor: true,
          barsize: 16,
          clearOnComplete: false,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const total = multi?.create(runs.length, 0, { name: 'sweep'.padEnd(14), status: '' });
  const say = (line: string) => (multi ? multi.log(`${line}\n`) : console.error(line));
  const outcomes: RunOutcome[] = [];
  const jobs = Math.max(1, Math.min(options.jobs, runs.length));
  let next = 0;
  let finished = 0;
  // Ctrl-C reaches the children too (one process group); a SIGTERM sent to the sweep alone
  // does not, so both are passed on (the train CLI takes the copies as one interrupt). No
  // new run starts; the sweep returns once every running child has checkpointed and exited.
  const children = new Set<ChildProcess>();
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) say(`sweep: ${signal}: checkpointing the running runs; starting no new ones`);
    stopping = true;
    for (const c of children) c.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const worker = async () => {
    while (next < runs.length && !stopping) {
      const run = runs[next++]!;
      const name = `${run.preset}-s${run.seed}`;
      const state = runState(out, run);
      if (state !== 'finished') say(`sweep: ${state === 'started' ? 'resuming' : 'starting'} ${name}`);
      const bar =
        state === 'finished'
          ? undefined
          : multi?.create(spec.steps, 0, { name: name.padEnd(14), status: '' });
      const outcome = await runOne(spec, run, out, (step) => bar?.update(step), jobs, children);
      if (bar) multi?.remove(bar);
      finished++;
      total?.update(finished, {
        status: outcomes.filter((o) => o.status === 'failed').length ? 'some failed' : '',
      });
      if (outcome.status === 'failed') say(`sweep: ${name} failed (${outcome.error}); the others go on`);
      else if (outcome.status === 'done') say(`sweep: ${name} done`);
      else if (outcome.status === 'interrupted') say(`sweep: ${name} interrupted (checkpointed)`);
      outcomes.push(outcome);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, worker));
  } finally {
    multi?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return outcomes.sort((a, b) => a.run.index - b.run.index);
}
