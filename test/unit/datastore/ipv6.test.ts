/**
 * Dual stack in the datastore (issue 19): IPv6 keys as libcalico-go writes
 * them, IPv6 pools / blocks / affinities under the IPv4 rules, IPv6 peers and
 * mesh as confd renders bird6.cfg, and the guarantee that IPv6 resources
 * leave a node without IPv6 exactly as it was.
 */
import { describe, expect, it } from 'vitest';
import { ResourceCache } from '../../../src/datastore/cache.js';
import { computeDesiredState, computeIdentity, diffDesired, type DesiredOverrides } from '../../../src/datastore/desired-state.js';
import { affinityKey, blockKey, cidrToKeyPart, keyPartToCidr, parseKey } from '../../../src/datastore/keys.js';
import { hashToIPv4, selectRouterId } from '../../../src/datastore/router-id.js';
import type { DesiredState } from '../../../src/datastore/desired.js';
import { put, resource } from './fixtures.js';
import { originatedFromDesired } from '../../../src/bgp/rib/calico-policy.js';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import { computeDesiredRoutes, RouteContext } from '../../../src/kernel/desired-routes.js';

interface Fx {
  nodes?: { name: string; ip?: string; ip6?: string; as?: number; rr?: string; labels?: Record<string, string> }[];
  bgpConfig?: Record<string, unknown>;
  peers?: Record<string, Record<string, unknown>>;
  pools?: Record<string, Record<string, unknown>>;
  affinities?: { node: string; cidr: string; state?: string; key?: string }[];
}

function cache(fx: Fx): ResourceCache {
  const c = new ResourceCache();
  for (const n of fx.nodes ?? []) {
    const bgp: Record<string, unknown> = {};
    if (n.ip) bgp.ipv4Address = n.ip;
    if (n.ip6) bgp.ipv6Address = n.ip6;
    if (n.as) bgp.asNumber = n.as;
    if (n.rr) bgp.routeReflectorClusterID = n.rr;
    const r = resource('Node', n.name, { bgp }, n.labels);
    put(c, r.key, r.value);
  }
  if (fx.bgpConfig) {
    const r = resource('BGPConfiguration', 'default', fx.bgpConfig);
    put(c, r.key, r.value);
  }
  for (const [name, spec] of Object.entries(fx.peers ?? {})) {
    const r = resource('BGPPeer', name, spec);
    put(c, r.key, r.value);
  }
  for (const [name, spec] of Object.entries(fx.pools ?? {})) {
    const r = resource('IPPool', name, spec);
    put(c, r.key, r.value);
  }
  for (const a of fx.affinities ?? []) {
    put(c, a.key ?? affinityKey(a.node, a.cidr), a.state === '' ? '' : { state: a.state ?? 'confirmed', deleted: false });
  }
  return c;
}

function desired(self: string, fx: Fx, overrides: DesiredOverrides = {}): DesiredState {
  const r = computeDesiredState(cache(fx), self, overrides);
  if (!r.state) throw new Error(JSON.stringify(r.problems));
  return r.state;
}

const peers = (s: DesiredState) =>
  [...s.peers.values()].map((p) => ({ name: p.name, type: p.type, address: p.address, port: p.port, passive: p.passive, source: p.sourceAddress })).sort((a, b) => a.name.localeCompare(b.name));

