/**
 * What the training loop's turns of the event loop cost: the same run with the default
 * yields (every ~100 ms of wall time, clock read every 4 steps) and with yields off
 * (`yieldEveryMs: Infinity`), alternated, median of several runs each.
 *
 *   npx tsx bench/src/loop-yield.ts [steps] [repeats]     # default 1500 steps, 5 repeats
 */
import { makeAgent, makeConfig, makeRunEnv, runTrainingLoop } from '@chainrule/ddpg';

const steps = Number(process.argv[2] ?? 1500);
const repeats = Number(process.argv[3] ?? 5);
const config = makeConfig('tuned', {
  actorHidden: [64, 64],
  criticHidden: [64, 64],
  batchSize: 64,
  learningStarts: 200,
  startSteps: 200,
});

async function once(yieldEveryMs: number): Promise<{ seconds: number; yields: number }> {
  const { env, norm } = makeRunEnv('Pendulum-v1', config);
  const agent = makeAgent(env, config, 0);
  // Counts turns of the event loop taken during the run (a timer that re-arms itself).
  let yields = 0;
  let live = true;
  const tick = () => {
    yields++;
    if (live) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  await runTrainingLoop({
    envId: 'Pendulum-v1',
    seed: 0,
    steps,
    agent,
    env,
    norm,
    evalEvery: 0,
    evalEpisodes: 1,
    yieldEveryMs,
  });
  const seconds = (performance.now() - t0) / 1000;
  live = false;
  return { seconds, yields };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const on: number[] = [];
const off: number[] = [];
let yieldsOn = 0;
await once(100); // warm-up (kernel compilation, JIT)
for (let i = 0; i < repeats; i++) {
  const a = await once(100);
  on.push(a.seconds);
  yieldsOn = a.yields;
  off.push((await once(Number.POSITIVE_INFINITY)).seconds);
}
const mOn = median(on);
const mOff = median(off);
console.log(`steps ${steps}, repeats ${repeats}`);
console.log(
  `yields every 100 ms: median ${mOn.toFixed(3)} s (${on.map((x) => x.toFixed(3)).join(', ')}); ${yieldsOn} turns in the last run`,
);
console.log(`no yields:           median ${mOff.toFixed(3)} s (${off.map((x) => x.toFixed(3)).join(', ')})`);
console.log(`difference: ${(((mOn - mOff) / mOff) * 100).toFixed(2)} %`);
