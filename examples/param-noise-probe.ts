/**
 * Why DDPG with parameter noise "does nothing" on MountainCarContinuous-v0 unless the
 * observations are normalised: a probe with no training at all.
 *
 * It builds the actor parameter noise uses (LayerNorm hidden layers, tanh output; the
 * `tuned` sizes), perturbs it the way `AdaptiveParamNoise` does, with σ set so that the
 * perturbed actions differ from the unperturbed ones by 0.5 (the target distance of the
 * runs), and drives one episode with each perturbed policy. It does so twice: on raw
 * observations, and on observations normalised with the statistics of random-action
 * warm-up steps (what `--normalize-obs` gives the agent).
 *
 * The physics says what to expect. Velocity lies in ±0.07 while position spans −1.2 … 0.6,
 * so on raw observations a random network's action is almost a function of position
 * alone, a(x). A force that depends only on position is conservative: over any swing it
 * returns the energy it gave, so such a policy can never pump the car up the hill. Pumping
 * needs the action to follow the velocity's sign.
 *
 *   npx tsx examples/param-noise-probe.ts [policies]
 * @module
 */

import * as A from '@chainrule/autograd';
import { Actor, AdaptiveParamNoise, makeEnv } from '@chainrule/ddpg';
import * as T from '@chainrule/tensor';
import { Rng } from '@chainrule/tensor';

/** What the probe found for one observation scaling. */
export interface ProbeRow {
  observations: 'raw' | 'normalised';
  /** Perturbed policies driven for one episode each. */
  policies: number;
  /** Of those, the ones whose episode reached the flag (position ≥ 0.45). */
  reachedGoal: number;
  /** Mean over policies of the highest position reached. */
  meanMaxPosition: number;
  /**
   * Mean over policies of the velocity's share of the action's sensitivity: on warm-up
   * states, |a(x, v ± σv)| changes against |a(x ± σx, v)| changes (σ: the warm-up spread),
   * |Δv a| / (|Δx a| + |Δv a|). 0: the action depends on position only; pumping needs it high.
   */
  velocityShare: number;
  /** Mean σ that gave the 0.5 action distance. */
  meanSigma: number;
}

const OBS = 2;
const TARGET_DISTANCE = 0.5;

function actorFor(rng: Rng): Actor {
  return new Actor(OBS, 1, [-1], [1], {
    hidden: [256, 256],
    batchNorm: false,
    layerNorm: true,
    finalInit: 3e-3,
    rng,
  });
}

function act(actor: Actor, rows: number[][]): Float32Array {
  return T.tidy(() =>
    A.noGrad(() => actor.forward(A.input(T.tensor(rows))).value.dataSync() as Float32Array),
  );
}

/** Observation statistics of random-action steps (the agent's warm-up). */
function warmupStatistics(steps: number, rng: Rng): { mean: number[]; std: number[] } {
  const env = makeEnv('MountainCarContinuous-v0');
  let obs = Array.from(env.reset({ seed: 1000 }).observation);
  const seen: number[][] = [];
  for (let i = 0; i < steps; i++) {
    seen.push(obs);
    const r = env.step([rng.uniform(-1, 1)]);
    obs = Array.from(r.observation);
    if (r.terminated || r.truncated) obs = Array.from(env.reset().observation);
  }
  const mean = [0, 1].map((j) => seen.reduce((s, o) => s + o[j]!, 0) / seen.length);
  const std = [0, 1].map((j) =>
    Math.sqrt(seen.reduce((s, o) => s + (o[j]! - mean[j]!) ** 2, 0) / seen.length + 1e-8),
  );
  return { mean, std };
}