describe('IPv6 IPAM keys (libcalico-go BlockKey / BlockAffinityKey)', () => {
  it('an IPv6 block key splits on the last "-": the address ends in "::" and keeps its colons', () => {
    expect(parseKey('/calico/ipam/v2/assignment/ipv6/block/fd00:245::-122')).toEqual({ type: 'block', ipVersion: 6, cidr: 'fd00:245::/122' });
    expect(parseKey('/calico/ipam/v2/host/node-a-1/ipv6/block/fd00:245::40-122')).toEqual({
      type: 'affinity',
      node: 'node-a-1',
      ipVersion: 6,
      cidr: 'fd00:245::40/122',
    });
    expect(keyPartToCidr('fd00:245::-122')).toBe('fd00:245::/122');
  });

  it('keys are written from Go\'s canonical compressed form (RFC 5952), host bits cleared', () => {
    expect(cidrToKeyPart('FD00:0245:0000:0000:0000:0000:0000:0000/122')).toBe('fd00:245::-122');
    expect(blockKey('fd00:245:0:0::40/122')).toBe('/calico/ipam/v2/assignment/ipv6/block/fd00:245::40-122');
    expect(affinityKey('node-a', 'fd00:245::7f/122')).toBe('/calico/ipam/v2/host/node-a/ipv6/block/fd00:245::40-122');
    // Longest run of zero groups compressed, the first on a tie; one zero group never.
    expect(cidrToKeyPart('2001:db8:0:0:1:0:0:1/128')).toBe('2001:db8::1:0:0:1-128');
    expect(cidrToKeyPart('2001:0:0:1:0:0:0:1/128')).toBe('2001:0:0:1::1-128');
    expect(cidrToKeyPart('2001:db8:0:1:1:1:1:1/128')).toBe('2001:db8:0:1:1:1:1:1-128');
    // IPv4 keys are as before.
    expect(cidrToKeyPart('10.8.94.64/26')).toBe('10.8.94.64-26');
  });

  it('the family comes from the CIDR, as libcalico-go matches `ipv.`', () => {
    expect(parseKey('/calico/ipam/v2/host/a/ipv4/block/fd00:245::-122')).toMatchObject({ ipVersion: 6 });
    expect(parseKey('/calico/ipam/v2/host/a/ipv6/block/10.8.94.64-26')).toMatchObject({ ipVersion: 4 });
  });
});

const dual = [
  { name: 'a', ip: '10.0.0.1/24', ip6: 'fd00:199::1/64' },
  { name: 'b', ip: '10.0.0.2/24', ip6: 'FD00:199:0::2/64' },
  { name: 'c', ip: '10.0.0.10/24', ip6: 'fd00:199::10/64' },
];
const POOL4 = { cidr: '10.244.0.0/16', ipipMode: 'Always' };
const POOL6 = { cidr: 'fd00:245::/64' };

