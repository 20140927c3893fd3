import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { learnedExportFilter } from '../../../src/bgp/rib/calico-policy.js';
import type { Pool } from '../../../src/datastore/desired.js';
import { announce, ibgpAttrs, OutRecorder, peer } from './helpers.js';

const AS = 64512;
const ME = '10.0.0.1';
const pool = (name: string, cidr: string, extra: Partial<Pool> = {}): Pool => ({
  name, cidr, ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26, ...extra,
});

describe("Calico's export filter for learned routes (confd calico_export_to_bgp_peers)", () => {
  it('passes prefixes inside a pool, rejects those outside any pool or in a disableBGPExport pool', () => {
    const allowed = learnedExportFilter([pool('a', '10.244.0.0/16'), pool('quiet', '10.244.128.0/17', { disableBGPExport: true })]);
    expect(allowed(parsePrefix('10.244.1.0/26'))).toBe(true);
    expect(allowed(parsePrefix('10.244.200.0/26'))).toBe(false); // most specific pool wins
    expect(allowed(parsePrefix('0.0.0.0/0'))).toBe(false);
    expect(allowed(parsePrefix('192.168.0.0/24'))).toBe(false);
  });

  it('a route reflector stops reflecting learned routes outside the pools, and withdraws them when the filter changes', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, clusterId: '1.1.1.1', localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.addPeer(peer('c1', '10.0.0.11', AS, { rrClient: true }));
    rib.addPeer(peer('c2', '10.0.0.12', AS, { rrClient: true }));
    rec.reset('c1', rib.peerUp('c1', { remoteRouterId: '10.0.0.11', addPathSend: false, addPathReceive: false }));
    rec.reset('c2', rib.peerUp('c2', { remoteRouterId: '10.0.0.12', addPathSend: false, addPathReceive: false }));
    rib.setLocalRoutes(new Map([[parsePrefix('172.31.0.0/26'), {}]])); // our own block, outside every pool
    rib.applyUpdate('c1', announce(['10.244.1.0/26', '0.0.0.0/0'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    expect(Object.keys(rec.table('c2')).sort()).toEqual(['0.0.0.0/0', '10.244.1.0/26', '172.31.0.0/26']);

    rib.setExportFilter(learnedExportFilter([pool('a', '10.244.0.0/16')]));
    // The default route is withdrawn from c2; our own block stays (decided by the block policy, not here).
    expect(Object.keys(rec.table('c2')).sort()).toEqual(['10.244.1.0/26', '172.31.0.0/26']);
    expect(rib.counters('c2').advertised).toBe(2);
    // Both paths are still in the Loc-RIB: the filter is about export only.
    expect(rib.lookup(parsePrefix('0.0.0.0/0')).best?.peer).toBe('c1');
  });

  it('keeps learned routes outside the pools from a peer without ADD-PATH in incremental updates too, not only in its full table', () => {
    const rib = new Rib({ localAs: AS, routerId: ME, localAddress: ME });
    const rec = new OutRecorder().attach(rib);
    rib.setExportFilter(learnedExportFilter([pool('a', '10.244.0.0/16')]));
    rib.addPeer(peer('m1', '10.0.0.11', AS));
    rib.addPeer(peer('tor', '10.0.0.254', 65100, { addPathSend: false }));
    rec.reset('m1', rib.peerUp('m1', { remoteRouterId: '10.0.0.11', addPathSend: false, addPathReceive: false }));
    rec.reset('tor', rib.peerUp('tor', { remoteRouterId: '10.0.0.254', addPathSend: false, addPathReceive: false }));
    // Learned after the ToR is up: only the flush decides what it is sent.
    rib.applyUpdate('m1', announce(['10.244.1.0/26', '192.168.0.0/24'], ibgpAttrs('10.0.0.11')));
    rib.flush();
    expect(Object.keys(rec.table('tor'))).toEqual(['10.244.1.0/26']);
    expect(rib.counters('tor').advertised).toBe(1);
  });
});
