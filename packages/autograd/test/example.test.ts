/**
 * examples/actor-gradient.ts: the DDPG actor gradient computed the TF1 way and the PyTorch
 * way must agree, and the script must run and print what the docs quote.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { actorGradientBothWays, SIZES } from '../../../examples/actor-gradient.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');

describe('examples/actor-gradient.ts', () => {
  it.each([0, 1, 2, 7, 42, 12345])('the TF1 way and the PyTorch way agree to 1e-12 (seed %i)', (seed) => {
    const r = actorGradientBothWays(seed);
    expect(r.names).toEqual(['actor.W1', 'actor.b1', 'actor.W2', 'actor.b2']);
    expect(r.tf1.map((t) => t.shape)).toEqual(r.shapes);
    expect(r.pytorch.map((t) => t.shape)).toEqual(r.shapes);
    expect(r.maxAbsDiff).toBeLessThan(1e-12);
    // A gradient that is zero everywhere would agree trivially; make sure something flowed.
    const norm = r.tf1.reduce((acc, t) => acc + Array.from(t.dataSync()).reduce((s, v) => s + v * v, 0), 0);
    expect(norm).toBeGreaterThan(1e-8);
    expect(r.dQda.shape).toEqual([SIZES.batch, SIZES.action]);
    // grad() leaves .grad alone; loss.backward() writes the critic's .grad as well,
    // and agrees with grad() on the actor.
    expect(r.gradLeftDotGradAlone).toBe(true);
    expect(r.backwardTouchedCritic).toBe(true);
    expect(r.backwardMaxAbsDiff).toBeLessThan(1e-12);
  });

  it('step 1a runs only critic rules and computes no critic parameter gradient', () => {
    const r = actorGradientBothWays(0);
    const ops = r.stepsCritic.map((s) => s.op);
    // tanh is used only by the actor, so it must not fire while computing dQ/da.
    expect(ops).not.toContain('tanh');
    expect(ops[0]).toBe('sum');
    // Every critic matmul is x·W with W a critic parameter: the rule must skip dW.
    for (const s of r.stepsCritic.filter((s) => s.op === 'matmul')) expect(s.ruleShapes[1]).toBeNull();
    // No bias gradient is un-broadcast: the critic's biases are not wanted.
    expect(r.stepsCritic.flatMap((s) => s.unbroadcasts)).toEqual([]);
  });

  it('step 1b runs only actor rules and un-broadcasts both actor biases', () => {
    const r = actorGradientBothWays(0);
    expect(r.stepsActor.map((s) => s.op)).toEqual(['mul', 'tanh', 'add', 'matmul', 'relu', 'add', 'matmul']);
    const ub = r.stepsActor.flatMap((s) => s.unbroadcasts);
    expect(ub).toEqual([
      { input: 1, from: [SIZES.batch, SIZES.action], to: [SIZES.action], axes: [0] },
      { input: 1, from: [SIZES.batch, SIZES.actorHidden], to: [SIZES.actorHidden], axes: [0] },
    ]);
    // The states s do not require a gradient, so the first matmul gives none for them.
    expect(r.stepsActor.at(-1)!.ruleShapes[0]).toBeNull();
  });

  it('draws the whole graph, actor and critic, before grad() frees it', () => {
    const r = actorGradientBothWays(0);
    expect(r.mermaid.startsWith('flowchart BT')).toBe(true);
    for (const name of ['actor.W1', 'actor.b2', 'critic.Wa', 'critic.b3', 'a = μ(s)', 'Q(s,a)']) {
      expect(r.mermaid).toContain(name);
    }
  });

  it('is deterministic for a seed', () => {
    const a = actorGradientBothWays(3);
    const b = actorGradientBothWays(3);
    a.tf1.forEach((t, i) => {
      expect(Array.from(t.dataSync())).toEqual(Array.from(b.tf1[i]!.dataSync()));
    });
  });

  it('runs as a script and prints the comparison, the graph and the trace', () => {
    const require = createRequire(import.meta.url);
    const tsxCli = require.resolve('tsx/cli');
    const out = execFileSync(process.execPath, [tsxCli, 'examples/actor-gradient.ts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out).toContain('max |difference|');
    expect(out).toContain('flowchart BT');
    expect(out).toContain('un-broadcast input 1: sum [4,5] over axes [0] → [5]');
    const m = /max \|difference\| between \(1\) and \(2\): (\S+)/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(1e-12);
  });
});
