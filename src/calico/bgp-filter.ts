/**
 * Calico's BGPFilter (projectcalico.org/v3 BGPFilter, referenced by BGPPeer
 * `spec.filters`) as calico-node's BIRD evaluates it: a pure function of the
 * route, the direction, the family and whether the peer shares our AS.
 *
 * What confd renders (confd/pkg/resource/template/template_funcs.go
 * BGPFilterBIRDFuncs, confd/pkg/backends/calico/bgp_processor.go
 * buildImportFilter / buildExportFilter), and so what is matched here:
 *  - one BIRD function per filter, direction and family; each rule is
 *    `if (<conditions, AND-ed>) then { accept; | reject; }`, in order, so the
 *    first rule that matches ends the whole filter;
 *  - a peer's filters are called in the order of `spec.filters`; a filter
 *    with no rules for the direction and family is not called at all;
 *  - with no match, import ends in `accept;` and export falls through to
 *    `calico_export_to_bgp_peers(...)` (Calico's default export policy)
 *    and then `reject;`;
 *  - conditions: `cidr` + `matchOperator` (`net ~ / !~ / = / != cidr`), with
 *    `prefixLength` the cidr becomes the prefix set `[ cidr{min,max} ]`
 *    (min = max(cidr length, min), max = min(32 or 128, max));
 *    `source: RemotePeers` is `source ~ [ RTS_BGP ]` (learned over BGP, not
 *    this node's own blocks or service CIDRs); `peerType` guards the rule
 *    with `is_same_as` (peer AS = node AS: iBGP); `communities` is
 *    `(aa, nn) ~ bgp_community` or `(a, b, c) ~ bgp_large_community`;
 *    `asPathPrefix` is `bgp_path ~ [= a b * =]`.
 *
 * BIRD compares a prefix with a prefix set by `=` as never equal (tried on
 * BIRD 2.0.12: `net = [ 10.0.0.0/8{16,24} ]` is false for 10.1.0.0/16 and
 * `!=` true for every route), so Equal / NotEqual with a prefixLength are
 * evaluated that way here too.
 */
import type { AsPathSegment, PathAttributes } from '../bgp/codec/types.js';
import { keyLength, prefixCovers, type PrefixKey } from '../bgp/prefix.js';
import { prefix6Covers, prefix6Length } from '../bgp/prefix6.js';

export type FilterAction = 'Accept' | 'Reject';
export type MatchOperator = 'Equal' | 'NotEqual' | 'In' | 'NotIn';
export type FilterDirection = 'import' | 'export';
export type FilterFamily = 4 | 6;
/** The spec list a rule lives in. */
export type RuleList = 'importV4' | 'exportV4' | 'importV6' | 'exportV6';

/**
 * Where a route came from, for `source: RemotePeers` (BIRD's RTS_BGP): only
 * `bgp` is a route learned from a peer. This node's blocks and the service
 * CIDRs are BIRD static / kernel routes in calico-node.
 */
export type RouteSource = 'own-block' | 'service-cidr' | 'bgp';

export interface CidrMatch {
  /** The cidr as a RIB key of its family (src/bgp/prefix.ts or prefix6.ts). */
  key: PrefixKey;
  text: string;
  operator: MatchOperator;
  /** Set when the rule has a prefixLength: BIRD's `[ cidr{min,max} ]`. */
  lengths?: { min: number; max: number };
}

/**
 * A route modification of an Accept rule, as confd renders it: addCommunity is
 * `bgp_community.add((a, b))` / `bgp_large_community.add((a, b, c))`,
 * prependASPath is one `bgp_path.prepend(asn)` per AS, last first, so the
 * path starts with the list as written.
 */
export type FilterOperation =
  | { addCommunity: { standard: number } | { large: [number, number, number] } }
  | { prependASPath: number[] };

export interface BgpFilterRule {
  action: FilterAction;
  /** Accept rules only (bgpfilter.go); export rules only in this agent (docs/BGPFILTER.md). */
  operations?: FilterOperation[];
  cidr?: CidrMatch;
  source?: 'RemotePeers';
  peerType?: 'eBGP' | 'iBGP';
  /** One community (the API allows exactly one value). */
  community?: { standard: number } | { large: [number, number, number] };
  asPathPrefix?: number[];
}

/** A parsed BGPFilter: its ordered rule lists. */
export interface BgpFilter {
  name: string;
  importV4: BgpFilterRule[];
  exportV4: BgpFilterRule[];
  importV6: BgpFilterRule[];
  exportV6: BgpFilterRule[];
}

/** The route a filter looks at. On export, its attributes before this node's export changes (BIRD runs the filter first). */
export interface FilterRoute {
  key: PrefixKey;
  source: RouteSource;
  attrs?: PathAttributes;
}

/** Which filter rule decided, for `agent routes`. */
export interface FilterVerdict {
  action: FilterAction;
  filter: string;
  list: RuleList;
  ruleIndex: number;
  /** The rule's operations, when an Accept rule has any. */
  operations?: readonly FilterOperation[];
}

export function ruleList(direction: FilterDirection, family: FilterFamily): RuleList {
  return `${direction}V${family}`;
}

/** "BGPFilter/f1 importV4[0] Reject": how status and `agent routes` name a verdict. */
export function formatVerdict(v: FilterVerdict): string {
  return `BGPFilter/${v.filter} ${v.list}[${v.ruleIndex}] ${v.action}`;
}

/**
 * The first rule of `filters` (in `spec.filters` order) that matches the
 * route, or null when none does: then import accepts and export applies
 * Calico's default export policy. `sameAs`: the peer's AS is this node's
 * (BIRD's `is_same_as`, what `peerType` tests).
 */
