/**
 * BGPFilter evaluation (issue 21) against the cases of Calico's confd
 * (confd/tests/mock_data/calicoctl/bgpfilter/<case>/input.yaml, rendered in
 * confd/tests/compiled_templates/bgpfilter/<case>/bird.cfg). Each case's
 * filter is decoded as the agent decodes it from etcd, and each expectation
 * is what the rendered BIRD function does with that route: the first
 * `if (...) then { accept; | reject; }` that holds ends it; none = null
 * (import then accepts, export applies Calico's default policy).
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { parsePrefix6 } from '../../../src/bgp/prefix6.js';
import { applyOperations, evaluateFilters, formatVerdict, type BgpFilter, type FilterDirection, type RouteSource } from '../../../src/calico/bgp-filter.js';
import { decodeKv, type BGPFilterResource } from '../../../src/datastore/model/resources.js';
import { ValidationError } from '../../../src/datastore/model/fields.js';
import type { PathAttributes } from '../../../src/bgp/codec/types.js';

const KEY = '/calico/resources/v3/projectcalico.org/bgpfilters/';

function filter(name: string, spec: object): BgpFilter {
  return decodeKv(`${KEY}${name}`, JSON.stringify({ kind: 'BGPFilter', apiVersion: 'projectcalico.org/v3', metadata: { name }, spec })) as BGPFilterResource;
}

function problemsOf(name: string, spec: object): string[] {
  try {
    filter(name, spec);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).problems.map((p) => `${p.field}: ${p.message}`);
  }
  return [];
}

/** "importV4[1] Reject", or "none". */
function verdict(fs: BgpFilter[], dir: FilterDirection, cidr: string, opts: { source?: RouteSource; sameAs?: boolean; attrs?: PathAttributes } = {}): string {
  const v6 = cidr.includes(':');
  const v = evaluateFilters(fs, dir, v6 ? 6 : 4, { key: v6 ? parsePrefix6(cidr) : parsePrefix(cidr), source: opts.source ?? 'bgp', attrs: opts.attrs }, opts.sameAs ?? false);
  return v === null ? 'none' : `${v.filter} ${v.list}[${v.ruleIndex}] ${v.action}`;
}

