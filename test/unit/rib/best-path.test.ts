import { describe, expect, it } from 'vitest';
import type { PathAttributes } from '../../../src/bgp/codec/types.js';
import { parseIpv4 } from '../../../src/bgp/prefix.js';
import { InternedAttrs, asPathLength } from '../../../src/bgp/rib/attr-set.js';
import fc from 'fast-check';
import { BEST_PATH_STEPS, bestPath, comparePaths } from '../../../src/bgp/rib/best-path.js';
import { Path, PeerState } from '../../../src/bgp/rib/path.js';

const LOCAL_AS = 64512;
let nextId = 1;

interface Src {
  address: string;
  as?: number;
  routerId?: string;
  local?: boolean;
}

function mk(src: Src, attrs: PathAttributes, pathId = 0): Path {
  const st = new PeerState(src.address, nextId, src.local ?? false);
  st.configure(
    { name: src.address, address: src.address, asNumber: src.as ?? LOCAL_AS, rrClient: false, keepOriginalNextHop: false, addPathSend: false },
    LOCAL_AS,
  );
  st.routerId = src.routerId ?? src.address;
  st.routerIdNum = parseIpv4(st.routerId);
  return new Path(st, pathId, new InternedAttrs(nextId++, { origin: 0, nextHop: src.address, ...attrs }, `t${nextId}`), true);
}

const seq = (...asns: number[]) => [{ type: 2 as const, asns }];
const A = { address: '10.0.0.1' };
const B = { address: '10.0.0.2' };

// Each row: two (or more) paths; the index of the expected winner and the step that decided.
const rows: { name: string; paths: Path[]; winner: number; step: string }[] = [
  { name: 'local route beats a learned one with higher local-pref', paths: [mk(A, { localPref: 500 }), mk({ address: '10.0.0.9', local: true }, { localPref: 100 })], winner: 1, step: 'local route' },
  { name: 'higher LOCAL_PREF wins', paths: [mk(A, { localPref: 100 }), mk(B, { localPref: 200 })], winner: 1, step: 'local-pref' },
  { name: 'missing LOCAL_PREF counts as 100', paths: [mk(A, {}), mk(B, { localPref: 99 })], winner: 0, step: 'local-pref' },
  { name: 'eBGP path ignores a received LOCAL_PREF', paths: [mk({ address: '10.0.0.1', as: 65001 }, { localPref: 300, asPath: seq(65001) }), mk(B, { localPref: 150, asPath: seq(65002, 65003) })], winner: 1, step: 'local-pref' },
  { name: 'shorter AS_PATH wins', paths: [mk(A, { asPath: seq(1, 2, 3) }), mk(B, { asPath: seq(4, 5) })], winner: 1, step: 'as-path length' },
  { name: 'AS_SET counts as one', paths: [mk(A, { asPath: [{ type: 2, asns: [1] }, { type: 1, asns: [7, 8, 9] }] }), mk(B, { asPath: seq(4, 5, 6) })], winner: 0, step: 'as-path length' },
  { name: 'confederation segments count zero', paths: [mk(A, { asPath: [{ type: 3, asns: [1, 2, 3] }, { type: 2, asns: [9] }] }), mk(B, { asPath: seq(4, 5) })], winner: 0, step: 'as-path length' },
  { name: 'lower ORIGIN wins (IGP < EGP < INCOMPLETE)', paths: [mk(A, { origin: 2 }), mk(B, { origin: 1 })], winner: 1, step: 'origin' },
  { name: 'lower MED wins from the same neighbour AS', paths: [mk(A, { asPath: seq(65001), med: 50 }), mk(B, { asPath: seq(65001), med: 10 })], winner: 1, step: 'med' },
  { name: 'MED not compared across neighbour ASes', paths: [mk(A, { asPath: seq(65001), med: 50 }), mk(B, { asPath: seq(65002), med: 10 })], winner: 0, step: 'router id' },
  { name: 'missing MED is the lowest', paths: [mk(A, { asPath: seq(65001), med: 5 }), mk(B, { asPath: seq(65001) })], winner: 1, step: 'med' },
  { name: 'eBGP over iBGP', paths: [mk(A, { asPath: seq(65001) }), mk({ address: '10.0.0.2', as: 65001 }, { asPath: seq(65001) })], winner: 1, step: 'ebgp over ibgp' },
  { name: 'lower router id wins', paths: [mk({ address: '10.0.0.1', routerId: '9.9.9.9' }, {}), mk({ address: '10.0.0.2', routerId: '1.1.1.1' }, {})], winner: 1, step: 'router id' },
  { name: 'ORIGINATOR_ID stands in for router id (RFC 4456 §9)', paths: [mk({ address: '10.0.0.1', routerId: '1.1.1.1' }, { originatorId: '8.8.8.8', clusterList: ['1.0.0.1'] }), mk({ address: '10.0.0.2', routerId: '5.5.5.5' }, {})], winner: 1, step: 'router id' },
  { name: 'shorter CLUSTER_LIST wins', paths: [mk({ address: '10.0.0.1', routerId: '1.1.1.1' }, { originatorId: '3.3.3.3', clusterList: ['1.0.0.1', '1.0.0.2'] }), mk({ address: '10.0.0.2', routerId: '2.2.2.2' }, { originatorId: '3.3.3.3', clusterList: ['1.0.0.1'] })], winner: 1, step: 'cluster-list length' },
  { name: 'lower peer address breaks the last tie', paths: [mk({ address: '10.0.0.5', routerId: '1.1.1.1' }, {}), mk({ address: '10.0.0.3', routerId: '1.1.1.1' }, {})], winner: 1, step: 'peer address' },
  { name: 'one path', paths: [mk(A, {})], winner: 0, step: 'only path' },
];

