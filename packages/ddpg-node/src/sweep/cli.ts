/**
 * `pnpm sweep`: seed sweeps of the train CLI, locally in parallel or as a Kubernetes
 * Indexed Job, and their aggregated results.
 *
 *   pnpm sweep --env Pendulum-v1 --presets tuned,td3 --seeds 0-4 --steps 20000 --jobs 2 --out sweeps/pendulum
 *   pnpm sweep --presets tuned --seeds 0-4 --emit k8s --out k8s/pendulum
 *   JOB_COMPLETION_INDEX=3 pnpm sweep run-index --presets tuned --seeds 0-4 --out /results
 *   pnpm sweep aggregate machine-a/sweeps/pendulum machine-b/sweeps/pendulum --out sweeps/pendulum
 *   pnpm sweep report sweeps/pendulum sweeps/lqr --write README.md
 * @module
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '@chainrule/nn/node';
import { Command, InvalidArgumentError } from 'commander';
import { commandLine, currentLaunch } from '../cli/launcher.ts';
import { DOCKERFILE, DOCKERIGNORE, jobManifestYaml } from './k8s.ts';
import { checkSpec, parsePresets, parseSeeds, planRuns, type SweepSpec } from './plan.ts';
import {
  aggregateRuns,
  findRuns,
  readResults,
  replaceBetweenMarkers,
  resultsTable,
  type SweepResults,
  writeResults,
} from './results.ts';
import { runOne, runSweep } from './runner.ts';

function positiveInt(flag: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1)
      throw new InvalidArgumentError(`${flag} must be a positive integer, got "${text}".`);
    return n;
  };
}

interface SpecFlags {
  env: string;
  presets: string;
  seeds: string;
  steps: number;
}

function specOf(flags: SpecFlags, trainArgs: string[]): SweepSpec {
  return checkSpec({
    env: flags.env,
    presets: parsePresets(flags.presets),
    seeds: parseSeeds(flags.seeds),
    steps: flags.steps,
    trainArgs,
  });
}

function addSpecOptions(cmd: Command): Command {
  return cmd
    .option('--env <id>', 'environment', 'Pendulum-v1')
    .option('--presets <a,b,...>', 'presets, comma-separated', 'tuned')
    .option('--seeds <list>', 'seeds: a range and/or a list, e.g. 0-4 or 0,2,5', '0-4')
    .option('--steps <n>', 'environment steps per run', positiveInt('--steps'), 20_000)
    .argument('[trainArgs...]', 'further train CLI flags for every run, after --, e.g. -- --eval-episodes 5');
}

/** Build the commander program. */
export function buildSweepProgram(): Command {
  const program = new Command('sweep')
    .description(
      'Seed sweeps of the train CLI: run locally in parallel, emit a Kubernetes Job, aggregate, report.',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  addSpecOptions(
    program.command('run', { isDefault: true }).description('run a sweep locally (the default command)'),
  )
    .option('--out <dir>', 'sweep directory (default sweeps/<env>)')
    .option('--jobs <n>', 'runs at a time (default: CPU cores)', positiveInt('--jobs'))
    .option('--no-progress', 'no progress bars')
    .option('--emit <target>', 'write a cluster job to --out instead of running: k8s')
    .option(
      '--image <ref>',
      'k8s: container image built from the emitted Dockerfile',
      'chainrule-sweep:latest',
    )
    .option(
      '--claim <name>',
      'k8s: PersistentVolumeClaim (ReadWriteMany) for the results',
      'chainrule-results',
    )
    .option('--mount-path <path>', 'k8s: where the claim is mounted in the pods', '/results')
    .option('--job-name <name>', 'k8s: Job name', 'chainrule-sweep')
    .option('--parallelism <n>', 'k8s: pods at a time (default: all runs)', positiveInt('--parallelism'))
    .addHelpText(
      'after',
      `
Other commands:
  run-index ...        run the run at $JOB_COMPLETION_INDEX (a k8s Indexed Job's pod)
  aggregate <dirs...>  combine run directories from any machines into results
  report <dirs...>     the README table from sweeps' results.json (--write README.md)

Example:
  pnpm sweep --env Pendulum-v1 --presets tuned,td3 --seeds 0-4 --steps 20000 --jobs 2 --out sweeps/pendulum`,
    )
    .action(async (trainArgs: string[], flags) => {
      const spec = specOf(flags, trainArgs);
      const out: string = flags.out ?? join('sweeps', spec.env);
      if (flags.emit !== undefined) return emit(spec, out, flags);
      const outcomes = await runSweep(spec, out, {
        jobs: flags.jobs ?? availableParallelism(),
        progress: flags.progress,
      });
      const interrupted = outcomes.filter((o) => o.status === 'interrupted');
      if (interrupted.length > 0 || outcomes.length < planRuns(spec).length) {
        // Rerunning the same command resumes started runs and skips finished ones.
        const again = commandLine(process.argv.slice(2), currentLaunch(), /sweep[/\\]cli\.[jt]s/);
        throw new SweepExit(
          130,
          `sweep: interrupted; ${interrupted.map((o) => o.run.dir).join(', ') || 'no run'} saved a checkpoint, ${outcomes.filter((o) => o.status === 'done' || o.status === 'skipped').length} finished. Continue with:\n  ${again}`,
        );
      }
      const results = await writeResults([join(out, 'runs')], out);
      console.log(resultsTable(results));
      const failed = outcomes.filter((o) => o.status === 'failed');
      const skipped = outcomes.filter((o) => o.status === 'skipped').length;
      console.error(
        `sweep: ${outcomes.length - failed.length - skipped} run, ${skipped} already finished, ${failed.length} failed; wrote ${join(out, 'results.json')}, results.md, learning-curves.svg`,
      );
      if (failed.length > 0) {
        for (const f of failed) console.error(`  ${f.run.dir}: ${f.error}`);
        throw new SweepExit(
          1,
          `sweep: ${failed.length} of ${outcomes.length} runs failed; rerun the same command to retry them`,
        );
      }
    });

  addSpecOptions(
    program
      .command('run-index')
      .description('run one run of a sweep: the one at JOB_COMPLETION_INDEX (or --index)'),
  )
    .requiredOption('--out <dir>', 'sweep directory (the mounted volume on a cluster)')
    .option('--index <i>', 'run index (default: $JOB_COMPLETION_INDEX)')
    .action(async (trainArgs: string[], flags) => {
      const spec = specOf(flags, trainArgs);
      const runs = planRuns(spec);
      const text: string | undefined = flags.index ?? process.env.JOB_COMPLETION_INDEX;
      if (text === undefined) throw new Error('run-index: set JOB_COMPLETION_INDEX or give --index');
      const index = Number(text);
      if (!Number.isInteger(index) || index < 0 || index >= runs.length)
        throw new Error(
          `run-index: index ${JSON.stringify(text)} is not one of 0..${runs.length - 1} (${runs.length} runs)`,
        );
      const run = runs[index]!;
      mkdirSync(flags.out, { recursive: true });
      const outcome = await runOne(spec, run, flags.out);
      if (outcome.status === 'failed')
        throw new SweepExit(1, `run-index ${index} (${run.dir}) failed: ${outcome.error}`);
      console.error(
        `run-index ${index}: ${run.dir} ${outcome.status === 'skipped' ? 'was already finished' : 'done'}`,
      );
    });

  program
    .command('aggregate')
    .description(
      'combine finished run directories (sweep directories, run directories, from any machines) into results',
    )
    .argument('<dirs...>', 'sweep or run directories')
    .option(
      '--out <dir>',
      'where results.json, results.md and learning-curves.svg go (default: the first dir)',
    )
    .action(async (dirs: string[], flags: { out?: string }) => {
      const out = flags.out ?? dirs[0]!;
      mkdirSync(out, { recursive: true });
      const results = await writeResults(dirs, out);
      console.log(resultsTable(results));
      console.error(`sweep aggregate: ${countRuns(results)} runs → ${join(out, 'results.json')}, results.md`);
    });

  program
    .command('report')
    .description("print the README's results table from sweep directories' results.json (or their runs)")
    .argument('<dirs...>', 'sweep directories')
    .option(
      '--write <file>',
      'replace the table between the sweep-report markers in this file (e.g. README.md)',
    )
    .action((dirs: string[], flags: { write?: string }) => {
      const groups = dirs.flatMap((d) =>
        existsSync(join(d, 'results.json')) ? readResults(d).groups : aggregateRuns(findRuns([d])).groups,
      );
      const block = `${resultsTable({ format: 'chainrule-sweep-results', version: 1, groups })}\nGenerated by \`pnpm sweep report ${dirs.join(' ')} --write ${flags.write ?? 'README.md'}\` from the sweeps' results.json.\n`;
      if (!flags.write) {
        console.log(block);
        return;
      }
      const file = flags.write;
      if (!existsSync(file)) throw new Error(`--write: ${file} does not exist`);
      writeFileAtomicSync(file, replaceBetweenMarkers(readFileSync(file, 'utf8'), block, file));
      console.error(`sweep report: replaced the results table in ${file}`);
    });
  return program;
}

function countRuns(r: SweepResults): number {
  return r.groups.reduce((n, g) => n + g.seeds.length, 0);
}

function emit(spec: SweepSpec, out: string, flags: Record<string, string | number | undefined>): void {
  if (flags.emit !== 'k8s') throw new Error(`--emit: unknown target "${flags.emit}"; expected k8s`);
  mkdirSync(out, { recursive: true });
  const yaml = jobManifestYaml(spec, {
    name: String(flags.jobName),
    image: String(flags.image),
    claim: String(flags.claim),
    mountPath: String(flags.mountPath),
    parallelism: flags.parallelism as number | undefined,
  });
  writeFileAtomicSync(join(out, 'job.yaml'), yaml);
  writeFileAtomicSync(join(out, 'Dockerfile'), DOCKERFILE);
  // BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile when the context is elsewhere.
  writeFileAtomicSync(join(out, 'Dockerfile.dockerignore'), DOCKERIGNORE);
  console.error(
    `wrote ${join(out, 'job.yaml')} (${planRuns(spec).length} indexed completions), Dockerfile and Dockerfile.dockerignore. See docs/scale.md:
  docker build -f ${join(out, 'Dockerfile')} -t ${flags.image} .
  kubectl apply -f ${join(out, 'job.yaml')}`,
  );
}

/** Ends the CLI with an exit code and message. */
class SweepExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const COMMANDS = ['run', 'run-index', 'aggregate', 'report', 'help'];

/** Run the sweep CLI with `argv` (without node and the script); returns the exit code. */
export async function sweepMain(argv: string[]): Promise<number> {
  let args = argv[0] === '--' ? argv.slice(1) : argv;
  // Flags straight after `sweep` mean `run`, so `pnpm sweep --help` lists the sweep's flags.
  if (!COMMANDS.includes(args[0] ?? '')) args = ['run', ...args];
  try {
    await buildSweepProgram().parseAsync(args, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof SweepExit) {
      console.error(e.message);
      return e.code;
    }
    const err = e as { code?: string; exitCode?: number; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return 0;
    if (err.code?.startsWith('commander.')) return err.exitCode ?? 1;
    console.error(`sweep: ${err.message ?? String(e)}`);
    return 1;
  }
}

if (process.argv[1] !== undefined && /sweep[/\\]cli\.ts$/.test(process.argv[1]))
  sweepMain(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
