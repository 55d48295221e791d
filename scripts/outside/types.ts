// Type-checked by scripts/outside-test.sh against the published .d.ts files (tsc, module
// nodenext), in the outside project: every entry point resolves and its types are usable.
import * as A from '@chainrule/autograd';
import { type GradcheckReport, gradcheck } from '@chainrule/autograd/testing';
import { ActorCriticAgent, makeAgent, makeConfig, makeEnv } from '@chainrule/ddpg';
import { type Summary, train } from '@chainrule/ddpg-node';
import { Adam, decode, encode, Linear, type StateDict } from '@chainrule/nn';
import { loadSync, saveSync } from '@chainrule/nn/node';
import { Rng, type Tensor, tensor, tidy } from '@chainrule/tensor';
import { gpujsMode } from '@chainrule/tensor/gpujs';

const x: A.Var = A.param(tensor([1, 2, 3]));
const report: GradcheckReport = gradcheck((v) => A.sum(A.tanh(v)), [tensor([0.5], { dtype: 'float64' })]);
const layer = new Linear(3, 1, { rng: new Rng(0) });
const opt = new Adam(layer.parameters(), { lr: 1e-3 });
const sd: StateDict = decode(encode(layer.stateDict())).tensors;
const t: Tensor = tidy(() => A.sum(x).value);
const env = makeEnv('Pendulum-v1');
const agent: typeof ActorCriticAgent = ActorCriticAgent;
const build: typeof makeAgent = makeAgent;
const config = makeConfig('tuned');
const run: (typeof train)['length'] = train.length;
const summary: Summary | undefined = undefined;
const files: [typeof saveSync, typeof loadSync] = [saveSync, loadSync];
const mode: () => string = gpujsMode;

export { agent, build, config, env, files, mode, opt, report, run, sd, summary, t };
