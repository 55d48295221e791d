/**
 * An agent for the update benches: Pendulum's spaces, seed 0, and `transitions` seeded
 * random transitions in its replay buffer, so `agent.update()` trains from the first call.
 * @module
 */
import { type AgentConfig, createAgent } from '@chainrule/ddpg';
import { Rng } from '@chainrule/tensor';

export function readyAgent(config: AgentConfig, transitions: number) {
  const agent = createAgent({ obsDim: 3, actDim: 1, actionLow: [-2], actionHigh: [2] }, config, 0);
  const r = new Rng(5);
  for (let i = 0; i < transitions; i++)
    agent.observe({
      obs: [r.uniform(), r.uniform(), r.uniform()],
      action: [r.uniform()],
      reward: -r.uniform(),
      nextObs: [r.uniform(), r.uniform(), r.uniform()],
      terminated: false,
      truncated: false,
    });
  return agent;
}
