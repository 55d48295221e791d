import { defineConfig } from 'vitest/config';

// The gpujs suite (pnpm test:gpujs). Runs in the mode CHAINRULE_GPUJS_MODE names
// (webasm when unset); CI runs it twice, `webasm` and `headlessgl` under xvfb-run.
export default defineConfig({
  test: {
    include: ['**/*.gpujs.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
