/**
 * The playground in real Chromium: build the site, serve it on localhost with `vite
 * preview`, drive Debian's /usr/bin/chromium (or CHROMIUM_PATH) with playwright-core.
 *
 * Numbers on the page are checked against the packages run here in Node. Screenshots go to
 * e2e/output/, and to docs/images/ when CHAINRULE_SCREENSHOTS=1 (`pnpm web:screenshots`).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as A from '@chainrule/autograd';
import { Actor, makeConfig, makeEnv } from '@chainrule/ddpg';
import { loadRun, train } from '@chainrule/ddpg-node';
import { decode, type StateDict } from '@chainrule/nn';
import * as T from '@chainrule/tensor';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actorGradientBothWays, SIZES } from '../../../examples/actor-gradient.ts';

const here = dirname(fileURLToPath(import.meta.url));
const appRoot = resolve(here, '..');
const repoRoot = resolve(appRoot, '../..');
const outDir = join(here, 'output');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server: PreviewServer;
let context: BrowserContext;
let page: Page;
let base: string;
let profile: string;
const problems: string[] = [];

function watch(p: Page): void {
  p.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Offline: every request stays on the local server (no CDN, no fonts, no telemetry).
  p.on('request', (r) => {
    const url = r.url();
    if (!/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:)/.test(url)) problems.push(`non-local request: ${url}`);
  });
}

async function screenshot(name: string, fullPage = false): Promise<void> {
  const file = join(outDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  if (process.env.CHAINRULE_SCREENSHOTS === '1') {
    mkdirSync(join(repoRoot, 'docs/images'), { recursive: true });
    copyFileSync(file, join(repoRoot, 'docs/images', `${name}.png`));
  }
}

/** The numbers in a table the page rendered with `tensorTable`. */
async function tableValues(selector: string): Promise<{ shape: number[]; values: number[] }> {
  return page.$eval(selector, (t) => ({
    shape: (t.getAttribute('data-shape') ?? '').split(',').filter(Boolean).map(Number),
    values: [...t.querySelectorAll('td')].map((td) => Number(td.textContent)),
  }));
}

/** The page prints 6 significant digits. */
function expectShown(shown: { shape: number[]; values: number[] }, t: T.Tensor, what: string): void {
  expect(shown.shape, what).toEqual([...t.shape]);
  const d = t.dataSync();
  expect(shown.values.length, what).toBe(d.length);
  shown.values.forEach((v, i) => {
    expect(Math.abs(v - d[i]!), `${what}[${i}]: page ${v}, Node ${d[i]}`).toBeLessThanOrEqual(
      5e-6 * Math.max(1, Math.abs(d[i]!)),
    );
  });
}

