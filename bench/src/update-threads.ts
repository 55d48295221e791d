/**
 * One DDPG update on the wasm backend for each SIMD path and thread count, interleaved
 * in rounds so that a busy machine affects every variant alike; prints medians.
 *
 *   P=tuned npx tsx bench/src/update-threads.ts     # P: tuned (default), paper, td3
 *   SPLIT=inf,65536,16384 P=paper npx tsx bench/src/update-threads.ts
 *
 *   BLOCKS=1,2,3 P=tuned npx tsx bench/src/update-threads.ts
 *
 * SPLIT lists thresholds (elements; `inf`: never) from which the 2-thread variants split
 * elementwise, Adam and reduction kernels (setParallelElements); default: the backend's.
 * BLOCKS lists how many blocks per thread the 2-thread variants cut a parallel matmul into
 * (setMatmulBlocksPerThread); default: the backend's. FLOPS lists the matmul sizes (2mkn)
 * from which the 2-thread variants use threads (setParallelThreshold). PATHS=fma keeps one
 * SIMD path.
 * @module
 */
import { makeConfig } from '@chainrule/ddpg';
import { getBackendInfo, type SimdPath, setBackend, setThreads } from '@chainrule/tensor';
import {
  setMatmulBlocksPerThread,
  setParallelElements,
  setParallelThreshold,
  setSimdPath,
} from '../../packages/tensor/src/backends/wasm/backend.ts';
import { readyAgent } from './readyAgent.ts';

setBackend('wasm');
const preset = (process.env.P ?? 'tuned') as 'tuned' | 'paper' | 'td3';
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PER_ROUND = Number(process.env.N ?? 10);
const agent = readyAgent(makeConfig(preset, {}), 1000);
const paths = (getBackendInfo().simdPaths as SimdPath[]).filter(
  (p) => !process.env.PATHS || process.env.PATHS.split(',').includes(p),
);
const defaultBlocks = setMatmulBlocksPerThread(1);
setMatmulBlocksPerThread(defaultBlocks);
const blockCounts = (process.env.BLOCKS ?? String(defaultBlocks)).split(',').map(Number);
const defaultFlops = setParallelThreshold(0);
setParallelThreshold(defaultFlops);
const flopCounts = (process.env.FLOPS ?? String(defaultFlops)).split(',').map(Number);
const defaultSplit = setParallelElements(0);
setParallelElements(defaultSplit);
const splits = (process.env.SPLIT ?? String(defaultSplit))
  .split(',')
  .map((x) => (x === 'inf' ? Number.POSITIVE_INFINITY : Number(x)));
const variants = paths.flatMap((path) => [
  { path, threads: 1, split: defaultSplit, blocks: defaultBlocks, flops: defaultFlops, ms: [] as number[] },
  ...splits.flatMap((split) =>
    blockCounts.flatMap((blocks) =>
      flopCounts.map((flops) => ({ path, threads: 2, split, blocks, flops, ms: [] as number[] })),
    ),
  ),
]);
const step = () => agent.update();
for (let i = 0; i < 5; i++) step();
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    setSimdPath(v.path);
    setThreads(v.threads);
    setParallelElements(v.split);
    setMatmulBlocksPerThread(v.blocks);
    setParallelThreshold(v.flops);
    step();
    for (let i = 0; i < PER_ROUND; i++) {
      const t0 = performance.now();
      step();
      v.ms.push(performance.now() - t0);
    }
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`${preset} update, wasm, median ms of ${ROUNDS}×${PER_ROUND} (interleaved rounds):`);
for (const v of variants)
  console.log(
    `  ${v.path} ${v.threads} thread(s)${v.threads > 1 && splits.length > 1 ? `, split from ${v.split}` : ''}${v.threads > 1 && blockCounts.length > 1 ? `, ${v.blocks} matmul block(s) per thread` : ''}${v.threads > 1 && flopCounts.length > 1 ? `, matmuls split from ${v.flops} flops` : ''}: ${median(v.ms).toFixed(2)} ms`,
  );
