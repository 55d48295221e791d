/**
 * The DDPG tab: controls, the pendulum, the learning curve and average max Q, and actor
 * files in and out. Training runs in a Web Worker (worker.ts).
 * @module
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { fmt, h } from '../dom.ts';
import {
  type EpisodeRow,
  type FromWorker,
  PAGE_PRESETS,
  type PagePreset,
  type Speed,
  type ToWorker,
} from './protocol.ts';
import { parseSpeed, SPEEDS, speedNote } from './speed.ts';

const PRESET_TEXT: Record<PagePreset, string> = {
  tuned: 'tuned: DDPG, 256-256, batch 256 (solves it in ~20k steps)',
  paper: 'paper: Lillicrap et al. 2016, 400-300 + BatchNorm',
  td3: 'td3: Fujimoto et al. 2018',
};

function chartSpec(field: 'return' | 'avgMaxQ', title: string): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 400,
    height: 150,
    // Fixed room for the axes: vega's "pad" sizing did not grow when labels got longer.
    autosize: 'none',
    padding: { left: 62, right: 12, top: 8, bottom: 42 },
    data: { name: 'episodes' },
    transform: [{ filter: `datum.${field} != null` }],
    mark: { type: 'line', point: { size: 18 }, strokeWidth: 1.5 },
    encoding: {
      // Integer labels: with every point at one step (a loaded policy watched at step 0) the
      // default format printed the tick as "0.000000".
      x: {
        field: 'step',
        type: 'quantitative',
        title: 'environment steps',
        axis: { format: ',d', tickMinStep: 1, labelOverlap: true, labelSeparation: 6 },
      },
      y: { field, type: 'quantitative', title, scale: { zero: false } },
      color: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: { domain: ['train', 'watch'], range: ['#1f6feb', '#d62728'] },
        legend: null,
      },
    },
    config: { background: null as unknown as string, axis: { labelFontSize: 10, titleFontSize: 11 } },
  };
}

/** The kinds of rows a chart has drawn, for its caption. */
type Drawn = ReadonlySet<EpisodeRow['kind']>;

/** The return chart's caption: what is on it now (red only once Watch has played an episode). */
function returnNote(drawn: Drawn): string {
  const blue = 'blue: training episodes, with exploration noise';
  const red = 'red: the policy without noise';
  if (drawn.has('watch')) return drawn.has('train') ? `${blue}; ${red}` : red;
  return `${blue} (Watch adds the policy without noise in red)`;
}

class Chart {
  readonly box: HTMLElement;
  private view: vega.View;
  private readonly holder: HTMLElement;
  private readonly noteEl: HTMLElement;
  private n = 0;
  private readonly drawn = new Set<EpisodeRow['kind']>();
  constructor(
    field: 'return' | 'avgMaxQ',
    title: string,
    id: string,
    private readonly note: (drawn: Drawn) => string,
  ) {
    this.noteEl = h('span', { class: 'muted', 'data-role': 'note' }, ` · ${note(this.drawn)}`);
    this.box = h('figure', { class: 'chart', id, 'data-points': 0 }, h('figcaption', {}, title, this.noteEl));
    const holder = h('div', { class: 'chart-holder' });
    this.holder = holder;
    this.box.append(holder);
    this.view = new vega.View(vega.parse(vl.compile(chartSpec(field, title)).spec), {
      renderer: 'svg',
      container: holder,
      hover: false,
    });
    this.resize();
  }
  add(row: EpisodeRow): void {
    this.view.insert('episodes', [row]);
    this.n++;
    if (!this.drawn.has(row.kind)) {
      this.drawn.add(row.kind);
      this.noteEl.textContent = ` · ${this.note(this.drawn)}`;
    }
    const n = this.n;
    void this.view.runAsync().then(() => this.box.setAttribute('data-points', String(n)));
  }
  clear(): void {
    this.view.remove('episodes', () => true);
    this.n = 0;
    this.drawn.clear();
    this.noteEl.textContent = ` · ${this.note(this.drawn)}`;
    void this.view.runAsync().then(() => this.box.setAttribute('data-points', '0'));
  }
  /** Fit the plot to its box (the padding holds the axes). */
  resize(): void {
    const w = this.holder.clientWidth;
    if (w > 0) this.view.width(Math.max(160, w - 74));
    void this.view.runAsync();
  }
}

