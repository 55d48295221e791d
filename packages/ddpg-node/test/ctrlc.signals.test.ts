/**
 * A real Ctrl-C, typed into a terminal, under each launcher: `npx -y pnpm@10.34.9 train`,
 * the `chainrule-ddpg` bin on PATH, and `npx -y pnpm@10.34.9 sweep` (its child). tmux runs
 * the command in a pseudo-terminal and `send-keys C-c` makes the terminal's line discipline
 * send SIGINT to the whole foreground process group, launchers included, as a keyboard does.
 *
 * Each case checks that a checkpoint past the last periodic one was written, that the
 * terminal's cursor is shown again, that the printed resume command is the one for that
 * launcher, and that running it as typed ends with the same metrics as an uninterrupted run.
 *
 * Slow (a minute or more on a loaded machine), so it runs by its own script:
 * `npx -y pnpm@10.34.9 test:signals`.
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../src/trainer.ts';

const repo = resolve(import.meta.dirname, '../../..');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const root = mkdtempSync(join(tmpdir(), 'chainrule-ctrlc-'));
const socket = `chainrule-ctrlc-${process.pid}`;
afterAll(() => {
  if (hasTmux) spawnSync('tmux', ['-L', socket, 'kill-server']);
  rmSync(root, { recursive: true, force: true });
});

/** Small networks and a short run, so each case takes seconds; a checkpoint every episode. */
const STEPS = 2400;
const TRAIN_FLAGS = [
  '--actor-hidden', '16',
  '--critic-hidden', '16',
  '--batch-size', '16',
  '--learning-starts', '100',
  '--start-steps', '100',
  '--buffer-size', '5000',
  '--eval-every', '800',
  '--eval-episodes', '1',
  '--checkpoint-every', '200',
  '--seed', '3',
]; // biome-ignore format: flag/value pairs

/** A clean environment, as a new terminal has: no npm_* of the test runner's own launcher. */
function cleanEnv(extraPath = ''): Record<string, string> {
  return {
    // Without the test runner's node_modules/.bin: a user's shell has none.
    PATH: `${extraPath}${(process.env.PATH ?? '')
      .split(':')
      .filter((d) => !d.includes('node_modules'))
      .join(':')}`,
    HOME: process.env.HOME ?? '/root',
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
  };
}

/** tmux on a socket of its own; its server (started by the first call) gets a clean environment. */
function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], {
    encoding: 'utf8',
    env: cleanEnv(),
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `ok()` is true, polling every 50 ms; fails after `ms`. */
async function until(what: string, ok: () => boolean, ms: number, context = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await sleep(50);
  }
}

/** The pane's text, wrapped lines joined. */
const screen = (name: string) => tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', name);

/** The steps of a run directory's checkpoint sets. */
function checkpointSteps(dir: string): number[] {
  const c = join(dir, 'checkpoints');
  if (!existsSync(c)) return [];
  return readdirSync(c)
    .map((n) => /^ckpt-\d+-step-(\d+)$/.exec(n))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]));
}

/** metrics.jsonl and eval.jsonl rows without their wall times: what must equal an uninterrupted run's. */
function metrics(dir: string): unknown[] {
  const rows = (f: string) =>
    readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const { wallSeconds: _, ...rest } = JSON.parse(l) as Record<string, unknown>;
        return rest;
      });
  return [...rows('metrics.jsonl'), ...rows('eval.jsonl')];
}

let reference: unknown[] = [];

/**
 * Start `command` in a terminal, wait for the run in `runDir` to write its first periodic
 * checkpoint, press Ctrl-C, wait for the message, and return the screen and the resume
 * command printed under "Continue with:".
 */
async function interrupt(name: string, command: string, runDir: string, env: Record<string, string>) {
  // An interactive shell, as in a terminal: it puts the command in a process group of its
  // own (job control), and Ctrl-C goes to that group, the launchers included. Its rc files
  // are skipped, so PATH is the one given.
  tmux('new-session', '-d', '-s', name, '-x', '250', '-y', '50', '-c', repo, 'bash --norc --noprofile -i');
  // PATH is typed into the shell: the server's environment is the first caller's, and
  // `new-session -e` does not reach the pane on every tmux version.
  tmux('send-keys', '-t', name, '-l', `export PATH='${env.PATH}'; type ${command.split(' ')[0]}`);
  tmux('send-keys', '-t', name, 'Enter');
  tmux('send-keys', '-t', name, '-l', command);
  tmux('send-keys', '-t', name, 'Enter');
  await until(
    `${runDir}'s first checkpoint`,
    () => checkpointSteps(runDir).length > 0,
    120_000,
    () => screen(name),
  );
  const periodic = Math.max(...checkpointSteps(runDir));
  tmux('send-keys', '-t', name, 'C-c');
  // The command has ended when the shell is the pane's foreground process again. (An
  // `; echo $?` after it would not run: a job killed by SIGINT aborts the rest of the line.)
  await until(
    'the exit',
    () => tmux('display-message', '-p', '-t', name, '#{pane_current_command}').trim() === 'bash',
    60_000,
    () => screen(name),
  );
  const text = screen(name);
  const cursorShown = tmux('display-message', '-p', '-t', name, '#{cursor_flag}').trim() === '1';
  const resume = /Continue with:\n {2}(.+)/.exec(text)?.[1]?.trim();
  return { text, cursorShown, resume, periodic };
}

