/**
 * The route programmer against real kernels: each host is a network namespace
 * (prefix `kn`), with a veth named tunl0 standing in for the IPIP device, and
 * the programmer runs in a child process started with `ip netns exec`, as the
 * agent is.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFakeTunnel, canUseNetns, Testbed, type Netns } from '../../../src/testbed/netns.js';
import type { KernelStatus } from '../../../src/kernel/programmer.js';
import { bundle, NsChild } from './harness.js';
import { sentinel } from '../../helpers/ip-monitor.js';

const root = canUseNetns();
if (!root && process.env.CI === 'true') throw new Error('kernel integration tests need root (network namespaces) in CI');

const node = (ip: string) => ({ name: `node-${ip}`, ipv4: ip, ipv4PrefixLen: 24, asNumber: 64512, routerId: ip });
const pool = (cidr: string, ipipMode: string, vxlanMode = 'Never') => ({
  name: cidr,
  cidr,
  ipipMode,
  vxlanMode,
  disabled: false,
  disableBGPExport: false,
  natOutgoing: true,
  blockSize: 26,
});
const POOLS = [pool('192.168.0.0/16', 'Always'), pool('10.128.0.0/12', 'Always'), pool('10.8.0.0/16', 'CrossSubnet'), pool('10.9.0.0/16', 'Never', 'Always')];

const SEED = [
  '10.8.5.0/26 via 10.10.20.4 dev eth0 proto bird',
  '10.8.6.0/26 via 10.10.30.4 dev tunl0 proto bird onlink',
  '192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink',
  'blackhole 192.168.160.192/26 proto bird',
].sort();

const SEED_PATHS: [string, string | null][] = [
  ['192.168.163.0/26', '20.20.2.4'], // ipipMode Always
  ['10.8.5.0/26', '10.10.20.4'], // CrossSubnet, same subnet: direct over the uplink
  ['10.8.6.0/26', '10.10.30.4'], // CrossSubnet, other subnet: tunl0 onlink
  ['10.9.1.0/26', '10.10.20.4'], // VXLAN pool: nothing
];

// `ip route show proto bird` leaves out the field it filters on, so filter here and compare whole lines.
const bird = (ns: Netns) => ns.routes().filter((l) => / proto bird( |$)/.test(l)).sort();

async function until(what: string, fn: () => boolean, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!root)('kernel programmer in network namespaces', () => {
  const bed = new Testbed(`kn${Math.random().toString(36).slice(2, 6)}`);
  let file = '';
  let cleanupBundle = () => {};
  const children: NsChild[] = [];
  const monitors: ChildProcess[] = [];

  async function child(ns: Netns, backend: 'netlink' | 'ip' = 'netlink'): Promise<NsChild> {
    const c = NsChild.start(ns.name, file, { KERNEL_BACKEND: backend });
    children.push(c);
    return c;
  }

  async function programmer(ns: Netns, nodeIp: string, opts: object = {}, backend: 'netlink' | 'ip' = 'netlink'): Promise<NsChild> {
    const c = await child(ns, backend);
    await c.call('create', { scanIntervalMs: 3_600_000, ...opts });
    await c.call('setNode', node(nodeIp));
    await c.call('setPools', POOLS);
    return c;
  }

  beforeAll(async () => {
    const built = await bundle('programmer-child.ts');
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
    it(`${backend}: ip route shows exactly the seed forms (Always, both CrossSubnet branches, blackhole, no VXLAN)`, async () => {
      const ns = bed.addHost(`s${backend[0]}`, { address: '10.10.20.5/24', tunnelAddress: '192.168.160.193/32' });
      const p = await programmer(ns, '10.10.20.5', {}, backend);
      await p.call('setLocalBlocks', [
        { cidr: '192.168.160.192/26', state: 'confirmed' },
        { cidr: '192.168.161.0/26', state: 'pending' },
        { cidr: '192.168.162.5/32', state: 'confirmed' },
      ]);
      await p.call('bestPaths', SEED_PATHS);
      await p.call('start');
      await p.call('idle');
      expect(bird(ns)).toEqual(SEED);
      const st = await p.call<KernelStatus>('status');
      expect(st).toMatchObject({ routes: 4, programmed: 4, failedCount: 0, backend: backend === 'ip' ? 'ip-batch' : 'netlink' });
    });
  }

  it('a deleted and a modified route come back within one scan; foreign routes are never touched', async () => {
    const ns = bed.addHost('r', { address: '10.10.20.5/24' });
    // Foreign routes: static, boot (no proto), another protocol number, and the kernel's own.
    ns.ip(['route', 'add', '172.20.1.0/24', 'via', '10.10.20.1', 'proto', 'static']);
    ns.ip(['route', 'add', '172.20.2.0/24', 'via', '10.10.20.1']);
    ns.ip(['route', 'add', '172.20.3.0/24', 'via', '10.10.20.1', 'proto', '99']);
    ns.ip(['route', 'add', 'blackhole', '172.20.4.0/24', 'proto', 'static']);
    ns.ip(['route', 'add', '192.168.170.0/26', 'via', '10.10.20.1', 'proto', 'static']); // a prefix we will want
    const foreignBefore = ns.routes().filter((l) => !l.includes('proto bird'));
    expect(foreignBefore.some((l) => l.includes('proto kernel'))).toBe(true);

    const p = await programmer(ns, '10.10.20.5', { initialHoldMs: 0 });
    await p.call('setLocalBlocks', [{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
    await p.call('bestPaths', [...SEED_PATHS, ['192.168.170.0/26', '20.20.2.9']]);
    await p.call('start');
    await p.call('idle');
    expect(bird(ns)).toEqual(SEED);
    let st = await p.call<KernelStatus>('status');
    expect(st.foreignConflicts).toBe(1);
    expect(st.failed.map((f) => f.error)).toEqual([expect.stringMatching(/192\.168\.170\.0\/26 is held by a proto static route/)]);

    ns.ip(['route', 'del', '192.168.163.0/26']);
    ns.ip(['route', 'replace', '10.8.5.0/26', 'via', '10.10.20.9', 'dev', 'eth0', 'proto', 'bird']);
    expect(bird(ns)).not.toEqual(SEED);
    await p.call('scanNow');
    await p.call('idle');
    expect(bird(ns)).toEqual(SEED);
    st = await p.call<KernelStatus>('status');
    expect(st.counters.repaired).toBe(2);

    // Everything withdrawn: all our routes go, every foreign one stays byte for byte.
    await p.call('bestPaths', [...SEED_PATHS, ['192.168.170.0/26', '20.20.2.9']].map(([c]) => [c, null]));
    await p.call('setLocalBlocks', []);
    await p.call('idle');
    expect(bird(ns)).toEqual([]);
    expect(ns.routes().filter((l) => !l.includes('proto bird'))).toEqual(foreignBefore);
  });

  it('the periodic scan (2 s) repairs a deleted route without being asked', async () => {
    const ns = bed.addHost('t', { address: '10.10.20.5/24' });
    const p = await programmer(ns, '10.10.20.5', { scanIntervalMs: 2000 });
    await p.call('bestPaths', [['192.168.163.0/26', '20.20.2.4']]);
    await p.call('start');
    await p.call('idle');
    expect(bird(ns)).toEqual(['192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
    ns.ip(['route', 'del', '192.168.163.0/26', 'proto', 'bird']);
    await until('the scan to put the route back', () => bird(ns).length === 1);
    expect(bird(ns)).toEqual(['192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
  });

  it('reports a refused route with the kernel error and a missing tunl0 clearly, then recovers when tunl0 appears', async () => {
    const ns = bed.addHost('e', { address: '10.10.20.5/24' });
    ns.ip(['link', 'del', 'tunl0']);
    const p = await programmer(ns, '10.10.20.5');
    await p.call('bestPaths', [
      ['192.168.163.0/26', '20.20.2.4'],
      ['172.16.1.0/26', '10.99.0.1'], // in no pool: direct, but 10.99.0.1 is not reachable
      ['10.8.5.0/26', '10.10.20.4'],
    ]);
    await p.call('start');
    await p.call('idle');
    let st = await p.call<KernelStatus>('status');
    expect(st.tunnelMissing).toMatch(/tunl0 not found: 1 IPIP route/);
    expect(st.failed).toEqual([
      expect.objectContaining({ route: '172.16.1.0/26 via 10.99.0.1 proto bird', error: 'Network is unreachable', attempts: 1 }),
    ]);
    expect(bird(ns)).toEqual(['10.8.5.0/26 via 10.10.20.4 dev eth0 proto bird']);

    addFakeTunnel(ns, '192.168.160.193/32');
    await p.call('scanNow');
    await p.call('idle');
    st = await p.call<KernelStatus>('status');
    expect(st.tunnelMissing).toBeUndefined();
    expect(bird(ns)).toEqual(['10.8.5.0/26 via 10.10.20.4 dev eth0 proto bird', '192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
  });

  it('a restart adopts 10k routes: ip monitor sees no deletion or change', async () => {
    const ns = bed.addHost('m', { address: '10.10.20.5/24' });
    const N = 10_000;
    const first = await programmer(ns, '10.10.20.5');
    await first.call('setLocalBlocks', [{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
    await first.call('manyPaths', '10.128.0.0/26', N, '20.20.2.4'); // 10.128.0.0 .. 10.137.195.192
    await first.call('start');
    await first.call('idle');
    expect(bird(ns)).toHaveLength(N + 1);
    await first.call('stop');
    await first.stop(); // the process exits; routes persist
    expect(bird(ns)).toHaveLength(N + 1);

    // IPv4 only: the kernel adds IPv6 link-local routes on its own whenever a veth finishes DAD.
    const monitor = spawn('ip', ['-4', '-n', ns.name, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
    monitors.push(monitor);
    let seen = '';
    monitor.stdout.on('data', (d) => (seen += String(d)));
    // Sentinels prove the monitor was listening before and after the restart.
    await sentinel(ns, '172.31.0.0/24', () => seen, ['via', '10.10.20.1']);

    const second = await programmer(ns, '10.10.20.5');
    await second.call('setLocalBlocks', [{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
    await second.call('manyPaths', '10.128.0.0/26', N, '20.20.2.4');
    await second.call('start');
    await second.call('idle');
    await second.call('scanNow');
    await second.call('idle');

    await sentinel(ns, '172.31.1.0/24', () => seen, ['via', '10.10.20.1']);
    monitor.kill('SIGTERM');
    // Sentinel lines (172.31.x, re-added until the monitor showed one) are not changes of ours.
    const between = seen.slice(seen.indexOf('172.31.0.0/24'), seen.indexOf('172.31.1.0/24')).split('\n').slice(1).filter((l) => l && !l.includes('172.31.'));
    expect(between).toEqual([]);
    const st = await second.call<KernelStatus>('status');
    expect(st.counters).toMatchObject({ adopted: N + 1, adoptedUnchanged: N + 1, replaced: 0, deleted: 0 });
    expect(st.programmed).toBe(N + 1);
  });

  it('netlink: a tiny receive buffer shrinks the window so no error reply is lost (ENOBUFS would abort the process)', async () => {
    const ns = bed.addHost('o', { address: '10.10.20.5/24' });
    const c = await child(ns);
    const out = await c.call<{ errors: number; codes: Record<string, number>; allBad: boolean; counters: { overflows: number }; installed: number; batching: { window: number; messagesPerSend: number } }>('overflow', 3000, 3000);
    expect(out.batching.messagesPerSend * out.batching.window).toBeLessThan(64 * 512);
    expect(out.counters.overflows).toBe(0);
    expect(out.errors).toBe(3000);
    expect(out.codes).toEqual({ ENETUNREACH: 3000 });
    expect(out.allBad).toBe(true);
    expect(out.installed).toBe(3000);
    expect(bird(ns)).toHaveLength(3000);
  });

  for (const backend of ['netlink', 'ip'] as const) {
    it(`${backend}: routes flush removes only proto bird routes`, async () => {
      const ns = bed.addHost(`f${backend[0]}`, { address: '10.10.20.5/24' });
      ns.ip(['route', 'add', '172.20.1.0/24', 'via', '10.10.20.1', 'proto', 'static']);
      ns.ip(['route', 'add', '172.20.3.0/24', 'via', '10.10.20.1', 'proto', '99']);
      ns.ip(['route', 'add', 'blackhole', '172.20.4.0/24']);
      const foreign = ns.routes();
      const p = await programmer(ns, '10.10.20.5', {}, backend);
      await p.call('setLocalBlocks', [{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
      await p.call('bestPaths', SEED_PATHS);
      await p.call('start');
      await p.call('idle');
      expect(bird(ns)).toEqual(SEED);
      const out = await p.call<{ found: number; removed: number; remaining: number }>('flush');
      expect(out).toMatchObject({ found: 4, removed: 4, remaining: 0 });
      expect(bird(ns)).toEqual([]);
      expect(ns.routes()).toEqual(foreign);
    });
  }
});
