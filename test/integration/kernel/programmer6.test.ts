/**
 * The route programmer's IPv6 table against real kernels (issue 19), as
 * test/integration/kernel/programmer.test.ts does for IPv4: each host is a
 * namespace (prefix `v6k`) with eth0 on a bridge carrying IPv4 and IPv6, the
 * programmer runs in a child started with `ip netns exec`, as the agent does.
 *
 * The expected lines are what BIRD 2.0.12 installs for the same routes (two
 * namespaces, `protocol kernel { metric 0; ipv6 { export all; }; }`, a static
 * blackhole and a learned block over an IPv6 mesh session):
 *   blackhole fd00:245::/122 dev lo proto bird metric 1024 pref medium
 *   fd00:245::40/122 via fd00:199::2 dev eth0 proto bird metric 1024 pref medium
 *
 * Root is required; in CI (CI=true) a missing root fails the run instead of skipping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUseNetns, Testbed, type Netns } from '../../../src/testbed/netns.js';
import type { KernelStatus } from '../../../src/kernel/programmer.js';
import { bundle, NsChild } from './harness.js';

if (!canUseNetns()) throw new Error('IPv6 kernel integration tests need root (network namespaces); they never skip');

const node = (ip: string, ip6: string) => ({ name: `node-${ip}`, ipv4: ip, ipv4PrefixLen: 24, ipv6: ip6, ipv6PrefixLen: 64, asNumber: 64512, routerId: ip });
const pool = (cidr: string, ipipMode: string, vxlanMode = 'Never', blockSize = 122) => ({
  name: cidr,
  cidr,
  ipipMode,
  vxlanMode,
  disabled: false,
  disableBGPExport: false,
  natOutgoing: false,
  blockSize,
});
const POOLS4 = [pool('192.168.0.0/16', 'Always', 'Never', 26)];
const POOLS6 = [pool('fd00:245::/64', 'Never'), pool('fd00:246::/64', 'Never', 'Always')];

const BLOCKS6 = [
  { cidr: 'fd00:245::/122', state: 'confirmed' },
  { cidr: 'fd00:245::100/122', state: 'pending' },
  { cidr: 'fd00:245::1:1/128', state: 'confirmed' },
];
const PATHS6: [string, string | null][] = [
  ['fd00:245::40/122', 'fd00:199::2'],
  ['fd00:245::80/122', 'fd00:199::3'],
  ['fd00:246::/122', 'fd00:199::3'], // VXLAN pool: Felix's, nothing
];
const SEED6 = [
  'blackhole fd00:245::/122 dev lo proto bird metric 1024 pref medium',
  'fd00:245::40/122 via fd00:199::2 dev eth0 proto bird metric 1024 pref medium',
  'fd00:245::80/122 via fd00:199::3 dev eth0 proto bird metric 1024 pref medium',
].sort();

function routes6(ns: Netns): string[] {
  return ns
    .ip(['-6', 'route', 'show', 'table', 'main'])
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
// `ip route show proto bird` leaves out the field it filters on: filter here and compare whole lines.
const bird6 = (ns: Netns) => routes6(ns).filter((l) => / proto bird( |$)/.test(l)).sort();
const bird4 = (ns: Netns) => ns.routes().filter((l) => / proto bird( |$)/.test(l)).sort();

async function until(what: string, fn: () => boolean, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kernel programmer: the IPv6 table in network namespaces', () => {
  const bed = new Testbed(`v6k${Math.random().toString(36).slice(2, 5)}`);
  let file = '';
  let cleanupBundle = () => {};
  const children: NsChild[] = [];
  const monitors: ChildProcess[] = [];

  function host(name: string, index: number): Netns {
    const ns = bed.addHost(name, { address: `10.10.20.${index}/24` });
    // nodad: the address is usable at once (a gateway on it is accepted without waiting for DAD).
    ns.ip(['-6', 'addr', 'add', `fd00:199::${index}/64`, 'dev', 'eth0', 'nodad']);
    return ns;
  }

  async function programmer(ns: Netns, index: number, opts: object = {}, backend: 'netlink' | 'ip' = 'netlink'): Promise<NsChild> {
    const c = NsChild.start(ns.name, file, { KERNEL_BACKEND: backend });
    children.push(c);
    await c.call('create', { scanIntervalMs: 3_600_000, ...opts });
    await c.call('setNode', node(`10.10.20.${index}`, `fd00:199::${index}`));
    await c.call('setPools', POOLS4);
    await c.call('setPools6', POOLS6);
    return c;
  }

  beforeAll(async () => {
    Testbed.sweep(bed.prefix);
    const built = await bundle('programmer6-child.ts');
    file = built.file;
    cleanupBundle = built.cleanup;
  });

  afterAll(async () => {
    for (const m of monitors) m.kill('SIGKILL');
    for (const c of children) await c.stop().catch(() => undefined);
    bed.destroy();
    cleanupBundle();
  });

  for (const backend of ['netlink', 'ip'] as const) {
    it(`${backend}: ip -6 route shows exactly BIRD 2's forms; IPv4 beside it is unchanged`, async () => {
      const ns = host(`s${backend[0]}`, 5);
      const p = await programmer(ns, 5, {}, backend);
      await p.call('setLocalBlocks6', BLOCKS6);
      await p.call('bestPaths6', PATHS6);
      await p.call('setLocalBlocks', [{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
      await p.call('bestPaths', [['192.168.163.0/26', '20.20.2.4']]);
      await p.call('start');
      await p.call('idle');
      expect(bird6(ns)).toEqual(SEED6);
      expect(bird4(ns)).toEqual(['192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink', 'blackhole 192.168.160.192/26 proto bird'].sort());
      const st = await p.call<KernelStatus>('status');
      expect(st).toMatchObject({ routes: 5, programmed: 5, failedCount: 0, ipv6: { routes: 3, programmed: 3, failed: 0, kernelRoutes: 3 } });
      // The backend reads back what it wrote as the same routes (dump = desired).
      expect(((await p.call<string[]>('dump')) as string[]).filter((l) => l.includes(':')).sort()).toEqual([
        'blackhole fd00:245::/122 dev lo proto bird',
        'fd00:245::40/122 via fd00:199::2 dev eth0 proto bird',
        'fd00:245::80/122 via fd00:199::3 dev eth0 proto bird',
      ]);
    });
  }

  it('repairs a deleted and a changed IPv6 route within one scan; another protocol\'s IPv6 routes are never touched', async () => {
    const ns = host('r', 5);
    ns.ip(['-6', 'route', 'add', 'fd00:777::/64', 'via', 'fd00:199::1', 'proto', 'static']);
    ns.ip(['-6', 'route', 'add', 'blackhole', 'fd00:778::/64', 'proto', 'static']);
    ns.ip(['-6', 'route', 'add', 'fd00:779::/64', 'via', 'fd00:199::1']); // proto boot
    ns.ip(['-6', 'route', 'add', 'fd00:245::c0/122', 'via', 'fd00:199::1', 'proto', 'static']); // a prefix we will want
    const foreignBefore = routes6(ns).filter((l) => !l.includes('proto bird'));
    expect(foreignBefore.some((l) => l.includes('proto kernel'))).toBe(true);

    const p = await programmer(ns, 5, { initialHoldMs: 0 });
    await p.call('setLocalBlocks6', BLOCKS6);
    await p.call('bestPaths6', [...PATHS6, ['fd00:245::c0/122', 'fd00:199::9']]);
    await p.call('start');
    await p.call('idle');
    expect(bird6(ns)).toEqual(SEED6);
    let st = await p.call<KernelStatus>('status');
    expect(st.foreignConflicts).toBe(1);
    expect(st.failed.map((f) => f.error)).toEqual([expect.stringMatching(/fd00:245::c0\/122 is held by a proto static route/)]);

    ns.ip(['-6', 'route', 'del', 'fd00:245::40/122']);
    ns.ip(['-6', 'route', 'replace', 'fd00:245::80/122', 'via', 'fd00:199::77', 'dev', 'eth0', 'proto', 'bird']);
    ns.ip(['-6', 'route', 'del', 'blackhole', 'fd00:245::/122']);
    expect(bird6(ns)).not.toEqual(SEED6);
    await p.call('scanNow');
    await p.call('idle');
    expect(bird6(ns)).toEqual(SEED6);
    st = await p.call<KernelStatus>('status');
    expect(st.counters.repaired).toBe(3);

    // Everything withdrawn: all our IPv6 routes go, every foreign one stays byte for byte.
    await p.call('bestPaths6', [...PATHS6, ['fd00:245::c0/122', null]].map(([c]) => [c, null]));
    await p.call('setLocalBlocks6', []);
    await p.call('idle');
    expect(bird6(ns)).toEqual([]);
    expect(routes6(ns).filter((l) => !l.includes('proto bird'))).toEqual(foreignBefore);
  });

  it('the periodic scan (2 s) puts back a deleted IPv6 route without being asked', async () => {
    const ns = host('t', 5);
    const p = await programmer(ns, 5, { scanIntervalMs: 2000 });
    await p.call('bestPaths6', [['fd00:245::40/122', 'fd00:199::2']]);
    await p.call('start');
    await p.call('idle');
    const want = ['fd00:245::40/122 via fd00:199::2 dev eth0 proto bird metric 1024 pref medium'];
    expect(bird6(ns)).toEqual(want);
    ns.ip(['-6', 'route', 'del', 'fd00:245::40/122', 'proto', 'bird']);
    expect(bird6(ns)).toEqual([]);
    await until('the scan to put the IPv6 route back', () => bird6(ns).length === 1);
    expect(bird6(ns)).toEqual(want);
  });

  it('a restart adopts 2k IPv6 routes: ip -6 monitor sees no deletion or change', async () => {
    const ns = host('m', 5);
    const N = 2000;
    const first = await programmer(ns, 5);
    await first.call('setLocalBlocks6', [{ cidr: 'fd00:245::/122', state: 'confirmed' }]);
    await first.call('manyPaths6', N, 'fd00:199::2');
    await first.call('start');
    await first.call('idle');
    expect(bird6(ns)).toHaveLength(N + 1);
    await first.call('stop');
    await first.stop(); // the process exits; routes persist (BIRD's `persist`)
    expect(bird6(ns)).toHaveLength(N + 1);

    const monitor = spawn('ip', ['-6', '-n', ns.name, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
    monitors.push(monitor);
    let seen = '';
    monitor.stdout.on('data', (d) => (seen += String(d)));
    // A sentinel proves the monitor was listening before the restart.
    await new Promise((r) => setTimeout(r, 200));
    ns.ip(['-6', 'route', 'add', 'fd00:999::/64', 'via', 'fd00:199::1', 'proto', 'static']);
    await until('the monitor to see the sentinel', () => seen.includes('fd00:999::/64'));
    seen = '';

    const second = await programmer(ns, 5, { initialHoldMs: 120_000 });
    await second.call('setLocalBlocks6', [{ cidr: 'fd00:245::/122', state: 'confirmed' }]);
    await second.call('manyPaths6', N, 'fd00:199::2');
    await second.call('start');
    await second.call('idle');
    const st = await second.call<KernelStatus>('status');
    expect(st.counters).toMatchObject({ adopted: N + 1, adoptedUnchanged: N + 1, replaced: 0, deleted: 0 });
    ns.ip(['-6', 'route', 'del', 'fd00:999::/64', 'proto', 'static']);
    await until('the monitor to see the closing sentinel', () => seen.includes('fd00:999::/64'));
    expect(seen.split('\n').filter((l) => l.includes('proto bird'))).toEqual([]);
    expect(bird6(ns)).toHaveLength(N + 1);
  });
});
