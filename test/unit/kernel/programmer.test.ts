import { afterEach, describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import type { NodeIdentity, Pool } from '../../../src/datastore/desired.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { blackholeRoute, gatewayRoute } from '../../../src/kernel/route.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';

const node: NodeIdentity = { name: 'node-a', ipv4: '10.10.20.5', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.10.20.5' };
const pools: Pool[] = [
  { name: 'ipip', cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 },
  { name: 'cross', cidr: '10.8.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 },
];
const P = parsePrefix;

function setup(opts: { links?: Record<string, number[]>; initialHoldMs?: number } = {}) {
  const backend = new MemoryBackend({ links: opts.links ?? { eth0: [P('10.10.20.0/24')], tunl0: [] } });
  const clock = new ManualScheduler();
  const programmer = new KernelProgrammer({ backend, scheduler: clock, initialHoldMs: opts.initialHoldMs ?? 0 });
  programmer.setNode(node);
  programmer.setPools(pools);
  return { backend, clock, programmer };
}

let current: KernelProgrammer | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('KernelProgrammer with the memory backend', () => {
  it('programs the seed forms, one batch for changes made in one turn', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.setLocalBlocks([{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
    programmer.applyBestPaths([{ key: P('192.168.163.0/26'), nextHop: '20.20.2.4' }]);
    programmer.applyBestPaths([{ key: P('10.8.5.0/26'), nextHop: '10.10.20.4' }]);
    await programmer.idle();
    expect(backend.show()).toEqual([
      '10.8.5.0/26 via 10.10.20.4 dev eth0 proto bird',
      'blackhole 192.168.160.192/26 proto bird',
      '192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink',
    ]);
    expect(programmer.status().counters.batches).toBe(1);
    expect(programmer.status()).toMatchObject({ routes: 3, programmed: 3, failedCount: 0 });
  });

  it('reconciles withdrawals, next-hop changes and pool mode changes as a diff', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.applyBestPaths([
      { key: P('10.8.5.0/26'), nextHop: '10.10.20.4' },
      { key: P('10.8.6.0/26'), nextHop: '10.10.20.6' },
      { key: P('192.168.1.0/26'), nextHop: '10.10.20.7' },
    ]);
    await programmer.idle();
    backend.log.length = 0;
    programmer.applyBestPaths([
      { key: P('10.8.5.0/26'), nextHop: null },
      { key: P('10.8.6.0/26'), nextHop: '10.10.20.9' },
    ]);
    await programmer.idle();
    expect(backend.log.map((o) => `${o.op} ${o.route.prefix === P('10.8.5.0/26') ? '10.8.5.0/26' : '10.8.6.0/26'}`).sort()).toEqual([
      'delete 10.8.5.0/26',
      'replace 10.8.6.0/26',
    ]);
    backend.log.length = 0;
    // 10.8/16 becomes Always: its route moves to tunl0; the 192.168 route is unchanged.
    programmer.setPools([pools[0], { ...pools[1], ipipMode: 'Always' }]);
    await programmer.idle();
    expect(backend.log).toHaveLength(1);
    expect(backend.show()).toContain('10.8.6.0/26 via 10.10.20.9 dev tunl0 proto bird onlink');
  });

  it('adopts matching routes at start without touching them', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    for (let i = 0; i < 1000; i++) {
      const prefix = (parseIpv4('192.168.0.0') + i * 64) * 64 + 26;
      backend.routes.set(prefix, gatewayRoute(prefix, parseIpv4('20.20.2.4'), 'tunl0', true));
    }
    backend.routes.set(P('192.168.252.0/26'), blackholeRoute(P('192.168.252.0/26')));
    programmer.setLocalBlocks([{ cidr: '192.168.252.0/26', state: 'confirmed' }]);
    const changes = [];
    for (let i = 0; i < 1000; i++) changes.push({ key: (parseIpv4('192.168.0.0') + i * 64) * 64 + 26, nextHop: '20.20.2.4' });
    programmer.applyBestPaths(changes);
    await programmer.start();
    await programmer.idle();
    expect(backend.log).toEqual([]);
    expect(programmer.status().counters).toMatchObject({ adopted: 1001, adoptedUnchanged: 1001, replaced: 0, deleted: 0 });
  });

  it('holds adopted stale routes until releaseStale, then removes them', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    const stale = P('192.168.5.0/26');
    backend.routes.set(stale, gatewayRoute(stale, parseIpv4('20.20.2.4'), 'tunl0', true));
    programmer.holdStale(Date.now() + 3_600_000);
    await programmer.start();
    await programmer.idle();
    expect(backend.routes.has(stale)).toBe(true);
    expect(programmer.status().staleHeld).toBe(1);
    programmer.releaseStale();
    await programmer.idle();
    expect(backend.routes.has(stale)).toBe(false);
    expect(programmer.status().counters.deleted).toBe(1);
  });

  it('stale routes go when the hold times out; a route withdrawn during the hold goes at once', async () => {
    const backend = new MemoryBackend({ links: { eth0: [P('10.10.20.0/24')], tunl0: [] } });
    const clock = new ManualScheduler();
    const programmer = new KernelProgrammer({ backend, scheduler: clock, initialHoldMs: 120_000 });
    current = programmer;
    programmer.setNode(node);
    programmer.setPools(pools);
    const a = P('192.168.5.0/26');
    const b = P('192.168.6.0/26');
    for (const p of [a, b]) backend.routes.set(p, gatewayRoute(p, parseIpv4('20.20.2.4'), 'tunl0', true));
    await programmer.start();
    // b is re-learned, then withdrawn: an explicit withdrawal is not stale.
    programmer.applyBestPaths([{ key: b, nextHop: '20.20.2.4' }]);
    await programmer.idle();
    programmer.applyBestPaths([{ key: b, nextHop: null }]);
    await programmer.idle();
    expect(backend.routes.has(a)).toBe(true);
    expect(backend.routes.has(b)).toBe(false);
    clock.advance(119_000);
    await programmer.idle();
    expect(backend.routes.has(a)).toBe(true);
    clock.advance(1_000);
    await programmer.idle();
    expect(backend.routes.has(a)).toBe(false);
  });

  it('reports per-route errors with the route and retries them with backoff', async () => {
    const { backend, clock, programmer } = setup();
    current = programmer;
    await programmer.start();
    // 10.10.99.4 is on no connected subnet: the kernel refuses a direct route to it.
    programmer.applyBestPaths([{ key: P('172.16.1.0/26'), nextHop: '10.10.99.4' }]);
    await programmer.idle();
    let st = programmer.status();
    expect(st.failedCount).toBe(1);
    expect(st.failed[0]).toMatchObject({ route: '172.16.1.0/26 via 10.10.99.4 proto bird', error: 'Network is unreachable', attempts: 1 });
    clock.advance(1000);
    await programmer.idle();
    expect(programmer.status().failed[0].attempts).toBe(2);
    clock.advance(1000); // next retry is 2 s after the second attempt
    await programmer.idle();
    expect(programmer.status().failed[0].attempts).toBe(2);
    // The uplink gains that subnet: the next retry succeeds.
    backend.links.get('eth0')!.subnets.push(P('10.10.99.0/24'));
    clock.advance(1000);
    await programmer.idle();
    st = programmer.status();
    expect(st.failedCount).toBe(0);
    expect(backend.show()).toEqual(['172.16.1.0/26 via 10.10.99.4 dev eth0 proto bird']);
  });

  it('retries an injected transient failure', async () => {
    const { backend, clock, programmer } = setup();
    current = programmer;
    await programmer.start();
    backend.failNext.set(P('192.168.9.0/26'), 'Try again');
    programmer.applyBestPaths([{ key: P('192.168.9.0/26'), nextHop: '20.20.2.4' }]);
    await programmer.idle();
    expect(programmer.status().failed.map((f) => f.error)).toEqual(['Try again']);
    clock.advance(1000);
    await programmer.idle();
    expect(programmer.status().failedCount).toBe(0);
    expect(backend.routes.has(P('192.168.9.0/26'))).toBe(true);
  });

  it('a missing tunl0 is one clear status error; routes follow when it appears', async () => {
    const { backend, clock, programmer } = setup({ links: { eth0: [P('10.10.20.0/24')] } });
    current = programmer;
    await programmer.start();
    programmer.applyBestPaths([
      { key: P('192.168.1.0/26'), nextHop: '20.20.2.4' },
      { key: P('192.168.2.0/26'), nextHop: '20.20.2.5' },
      { key: P('10.8.5.0/26'), nextHop: '10.10.20.4' },
    ]);
    await programmer.idle();
    let st = programmer.status();
    expect(st.tunnelMissing).toMatch(/tunl0 not found: 2 IPIP route/);
    expect(st.waitingForTunnel).toBe(2);
    expect(backend.show()).toEqual(['10.8.5.0/26 via 10.10.20.4 dev eth0 proto bird']);
    backend.addLink('tunl0');
    clock.advance(2000); // one scan
    await programmer.idle();
    st = programmer.status();
    expect(st.tunnelMissing).toBeUndefined();
    expect(st.programmed).toBe(3);
  });

  it('a scan puts back a route deleted or modified behind its back', async () => {
    const { backend, clock, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.applyBestPaths([
      { key: P('192.168.1.0/26'), nextHop: '20.20.2.4' },
      { key: P('192.168.2.0/26'), nextHop: '20.20.2.5' },
    ]);
    await programmer.idle();
    backend.routes.delete(P('192.168.1.0/26'));
    backend.routes.set(P('192.168.2.0/26'), gatewayRoute(P('192.168.2.0/26'), parseIpv4('20.20.2.99'), 'tunl0', true));
    clock.advance(2000);
    await programmer.idle();
    expect(backend.show()).toEqual([
      '192.168.1.0/26 via 20.20.2.4 dev tunl0 proto bird onlink',
      '192.168.2.0/26 via 20.20.2.5 dev tunl0 proto bird onlink',
    ]);
    expect(programmer.status().counters.repaired).toBe(2);
    // Nothing changed: the next scan is a dump and a compare, no ops.
    backend.log.length = 0;
    const dumps = backend.dumps;
    clock.advance(2000);
    await programmer.idle();
    expect(backend.dumps).toBe(dumps + 1);
    expect(backend.log).toEqual([]);
  });

  it('never replaces a prefix held by another protocol; reports it instead', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    const p = P('192.168.7.0/26');
    backend.foreign.set(p, { route: gatewayRoute(p, parseIpv4('10.10.20.1'), 'eth0'), protocol: 'static' });
    await programmer.start();
    programmer.applyBestPaths([{ key: p, nextHop: '20.20.2.4' }]);
    await programmer.idle();
    const st = programmer.status();
    expect(st.foreignConflicts).toBe(1);
    expect(st.failed[0].error).toMatch(/held by a proto static route/);
    expect(backend.log).toEqual([]);
  });

  it('programClusterRoutes Disabled removes our IPIP routes and says so', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.applyBestPaths([
      { key: P('192.168.1.0/26'), nextHop: '20.20.2.4' },
      { key: P('10.8.5.0/26'), nextHop: '10.10.20.4' },
    ]);
    await programmer.idle();
    programmer.setProgramClusterRoutes('Disabled');
    await programmer.idle();
    expect(backend.show()).toEqual(['10.8.5.0/26 via 10.10.20.4 dev eth0 proto bird']);
    expect(programmer.status().programClusterRoutes).toMatchObject({ value: 'Disabled', programIpip: false });
  });

  it('stop leaves routes in place (persist) and stops scanning', async () => {
    const { backend, clock, programmer } = setup();
    await programmer.start();
    programmer.applyBestPaths([{ key: P('192.168.1.0/26'), nextHop: '20.20.2.4' }]);
    await programmer.idle();
    await programmer.stop();
    const dumps = backend.dumps;
    clock.advance(10_000);
    expect(backend.dumps).toBe(dumps);
    expect(backend.show()).toEqual(['192.168.1.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
    expect(clock.pending).toBe(0);
  });

  it('pending block affinities do not blackhole; confirming one replaces the learned route', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.setLocalBlocks([{ cidr: '192.168.3.0/26', state: 'pending' }]);
    programmer.applyBestPaths([{ key: P('192.168.3.0/26'), nextHop: '20.20.2.4' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['192.168.3.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
    programmer.setLocalBlocks([{ cidr: '192.168.3.0/26', state: 'confirmed' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['blackhole 192.168.3.0/26 proto bird']);
    programmer.setLocalBlocks([]);
    await programmer.idle();
    expect(backend.show()).toEqual(['192.168.3.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
  });

  it('started with nothing to do (a node without a block), it programs later best paths, blocks and scan repairs', async () => {
    const { backend, clock, programmer } = setup();
    current = programmer;
    await programmer.start();
    // What the agent hands a fresh node: no blocks at all. This turn has nothing
    // to reconcile; the loop must still be there for the next one (issue 15).
    programmer.setLocalBlocks([]);
    await programmer.idle();
    expect(programmer.status().lastLoopAt).toBe(clock.now());
    programmer.applyBestPaths([{ key: P('192.168.1.0/26'), nextHop: '20.20.2.4' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['192.168.1.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
    programmer.setLocalBlocks([{ cidr: '192.168.9.0/26', state: 'confirmed' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['192.168.1.0/26 via 20.20.2.4 dev tunl0 proto bird onlink', 'blackhole 192.168.9.0/26 proto bird']);
    backend.routes.delete(P('192.168.1.0/26'));
    clock.advance(2000);
    await programmer.idle();
    expect(backend.show()).toEqual(['192.168.1.0/26 via 20.20.2.4 dev tunl0 proto bird onlink', 'blackhole 192.168.9.0/26 proto bird']);
    expect(programmer.status()).toMatchObject({ lastLoopAt: clock.now(), counters: { repaired: 1 } });
  });

  it('a request made while a run is finishing is not lost', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.applyBestPaths([{ key: P('192.168.1.0/26'), nextHop: '20.20.2.4' }]);
    // A scan asked for while the run for the change above is in flight: it
    // joins that run, and the change made right after is still programmed.
    const scan = programmer.scanNow();
    programmer.applyBestPaths([{ key: P('192.168.2.0/26'), nextHop: '20.20.2.5' }]);
    await scan;
    await programmer.idle();
    expect(backend.show()).toEqual([
      '192.168.1.0/26 via 20.20.2.4 dev tunl0 proto bird onlink',
      '192.168.2.0/26 via 20.20.2.5 dev tunl0 proto bird onlink',
    ]);
  });
});