export function evaluateFilters(
  filters: readonly BgpFilter[],
  direction: FilterDirection,
  family: FilterFamily,
  route: FilterRoute,
  sameAs: boolean,
): FilterVerdict | null {
  const list = ruleList(direction, family);
  for (const f of filters) {
    const rules = f[list];
    for (let i = 0; i < rules.length; i++) {
      if (!ruleMatches(rules[i], family, route, sameAs)) continue;
      const v: FilterVerdict = { action: rules[i].action, filter: f.name, list, ruleIndex: i };
      if (rules[i].operations?.length) v.operations = rules[i].operations;
      return v;
    }
  }
  return null;
}

export function ruleMatches(rule: BgpFilterRule, family: FilterFamily, route: FilterRoute, sameAs: boolean): boolean {
  if (rule.peerType !== undefined && (rule.peerType === 'iBGP') !== sameAs) return false;
  if (rule.cidr !== undefined && !cidrMatches(rule.cidr, family, route.key)) return false;
  if (rule.source === 'RemotePeers' && route.source !== 'bgp') return false;
  if (rule.community !== undefined && !hasCommunity(route.attrs, rule.community)) return false;
  if (rule.asPathPrefix !== undefined && !asPathStartsWith(route.attrs?.asPath, rule.asPathPrefix)) return false;
  return true;
}

function cidrMatches(m: CidrMatch, family: FilterFamily, key: PrefixKey): boolean {
  const covers = family === 4 ? prefixCovers : prefix6Covers;
  const length = family === 4 ? keyLength(key) : prefix6Length(key);
  if (m.lengths !== undefined) {
    // `net ~ [ cidr{min,max} ]`: inside the cidr with a length in range; `=` / `!=` against a set never / always hold.
    const inSet = covers(m.key, key) && length >= m.lengths.min && length <= m.lengths.max;
    switch (m.operator) {
      case 'In':
        return inSet;
      case 'NotIn':
        return !inSet;
      case 'Equal':
        return false;
      case 'NotEqual':
        return true;
    }
  }
  switch (m.operator) {
    case 'In':
      return covers(m.key, key);
    case 'NotIn':
      return !covers(m.key, key);
    case 'Equal':
      return m.key === key;
    case 'NotEqual':
      return m.key !== key;
  }
}

function hasCommunity(attrs: PathAttributes | undefined, c: NonNullable<BgpFilterRule['community']>): boolean {
  if ('standard' in c) return attrs?.communities?.includes(c.standard) ?? false;
  const [a, b, d] = c.large;
  return attrs?.largeCommunities?.some((x) => x[0] === a && x[1] === b && x[2] === d) ?? false;
}

/**
 * BIRD's `bgp_path ~ [= a b * =]`: the path's first ASes are a, b, ...
 * (the neighbour's first). An AS_SET is one element of the path that
 * matches an AS it contains.
 */
function asPathStartsWith(path: AsPathSegment[] | undefined, prefix: readonly number[]): boolean {
  let i = 0;
  for (const seg of path ?? []) {
    const isSet = seg.type === 1 || seg.type === 4;
    if (isSet) {
      if (i < prefix.length && !seg.asns.includes(prefix[i])) return false;
      i++;
    } else {
      for (const asn of seg.asns) {
        if (i >= prefix.length) return true;
        if (asn !== prefix[i]) return false;
        i++;
      }
    }
    if (i >= prefix.length) return true;
  }
  return i >= prefix.length;
}

/**
 * An export rule's operations on the attributes this node sends. BIRD runs
 * the export filter before BGP adds this node's AS (eBGP), so an AS the rule
 * prepends comes right after ours: `afterFirstAs` says the attributes
 * already start with it. A community already there is not added twice (BIRD's
 * `.add` of a set).
 */
export function applyOperations(attrs: PathAttributes, ops: readonly FilterOperation[], afterFirstAs: boolean): PathAttributes {
  let communities = attrs.communities;
  let large = attrs.largeCommunities;
  let path = attrs.asPath;
  for (const op of ops) {
    if ('addCommunity' in op) {
      const c = op.addCommunity;
      if ('standard' in c) {
        if (!communities?.includes(c.standard)) communities = [...(communities ?? []), c.standard];
      } else if (!large?.some((x) => x[0] === c.large[0] && x[1] === c.large[1] && x[2] === c.large[2])) {
        large = [...(large ?? []), [...c.large] as [number, number, number]];
      }
    } else {
      path = prependAs(path ?? [], op.prependASPath, afterFirstAs);
    }
  }
  const out: PathAttributes = { ...attrs };
  if (communities) out.communities = communities;
  if (large) out.largeCommunities = large;
  if (path) out.asPath = path;
  return out;
}

function prependAs(path: AsPathSegment[], asns: readonly number[], afterFirstAs: boolean): AsPathSegment[] {
  const first = path[0];
  if (afterFirstAs && first && first.type === 2 && first.asns.length > 0) {
    return [{ type: 2, asns: [first.asns[0], ...asns, ...first.asns.slice(1)] }, ...path.slice(1)];
  }
  if (first && first.type === 2) return [{ type: 2, asns: [...asns, ...first.asns] }, ...path.slice(1)];
  return [{ type: 2, asns: [...asns] }, ...path];
}

/** Whether any of `filters` has rules for this direction and family (confd calls only those). */
export function hasRules(filters: readonly BgpFilter[], direction: FilterDirection, family: FilterFamily): boolean {
  const list = ruleList(direction, family);
  return filters.some((f) => f[list].length > 0);
}
