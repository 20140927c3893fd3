import { defineConfig } from 'vitest/config';

// Stryker's test run (npm run mutation): unit tests only. The integration
// tests need root and namespaces and take minutes; the 100k-case fuzz test
// takes ~20 s per run, which over thousands of mutants is hours.
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    exclude: ['test/unit/codec/fuzz.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    reporters: ['default'],
  },
});
