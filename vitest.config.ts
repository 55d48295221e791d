import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.test.ts',
      'bench/test/**/*.test.ts',
      'scripts/test/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
    ],
    // gpujs parity tests run through their own script (pnpm test:gpujs).
    exclude: ['**/node_modules/**', '**/*.gpujs.test.ts', '**/*.signals.test.ts'],
    testTimeout: 60_000,
    // Some suites train a small agent in beforeAll; on a loaded 2-core machine that takes
    // longer than vitest's default 10 s hook timeout.
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
