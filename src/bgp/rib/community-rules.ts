/**
 * Calico's prefix advertisements as the RIB applies them: confd renders them
 * into BIRD's `apply_communities()` (`if (net ~ cidr) then
 * bgp_community.add(..)` / `bgp_large_community.add(..)`), which the export
 * filter of every peer calls, mesh peers included, before it accepts a
 * route. So every exported route within a cidr takes that advertisement's
 * communities: this node's own routes (baked into their attribute set by
 * calico-policy.ts) and learned routes it passes on (added at export by the
 * RIB). BIRD keeps a community set sorted and without repeats on export
 * (`int_set_sort`, `lc_set_sort`); so do these.
 *
 * The values were resolved and checked by the datastore
 * (src/calico/communities.ts); one that still does not parse is a problem here.
 */
import type { PathAttributes } from '../codec/types.js';
import { parseCommunity, type ResolvedAdvertisement } from '../../calico/communities.js';
import { parsePrefix, prefixCovers } from '../prefix.js';
import { parsePrefix6, prefix6Covers } from '../prefix6.js';

type Large = [number, number, number];

/** The communities one prefix takes: a small id per distinct set (for export caches), and the values. */
export interface CommunityAdd {
  readonly id: number;
  readonly standard: readonly number[];
  readonly large: readonly Large[];
}

interface Rule {
  key: number;
  standard: number[];
  large: Large[];
}

export class CommunityRules {
  /** No advertisements: nothing is added anywhere. */
  static readonly none = new CommunityRules([], 4);

  readonly problems: string[] = [];
  private readonly rules: Rule[] = [];
  private readonly covers: (outer: number, inner: number) => boolean;
  private readonly memo = new Map<number, CommunityAdd | null>();
  private readonly groups = new Map<string, CommunityAdd>();

  /** The advertisements of `family` (the other family's cidrs are left to the other RIB). */
  constructor(advertisements: readonly ResolvedAdvertisement[], readonly family: 4 | 6) {
    this.covers = family === 6 ? prefix6Covers : prefixCovers;
    for (const ad of advertisements) {
      if (ad.cidr.includes(':') !== (family === 6)) continue;
      let key: number;
      try {
        key = family === 6 ? parsePrefix6(ad.cidr, true) : parsePrefix(ad.cidr, true);
      } catch (err) {
        this.problems.push(`prefixAdvertisements ${ad.cidr}: ${(err as Error).message}`);
        continue;
      }
      const rule: Rule = { key, standard: [], large: [] };
      for (const c of ad.communities) {
        const v = parseCommunity(c);
        if (v === null) this.problems.push(`prefixAdvertisements ${ad.cidr}: community "${c}" is neither AA:NN nor A:B:C`);
        else if ('standard' in v) rule.standard.push(v.standard);
        else rule.large.push(v.large);
      }
      if (rule.standard.length || rule.large.length) this.rules.push(rule);
    }
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** What a route for `key` takes: every advertisement whose cidr covers it; null when none. */
  forPrefix(key: number): CommunityAdd | null {
    if (this.rules.length === 0) return null;
    let add = this.memo.get(key);
    if (add !== undefined) return add;
    const standard = new Set<number>();
    const large = new Map<string, Large>();
    for (const r of this.rules) {
      if (!this.covers(r.key, key)) continue;
      for (const c of r.standard) standard.add(c);
      for (const l of r.large) large.set(l.join(':'), l);
    }
    add = standard.size || large.size ? this.group([...standard], [...large.values()]) : null;
    if (this.memo.size < 100_000) this.memo.set(key, add);
    return add;
  }

  private group(standard: number[], large: Large[]): CommunityAdd {
    standard.sort((a, b) => a - b);
    large.sort(compareLarge);
    const sig = `${standard.join(',')}|${large.map((l) => l.join(':')).join(',')}`;
    let g = this.groups.get(sig);
    if (g === undefined) {
      g = { id: this.groups.size + 1, standard, large };
      this.groups.set(sig, g);
    }
    return g;
  }
}

function compareLarge(a: Large, b: Large): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * `attrs` with `add`'s communities added (BIRD's `bgp_community.add`: a
 * community already there is not repeated), sorted as BIRD sends them. A new
 * object; `attrs` is not changed.
 */
export function withCommunities(attrs: PathAttributes, add: CommunityAdd): PathAttributes {
  const out: PathAttributes = { ...attrs };
  if (add.standard.length) out.communities = [...new Set([...(attrs.communities ?? []), ...add.standard])].sort((a, b) => a - b);
  if (add.large.length) {
    const all = new Map<string, Large>();
    for (const l of [...(attrs.largeCommunities ?? []), ...add.large]) all.set(l.join(':'), [l[0], l[1], l[2]]);
    out.largeCommunities = [...all.values()].sort(compareLarge);
  }
  return out;
}
