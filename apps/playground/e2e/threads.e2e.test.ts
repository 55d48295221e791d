/**
 * The playground's threads in real Chromium: the built site served by `vite preview` is
 * cross-origin isolated (COOP/COEP headers), so the DDPG worker trains with every core; the
 * same site without the headers trains on one thread and says why.
 *
 * A file of its own (after playground.e2e.test.ts, one at a time): it builds the site into a
 * temporary folder, so the other file's dist/ is left alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const appRoot = resolve(here, '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let server: PreviewServer;
let context: BrowserContext;
let base: string;
let profile: string;
let outDir: string;
const problems: string[] = [];

function watch(p: Page): void {
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'chainrule-site-'));
  await build({ root: appRoot, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  server = await preview({
    root: appRoot,
    logLevel: 'warn',
    build: { outDir },
    preview: { port: 0, host: '127.0.0.1', strictPort: false },
  });
  const addr = server.httpServer.address() as AddressInfo;
  base = `http://127.0.0.1:${addr.port}/`;
  profile = mkdtempSync(join(tmpdir(), 'chainrule-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
}, 240_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('threads in the browser', () => {
  it('the built site is cross-origin isolated, and the DDPG worker trains with every core', async () => {
    const page = await context.newPage();
    watch(page);
    const response = await page.goto(`${base}#ddpg?preset=tuned&seed=0&speed=max`);
    expect(response?.headers()['cross-origin-opener-policy']).toBe('same-origin');
    expect(response?.headers()['cross-origin-embedder-policy']).toBe('require-corp');
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    await page.waitForSelector('#stat-threads:not(:empty)');
    await expect.poll(() => page.textContent('#stat-threads')).toBe(String(cores));
    expect(await page.textContent('#threads-note')).toBe('');
    await page.click('#start');
    // 1000 random steps, then one update per step; the tuned update's 256×256 products are
    // split across threads, so the pool's workers compute some of their blocks.
    await expect
      .poll(async () => Number(await page.getAttribute('#stat-threads', 'data-blocks-by-workers')), {
        timeout: 150_000,
      })
      .toBeGreaterThan(cores > 1 ? 0 : -1);
    if (cores > 1) expect(Number(await page.textContent('#stat-threads'))).toBeGreaterThan(1);
    await page.click('#start'); // pause
    await expect.poll(() => page.textContent('#start')).toBe('Start');
    expect(problems).toEqual([]);
    await page.close();
  }, 200_000);

  it('without the headers the page is not isolated: one thread, and the page says why', async () => {
    const page = await context.newPage();
    watch(page);
    // The same site with COOP/COEP stripped from every response, as a plain static host serves it.
    await page.route('**/*', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await page.goto(`${base}#ddpg?preset=tuned&seed=0&speed=max`);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(false);
    await page.waitForSelector('#stat-threads:not(:empty)');
    await expect.poll(() => page.textContent('#stat-threads')).toBe('1');
    expect(await page.textContent('#threads-note')).toMatch(
      /One thread: the page is not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/,
    );
    await page.click('#start');
    await expect
      .poll(async () => Number(await page.textContent('#stat-step')), { timeout: 60_000 })
      .toBeGreaterThan(100);
    await page.click('#start');
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