describe('IPv6 pools and blocks', () => {
  it('IPv6 pools are pools6 (blockSize 122 by default), never in the IPv4 pools', () => {
    const s = desired('a', { nodes: dual, pools: { v4: POOL4, v6: POOL6 } });
    expect([...s.pools.keys()]).toEqual(['v4']);
    expect(s.pools6?.get('v6')).toEqual({
      name: 'v6',
      cidr: 'fd00:245::/64',
      ipipMode: 'Never',
      vxlanMode: 'Never',
      disabled: false,
      disableBGPExport: false,
      natOutgoing: false,
      blockSize: 122,
    });
  });

  it('an IPv6 pool with ipipMode other than Never is a problem on that pool; it applies as Never, the rest applies', () => {
    const r = computeDesiredState(cache({ nodes: dual, pools: { v4: POOL4, bad6: { cidr: 'fd00:246::/64', ipipMode: 'Always' }, v6: POOL6 } }), 'a');
    expect(r.problems).toEqual([
      { key: '/calico/resources/v3/projectcalico.org/ippools/bad6', message: expect.stringMatching(/ipipMode Always does not apply to the IPv6 pool fd00:246::\/64.*Never/) },
    ]);
    expect(r.state?.pools6?.get('bad6')?.ipipMode).toBe('Never');
    expect(r.state?.pools6?.get('v6')).toBeDefined();
    expect(r.state?.pools.get('v4')?.ipipMode).toBe('Always');
  });

  it('IPv6 affinities follow the IPv4 rules: confirmed/legacy ours, pending dropped, /128 exported without blackhole, disableBGPExport', () => {
    const s = desired('a', {
      nodes: dual,
      pools: { v6: POOL6, quiet: { cidr: 'fd00:246::/64', disableBGPExport: true } },
      affinities: [
        { node: 'a', cidr: 'fd00:245::/122' },
        { node: 'a', cidr: 'fd00:245::40/122', state: '' },
        { node: 'a', cidr: 'fd00:245::80/122', state: 'pending' },
        { node: 'a', cidr: 'fd00:245::c0/122', state: 'pendingDeletion' },
        { node: 'a', cidr: 'fd00:245::1:1/128' },
        { node: 'a', cidr: 'fd00:246::/122' },
        { node: 'a', cidr: 'fd00:999::/122' },
        { node: 'b', cidr: 'fd00:245::100/122' },
        { node: 'a', cidr: '10.244.1.0/26' },
      ],
    });
    expect([...s.blocks.keys()]).toEqual(['10.244.1.0/26']);
    expect(Object.fromEntries(s.blocks6!)).toEqual({
      'fd00:245::/122': { cidr: 'fd00:245::/122', state: 'confirmed', blackhole: true, exported: true, pool: 'v6' },
      'fd00:245::40/122': { cidr: 'fd00:245::40/122', state: 'confirmed', blackhole: true, exported: true, pool: 'v6' },
      'fd00:245::80/122': { cidr: 'fd00:245::80/122', state: 'pending', blackhole: false, exported: false, pool: 'v6' },
      'fd00:245::c0/122': { cidr: 'fd00:245::c0/122', state: 'pendingDeletion', blackhole: false, exported: false, pool: 'v6' },
      'fd00:245::1:1/128': { cidr: 'fd00:245::1:1/128', state: 'confirmed', blackhole: false, exported: true, pool: 'v6' },
      'fd00:246::/122': { cidr: 'fd00:246::/122', state: 'confirmed', blackhole: true, exported: false, pool: 'quiet' },
      'fd00:999::/122': { cidr: 'fd00:999::/122', state: 'confirmed', blackhole: true, exported: true },
    });
  });

  it('a hand-written, non-canonical affinity key still yields the canonical block', () => {
    const s = desired('a', { nodes: dual, affinities: [{ node: 'a', cidr: '', key: '/calico/ipam/v2/host/a/ipv6/block/FD00:245:0:0:0:0:0:40-122' }] });
    expect([...s.blocks6!.keys()]).toEqual(['fd00:245::40/122']);
  });

  it('the diff names IPv6 block and pool changes apart from IPv4 ones', () => {
    const before = desired('a', { nodes: dual, pools: { v6: POOL6 }, affinities: [{ node: 'a', cidr: 'fd00:245::/122' }] });
    const after = desired('a', { nodes: dual, pools: { v6: { ...POOL6, disableBGPExport: true } }, affinities: [{ node: 'a', cidr: 'fd00:245::40/122' }] });
    const d = diffDesired(before, after);
    expect(d.blocks6Added.map((b) => b.cidr)).toEqual(['fd00:245::40/122']);
    expect(d.blocks6Removed.map((b) => b.cidr)).toEqual(['fd00:245::/122']);
    expect(d.pools6Changed.map((p) => p.name)).toEqual(['v6']);
    expect(d.blocksAdded.length + d.blocksRemoved.length + d.poolsChanged.length + d.peersChanged.length).toBe(0);
  });
});

