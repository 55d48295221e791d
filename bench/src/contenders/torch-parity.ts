/**
 * Does the PyTorch contender compute what chainrule computes? One update from the same
 * state (the bench's initial parameters, fresh Adam moments, the fixed batch), compared
 * tensor by tensor under chainrule's `agent.tensors()` names.
 *
 * Tolerances follow what one float32 update can and cannot differ by:
 * - Adam moments after one step are m = (1−β₁)g and v = (1−β₂)g²: a direct check of every
 *   gradient, to `1e-3·|x| + 1e-5·max|x|` over that optimiser's slot (summation order
 *   differs between the libraries; a formula error is of the order of the values).
 * - A parameter moves by lr·m̂/(√v̂ + ε) ≈ ±lr, so it must agree to `1e-3·lr` plus float32
 *   rounding, except where the gradient itself is at rounding level (|m| under the moment
 *   floor above; e.g. a bias feeding a BatchNorm, whose true gradient is 0): there the sign
 *   is noise and the step may differ by up to 2·lr.
 * - A target moves by τ times its network's step, so the same bounds times τ.
 * - BatchNorm running statistics and the losses: `1e-4` relative.
 *
 * @module
 */

import { type AgentConfig, makeConfig, type Td3Config } from '@chainrule/ddpg';
import { DEFAULT_BACKEND, getBackend, tidy, withBackend } from '@chainrule/tensor';
import { ddpgBatch } from '../inputs.ts';
import type { DdpgPreset } from '../specs.ts';
import { batchTensorList, batchTensors, benchAgent } from './chainrule-nets.ts';

/** An agent's tensors (chainrule names and layouts) and its losses after an update. */
export interface AgentState {
  readonly tensors: ReadonlyMap<string, Float32Array>;
  readonly criticLoss: number;
  /** −mean Q(s, μ(s)) of the actor step. */
  readonly actorLoss: number;
}

const MOMENT_RTOL = 1e-3;
const MOMENT_FLOOR = 1e-5;
const STEP_RTOL = 1e-3;
const STAT_RTOL = 1e-4;
const LOSS_RTOL = 1e-4;

/** Float32 spacing near x (an upper bound: 2⁻²³·|x|), with a floor for zeros. */
const ulp32 = (x: number): number => Math.abs(x) * 2 ** -23 + 1e-30;

function defaultBackend(): string {
  try {
    return getBackend().name;
  } catch {
    return DEFAULT_BACKEND;
  }
}

/**
 * One chainrule update (`policyDelay` calls of `updateOn`, i.e. one bench iteration) of
 * `preset` from the bench's initial state, on `backend` (default: chainrule's default).
 */
export function chainruleOneUpdate(preset: DdpgPreset, backend: string = defaultBackend()): AgentState {
  return withBackend(backend, () => {
    const agent = benchAgent(preset, makeConfig(preset.name), 1);
    const batch = batchTensors(ddpgBatch(preset.batch));
    try {
      let stats = { criticLoss: Number.NaN, actorLoss: Number.NaN };
      for (let k = 0; k < preset.policyDelay; k++) stats = tidy(() => agent.updateOn(batch));
      const tensors = new Map<string, Float32Array>();
      tidy(() => {
        for (const [name, t] of Object.entries(agent.tensors()))
          tensors.set(name, Float32Array.from(t.dataSync()));
      });
      return { tensors, criticLoss: stats.criticLoss, actorLoss: stats.actorLoss };
    } finally {
      for (const [, m] of agent.modules()) m.dispose();
      for (const [, o] of agent.optimizers()) o.dispose();
      for (const t of batchTensorList(batch)) t.dispose();
    }
  });
}

/** Result of {@link compareUpdates}. */
export interface UpdateComparison {
  readonly ok: boolean;
  /** max over checked values of |torch − chainrule| / tolerance (≤ 1 passes). */
  readonly worstRatio: number;
  readonly message: string;
  /**
   * Online parameters whose gradient is zero (dead ReLU units) or at rounding level: allowed
   * a 2·lr step difference, since the sign of their first Adam step is not determined.
   */
  readonly noisy: number;
  /** Values compared. */
  readonly checked: number;
}

const NETS: Readonly<Record<string, string>> = {
  actor: 'actor',
  critic: 'critic',
  critic2: 'critic2',
  actorTarget: 'actor',
  criticTarget: 'critic',
  critic2Target: 'critic2',
};

/**
 * Compare an update by PyTorch with chainrule's, both from the initial parameters `init`
 * (chainrule agent names, e.g. `actor.fc1.weight`). See the module comment for the bounds.
 */
