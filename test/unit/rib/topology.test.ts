/**
 * Topology snapshots: events in, expected Loc-RIB and Adj-RIB-Out out
 * (the holo-bgp habit). "We" are the Rib under test.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, locRib, OutRecorder, peer, withdraw } from './helpers.js';

const AS = 64512;
const ME = '10.0.0.1';
const up = (rib: Rib, rec: OutRecorder, name: string, routerId: string, addPath = false) =>
  rec.reset(name, rib.peerUp(name, { remoteRouterId: routerId, addPathSend: addPath, addPathReceive: addPath }));

describe('full mesh of 4 (no reflection)', () => {
  it('learns every block, advertises only its own to each peer', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    const others = [['b', '10.0.0.2'], ['c', '10.0.0.3'], ['d', '10.0.0.4']];
    for (const [n, a] of others) rib.addPeer(peer(n, a, AS));
    rib.setLocalRoutes(new Map([[parsePrefix('192.168.1.0/26'), {}]]));
    for (const [n, a] of others) up(rib, rec, n, a);
    rib.applyUpdate('b', announce(['192.168.2.0/26'], ibgpAttrs('10.0.0.2')));
    rib.applyUpdate('c', announce(['192.168.3.0/26'], ibgpAttrs('10.0.0.3')));
    rib.applyUpdate('d', announce(['192.168.4.0/26'], ibgpAttrs('10.0.0.4')));
    rib.flush();
    expect(locRib(rib, ['192.168.1.0/26', '192.168.2.0/26', '192.168.3.0/26', '192.168.4.0/26'])).toEqual({
      '192.168.1.0/26': 'local 10.0.0.1',
      '192.168.2.0/26': 'b 10.0.0.2',
      '192.168.3.0/26': 'c 10.0.0.3',
      '192.168.4.0/26': 'd 10.0.0.4',
    });
    const own = { origin: 0, asPath: [], nextHop: ME, localPref: 100 };
    for (const [n] of others) expect(rec.table(n)).toEqual({ '192.168.1.0/26': own });
    expect(rib.counters('b')).toEqual({ received: 1, accepted: 1, advertised: 1 });
  });
});

describe('one route reflector, two clients and a non-client (RFC 4456 §6)', () => {
  function setup() {
    const rib = new Rib({ localAs: AS, routerId: ME, clusterId: '1.1.1.1', localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('c1', '10.0.0.11', AS, { rrClient: true }));
    rib.addPeer(peer('c2', '10.0.0.12', AS, { rrClient: true }));
    rib.addPeer(peer('n1', '10.0.0.21', AS));
    up(rib, rec, 'c1', '10.0.0.11');
    up(rib, rec, 'c2', '10.0.0.12');
    up(rib, rec, 'n1', '10.0.0.21');
    return { rib, rec };
  }

  it('reflects a client route to the other client and the non-client with ORIGINATOR_ID and CLUSTER_LIST', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('c1', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    const reflected = { ...ibgpAttrs('10.0.0.11'), originatorId: '10.0.0.11', clusterList: ['1.1.1.1'] };
    expect(rec.table('c2')).toEqual({ '172.16.1.0/26': reflected });
    expect(rec.table('n1')).toEqual({ '172.16.1.0/26': reflected });
    expect(rec.table('c1')).toEqual({}); // never back to the peer it came from
  });

  it('reflects a non-client route to clients only', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('n1', announce(['172.16.9.0/26'], ibgpAttrs('10.0.0.21')));
    rib.flush();
    const reflected = { ...ibgpAttrs('10.0.0.21'), originatorId: '10.0.0.21', clusterList: ['1.1.1.1'] };
    expect(rec.table('c1')).toEqual({ '172.16.9.0/26': reflected });
    expect(rec.table('c2')).toEqual({ '172.16.9.0/26': reflected });
    expect(rec.table('n1')).toEqual({});
  });

  it('keeps an existing ORIGINATOR_ID and prepends to CLUSTER_LIST', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('n1', announce(['172.16.8.0/26'], ibgpAttrs('10.9.9.9', { originatorId: '10.9.9.9', clusterList: ['2.2.2.2'] })));
    rib.flush();
    expect(rec.table('c1')['172.16.8.0/26']).toMatchObject({ originatorId: '10.9.9.9', clusterList: ['1.1.1.1', '2.2.2.2'] });
  });

  it('withdraws what it reflected, and a peer coming up gets the full table', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('c1', announce(['172.16.1.0/26', '172.16.2.0/26'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    expect(rib.counters('c2').advertised).toBe(2);
    rib.applyUpdate('c1', withdraw(['172.16.1.0/26']));
    rib.flush();
    expect(Object.keys(rec.table('c2'))).toEqual(['172.16.2.0/26']);
    expect(rib.counters('c2').advertised).toBe(1);
    rib.peerDown('c2', { graceful: false, restartTime: 0 });
    const full = rib.peerUp('c2', { remoteRouterId: '10.0.0.12', addPathSend: false, addPathReceive: false });
    expect(full.map((c) => c.key)).toEqual([parsePrefix('172.16.2.0/26')]);
  });

  it('identical exports share one AttrSet (one encoding for every peer)', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('c1', announce(['172.16.1.0/26', '172.16.2.0/26'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    const sets = rec.batches.flatMap((b) => b.changes.map((c) => c.attrs));
    expect(new Set(sets.map((s) => s?.id)).size).toBe(1);
    expect(new Set(sets).size).toBe(1);
  });
});

describe('two route reflectors in one cluster', () => {
  it('drops a route reflected back with its own cluster id, and keeps the client path', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, clusterId: '1.1.1.1', localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('client', '10.0.0.11', AS, { rrClient: true }));
    rib.addPeer(peer('rr2', '10.0.0.2', AS)); // the other RR: a non-client iBGP peer
    up(rib, rec, 'client', '10.0.0.11');
    up(rib, rec, 'rr2', '10.0.0.2');
    rib.applyUpdate('client', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11')));
    // RR2 learned the same route from the client and reflects it to us.
    rib.applyUpdate('rr2', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11', { originatorId: '10.0.0.11', clusterList: ['1.1.1.1'] })));
    rib.flush();
    expect(rib.counters('rr2')).toEqual({ received: 1, accepted: 0, advertised: 1 });
    const l = rib.lookup(parsePrefix('172.16.1.0/26'));
    expect(l.paths.map((p) => p.peer)).toEqual(['client']);
    expect(rec.table('rr2')).toEqual({
      '172.16.1.0/26': { ...ibgpAttrs('10.0.0.11'), originatorId: '10.0.0.11', clusterList: ['1.1.1.1'] },
    });
  });

  it('drops a route carrying our own router id as ORIGINATOR_ID', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, clusterId: '1.1.1.1', localAddress: ME });
    rib.addPeer(peer('rr2', '10.0.0.2', AS));
    rib.peerUp('rr2', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.applyUpdate('rr2', announce(['172.16.5.0/26'], ibgpAttrs(ME, { originatorId: ME, clusterList: ['2.2.2.2'] })));
    rib.flush();
    expect(rib.size()).toBe(0);
    expect(rib.counters('rr2')).toMatchObject({ received: 1, accepted: 0 });
  });
});

describe('eBGP', () => {
  function setup(keepOriginalNextHop = false) {
    const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('tor', '10.0.0.254', 65000, { keepOriginalNextHop }));
    rib.addPeer(peer('b', '10.0.0.2', AS));
    up(rib, rec, 'tor', '10.0.0.254');
    up(rib, rec, 'b', '10.0.0.2');
    return { rib, rec };
  }

  it('prepends our AS, sets next hop self, strips LOCAL_PREF and MED', () => {
    const { rib, rec } = setup();
    rib.setLocalRoutes(new Map([[parsePrefix('192.168.1.0/26'), { communities: [0xfde80064] }]]));
    rib.applyUpdate('b', announce(['192.168.2.0/26'], ibgpAttrs('10.0.0.2', { med: 7 })));
    rib.flush();
    expect(rec.table('tor')).toEqual({
      '192.168.1.0/26': { origin: 0, asPath: [{ type: 2, asns: [AS] }], nextHop: ME, communities: [0xfde80064] },
      '192.168.2.0/26': { origin: 0, asPath: [{ type: 2, asns: [AS] }], nextHop: ME },
    });
  });

  it('keepOriginalNextHop keeps the next hop', () => {
    const { rib, rec } = setup(true);
    rib.applyUpdate('b', announce(['192.168.2.0/26'], ibgpAttrs('10.0.0.2')));
    rib.flush();
    expect(rec.table('tor')['192.168.2.0/26'].nextHop).toBe('10.0.0.2');
  });

  it('passes eBGP routes to iBGP peers with LOCAL_PREF 100 and the next hop unchanged', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('tor', announce(['0.0.0.0/0'], { origin: 0, asPath: [{ type: 2, asns: [65000] }], nextHop: '10.0.0.254', localPref: 900 }));
    rib.flush();
    expect(rec.table('b')).toEqual({ '0.0.0.0/0': { origin: 0, asPath: [{ type: 2, asns: [65000] }], nextHop: '10.0.0.254', localPref: 100 } });
    expect(rec.table('tor')).toEqual({});
  });

  it('an iBGP peer coming up gets our own routes and the eBGP-learned ones, stale ones of a restarting eBGP peer included', () => {
    const { rib, rec } = setup();
    rib.setLocalRoutes(new Map([[parsePrefix('192.168.1.0/26'), {}]]));
    rib.applyUpdate('tor', announce(['0.0.0.0/0'], { origin: 0, asPath: [{ type: 2, asns: [65000] }], nextHop: '10.0.0.254' }));
    rib.applyUpdate('b', announce(['192.168.2.0/26'], ibgpAttrs('10.0.0.2')));
    rib.flush();
    rib.peerDown('tor', { graceful: true, restartTime: 120 }); // RFC 4724: its route stays, stale
    rib.addPeer(peer('c', '10.0.0.3', AS));
    up(rib, rec, 'c', '10.0.0.3');
    // Not b's route: iBGP-learned routes are not passed to iBGP peers without reflection.
    expect(Object.keys(rec.table('c')).sort()).toEqual(['0.0.0.0/0', '192.168.1.0/26']);
  });

  it('rejects a path holding our own AS', () => {
    const { rib } = setup();
    rib.applyUpdate('tor', announce(['10.1.0.0/16'], { origin: 0, asPath: [{ type: 2, asns: [65000, AS] }], nextHop: '10.0.0.254' }));
    rib.flush();
    expect(rib.size()).toBe(0);
    expect(rib.counters('tor')).toMatchObject({ received: 1, accepted: 0 });
    expect([...rib.received('tor')].map((r) => r.accepted)).toEqual([false]);
  });
});

describe('updates', () => {
  function setup() {
    const rib = new Rib({ localAs: AS, routerId: ME, clusterId: '1.1.1.1', localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('c1', '10.0.0.11', AS, { rrClient: true }));
    rib.addPeer(peer('c2', '10.0.0.12', AS, { rrClient: true }));
    up(rib, rec, 'c1', '10.0.0.11');
    up(rib, rec, 'c2', '10.0.0.12');
    return { rib, rec };
  }

  it('coalesces: an announce and withdraw in one turn give nothing', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('c1', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11')));
    rib.applyUpdate('c1', withdraw(['172.16.1.0/26']));
    rib.flush();
    expect(rec.batches.filter((b) => b.changes.length > 0 && b.changes.some((c) => c.key === parsePrefix('172.16.1.0/26')))).toEqual([]);
  });

  it('RFC 7606 treat-as-withdraw removes the NLRI', () => {
    const { rib, rec } = setup();
    rib.applyUpdate('c1', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    rib.applyUpdate('c1', { ...announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11', { med: 1 })), treatAsWithdraw: { code: 3, subcode: 1, reason: 'bad' } });
    rib.flush();
    expect(rib.size()).toBe(0);
    expect(rec.table('c2')).toEqual({});
    expect(rib.counters('c1')).toMatchObject({ received: 0, accepted: 0 });
  });

  it('best path changes are reported for the kernel with next hop and peer', () => {
    const { rib } = setup();
    const seen: unknown[] = [];
    rib.onBestPathChange((ch) => seen.push(...ch.map((c) => ({ key: c.key, nh: c.best?.nextHop ?? null, peer: c.best?.peer ?? null }))));
    rib.applyUpdate('c1', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11', { localPref: 100 })));
    rib.flush();
    rib.applyUpdate('c2', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.12', { localPref: 200 })));
    rib.flush();
    rib.applyUpdate('c2', withdraw(['172.16.1.0/26']));
    rib.applyUpdate('c1', withdraw(['172.16.1.0/26']));
    rib.flush();
    const k = parsePrefix('172.16.1.0/26');
    expect(seen).toEqual([
      { key: k, nh: '10.0.0.11', peer: 'c1' },
      { key: k, nh: '10.0.0.12', peer: 'c2' },
      { key: k, nh: null, peer: null },
    ]);
    expect(rib.lookup(k).paths).toEqual([]);
  });

  it('lookup shows every path, the best and the deciding step', () => {
    const { rib } = setup();
    rib.applyUpdate('c1', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11', { localPref: 100 })));
    rib.applyUpdate('c2', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.12', { localPref: 200 })));
    const l = rib.lookup(parsePrefix('172.16.1.0/26'));
    expect(l.paths.map((p) => p.peer).sort()).toEqual(['c1', 'c2']);
    expect(l.best?.peer).toBe('c2');
    expect(l.reason).toBe('local-pref');
  });

  it('ADD-PATH: receives several paths from one peer and sends every allowed path with stable ids', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, clusterId: '1.1.1.1', localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('c1', '10.0.0.11', AS, { rrClient: true, addPathSend: true }));
    rib.addPeer(peer('c2', '10.0.0.12', AS, { rrClient: true, addPathSend: true }));
    rib.addPeer(peer('c3', '10.0.0.13', AS, { rrClient: true, addPathSend: true }));
    for (const [n, a] of [['c1', '10.0.0.11'], ['c2', '10.0.0.12'], ['c3', '10.0.0.13']]) up(rib, rec, n, a, true);
    rib.applyUpdate('c1', announce(['172.16.1.0/26', '172.16.1.0/26'], ibgpAttrs('10.0.0.11'), [1, 2]));
    rib.applyUpdate('c2', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.12'), [1]));
    rib.flush();
    expect(rib.counters('c1')).toMatchObject({ received: 2, accepted: 2 });
    expect(rib.lookup(parsePrefix('172.16.1.0/26')).paths).toHaveLength(3);
    const ids = Object.keys(rec.table('c3'));
    expect(ids).toHaveLength(3);
    expect(ids.every((k) => k.startsWith('172.16.1.0/26#'))).toBe(true);
    expect(Object.keys(rec.table('c2'))).toHaveLength(2); // c1's two paths, not its own
    expect(rib.counters('c3').advertised).toBe(3);
    const before = rec.table('c3');
    rib.applyUpdate('c1', withdraw(['172.16.1.0/26'], [1]));
    rib.flush();
    const after = rec.table('c3');
    expect(Object.keys(after)).toHaveLength(2);
    // The remaining paths keep their ids.
    for (const [k, v] of Object.entries(after)) expect(before[k]).toEqual(v);
    expect(rib.counters('c3').advertised).toBe(2);
  });

  it('attribute sets are released when no path holds them', () => {
    const { rib } = setup();
    for (let i = 0; i < 50; i++) rib.applyUpdate('c1', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11', { med: i })));
    rib.flush();
    rib.applyUpdate('c1', withdraw(['172.16.1.0/26']));
    rib.flush();
    expect(rib.attributeSets()).toBe(0);
  });
});

describe('updatePeer', () => {
  it('a peer becoming a route-reflector client: its routes now reach the non-client, and it gets reflected routes', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, clusterId: '1.1.1.1', localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('x', '10.0.0.11', AS)); // non-client for now
    rib.addPeer(peer('n', '10.0.0.21', AS));
    up(rib, rec, 'x', '10.0.0.11');
    up(rib, rec, 'n', '10.0.0.21');
    rib.applyUpdate('x', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.11')));
    rib.applyUpdate('n', announce(['172.16.2.0/26'], ibgpAttrs('10.0.0.21')));
    rib.flush();
    expect(rec.table('n')).toEqual({}); // non-client to non-client: nothing
    expect(rec.table('x')).toEqual({});
    const batches = rec.batches.length;
    rib.updatePeer(peer('x', '10.0.0.11', AS)); // unchanged: no work, no output
    expect(rec.batches.length).toBe(batches);
    rib.updatePeer(peer('x', '10.0.0.11', AS, { rrClient: true }));
    expect(Object.keys(rec.table('n'))).toEqual(['172.16.1.0/26']);
    expect(Object.keys(rec.table('x'))).toEqual(['172.16.2.0/26']);
    expect(rib.counters('n').advertised).toBe(1);
    expect(rib.counters('x').advertised).toBe(1);
  });
});