describe('IPv6 peers (bird6.cfg)', () => {
  it('the IPv6 mesh: every other node with an IPv6 address, names with ":" as "_", the greater address (as strings) connects', () => {
    const s = desired('b', { nodes: [...dual, { name: 'd', ip: '10.0.0.20/24' }, { name: 'rr', ip: '10.0.0.30/24', ip6: 'fd00:199::30/64', rr: '1.1.1.1' }] });
    expect(peers(s).filter((p) => p.address.includes(':'))).toEqual([
      { name: 'Mesh_fd00_199__1', type: 'node-to-node mesh', address: 'fd00:199::1', port: 179, passive: false, source: 'fd00:199::2' },
      // "fd00:199::10" > "fd00:199::2" is false as strings: b connects to c.
      { name: 'Mesh_fd00_199__10', type: 'node-to-node mesh', address: 'fd00:199::10', port: 179, passive: false, source: 'fd00:199::2' },
    ]);
    const a = desired('a', { nodes: dual });
    expect(peers(a).find((p) => p.address === 'fd00:199::2')?.passive).toBe(true);
  });

  it('IPv6 BGPPeers: peerIP with and without port, peerSelector gives both families, RR client by cluster id', () => {
    const s = desired('a', {
      nodes: [{ ...dual[0], rr: '1.1.1.1' }, { ...dual[1], labels: { role: 'edge' } }, dual[2]],
      bgpConfig: { nodeToNodeMeshEnabled: false },
      peers: {
        tor6: { peerIP: 'fd00:1::1', asNumber: 65001 },
        tor6port: { peerIP: '[fd00:1::2]:1790', asNumber: 64512 },
        edges: { peerSelector: 'role == "edge"' },
      },
    });
    expect(peers(s)).toEqual([
      { name: 'Global_10_0_0_2', type: 'global', address: '10.0.0.2', port: 179, passive: false, source: '10.0.0.1' },
      { name: 'Global_fd00_1__1', type: 'global', address: 'fd00:1::1', port: 179, passive: false, source: 'fd00:199::1' },
      { name: 'Global_fd00_1__2_port_1790', type: 'global', address: 'fd00:1::2', port: 1790, passive: false, source: 'fd00:199::1' },
      { name: 'Global_fd00_199__2', type: 'global', address: 'fd00:199::2', port: 179, passive: false, source: 'fd00:199::1' },
    ]);
    expect(s.peers.get('fd00:1::2:1790')?.routeReflectorClient).toEqual({ clusterId: '1.1.1.1' });
    expect(s.peers.get('fd00:1::1:179')?.routeReflectorClient).toBeUndefined(); // eBGP
    expect(s.peers.get('fd00:199::2:179')?.routeReflectorClient).toEqual({ clusterId: '1.1.1.1' });
  });

  it('reverse peering: an IPv6 peerIP naming this node makes it peer back over IPv6 only', () => {
    const s = desired('b', {
      nodes: dual,
      bgpConfig: { nodeToNodeMeshEnabled: false },
      peers: { toB: { node: 'a', peerIP: 'fd00:199::2', asNumber: 64512 } },
    });
    expect(peers(s)).toEqual([{ name: 'Node_fd00_199__1', type: 'node specific', address: 'fd00:199::1', port: 179, passive: false, source: 'fd00:199::2' }]);
  });

  it('a global peerIP that is a Calico node\'s IPv6 address follows the passive rule against our IPv6 address', () => {
    const s = desired('a', { nodes: dual, bgpConfig: { nodeToNodeMeshEnabled: false }, peers: { toB: { peerIP: 'fd00:199::2' } } });
    expect(peers(s)).toEqual([{ name: 'Global_fd00_199__2', type: 'global', address: 'fd00:199::2', port: 179, passive: true, source: 'fd00:199::1' }]);
  });
});