/** Run a printed command as typed, in a shell, in the repository, with a clean environment. */
function runAsTyped(command: string, env: Record<string, string>): string {
  const r = spawnSync('bash', ['-c', command], { cwd: repo, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

describe.skipIf(!hasTmux)('Ctrl-C in a terminal under each launcher', () => {
  beforeAll(async () => {
    // The uninterrupted run, through the library with the same settings.
    const out = join(root, 'reference');
    await train({
      seed: 3,
      steps: STEPS,
      out,
      config: {
        actorHidden: [16],
        criticHidden: [16],
        batchSize: 16,
        learningStarts: 100,
        startSteps: 100,
        bufferSize: 5000,
      },
      evalEvery: 800,
      evalEpisodes: 1,
      checkpointEvery: 200,
    });
    reference = metrics(out);
  }, 180_000);

  it('npx -y pnpm@10.34.9 train: checkpoints past the periodic one and prints the npx pnpm command', async () => {
    const out = join(root, 'pnpm-run');
    const env = cleanEnv();
    const cmd = `npx -y pnpm@10.34.9 train ${TRAIN_FLAGS.join(' ')} --steps ${STEPS} --out ${out}`;
    const r = await interrupt('pnpm', cmd, out, env);
    expect(r.text).toMatch(/interrupted; saved a checkpoint at step \d+/);
    const at = Number(/saved a checkpoint at step (\d+)/.exec(r.text)![1]);
    expect(at).toBeGreaterThan(r.periodic);
    expect(checkpointSteps(out)).toContain(at);
    expect(r.cursorShown).toBe(true);
    expect(r.resume, r.text).toBe(`npx -y pnpm@10.34.9 train --out ${out} --resume`);
    runAsTyped(r.resume!, env);
    expect(metrics(out)).toEqual(reference);
  }, 240_000);

  it('the chainrule-ddpg bin on PATH: prints the chainrule-ddpg command', async () => {
    // The bin as npm links it: a `chainrule-ddpg` on PATH that is a link to the package's bin.
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(repo, 'packages/ddpg-node/bin/chainrule-ddpg.mjs'), join(bin, 'chainrule-ddpg'));
    const out = join(root, 'bin-run');
    const env = cleanEnv(`${bin}:`);
    const cmd = `chainrule-ddpg ${TRAIN_FLAGS.join(' ')} --steps ${STEPS} --out ${out}`;
    const r = await interrupt('bin', cmd, out, env);
    const at = Number(/saved a checkpoint at step (\d+)/.exec(r.text)![1]);
    expect(at).toBeGreaterThan(r.periodic);
    expect(r.cursorShown).toBe(true);
    expect(r.resume, r.text).toBe(`chainrule-ddpg --out ${out} --resume`);
    runAsTyped(r.resume!, env);
    expect(metrics(out)).toEqual(reference);
  }, 240_000);

  it('npx -y pnpm@10.34.9 sweep: the child checkpoints and the sweep prints its own command again', async () => {
    const out = join(root, 'sweep');
    const env = cleanEnv();
    const cmd = `npx -y pnpm@10.34.9 sweep --presets tuned --seeds 3 --steps ${STEPS} --jobs 1 --out ${out} -- ${TRAIN_FLAGS.filter((_, i, a) => a[i] !== '--seed' && a[i - 1] !== '--seed').join(' ')}`;
    const runDir = join(out, 'runs', 'tuned-s3');
    const r = await interrupt('sweep', cmd, runDir, env);
    expect(r.text).toMatch(/interrupted; runs\/tuned-s3 saved a checkpoint/);
    expect(Math.max(...checkpointSteps(runDir))).toBeGreaterThan(r.periodic);
    expect(r.cursorShown).toBe(true);
    expect(r.resume, r.text).toBe(cmd);
    runAsTyped(r.resume!, env);
    expect(metrics(runDir)).toEqual(reference);
  }, 240_000);
});
