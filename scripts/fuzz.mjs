#!/usr/bin/env node
// `npm run fuzz -- --cases N`: bundles test/fuzz/main.ts with esbuild (a
// devDependency already) so the fuzzer runs in plain node, without vitest's
// per-test overhead on a million cases; then runs it with the same arguments.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
// Inside the repository so the bundle resolves its external packages from node_modules.
mkdirSync(join(repo, 'node_modules/.cache'), { recursive: true });
const dir = mkdtempSync(join(repo, 'node_modules/.cache/fuzz-'));
const out = join(dir, 'fuzz.mjs');
try {
  await build({
    entryPoints: [join(repo, 'test/fuzz/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: out,
    packages: 'external',
    absWorkingDir: repo,
    logLevel: 'warning',
  });
  const r = spawnSync(process.execPath, [out, ...process.argv.slice(2)], { stdio: 'inherit', cwd: repo });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
