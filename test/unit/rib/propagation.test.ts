/**
 * Import loop checks and export attribute rules as pure functions
 * (src/bgp/rib/propagation.ts), for the Stryker survivors there: eBGP AS
 * loop (RFC 4271 §9.1.2), ORIGINATOR_ID and CLUSTER_LIST loops (RFC 4456 §8),
 * AS_PATH prepending (RFC 4271 §5.1.2: leading AS_SEQUENCE, 255-AS segments,
 * confederation segments dropped), what an eBGP peer never gets (LOCAL_PREF,
 * MED, reflection attributes), next hop self / keep, reflection rules, and
 * unknown attributes: only optional transitive ones go on, Partial set.
 */
import { describe, expect, it } from 'vitest';
import type { PathAttributes } from '../../../src/bgp/codec/types.js';
import { PeerState } from '../../../src/bgp/rib/path.js';
import { exportAttributes, importRejection, prepend, type LocalSpeaker } from '../../../src/bgp/rib/propagation.js';

function peer(
  over: Partial<Pick<PeerState, 'ibgp' | 'rrClient' | 'keepOriginalNextHop' | 'routerId' | 'nextHopSelf' | 'localAs' | 'allowLocalAs'>> & { local?: boolean } = {},
): PeerState {
  const p = new PeerState(`p${Math.random()}`, 1, over.local ?? false);
  Object.assign(p, { ibgp: true, rrClient: false, keepOriginalNextHop: false, ...over });
  return p;
}
const me: LocalSpeaker = { localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1' };
const rr: LocalSpeaker = { ...me, clusterId: '1.1.1.1' };
const set = (attrs: PathAttributes) => ({ attrs }) as Parameters<typeof exportAttributes>[0];
const base: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [64600] }], nextHop: '10.0.0.9', localPref: 150, med: 7 };

describe('import loop checks', () => {
  it('eBGP: our AS anywhere in AS_PATH is a loop; iBGP paths are not checked for it', () => {
    const path: PathAttributes = { asPath: [{ type: 2, asns: [64600] }, { type: 1, asns: [64700, 64512] }] };
    expect(importRejection(path, peer({ ibgp: false }), me)).toBe('as-path loop');
    expect(importRejection(path, peer({ ibgp: true }), me)).toBeNull();
    expect(importRejection({ asPath: [{ type: 2, asns: [64600] }] }, peer({ ibgp: false }), me)).toBeNull();
    expect(importRejection({}, peer({ ibgp: false }), me)).toBeNull();
  });
  it('our own ORIGINATOR_ID, or our CLUSTER_ID in CLUSTER_LIST, is a reflection loop', () => {
    expect(importRejection({ originatorId: '10.0.0.1' }, peer(), me)).toBe('originator-id is ours');
    expect(importRejection({ originatorId: '10.0.0.2' }, peer(), me)).toBeNull();
    expect(importRejection({ clusterList: ['2.2.2.2', '1.1.1.1'] }, peer(), rr)).toBe('cluster-list loop');
    expect(importRejection({ clusterList: ['2.2.2.2'] }, peer(), rr)).toBeNull();
    expect(importRejection({ clusterList: ['1.1.1.1'] }, peer(), me)).toBeNull(); // not a reflector: no cluster
  });
});

describe('prepend (RFC 4271 §5.1.2)', () => {
  it('into a leading AS_SEQUENCE, else a new one; confederation segments leave', () => {
    expect(prepend([{ type: 2, asns: [2, 3] }, { type: 1, asns: [4] }], 1)).toEqual([{ type: 2, asns: [1, 2, 3] }, { type: 1, asns: [4] }]);
    expect(prepend([{ type: 1, asns: [4, 5] }], 1)).toEqual([{ type: 2, asns: [1] }, { type: 1, asns: [4, 5] }]);
    expect(prepend([], 1)).toEqual([{ type: 2, asns: [1] }]);
    expect(prepend([{ type: 3, asns: [9] }, { type: 4, asns: [8] }, { type: 2, asns: [2] }], 1)).toEqual([{ type: 2, asns: [1, 2] }]);
  });
  it('a full 255-AS sequence gets a new segment in front', () => {
    const full = Array.from({ length: 255 }, (_, i) => i + 2);
    expect(prepend([{ type: 2, asns: full }], 1)).toEqual([{ type: 2, asns: [1] }, { type: 2, asns: full }]);
    const almost = full.slice(1);
    expect(prepend([{ type: 2, asns: almost }], 1)).toEqual([{ type: 2, asns: [1, ...almost] }]);
  });
});

