// Bundles browser.mjs with esbuild (resolving @chainrule/* from the outside project where
// the packed tarballs are installed) and runs it in headless Chromium (Debian's
// /usr/bin/chromium, driven by puppeteer-core), then checks that the page printed exactly
// the lines that Node printed.
//   node scripts/outside/chromium.mjs <project dir> <node output file>
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import puppeteer from 'puppeteer-core';

const [project, nodeOutput] = process.argv.slice(2);
if (!project || !nodeOutput) throw new Error('usage: chromium.mjs <project dir> <node output file>');
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const result = await build({
  absWorkingDir: project,
  entryPoints: ['browser.mjs'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: 'dist/bundle.js',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`esbuild: browser bundle ${(bytes / 1e6).toFixed(2)} MB`);
const bundle = readFileSync(join(project, 'dist/bundle.js'));
const html =
  '<!doctype html><meta charset="utf-8"><title>chainrule smoke</title><script type="module" src="/bundle.js"></script>';

// Module scripts do not run from file:// URLs, so serve the page on the loopback interface.
const server = createServer((req, res) => {
  if (req.url === '/bundle.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
  else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  else res.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}/`;

const profile = mkdtempSync(join(tmpdir(), 'chainrule-chromium-'));
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  userDataDir: profile,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
let failed = false;
try {
  console.log(`chromium: ${await browser.version()}`);
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.__smoke?.done === true, { timeout: 180_000, polling: 250 });
  const { lines, error } = await page.evaluate(() => window.__smoke);
  if (error || pageErrors.length > 0) {
    console.error(`the page failed:\n${[error, ...pageErrors].filter(Boolean).join('\n')}`);
    failed = true;
  }
  const expected = readFileSync(nodeOutput, 'utf8').trim().split('\n');
  writeFileSync(join(project, 'chromium-output.txt'), `${lines.join('\n')}\n`);
  for (const line of lines) console.log(`  ${line}`);
  if (lines.join('\n') !== expected.join('\n')) {
    console.error('Chromium printed different lines from Node:');
    for (let i = 0; i < Math.max(lines.length, expected.length); i++) {
      if (lines[i] !== expected[i])
        console.error(`  line ${i + 1}\n    node:     ${expected[i]}\n    chromium: ${lines[i]}`);
    }
    failed = true;
  } else console.log(`chromium: the same ${lines.length} lines as node`);
} finally {
  await browser.close();
  server.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failed) process.exit(1);
