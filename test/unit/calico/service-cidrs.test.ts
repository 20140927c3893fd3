/**
 * Service CIDRs (issue 21, first part): BGPConfiguration serviceClusterIPs,
 * serviceExternalIPs and serviceLoadBalancerIPs are advertised by every node
 * at the CIDR level with the communities of its other routes, withdrawn when
 * removed; a single /32 entry is not advertised this way; neither the ranges
 * nor learned routes inside them are ever programmed into the kernel.
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import { originatedRoutes } from '../../../src/bgp/rib/calico-policy.js';
import { RouteContext } from '../../../src/kernel/desired-routes.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';
import { computeBgpSettings } from '../../../src/datastore/desired-state.js';
import { cacheWith } from '../datastore/fixtures.js';

const pools = [{ name: 'p', cidr: '10.244.0.0/16', ipipMode: 'Always' as const, vxlanMode: 'Never' as const, disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 }];

describe('service CIDRs', () => {
  it('the datastore takes the three service lists from the default BGPConfiguration, leaving out single /32 entries', () => {
    const cache = cacheWith({
      nodes: [{ name: 'a', ip: '10.0.0.1/24' }],
      bgpConfig: {
        serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
        serviceExternalIPs: [{ cidr: '203.0.113.0/24' }, { cidr: '198.51.100.7/32' }],
        serviceLoadBalancerIPs: [{ cidr: '192.0.2.0/26' }],
      },
    });
    expect(computeBgpSettings(cache, 'a').serviceCidrs).toEqual(['10.96.0.0/12', '203.0.113.0/24', '192.0.2.0/26']);
    expect(computeBgpSettings(cacheWith({ nodes: [{ name: 'a', ip: '10.0.0.1/24' }] }), 'a').serviceCidrs).toBeUndefined();
  });

  it('are originated beside the blocks, with the communities of prefixAdvertisements that cover them', () => {
    const o = originatedRoutes(
      [{ cidr: '10.244.1.0/26', state: 'confirmed' }],
      pools,
      [{ cidr: '10.96.0.0/12', communities: ['65100:96'] }, { cidr: '0.0.0.0/0', communities: ['65100:1'] }],
      ['10.96.0.0/12', '192.0.2.0/26'],
    );
    const got = Object.fromEntries([...o.routes].map(([k, r]) => [formatPrefix(k), r.communities ?? []]));
    const c = (a: number, b: number) => a * 65536 + b;
    expect(got).toEqual({ '10.244.1.0/26': [c(65100, 1)], '10.96.0.0/12': [c(65100, 1), c(65100, 96)], '192.0.2.0/26': [c(65100, 1)] });
    expect(o.problems).toEqual([]);
  });

  it('neither a service range nor a route learned inside one is programmed into the kernel', async () => {
    const ctx = new RouteContext({ pools, serviceCidrs: ['10.96.0.0/12'] });
    expect(ctx.learnedRoute(parsePrefix('10.96.0.0/12'), 0x0a000002)).toBeNull();
    expect(ctx.learnedRoute(parsePrefix('10.96.5.7/32'), 0x0a000002)).toBeNull();
    expect(ctx.learnedRoute(parsePrefix('10.244.1.0/26'), 0x0a000002)).not.toBeNull();

    const backend = new MemoryBackend({ links: { eth0: [parsePrefix('10.0.0.0/24')], tunl0: [] } });
    const k = new KernelProgrammer({ backend, scheduler: new ManualScheduler(), initialHoldMs: 0 });
    k.setNode({ name: 'a', ipv4: '10.0.0.1', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.0.0.1' });
    k.setPools(pools);
    await k.start();
    k.setProgramClusterRoutes({ nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [], serviceCidrs: ['10.96.0.0/12'] });
    k.applyBestPaths([
      { key: parsePrefix('10.96.5.7/32'), nextHop: '10.0.0.2' },
      { key: parsePrefix('10.244.2.0/26'), nextHop: '10.0.0.2' },
    ]);
    await k.idle();
    expect(backend.show()).toEqual(['10.244.2.0/26 via 10.0.0.2 dev tunl0 proto bird onlink']);
    // The range removed from the BGPConfiguration: the learned /32 is an ordinary route again.
    k.setProgramClusterRoutes({ nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [] });
    await k.idle();
    expect(backend.show()).toEqual(['10.96.5.7 via 10.0.0.2 dev eth0 proto bird', '10.244.2.0/26 via 10.0.0.2 dev tunl0 proto bird onlink']);
    await k.stop();
  });
});
