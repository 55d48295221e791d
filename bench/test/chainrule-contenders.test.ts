import { createAgent, makeConfig } from '@chainrule/ddpg';
import { listBackends, withBackend } from '@chainrule/tensor';
import { describe, expect, it } from 'vitest';
import { CASE, matmulCase } from '../src/cases.ts';
import { chainruleBackends, chainruleContenders, chainruleMatmul } from '../src/contenders/chainrule.ts';
import { chainruleParamName, loadAgentParams } from '../src/contenders/chainrule-nets.ts';
import { runContender, type SamplingPlan } from '../src/harness.ts';
import { ddpgInitialParams } from '../src/inputs.ts';
import { PAPER_CRITIC, PAPER_PRESET, PENDULUM, TD3_PRESET } from '../src/specs.ts';

const TINY_PLAN: SamplingPlan = {
  timeMs: 20,
  samples: 5,
  minSamples: 2,
  maxTaskMs: 500,
  warmupMs: 0,
  warmupIterations: 1,
  noWarmupAboveMs: 100,
};

// gpujs is exercised by its own test script (it may need a GL context); js and wasm here.
const backends = ['js', 'wasm'].filter((b) => listBackends().includes(b));

const spaces = {
  obsDim: PENDULUM.obsDim,
  actDim: PENDULUM.actDim,
  actionLow: [-PENDULUM.actionBound],
  actionHigh: [PENDULUM.actionBound],
};

describe('chainrule contenders', () => {
  it('cover every case on every float32 backend, with e2e on one backend', () => {
    expect(chainruleBackends()).toContain('js');
    const all = chainruleContenders();
    for (const b of chainruleBackends()) {
      const cases = all.filter((c) => c.backend === b && c.case !== CASE.e2ePendulum).map((c) => c.case);
      expect(cases.sort()).toEqual(
        Object.values(CASE)
          .filter((n) => n !== CASE.e2ePendulum)
          .sort(),
      );
    }
    expect(all.filter((c) => c.case === CASE.e2ePendulum)).toHaveLength(1);
    expect(all.every((c) => c.impl === 'chainrule')).toBe(true);
  });

  it.each(backends)('matmul on %s passes the harness (reference check, leak check)', async (backend) => {
    const row = await runContender(chainruleMatmul(8, 8, 8, backend), matmulCase(8, 8, 8), TINY_PLAN);
    expect(row).toMatchObject({ case: 'matmul 8x8x8', impl: 'chainrule', backend, status: 'ok' });
    expect(row.error).toBeUndefined();
    expect(row.samples).toBeGreaterThanOrEqual(2);
  });

  it('maps the bench parameter names onto chainrule modules', () => {
    expect(chainruleParamName(PAPER_CRITIC, 'critic.l0.w')).toBe('fc1.weight');
    expect(chainruleParamName(PAPER_CRITIC, 'critic.l0.gamma')).toBe('bn1.weight');
    expect(chainruleParamName(PAPER_CRITIC, 'critic.l0.beta')).toBe('bn1.bias');
    expect(chainruleParamName(PAPER_CRITIC, 'critic.l2.b')).toBe('out.bias');
    expect(() => chainruleParamName(PAPER_CRITIC, 'actor.l0.w')).toThrow(/unexpected parameter/);
  });

  it('loads the bench initial parameters into the paper and TD3 agents (online and target)', () => {
    withBackend('js', () => {
      const init = ddpgInitialParams(PAPER_PRESET);
      const ddpg = createAgent(spaces, makeConfig('paper'), 1);
      loadAgentParams(ddpg, PAPER_PRESET.actor, init, [
        { spec: PAPER_PRESET.critics[0]!, online: ddpg.critic, target: ddpg.criticTarget },
      ]);
      const w = Array.from(ddpg.critic.layers[1]!.weight.value.dataSync());
      expect(w).toEqual(Array.from(init.critics[0]!.find((p) => p.name === 'critic.l1.w')!.data));
      expect(Array.from(ddpg.criticTarget.layers[1]!.weight.value.dataSync())).toEqual(w);
      expect(Array.from(ddpg.actorTarget.out.weight.value.dataSync())).toEqual(
        Array.from(init.actor.find((p) => p.name === 'actor.l2.w')!.data),
      );

      const tinit = ddpgInitialParams(TD3_PRESET);
      const td3 = createAgent(spaces, makeConfig('td3'), 1);
      loadAgentParams(td3, TD3_PRESET.actor, tinit, [
        { spec: TD3_PRESET.critics[0]!, online: td3.critic, target: td3.criticTarget },
        { spec: TD3_PRESET.critics[1]!, online: td3.critic2!, target: td3.critic2Target! },
      ]);
      expect(Array.from(td3.critic2Target!.layers[0]!.weight.value.dataSync())).toEqual(
        Array.from(tinit.critics[1]!.find((p) => p.name === 'critic2.l0.w')!.data),
      );
      // A network whose layout does not match is a clear error, not a silent seeded init.
      expect(() =>
        loadAgentParams(td3, PAPER_PRESET.actor, init, [
          { spec: TD3_PRESET.critics[0]!, online: td3.critic, target: td3.criticTarget },
        ]),
      ).toThrow(/^actor: /);
    });
  });
});
