import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Model sessions use both cores themselves; running test files in parallel only thrashes.
    fileParallelism: false,
    pool: 'forks',
    // One temporary directory per run, removed at the end (test/support/global-tmp.ts).
    globalSetup: ['test/support/global-tmp.ts'],
  },
});
