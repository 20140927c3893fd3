import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeDesiredState, diffDesired, isEmptyDiff, overridesFromEnv, type DesiredOverrides } from '../../../src/datastore/desired-state.js';
import { hashToIPv4 } from '../../../src/datastore/router-id.js';
import type { DesiredState, PeerConfig } from '../../../src/datastore/desired.js';
import { cacheWith, type NodeFx } from './fixtures.js';

function desired(self: string, opts: Parameters<typeof cacheWith>[0], overrides: DesiredOverrides = {}): DesiredState {
  const r = computeDesiredState(cacheWith(opts), self, overrides);
  if (!r.state) throw new Error(JSON.stringify(r.problems));
  return r.state;
}

function peerList(s: DesiredState): Pick<PeerConfig, 'name' | 'type' | 'address' | 'port' | 'passive'>[] {
  return [...s.peers.values()]
    .map(({ name, type, address, port, passive }) => ({ name, type, address, port, passive }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const three: NodeFx[] = [
  { name: 'a', ip: '10.0.0.1/24' },
  { name: 'b', ip: '10.0.0.2/24' },
  { name: 'c', ip: '10.0.0.10/24' },
];

describe('identity', () => {
  it('takes IPv4, subnet, AS defaults and router id from the node', () => {
    const s = desired('a', { nodes: three });
    expect(s.node).toEqual({ name: 'a', ipv4: '10.0.0.1', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.0.0.1' });
  });
  it('AS: env override, then node, then BGPConfiguration, then 64512', () => {
    const nodes = [{ name: 'a', ip: '10.0.0.1/24', as: 65001 }];
    expect(desired('a', { nodes, bgpConfig: { asNumber: 65100 } }).node.asNumber).toBe(65001);
    expect(desired('a', { nodes: three, bgpConfig: { asNumber: 65100 } }).node.asNumber).toBe(65100);
    expect(desired('a', { nodes, bgpConfig: { asNumber: 65100 } }, overridesFromEnv({ AS: '65555' })).node.asNumber).toBe(65555);
  });
  it('CALICO_ROUTER_ID as an address and as hash', () => {
    expect(desired('a', { nodes: three }, { routerId: '1.2.3.4' }).node.routerId).toBe('1.2.3.4');
    expect(desired('a', { nodes: three }, { routerId: 'hash' }).node.routerId).toBe(hashToIPv4('a'));
    expect(computeDesiredState(cacheWith({ nodes: three }), 'a', { routerId: 'nope' }).problems[0].message).toMatch(/CALICO_ROUTER_ID/);
  });
  it('reports a missing own node instead of computing anything', () => {
    const r = computeDesiredState(cacheWith({ nodes: three }), 'zzz');
    expect(r.state).toBeUndefined();
    expect(r.problems[0].message).toContain('no Node resource');
  });
});

describe('router id hash (confd hashToIPv4)', () => {
  it('is the first four bytes of sha256(name)', () => {
    // sha256("node-a") starts 66 57 0f f0
    expect(hashToIPv4('node-a')).toBe('102.87.15.240');
    expect(hashToIPv4('kube-node-1')).toBe('34.92.252.97');
  });
  it('lowers a first octet above 223 by 32', () => {
    // find a name whose hash starts above 223
    let name = '';
    for (let i = 0; i < 1000; i++) {
      const h = createHash('sha256').update(`n${i}`).digest();
      if (h[0] > 223) {
        name = `n${i}`;
        break;
      }
    }
    const h = createHash('sha256').update(name).digest();
    expect(hashToIPv4(name)).toBe(`${h[0] - 32}.${h[1]}.${h[2]}.${h[3]}`);
    expect(Number(hashToIPv4(name).split('.')[0])).toBeLessThanOrEqual(223);
  });
});

describe('node-to-node mesh', () => {
  it('peers with every other node; the greater IP (as a string) connects', () => {
    // "10.0.0.10" < "10.0.0.2" as strings although 10 > 2 numerically.
    expect(peerList(desired('b', { nodes: three }))).toEqual([
      { name: 'Mesh_10_0_0_1', type: 'node-to-node mesh', address: '10.0.0.1', port: 179, passive: false },
      { name: 'Mesh_10_0_0_10', type: 'node-to-node mesh', address: '10.0.0.10', port: 179, passive: false },
    ]);
    expect(peerList(desired('a', { nodes: three })).map((p) => p.passive)).toEqual([true, true]);
    expect(peerList(desired('c', { nodes: three })).map((p) => [p.address, p.passive])).toEqual([
      ['10.0.0.1', false],
      ['10.0.0.2', true],
    ]);
  });
  it('recognises self by IP, not by name', () => {
    const nodes = [...three, { name: 'a-twin', ip: '10.0.0.1/24' }];
    expect([...desired('a', { nodes }).peers.keys()].sort()).toEqual(['10.0.0.10:179', '10.0.0.2:179']);
  });
  it('skips nodes without an IPv4 address and route reflectors', () => {
    const nodes = [...three, { name: 'd' }, { name: 'rr', ip: '10.0.0.100/24', rr: '1.0.0.1' }];
    expect([...desired('a', { nodes }).peers.keys()].sort()).toEqual(['10.0.0.10:179', '10.0.0.2:179']);
  });
  it('a node with a cluster id gets no mesh at all', () => {
    const nodes = [{ name: 'rr', ip: '10.0.0.100/24', rr: '1.0.0.1' }, ...three];
    expect(desired('rr', { nodes }).peers.size).toBe(0);
  });
  it('is off when nodeToNodeMeshEnabled is false', () => {
    expect(desired('a', { nodes: three, bgpConfig: { nodeToNodeMeshEnabled: false } }).peers.size).toBe(0);
  });
  it('uses the peer node AS, its listen port, mesh restart time and the node IP as source', () => {
    const nodes = [{ name: 'a', ip: '10.0.0.1/24' }, { name: 'b', ip: '10.0.0.2/24', as: 65002 }];
    const s = desired('a', { nodes, bgpConfig: { nodeMeshMaxRestartTime: '300s' }, nodeConfigs: { b: { listenPort: 1790 } } });
    expect(s.peers.get('10.0.0.2:1790')).toMatchObject({ name: 'Mesh_10_0_0_2', asNumber: 65002, port: 1790, restartTime: 300, sourceAddress: '10.0.0.1', nodeName: 'b' });
  });
  it('a nodeMeshPassword secret reaches every mesh session by name and key (never a value); the agent config password wins', () => {
    const opts = { nodes: three, bgpConfig: { nodeMeshPassword: { secretKeyRef: { name: 'bgp', key: 'pw' } } } };
    const r = computeDesiredState(cacheWith(opts), 'a');
    expect(r.state!.peers.size).toBe(2);
    expect(r.problems).toEqual([]);
    for (const p of r.state!.peers.values()) {
      expect(p.passwordSecret).toEqual({ name: 'bgp', key: 'pw' });
      expect(p.password).toBeUndefined();
    }
    const withPw = desired('a', opts, { meshPassword: 's3cret' });
    expect([...withPw.peers.values()].every((p) => p.password === 's3cret' && !p.passwordSecret)).toBe(true);
  });
});

const rrNodes: NodeFx[] = [
  { name: 'rr1', ip: '10.0.1.1/24', rr: '224.0.0.1', labels: { 'route-reflector': 'true' } },
  { name: 'rr2', ip: '10.0.1.2/24', rr: '224.0.0.1', labels: { 'route-reflector': 'true' } },
  { name: 'n1', ip: '10.0.2.1/24', labels: { rack: 'a' } },
  { name: 'n2', ip: '10.0.2.2/24', labels: { rack: 'b' } },
];
const rrPeer = { 'peer-with-rr': { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } };

describe('BGPPeers', () => {
  it('peerSelector peers are node specific and never passive; reverse peering gives the RR its clients', () => {
    const cfg = { nodes: rrNodes, bgpConfig: { nodeToNodeMeshEnabled: false }, peers: rrPeer };
    const n1 = desired('n1', cfg);
    expect(peerList(n1)).toEqual([
      { name: 'Node_10_0_1_1', type: 'node specific', address: '10.0.1.1', port: 179, passive: false },
      { name: 'Node_10_0_1_2', type: 'node specific', address: '10.0.1.2', port: 179, passive: false },
    ]);
    expect(n1.peers.get('10.0.1.1:179')?.routeReflectorClient).toBeUndefined();
    const rr1 = desired('rr1', cfg);
    // rr1 matches nodeSelector all() too: its forward peering to rr2 (same cluster id: no rr client).
    expect([...rr1.peers.keys()].sort()).toEqual(['10.0.1.2:179', '10.0.2.1:179', '10.0.2.2:179']);
    expect(rr1.peers.get('10.0.2.1:179')).toMatchObject({ type: 'node specific', routeReflectorClient: { clusterId: '224.0.0.1' }, nodeName: 'n1' });
    expect(rr1.peers.get('10.0.1.2:179')?.routeReflectorClient).toBeUndefined();
  });
  it('reversePeering: Manual leaves the reverse side out', () => {
    const cfg = { nodes: rrNodes, bgpConfig: { nodeToNodeMeshEnabled: false }, peers: { x: { nodeSelector: "rack == 'a'", peerSelector: "route-reflector == 'true'", reversePeering: 'Manual' } } };
    expect(desired('rr1', cfg).peers.size).toBe(0);
    expect(desired('n1', cfg).peers.size).toBe(2);
    expect(desired('n2', cfg).peers.size).toBe(0);
  });
  it('global peer by IP: all nodes, rr client when AS matches and node has a cluster id (peerIP has no cluster id)', () => {
    const cfg = { nodes: rrNodes, peers: { tor: { peerIP: '10.9.9.9', asNumber: 64512 } } };
    const n1 = desired('n1', cfg);
    expect(n1.peers.get('10.9.9.9:179')).toMatchObject({ name: 'Global_10_9_9_9', type: 'global', asNumber: 64512, sourceAddress: '10.0.2.1', passive: false });
    expect(n1.peers.get('10.9.9.9:179')?.routeReflectorClient).toBeUndefined();
    expect(desired('rr1', cfg).peers.get('10.9.9.9:179')?.routeReflectorClient).toEqual({ clusterId: '224.0.0.1' });
  });
  it('global peer by IP of a Calico node: passive rule applies; that node peers back', () => {
    const nodes: NodeFx[] = [{ name: 'a', ip: '10.0.0.1/24' }, { name: 'b', ip: '10.0.0.2/24' }, { name: 'x', ip: '10.0.0.9/24' }];
    const cfg = { nodes, bgpConfig: { nodeToNodeMeshEnabled: false }, peers: { gp: { peerIP: '10.0.0.9' } } };
    expect(desired('a', cfg).peers.get('10.0.0.9:179')).toMatchObject({ type: 'global', passive: true, nodeName: 'x' });
    // x is the peer: it skips itself, and the reverse pass gives it every node.
    const x = desired('x', cfg);
    expect(peerList(x)).toEqual([
      { name: 'Node_10_0_0_1', type: 'node specific', address: '10.0.0.1', port: 179, passive: false },
      { name: 'Node_10_0_0_2', type: 'node specific', address: '10.0.0.2', port: 179, passive: false },
    ]);
  });
  it('node / nodeSelector pick the local side', () => {
    const cfg = { nodes: rrNodes, bgpConfig: { nodeToNodeMeshEnabled: false }, peers: { p1: { node: 'n1', peerIP: '192.0.2.1', asNumber: 65001 }, p2: { nodeSelector: "rack == 'b'", peerIP: '192.0.2.2', asNumber: 65002 } } };
    expect([...desired('n1', cfg).peers.keys()]).toEqual(['192.0.2.1:179']);
    expect(desired('n1', cfg).peers.get('192.0.2.1:179')).toMatchObject({ name: 'Node_192_0_2_1', type: 'node specific', asNumber: 65001 });
    expect([...desired('n2', cfg).peers.keys()]).toEqual(['192.0.2.2:179']);
    expect(desired('rr1', cfg).peers.size).toBe(0);
  });
  it('ports: explicit port names the session _port_N; peerIP of a node takes its listenPort', () => {
    const nodes: NodeFx[] = [{ name: 'a', ip: '10.0.0.1/24' }, { name: 'x', ip: '10.0.0.9/24' }];
    const cfg = {
      nodes,
      bgpConfig: { nodeToNodeMeshEnabled: false },
      nodeConfigs: { x: { listenPort: 1790 } },
      peers: { ext: { peerIP: '192.0.2.1:1179', asNumber: 65001 }, nodex: { node: 'a', peerIP: '10.0.0.9' } },
    };
    const a = desired('a', cfg);
    expect(a.peers.get('192.0.2.1:1179')).toMatchObject({ name: 'Global_192_0_2_1_port_1179', port: 1179 });
    expect(a.peers.get('10.0.0.9:1790')).toMatchObject({ name: 'Node_10_0_0_9_port_1790', port: 1790 });
  });
  it('global peers win over node-specific ones to the same ip:port; first by name wins among globals', () => {
    const cfg = {
      nodes: three,
      bgpConfig: { nodeToNodeMeshEnabled: false },
      peers: {
        'z-node': { node: 'a', peerIP: '192.0.2.1', asNumber: 65009 },
        'b-global': { peerIP: '192.0.2.1', asNumber: 65002 },
        'a-global': { peerIP: '192.0.2.1', asNumber: 65001 },
      },
    };
    const a = desired('a', cfg);
    expect(a.peers.size).toBe(1);
    expect(a.peers.get('192.0.2.1:179')).toMatchObject({ type: 'global', asNumber: 65001 });
  });
  it('settings: keepOriginalNextHop only for eBGP, sourceAddress None, restart, keepalive, ttl, password from config', () => {
    const cfg = {
      nodes: three,
      bgpConfig: { nodeToNodeMeshEnabled: false },
      peers: {
        ebgp: { peerIP: '192.0.2.1', asNumber: 65001, keepOriginalNextHop: true, sourceAddress: 'None', maxRestartTime: '5m', keepaliveTime: '10s', ttlSecurity: 2 },
        ibgp: { peerIP: '192.0.2.2', asNumber: 64512, keepOriginalNextHop: true, password: { secretKeyRef: { name: 's', key: 'k' } } },
      },
    };
    const a = desired('a', cfg, { peerPasswords: { ibgp: 'pw' } });
    const e = a.peers.get('192.0.2.1:179')!;
    expect(e).toMatchObject({ keepOriginalNextHop: true, restartTime: 300, keepaliveTime: 10, ttlSecurity: 2 });
    expect(e.sourceAddress).toBeUndefined();
    const i = a.peers.get('192.0.2.2:179')!;
    expect(i).toMatchObject({ keepOriginalNextHop: false, password: 'pw', restartTime: 120, sourceAddress: '10.0.0.1' });
    const fromSecret = computeDesiredState(cacheWith(cfg), 'a');
    expect(fromSecret.state!.peers.get('192.0.2.2:179')).toMatchObject({ passwordSecret: { name: 's', key: 'k' } });
    expect(fromSecret.state!.peers.get('192.0.2.2:179')!.password).toBeUndefined();
    expect(fromSecret.problems).toEqual([]);
  });
  it('mesh plus BGPPeer to a node already in the mesh: the mesh session wins', () => {
    const cfg = { nodes: three, peers: { gp: { peerIP: '10.0.0.2' } } };
    expect(desired('a', cfg).peers.get('10.0.0.2:179')?.type).toBe('node-to-node mesh');
  });
});

describe('blocks and pools (export rules)', () => {
  const pools = {
    p1: { cidr: '10.8.0.0/16', ipipMode: 'Always' },
    quiet: { cidr: '10.9.0.0/16', ipipMode: 'CrossSubnet', disableBGPExport: true },
    off: { cidr: '10.7.0.0/16', disabled: true },
  };
  const table: [string, string | '', { state: string; blackhole: boolean; exported: boolean; pool?: string }][] = [
    ['10.8.94.64/26', 'confirmed', { state: 'confirmed', blackhole: true, exported: true, pool: 'p1' }],
    ['10.8.95.0/26', '', { state: 'confirmed', blackhole: true, exported: true, pool: 'p1' }],
    ['10.8.96.0/26', 'pending', { state: 'pending', blackhole: false, exported: false, pool: 'p1' }],
    ['10.8.97.0/26', 'pendingDeletion', { state: 'pendingDeletion', blackhole: false, exported: false, pool: 'p1' }],
    ['10.9.1.0/24', 'confirmed', { state: 'confirmed', blackhole: true, exported: false, pool: 'quiet' }],
    ['10.7.1.0/26', 'confirmed', { state: 'confirmed', blackhole: true, exported: true, pool: 'off' }],
    ['172.16.0.0/26', 'confirmed', { state: 'confirmed', blackhole: true, exported: true }],
    ['10.8.200.1/32', 'confirmed', { state: 'confirmed', blackhole: false, exported: true, pool: 'p1' }],
  ];
  const affinities = [...table.map(([cidr, state]) => ({ node: 'a', cidr, state })), { node: 'b', cidr: '10.8.1.0/26', state: 'confirmed' }];
  const s = desired('a', { nodes: three, pools, affinities });
  for (const [cidr, , want] of table) {
    it(`${cidr}`, () => {
      expect(s.blocks.get(cidr)).toEqual({ cidr, ...want });
    });
  }
  it("reads only this host's affinities", () => {
    expect(s.blocks.has('10.8.1.0/26')).toBe(false);
    expect(s.blocks.size).toBe(table.length);
  });
  it('lists pools with their modes', () => {
    expect(s.pools.get('quiet')).toEqual({ name: 'quiet', cidr: '10.9.0.0/16', ipipMode: 'CrossSubnet', vxlanMode: 'Never', disabled: false, disableBGPExport: true, natOutgoing: false, blockSize: 26 });
  });
});

describe('diffDesired', () => {
  it('reports everything on first sight and nothing for equal states', () => {
    const s1 = desired('a', { nodes: three, pools: { p: { cidr: '10.8.0.0/16' } }, affinities: [{ node: 'a', cidr: '10.8.0.0/26' }] });
    const d = diffDesired(undefined, s1);
    expect(d.node).toEqual(s1.node);
    expect(d.peersAdded).toHaveLength(2);
    expect(d.blocksAdded).toHaveLength(1);
    expect(d.poolsChanged).toHaveLength(1);
    const again = desired('a', { nodes: three, pools: { p: { cidr: '10.8.0.0/16' } }, affinities: [{ node: 'a', cidr: '10.8.0.0/26' }] });
    expect(isEmptyDiff(diffDesired(s1, again))).toBe(true);
  });
  it('reports added, changed and removed peers, blocks and pools', () => {
    const s1 = desired('a', { nodes: three, pools: { p: { cidr: '10.8.0.0/16' } }, affinities: [{ node: 'a', cidr: '10.8.0.0/26' }, { node: 'a', cidr: '10.8.1.0/26' }] });
    const nodes2 = [three[0], { ...three[1], as: 65002 }, { name: 'd', ip: '10.0.0.4/24' }];
    const s2 = desired('a', {
      nodes: nodes2,
      pools: { p: { cidr: '10.8.0.0/16', disableBGPExport: true }, q: { cidr: '10.9.0.0/16' } },
      affinities: [{ node: 'a', cidr: '10.8.0.0/26' }, { node: 'a', cidr: '10.8.2.0/26' }],
    });
    const d = diffDesired(s1, s2);
    expect(d.node).toBeUndefined();
    expect(d.peersAdded.map((p) => p.address)).toEqual(['10.0.0.4']);
    expect(d.peersChanged.map((p) => [p.address, p.asNumber])).toEqual([['10.0.0.2', 65002]]);
    expect(d.peersRemoved.map((p) => p.address)).toEqual(['10.0.0.10']);
    expect(d.blocksAdded.map((b) => b.cidr)).toEqual(['10.8.2.0/26']);
    expect(d.blocksChanged).toEqual([{ cidr: '10.8.0.0/26', state: 'confirmed', blackhole: true, exported: false, pool: 'p' }]);
    expect(d.blocksRemoved.map((b) => b.cidr)).toEqual(['10.8.1.0/26']);
    expect(d.poolsChanged.map((p) => p.name).sort()).toEqual(['p', 'q']);
  });
});