describe('BGPFilter evaluation, the confd cases', () => {
  it('match_operators: In, NotIn, Equal, NotEqual as net ~, !~, =, !=', () => {
    // Rule i matches against <a>.<i>.0.0/16, as in the confd case.
    const ops = (a: number) =>
      (['In', 'NotIn', 'Equal', 'NotEqual'] as const).map((op, i) => ({ action: i % 2 ? 'Reject' : 'Accept', matchOperator: op, cidr: `${a}.${i}.0.0/16` }));
    const f = filter('test-filter-match-operators', {
      importV4: ops(44),
      exportV4: ops(77),
      importV6: [
        { action: 'Accept', matchOperator: 'In', cidr: '5000:0::0/64' },
        { action: 'Reject', matchOperator: 'NotIn', cidr: '5000:1::0/64' },
      ],
    });
    const fs = [f];
    // `if ((net ~ 44.0.0.0/16)) then { accept; }`: inside, any longer length.
    expect(verdict(fs, 'import', '44.0.0.0/16')).toBe('test-filter-match-operators importV4[0] Accept');
    expect(verdict(fs, 'import', '44.0.3.0/24')).toBe('test-filter-match-operators importV4[0] Accept');
    // `if ((net !~ 44.1.0.0/16)) then { reject; }`: everything outside 44.1/16 stops at rule 1.
    expect(verdict(fs, 'import', '10.0.0.0/8')).toBe('test-filter-match-operators importV4[1] Reject');
    expect(verdict(fs, 'import', '44.2.0.0/16')).toBe('test-filter-match-operators importV4[1] Reject');
    // 44.1.0.0/16 itself: rule 2 (= 44.2/16) no, rule 3 (!= 44.3/16) yes.
    expect(verdict(fs, 'import', '44.1.0.0/16')).toBe('test-filter-match-operators importV4[3] Reject');
    expect(verdict(fs, 'export', '77.0.128.0/17')).toBe('test-filter-match-operators exportV4[0] Accept');
    expect(verdict(fs, 'export', '77.1.0.0/24')).toBe('test-filter-match-operators exportV4[3] Reject');
    // `net ~ 44.0.0.0/16` is "inside": a shorter prefix covering it is not.
    expect(verdict(fs, 'import', '44.0.0.0/8')).toBe('test-filter-match-operators importV4[1] Reject');
    // IPv6 rules are the V6 lists only; IPv4 rules never see an IPv6 route.
    expect(verdict(fs, 'import', '5000::/64')).toBe('test-filter-match-operators importV6[0] Accept');
    expect(verdict(fs, 'import', '6000::/64')).toBe('test-filter-match-operators importV6[1] Reject');
    expect(verdict(fs, 'export', 'fd00::/64')).toBe('none');
  });

  it('match_source: RemotePeers is RTS_BGP, so own blocks and service CIDRs fall to the next rule', () => {
    const rules = [{ action: 'Accept', source: 'RemotePeers' }, { action: 'Reject' }];
    const fs = [filter('test-filter-match-source', { exportV4: rules, importV4: rules })];
    expect(verdict(fs, 'export', '10.244.1.0/26', { source: 'bgp' })).toBe('test-filter-match-source exportV4[0] Accept');
    expect(verdict(fs, 'export', '10.244.1.0/26', { source: 'own-block' })).toBe('test-filter-match-source exportV4[1] Reject');
    expect(verdict(fs, 'export', '10.96.0.0/12', { source: 'service-cidr' })).toBe('test-filter-match-source exportV4[1] Reject');
    expect(verdict(fs, 'import', '192.0.2.0/24')).toBe('test-filter-match-source importV4[0] Accept');
  });

  it('peer_type: eBGP rules only for a peer of another AS (!is_same_as), iBGP ones for ours', () => {
    const fs = [
      filter('test-filter-peertype', {
        exportV4: [
          { action: 'Accept', peerType: 'eBGP', matchOperator: 'In', cidr: '10.0.0.0/8' },
          { action: 'Reject', peerType: 'iBGP', matchOperator: 'In', cidr: '172.16.0.0/12' },
          { action: 'Reject' },
        ],
      }),
    ];
    expect(verdict(fs, 'export', '10.1.0.0/16', { sameAs: false })).toBe('test-filter-peertype exportV4[0] Accept');
    expect(verdict(fs, 'export', '10.1.0.0/16', { sameAs: true })).toBe('test-filter-peertype exportV4[2] Reject');
    expect(verdict(fs, 'export', '172.16.5.0/24', { sameAs: true })).toBe('test-filter-peertype exportV4[1] Reject');
    expect(verdict(fs, 'export', '172.16.5.0/24', { sameAs: false })).toBe('test-filter-peertype exportV4[2] Reject');
  });

  it('multi_filter: the peer calls its filters in order; the first match in any of them ends it', () => {
    const f1 = filter('test-filter-1', {
      exportV4: [
        { action: 'Accept', matchOperator: 'In', cidr: '77.0.0.0/16' },
        { action: 'Reject', source: 'RemotePeers', matchOperator: 'In', cidr: '77.1.0.0/16' },
      ],
    });
    const f2 = filter('test-filter-2', {
      exportV4: [
        { action: 'Accept', matchOperator: 'In', cidr: '77.2.0.0/16' },
        { action: 'Accept', source: 'RemotePeers' },
        { action: 'Reject' },
      ],
    });
    expect(verdict([f1, f2], 'export', '77.1.0.0/24')).toBe('test-filter-1 exportV4[1] Reject');
    expect(verdict([f2, f1], 'export', '77.1.0.0/24')).toBe('test-filter-2 exportV4[1] Accept');
    expect(verdict([f1, f2], 'export', '77.1.0.0/24', { source: 'own-block' })).toBe('test-filter-2 exportV4[2] Reject');
    expect(verdict([f1, f2], 'export', '77.2.0.0/24', { source: 'own-block' })).toBe('test-filter-2 exportV4[0] Accept');
    // No IPv6 rules in either: confd calls neither function for bird6.
    expect(verdict([f1, f2], 'export', 'fd00::/64')).toBe('none');
  });

  it('prefixLength: the prefix set [ cidr{max(len, min), min(32, max)} ]; = and != against a set never / always hold (BIRD 2)', () => {
    const fs = [
      filter('len', {
        importV4: [
          { action: 'Reject', matchOperator: 'In', cidr: '10.0.0.0/8', prefixLength: { min: 16, max: 24 } },
          { action: 'Accept', matchOperator: 'NotIn', cidr: '192.168.0.0/16', prefixLength: { min: 4 } },
          { action: 'Reject', matchOperator: 'Equal', cidr: '192.168.0.0/16', prefixLength: { max: 24 } },
        ],
      }),
    ];
    expect(verdict(fs, 'import', '10.1.0.0/16')).toBe('len importV4[0] Reject');
    expect(verdict(fs, 'import', '10.1.2.0/24')).toBe('len importV4[0] Reject');
    // Outside the length range: not in the set, and 10.1.2.0/25 is outside 192.168/16 {16,32}.
    expect(verdict(fs, 'import', '10.1.2.0/25')).toBe('len importV4[1] Accept');
    expect(verdict(fs, 'import', '10.0.0.0/8')).toBe('len importV4[1] Accept');
    // Inside 192.168/16{16,32}: NotIn fails; `net = [set]` is never true.
    expect(verdict(fs, 'import', '192.168.1.0/24')).toBe('none');
  });

  it('communities and asPathPrefix (communities_and_operations, large_community, as_path_and_priority) match the route as received', () => {
    const fs = [
      filter('attrs', {
        importV4: [
          { action: 'Reject', communities: { values: ['65000:100'] } },
          { action: 'Reject', communities: { values: ['65000:100:200'] } },
          { action: 'Accept', asPathPrefix: [65000, 65001] },
          { action: 'Reject', asPathPrefix: [65000] },
        ],
      }),
    ];
    const seq = (...asns: number[]): PathAttributes => ({ asPath: [{ type: 2, asns }] });
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: { communities: [65000 * 65536 + 100] } })).toBe('attrs importV4[0] Reject');
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: { communities: [65000 * 65536 + 101] } })).toBe('none');
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: { largeCommunities: [[65000, 100, 200]] } })).toBe('attrs importV4[1] Reject');
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: seq(65000, 65001, 7) })).toBe('attrs importV4[2] Accept');
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: seq(65000, 65002) })).toBe('attrs importV4[3] Reject');
    // `[= 65000 * =]` is a prefix of the path: 65000 later in it does not match.
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: seq(7, 65000) })).toBe('none');
    // Split over two segments still starts with 65000 65001.
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: { asPath: [{ type: 2, asns: [65000] }, { type: 2, asns: [65001] }] } })).toBe('attrs importV4[2] Accept');
    // Our own routes have an empty AS_PATH.
    expect(verdict(fs, 'import', '10.0.0.0/24', { attrs: seq() })).toBe('none');
  });

  it('names a verdict as `agent routes` prints it', () => {
    const fs = [filter('f1', { importV4: [{ action: 'Reject', matchOperator: 'In', cidr: '10.0.0.0/8' }] })];
    const v = evaluateFilters(fs, 'import', 4, { key: parsePrefix('10.1.0.0/16'), source: 'bgp' }, false)!;
    expect(formatVerdict(v)).toBe('BGPFilter/f1 importV4[0] Reject');
  });
});

