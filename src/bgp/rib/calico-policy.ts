/**
 * Calico's export policy for this node's own routes: which affine IPAM
 * blocks are advertised, which are blackholed, and the communities attached
 * (what confd renders into BIRD's `calico_export_to_bgp_peers` filter and
 * static blackhole routes). The block and pool rules themselves are
 * src/calico/ipam-rules.ts, shared with the datastore and the kernel.
 *
 * - BGPConfiguration `prefixAdvertisements`: every entry whose cidr covers the
 *   block adds its communities (BIRD's `if (net ~ cidr) then bgp_community.add`).
 */
import type { DesiredState, LocalBlock, Pool } from '../../contracts.js';
import { blockDisposition, learnedExported, PoolIndex, type BlockDisposition } from '../../calico/ipam-rules.js';
import { keyLength, parsePrefix, type PrefixKey } from '../prefix.js';
import type { LocalRoute } from './rib.js';
import { CommunityRules, type CommunityAdd } from './community-rules.js';

export interface BlockDecision {
  key: PrefixKey;
  cidr: string;
  exported: boolean;
  blackholed: boolean;
  reason: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  communities: string[];
}

export interface OriginatedRoutes {
  /** Our own routes for `Rib.setLocalRoutes`. */
  routes: Map<PrefixKey, LocalRoute>;
  /** Per block, what happens to it and why (status, and the kernel programmer's blackholes). */
  decisions: BlockDecision[];
  /** Inputs that could not be used (bad cidr, unknown community form), by what was wrong. */
  problems: string[];
}

/** The pool that holds `key`: the most specific pool whose cidr covers it. */
export function poolOf(key: PrefixKey, pools: Iterable<Pool>): Pool | undefined {
  return new PoolIndex(pools).of(key);
}

/** Decide one block: export and/or blackhole, with the reason (src/calico/ipam-rules.ts). */
export function decideBlock(block: LocalBlock, key: PrefixKey, pools: Iterable<Pool> | PoolIndex<Pool>): BlockDecision {
  const index = pools instanceof PoolIndex ? pools : new PoolIndex(pools);
  return { key, cidr: block.cidr, ...blockDecisionOf(blockDisposition(block.state, keyLength(key), index.of(key))) };
}

function blockDecisionOf(d: BlockDisposition): { exported: boolean; blackholed: boolean; reason: string } {
  return { exported: d.exported, blackholed: d.blackhole, reason: d.reason };
}

export { parseCommunity } from '../../calico/communities.js';

/**
 * Our originated routes from the node's blocks, the pools, the prefix
 * advertisements and the service CIDRs (BGPConfiguration serviceClusterIPs /
 * serviceExternalIPs / serviceLoadBalancerIPs: every node advertises each,
 * as calico-node does through its static routes; they take the same
 * communities as the node's other routes).
 */
export function originatedRoutes(
  blocks: Iterable<LocalBlock>,
  pools: Iterable<Pool>,
  prefixAdvertisements: PrefixAdvertisement[] | CommunityRules = [],
  serviceCidrs: readonly string[] = [],
): OriginatedRoutes {
  const poolIndex = new PoolIndex(pools);
  const rules = prefixAdvertisements instanceof CommunityRules ? prefixAdvertisements : new CommunityRules(prefixAdvertisements, 4);
  const problems: string[] = [...rules.problems];
  const routes = new Map<PrefixKey, LocalRoute>();
  const decisions: BlockDecision[] = [];
  for (const block of blocks) {
    let key: PrefixKey;
    try {
      key = parsePrefix(block.cidr, true);
    } catch (err) {
      problems.push(`block ${block.cidr}: ${(err as Error).message}`);
      continue;
    }
    const d = decideBlock(block, key, poolIndex);
    decisions.push(d);
    if (!d.exported) continue;
    routes.set(key, localRoute(rules.forPrefix(key)));
  }
  for (const cidr of serviceCidrs) {
    let key: PrefixKey;
    try {
      key = parsePrefix(cidr, true);
    } catch (err) {
      problems.push(`service CIDR ${cidr}: ${(err as Error).message}`);
      continue;
    }
    if (!routes.has(key)) routes.set(key, localRoute(rules.forPrefix(key)));
  }
  return { routes, decisions, problems };
}

/** Our own route with the communities of every prefix advertisement that covers it (src/bgp/rib/community-rules.ts). */
export function localRoute(add: CommunityAdd | null): LocalRoute {
  const route: LocalRoute = {};
  if (add?.standard.length) route.communities = [...add.standard];
  if (add?.large.length) route.largeCommunities = add.large.map((l) => [l[0], l[1], l[2]]);
  return route;
}

/** The same, from a whole desired state. */
export function originatedFromDesired(state: DesiredState): OriginatedRoutes {
  return originatedRoutes(state.blocks.values(), state.pools.values(), state.bgp.prefixAdvertisements, state.bgp.serviceCidrs);
}

/**
 * Which learned prefixes calico-node's BIRD passes on to its peers: those
 * inside an IP pool whose export is not disabled (confd's
 * `calico_export_to_bgp_peers`: `if (net ~ <pool cidr>) then accept;` per
 * pool, `reject` for `disableBGPExport` pools, then `reject;`). Our own
 * blocks are decided by `decideBlock`, not here.
 */
export function learnedExportFilter(pools: Iterable<Pool>): (key: PrefixKey) => boolean {
  const index = new PoolIndex(pools);
  const memo = new Map<PrefixKey, boolean>();
  return (key) => {
    let ok = memo.get(key);
    if (ok === undefined) {
      ok = learnedExported(index.of(key));
      if (memo.size < 100_000) memo.set(key, ok);
    }
    return ok;
  };
}