export function compareUpdates(
  init: ReadonlyMap<string, { readonly data: Float32Array }>,
  chainrule: AgentState,
  torch: AgentState,
  cfg: AgentConfig,
): UpdateComparison {
  const fail = (message: string): UpdateComparison => ({
    ok: false,
    worstRatio: Number.POSITIVE_INFINITY,
    message,
    noisy: 0,
    checked: 0,
  });
  const mine = chainrule.tensors;
  const theirs = torch.tensors;
  const missing = [...mine.keys()].filter((k) => !theirs.has(k));
  const extra = [...theirs.keys()].filter((k) => !mine.has(k));
  if (missing.length || extra.length) {
    const list = (ks: string[]) => ks.slice(0, 6).join(', ') + (ks.length > 6 ? `, … (${ks.length})` : '');
    return fail(
      `tensor names differ: ${missing.length ? `missing in PyTorch: ${list(missing)}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `only in PyTorch: ${list(extra)}` : ''}`,
    );
  }
  for (const [k, v] of mine) {
    if (theirs.get(k)!.length !== v.length)
      return fail(`${k}: PyTorch has ${theirs.get(k)!.length} values, chainrule ${v.length}`);
  }

  // The moment floor of each optimiser slot: 1e-5 of the slot's largest value.
  const floor = new Map<string, number>();
  for (const [k, v] of mine) {
    const m = /^opt\.(\w+)\.\d+\.(m|v)$/.exec(k);
    if (!m) continue;
    const slot = `${m[1]}.${m[2]}`;
    let mx = floor.get(slot) ?? 0;
    for (const x of v) mx = Math.max(mx, Math.abs(x) * MOMENT_FLOOR);
    floor.set(slot, mx);
  }
  // Parameter index in its optimiser = its position among the net's parameters (stateDict order).
  const paramIndex = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const k of mine.keys()) {
    if (!init.has(k)) continue;
    const net = k.slice(0, k.indexOf('.'));
    const i = counts.get(net) ?? 0;
    paramIndex.set(k, i);
    counts.set(net, i + 1);
  }

  let worst = 0;
  let where = '';
  let checked = 0;
  let noisy = 0;
  const check = (name: string, got: number, want: number, tol: number): void => {
    const r = Number.isNaN(got) || Number.isNaN(want) ? Number.POSITIVE_INFINITY : Math.abs(got - want) / tol;
    checked++;
    if (r > worst || where === '') {
      worst = r;
      where = `${name}: PyTorch ${got}, chainrule ${want} ± ${tol.toExponential(2)}`;
    }
  };

  check(
    'critic loss',
    torch.criticLoss,
    chainrule.criticLoss,
    LOSS_RTOL * Math.abs(chainrule.criticLoss) + 1e-6,
  );
  check('actor loss', torch.actorLoss, chainrule.actorLoss, LOSS_RTOL * Math.abs(chainrule.actorLoss) + 1e-6);

  for (const [k, want] of mine) {
    const got = theirs.get(k)!;
    const opt = /^opt\.(\w+)\.\d+\.(m|v)$/.exec(k);
    if (opt) {
      const fl = floor.get(`${opt[1]}.${opt[2]}`)!;
      for (let i = 0; i < want.length; i++)
        check(`${k}[${i}]`, got[i]!, want[i]!, MOMENT_RTOL * Math.abs(want[i]!) + fl + 1e-30);
      continue;
    }
    const dot = k.indexOf('.');
    const netKey = k.slice(0, dot);
    const online = `${NETS[netKey] ?? netKey}${k.slice(dot)}`;
    if (init.has(online)) {
      const net = NETS[netKey]!;
      const lr = net === 'actor' ? cfg.actorLr : cfg.criticLr;
      const scale = netKey === net ? 1 : (cfg as Td3Config).tau;
      const m = mine.get(`opt.${net}.${paramIndex.get(online)}.m`);
      const fl = floor.get(`${net}.m`) ?? 0;
      if (!m) throw new Error(`no Adam first moment for ${online}`);
      for (let i = 0; i < want.length; i++) {
        const isNoise = Math.abs(m[i]!) <= fl;
        if (isNoise && netKey === net) noisy++;
        const step = isNoise ? 2 * lr * (1 + STEP_RTOL) : STEP_RTOL * lr;
        check(`${k}[${i}]`, got[i]!, want[i]!, scale * step + 4 * ulp32(want[i]!));
      }
      continue;
    }
    // Buffers: BatchNorm running statistics.
    let mx = 0;
    for (const x of want) mx = Math.max(mx, Math.abs(x));
    for (let i = 0; i < want.length; i++)
      check(`${k}[${i}]`, got[i]!, want[i]!, STAT_RTOL * Math.abs(want[i]!) + 1e-6 * mx + 1e-12);
  }
  return {
    ok: worst <= 1,
    worstRatio: worst,
    message: `worst ${where} (error/tolerance ${worst.toPrecision(3)}; ${noisy} parameter(s) with a zero or rounding-level gradient)`,
    noisy,
    checked,
  };
}