/** σ that makes the perturbed actions differ from the actor's by the target distance on `states` (bisection in log σ). */
function calibrate(actor: Actor, perturbed: Actor, states: number[][], rng: Rng): number {
  const noise = new AdaptiveParamNoise({ initialStddev: 0.1, desiredActionStddev: TARGET_DISTANCE });
  const base = act(actor, states);
  const distance = (sigma: number): number => {
    noise.setState({ kind: 'adaptive-param', currentStddev: sigma });
    noise.perturb(actor, perturbed, rng);
    const a = act(perturbed, states);
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i]! - base[i]!) ** 2;
    return Math.sqrt(s / a.length);
  };
  let lo = Math.log(1e-3);
  let hi = Math.log(10);
  for (let i = 0; i < 14; i++) {
    const mid = (lo + hi) / 2;
    if (distance(Math.exp(mid)) > TARGET_DISTANCE) hi = mid;
    else lo = mid;
  }
  return Math.exp((lo + hi) / 2);
}

/** |Δv a| / (|Δx a| + |Δv a|) over `raw` states, each input moved by one warm-up standard deviation. */
function velocityShare(
  actor: Actor,
  raw: number[][],
  std: number[],
  scale: (o: ArrayLike<number>) => number[],
): number {
  const moved = (j: number, sign: number) =>
    raw.map((o) => scale(o.map((v, i) => (i === j ? v + sign * std[j]! : v))));
  const change = (j: number): number => {
    const up = act(actor, moved(j, 1));
    const down = act(actor, moved(j, -1));
    let s = 0;
    for (let i = 0; i < up.length; i++) s += Math.abs(up[i]! - down[i]!);
    return s / up.length;
  };
  const dx = change(0);
  const dv = change(1);
  return dx + dv > 0 ? dv / (dx + dv) : 0;
}

/** Drive `policies` perturbed actors for one episode each, on raw and on normalised observations. */
export function probe(policies = 20, seed = 0): ProbeRow[] {
  const rng = new Rng(seed);
  const stats = warmupStatistics(1000, rng);
  const rows: ProbeRow[] = [];
  for (const observations of ['raw', 'normalised'] as const) {
    const scale = (o: ArrayLike<number>): number[] =>
      observations === 'raw' ? Array.from(o) : Array.from(o, (v, j) => (v - stats.mean[j]!) / stats.std[j]!);
    // States to calibrate σ and measure sensitivity on: the warm-up distribution.
    const raw: number[][] = [];
    for (let i = 0; i < 64; i++) {
      raw.push([
        stats.mean[0]! + stats.std[0]! * rng.normal(),
        stats.mean[1]! + stats.std[1]! * rng.normal(),
      ]);
    }
    const states = raw.map((o) => scale(o));
    let reached = 0;
    let maxPos = 0;
    let share = 0;
    let sigmas = 0;
    for (let k = 0; k < policies; k++) {
      const actor = actorFor(rng);
      const perturbed = actorFor(rng);
      sigmas += calibrate(actor, perturbed, states, rng);
      const env = makeEnv('MountainCarContinuous-v0');
      let obs = env.reset({ seed: k }).observation;
      let best = -Infinity;
      share += velocityShare(perturbed, raw, stats.std, scale);
      for (let t = 0; t < 999; t++) {
        const a = act(perturbed, [scale(obs)])[0]!;
        const r = env.step([a]);
        obs = r.observation;
        best = Math.max(best, obs[0]!);
        if (r.terminated || r.truncated) break;
      }
      if (best >= 0.45) reached++;
      maxPos += best;
      for (const m of [actor, perturbed]) m.dispose();
    }
    rows.push({
      observations,
      policies,
      reachedGoal: reached,
      meanMaxPosition: maxPos / policies,
      velocityShare: share / policies,
      meanSigma: sigmas / policies,
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const policies = Number(process.argv[2] ?? 20);
  console.log(
    '| observations | perturbed policies | reached the flag | mean highest position | velocity share of the action | mean σ |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of probe(policies)) {
    console.log(
      `| ${r.observations} | ${r.policies} | ${r.reachedGoal} | ${r.meanMaxPosition.toFixed(3)} | ${r.velocityShare.toFixed(2)} | ${r.meanSigma.toFixed(3)} |`,
    );
  }
}
