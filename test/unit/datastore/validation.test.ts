import { describe, expect, it } from 'vitest';
import { ResourceCache } from '../../../src/datastore/cache.js';
import { decodeKv } from '../../../src/datastore/model/resources.js';
import { ValidationError, parseGoDuration } from '../../../src/datastore/model/fields.js';
import { parseKey } from '../../../src/datastore/keys.js';

const P = '/calico/resources/v3/projectcalico.org';

function errorOf(key: string, value: unknown): string {
  try {
    decodeKv(key, typeof value === 'string' ? value : JSON.stringify(value));
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error('expected a validation error');
}

describe('validation messages name the key and the field', () => {
  const cases: [string, string, unknown, string][] = [
    ['bad peer IP', `${P}/bgppeers/p1`, { kind: 'BGPPeer', metadata: { name: 'p1' }, spec: { peerIP: '10.0.0', asNumber: 64512 } }, `${P}/bgppeers/p1: spec.peerIP: "10.0.0" is not an IP address (or ip:port)`],
    ['bad JSON', `${P}/nodes/n1`, '{"kind": "Node",', `${P}/nodes/n1: value is not valid JSON`],
    ['not an object', `${P}/nodes/n1`, '[1,2]', `${P}/nodes/n1: value must be an object`],
    ['node address', `${P}/nodes/n1`, { kind: 'Node', metadata: { name: 'n1' }, spec: { bgp: { ipv4Address: '10.0.0.300/24' } } }, `${P}/nodes/n1: spec.bgp.ipv4Address: "10.0.0.300/24" is not a CIDR`],
    ['node AS type', `${P}/nodes/n1`, { kind: 'Node', metadata: { name: 'n1' }, spec: { bgp: { ipv4Address: '10.0.0.1/24', asNumber: 'x' } } }, `${P}/nodes/n1: spec.bgp.asNumber: must be an integer, not "x"`],
    ['rr cluster id', `${P}/nodes/n1`, { kind: 'Node', metadata: { name: 'n1' }, spec: { bgp: { ipv4Address: '10.0.0.1/24', routeReflectorClusterID: 'rr1' } } }, 'spec.bgp.routeReflectorClusterID: "rr1" is not an IPv4 address'],
    ['name mismatch', `${P}/nodes/n1`, { kind: 'Node', metadata: { name: 'n2' }, spec: {} }, `${P}/nodes/n1: metadata.name: "n2" does not match the key's name "n1"`],
    ['kind mismatch', `${P}/ippools/p`, { kind: 'Node', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16' } }, 'kind: is "Node", expected "IPPool"'],
    ['pool mode', `${P}/ippools/p`, { kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', ipipMode: 'Sometimes' } }, `${P}/ippools/p: spec.ipipMode: "Sometimes" is not one of Never, Always, CrossSubnet`],
    ['pool cidr', `${P}/ippools/p`, { kind: 'IPPool', metadata: { name: 'p' }, spec: {} }, `${P}/ippools/p: spec.cidr: is required`],
    ['pool block size', `${P}/ippools/p`, { kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', blockSize: 8 } }, 'spec.blockSize: 8 is out of range 20..32'],
    ['bad selector', `${P}/bgppeers/p2`, { kind: 'BGPPeer', metadata: { name: 'p2' }, spec: { peerSelector: "rr == 'x" } }, `${P}/bgppeers/p2: spec.peerSelector: invalid selector "rr == 'x": unterminated string`],
    ['peer needs a peer', `${P}/bgppeers/p3`, { kind: 'BGPPeer', metadata: { name: 'p3' }, spec: { node: 'a' } }, 'spec.peerIP: one of spec.peerIP or spec.peerSelector is required'],
    ['node and nodeSelector', `${P}/bgppeers/p4`, { kind: 'BGPPeer', metadata: { name: 'p4' }, spec: { node: 'a', nodeSelector: 'all()', peerIP: '10.0.0.1', asNumber: 1 } }, 'spec.nodeSelector: cannot be set together with spec.node'],
    ['asNumber with peerSelector', `${P}/bgppeers/p5`, { kind: 'BGPPeer', metadata: { name: 'p5' }, spec: { peerSelector: 'all()', asNumber: 65000 } }, 'spec.asNumber: must be empty when spec.peerSelector is set'],
    ['duration', `${P}/bgppeers/p6`, { kind: 'BGPPeer', metadata: { name: 'p6' }, spec: { peerIP: '10.0.0.1', asNumber: 1, keepaliveTime: 'soon' } }, 'spec.keepaliveTime: "soon" is not a duration'],
    ['sourceAddress', `${P}/bgppeers/p7`, { kind: 'BGPPeer', metadata: { name: 'p7' }, spec: { peerIP: '10.0.0.1', asNumber: 1, sourceAddress: 'Auto' } }, 'spec.sourceAddress: "Auto" is not one of UseNodeIP, None'],
    ['port range', `${P}/bgppeers/p8`, { kind: 'BGPPeer', metadata: { name: 'p8' }, spec: { peerIP: '10.0.0.1:70000', asNumber: 1 } }, 'spec.peerIP: "10.0.0.1:70000" is not an IP address'],
    ['mesh flag', `${P}/bgpconfigurations/default`, { kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: 'yes' } }, 'spec.nodeToNodeMeshEnabled: must be true or false, not "yes"'],
    ['listen port', `${P}/bgpconfigurations/default`, { kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { listenPort: 0 } }, 'spec.listenPort: 0 is out of range 1..65535'],
    ['affinity state', '/calico/ipam/v2/host/n1/ipv4/block/10.8.0.0-26', { state: 'maybe' }, '/calico/ipam/v2/host/n1/ipv4/block/10.8.0.0-26: state: "maybe" is not one of confirmed, pending, pendingDeletion'],
    ['block cidr mismatch', '/calico/ipam/v2/assignment/ipv4/block/10.8.0.0-26', { cidr: '10.8.0.64/26' }, 'cidr: "10.8.0.64/26" does not match the key\'s block 10.8.0.0/26'],
  ];
  for (const [title, key, value, want] of cases) {
    it(title, () => {
      expect(errorOf(key, value)).toContain(want);
    });
  }

  it('reports every bad field of one resource', () => {
    const msg = errorOf(`${P}/bgppeers/p9`, { kind: 'BGPPeer', metadata: { name: 'p9' }, spec: { peerIP: 'x', asNumber: -1, ttlSecurity: 300 } });
    expect(msg).toContain('spec.peerIP');
    expect(msg).toContain('spec.asNumber');
    expect(msg).toContain('spec.ttlSecurity: 300 is out of range 0..255');
  });
});

describe('decoding good values', () => {
  it('splits a node address and reads the AS in asdot notation', () => {
    const n = decodeKv(`${P}/nodes/n1`, JSON.stringify({ kind: 'Node', metadata: { name: 'n1', labels: { r: 'x' } }, spec: { bgp: { ipv4Address: '10.10.20.5/24', asNumber: '1.10', ipv4IPIPTunnelAddr: '192.168.1.1' } } }));
    expect(n).toMatchObject({ kind: 'Node', ipv4: '10.10.20.5', ipv4PrefixLen: 24, asNumber: 65546, ipv4IPIPTunnelAddr: '192.168.1.1', labels: { r: 'x' } });
  });
  it('treats an empty affinity value as confirmed (older clusters)', () => {
    expect(decodeKv('/calico/ipam/v2/host/n1/ipv4/block/10.8.94.64-26', '')).toMatchObject({ node: 'n1', state: 'confirmed', cidr: { cidr: '10.8.94.64/26' } });
  });
  it('reads peerIP with a port, IPv4 and IPv6', () => {
    const p = decodeKv(`${P}/bgppeers/p`, JSON.stringify({ kind: 'BGPPeer', metadata: { name: 'p' }, spec: { peerIP: '10.0.0.1:1790', asNumber: 65001 } }));
    expect(p).toMatchObject({ peerIP: { ip: '10.0.0.1', port: 1790 } });
    const q = decodeKv(`${P}/bgppeers/q`, JSON.stringify({ kind: 'BGPPeer', metadata: { name: 'q' }, spec: { peerIP: '[fd00::1]:1790', asNumber: 65001 } }));
    expect(q).toMatchObject({ peerIP: { ip: 'fd00::1', port: 1790 } });
  });
  it('ignores keys of kinds the agent does not read', () => {
    expect(decodeKv(`${P}/felixconfigurations/default`, '{}')).toBeUndefined();
    expect(parseKey(`${P}/workloadendpoints/ns/x`)).toBeUndefined();
  });
  it('parses Go durations', () => {
    expect(parseGoDuration('120s')).toBe(120);
    expect(parseGoDuration('1m30s')).toBe(90);
    expect(parseGoDuration('2h')).toBe(7200);
    expect(parseGoDuration('1500ms')).toBe(2);
    expect(parseGoDuration('x')).toBeUndefined();
  });
});

describe('cache keeps good state when a resource turns bad', () => {
  it('keeps the last good version and reports the bad one; a delete clears both', () => {
    const c = new ResourceCache();
    const key = `${P}/ippools/p`;
    const good = JSON.stringify({ kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.0.0.0/16', ipipMode: 'Always' } });
    expect(c.apply({ type: 'put', key, value: good, modRevision: 2 })).toEqual({ kind: 'IPPool', name: 'p' });
    expect(c.apply({ type: 'put', key, value: '{"spec":', modRevision: 3 })).toBeUndefined();
    expect(c.ipPools.get('p')?.ipipMode).toBe('Always');
    expect(c.skipped.get(key)?.error).toMatch(/^value is not valid JSON/);
    expect(c.skipped.get(key)?.label).toBe('IPPool/p'); // named as calicoctl names it, for status
    expect(c.apply({ type: 'put', key, value: good, modRevision: 4 })).toBeDefined();
    expect(c.skipped.size).toBe(0);
    c.apply({ type: 'put', key, value: '{"spec":', modRevision: 5 });
    expect(c.apply({ type: 'delete', key, modRevision: 6 })).toEqual({ kind: 'IPPool', name: 'p' });
    expect(c.ipPools.size).toBe(0);
    expect(c.skipped.size).toBe(0);
  });

  it('computes only the difference from a re-list', () => {
    const c = new ResourceCache();
    const k1 = `${P}/nodes/a`;
    const k2 = `${P}/nodes/b`;
    const k3 = `${P}/nodes/c`;
    const v = (n: string) => JSON.stringify({ kind: 'Node', metadata: { name: n }, spec: {} });
    c.apply({ type: 'put', key: k1, value: v('a'), modRevision: 2 });
    c.apply({ type: 'put', key: k2, value: v('b'), modRevision: 3 });
    const listed = new Map([
      [k1, { value: v('a'), modRevision: 2 }],
      [k3, { value: v('c'), modRevision: 9 }],
    ]);
    const d = c.differenceFrom(listed);
    expect(d).toEqual([
      { type: 'put', key: k3, value: v('c'), modRevision: 9 },
      { type: 'delete', key: k2, modRevision: 3 },
    ]);
  });
});
