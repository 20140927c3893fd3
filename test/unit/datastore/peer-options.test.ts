/**
 * BGPPeer's per-peer options as confd renders them for BIRD, replayed from
 * Calico's confd test data (confd/tests/mock_data/calicoctl/<case>/input.yaml
 * beside compiled_templates/<case>/bird.cfg):
 *  - explicit_peering/local-as: `local as 64512; ... allow local as 1;` and `local as 65001;`
 *  - next_hop_mode/route_reflectors: `next hop keep;` (Keep), `next hop self;` (Self)
 *  - reachable_by/global_peers: `route 10.225.0.4/32 via 10.224.0.1;` and `next hop keep;`
 * and what a bad value does: a problem naming the BGPPeer and the field, the
 * peering applied without that option.
 */
import { describe, expect, it } from 'vitest';
import { ResourceCache } from '../../../src/datastore/cache.js';
import { computeDesiredState } from '../../../src/datastore/desired-state.js';
import type { PeerConfig } from '../../../src/contracts.js';

const R = '/calico/resources/v3/projectcalico.org';

function view(peers: Record<string, object>, opts: { rrLabel?: boolean } = {}): ResourceCache {
  const c = new ResourceCache();
  let rev = 1;
  const put = (key: string, value: object) => c.apply({ type: 'put', key, value: JSON.stringify({ apiVersion: 'projectcalico.org/v3', ...value }), modRevision: rev++ });
  put(`${R}/bgpconfigurations/default`, { kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } });
  const nodes: [string, string][] = [['kube-master', '10.192.0.2/16'], ['kube-node-1', '10.192.0.3/16'], ['kube-node-2', '10.192.0.4/16']];
  for (const [name, ip] of nodes) {
    const labels = opts.rrLabel && name === 'kube-master' ? { 'route-reflector': 'true' } : {};
    put(`${R}/nodes/${name}`, { kind: 'Node', metadata: { name, labels }, spec: { bgp: { ipv4Address: ip } } });
  }
  for (const [name, spec] of Object.entries(peers)) put(`${R}/bgppeers/${name}`, { kind: 'BGPPeer', metadata: { name }, spec });
  return c;
}

function peersOf(c: ResourceCache): { peers: Map<string, PeerConfig>; problems: { key: string; message: string }[] } {
  const r = computeDesiredState(c, 'kube-master');
  const byName = new Map([...r.state!.peers.values()].map((p) => [p.name, p]));
  return { peers: byName, problems: r.problems };
}