describe('bestPath (RFC 4271 §9.1.2.2)', () => {
  for (const row of rows) {
    it(row.name, () => {
      const r = bestPath(row.paths);
      expect(r.best).toBe(row.paths[row.winner]);
      expect(r.reason).toBe(row.step);
      // Order of the candidates does not matter.
      const rev = bestPath([...row.paths].reverse());
      expect(rev.best).toBe(row.paths[row.winner]);
      expect(rev.reason).toBe(row.step);
    });
  }

  it('deterministic MED: the result does not depend on arrival order', () => {
    // Classic MED cycle: A and C in AS 1 (C has the lower MED), B in AS 2.
    const a = mk({ address: '10.0.0.1', routerId: '1.0.0.1' }, { asPath: seq(1), med: 10 });
    const b = mk({ address: '10.0.0.2', routerId: '1.0.0.2' }, { asPath: seq(2), med: 0 });
    const c = mk({ address: '10.0.0.3', routerId: '1.0.0.3' }, { asPath: seq(1), med: 5 });
    const orders = [[a, b, c], [a, c, b], [b, a, c], [b, c, a], [c, a, b], [c, b, a]];
    const winners = new Set(orders.map((o) => bestPath(o).best));
    expect(winners.size).toBe(1);
    // C beats A on MED within AS 1; then B beats C on router id.
    expect([...winners][0]).toBe(b);
  });

  it('asPathLength counts sets as one and confederations as zero', () => {
    expect(asPathLength([{ type: 2, asns: [1, 2] }, { type: 1, asns: [3, 4] }, { type: 4, asns: [5] }])).toBe(3);
  });

  it('comparePaths (written out for speed) agrees with the BEST_PATH_STEPS table', () => {
    const srcArb = fc.record({
      address: fc.constantFrom('10.0.0.1', '10.0.0.2'),
      as: fc.constantFrom(LOCAL_AS, 65001),
      routerId: fc.constantFrom('1.1.1.1', '2.2.2.2'),
      local: fc.boolean(),
    });
    const attrsArb = fc.record({
      localPref: fc.option(fc.constantFrom(100, 200), { nil: undefined }),
      asPath: fc.constantFrom(seq(1), seq(2), seq(1, 2), []),
      origin: fc.constantFrom(0 as const, 2 as const),
      med: fc.option(fc.constantFrom(0, 5), { nil: undefined }),
      originatorId: fc.option(fc.constantFrom('1.1.1.1', '3.3.3.3'), { nil: undefined }),
      clusterList: fc.option(fc.constantFrom<string[]>(['1.0.0.1'], ['1.0.0.1', '1.0.0.2']), { nil: undefined }),
    });
    const clean = (a: object): PathAttributes => Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as PathAttributes;
    fc.assert(
      fc.property(srcArb, attrsArb, fc.nat(2), srcArb, attrsArb, fc.nat(2), (s1, a1, id1, s2, a2, id2) => {
        const x = mk(s1, clean(a1), id1);
        const y = mk(s2, clean(a2), id2);
        let want = 0;
        for (let i = 0; i < BEST_PATH_STEPS.length && want === 0; i++) {
          const c = BEST_PATH_STEPS[i].compare(x, y);
          if (c !== 0) want = c < 0 ? -(i + 1) : i + 1;
        }
        expect(comparePaths(x, y)).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });
});