/** Mount the DDPG tab. `onState` receives the URL parameters to store. */
export function mountDdpg(
  root: HTMLElement,
  initial: URLSearchParams,
  onState: (p: URLSearchParams) => void,
): {
  shown(): void;
} {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

  const preset0 = initial.get('preset');
  let preset: PagePreset = PAGE_PRESETS.includes(preset0 as PagePreset) ? (preset0 as PagePreset) : 'tuned';
  let seed = Number.parseInt(initial.get('seed') ?? '0', 10) || 0;
  let speed: Speed = parseSpeed(initial.get('speed'));
  /** Steps/s of training at full speed on this machine, once measured (for the speed note). */
  let fullSpeed: number | undefined;
  /** The last training episode with updates, and when it arrived, while at full speed. */
  let lastUpdated: { step: number; at: number; inARow: number } | null = null;
  let running = false;

  const presetSel = h(
    'select',
    { id: 'preset' },
    ...PAGE_PRESETS.map((p) => h('option', { value: p }, PRESET_TEXT[p])),
  );
  presetSel.value = preset;
  const seedIn = h('input', {
    id: 'seed',
    type: 'number',
    min: 0,
    step: 1,
    value: seed,
    inputmode: 'numeric',
  });
  // Radio buttons: every speed one click away (full speed first, the default).
  const speedRadios = SPEEDS.map(({ value }) =>
    h('input', { type: 'radio', name: 'speed', id: `speed-${value}`, value, checked: value === speed }),
  );
  const speedNoteEl = h('p', { class: 'muted', id: 'speed-note', 'aria-live': 'polite' });
  const showSpeedNote = () => {
    speedNoteEl.textContent = speedNote(preset, speed, fullSpeed);
  };
  const speedGroup = h(
    'fieldset',
    { class: 'speed', id: 'speed' },
    h('legend', {}, 'Speed'),
    ...SPEEDS.map(({ text }, i) => h('label', { class: 'radio' }, speedRadios[i]!, ` ${text}`)),
    speedNoteEl,
  );
  const startBtn = h('button', { type: 'button', id: 'start' }, 'Start');
  const resetBtn = h('button', { type: 'button', id: 'reset' }, 'Reset');
  const watchBtn = h('button', { type: 'button', id: 'watch' }, 'Watch the policy');
  const downloadBtn = h('button', { type: 'button', id: 'download' }, 'Download actor (.safetensors)');
  const fileIn = h('input', { id: 'load', type: 'file', multiple: true, accept: '.safetensors,.json' });
  const status = h('p', { id: 'ddpg-status', 'aria-live': 'polite' });
  const errorBox = h('p', { class: 'error', role: 'alert', id: 'ddpg-error' });
  const loadedBox = h('div', { id: 'loaded', 'aria-live': 'polite' });
  const canvas = h('canvas', {
    id: 'pendulum',
    width: 260,
    height: 260,
    role: 'img',
    'aria-label': 'the pendulum',
  });
  const stats = {
    step: h('dd', { id: 'stat-step' }, '0'),
    episode: h('dd', { id: 'stat-episode' }, '0'),
    ret: h('dd', { id: 'stat-return' }, '—'),
    maxq: h('dd', { id: 'stat-maxq' }, '—'),
    sps: h('dd', { id: 'stat-sps' }, '—'),
    backend: h('dd', { id: 'stat-backend' }, '—'),
    threads: h('dd', { id: 'stat-threads' }, '—'),
  };
  /** Why training uses one thread, when it does (the page is not cross-origin isolated, ...). */
  const threadsNote = h('p', { id: 'threads-note', class: 'muted' });
  const returns = new Chart('return', 'Episode return', 'chart-return', returnNote);
  const maxq = new Chart(
    'avgMaxQ',
    'Average max Q',
    'chart-maxq',
    () => 'mean over each episode’s updates of the batch’s max Q',
  );

  root.append(
    h(
      'div',
      { class: 'ddpg' },
      h(
        'div',
        { class: 'panel controls' },
        h('h2', {}, 'Pendulum-v1, DDPG in a Web Worker'),
        h('label', { for: 'preset' }, 'Preset'),
        presetSel,
        h('label', { for: 'seed' }, 'Seed'),
        seedIn,
        speedGroup,
        h('div', { class: 'buttons' }, startBtn, resetBtn, watchBtn),
        h('div', { class: 'buttons' }, downloadBtn),
        h(
          'label',
          { for: 'load' },
          'Load an actor: a file downloaded here, or a run’s checkpoints/<ckpt>/agent.safetensors (select its state.json too)',
        ),
        fileIn,
        loadedBox,
        status,
        errorBox,
      ),
      h(
        'div',
        { class: 'panel stage' },
        canvas,
        h(
          'dl',
          { class: 'stats' },
          h('dt', {}, 'steps'),
          stats.step,
          h('dt', {}, 'episodes'),
          stats.episode,
          h('dt', {}, 'last return'),
          stats.ret,
          h('dt', {}, 'avg max Q'),
          stats.maxq,
          h('dt', {}, 'steps/s'),
          stats.sps,
          h('dt', {}, 'backend'),
          stats.backend,
          h('dt', {}, 'threads'),
          stats.threads,
        ),
        threadsNote,
      ),
      h('div', { class: 'panel charts' }, returns.box, maxq.box),
    ),
  );

  const publish = () => {
    const p = new URLSearchParams({ preset, seed: String(seed), speed });
    onState(p);
  };
  const reset = () => {
    errorBox.textContent = '';
    returns.clear();
    maxq.clear();
    send({ type: 'reset', preset, seed });
    send({ type: 'speed', speed });
    publish();
  };

  presetSel.addEventListener('change', () => {
    preset = presetSel.value as PagePreset;
    showSpeedNote();
    reset();
  });
  seedIn.addEventListener('change', () => {
    seed = Number.parseInt(seedIn.value, 10) || 0;
    reset();
  });
  for (const radio of speedRadios) {
    radio.addEventListener('change', () => {
      if (!radio.checked) return;
      speed = radio.value as Speed;
      lastUpdated = null;
      send({ type: 'speed', speed });
      showSpeedNote();
      publish();
    });
  }
  startBtn.addEventListener('click', () => send({ type: running ? 'pause' : 'start' }));
  resetBtn.addEventListener('click', reset);
  watchBtn.addEventListener('click', () => send({ type: 'watch' }));
  downloadBtn.addEventListener('click', () => send({ type: 'download' }));
  fileIn.addEventListener('change', async () => {
    const files = [...(fileIn.files ?? [])];
    const weights = files.find((f) => f.name.endsWith('.safetensors'));
    const manifest = files.find((f) => f.name.endsWith('.json'));
    if (!weights) {
      errorBox.textContent =
        'Select a .safetensors file (and, for a pnpm train run, the checkpoint’s state.json).';
      return;
    }
    errorBox.textContent = '';
    returns.clear();
    maxq.clear();
    const bytes = await weights.arrayBuffer();
    send(
      {
        type: 'load',
        bytes,
        name: weights.name,
        manifest: manifest ? await manifest.text() : undefined,
        preset,
        seed,
      },
      [bytes],
    );
  });

  /**
   * This machine's full-speed rate, between training episodes in a row that had updates (the
   * random warm-up runs far faster and would inflate it). The first such interval is skipped:
   * it includes the first updates' one-off costs and read about a third of the rate.
   */
  const measureFullSpeed = (row: EpisodeRow) => {
    if (speed !== 'max' || row.kind !== 'train' || row.avgMaxQ === null) {
      lastUpdated = null;
      return;
    }
    const now = performance.now();
    const inARow = (lastUpdated?.inARow ?? 0) + 1;
    if (lastUpdated && inARow >= 3 && row.step > lastUpdated.step && now > lastUpdated.at) {
      fullSpeed = (row.step - lastUpdated.step) / ((now - lastUpdated.at) / 1000);
      showSpeedNote();
    }
    lastUpdated = { step: row.step, at: now, inARow };
  };

  let pending: Extract<FromWorker, { type: 'frame' }> | null = null;
  const draw = () => {
    const f = pending;
    pending = null;
    if (!f) return;
    drawPendulum(canvas, f.theta, f.torque, f.mode);
    stats.step.textContent = String(f.step);
    stats.episode.textContent = String(f.episode);
  };

  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const m = e.data;
    switch (m.type) {
      case 'ready':
        stats.backend.textContent = m.backend;
        stats.threads.textContent = String(m.threads);
        threadsNote.textContent = m.threadsNote ? `One thread: ${m.threadsNote}.` : '';
        status.textContent = `${m.preset} preset, seed ${m.seed}, actor/critic hidden layers ${m.hidden}.`;
        break;
      case 'frame':
        if (!pending) requestAnimationFrame(draw);
        pending = m;
        break;
      case 'episode':
        returns.add(m.row);
        if (m.row.avgMaxQ !== null) {
          maxq.add(m.row);
          stats.maxq.textContent = fmt(m.row.avgMaxQ);
        }
        stats.ret.textContent = `${fmt(m.row.return)}${m.row.kind === 'watch' ? ' (policy)' : ''}`;
        if (m.stepsPerSecond > 0) stats.sps.textContent = m.stepsPerSecond.toFixed(0);
        measureFullSpeed(m.row);
        stats.step.textContent = String(m.row.step);
        stats.threads.dataset.blocksByWorkers = String(m.blocksByWorkers);
        if (m.row.kind === 'train') stats.episode.textContent = String(m.row.episode);
        break;
      case 'state':
        running = m.running;
        if (!running) lastUpdated = null;
        startBtn.textContent = running ? 'Pause' : 'Start';
        startBtn.setAttribute('aria-pressed', String(running));
        break;
      case 'file': {
        const url = URL.createObjectURL(new Blob([m.bytes], { type: 'application/octet-stream' }));
        const a = h('a', { href: url, download: m.name });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        break;
      }
      case 'loaded':
        loadedBox.replaceChildren(
          h(
            'p',
            {},
            `Loaded ${m.name}: ${m.keys.length} actor tensors, ${m.preset} config from ${m.configSource}.`,
          ),
          h(
            'p',
            {},
            'μ(s₀) for the first observation of reset({ seed }) = ',
            h('code', { id: 'loaded-action' }, `[${m.action.map((v) => v.toPrecision(8)).join(', ')}]`),
          ),
          h('p', { class: 'muted' }, 'It is playing now (red points: its episode returns).'),
        );
        break;
      case 'error':
        errorBox.textContent = m.message;
        break;
    }
  };
  worker.onerror = (e) => {
    errorBox.textContent = `worker: ${e.message}`;
  };

  reset();
  showSpeedNote();
  drawPendulum(canvas, Math.PI, 0, 'train');
  let resizeTimer: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      returns.resize();
      maxq.resize();
    }, 100);
  });
  return {
    shown() {
      returns.resize();
      maxq.resize();
      publish();
    },
  };
}

