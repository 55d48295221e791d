import { describe, expect, it } from 'vitest';
import { type BenchCase, CASE, compareOutput, concatParts, defaultCases, matmulCase } from '../src/cases.ts';
import {
  jaxjsAdam,
  jaxjsBatchnorm,
  jaxjsContenders,
  jaxjsDdpg,
  jaxjsDense,
  jaxjsEnv,
  jaxjsMatmul,
} from '../src/contenders/jaxjs.ts';
import { useTfjsBackend } from '../src/contenders/tfjs-env.ts';
import { TfDdpg } from '../src/contenders/tfjs-nets.ts';
import type { Contender } from '../src/harness.ts';
import { ddpgBatch, ddpgInitialParams } from '../src/inputs.ts';
import { PAPER_PRESET, type ParamInit, TD3_PRESET } from '../src/specs.ts';

// @jax-js/jax is an optional dependency of the bench: without it these tests are skipped.
const messages: string[] = [];
const env = await jaxjsEnv((m) => messages.push(m));

const caseByName = (name: string): BenchCase => {
  const c = defaultCases().find((bc) => bc.name === name);
  if (!c) throw new Error(`no case ${name}`);
  return c;
};

/**
 * The harness's check, untimed: setup, one run, output against the float64 reference; then
 * the live-buffer count must hold over two more runs and fall back after teardown.
 */
async function checkOnce(c: Contender, bc: BenchCase): Promise<void> {
  const liveBefore = c.liveObjects!();
  await c.setup();
  try {
    await c.run();
    const cmp = compareOutput(c.output!(), bc.reference!());
    expect(cmp.ok, cmp.message).toBe(true);
    const live = c.liveObjects!();
    await c.run();
    await c.run();
    expect(c.liveObjects!()).toBe(live);
  } finally {
    await c.teardown?.();
  }
  expect(c.liveObjects!()).toBe(liveBefore);
}

/** Flattened `initParams`-order values of tfjs variables. */
const flat = (vs: { dataSync(): ArrayLike<number> }[]): Float32Array =>
  concatParts(vs.map((v) => v.dataSync()));

describe.skipIf(!env)('jax-js contenders', () => {
  it('load with a live-buffer count and cover every case but e2e', async () => {
    expect(messages.filter((m) => m.includes('jax-js'))).toEqual([]);
    expect(env!.liveObjects).toBeTypeOf('function');
    const all = await jaxjsContenders();
    expect(all.every((c) => c.impl === 'jax-js' && c.backend === 'wasm')).toBe(true);
    expect(all.every((c) => c.liveObjects !== undefined)).toBe(true);
    expect(all.map((c) => c.case).sort()).toEqual(
      Object.values(CASE)
        .filter((n) => n !== CASE.e2ePendulum)
        .sort(),
    );
  });

  it.each([
    [8, 8, 8],
    [64, 3, 400],
    [64, 400, 300],
  ])('matmul %ix%ix%i matches the reference without leaking', async (m, k, n) => {
    await checkOnce(jaxjsMatmul(env!, m, k, n), matmulCase(m, k, n));
  });

  it('dense fwd+bwd matches the reference without leaking', async () => {
    await checkOnce(jaxjsDense(env!), caseByName(CASE.dense));
  });

  it('batch norm fwd+bwd matches the reference without leaking', async () => {
    await checkOnce(jaxjsBatchnorm(env!), caseByName(CASE.batchnorm));
  });

  it('the Adam step matches the reference without leaking', async () => {
    await checkOnce(jaxjsAdam(env!), caseByName(CASE.adam));
  });

  it('one paper DDPG cycle matches tfjs (same initial parameters, same batch)', async () => {
    const preset = PAPER_PRESET;
    const init = ddpgInitialParams(preset);
    await useTfjsBackend('cpu');
    const tf = new TfDdpg(preset, init, ddpgBatch(preset.batch));
    const c = jaxjsDdpg(env!, preset, CASE.ddpgPaper);
    await c.setup();
    try {
      const live = c.liveObjects!();
      tf.cycle();
      c.run();
      const jx = c.snapshot();
      expect(jx.criticLosses).toHaveLength(1);
      expect(Math.abs(jx.criticLosses[0]! - tf.lastCriticLoss)).toBeLessThan(1e-5 * tf.lastCriticLoss);
      // Each parameter moved by about one Adam step (lr·sign g); both must agree to 1 % of
      // it, except the biases feeding a batch norm: their gradient is 0 up to rounding, so
      // Adam's normalisation turns rounding noise into steps of either sign.
      const check = (name: string, got: Float32Array, want: Float32Array, p0: readonly ParamInit[]) => {
        let o = 0;
        let bad = 0;
        for (const p of p0) {
          const preBn = p.name.endsWith('.b') && p0.some((q) => q.name === p.name.replace(/\.b$/, '.gamma'));
          for (let i = 0; i < p.data.length; i++, o++) {
            const step = Math.abs(want[o]! - p.data[i]!);
            if (!preBn && Math.abs(got[o]! - want[o]!) > 1e-6 + 0.01 * step) bad++;
          }
        }
        expect(o, name).toBe(want.length);
        expect(bad, `${name}: elements that differ from tfjs`).toBe(0);
      };
      check('actor', jx.actor, flat(tf.actor.variables()), init.actor);
      check('critic', jx.critics[0]!, flat(tf.critics[0]!.variables()), init.critics[0]!);
      c.run();
      expect(c.liveObjects!()).toBe(live);
    } finally {
      await c.teardown?.();
      tf.dispose();
    }
  });

  it('one TD3 cycle runs (2 critic losses) without leaking', async () => {
    const c = jaxjsDdpg(env!, TD3_PRESET, CASE.ddpgTd3);
    await c.setup();
    try {
      const live = c.liveObjects!();
      c.run();
      const { criticLosses } = c.snapshot();
      expect(criticLosses).toHaveLength(2);
      expect(criticLosses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
      c.run();
      expect(c.liveObjects!()).toBe(live);
    } finally {
      await c.teardown?.();
    }
  });
});