describe('BGPFilter decoding is strict', () => {
  it('names the field of an unknown field or value', () => {
    expect(problemsOf('x', { importv4: [] })).toEqual([expect.stringMatching(/^spec\.importv4: is not a BGPFilter field/)]);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'Within' }] })).toEqual([
      expect.stringMatching(/^spec\.importV4\[0\]\.matchOperator: "Within" is not one of Equal, NotEqual, In, NotIn/),
    ]);
    expect(problemsOf('x', { exportV4: [{ action: 'Drop' }] })).toEqual([expect.stringMatching(/^spec\.exportV4\[0\]\.action: "Drop" is not one of Accept, Reject/)]);
    expect(problemsOf('x', { exportV4: [{}] })).toEqual(['spec.exportV4[0].action: is required (Accept or Reject)']);
    expect(problemsOf('x', { exportV4: [{ action: 'Accept', cidrs: '10.0.0.0/8' }] })).toEqual([expect.stringMatching(/^spec\.exportV4\[0\]\.cidrs: is not a BGPFilter rule field/)]);
    expect(problemsOf('x', { exportV4: [{ action: 'Accept', source: 'Peers' }] })).toEqual(['spec.exportV4[0].source: "Peers" is not RemotePeers']);
  });

  it("enforces bgpfilter.go's rules: cidr with matchOperator, prefixLength with cidr, the family of the list, one community", () => {
    expect(problemsOf('x', { importV4: [{ action: 'Accept', cidr: '10.0.0.0/8' }] })).toEqual(['spec.importV4[0].matchOperator: is required when cidr is set']);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', matchOperator: 'In' }] })).toEqual(['spec.importV4[0].cidr: is required when matchOperator is set']);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', prefixLength: { min: 8 } }] })).toEqual(['spec.importV4[0].prefixLength: needs cidr']);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', cidr: 'fd00::/8', matchOperator: 'In' }] })).toEqual(['spec.importV4[0].cidr: "fd00::/8" is not an IPv4 CIDR']);
    expect(problemsOf('x', { importV6: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'In' }] })).toEqual(['spec.importV6[0].cidr: "10.0.0.0/8" is not an IPv6 CIDR']);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', cidr: '10.1.0.0/8', matchOperator: 'In' }] })).toEqual([expect.stringMatching(/host bits set/)]);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', communities: { values: ['1:2', '3:4'] } }] })).toEqual(['spec.importV4[0].communities.values: must hold exactly one community, not 2']);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', communities: { values: ['65536:1'] } }] })).toEqual([expect.stringMatching(/neither aa:nn/)]);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { max: 8 } }] })).toEqual([expect.stringMatching(/\{16,8\} is an empty range/)]);
  });

  it('refuses the rules it cannot evaluate as BIRD does: interface, priority, setPriority, operations on import', () => {
    expect(problemsOf('x', { exportV4: [{ action: 'Accept', interface: 'cali*' }] })).toEqual([expect.stringMatching(/^spec\.exportV4\[0\]\.interface: is not supported/)]);
    expect(problemsOf('x', { exportV4: [{ action: 'Accept', priority: 512 }] })).toEqual([expect.stringMatching(/^spec\.exportV4\[0\]\.priority: is not supported/)]);
    expect(problemsOf('x', { exportV4: [{ action: 'Accept', operations: [{ setPriority: { value: 100 } }] }] })).toEqual([
      expect.stringMatching(/^spec\.exportV4\[0\]\.operations\[0\]\.setPriority: is not supported/),
    ]);
    expect(problemsOf('x', { importV4: [{ action: 'Accept', operations: [{ addCommunity: { value: '65000:1' } }] }] })).toEqual([
      expect.stringMatching(/^spec\.importV4\[0\]\.operations: is not supported on import rules/),
    ]);
  });

  it('takes export operations of Accept rules only, one field each (communities_and_operations)', () => {
    const f = filter('ops', {
      exportV4: [{ action: 'Accept', communities: { values: ['65000:42'] }, operations: [{ addCommunity: { value: '65001:200' } }, { prependASPath: { prefix: [65000] } }] }],
    });
    expect(f.exportV4[0].operations).toEqual([{ addCommunity: { standard: 65001 * 65536 + 200 } }, { prependASPath: [65000] }]);
    expect(problemsOf('x', { exportV4: [{ action: 'Reject', operations: [{ prependASPath: { prefix: [1] } }] }] })).toEqual(['spec.exportV4[0].operations: may only be used with action Accept']);
    expect(problemsOf('x', { exportV4: [{ action: 'Accept', operations: [{ prependASPath: { prefix: [1] }, addCommunity: { value: '1:1' } }] }] })).toEqual([
      'spec.exportV4[0].operations[0]: must set exactly one of addCommunity, prependASPath, setPriority, not 2',
    ]);
    expect(problemsOf('x', { exportV4: [{ action: 'Accept', operations: [{ prependASPath: { prefix: [] } }] }] })).toEqual(['spec.exportV4[0].operations[0].prependASPath.prefix: must hold 1 to 10 AS numbers']);
  });
});

describe('applyOperations (the export side of an Accept rule)', () => {
  it('adds communities once and prepends the ASes in the order written, after our AS towards eBGP (BIRD prepends ours after the filter)', () => {
    const attrs: PathAttributes = { asPath: [{ type: 2, asns: [64512, 65100] }], communities: [1] };
    const ops = [{ addCommunity: { standard: 1 } }, { addCommunity: { standard: 2 } }, { addCommunity: { large: [1, 2, 3] as [number, number, number] } }, { prependASPath: [65000, 65001] }];
    expect(applyOperations(attrs, ops, true)).toEqual({ asPath: [{ type: 2, asns: [64512, 65000, 65001, 65100] }], communities: [1, 2], largeCommunities: [[1, 2, 3]] });
    // iBGP: no AS of ours in front; an own route's empty path gets a segment.
    expect(applyOperations({ asPath: [] }, [{ prependASPath: [65000, 65001] }], false)).toEqual({ asPath: [{ type: 2, asns: [65000, 65001] }] });
    expect(attrs.communities).toEqual([1]); // the input is not changed
  });
});
