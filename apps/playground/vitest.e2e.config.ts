import { defineConfig } from 'vitest/config';

// The Chromium tests (pnpm web:test): one browser, one file, in order.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
