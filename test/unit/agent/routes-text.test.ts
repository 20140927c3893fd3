/**
 * The `agent routes` text, end to end from the RIB: inspectRoutes (the agent
 * side, wording attributes through the codec's table) then formatRoutes (the
 * CLI side). The line is what operators and scripts read, birdc-like; it
 * must not move when attributes are added to the table.
 */
import { describe, expect, it } from 'vitest';
import { inspectRoutes } from '../../../src/agent/inspect.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { formatRoutes } from '../../../src/cli/commands/inspect.js';
import { announce, ibgpAttrs, peer } from '../rib/helpers.js';
import { parsePrefix6 } from '../../../src/bgp/prefix6.js';
import type { UpdateMessage } from '../../../src/bgp/codec/types.js';

describe('agent routes text', () => {
  it('shows AS path, origin, localpref and med as before, and leaves communities, originator id and cluster list off the line', () => {
    const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1' });
    rib.addPeer(peer('Mesh_10_0_0_2', '10.0.0.2', 64512));
    rib.addPeer(peer('Global_10_0_0_3', '10.0.0.3', 64513));
    rib.peerUp('Mesh_10_0_0_2', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.peerUp('Global_10_0_0_3', { remoteRouterId: '10.0.0.3', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('Mesh_10_0_0_2', announce(['10.244.3.0/26'], ibgpAttrs('10.0.0.2', { communities: [64512 * 65536 + 100], originatorId: '10.0.0.9', clusterList: ['1.1.1.1'] })));
    rib.applyUpdate('Global_10_0_0_3', announce(['10.244.3.0/26'], { origin: 2, asPath: [{ type: 2, asns: [64513] }, { type: 1, asns: [1, 2] }], nextHop: '10.0.0.3', med: 5 }));
    rib.flush();

    const lines = formatRoutes(inspectRoutes(rib, undefined, { prefix: '10.244.3.0/26' })).split('\n');
    expect(lines[0]).toBe('10.244.3.0/26        via 10.0.0.2        from Mesh_10_0_0_2   * [AS path: (empty)] IGP localpref 100');
    expect(lines[1]).toBe('                     via 10.0.0.3        from Global_10_0_0_3   [AS path: 64513 {1 2}] incomplete med 5');
    expect(lines[2]).toMatch(/^ {20} best path chosen by: /);
  });
});

describe('agent routes: IPv6 (issue 19)', () => {
  const reach6 = (prefixes: string[], nextHops: string[]): UpdateMessage => ({
    type: 'UPDATE' as const,
    withdrawn: { keys: [], pathIds: null },
    attributes: { origin: 0, asPath: [], localPref: 100, mpReach: { afi: 2, safi: 1, nextHops, nlri: { prefixes, pathIds: null } } },
    nlri: { keys: [], pathIds: null },
  });
  function dualStack() {
    const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1' });
    const rib6 = rib.ipv6Sibling('fd00:1::1');
    rib.addPeer(peer('Mesh_10_0_0_2', '10.0.0.2', 64512));
    rib.peerUp('Mesh_10_0_0_2', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('Mesh_10_0_0_2', announce(['10.244.3.0/26'], ibgpAttrs('10.0.0.2')));
    for (const a of ['fd00:1::2', 'fd00:1::3']) {
      const name = `Mesh_${a.replaceAll(':', '_')}`;
      rib6.addPeer(peer(name, a, 64512));
      rib6.peerUp(name, { remoteRouterId: a === 'fd00:1::2' ? '10.0.0.2' : '10.0.0.3', addPathSend: false, addPathReceive: false });
    }
    // BIRD's 32-octet next hop (RFC 2545 §3): the global address is the path's.
    rib6.applyUpdate('Mesh_fd00_1__2', reach6(['fd00:245::40/122', 'fd00:245::/122'], ['fd00:1::2', 'fe80::2']));
    rib6.applyUpdate('Mesh_fd00_1__3', reach6(['fd00:245::40/122'], ['fd00:1::3']));
    rib6.setLocalRoutes(new Map([[parsePrefix6('fd00:245::1:0/122'), {}]]));
    rib.flush();
    rib6.flush();
    return { rib, rib6 };
  }
  const addressOf = (name: string): string => name.replace(/^Mesh_/, '').replaceAll('__', '::').replaceAll('_', name.includes('__') ? ':' : '.');

  it('one IPv6 prefix: every path via its global next hop, the step that chose the best', () => {
    const { rib, rib6 } = dualStack();
    const lines = formatRoutes(inspectRoutes(rib, undefined, { prefix: 'fd00:245::40/122' }, addressOf, rib6)).split('\n');
    expect(lines[0]).toBe('fd00:245::40/122     via fd00:1::2       from Mesh_fd00_1__2  * [AS path: (empty)] IGP localpref 100');
    expect(lines[1]).toBe('                     via fd00:1::3       from Mesh_fd00_1__3    [AS path: (empty)] IGP localpref 100');
    expect(lines[2]).toBe(`${' '.repeat(20)} best path chosen by: router id`);
  });

  it('the listing holds both families, IPv4 first, IPv6 in address order', () => {
    const { rib, rib6 } = dualStack();
    expect(inspectRoutes(rib, undefined, {}, addressOf, rib6).map((r) => r.prefix)).toEqual(['10.244.3.0/26', 'fd00:245::/122', 'fd00:245::40/122', 'fd00:245::1:0/122']);
    // --limit counts both families together (which IPv6 prefix comes first is the table's order, as for IPv4).
    const two = inspectRoutes(rib, undefined, { limit: 2 }, addressOf, rib6).map((r) => r.prefix);
    expect(two).toHaveLength(2);
    expect(two[0]).toBe('10.244.3.0/26');
    expect(two[1]).toMatch(/^fd00:245::/);
    // Without an IPv6 RIB (no node IPv6 address) an IPv6 prefix is an error saying why, and the listing is IPv4's.
    expect(() => inspectRoutes(rib, undefined, { prefix: 'fd00:245::40/122' })).toThrow(/no IPv6 address \(spec\.bgp\.ipv6Address\)/);
    expect(inspectRoutes(rib, undefined, {}).map((r) => r.prefix)).toEqual(['10.244.3.0/26']);
  });

  it('received from and advertised to an IPv6 peer, by name or address', () => {
    const { rib, rib6 } = dualStack();
    const received = inspectRoutes(rib, undefined, { received: 'fd00:1::2' }, addressOf, rib6);
    expect(received.map((r) => [r.prefix, r.paths[0].nextHop, r.paths[0].peer]).sort()).toEqual([
      ['fd00:245::/122', 'fd00:1::2', 'Mesh_fd00_1__2'],
      ['fd00:245::40/122', 'fd00:1::2', 'Mesh_fd00_1__2'],
    ]);
    // iBGP: only our own block goes out, with our IPv6 address as next hop.
    const advertised = inspectRoutes(rib, undefined, { advertised: 'Mesh_fd00_1__3' }, addressOf, rib6);
    expect(advertised.map((r) => [r.prefix, r.paths[0].nextHop])).toEqual([['fd00:245::1:0/122', 'fd00:1::1']]);
    expect(() => inspectRoutes(rib, undefined, { received: 'fd00:1::9' }, addressOf, rib6)).toThrow(/no peer "fd00:1::9"; known: Mesh_10_0_0_2, Mesh_fd00_1__2, Mesh_fd00_1__3/);
  });
});
