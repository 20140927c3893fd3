/**
 * The agent's IPv6 routing hook (issue 19): with a node IPv6 address, IPv6
 * peers start (they are no longer refused) and this node's IPv6 blocks are
 * in the IPv6 RIB as its own routes with that address as next hop; IPv4
 * peers run beside them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../src/agent/agent.js';
import { formatPrefix6, parsePrefix6 } from '../../../src/bgp/prefix6.js';
import type { Routing } from '../../../src/agent/routing.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { dualStackState as state, FakeDatastore, startAgent as start, stopAgents } from '../../helpers/agent.js';
import { until } from '../../helpers/wait.js';

afterEach(stopAgents);

async function startAgent(ds: FakeDatastore, backend: MemoryBackend): Promise<Agent> {
  return (await start(ds, { programRoutes: true }, { kernelBackend: async () => backend })).agent;
}
describe('agent: IPv6 sessions and own IPv6 routes', () => {
  it('IPv6 peers start beside the IPv4 ones and the IPv6 RIB holds our IPv6 blocks with our IPv6 address as next hop', async () => {
    const ds = new FakeDatastore();
    const backend = new MemoryBackend({ links: { eth0: [parsePrefix('127.0.0.0/8'), parsePrefix6('fd00:199::/64')], tunl0: [] } });
    const agent = await startAgent(ds, backend);
    ds.emit(state({ ipv6: 'fd00:199::1', blocks6: ['fd00:245::/122', 'fd00:245::40/122'] }));
    await until('both peers listed', () => agent.snapshot().peers.length === 2);
    const v6 = agent.snapshot().peers.find((p) => p.address === 'fd00:199::2')!;
    expect(v6.lastError ?? '').not.toMatch(/IPv6 peer not started/);
    // The wiring is private to the agent; its IPv6 RIB is what the sessions export from.
    const routing = (agent as unknown as { routing: Routing }).routing;
    const rib6 = routing.rib6!;
    expect(rib6.me.localAddress).toBe('fd00:199::1');
    await until('own IPv6 routes', () => [...rib6.prefixes()].length === 2);
    const own = [...rib6.prefixes()].map((k) => [formatPrefix6(k), rib6.lookup(k).best?.attrs.attrs.nextHop]).sort();
    expect(own).toEqual([['fd00:245::/122', 'fd00:199::1'], ['fd00:245::40/122', 'fd00:199::1']]);
    ds.emit(state({ ipv6: 'fd00:199::1', blocks6: ['fd00:245::40/122'] }));
    await until('released block gone', () => [...rib6.prefixes()].length === 1);
    expect(agent.snapshot().peers.find((p) => p.address === '127.0.0.2')?.lastError ?? '').not.toMatch(/IPv6/);
  });
});

describe('agent: the Node IPv6 address changes while running (issue 19)', () => {
  it('the IPv6 session moves to the new source address and our IPv6 routes carry the new next hop; the IPv4 session is the same one', async () => {
    const ds = new FakeDatastore();
    const backend = new MemoryBackend({ links: { eth0: [parsePrefix('127.0.0.0/8'), parsePrefix6('fd00:199::/64')], tunl0: [] } });
    const agent = await startAgent(ds, backend);
    // What desired-state computes from the Node: the IPv6 mesh peer's source address is the node's IPv6 address.
    const withSource = (ipv6: string) => {
      const s = state({ ipv6, blocks6: ['fd00:245::/122'] });
      for (const p of s.peers.values()) if (p.address.includes(':')) p.sourceAddress = ipv6;
      return s;
    };
    ds.emit(withSource('fd00:199::1'));
    const speaker = (agent as unknown as { speaker: { peer(name: string): { config: { sourceAddress?: string } } | undefined } }).speaker;
    await until('IPv6 peer started', () => speaker.peer('Mesh_fd00_199__2')?.config.sourceAddress === 'fd00:199::1');
    const v4Before = speaker.peer('Mesh_127_0_0_2');
    const v4Since = agent.snapshot().peers.find((p) => p.address === '127.0.0.2')!.since;
    const rib6 = (agent as unknown as { routing: Routing }).routing.rib6!;
    const nextHops = () => [...rib6.prefixes()].map((k) => rib6.lookup(k).best?.attrs.attrs.nextHop);
    await until('own IPv6 route', () => nextHops().length === 1);
    expect(nextHops()).toEqual(['fd00:199::1']);

    ds.emit(withSource('fd00:199::5'));
    await until('IPv6 peer moved', () => speaker.peer('Mesh_fd00_199__2')?.config.sourceAddress === 'fd00:199::5');
    expect(rib6.me.localAddress).toBe('fd00:199::5');
    expect(nextHops()).toEqual(['fd00:199::5']);
    expect((agent as unknown as { routing: Routing }).routing.rib6).toBe(rib6); // the same IPv6 RIB, not a second one
    expect(speaker.peer('Mesh_127_0_0_2')).toBe(v4Before); // IPv4: the same session object, never reset
    expect(agent.snapshot().peers.find((p) => p.address === '127.0.0.2')!.since).toBe(v4Since);
    expect((agent as unknown as { routing: Routing }).routing.rib.me.localAddress).toBe('127.0.0.1');
  });
});

describe('agent: an IPv6 peer\'s route counters (issue 19)', () => {
  it('come from the IPv6 RIB (status, agent peers and metrics read them)', async () => {
    const ds = new FakeDatastore();
    const backend = new MemoryBackend({ links: { eth0: [parsePrefix('127.0.0.0/8'), parsePrefix6('fd00:199::/64')], tunl0: [] } });
    const agent = await startAgent(ds, backend);
    ds.emit(state({ ipv6: 'fd00:199::1' }));
    const routing = (agent as unknown as { routing: Routing }).routing;
    await until('IPv6 peer in the IPv6 RIB', () => routing.rib6?.peerNames().includes('Mesh_fd00_199__2') === true);
    // As if the session came up and the peer sent two /122s (the RIB's side of an UPDATE; the session is unit-tested elsewhere).
    const rib6 = routing.rib6!;
    rib6.peerUp('Mesh_fd00_199__2', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib6.applyUpdate('Mesh_fd00_199__2', {
      type: 'UPDATE',
      withdrawn: { keys: [], pathIds: null },
      attributes: { origin: 0, asPath: [], localPref: 100, mpReach: { afi: 2, safi: 1, nextHops: ['fd00:199::2'], nlri: { prefixes: ['fd00:245::40/122', 'fd00:245::80/122'], pathIds: null } } },
      nlri: { keys: [], pathIds: null },
    });
    const counters = agent.snapshot().peers.find((p) => p.address === 'fd00:199::2')!.counters;
    expect(counters).toMatchObject({ received: 2, accepted: 2 });
    expect(agent.snapshot().peers.find((p) => p.address === '127.0.0.2')!.counters.received).toBe(0);
  });
});
