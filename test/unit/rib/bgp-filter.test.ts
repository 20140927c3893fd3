/**
 * BGPFilters in the RIB (issue 21): import filters between a peer's
 * Adj-RIB-In and the Loc-RIB, export filters at that peer's Adj-RIB-Out; a
 * filter edit re-evaluates the Adj-RIB-In (rejected paths are kept, as
 * BIRD's `import keep filtered`) and re-exports to that peer only, with no
 * session reset (the peer stays up, nothing is re-sent but the difference).
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { formatPrefix6, parsePrefix6 } from '../../../src/bgp/prefix6.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { learnedExportFilter } from '../../../src/bgp/rib/calico-policy.js';
import { decodeKv, type BGPFilterResource } from '../../../src/datastore/model/resources.js';
import type { BgpFilter } from '../../../src/calico/bgp-filter.js';
import type { Pool } from '../../../src/contracts.js';
import { announce, ibgpAttrs, OutRecorder, peer } from './helpers.js';

const AS = 64512;
const ME = '10.0.0.1';
const UP = { addPathSend: false, addPathReceive: false };
const pool: Pool = { name: 'p', cidr: '10.244.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 };

function filter(name: string, spec: object): BgpFilter {
  return decodeKv(`/calico/resources/v3/projectcalico.org/bgpfilters/${name}`, JSON.stringify({ kind: 'BGPFilter', metadata: { name }, spec })) as BGPFilterResource;
}
const torAttrs = { origin: 0 as const, asPath: [{ type: 2 as const, asns: [65100] }], nextHop: '10.0.0.254' };

/** This node with two own blocks, a mesh peer and an eBGP ToR with `filters`. */
function setup(filters: BgpFilter[] = []) {
  const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME });
  const rec = new OutRecorder().attach(rib);
  const best: string[] = [];
  rib.onBestPathChange((cs) => cs.forEach((c) => best.push(`${c.key}:${c.best?.peer ?? 'gone'}`)));
  rib.setExportFilter(learnedExportFilter([pool]));
  rib.setLocalRoutes(new Map([[parsePrefix('10.244.1.0/26'), {}], [parsePrefix('10.244.2.0/26'), {}]]));
  rib.addPeer(peer('mesh', '10.0.0.2', AS));
  rib.addPeer(peer('tor', '10.0.0.254', 65100, { filters }));
  rec.reset('mesh', rib.peerUp('mesh', { remoteRouterId: '10.0.0.2', ...UP }));
  rec.reset('tor', rib.peerUp('tor', { remoteRouterId: '10.0.0.254', ...UP }));
  return { rib, rec, best };
}

const rejectBlock1 = filter('f1', { exportV4: [{ action: 'Reject', cidr: '10.244.1.0/26', matchOperator: 'Equal' }] });
const rejectTorNet = filter('f2', { importV4: [{ action: 'Reject', cidr: '192.0.2.0/24', matchOperator: 'In' }] });

