import { defineConfig } from 'vitest/config';

// Stryker's test run (npm run mutation): unit tests only. The integration
// tests need root and namespaces and take minutes; the 100k-case fuzz test
// takes ~20 s per run, which over thousands of mutants is hours.
// MUTATION_TESTS (comma-separated globs) narrows the tests to a directory's
// own: the codec is covered by the session and RIB tests too, and running
// them for each codec mutant made the run ~15 s per mutant.
const only = process.env.MUTATION_TESTS?.split(',').filter(Boolean);
export default defineConfig({
  test: {
    include: only ?? ['test/unit/**/*.test.ts'],
    exclude: ['test/unit/codec/fuzz.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    reporters: ['default'],
  },
});
