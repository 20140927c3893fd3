/**
 * Property: the best path the RIB keeps incrementally (compare a new path
 * with the current best; re-select only when the best goes, is replaced, or
 * paths span several neighbour ASes) equals a full re-selection over the
 * destination's paths (RFC 4271 §9.1.2.2 with deterministic MED), with many
 * paths per prefix, ADD-PATH receive (RFC 7911) and route reflection
 * (RFC 4456), through random announce / withdraw / session down (hard and
 * graceful, RFC 4724) / End-of-RIB orders. The paths held are checked against
 * a model of what each peer announced.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PathAttributes } from '../../../src/bgp/codec/types.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, OutRecorder, peer, withdraw } from './helpers.js';

const AS = 64512;
// Two eBGP peers share a neighbour AS (MED compares between them), one is another AS,
// and iBGP paths carry AS paths starting with either: neighbour-AS groups mix.
const PEERS = [
  { name: 'c1', address: '10.0.0.11', as: AS, rr: true, addPath: true },
  { name: 'c2', address: '10.0.0.12', as: AS, rr: true, addPath: false },
  { name: 'n1', address: '10.0.0.13', as: AS, rr: false, addPath: true },
  { name: 'e1', address: '10.0.0.14', as: 65001, rr: false, addPath: false },
  { name: 'e2', address: '10.0.0.15', as: 65001, rr: false, addPath: true },
  { name: 'e3', address: '10.0.0.16', as: 65002, rr: false, addPath: false },
];
const PREFIXES = ['172.16.0.0/26', '10.0.0.0/8'];

// Mostly equal on the early steps, so MED and the late steps decide often
// (where MED's non-transitivity across neighbour ASes shows).
const attrsArb = fc.record({
  localPref: fc.constantFrom(100, 100, 100, 200),
  med: fc.option(fc.constantFrom(0, 5, 10), { nil: undefined, freq: 4 }),
  first: fc.constantFrom(65001, 65002),
  len: fc.constantFrom(0, 1, 1, 1, 2),
  origin: fc.constantFrom(0, 0, 0, 2),
  // Same router id for several sources: later steps (cluster list, peer address) decide.
  originator: fc.option(fc.constantFrom('9.9.9.9'), { nil: undefined }),
});

const eventArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('announce' as const),
      peer: fc.integer({ min: 0, max: PEERS.length - 1 }),
      prefixes: fc.subarray(PREFIXES, { minLength: 1 }),
      pathId: fc.integer({ min: 1, max: 3 }),
      attrs: attrsArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('withdraw' as const),
      peer: fc.integer({ min: 0, max: PEERS.length - 1 }),
      prefixes: fc.subarray(PREFIXES, { minLength: 1 }),
      pathId: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('down' as const), peer: fc.integer({ min: 0, max: PEERS.length - 1 }), graceful: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('up' as const), peer: fc.integer({ min: 0, max: PEERS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('eor' as const), peer: fc.integer({ min: 0, max: PEERS.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('local' as const), prefixes: fc.subarray(PREFIXES) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
);
type Ev = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function attrsFor(i: number, a: Ev & { kind: 'announce' } extends { attrs: infer A } ? A : never): PathAttributes {
  const p = PEERS[i];
  const asns = p.as !== AS ? [p.as, ...Array(a.len).fill(a.first)] : Array(a.len).fill(a.first);
  return ibgpAttrs(p.address, {
    origin: a.origin as 0 | 2,
    localPref: a.localPref,
    asPath: asns.length ? [{ type: 2, asns }] : [],
    ...(a.med !== undefined ? { med: a.med } : {}),
    ...(a.originator !== undefined && p.as === AS ? { originatorId: a.originator, clusterList: ['2.2.2.2'] } : {}),
  });
}

describe('incremental best path equals full re-selection', () => {
  it('holds with several paths per prefix, ADD-PATH, RR, downs and End-of-RIB', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), fc.boolean(), (events, reflector) => {
        const rib = new Rib({ localAs: AS, routerId: '10.0.0.1', clusterId: reflector ? '1.1.1.1' : undefined, localAddress: '10.0.0.1', schedule: () => () => undefined });
        const rec = new OutRecorder().attach(rib);
        const kernel = new Map<number, string>();
        rib.onBestPathChange((ch) => {
          for (const c of ch) {
            if (c.best) kernel.set(c.key, `${c.best.peer ?? 'local'} ${JSON.stringify(c.best.attrs.attrs)}`);
            else kernel.delete(c.key);
          }
        });
        // Model: what each peer holds in the RIB, `${peer}#${pathId} ${prefix}` -> attrs (+ stale).
        const model = new Map<string, { attrs: string; stale: boolean }>();
        let local = new Set<string>();
        const up = PEERS.map(() => true);
        for (const p of PEERS) rib.addPeer(peer(p.name, p.address, p.as, { rrClient: p.rr, addPathSend: true }));
        // A reflector client that wants ADD-PATH, and one that does not: both flush paths run.
        const bringUp = (i: number) =>
          rec.reset(PEERS[i].name, rib.peerUp(PEERS[i].name, { remoteRouterId: PEERS[i].address, addPathSend: i === 0, addPathReceive: PEERS[i].addPath }));
        PEERS.forEach((_, i) => bringUp(i));
        const dropPeer = (name: string, staleOnly: boolean) => {
          for (const [k, v] of [...model]) if (k.startsWith(`${name}#`) && (!staleOnly || v.stale)) model.delete(k);
        };
        for (const e of events) {
          if (e.kind === 'announce' || e.kind === 'withdraw') {
            if (!up[e.peer]) continue;
            const p = PEERS[e.peer];
            const id = p.addPath ? e.pathId : 0;
            const ids = p.addPath ? e.prefixes.map(() => id) : undefined;
            if (e.kind === 'announce') {
              const attrs = attrsFor(e.peer, e.attrs);
              rib.applyUpdate(p.name, announce(e.prefixes, attrs, ids));
              for (const x of e.prefixes) model.set(`${p.name}#${id} ${x}`, { attrs: JSON.stringify(attrs), stale: false });
            } else {
              rib.applyUpdate(p.name, withdraw(e.prefixes, ids));
              for (const x of e.prefixes) model.delete(`${p.name}#${id} ${x}`);
            }
          } else if (e.kind === 'down') {
            if (!up[e.peer]) continue;
            const name = PEERS[e.peer].name;
            rib.peerDown(name, { graceful: e.graceful, restartTime: 120 });
            up[e.peer] = false;
            rec.tables.delete(name);
            if (e.graceful) {
              for (const [k, v] of model) if (k.startsWith(`${name}#`)) v.stale = true;
            } else dropPeer(name, false);
          } else if (e.kind === 'up') {
            if (up[e.peer]) continue;
            bringUp(e.peer);
            up[e.peer] = true;
          } else if (e.kind === 'eor') {
            if (!up[e.peer]) continue;
            rib.endOfRib(PEERS[e.peer].name);
            dropPeer(PEERS[e.peer].name, true);
          } else if (e.kind === 'local') {
            rib.setLocalRoutes(new Map(e.prefixes.map((p) => [parsePrefix(p), {}])));
            local = new Set(e.prefixes);
          } else rib.flush();
        }
        rib.flush();
        const c2 = new OutRecorder();
        c2.reset('c2', up[1] ? [...rib.advertised('c2')] : []);
        for (const pfx of PREFIXES) {
          const l = rib.lookup(parsePrefix(pfx));
          // Paths held: exactly the model's (stale marks included) plus our own.
          const held = l.paths.map((p) => `${p.peer ?? 'local'}#${p.pathId} ${JSON.stringify(p.attrs.attrs)}${p.stale ? ' stale' : ''}`).sort();
          const want = [...model]
            .filter(([k]) => k.endsWith(` ${pfx}`))
            .map(([k, v]) => `${k.slice(0, k.indexOf(' '))} ${v.attrs}${v.stale ? ' stale' : ''}`);
          if (local.has(pfx)) want.push(`local#0 ${JSON.stringify({ origin: 0, asPath: [], nextHop: '10.0.0.1', localPref: 100 })}`);
          expect(held).toEqual(want.sort());
          // lookup re-selects over all paths; the kernel listener saw what the RIB kept incrementally.
          const full = l.best ? `${l.best.peer ?? 'local'} ${JSON.stringify(l.best.attrs.attrs)}` : undefined;
          expect(kernel.get(parsePrefix(pfx)), formatPrefix(parsePrefix(pfx))).toBe(full);
          // A non-ADD-PATH client's fresh export is of the kept best; it matches what it was sent.
          if (up[1]) expect(rec.table('c2')[pfx]).toEqual(c2.table('c2')[pfx]);
        }
        expect(rib.size()).toBe(PREFIXES.filter((p) => rib.lookup(parsePrefix(p)).best !== null).length);
        expect([...rib.prefixes()].length).toBe(rib.size());
      }),
      { numRuns: 1000 },
    );
  });
});

describe('MED across neighbour ASes (RFC 4271 §9.1.2.2 c, deterministic MED)', () => {
  // A (AS 65001, MED 10, lowest router id), C (AS 65002, middle), B (AS 65001, MED 5, highest):
  // B beats A on MED, C beats B on router id, A beats C on router id. The best of the set is C
  // (the best of 65001 is B; C beats B); a fold in arrival order A, C, B would end on B.
  const A = { peer: 'c1', med: 10, first: 65001 };
  const B = { peer: 'n1', med: 5, first: 65001 };
  const C = { peer: 'c2', med: 0, first: 65002 };
  for (const order of [[A, C, B], [A, B, C], [B, A, C], [C, A, B], [B, C, A], [C, B, A]]) {
    it(`picks C for arrival order ${order.map((x) => x.peer).join(',')}`, () => {
      const rib = new Rib({ localAs: AS, routerId: '10.0.0.1', clusterId: '1.1.1.1', localAddress: '10.0.0.1' });
      const best: string[] = [];
      rib.onBestPathChange((ch) => ch.forEach((c) => best.push(c.best?.peer ?? '-')));
      for (const p of PEERS) rib.addPeer(peer(p.name, p.address, p.as, { rrClient: p.rr }));
      for (const p of PEERS) rib.peerUp(p.name, { remoteRouterId: p.address, addPathSend: false, addPathReceive: false });
      for (const x of order) {
        const address = PEERS.find((p) => p.name === x.peer)!.address;
        rib.applyUpdate(x.peer, announce(['172.16.0.0/26'], ibgpAttrs(address, { asPath: [{ type: 2, asns: [x.first] }], med: x.med })));
        rib.flush();
      }
      expect(best.at(-1)).toBe('c2');
      expect(rib.lookup(parsePrefix('172.16.0.0/26')).best?.peer).toBe('c2');
    });
  }
});
