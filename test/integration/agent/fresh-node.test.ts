/**
 * Issue 15: a node that starts without an IPAM block of its own (every new
 * Calico node: a block is assigned with its first pod) must still program
 * every route it learns, then its own first blackhole when its first
 * affinity is written, then blocks added elsewhere later, and repair a route
 * deleted by hand on the next 2 s scan (BIRD's kernel protocol `scan time 2`).
 *
 * A three-node mesh in namespaces on one bridge, real etcd, real kernel:
 * - node-c 10.97.0.3: BIRD 2, calico-style, with block 10.246.3.0/26;
 * - node-b 10.97.0.5: `agent run` with block 10.246.5.0/26;
 * - node-a 10.97.0.9: `agent run` with no block at all (the fresh node).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { Netns, Testbed, canUseNetns, sh } from '../../../src/testbed/netns.js';
import { until } from '../../helpers/wait.js';
import { affinityYaml, meshWithPoolYaml, nodeYaml, startEtcdIn } from '../../helpers/calico.js';

const REPO = resolve(import.meta.dirname, '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const PREFIX = 'frn';

if (!canUseNetns()) {
  // CI runs as root: a missing prerequisite there is a failure, not a skip.
  throw new Error('fresh-node integration test needs root (network namespaces)');
}

/** node-c's BIRD as confd renders a mesh node: passive towards the greater addresses (both agents). */
function birdConfig(): string {
  const peer = (ip: string): string => `
protocol bgp Mesh_${ip.replaceAll('.', '_')} {
  local 10.97.0.3 as 64512;
  neighbor ${ip} as 64512;
  passive on;
  multihop;
  graceful restart on;
  connect delay time 2;
  connect retry time 5;
  error wait time 5, 30;
  ipv4 { import all; export filter { if net = 10.246.3.0/26 then accept; reject; }; add paths on; next hop self; gateway recursive; };
}`;
  return `
router id 10.97.0.3;
log stderr all;
protocol device { scan time 2; }
protocol static { ipv4; route 10.246.3.0/26 blackhole; }
${peer('10.97.0.5')}
${peer('10.97.0.9')}
`;
}

const affinity = affinityYaml;

const resources =
  meshWithPoolYaml('10.246.0.0/16') +
  nodeYaml('node-a', '10.97.0.9/24') +
  nodeYaml('node-b', '10.97.0.5/24') +
  nodeYaml('node-c', '10.97.0.3/24') +
  affinityYaml('node-b', '10.246.5.0/26') +
  affinityYaml('node-c', '10.246.3.0/26');

