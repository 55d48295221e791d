/**
 * The playground page: two tabs (the autograd explorer and DDPG live) and the URL hash
 * that records which tab is open and its state, so a link reproduces the view:
 * `#explorer?ex=actor-chain&step=5`, `#ddpg?preset=tuned&seed=0&speed=1`.
 * @module
 */
import './style.css';
import { mountDdpg } from './ddpg/view.ts';
import { mountExplorer } from './explorer/view.ts';

type Tab = 'explorer' | 'ddpg';
const TABS: Tab[] = ['explorer', 'ddpg'];

function readHash(): { tab: Tab; params: URLSearchParams } {
  const raw = location.hash.slice(1);
  const q = raw.indexOf('?');
  const name = q < 0 ? raw : raw.slice(0, q);
  const tab: Tab = name === 'ddpg' ? 'ddpg' : 'explorer';
  return { tab, params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

const initial = readHash();
const state: Record<Tab, URLSearchParams> = {
  explorer: initial.tab === 'explorer' ? initial.params : new URLSearchParams(),
  ddpg: initial.tab === 'ddpg' ? initial.params : new URLSearchParams(),
};
let current: Tab = initial.tab;

function writeHash(): void {
  const q = state[current].toString();
  history.replaceState(null, '', `#${current}${q ? `?${q}` : ''}`);
}

const explorerPanel = document.getElementById('panel-explorer')!;
const ddpgPanel = document.getElementById('panel-ddpg')!;
mountExplorer(explorerPanel, state.explorer, (p) => {
  state.explorer = p;
  if (current === 'explorer') writeHash();
});
// The worker (and its wasm) starts only when the DDPG tab is first opened.
let ddpg: ReturnType<typeof mountDdpg> | null = null;

function select(tab: Tab, focus = false): void {
  current = tab;
  for (const t of TABS) {
    const button = document.getElementById(`tab-${t}`)!;
    const on = t === tab;
    button.setAttribute('aria-selected', String(on));
    button.tabIndex = on ? 0 : -1;
    document.getElementById(`panel-${t}`)!.hidden = !on;
    if (on && focus) button.focus();
  }
  if (tab === 'ddpg') {
    ddpg ??= mountDdpg(ddpgPanel, state.ddpg, (p) => {
      state.ddpg = p;
      if (current === 'ddpg') writeHash();
    });
    ddpg.shown();
  }
  writeHash();
}

// Tabs follow the WAI-ARIA pattern: click or Enter/Space selects; arrows move between tabs.
for (const t of TABS) {
  const button = document.getElementById(`tab-${t}`)!;
  button.addEventListener('click', () => select(t));
  button.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft' && e.key !== 'Home' && e.key !== 'End') return;
    e.preventDefault();
    const i = TABS.indexOf(t);
    const j =
      e.key === 'Home'
        ? 0
        : e.key === 'End'
          ? TABS.length - 1
          : (i + (e.key === 'ArrowRight' ? 1 : -1) + TABS.length) % TABS.length;
    select(TABS[j]!, true);
  });
}
window.addEventListener('hashchange', () => {
  const h = readHash();
  if (h.tab !== current) select(h.tab);
});
select(current);
