/**
 * Calico's export policy for this node's IPv6 routes: confd renders bird6's
 * filters from the same templates as bird's, so the block and pool rules are
 * src/calico/ipam-rules.ts's (family 6: a /128 block is not blackholed).
 * Kept beside calico-policy.ts so the IPv4 module stays as it is.
 */
import type { LocalBlock, Pool } from '../../contracts.js';
import { blockDisposition, PoolIndex } from '../../calico/ipam-rules.js';
import { parsePrefix6, prefix6Length } from '../prefix6.js';
import { localRoute, type BlockDecision, type OriginatedRoutes } from './calico-policy.js';
import { CommunityRules } from './community-rules.js';
import type { LocalRoute } from './rib.js';

/**
 * This node's IPv6 routes (DesiredState.blocks6 / pools6): the same block
 * rules as IPv4 (confd renders bird6's filters from the same templates),
 * keyed by src/bgp/prefix6.ts ids, for the IPv6 RIB.
 */
export function originatedRoutes6(blocks: Iterable<LocalBlock>, pools: Iterable<Pool>, rules: CommunityRules = CommunityRules.none): OriginatedRoutes {
  const index = new PoolIndex(pools);
  const routes = new Map<number, LocalRoute>();
  const decisions: BlockDecision[] = [];
  const problems: string[] = [];
  for (const block of blocks) {
    let key: number;
    try {
      key = parsePrefix6(block.cidr, true);
    } catch (err) {
      problems.push(`block ${block.cidr}: ${(err as Error).message}`);
      continue;
    }
    const d = blockDisposition(block.state, prefix6Length(key), index.of(key), 6);
    decisions.push({ key, cidr: block.cidr, exported: d.exported, blackholed: d.blackhole, reason: d.reason });
    // prefixAdvertisements with IPv6 cidrs (bird6's apply_communities()).
    if (d.exported) routes.set(key, localRoute(rules.forPrefix(key)));
  }
  return { routes, decisions, problems };
}