describe('a node that starts without a block of its own (issue 15)', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'fresh-node-it-'));
  const procs: ChildProcess[] = [];
  let bird: Bird | undefined;
  let a: Netns;
  let etcdUrl = '';
  const logs: Record<string, string> = { a: '', b: '' };

  const apply = (yaml: string): void => {
    a.exec(process.execPath, [CLI, 'datastore', 'apply', '-f', '-', '--etcd-endpoints', etcdUrl], { input: yaml });
  };
  const routesOf = (ns: Netns): string[] => ns.routes().filter((l) => l.includes('proto bird')).sort();
  const socketOf = (n: string): string => join(tmp, `agent-${n}.ctl`);
  const live = (): { code: number; out: string } => {
    try {
      return { code: 0, out: sh(process.execPath, [CLI, 'live', '--control-socket', socketOf('a')]) };
    } catch (err) {
      return { code: 1, out: (err as Error).message };
    }
  };

  function spawnAgent(n: 'a' | 'b', ip: string): void {
    const ns = bed.hosts.get(n)!;
    const proc = ns.spawn(process.execPath, [
      CLI, 'run', '--node-name', `node-${n}`, '--ip', `${ip}/24`, '--etcd-endpoints', etcdUrl,
      '--control-socket', socketOf(n), '--ready-grace-period', '0',
    ], { env: { ...process.env, AGENT_LOG_FORMAT: 'json' } });
    proc.stdout?.on('data', (d: Buffer) => (logs[n] += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (logs[n] += d.toString()));
    procs.push(proc);
  }

  const waitRoutes = async (what: string, want: string[], timeoutMs = 30_000): Promise<void> => {
    try {
      await until(what, () => JSON.stringify(routesOf(a)) === JSON.stringify([...want].sort()), timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nnode-a has: ${routesOf(a).join('; ')}\nagent log tail:\n${logs.a.slice(-3000)}`);
    }
  };

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    const e = bed.addHost('etcd', { address: '10.97.0.100/24' });
    a = bed.addHost('a', { address: '10.97.0.9/24' });
    bed.addHost('b', { address: '10.97.0.5/24' });
    const c = bed.addHost('c', { address: '10.97.0.3/24' });
    etcdUrl = 'http://10.97.0.100:2379';
    procs.push(await startEtcdIn(e, tmp, etcdUrl, 'frn'));
    apply(resources);
    bird = new Bird(c, birdConfig(), 'frn-bird-c-');
    await bird.start();
    spawnAgent('b', '10.97.0.5');
    spawnAgent('a', '10.97.0.9');
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await bird?.cleanup();
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('programs both peers\' blocks although it has no block of its own', async () => {
    await waitRoutes('both peers\' blocks on node-a', [
      '10.246.3.0/26 via 10.97.0.3 dev tunl0 proto bird onlink',
      '10.246.5.0/26 via 10.97.0.5 dev tunl0 proto bird onlink',
    ], 45_000);
  }, 60_000);

  it('blackholes its first block once its affinity is written, and advertises it', async () => {
    apply(affinity('node-a', '10.246.9.0/26'));
    await waitRoutes('node-a\'s first blackhole', [
      '10.246.3.0/26 via 10.97.0.3 dev tunl0 proto bird onlink',
      '10.246.5.0/26 via 10.97.0.5 dev tunl0 proto bird onlink',
      'blackhole 10.246.9.0/26 proto bird',
    ]);
    await bird!.waitFor('show route 10.246.9.0/26', (out) => out.includes('10.246.9.0/26') && out.includes('10.97.0.9'));
  });

  it('programs a block added later on another node', async () => {
    apply(affinity('node-b', '10.246.5.64/26'));
    await waitRoutes('node-b\'s second block on node-a', [
      '10.246.3.0/26 via 10.97.0.3 dev tunl0 proto bird onlink',
      '10.246.5.0/26 via 10.97.0.5 dev tunl0 proto bird onlink',
      '10.246.5.64/26 via 10.97.0.5 dev tunl0 proto bird onlink',
      'blackhole 10.246.9.0/26 proto bird',
    ]);
  });

  it('repairs a route deleted by hand within a scan, and its liveness shows the loop running', async () => {
    a.ip(['route', 'del', '10.246.3.0/26', 'proto', 'bird']);
    expect(routesOf(a)).not.toContain('10.246.3.0/26 via 10.97.0.3 dev tunl0 proto bird onlink');
    await waitRoutes('the deleted route back', [
      '10.246.3.0/26 via 10.97.0.3 dev tunl0 proto bird onlink',
      '10.246.5.0/26 via 10.97.0.5 dev tunl0 proto bird onlink',
      '10.246.5.64/26 via 10.97.0.5 dev tunl0 proto bird onlink',
      'blackhole 10.246.9.0/26 proto bird',
    ], 10_000);
    const probe = live();
    expect(probe.code).toBe(0);
    expect(probe.out).toMatch(/ok +kernel: reconcile loop ran \d+(\.\d+)? s ago/);
    // Times in status --json are ISO 8601 strings (issue 23).
    const st = JSON.parse(sh(process.execPath, [CLI, 'status', '--json', '--control-socket', socketOf('a')])) as { kernel: { lastLoopAt?: string } };
    expect(st.kernel.lastLoopAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.now() - Date.parse(st.kernel.lastLoopAt!)).toBeLessThan(10_000);
  }, 30_000);
});
