// The RL core alone (@chainrule/ddpg, no Node package): a short training run through
// runTrainingLoop. outside-test.sh runs it with plain node and builds it with Vite.

import { makeAgent, makeConfig, makeRunEnv, runTrainingLoop } from '@chainrule/ddpg';

const config = makeConfig('tuned', {
  actorHidden: [8],
  criticHidden: [8],
  actionLayer: 1,
  learningStarts: 50,
  batchSize: 16,
});
const { env, norm } = makeRunEnv('Pendulum-v1', config);
const agent = makeAgent(env, config, 0);
const r = await runTrainingLoop({
  envId: 'Pendulum-v1',
  seed: 0,
  steps: 100,
  agent,
  env,
  norm,
  evalEpisodes: 1,
});
console.log(r.status, r.state.step);
