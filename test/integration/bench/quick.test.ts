/**
 * `npm run bench -- --quick` as CI runs it: every scenario at its small size,
 * one run per side, results into a temp dir (the repository's results and
 * README are left alone). Asserts only that every scenario wrote its JSON and
 * that both BIRD and the agent reached the scenario's end state: no timing
 * assertion (the figures are for people, on a quiet machine).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseNetns, sh } from '../../../src/testbed/netns.js';

const run = promisify(execFile);
const repo = resolve(__dirname, '../../..');
const benchMain = join(repo, 'dist', 'bench', 'run.js');
const agentMain = join(repo, 'dist', 'src', 'cli', 'main.js');

const SCENARIOS = ['ingest-distinct', 'ingest-one', 'ingest-same', 'rr-reflect', 'rr-scale', 'mesh-calico', 'mesh-storm', 'convergence', 'wire-kernel', 'kernel'];

function missingPrerequisite(): string | undefined {
  if (!canUseNetns()) return 'needs root on Linux (network namespaces)';
  for (const bin of ['etcd', 'etcdctl', 'bird', 'birdc']) {
    if (!sh('sh', ['-c', `command -v ${bin} || true`]).trim()) return `${bin} is not installed (scripts/setup.sh installs it)`;
  }
  for (const f of [benchMain, agentMain]) if (!existsSync(f)) return `${f} is not built (npm run build)`;
  return undefined;
}

const missing = missingPrerequisite();
if (missing && process.env.CI === 'true') throw new Error(`bench quick test: ${missing}`);

describe.skipIf(missing !== undefined)('npm run bench -- --quick', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-quick-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes every scenario\'s JSON, and both sides reach the end state', { timeout: 420_000 }, async () => {
    let log = '';
    try {
      const r = await run(process.execPath, [benchMain, '--quick', '--out', out, '--no-report', '--max-total', '400'], { maxBuffer: 64 * 1024 * 1024, timeout: 410_000 });
      log = r.stdout + r.stderr;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`bench --quick failed: ${e.message}\n${(e.stderr ?? '').slice(-4000)}`);
    }
    for (const s of SCENARIOS) {
      const path = join(out, `${s}.json`);
      expect(existsSync(path), `${s}.json missing\n${log.slice(-3000)}`).toBe(true);
      const doc = JSON.parse(readFileSync(path, 'utf8')) as { endStateReached: { bird: boolean; agent: boolean }; runs: { side: string; reached: boolean; error?: string }[] };
      const why = doc.runs.filter((r) => !r.reached).map((r) => `${r.side}: ${r.error ?? 'not reached'}`).join('; ');
      expect(doc.endStateReached, `${s}: ${why}`).toEqual({ bird: true, agent: true });
    }
  });
});
