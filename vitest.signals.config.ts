import { defineConfig } from 'vitest/config';

// Real Ctrl-C through a terminal (tmux) under each launcher (pnpm test:signals): a minute or
// more, so not in the default suite. CI runs it as its own step.
export default defineConfig({
  test: {
    include: ['**/*.signals.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 240_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One terminal session at a time: the cases time Ctrl-C against a running trainer.
    fileParallelism: false,
  },
});
