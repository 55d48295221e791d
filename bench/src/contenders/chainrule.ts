/**
 * chainrule contenders.
 *
 * @module
 */

import type { Contender } from '../harness.ts';

/**
 * chainrule's own contenders, one per case and backend (`impl: 'chainrule'`).
 *
 * TODO(lead): the chainrule contenders land with the @chainrule/tensor, nn and ddpg
 * packages. For each case in `cases.ts` (`CASE`), build the inputs from `inputs.ts`
 * (`matmulInputs`, `denseInputs`, `batchnormInputs`, `adamInputs`, `ddpgBatch`,
 * `ddpgInitialParams`) and the models from `specs.ts` (`PAPER_PRESET`, `TD3_PRESET`,
 * `PAPER_CRITIC`, `ADAM_CASE_SPEC`) in `setup()`; do one iteration in `run()`, reading
 * results back into JS like the tfjs contenders do; implement `output()` in the layout
 * documented on the case (matmul, dense, batchnorm, adam) so the float64 reference check
 * applies; implement `liveObjects()` if chainrule can count live buffers (leak check);
 * add the `e2e pendulum 20k paper` contender (one 20k-step training run, `--full` only).
 * See `contenders/tfjs.ts` for complete examples.
 */
export function chainruleContenders(): Contender[] {
  return [];
}
