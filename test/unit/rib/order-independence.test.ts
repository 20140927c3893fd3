/**
 * Property: the final Loc-RIB (paths held and best path per prefix) does not
 * depend on the order in which UPDATEs from different peers arrive, nor on
 * where flushes fall; and what the listeners saw adds up to the final state.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UpdateMessage } from '../../../src/bgp/codec/types.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, OutRecorder, peer, withdraw } from './helpers.js';

const AS = 64512;
const PEERS = [
  { name: 'p1', address: '10.0.0.11', as: AS, rr: true },
  { name: 'p2', address: '10.0.0.12', as: AS, rr: false },
  { name: 'p3', address: '10.0.0.13', as: 65001, rr: false },
  { name: 'p4', address: '10.0.0.14', as: 65002, rr: false },
];
const PREFIXES = ['172.16.0.0/26', '172.16.0.64/26', '172.16.1.0/24', '10.0.0.0/8'];

const attrsArb = fc.record({
  localPref: fc.constantFrom(100, 200),
  med: fc.option(fc.constantFrom(0, 5, 10), { nil: undefined }),
  first: fc.constantFrom(65001, 65002, 65003),
  len: fc.integer({ min: 0, max: 2 }),
  origin: fc.constantFrom(0, 2),
});

const msgArb = fc.record({
  peer: fc.integer({ min: 0, max: PEERS.length - 1 }),
  prefixes: fc.subarray(PREFIXES, { minLength: 1 }),
  withdraw: fc.boolean(),
  attrs: attrsArb,
});
type Msg = typeof msgArb extends fc.Arbitrary<infer T> ? T : never;

function toUpdate(m: Msg): UpdateMessage {
  const p = PEERS[m.peer];
  if (m.withdraw) return withdraw(m.prefixes);
  const ebgp = p.as !== AS;
  const asns = ebgp ? [p.as, ...Array(m.attrs.len).fill(m.attrs.first)] : Array(m.attrs.len).fill(m.attrs.first);
  return announce(
    m.prefixes,
    ibgpAttrs(p.address, {
      origin: m.attrs.origin as 0 | 2,
      localPref: m.attrs.localPref,
      asPath: asns.length ? [{ type: 2, asns }] : [],
      ...(m.attrs.med !== undefined ? { med: m.attrs.med } : {}),
    }),
  );
}

function run(msgs: Msg[], flushEvery: number) {
  const rib = new Rib({ localAs: AS, routerId: '10.0.0.1', clusterId: '1.1.1.1', localAddress: '10.0.0.1' });
  const rec = new OutRecorder().attach(rib);
  const kernel = new Map<number, string>();
  rib.onBestPathChange((ch) => {
    for (const c of ch) {
      if (c.best) kernel.set(c.key, `${c.best.peer} ${c.best.nextHop}`);
      else kernel.delete(c.key);
    }
  });
  for (const p of PEERS) rib.addPeer(peer(p.name, p.address, p.as, { rrClient: p.rr }));
  for (const p of PEERS) rec.reset(p.name, rib.peerUp(p.name, { remoteRouterId: p.address, addPathSend: false, addPathReceive: false }));
  msgs.forEach((m, i) => {
    rib.applyUpdate(PEERS[m.peer].name, toUpdate(m));
    if ((i + 1) % flushEvery === 0) rib.flush();
  });
  rib.flush();
  const loc: Record<string, unknown> = {};
  for (const pfx of PREFIXES) {
    const l = rib.lookup(parsePrefix(pfx));
    loc[pfx] = {
      paths: l.paths.map((p) => `${p.peer}:${JSON.stringify(p.attrs.attrs)}`).sort(),
      best: l.best ? `${l.best.peer}:${JSON.stringify(l.best.attrs.attrs)}` : null,
    };
  }
  const out: Record<string, unknown> = {};
  for (const p of PEERS) out[p.name] = rec.table(p.name);
  // What the listeners saw must equal a fresh full export.
  for (const p of PEERS) {
    const fresh = new OutRecorder();
    fresh.reset(p.name, [...rib.advertised(p.name)]);
    expect(rec.table(p.name)).toEqual(fresh.table(p.name));
    expect(rib.counters(p.name).advertised).toBe(Object.keys(fresh.table(p.name)).length);
  }
  const kern = Object.fromEntries([...kernel.entries()].map(([k, v]) => [formatPrefix(k), v]).sort());
  return { loc, out, kern };
}

describe('Loc-RIB does not depend on arrival order', () => {
  it('holds for interleavings of per-peer streams (per-peer order kept)', () => {
    fc.assert(
      fc.property(
        fc.array(msgArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { minLength: 30, maxLength: 30 }),
        fc.integer({ min: 1, max: 5 }),
        (msgs, shuffleSeeds, flushEvery) => {
          // Interleave: keep each peer's own order (TCP), mix peers arbitrarily.
          const queues = PEERS.map((_, i) => msgs.filter((m) => m.peer === i));
          const mixed: Msg[] = [];
          let s = 0;
          while (queues.some((q) => q.length)) {
            const live = queues.filter((q) => q.length);
            mixed.push(live[shuffleSeeds[s++ % shuffleSeeds.length] % live.length].shift()!);
          }
          const a = run(msgs, 1);
          const b = run(mixed, flushEvery);
          expect(b.loc).toEqual(a.loc);
          expect(b.out).toEqual(a.out);
          expect(b.kern).toEqual(a.kern);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('what listeners saw equals a fresh export, through sessions going down and up', () => {
  it('holds with ADD-PATH peers, graceful and hard downs, End-of-RIB and local routes', () => {
    const eventArb = fc.oneof(
      { weight: 6, arbitrary: msgArb.map((m) => ({ kind: 'msg' as const, m })) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('down' as const), peer: fc.integer({ min: 0, max: 3 }), graceful: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('up' as const), peer: fc.integer({ min: 0, max: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('eor' as const), peer: fc.integer({ min: 0, max: 3 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('local' as const), prefixes: fc.subarray(PREFIXES) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
    );
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.boolean(), (events, addPath, reflector) => {
        // With and without reflection: a plain mesh node sends iBGP peers only its own and eBGP-learned routes.
        const clusterId = reflector ? '1.1.1.1' : undefined;
        const rib = new Rib({ localAs: AS, routerId: '10.0.0.1', clusterId, localAddress: '10.0.0.1', schedule: () => () => undefined });
        const rec = new OutRecorder().attach(rib);
        const isUp = PEERS.map(() => true);
        PEERS.forEach((p, i) => rib.addPeer(peer(p.name, p.address, p.as, { rrClient: p.rr, addPathSend: addPath[i] })));
        const bringUp = (i: number) =>
          rec.reset(PEERS[i].name, rib.peerUp(PEERS[i].name, { remoteRouterId: PEERS[i].address, addPathSend: addPath[i], addPathReceive: false }));
        PEERS.forEach((_, i) => bringUp(i));
        for (const e of events) {
          if (e.kind === 'msg') {
            if (isUp[e.m.peer]) rib.applyUpdate(PEERS[e.m.peer].name, toUpdate(e.m));
          } else if (e.kind === 'down') {
            if (!isUp[e.peer]) continue;
            rib.peerDown(PEERS[e.peer].name, { graceful: e.graceful, restartTime: 120 });
            isUp[e.peer] = false;
            rec.tables.delete(PEERS[e.peer].name);
          } else if (e.kind === 'up') {
            if (isUp[e.peer]) continue;
            bringUp(e.peer);
            isUp[e.peer] = true;
          } else if (e.kind === 'eor') {
            if (isUp[e.peer]) rib.endOfRib(PEERS[e.peer].name);
          } else if (e.kind === 'local') {
            rib.setLocalRoutes(new Map(e.prefixes.map((p) => [parsePrefix(p), {}])));
          } else rib.flush();
        }
        rib.flush();
        PEERS.forEach((p, i) => {
          if (!isUp[i]) return;
          const fresh = new OutRecorder();
          fresh.reset(p.name, [...rib.advertised(p.name)]);
          expect(rec.table(p.name)).toEqual(fresh.table(p.name));
          expect(rib.counters(p.name).advertised).toBe(Object.keys(fresh.table(p.name)).length);
          // received counts what the Adj-RIB-In iterator yields
          expect(rib.counters(p.name).received).toBe([...rib.received(p.name)].length);
        });
        // Loc-RIB paths equal the accepted Adj-RIB-In paths over all peers plus our own.
        const accepted = PEERS.reduce((n, p) => n + rib.counters(p.name).accepted, 0);
        const local = PREFIXES.filter((p) => rib.lookup(parsePrefix(p)).paths.some((x) => x.peer === null)).length;
        expect(rib.paths()).toBe(accepted + local);
      }),
      { numRuns: 300 },
    );
  });
});