describe('a node without IPv6 is untouched by IPv6 resources', () => {
  const v4only = [
    { name: 'a', ip: '10.0.0.1/24' },
    { name: 'b', ip: '10.0.0.2/24' },
    { name: 'c', ip: '10.0.0.10/24' },
  ];
  const base: Fx = {
    nodes: v4only,
    peers: { tor: { peerIP: '10.0.0.254', asNumber: 65001 }, rr: { peerSelector: 'all()' } },
    pools: { v4: POOL4 },
    affinities: [{ node: 'a', cidr: '10.244.1.0/26' }, { node: 'a', cidr: '10.244.2.0/26', state: 'pending' }],
  };
  const withV6: Fx = {
    // Other nodes dual-stack, IPv6 peers of every kind, IPv6 pools and affinities for this node.
    nodes: [v4only[0], { ...v4only[1], ip6: 'fd00:199::2/64' }, { ...v4only[2], ip6: 'fd00:199::10/64' }],
    peers: {
      ...base.peers,
      tor6: { peerIP: 'ac13::57', asNumber: 65001 },
      tor6port: { peerIP: '[fd00:1::2]:1790' },
      mine6: { node: 'a', peerIP: 'fd00:1::3' },
      back6: { node: 'b', peerIP: 'fd00:199::1' },
    },
    pools: { ...base.pools, v6: POOL6, bad6: { cidr: 'fd00:246::/64', ipipMode: 'CrossSubnet' } },
    affinities: [...base.affinities!, { node: 'a', cidr: 'fd00:245::/122' }],
  };

  it('every IPv4 peer, block and pool is exactly as without them, and there is no IPv6 peer', () => {
    const plain = desired('a', base);
    const mixed = desired('a', withV6);
    expect(mixed.node).toEqual(plain.node);
    expect(mixed.peers).toEqual(plain.peers);
    expect([...mixed.peers.values()].some((p) => p.address.includes(':'))).toBe(false);
    expect(mixed.blocks).toEqual(plain.blocks);
    expect(mixed.pools).toEqual(plain.pools);
    // Routes: the RIB's originated routes and the kernel's desired routes are the same too.
    expect(originatedFromDesired(mixed).routes).toEqual(originatedFromDesired(plain).routes);
    const learned = new Map([[parsePrefix('10.244.9.0/26'), parseIpv4('10.0.0.2')]]);
    const kernel = (st: DesiredState) =>
      computeDesiredRoutes(new RouteContext({ node: st.node, pools: [...st.pools.values(), ...(st.pools6?.values() ?? [])] }), learned, [...st.blocks.values(), ...(st.blocks6?.values() ?? [])]);
    expect(kernel(mixed)).toEqual(kernel(plain));
    // IPv6 affinities of a node without IPv6 give no IPv6 blocks at all (calico-node runs no bird6).
    expect(mixed.blocks6?.size).toBe(0);
    // The IPv4 part of the diff between the two is empty.
    const d = diffDesired(plain, mixed);
    expect(d.node).toBeUndefined();
    expect([d.peersAdded, d.peersChanged, d.peersRemoved, d.blocksAdded, d.blocksChanged, d.blocksRemoved, d.poolsChanged, d.poolsRemoved].every((l) => l.length === 0)).toBe(true);
  });
});

describe('router id for IPv6-only nodes (CALICO_ROUTER_ID)', () => {
  const nodes = [{ name: 'six', ip6: 'fd00:199::6/64' }];
  it('without CALICO_ROUTER_ID an IPv6-only node is a problem that says what to set', () => {
    expect(() => selectRouterId('six', undefined)).toThrow(/IPv6-only node needs CALICO_ROUTER_ID/);
    const id = computeIdentity(cache({ nodes }), 'six', {}, { ipv6Only: true });
    expect(id).toMatchObject({ key: 'CALICO_ROUTER_ID', message: expect.stringMatching(/"hash"/) });
  });
  it('with CALICO_ROUTER_ID=hash: the hashed id, no IPv4 address', () => {
    const id = computeIdentity(cache({ nodes }), 'six', { routerId: 'hash' }, { ipv6Only: true });
    expect(id).toEqual({ name: 'six', ipv4: '', ipv4PrefixLen: 0, ipv6: 'fd00:199::6', ipv6PrefixLen: 64, asNumber: 64512, routerId: hashToIPv4('six') });
  });
  it('an IPv6-only identity has IPv6 mesh sessions only', () => {
    const c = cache({ nodes: [...nodes, { name: 'b', ip: '10.0.0.2/24', ip6: 'fd00:199::2/64' }] });
    const id = computeIdentity(c, 'six', { routerId: 'hash' }, { ipv6Only: true });
    if (!('ipv4' in id)) throw new Error(id.message);
    const s = computeDesiredState(c, 'six', { routerId: 'hash' });
    // The default stays a clear problem until the RIB and sessions take an IPv6-only identity.
    expect(s.state).toBeUndefined();
    expect(s.problems[0].message).toMatch(/IPv6-only node \(router id \d+\.\d+\.\d+\.\d+\)/);
  });
  it('dual-stack: the node IPv4 stays the router id, the IPv6 address is canonical', () => {
    const s = desired('b', { nodes: dual });
    expect(s.node).toMatchObject({ ipv4: '10.0.0.2', routerId: '10.0.0.2', ipv6: 'fd00:199::2', ipv6PrefixLen: 64 });
  });
});

