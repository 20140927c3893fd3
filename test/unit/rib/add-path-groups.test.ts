/**
 * Property: with many ADD-PATH (RFC 7911) peers of the same export profile
 * (a Calico mesh or a reflector's clients, RFC 4456), the Adj-RIB-Out changes
 * a flush hands each peer, applied in order, equal that peer's full export
 * computed afresh, and its `advertised` counter equals the size of that
 * export; so do full exports (a session coming up) shared by an export
 * group. The flush computes one ADD-PATH diff per profile and prefix and
 * shares it; a peer that is a source of one of the prefix's paths (split
 * horizon) gets its own, which this checks through random announce /
 * withdraw / down / up orders.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, OutRecorder, peer, withdraw } from './helpers.js';

const AS = 64512;
// Reflector clients, non-clients (iBGP) and eBGP peers, with and without ADD-PATH
// negotiated: export groups of one to three members.
const PEERS = [
  { name: 'c1', address: '10.0.0.11', as: AS, rr: true, ap: true },
  { name: 'c2', address: '10.0.0.12', as: AS, rr: true, ap: true },
  { name: 'c3', address: '10.0.0.13', as: AS, rr: true, ap: true },
  { name: 'c4', address: '10.0.0.17', as: AS, rr: true, ap: false },
  { name: 'c5', address: '10.0.0.18', as: AS, rr: true, ap: false },
  { name: 'n1', address: '10.0.0.14', as: AS, rr: false, ap: true },
  { name: 'n2', address: '10.0.0.15', as: AS, rr: false, ap: true },
  { name: 'e1', address: '10.0.0.16', as: 65001, rr: false, ap: true },
  { name: 'e2', address: '10.0.0.19', as: 65001, rr: false, ap: false },
];
const PREFIXES = ['172.16.0.0/26', '172.16.0.64/26', '10.0.0.0/8'];

const peerArb = fc.integer({ min: 0, max: PEERS.length - 1 });
const eventArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('announce' as const), peer: peerArb, prefixes: fc.subarray(PREFIXES, { minLength: 1 }), pathId: fc.integer({ min: 1, max: 2 }), localPref: fc.constantFrom(100, 200) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), peer: peerArb, prefixes: fc.subarray(PREFIXES, { minLength: 1 }), pathId: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('down' as const), peer: peerArb, graceful: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('up' as const), peer: peerArb }) },
  // A session reset (its paths kept stale when graceful, RFC 4724) or a ROUTE-REFRESH (RFC 2918): a full export.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('bounce' as const), peer: peerArb, graceful: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refresh' as const), peer: peerArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('local' as const), prefixes: fc.subarray(PREFIXES) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

describe('ADD-PATH diffs shared per export profile', () => {
  it('give every peer what a full export of its own gives, with its advertised count, shared full exports too', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 50 }), fc.boolean(), fc.constantFrom(1, 2, 100), (events, reflector, shareFrom) => {
        const rib = new Rib({ localAs: AS, routerId: '10.0.0.1', clusterId: reflector ? '1.1.1.1' : undefined, localAddress: '10.0.0.1', schedule: () => () => undefined, shareFullExportsFrom: shareFrom });
        const rec = new OutRecorder().attach(rib);
        for (const p of PEERS) rib.addPeer(peer(p.name, p.address, p.as, { rrClient: p.rr, addPathSend: true }));
        const up = PEERS.map(() => false);
        const bringUp = (i: number): void => {
          rec.reset(PEERS[i].name, rib.peerUp(PEERS[i].name, { remoteRouterId: PEERS[i].address, addPathSend: PEERS[i].ap, addPathReceive: true }));
          up[i] = true;
        };
        PEERS.forEach((_, i) => bringUp(i));
        for (const e of events) {
          if (e.kind === 'announce' || e.kind === 'withdraw') {
            if (!up[e.peer]) continue;
            const p = PEERS[e.peer];
            const ids = e.prefixes.map(() => e.pathId);
            const asPath = p.as === AS ? [] : [{ type: 2 as const, asns: [p.as] }];
            if (e.kind === 'announce') rib.applyUpdate(p.name, announce(e.prefixes, ibgpAttrs(p.address, { localPref: e.localPref, asPath }), ids));
            else rib.applyUpdate(p.name, withdraw(e.prefixes, ids));
          } else if (e.kind === 'down' || e.kind === 'bounce') {
            if (!up[e.peer]) continue;
            rib.peerDown(PEERS[e.peer].name, { graceful: e.graceful, restartTime: 120 });
            rec.tables.delete(PEERS[e.peer].name);
            up[e.peer] = false;
            if (e.kind === 'bounce') bringUp(e.peer);
          } else if (e.kind === 'refresh') {
            if (up[e.peer]) rec.reset(PEERS[e.peer].name, rib.routeRefresh(PEERS[e.peer].name));
          } else if (e.kind === 'up') {
            if (!up[e.peer]) bringUp(e.peer);
          } else if (e.kind === 'local') {
            rib.setLocalRoutes(new Map(e.prefixes.map((x) => [parsePrefix(x), {}])));
          } else rib.flush();
        }
        rib.flush();
        PEERS.forEach((p, i) => {
          if (!up[i]) return;
          const fresh = new OutRecorder();
          fresh.reset(p.name, [...rib.advertised(p.name)]);
          expect(rec.table(p.name), p.name).toEqual(fresh.table(p.name));
          expect(rib.counters(p.name).advertised, `${p.name} advertised`).toBe(Object.keys(fresh.table(p.name)).length);
        });
      }),
      { numRuns: 500 },
    );
  });
});

