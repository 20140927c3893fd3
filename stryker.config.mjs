// Mutation testing (npm run mutation): not part of CI. scripts/mutation.sh
// runs one directory at a time with concurrency 1 (the machines are shared),
// naming the directory in MUTATE_DIR.
// MUTATE_FILES (comma-separated globs) narrows a run to some files of it.
const dir = process.env.MUTATE_DIR ?? 'src/bgp/fsm';
const files = process.env.MUTATE_FILES?.split(',').filter(Boolean);
const name = dir.replaceAll('/', '_') + (files ? '.partial' : '');
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: files ?? [`${dir}/**/*.ts`],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  timeoutMS: 10_000,
  ignorePatterns: ['dist', '.lab', 'bench', 'reports', 'proto-fixtures/capture/*.pcapng', 'deploy'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
