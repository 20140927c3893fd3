import { defineConfig } from 'vitest/config';

// Integration tests share the host's network namespaces, etcd ports and BIRD
// binaries; running files in parallel on a 2-core CI machine only adds flakes.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