describe('BGPPeer per-peer options (confd test data)', () => {
  it('explicit_peering/local-as: local as and allow local as on the peerIP peerings', () => {
    const { peers, problems } = peersOf(
      view({
        'bgppeer-1': { peerIP: '10.192.0.3', asNumber: 64512, localASNumber: 64512, node: 'kube-master', numAllowedLocalASNumbers: 1 },
        'bgppeer-2': { peerIP: '10.192.0.4', asNumber: 64566, localASNumber: 65001, node: 'kube-master' },
      }),
    );
    expect(problems).toEqual([]);
    const p1 = peers.get('Node_10_192_0_3')!;
    expect(p1).toMatchObject({ asNumber: 64512, localAsNumber: 64512, allowLocalAs: 1, keepOriginalNextHop: false });
    const p2 = peers.get('Node_10_192_0_4')!;
    expect(p2).toMatchObject({ asNumber: 64566, localAsNumber: 65001 });
    expect(p2.allowLocalAs).toBeUndefined();
  });

  it('localASNumber decides iBGP: keepOriginalNextHop (eBGP only) and reflection follow the local AS, not the node AS', () => {
    const { peers } = peersOf(
      view({
        // eBGP by the node's AS (64512 vs 65001), iBGP by the local AS: `next hop keep` is not rendered.
        ibgp: { peerIP: '10.225.0.4', asNumber: 65001, localASNumber: 65001, keepOriginalNextHop: true },
        // iBGP by the node's AS, eBGP by the local AS: it is.
        ebgp: { peerIP: '10.225.0.5', asNumber: 64512, localASNumber: 65002, keepOriginalNextHop: true },
      }),
    );
    expect(peers.get('Global_10_225_0_4')!.keepOriginalNextHop).toBe(false);
    expect(peers.get('Global_10_225_0_5')!.keepOriginalNextHop).toBe(true);
  });

  it('next_hop_mode/route_reflectors: Keep is next hop keep, Self is next hop self (iBGP too); mesh-selected peers take none', () => {
    const { peers } = peersOf(
      view(
        {
          'peer-with-route-reflectors': { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" },
          'external-route-reflector-a-ipv4': { peerIP: '10.225.0.4', asNumber: 65515, nextHopMode: 'Keep', nodeSelector: "route-reflector == 'true'" },
          'external-route-reflector-b-ipv4': { peerIP: '10.225.0.5', asNumber: 64512, nextHopMode: 'Self', nodeSelector: "route-reflector == 'true'" },
        },
        { rrLabel: true },
      ),
    );
    expect(peers.get('Node_10_225_0_4')).toMatchObject({ keepOriginalNextHop: true });
    expect(peers.get('Node_10_225_0_4')!.nextHopSelf).toBeUndefined();
    expect(peers.get('Node_10_225_0_5')).toMatchObject({ keepOriginalNextHop: false, nextHopSelf: true });
    for (const n of ['Node_10_192_0_3', 'Node_10_192_0_4']) expect(peers.get(n)).toMatchObject({ keepOriginalNextHop: false });
  });

  it('nextHopMode wins over keepOriginalNextHop (confd getNextHopMode): Auto with keepOriginalNextHop keeps nothing', () => {
    const { peers } = peersOf(view({ tor: { peerIP: '10.225.0.4', asNumber: 65515, nextHopMode: 'Auto', keepOriginalNextHop: true } }));
    expect(peers.get('Global_10_225_0_4')).toMatchObject({ keepOriginalNextHop: false });
    expect(peers.get('Global_10_225_0_4')!.nextHopSelf).toBeUndefined();
  });

  it('reachable_by/global_peers: the gateway of each peerIP, with next hop keep from keepOriginalNextHop', () => {
    const { peers } = peersOf(
      view({
        'external-route-reflector-a-ipv4': { peerIP: '10.225.0.4', asNumber: 65515, reachableBy: '10.224.0.1', keepOriginalNextHop: true },
        'external-route-reflector-b-ipv4': { peerIP: '10.225.0.5', asNumber: 65515, reachableBy: '10.224.0.1', keepOriginalNextHop: true },
      }),
    );
    expect(peers.get('Global_10_225_0_4')).toMatchObject({ reachableBy: '10.224.0.1', keepOriginalNextHop: true });
    expect(peers.get('Global_10_225_0_5')).toMatchObject({ reachableBy: '10.224.0.1', keepOriginalNextHop: true });
  });

  it('a bad value is a problem naming the BGPPeer and field; the peering applies without that option', () => {
    const { peers, problems } = peersOf(
      view({
        a: { peerIP: '10.225.0.4', asNumber: 65515, localASNumber: 'sixty', nextHopMode: 'Sometimes', numAllowedLocalASNumbers: -1 },
        b: { peerIP: '10.225.0.5', asNumber: 65515, reachableBy: 'fd00::1' },
        c: { peerIP: '10.225.0.6', asNumber: 65515, reachableBy: 'gateway' },
      }),
    );
    const a = peers.get('Global_10_225_0_4')!;
    expect(a).toMatchObject({ asNumber: 65515, keepOriginalNextHop: false });
    expect(a.localAsNumber).toBeUndefined();
    expect(a.allowLocalAs).toBeUndefined();
    expect(peers.get('Global_10_225_0_5')!.reachableBy).toBeUndefined();
    expect(peers.get('Global_10_225_0_6')!.reachableBy).toBeUndefined();
    const lines = problems.map((p) => `${p.key}: ${p.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/bgppeers\/a: spec\.localASNumber: /),
        expect.stringMatching(/bgppeers\/a: spec\.nextHopMode: "Sometimes" is not one of Auto, Self, Keep/),
        expect.stringMatching(/bgppeers\/a: spec\.numAllowedLocalASNumbers: /),
        expect.stringMatching(/bgppeers\/b: spec\.reachableBy: "fd00::1" is not of the same address family/),
        expect.stringMatching(/bgppeers\/c: spec\.reachableBy: "gateway" is not an IP address/),
      ]),
    );
    expect(lines).toHaveLength(5);
  });
});