describe('the Datastore keeps the IPv6 sections up to date, incrementally', () => {
  it('an IPv6 affinity or pool change emits only IPv6 diff entries; the IPv4 maps are kept by reference', async () => {
    const { Datastore } = await import('../../../src/datastore/datastore.js');
    // No etcd: changes are fed straight in (the syncer is never started).
    const ds = new Datastore({ client: {} as never, nodeName: 'a' });
    const diffs: import('../../../src/datastore/desired.js').DesiredStateDiff[] = [];
    ds.on('diff', (d) => diffs.push(d));
    let rev = 1;
    const put = (key: string, value: unknown) => ({ type: 'put' as const, key, value: typeof value === 'string' ? value : JSON.stringify(value), modRevision: rev++ });
    const res = (kind: 'Node' | 'IPPool', name: string, spec: unknown) => {
      const r = resource(kind, name, spec);
      return put(r.key, r.value);
    };
    ds.applyChanges(
      [
        res('Node', 'a', { bgp: { ipv4Address: '10.0.0.1/24', ipv6Address: 'fd00:199::1/64' } }),
        res('IPPool', 'v4', POOL4),
        put(affinityKey('a', '10.244.1.0/26'), { state: 'confirmed' }),
      ],
      true,
    );
    const first = ds.current()!;
    expect(first.blocks6?.size).toBe(0);
    diffs.length = 0;

    ds.applyChanges([put(affinityKey('a', 'fd00:245::/122'), { state: 'confirmed' }), res('IPPool', 'v6', { ...POOL6, ipipMode: 'Always' })]);
    const next = ds.current()!;
    expect(diffs).toHaveLength(1);
    expect(diffs[0].blocks6Added.map((b) => b.cidr)).toEqual(['fd00:245::/122']);
    expect(diffs[0].pools6Changed.map((p) => p.name)).toEqual(['v6']);
    expect(diffs[0].blocksAdded.length + diffs[0].blocksChanged.length + diffs[0].blocksRemoved.length + diffs[0].poolsChanged.length + diffs[0].poolsRemoved.length).toBe(0);
    expect(next.blocks).toBe(first.blocks);
    expect(next.pools).toBe(first.pools);
    expect(next.blocks6?.get('fd00:245::/122')).toMatchObject({ blackhole: true, exported: true, pool: 'v6' });
    // The ipipMode mismatch is a problem named by the pool's key in the datastore status.
    expect(ds.status().problems).toEqual([{ key: '/calico/resources/v3/projectcalico.org/ippools/v6', message: expect.stringMatching(/ipipMode Always does not apply/) }]);

    diffs.length = 0;
    ds.applyChanges([{ type: 'delete', key: affinityKey('a', 'fd00:245::/122'), modRevision: rev++ }]);
    expect(diffs[0].blocks6Removed.map((b) => b.cidr)).toEqual(['fd00:245::/122']);
    expect(ds.current()!.blocks6?.size).toBe(0);
  });
});
