/**
 * BGPPeer reachableBy: confd's bird_aggr.cfg renders `route <peerIP>/32 via
 * <gateway>;` (reachable_by/global_peers: `route 10.225.0.4/32 via
 * 10.224.0.1;`) and BIRD's kernel protocol writes it as a proto bird route;
 * a static route outranks a BGP-learned one for the same /32 in BIRD.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import type { NodeIdentity } from '../../../src/datastore/desired.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';

const node: NodeIdentity = { name: 'kube-master', ipv4: '10.224.0.2', ipv4PrefixLen: 16, asNumber: 64512, routerId: '10.224.0.2' };
let current: KernelProgrammer | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('reachableBy static routes', () => {
  it('programs <peer>/32 via <gateway>, keeps it over a learned /32, and removes it when the option goes', async () => {
    const backend = new MemoryBackend({ links: { eth0: [parsePrefix('10.224.0.0/16')], tunl0: [] } });
    const programmer = new KernelProgrammer({ backend, scheduler: new ManualScheduler(), initialHoldMs: 0 });
    current = programmer;
    programmer.setNode(node);
    programmer.setPools([]);
    await programmer.start();
    programmer.setPeerRoutes([
      { address: '10.225.0.4', via: '10.224.0.1' },
      { address: '10.225.0.5', via: '10.224.0.1' },
      { address: 'ffee::10', via: 'ffee::1:1' }, // IPv6: not an IPv4 route
    ]);
    programmer.applyBestPaths([{ key: parsePrefix('10.225.0.4/32'), nextHop: '10.224.0.9' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['10.225.0.4 via 10.224.0.1 dev eth0 proto bird', '10.225.0.5 via 10.224.0.1 dev eth0 proto bird']);
    programmer.setPeerRoutes([{ address: '10.225.0.5', via: '10.224.0.1' }]);
    await programmer.idle();
    // 10.225.0.4 falls back to what BGP learned for it (BIRD's next best route once the static one goes).
    expect(backend.show()).toEqual(['10.225.0.4 via 10.224.0.9 dev eth0 proto bird', '10.225.0.5 via 10.224.0.1 dev eth0 proto bird']);
    programmer.setPeerRoutes([]);
    await programmer.idle();
    expect(backend.show()).toEqual(['10.225.0.4 via 10.224.0.9 dev eth0 proto bird']);
  });
});
