/**
 * `npm run lab -- --ipv6` end to end (issue 19): a dual-stack lab of 3 nodes.
 * With agents: IPv4 converges as without --ipv6, the agents run IPv6
 * sessions (the lab finds so and enables BIRD's IPv6 sessions to them), and
 * every node holds its own IPv6 blackhole and every other node's IPv6 block
 * via its owner's IPv6 address, in BIRD 2's exact form. With `--speaker bird`: every node
 * routes every IPv6 block via its owner's IPv6 address. Own prefixes (v6t*)
 * and state dirs; torn down always. Never skipped: missing root or binaries fail.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseNetns, sh } from '../../../src/testbed/netns.js';
import { birdRoutes } from '../../../src/lab/converge.js';
import { birdRoutes6, expectedRoutes6 } from '../../../src/lab/dual-stack.js';
import { expectedRoutes } from '../../../src/lab/routes.js';
import { readState } from '../../../src/lab/state.js';

const run = promisify(execFile);
const repo = resolve(__dirname, '../../..');
const labMain = join(repo, 'dist', 'src', 'lab', 'main.js');

if (!canUseNetns()) throw new Error('lab --ipv6 integration test needs root (network namespaces)');
for (const bin of ['etcd', 'etcdctl', 'bird', 'birdc']) {
  if (!sh('sh', ['-c', `command -v ${bin} || true`]).trim()) throw new Error(`lab --ipv6 integration test: ${bin} is not installed (scripts/setup.sh)`);
}
if (!existsSync(labMain)) throw new Error(`lab --ipv6 integration test: ${labMain} is not built (npm run build)`);

async function lab(dir: string, prefix: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [labMain, ...args, '--state-dir', dir, '--prefix', prefix, '--timeout', '60'], { maxBuffer: 64 << 20, timeout: 150_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const dirs: [string, string][] = [];
afterAll(async () => {
  for (const [dir, prefix] of dirs) {
    await lab(dir, prefix, ['down']);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('npm run lab -- --ipv6 (3 nodes)', () => {
  it('with agents: IPv4 converges; the agents run IPv6 sessions and every node routes every IPv6 block', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'v6lab-it-'));
    const prefix = 'r6la-';
    dirs.push([dir, prefix]);
    await lab(dir, prefix, ['down']);
    const up = await lab(dir, prefix, ['up', '--ipv6', '--nodes', '3']);
    expect(up.code, up.out).toBe(0);
    const state = readState(dir)!;
    expect(state.plan.ipv6?.pool.cidr).toBe('fd00:244::/64');
    const speaks = state.plan.ipv6?.agentSessions === true;
    // Issue 19: the agents speak IPv6 now, so the lab must have found it and enabled BIRD's IPv6 sessions to them.
    expect(speaks, up.out).toBe(true);
    // The lab's finding agrees with what the agents say about their IPv6 peers.
    const node2 = await run(process.execPath, [join(repo, 'dist', 'src', 'cli', 'main.js'), 'status', '--json', '--control-socket', join(dir, 'node-2', 'agent.sock')]);
    const v6peers = (JSON.parse(node2.stdout) as { peers: { address: string; lastError?: string }[] }).peers.filter((p) => p.address.includes(':'));
    expect(v6peers.length).toBe(2);
    expect(speaks).toBe(v6peers.some((p) => !/^IPv6 peer not started/.test(p.lastError ?? '')));
    for (const n of state.plan.nodes) {
      expect(birdRoutes(n).sort(), n.name).toEqual(expectedRoutes(state.plan, state.assignment, n).sort());
      const own = `blackhole ${n.block6} dev lo proto bird metric 1024 pref medium`;
      if (speaks) {
        expect(birdRoutes6(n).sort(), n.name).toEqual(expectedRoutes6(state.plan, state.assignment6!, n).sort());
        expect(birdRoutes6(n)).toHaveLength(3);
        expect(birdRoutes6(n)).toContain(own);
      } else expect(birdRoutes6(n), n.name).toEqual([own]);
    }
    expect(up.out).toMatch(speaks ? /IPv6: the agents run IPv6 sessions/ : /IPv6: the agent has no IPv6 sessions yet/);
    expect(up.out).toMatch(/\$ ip -6 route \| grep "proto bird"/);
    expect(up.out).toMatch(/IPv6 BGP status\n\+-+/);
  }, 200_000);

  it('with --speaker bird: every node routes every IPv6 block via its owner\'s IPv6 address, as BIRD 2 installs it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'v6lab-it-'));
    const prefix = 'v6tb-';
    dirs.push([dir, prefix]);
    await lab(dir, prefix, ['down']);
    const up = await lab(dir, prefix, ['up', '--ipv6', '--speaker', 'bird', '--nodes', '3']);
    expect(up.code, up.out).toBe(0);
    const state = readState(dir)!;
    for (const n of state.plan.nodes) {
      const want = expectedRoutes6(state.plan, state.assignment6!, n);
      expect(want).toHaveLength(3);
      expect(birdRoutes6(n).sort(), n.name).toEqual(want.sort());
    }
    expect(up.out).toMatch(/IPv6: every node runs BIRD/);
  }, 200_000);
});
