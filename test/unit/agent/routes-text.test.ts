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
