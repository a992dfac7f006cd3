import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A focused or skipped test must never land silently.
    allowOnly: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
