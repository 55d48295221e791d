/**
 * How this process was started, so that the commands the CLI prints (resume, eval, render)
 * run as typed where the user typed the first one: `npx -y pnpm@10.34.9 train ...` in the
 * repository (the README's form), `pnpm train ...` with a pnpm of one's own,
 * `npm run train -- ...` from a package script, `chainrule-ddpg ...` when installed,
 * `npx chainrule-ddpg ...` through npx.
 * @module
 */
import { existsSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, relative, resolve } from 'node:path';

/** What {@link detectLauncher} reads: the process's environment, argv, execArgv and cwd. */
export interface LaunchContext {
  env: Record<string, string | undefined>;
  argv: readonly string[];
  execArgv: readonly string[];
  cwd: string;
}

/** The current process's {@link LaunchContext}. */
export function currentLaunch(): LaunchContext {
  return { env: process.env, argv: process.argv, execArgv: process.execArgv, cwd: process.cwd() };
}

/** Quote one shell word only where it needs it (POSIX sh single quotes). */
export function shellWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Whether `name` is a command on the user's PATH. The `node_modules/.bin` directories a
 * package manager puts in front of PATH for a script are not the user's, so they do not count
 * inside one (a sweep's child inherits them).
 */
function onUsersPath(name: string, env: Record<string, string | undefined>): boolean {
  const inScript = env.npm_lifecycle_event !== undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || (inScript && /node_modules[/\\]\.bin$/.test(dir))) continue;
    if (existsSync(join(dir, name))) return true;
  }
  return false;
}

/**
 * The words that start the CLI as the user started it, before its own arguments:
 * `['npx', '-y', 'pnpm@10.34.9', 'train']`, `['chainrule-ddpg']`, ...
 *
 * A package script is recognised by `npm_lifecycle_script` naming this CLI (so a sweep's
 * child, which inherits the `sweep` script's environment, is not taken for one); the package
 * manager by `npm_config_user_agent`; npx by `npm_execpath` lying in npm's `_npx` cache (for
 * pnpm started by npx) or `npm_command=exec` (for the bin started by npx).
 */
export function launcherWords(
  ctx: LaunchContext = currentLaunch(),
  script: RegExp = /cli[/\\]main\.[jt]s|chainrule-ddpg/,
): string[] {
  const { env } = ctx;
  const event = env.npm_lifecycle_event;
  const agent = env.npm_config_user_agent ?? '';
  if (event && script.test(env.npm_lifecycle_script ?? '')) {
    const pm = /^(pnpm|npm|yarn|bun)\/(\S+)/.exec(agent);
    const name = pm?.[1] ?? 'npm';
    if (name === 'pnpm') {
      const viaNpx = /[/\\]_npx[/\\]/.test(env.npm_execpath ?? '');
      return viaNpx ? ['npx', '-y', `pnpm@${pm?.[2]}`, event] : ['pnpm', event];
    }
    // npm passes flags to the script only after `--`.
    if (name === 'npm') return ['npm', 'run', event, '--'];
    return [name, event];
  }
  const entry = ctx.argv[1] ?? '';
  // npm links the bin (argv[1] is the link); pnpm writes a shell wrapper that runs the
  // package's file (argv[1] is bin/chainrule-ddpg.mjs, or dist/cli/main.js when published).
  const ownBin =
    basename(entry) === 'chainrule-ddpg' ||
    /[/\\](bin[/\\]chainrule-ddpg\.mjs|dist[/\\]cli[/\\]main\.js)$/.test(entry);
  if (ownBin) {
    if (env.npm_command === 'exec') return ['npx', 'chainrule-ddpg'];
    if (onUsersPath('chainrule-ddpg', env)) return ['chainrule-ddpg'];
  }
  // Anything else (node on a file, a sweep's child): node with the same flags on the same file.
  // tsx's CLI passes its loader as absolute file URLs; `npx tsx` says the same in two words.
  const tsxCli = ctx.execArgv.some((a) => /tsx[/\\]dist[/\\](loader|preflight)/.test(a));
  const file = entry === '' ? '' : isAbsolute(entry) ? relativeIfInside(ctx.cwd, entry) : entry;
  if (tsxCli) return ['npx', 'tsx', file];
  return ['node', ...ctx.execArgv, file];
}

function relativeIfInside(cwd: string, path: string): string {
  const r = relative(cwd, path);
  return r.startsWith('..') || isAbsolute(r) ? path : r;
}

/**
 * A command line the user can paste: the launcher's words, then `args`. A relative path
 * argument stays relative only when the script's directory is where the user typed (pnpm
 * runs root scripts in the root; `INIT_CWD` is where the user was).
 */
export function commandLine(
  args: readonly string[],
  ctx: LaunchContext = currentLaunch(),
  script?: RegExp,
): string {
  return [...launcherWords(ctx, script), ...args].map(shellWord).join(' ');
}

/**
 * A path as the printed command should name it: as given when the user's directory is the
 * process's, else absolute (a package script started from a subdirectory runs at the root).
 */
export function pathForUser(path: string, ctx: LaunchContext = currentLaunch()): string {
  const from = ctx.env.INIT_CWD;
  if (isAbsolute(path) || from === undefined || resolve(from) === resolve(ctx.cwd)) return path;
  return resolve(ctx.cwd, path);
}