describe('export attributes', () => {
  it('to eBGP: our AS prepended, next hop self, no LOCAL_PREF, MED, ORIGINATOR_ID or CLUSTER_LIST', () => {
    const out = exportAttributes(set({ ...base, originatorId: '10.0.0.5', clusterList: ['1.1.1.1'] }), peer(), peer({ ibgp: false }), me)!;
    expect(out).toEqual({ origin: 0, asPath: [{ type: 2, asns: [64512, 64600] }], nextHop: '10.0.0.1' });
  });
  it('to eBGP with keepOriginalNextHop: the next hop stays; without one it is ours', () => {
    expect(exportAttributes(set(base), peer(), peer({ ibgp: false, keepOriginalNextHop: true }), me)!.nextHop).toBe('10.0.0.9');
    expect(exportAttributes(set({ ...base, nextHop: undefined }), peer(), peer({ ibgp: false, keepOriginalNextHop: true }), me)!.nextHop).toBe('10.0.0.1');
  });
  it('our own route to iBGP goes as it is; an eBGP-learned one gets LOCAL_PREF 100', () => {
    const own = set(base);
    expect(exportAttributes(own, peer({ local: true }), peer(), me)).toBe(own.attrs);
    expect(exportAttributes(set(base), peer({ ibgp: false }), peer(), me)).toMatchObject({ localPref: 100, nextHop: '10.0.0.9', med: 7 });
  });
  it('iBGP to iBGP: only a route reflector passes it on, client -> all, non-client -> clients only', () => {
    expect(exportAttributes(set(base), peer(), peer(), me)).toBeNull();
    expect(exportAttributes(set(base), peer(), peer(), rr)).toBeNull(); // non-client -> non-client
    const toClient = exportAttributes(set(base), peer({ routerId: '10.0.0.7' }), peer({ rrClient: true }), rr)!;
    expect(toClient).toMatchObject({ originatorId: '10.0.0.7', clusterList: ['1.1.1.1'] });
    const fromClient = exportAttributes(set({ ...base, originatorId: '10.0.0.5', clusterList: ['3.3.3.3'] }), peer({ rrClient: true }), peer(), rr)!;
    expect(fromClient).toMatchObject({ originatorId: '10.0.0.5', clusterList: ['1.1.1.1', '3.3.3.3'] });
  });
  it('unknown attributes: optional transitive ones go on with Partial set, others are dropped; MP and AS4 attributes never go out as received', () => {
    const unknown = [
      { flags: 0xc0, code: 99, data: new Uint8Array([1]) },
      { flags: 0x80, code: 100, data: new Uint8Array([2]) },
    ];
    const out = exportAttributes(
      set({ ...base, unknown, mpReach: { afi: 2, safi: 1, nextHops: ['2001:db8::1'], nlri: { prefixes: [], pathIds: null } }, as4Path: [{ type: 2, asns: [1] }] }),
      peer({ ibgp: false }), peer(), me,
    )!;
    expect(out.unknown).toEqual([{ flags: 0xe0, code: 99, data: new Uint8Array([1]) }]);
    expect(out.mpReach).toBeUndefined();
    expect(out.as4Path).toBeUndefined();
    const none = exportAttributes(set({ ...base, unknown: [unknown[1]] }), peer({ ibgp: false }), peer(), me)!;
    expect('unknown' in none).toBe(false);
  });
});

describe('per-peer options (Calico BGPPeer, as BIRD does them)', () => {
  it('localASNumber (`local as`): prepended towards that peer instead of the node AS', () => {
    const out = exportAttributes(set(base), peer({ ibgp: true }), peer({ ibgp: false, localAs: 65001 }), me)!;
    expect(out.asPath).toEqual([{ type: 2, asns: [65001, 64600] }]);
    expect(exportAttributes(set(base), peer({ ibgp: true }), peer({ ibgp: false }), me)!.asPath).toEqual([{ type: 2, asns: [64512, 64600] }]);
  });
  it('localASNumber: the loop check looks for the session AS, not the node AS', () => {
    const path: PathAttributes = { asPath: [{ type: 2, asns: [64600, 64512] }] };
    expect(importRejection(path, peer({ ibgp: false, localAs: 65001 }), me)).toBeNull();
    expect(importRejection({ asPath: [{ type: 2, asns: [64600, 65001] }] }, peer({ ibgp: false, localAs: 65001 }), me)).toBe('as-path loop');
  });
  it('numAllowedLocalASNumbers (`allow local as N`): our AS up to N times is accepted, N+1 is a loop', () => {
    const twice: PathAttributes = { asPath: [{ type: 2, asns: [64600, 64512] }, { type: 1, asns: [64512] }] };
    expect(importRejection(twice, peer({ ibgp: false, allowLocalAs: 1 }), me)).toBe('as-path loop');
    expect(importRejection(twice, peer({ ibgp: false, allowLocalAs: 2 }), me)).toBeNull();
    expect(importRejection({ asPath: [{ type: 2, asns: [64512] }] }, peer({ ibgp: false, allowLocalAs: 1 }), me)).toBeNull();
  });
  it('nextHopMode Self (`next hop self`): our address towards iBGP (eBGP-learned and reflected) and eBGP, also over keep', () => {
    const self = peer({ ibgp: true, nextHopSelf: true });
    expect(exportAttributes(set(base), peer({ ibgp: false }), self, me)!.nextHop).toBe('10.0.0.1');
    expect(exportAttributes(set(base), peer({ ibgp: false }), peer({ ibgp: true }), me)!.nextHop).toBe('10.0.0.9');
    expect(exportAttributes(set(base), peer({ ibgp: true, rrClient: true }), self, rr)!.nextHop).toBe('10.0.0.1');
    expect(exportAttributes(set(base), peer({ ibgp: true, rrClient: true }), peer({ ibgp: true }), rr)!.nextHop).toBe('10.0.0.9');
    expect(exportAttributes(set(base), peer({ ibgp: true }), peer({ ibgp: false, nextHopSelf: true, keepOriginalNextHop: true }), me)!.nextHop).toBe('10.0.0.1');
  });
  it('nextHopMode Keep (`next hop keep`): the original next hop towards eBGP; Auto: ours', () => {
    expect(exportAttributes(set(base), peer({ ibgp: true }), peer({ ibgp: false, keepOriginalNextHop: true }), me)!.nextHop).toBe('10.0.0.9');
    expect(exportAttributes(set(base), peer({ ibgp: true }), peer({ ibgp: false }), me)!.nextHop).toBe('10.0.0.1');
  });
});