async function stepCounter(): Promise<[number, number]> {
  const text = (await page.textContent('#step-counter')) ?? '';
  const m = /Step (\d+) of (\d+)/.exec(text);
  if (!m) throw new Error(`unexpected step counter "${text}"`);
  return [Number(m[1]), Number(m[2])];
}

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await build({ root: appRoot, logLevel: 'warn' });
  server = await preview({
    root: appRoot,
    logLevel: 'warn',
    preview: { port: 0, host: '127.0.0.1', strictPort: false },
  });
  const addr = server.httpServer.address() as AddressInfo;
  base = `http://127.0.0.1:${addr.port}/`;
  profile = mkdtempSync(join(tmpdir(), 'chainrule-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    acceptDownloads: true,
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
  page = context.pages()[0] ?? (await context.newPage());
  watch(page);
}, 240_000);

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe('autograd explorer', () => {
  it('loads with no console errors and draws the example graph', async () => {
    await page.goto(`${base}#explorer?ex=actor-chain`);
    await page.waitForSelector('svg.graph g.node');
    const nodes = await page.$$eval('svg.graph g.node', (g) => g.length);
    const edges = await page.$$eval('svg.graph path.edge', (p) => p.length);
    // μ and Q over s and 11 parameters: dozens of values, every op node with its inputs.
    expect(nodes).toBeGreaterThan(25);
    expect(edges).toBeGreaterThan(nodes - 2);
    // Laid out as a picture: boxes at many distinct positions, not a list.
    const ys = await page.$$eval(
      'svg.graph g.node rect',
      (r) => new Set(r.map((x) => x.getAttribute('y'))).size,
    );
    expect(ys).toBeGreaterThan(5);
    expect(await page.textContent('#explorer-error')).toBe('');
    expect(problems).toEqual([]);
  });

  it('stepping backward through the TF1-style actor gradient shows the numbers Node computes', async () => {
    const ref = actorGradientBothWays(0);
    await page.goto(`${base}#explorer?ex=actor-chain&seed=0`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    const [, total] = await stepCounter();
    expect(total).toBe(ref.stepsCritic.length + ref.stepsActor.length);
    const seenOps: string[] = [];
    const seen = new Set<string>();
    for (let k = 1; k <= total; k++) {
      await page.click('#step-next');
      expect(await stepCounter()).toEqual([k, total]);
      seenOps.push((await page.textContent('#step-detail [data-role="op"]')) ?? '');
      // The graph highlights the node whose rule fired.
      expect(await page.$$eval('svg.graph g.node.current', (g) => g.length)).toBe(1);
      if (k === ref.stepsCritic.length + 1) {
        // Phase 2 starts from the seed −dQ/da / N.
        const seed = T.div(T.neg(ref.dQda), SIZES.batch);
        expectShown(await tableValues('#step-detail [data-role="upstream"]'), seed, 'seed −dQda/N');
      }
      const labels = await page.$$eval('#step-detail [data-role="input-grad"]', (ts) =>
        ts.map((t) => t.getAttribute('data-label') ?? ''),
      );
      for (const label of labels) {
        const sel = `#step-detail [data-role="input-grad"][data-label="${label}"]`;
        if (label === 'a = μ(s)') {
          expectShown(await tableValues(sel), ref.dQda, 'dQ/da');
          seen.add(label);
        }
        const i = ref.names.indexOf(label);
        if (i >= 0) {
          expectShown(await tableValues(sel), ref.tf1[i]!, label);
          seen.add(label);
        }
      }
    }
    expect(seenOps).toEqual([...ref.stepsCritic, ...ref.stepsActor].map((s) => s.op));
    expect([...seen].sort()).toEqual(['a = μ(s)', ...ref.names].sort());
    // Where un-broadcasting summed: each bias add on a batch.
    await page.click('#step-first');
    let unbroadcasts = 0;
    for (let k = 1; k <= total; k++) {
      await page.click('#step-next');
      unbroadcasts += await page.$$eval('#step-detail [data-role="unbroadcast"]', (u) => u.length);
    }
    expect(unbroadcasts).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([]);
  });

  it('the PyTorch-style example ends with the surrogate gradients; gradcheck and second derivatives', async () => {
    const ref = actorGradientBothWays(2);
    await page.goto(`${base}#explorer?ex=actor-surrogate&seed=2`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    await page.click('#step-last');
    for (const [i, name] of ref.names.entries()) {
      expectShown(
        await tableValues(`#grads [data-role="final-grad"][data-label="${name}"]`),
        ref.pytorch[i]!,
        name,
      );
    }
    await page.click('#gradcheck');
    await expect
      .poll(() => page.textContent('#check-out [data-role="gradcheck"]'))
      .toMatch(/gradcheck: passed/);
    expect(await page.textContent('#check-out [data-role="gradgradcheck"]')).toMatch(/gradgradcheck: passed/);

    // Second derivatives of the surrogate loss in actor.b2, against central differences
    // of the gradient computed here.
    await page.click('#hessian');
    // Both results stay: the second derivatives sit beside (or below) the gradchecks.
    expect(await page.textContent('#check-out [data-role="gradcheck"]')).toMatch(/gradcheck: passed/);
    const shown = await tableValues('#check-out [data-role="hessian"][data-label="actor.b2"]');
    const { critic, params, s } = rebuildActorProblem(2);
    const gradB2 = (b2: Float64Array) => {
      const theta = params.map((p, k) => A.param(k === 3 ? T.tensor(b2, { dtype: 'float64' }) : p.value));
      const loss = A.neg(A.mean(criticQ(critic, s, actorMu(theta, s))));
      return A.grad(loss, theta[3]!).value.dataSync();
    };
    const b2 = Float64Array.from(params[3]!.value.dataSync());
    const eps = 1e-5;
    const numeric: number[] = [];
    for (let j = 0; j < b2.length; j++) {
      const up = Float64Array.from(b2);
      const down = Float64Array.from(b2);
      up[j]! += eps;
      down[j]! -= eps;
      const gu = gradB2(up);
      const gd = gradB2(down);
      for (let k = 0; k < b2.length; k++) numeric.push((gu[k]! - gd[k]!) / (2 * eps));
    }
    expect(shown.values.length).toBe(numeric.length);
    for (const [i, v] of shown.values.entries()) {
      expect(Math.abs(v - numeric[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)));
    }
    expect(problems).toEqual([]);
  });

  it('a typed expression shows where un-broadcasting summed, and errors say where', async () => {
    await page.goto(`${base}#explorer?ex=broadcast`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    await page.selectOption('#example', 'expression');
    await page.fill('#expr', 'sum(exp(x * y) + b)');
    await page.click('#build');
    await page.click('#step-last');
    const [k, n] = await stepCounter();
    expect(k).toBe(n);
    // x [3,1] * y [1,4]: x's gradient is summed over axis 1, y's over axis 0, b's over axis 0.
    const finals = await page.$$eval('#grads [data-role="final-grad"]', (ts) =>
      ts.map((t) => [t.getAttribute('data-label'), t.getAttribute('data-shape')]),
    );
    expect(finals).toEqual([
      ['x', '3,1'],
      ['y', '1,4'],
      ['b', '4'],
    ]);
    // d/db of sum(... + b) over 3 rows is 3 for every element.
    expect((await tableValues('#grads [data-role="final-grad"][data-label="b"]')).values).toEqual([
      3, 3, 3, 3,
    ]);
    // The state is in the URL: reloading it rebuilds the same expression.
    expect(page.url()).toContain('expr=');
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    expect(await page.inputValue('#expr')).toBe('sum(exp(x * y) + b)');
    expect(await stepCounter()).toEqual([n, n]);

    await page.fill('#expr', 'sum(x *');
    await page.click('#build');
    expect(await page.textContent('#explorer-error')).toMatch(/expected a number.*at column 8/);
    expect(problems).toEqual([]);
  });

  it('nothing is cut off: the graph fits its pane, the Hessian tables fit the checks panel', async () => {
    await page.goto(`${base}#explorer?ex=actor-chain&seed=0`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    // Fit (the default): the actor gradient's graph, wider than its pane at 1:1, scales down.
    const fits = () =>
      page.$eval('#graph', (box) => {
        const b = box.getBoundingClientRect();
        const g = box.querySelector('svg.graph')!.getBoundingClientRect();
        return {
          overflow: box.scrollWidth - box.clientWidth,
          inside: g.left >= b.left - 0.5 && g.right <= b.right + 0.5,
          natural: Number(box.querySelector('svg.graph')!.getAttribute('width')),
          width: box.clientWidth,
        };
      });
    const fit = await fits();
    expect(fit.natural).toBeGreaterThan(fit.width);
    expect(fit.overflow).toBeLessThanOrEqual(0);
    expect(fit.inside).toBe(true);
    // Actual size is one click away, and then the pane scrolls sideways instead of clipping.
    await page.click('#graph-zoom');
    expect(await page.getAttribute('#graph-zoom', 'aria-pressed')).toBe('true');
    expect((await fits()).overflow).toBeGreaterThan(0);
    await page.click('#graph-zoom');
    expect((await fits()).overflow).toBeLessThanOrEqual(0);

    await page.click('#gradcheck');
    await page.click('#hessian');
    const boxes = await page.$$eval('#check-out [data-role="hessian"]', (tables) =>
      tables.map((t) => {
        const wrap = t.parentElement!;
        const pane = t.closest('.panel')!.getBoundingClientRect();
        const r = t.getBoundingClientRect();
        return {
          label: t.getAttribute('data-label'),
          scroll: wrap.scrollWidth - wrap.clientWidth,
          inside: r.left >= pane.left && r.right <= pane.right,
        };
      }),
    );
    expect(boxes.map((b) => b.label)).toEqual(['actor.W1', 'actor.b1', 'actor.W2', 'actor.b2']);
    // actor.W1 [3,5] has a 15×15 Hessian: at 1280 px it fits whole, no sideways scrolling.
    for (const b of boxes) expect(b, String(b.label)).toMatchObject({ scroll: 0, inside: true });
    // ... and the gradchecks are still shown next to it.
    expect(await page.textContent('#check-out [data-role="gradcheck"]')).toMatch(/gradcheck: passed/);
    expect(await page.textContent('#check-out [data-role="gradgradcheck"]')).toMatch(/passed/);
    // At a phone width the wide table scrolls in its own box, never the page.
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    const w1 = await page.$eval('#check-out [data-role="hessian"][data-label="actor.W1"]', (t) => {
      const wrap = t.parentElement!;
      return { scrolls: wrap.scrollWidth > wrap.clientWidth, overflowX: getComputedStyle(wrap).overflowX };
    });
    expect(w1).toEqual({ scrolls: true, overflowX: 'auto' });
    await page.setViewportSize(DESKTOP);
    expect(problems).toEqual([]);
  });

  it('at a tie of max the checks say the function is not differentiable there, not a bare FAILED', async () => {
    const tie = new URLSearchParams({ expr: 'max(x) * 2', tensors: 'x = [1, 1, 0.5]' });
    await page.goto(`${base}#explorer?${tie}`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    await page.click('#gradcheck');
    // Tied maxima share the gradient, which central differences of max agree with...
    expect(await page.getAttribute('#check-out [data-role="gradcheck"]', 'data-verdict')).toBe('passed');
    // ... but the gradient jumps at the tie, so its differences blow up (~1/ε).
    const second = (await page.textContent('#check-out [data-role="gradgradcheck"]'))!;
    expect(second).toMatch(/not differentiable here/);
    expect(second).not.toMatch(/FAILED/);
    const kinks = await page.$$eval('#check-out [data-role="kink"]', (li) => li.map((l) => l.textContent));
    expect(kinks).toEqual(['max: a tie: elements [0] and [1] are both 1, the maximum']);
    expect(await page.textContent('#check-out [data-role="kinks"]')).toMatch(
      /gradient jumps along x\[0\], x\[1\]/,
    );
    await page.click('#hessian');
    expect(await page.textContent('#check-out [data-role="hessian-kinks"]')).toMatch(/max: a tie/);
    expect(await page.getAttribute('#check-out [data-role="gradgradcheck"]', 'data-verdict')).toBe(
      'not differentiable here',
    );

    // Off the tie, both pass and nothing is said about kinks.
    await page.fill('#tensors', 'x = [1, 0.9, 0.5]');
    await page.click('#build');
    await page.click('#gradcheck');
    expect(await page.getAttribute('#check-out [data-role="gradgradcheck"]', 'data-verdict')).toBe('passed');
    expect(await page.$$eval('#check-out [data-role="kinks"]', (k) => k.length)).toBe(0);
    expect(problems).toEqual([]);
  });

  it('the output is not named like an input: grad(f, [x, y, b]) in the broadcasting example', async () => {
    await page.goto(`${base}#explorer?ex=broadcast`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    expect(await page.textContent('#step-detail ol.phases code')).toBe('grad(f, [x, y, b])');
    const labels = await page.$$eval('svg.graph g.node text.l1', (t) => t.map((x) => x.textContent));
    expect(labels.filter((l) => l === 'y')).toHaveLength(1);
    expect(labels.filter((l) => l === 'f')).toHaveLength(1);
    // A tensor named f pushes the output's name on.
    await page.selectOption('#example', 'expression');
    await page.fill('#expr', 'sum(f * x)');
    await page.fill('#tensors', 'f = [1, 2]\nx = [3, 4]');
    await page.click('#build');
    expect(await page.textContent('#step-detail ol.phases code')).toBe('grad(f1, [f, x])');
    expect(problems).toEqual([]);
  });

  it('is keyboard-accessible: tab order reaches the step button; Enter and Space step; focus is visible', async () => {
    await page.goto(`${base}#explorer?ex=mlp`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node');
    const order: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => document.activeElement?.id ?? '');
      order.push(id);
      if (id === 'step-next') break;
    }
    expect(order.at(-1)).toBe('step-next');
    // The tab, the form controls, then the build button, in reading order.
    expect(order.indexOf('tab-explorer')).toBeLessThan(order.indexOf('example'));
    expect(order.indexOf('example')).toBeLessThan(order.indexOf('build'));
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    expect((await stepCounter())[0]).toBe(1);
    await page.keyboard.press('Space');
    expect((await stepCounter())[0]).toBe(2);
    await page.keyboard.press('ArrowRight');
    expect((await stepCounter())[0]).toBe(3);
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect((await stepCounter())[0]).toBe(1);
    // Every control is a real control: no clickable divs, every input labelled.
    expect(await page.$$eval('[role="button"]:not(button), [onclick]', (e) => e.length)).toBe(0);
    const unlabelled = await page.$$eval('input, select, textarea', (els) =>
      els.filter((e) => !(e as HTMLInputElement).labels?.length).map((e) => e.id),
    );
    expect(unlabelled).toEqual([]);
    // Tabs: arrow keys move between them.
    await page.focus('#tab-explorer');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-ddpg');
    expect(await page.getAttribute('#tab-ddpg', 'aria-selected')).toBe('true');
    expect(await page.isVisible('#panel-ddpg')).toBe(true);
    await page.keyboard.press('ArrowLeft');
    expect(await page.isVisible('#panel-explorer')).toBe(true);
    expect(problems).toEqual([]);
  });

  it('holds its layout at 1280×800 and at a phone width (screenshots)', async () => {
    await page.goto(`${base}#explorer?ex=actor-chain&step=10`);
    await page.reload();
    await page.waitForSelector('svg.graph g.node.current');
    for (const [size, name] of [
      [DESKTOP, 'playground-explorer'],
      [PHONE, 'playground-explorer-phone'],
    ] as const) {
      await page.setViewportSize(size);
      await page.waitForTimeout(200);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(size.width);
      await screenshot(name, size === PHONE);
    }
    await page.setViewportSize(DESKTOP);
    expect(problems).toEqual([]);
  });
});

describe('DDPG live', () => {
  const ckpt = mkdtempSync(join(tmpdir(), 'chainrule-run-'));
  afterAll(() => rmSync(ckpt, { recursive: true, force: true }));

  it('opens at full speed, real time one click away, and says how long learning takes', async () => {
    await page.goto(`${base}#ddpg`);
    await page.reload();
    await page.waitForSelector('#stat-backend:not(:empty)');
    expect(await page.isChecked('#speed-max')).toBe(true);
    expect(page.url()).toContain('speed=max');
    const full = (await page.textContent('#speed-note'))!;
    expect(full).toMatch(/Learning shows after about 4,000 steps.*about \d+ s at full speed/);
    // The return chart's caption promises only what is drawn: no red line before Watch.
    const caption = () => page.textContent('#chart-return figcaption [data-role="note"]');
    expect(await caption()).toMatch(/blue: training episodes.*Watch adds the policy without noise in red/);
    expect(await caption()).not.toMatch(/red: the policy/);
    await page.click('#speed-1');
    expect(await page.isChecked('#speed-1')).toBe(true);
    expect(page.url()).toContain('speed=1');
    expect(await page.textContent('#speed-note')).toMatch(
      /about \d(½)? minutes at this speed, about \d+ s at full speed/,
    );
    await page.click('#speed-max');
    expect(page.url()).toContain('speed=max');
    expect(problems).toEqual([]);
  });

  it('trains in the worker: steps advance, the learning curve and average max Q update', async () => {
    await page.goto(`${base}#ddpg?preset=tuned&seed=0&speed=max`);
    await page.reload();
    await page.waitForSelector('#stat-backend:not(:empty)');
    await expect.poll(() => page.textContent('#stat-backend')).toBe('wasm');
    await page.click('#start');
    // 1000 uniform random steps (5 episodes), then one update per step.
    await expect
      .poll(async () => Number(await page.getAttribute('#chart-maxq', 'data-points')), { timeout: 150_000 })
      .toBeGreaterThanOrEqual(2);
    const returnsPoints = Number(await page.getAttribute('#chart-return', 'data-points'));
    expect(returnsPoints).toBeGreaterThanOrEqual(6);
    const linePath = await page.$eval(
      '#chart-return svg path[aria-roledescription="line mark"], #chart-return svg .mark-line path',
      (p) => p.getAttribute('d') ?? '',
    );
    expect(linePath.length).toBeGreaterThan(20);
    expect(Number(await page.textContent('#stat-step'))).toBeGreaterThanOrEqual(1200);
    expect(Number(await page.textContent('#stat-maxq'))).not.toBeNaN();
    // After three episodes with updates at full speed the note's estimate uses this machine's rate.
    await expect
      .poll(async () => Number(await page.getAttribute('#chart-maxq', 'data-points')), { timeout: 60_000 })
      .toBeGreaterThanOrEqual(3);
    expect(await page.textContent('#speed-note')).toMatch(/\d+ steps\/s measured here/);
    expect(await page.textContent('#chart-return figcaption [data-role="note"]')).not.toMatch(
      /red: the policy/,
    );
    await page.click('#start'); // pause
    await expect.poll(() => page.textContent('#start')).toBe('Start');
    for (const [size, name] of [
      [DESKTOP, 'playground-ddpg'],
      [PHONE, 'playground-ddpg-phone'],
    ] as const) {
      await page.setViewportSize(size);
      await page.waitForTimeout(500);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(size.width);
      await screenshot(name, size === PHONE);
    }
    await page.setViewportSize(DESKTOP);

    // Download the actor; it loads in Node with decode + Actor.loadStateDict (strict).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const file = join(ckpt, 'downloaded.safetensors');
    await download.saveAs(file);
    const { tensors, metadata } = decode(new Uint8Array(readFileSync(file)));
    const config = JSON.parse(metadata['chainrule.config']!);
    const env = makeEnv('Pendulum-v1');
    const actor = new Actor(3, 1, env.actionSpace.low, env.actionSpace.high, {
      hidden: config.actorHidden,
      batchNorm: config.batchNorm,
      finalInit: config.finalInit,
      rng: new T.Rng(0),
      output: config.actorOutput,
      outputBias: config.actorBias,
    });
    const sd: StateDict = {};
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith('actor.')) sd[k.slice(6)] = t;
    actor.loadStateDict(sd);
    expect(Object.keys(sd).length).toBe(Object.keys(actor.stateDict()).length);

    // ... and back in the page: the same file works here too.
    await page.setInputFiles('#load', file);
    await page.waitForSelector('#loaded-action');
    expect(await page.textContent('#loaded')).toMatch(/config from file metadata/);
    expect(problems).toEqual([]);
  }, 200_000);

  it('a checkpoint made by the trainer loads and acts as it does in Node', async () => {
    const out = join(ckpt, 'run');
    await train({
      env: 'Pendulum-v1',
      seed: 5,
      steps: 300,
      config: makeConfig('tuned', {
        actorHidden: [16, 16],
        criticHidden: [16, 16],
        batchSize: 32,
        startSteps: 100,
        learningStarts: 100,
      }),
      out,
      evalEvery: 0,
      evalEpisodes: 1,
      checkpointEvery: 0,
      saveReplay: false,
      resume: false,
    });
    const seed = 7;
    const run = loadRun(out);
    // The run's latest complete checkpoint, as the `latest` pointer names it.
    const latest = join(out, 'checkpoints', readFileSync(join(out, 'checkpoints', 'latest'), 'utf8').trim());
    const obs = makeEnv('Pendulum-v1').reset({ seed }).observation;
    const expected = Array.from(run.agent.act(obs, { explore: false }));

    await page.fill('#seed', String(seed));
    await page.dispatchEvent('#seed', 'change');
    await page.setInputFiles('#load', [join(latest, 'agent.safetensors'), join(latest, 'state.json')]);
    await expect
      .poll(() => page.textContent('#loaded'))
      .toMatch(/agent\.safetensors.*config from state\.json/);
    const shown = JSON.parse((await page.textContent('#loaded-action'))!) as number[];
    expect(shown.length).toBe(expected.length);
    for (const [i, v] of shown.entries()) expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-6);
    // It plays: a policy episode finishes and lands on the return chart.
    const before = Number(await page.getAttribute('#chart-return', 'data-points'));
    await expect
      .poll(async () => Number(await page.getAttribute('#chart-return', 'data-points')), { timeout: 60_000 })
      .toBeGreaterThan(before);
    expect(await page.textContent('#stat-return')).toMatch(/\(policy\)/);
    // Only the loaded policy's episodes are drawn, all at step 0: the caption says red, and
    // the axis labels are integers (the x tick once read "0.000000").
    expect(await page.textContent('#chart-return figcaption [data-role="note"]')).toBe(
      ' · red: the policy without noise',
    );
    const ticks = await page.$$eval('#chart-return svg .role-axis-label text', (t) =>
      t.map((x) => x.textContent),
    );
    expect(ticks.length).toBeGreaterThan(1);
    for (const t of ticks) expect(t).toMatch(/^[−-]?\d{1,3}(,\d{3})*$/);
    expect(problems).toEqual([]);
  }, 120_000);
});

// The toy actor and critic of examples/actor-gradient.ts, rebuilt here for the Hessian check.
function rebuildActorProblem(seed: number): { params: A.Var[]; critic: A.Var[]; s: A.Var } {
  const rng = new T.Rng(seed);
  const p = (shape: number[], std: number) => A.param(T.randn(shape, rng, { dtype: 'float64', std }));
  const { batch, state, action, actorHidden: h, criticHidden1: c1, criticHidden2: c2 } = SIZES;
  const params = [p([state, h], 0.8), p([h], 0.3), p([h, action], 0.8), p([action], 0.3)];
  const critic = [
    p([state, c1], 0.8),
    p([c1], 0.3),
    p([c1, c2], 0.8),
    p([action, c2], 0.8),
    p([c2], 0.3),
    p([c2, 1], 0.8),
    p([1], 0.3),
  ];
  const s = A.input(T.randn([batch, state], rng, { dtype: 'float64' }));
  return { params, critic, s };
}
function actorMu(p: readonly A.Var[], s: A.Var): A.Var {
  return s.matmul(p[0]!).add(p[1]!).relu().matmul(p[2]!).add(p[3]!).tanh().mul(SIZES.actionBound);
}
function criticQ(c: readonly A.Var[], s: A.Var, a: A.Var): A.Var {
  const h1 = s.matmul(c[0]!).add(c[1]!).relu();
  return h1.matmul(c[2]!).add(a.matmul(c[3]!)).add(c[4]!).relu().matmul(c[5]!).add(c[6]!);
}
