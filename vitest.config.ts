import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test file's log output is scanned for registered secrets.
    setupFiles: ['test/support/leak-guard.ts'],
    // A focused or skipped test must never land silently.
    allowOnly: false,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