/** Draw the pendulum: θ = 0 is upright, the arc shows the torque. */
function drawPendulum(c: HTMLCanvasElement, theta: number, torque: number, mode: 'train' | 'watch'): void {
  const ctx = c.getContext('2d');
  if (!ctx) return;
  const w = c.width;
  const cx = w / 2;
  const cy = w / 2;
  const len = w * 0.36;
  ctx.clearRect(0, 0, w, w);
  ctx.fillStyle = '#f6f8fa';
  ctx.fillRect(0, 0, w, w);
  // Torque arc: its length is proportional to |u| (max 2).
  ctx.strokeStyle = '#d29922';
  ctx.lineWidth = 4;
  ctx.beginPath();
  const sweep = (Math.min(Math.abs(torque), 2) / 2) * Math.PI * 0.9;
  ctx.arc(cx, cy, len * 0.35, -Math.PI / 2, -Math.PI / 2 + (torque >= 0 ? -sweep : sweep), torque >= 0);
  ctx.stroke();
  // θ grows counter-clockwise, as in Gymnasium's rendering.
  const x = cx - len * Math.sin(theta);
  const y = cy - len * Math.cos(theta);
  ctx.strokeStyle = mode === 'watch' ? '#d62728' : '#1f6feb';
  ctx.lineWidth = 12;
  ctx.lineCap = 'round';
  ctx.beginPath();
  ctx.moveTo(cx, cy);
  ctx.lineTo(x, y);
  ctx.stroke();
  ctx.fillStyle = '#24292f';
  ctx.beginPath();
  ctx.arc(cx, cy, 5, 0, 2 * Math.PI);
  ctx.fill();
}
