/**
 * `pnpm bench:browser`: the `tuned` DDPG update (the Node bench's `ddpg update tuned b256`
 * case) in headless Chromium on a cross-origin-isolated page, on 1 thread and on all
 * threads in the same run (interleaved rounds, warm-up, medians; see bench/worker.ts).
 * Builds the page with the playground's Vite config (whose preview server sends the
 * COOP/COEP headers), drives Debian's /usr/bin/chromium (or CHROMIUM_PATH) with
 * playwright-core, prints the result and writes it to bench/results/browser.json with the
 * machine and its load average before and after.
 *
 *   pnpm bench:browser [--rounds 9] [--per-round 30] [--out bench/results/browser.json]
 * @module
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { build, preview } from 'vite';
import { machineInfo } from '../../../bench/src/machine.ts';
import type { UpdateBenchResult } from '../bench/protocol.ts';

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(appRoot, '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name}: expected a whole number ≥ 1, got ${JSON.stringify(v)}`);
  return n;
}

/** Write `text` to `file` through a temporary file and a rename, so a reader never sees half. */
function writeAtomic(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '9' },
      'per-round': { type: 'string', default: '30' },
      out: { type: 'string', default: join(repoRoot, 'bench/results/browser.json') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: pnpm bench:browser [--rounds N] [--per-round N] [--out FILE]');
    console.log('  the tuned DDPG update in headless Chromium, 1 thread vs all threads, interleaved rounds');
    return;
  }
  const rounds = positiveInt('rounds', values.rounds);
  const perRound = positiveInt('per-round', values['per-round']);
  const out = resolve(process.env.INIT_CWD ?? process.cwd(), values.out);

  const outDir = mkdtempSync(join(tmpdir(), 'chainrule-bench-site-'));
  const configFile = join(appRoot, 'vite.config.ts');
  const root = join(appRoot, 'bench');
  const server = await (async () => {
    await build({ configFile, root, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    return preview({
      configFile,
      root,
      logLevel: 'warn',
      build: { outDir },
      preview: { port: 0, host: '127.0.0.1', strictPort: false },
    });
  })();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    const addr = server.httpServer.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${addr.port}/`);
    if (!(await page.evaluate(() => self.crossOriginIsolated))) {
      throw new Error(
        'the bench page is not cross-origin isolated: check the COOP/COEP headers in vite.config.ts',
      );
    }
    const loadBefore = loadavg();
    const t0 = Date.now();
    const result: UpdateBenchResult = await page.evaluate((request) => window.runUpdateBench(request), {
      rounds,
      perRound,
    });
    const seconds = (Date.now() - t0) / 1000;
    const loadAfter = loadavg();
    const m = machineInfo();
    const report = {
      ...result,
      chromium: browser.version(),
      machine: { cpu: m.cpu, cores: m.cores, platform: m.platform, node: m.node, date: m.date },
      load: {
        before: loadBefore.map((x) => Number(x.toFixed(2))),
        after: loadAfter.map((x) => Number(x.toFixed(2))),
        note: 'os.loadavg() (1, 5, 15 min) around the run; above ~0.5 per core other work shared the machine',
      },
      seconds: Number(seconds.toFixed(1)),
    };
    writeAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
    const r2 = (x: number) => x.toFixed(2);
    console.log(
      `${result.case} in Chromium ${report.chromium} (${result.simdPath}), ${m.cpu}, ${m.cores} cores`,
    );
    console.log(`  updateMs1Thread     ${r2(result.updateMs1Thread)} ms`);
    console.log(`  updateMsAllThreads  ${r2(result.updateMsAllThreads)} ms (${result.threads} threads)`);
    console.log(`  speed-up            ${r2(result.speedup)}×  (target ≥ 1.5×)`);
    console.log(
      `  medians of ${rounds} interleaved rounds × ${perRound} updates; round medians 1t [${result.roundMedians.oneThread.map(r2).join(', ')}], all [${result.roundMedians.allThreads.map(r2).join(', ')}]`,
    );
    console.log(
      `  load average before ${report.load.before.join(' ')}, after ${report.load.after.join(' ')}`,
    );
    console.log(`  written to ${out}`);
  } finally {
    await browser.close();
    await server.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench:browser: ${(e as Error).message}`);
  process.exitCode = 1;
});