describe('BGPFilter in the RIB', () => {
  it('an export Reject keeps one own block from the peer; the others and other peers are unaffected', () => {
    const { rec } = setup([rejectBlock1]);
    expect(Object.keys(rec.table('tor'))).toEqual(['10.244.2.0/26']);
    expect(Object.keys(rec.table('mesh')).sort()).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
  });

  it('an import Reject keeps the path in the Adj-RIB-In, out of the Loc-RIB (and so the kernel); others are accepted', () => {
    const { rib, rec } = setup([rejectTorNet]);
    rib.applyUpdate('tor', announce(['192.0.2.0/25', '198.51.100.0/24'], torAttrs));
    rib.flush();
    expect(rib.lookup(parsePrefix('192.0.2.0/25')).best).toBeNull();
    expect(rib.lookup(parsePrefix('198.51.100.0/24')).best?.peer).toBe('tor');
    const received = [...rib.received('tor')].map((r) => `${r.key === parsePrefix('192.0.2.0/25') ? '192.0.2.0/25' : 'other'} ${r.accepted}`);
    expect(received.sort()).toEqual(['192.0.2.0/25 false', 'other true']);
    expect(rib.counters('tor')).toMatchObject({ received: 2, accepted: 1 });
    expect(rib.importDecision('tor', parsePrefix('192.0.2.0/25'), [...rib.received('tor')].find((r) => !r.accepted)!.attrs)).toEqual({
      verdict: { action: 'Reject', filter: 'f2', list: 'importV4', ruleIndex: 0 },
    });
    // Outside the pools: an eBGP-learned route is not passed to the mesh by Calico's default either way.
    expect(rec.table('mesh')['198.51.100.0/24']).toBeUndefined();
  });

  it('a filter edit re-evaluates imports from the Adj-RIB-In and re-exports to that peer, without a reset and without ROUTE-REFRESH', () => {
    const { rib, rec, best } = setup([rejectBlock1, rejectTorNet]);
    rib.applyUpdate('tor', announce(['192.0.2.0/25'], torAttrs));
    rib.flush();
    expect(rib.lookup(parsePrefix('192.0.2.0/25')).best).toBeNull();
    const batchesBefore = rec.batches.length;
    // Both rules flip: the block is now exported, the ToR prefix accepted.
    rib.updatePeer(peer('tor', '10.0.0.254', 65100, { filters: [] }));
    expect(rib.lookup(parsePrefix('192.0.2.0/25')).best?.peer).toBe('tor');
    expect(best).toContain(`${parsePrefix('192.0.2.0/25')}:tor`);
    // Exactly the difference is sent: the block announced to the ToR, nothing withdrawn, the mesh untouched.
    const sent = rec.batches.slice(batchesBefore);
    expect(sent.map((b) => `${b.peer} ${b.changes.map((c) => `${c.key === parsePrefix('10.244.1.0/26') ? 'block1' : c.key} ${c.attrs ? 'A' : 'W'}`).join(',')}`)).toEqual(['tor block1 A']);
    expect(rib.counters('tor')).toMatchObject({ received: 1, accepted: 1, advertised: 2 });
    // And back: the ToR prefix leaves the Loc-RIB again, the block is withdrawn from the ToR only.
    rib.updatePeer(peer('tor', '10.0.0.254', 65100, { filters: [rejectBlock1, rejectTorNet] }));
    expect(rib.lookup(parsePrefix('192.0.2.0/25')).best).toBeNull();
    expect(best.at(-1)).toBe(`${parsePrefix('192.0.2.0/25')}:gone`);
    expect(Object.keys(rec.table('tor'))).toEqual(['10.244.2.0/26']);
    expect(Object.keys(rec.table('mesh')).sort()).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
    expect(rib.counters('tor')).toMatchObject({ received: 1, accepted: 0, advertised: 1 });
  });

  it('an export Accept passes a learned route Calico would not (outside every pool); no match falls back to the default', () => {
    const accept = filter('out', { exportV4: [{ action: 'Accept', cidr: '172.16.0.0/12', matchOperator: 'In', source: 'RemotePeers' }] });
    const { rib, rec } = setup([accept]);
    rib.applyUpdate('mesh', announce(['172.16.5.0/24', '192.168.9.0/24', '10.244.9.0/26'], ibgpAttrs('10.0.0.2')));
    rib.flush();
    expect(Object.keys(rec.table('tor')).sort()).toEqual(['10.244.1.0/26', '10.244.2.0/26', '10.244.9.0/26', '172.16.5.0/24']);
    // The incremental path agrees with a full table.
    expect([...rib.advertised('tor')].length).toBe(4);
  });

  it('a peer that shares our AS sees iBGP rules only; the BGP rules still apply after an Accept', () => {
    const f = filter('pt', {
      exportV4: [
        { action: 'Reject', peerType: 'eBGP', cidr: '10.244.2.0/26', matchOperator: 'Equal' },
        { action: 'Accept', peerType: 'iBGP' },
      ],
    });
    const { rib, rec } = setup([]);
    rib.updatePeer(peer('mesh', '10.0.0.2', AS, { filters: [f] }));
    rib.updatePeer(peer('tor', '10.0.0.254', 65100, { filters: [f] }));
    expect(Object.keys(rec.table('tor'))).toEqual(['10.244.1.0/26']);
    expect(Object.keys(rec.table('mesh')).sort()).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
    // An iBGP-learned route is not sent to an iBGP peer (RFC 4271 §9.2) even though the filter accepts it.
    rib.addPeer(peer('mesh2', '10.0.0.3', AS, { filters: [f] }));
    rec.reset('mesh2', rib.peerUp('mesh2', { remoteRouterId: '10.0.0.3', ...UP }));
    rib.applyUpdate('mesh', announce(['10.244.7.0/26'], ibgpAttrs('10.0.0.2')));
    rib.flush();
    expect(rec.table('mesh2')['10.244.7.0/26']).toBeUndefined();
    expect(rec.table('tor')['10.244.7.0/26']).toBeDefined();
  });

  it('two peers of one AS share exports only with equal export filters (export groups, ADD-PATH diffs per profile)', () => {
    for (const addPath of [false, true]) {
      const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME, shareFullExportsFrom: 2 });
      const rec = new OutRecorder().attach(rib);
      rib.setLocalRoutes(new Map([[parsePrefix('10.244.1.0/26'), {}], [parsePrefix('10.244.2.0/26'), {}]]));
      rib.addPeer(peer('tor1', '10.0.0.253', 65100, { addPathSend: addPath, filters: [rejectBlock1] }));
      rib.addPeer(peer('tor2', '10.0.0.254', 65100, { addPathSend: addPath }));
      rib.addPeer(peer('tor3', '10.0.0.252', 65100, { addPathSend: addPath }));
      for (const [n, a] of [['tor1', '10.0.0.253'], ['tor2', '10.0.0.254'], ['tor3', '10.0.0.252']]) {
        rec.reset(n, rib.peerUp(n, { remoteRouterId: a, addPathSend: addPath, addPathReceive: false }));
      }
      const keys = (n: string) => Object.keys(rec.table(n)).map((k) => k.split('#')[0]).sort();
      expect(keys('tor1')).toEqual(['10.244.2.0/26']);
      expect(keys('tor2')).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
      // tor2 takes the filter too: block 1 is withdrawn from it only, tor3 keeps its table.
      rib.updatePeer(peer('tor2', '10.0.0.254', 65100, { addPathSend: addPath, filters: [rejectBlock1] }));
      expect(keys('tor2')).toEqual(['10.244.2.0/26']);
      expect(keys('tor3')).toEqual(['10.244.1.0/26', '10.244.2.0/26']);
    }
  });

  it('an export Accept with operations adds the community and prepends after our AS towards the eBGP ToR, only there', () => {
    const f = filter('ops', {
      exportV4: [{ action: 'Accept', cidr: '10.244.2.0/26', matchOperator: 'Equal', operations: [{ addCommunity: { value: '65000:100' } }, { prependASPath: { prefix: [65000, 65001] } }] }],
    });
    const { rib, rec } = setup([f]);
    expect(rec.table('tor')['10.244.2.0/26']).toMatchObject({ asPath: [{ type: 2, asns: [AS, 65000, 65001] }], communities: [65000 * 65536 + 100] });
    expect(rec.table('tor')['10.244.1.0/26'].communities).toBeUndefined();
    expect(rec.table('tor')['10.244.1.0/26'].asPath).toEqual([{ type: 2, asns: [AS] }]);
    expect(rec.table('mesh')['10.244.2.0/26'].communities).toBeUndefined();
    // Incremental exports agree: a learned route matching the rule gets the operations too.
    rib.updatePeer(peer('tor', '10.0.0.254', 65100, { filters: [filter('ops2', { exportV4: [{ action: 'Accept', source: 'RemotePeers', operations: [{ addCommunity: { value: '65000:7' } }] }] })] }));
    rib.applyUpdate('mesh', announce(['10.244.9.0/26'], ibgpAttrs('10.0.0.2')));
    rib.flush();
    expect(rec.table('tor')['10.244.9.0/26'].communities).toEqual([65000 * 65536 + 7]);
    expect(rec.table('tor')['10.244.2.0/26'].communities).toBeUndefined();
  });

  it('a stale path keeps its stale bit through a filter edit (graceful restart still sweeps it)', () => {
    const { rib } = setup([rejectTorNet]);
    rib.applyUpdate('tor', announce(['192.0.2.0/25'], torAttrs));
    rib.flush();
    rib.peerDown('tor', { graceful: true, restartTime: 120 });
    rib.updatePeer(peer('tor', '10.0.0.254', 65100, { filters: [] }));
    const r = rib.lookup(parsePrefix('192.0.2.0/25'));
    expect(r.best?.stale).toBe(true);
    rib.peerUp('tor', { remoteRouterId: '10.0.0.254', ...UP });
    rib.endOfRib('tor');
    rib.flush();
    expect(rib.lookup(parsePrefix('192.0.2.0/25')).best).toBeNull();
    expect(rib.counters('tor')).toMatchObject({ received: 0, accepted: 0 });
  });

  it('the IPv6 RIB applies the V6 lists only (bird6 calls the V6 functions)', () => {
    const f = filter('v6', {
      importV4: [{ action: 'Reject' }],
      importV6: [{ action: 'Reject', cidr: '2001:db8::/32', matchOperator: 'In' }],
      exportV6: [{ action: 'Reject', cidr: 'fd00:245:1::/122', matchOperator: 'Equal' }],
    });
    const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME }).ipv6Sibling('fd00:1::1');
    const sent: string[] = [];
    rib.onAdjRibOut((_p, cs) => cs.forEach((c) => sent.push(`${formatPrefix6(c.key)} ${c.attrs ? 'A' : 'W'}`)));
    rib.setLocalRoutes(new Map([[parsePrefix6('fd00:245:1::/122'), {}], [parsePrefix6('fd00:245:2::/122'), {}]]));
    rib.addPeer(peer('tor6', 'fd00:1::fe', 65100, { filters: [f] }));
    const table = rib.peerUp('tor6', { remoteRouterId: '10.0.0.254', ...UP }).map((c) => formatPrefix6(c.key));
    expect(table).toEqual(['fd00:245:2::/122']);
    rib.applyUpdate('tor6', {
      type: 'UPDATE',
      withdrawn: { keys: [], pathIds: null },
      attributes: { origin: 0, asPath: [{ type: 2, asns: [65100] }], mpReach: { afi: 2, safi: 1, nextHops: ['fd00:1::fe'], nlri: { prefixes: ['2001:db8:1::/48', '2001:db9::/48'], pathIds: null } } },
      nlri: { keys: [], pathIds: null },
    });
    rib.flush();
    // importV4's catch-all Reject is not consulted for IPv6 routes.
    expect(rib.lookup(parsePrefix6('2001:db8:1::/48')).best).toBeNull();
    expect(rib.lookup(parsePrefix6('2001:db9::/48')).best?.peer).toBe('tor6');
    rib.updatePeer(peer('tor6', 'fd00:1::fe', 65100, { filters: [] }));
    expect(rib.lookup(parsePrefix6('2001:db8:1::/48')).best?.peer).toBe('tor6');
    expect(sent).toContain('fd00:245:1::/122 A');
  });
});
