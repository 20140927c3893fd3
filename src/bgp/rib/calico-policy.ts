/**
 * Calico's export policy for this node's own routes: which affine IPAM
 * blocks are advertised, which are blackholed, and the communities attached
 * (DESIGN.md "Export and blackholes"; what confd renders into BIRD's
 * `calico_export_to_bgp_peers` filter and static blackhole routes).
 *
 * - Affinity `confirmed` (or empty in etcd, which the datastore reports as
 *   confirmed): blackholed locally and exported, even when no pool contains
 *   the block. A /32 block is exported but not blackholed.
 * - A block inside a pool with `disableBGPExport`: blackholed, not exported.
 *   The pool's `disabled` flag plays no part (a disabled pool only stops new
 *   allocations; existing blocks keep routing).
 * - `pending` / `pendingDeletion`: neither.
 * - BGPConfiguration `prefixAdvertisements`: every entry whose cidr covers the
 *   block adds its communities (BIRD's `if (net ~ cidr) then bgp_community.add`).
 */
import type { DesiredState, LocalBlock, Pool } from '../../datastore/desired.js';
import { keyLength, parsePrefix, prefixCovers, type PrefixKey } from '../prefix.js';
import type { LocalRoute } from './rib.js';

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
  let best: Pool | undefined;
  let bestLen = -1;
  for (const p of pools) {
    let pk: PrefixKey;
    try {
      pk = parsePrefix(p.cidr, true);
    } catch {
      continue;
    }
    if (prefixCovers(pk, key) && keyLength(pk) > bestLen) {
      best = p;
      bestLen = keyLength(pk);
    }
  }
  return best;
}

/** Decide one block: export and/or blackhole, with the reason. */
export function decideBlock(block: LocalBlock, key: PrefixKey, pools: Iterable<Pool>): BlockDecision {
  const base = { key, cidr: block.cidr };
  if (block.state !== 'confirmed') {
    return { ...base, exported: false, blackholed: false, reason: `affinity ${block.state}` };
  }
  const blackholed = keyLength(key) < 32; // a /32 block is one address: no blackhole route
  const pool = poolOf(key, pools);
  if (pool?.disableBGPExport) {
    return { ...base, exported: false, blackholed, reason: `pool ${pool.name} has disableBGPExport` };
  }
  return { ...base, exported: true, blackholed, reason: pool ? `confirmed, pool ${pool.name}` : 'confirmed, outside any pool' };
}

/**
 * A community as written in BGPConfiguration: "AA:NN" (RFC 1997, 16-bit
 * halves) or "A:B:C" (RFC 8092 large, 32-bit parts).
 */
export function parseCommunity(text: string): { standard: number } | { large: [number, number, number] } | null {
  const parts = text.trim().split(':');
  if (!parts.every((p) => /^\d+$/.test(p))) return null;
  const n = parts.map(Number);
  if (n.length === 2 && n[0] <= 0xffff && n[1] <= 0xffff) return { standard: (n[0] * 65536 + n[1]) >>> 0 };
  if (n.length === 3 && n.every((x) => x <= 0xffffffff)) return { large: [n[0], n[1], n[2]] };
  return null;
}

/** Our originated routes from the node's blocks, the pools and the prefix advertisements. */
export function originatedRoutes(
  blocks: Iterable<LocalBlock>,
  pools: Iterable<Pool>,
  prefixAdvertisements: PrefixAdvertisement[] = [],
): OriginatedRoutes {
  const poolList = [...pools];
  const problems: string[] = [];
  const ads: { key: PrefixKey; standard: number[]; large: [number, number, number][] }[] = [];
  for (const ad of prefixAdvertisements) {
    let key: PrefixKey;
    try {
      key = parsePrefix(ad.cidr, true);
    } catch (err) {
      problems.push(`prefixAdvertisements ${ad.cidr}: ${(err as Error).message}`);
      continue;
    }
    const standard: number[] = [];
    const large: [number, number, number][] = [];
    for (const c of ad.communities) {
      const v = parseCommunity(c);
      if (v === null) problems.push(`prefixAdvertisements ${ad.cidr}: community "${c}" is neither AA:NN nor A:B:C`);
      else if ('standard' in v) standard.push(v.standard);
      else large.push(v.large);
    }
    ads.push({ key, standard, large });
  }

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
    const d = decideBlock(block, key, poolList);
    decisions.push(d);
    if (!d.exported) continue;
    const route: LocalRoute = {};
    for (const ad of ads) {
      if (!prefixCovers(ad.key, key)) continue;
      if (ad.standard.length) route.communities = [...new Set([...(route.communities ?? []), ...ad.standard])].sort((a, b) => a - b);
      if (ad.large.length) route.largeCommunities = [...(route.largeCommunities ?? []), ...ad.large];
    }
    routes.set(key, route);
  }
  return { routes, decisions, problems };
}

/** The same, from a whole desired state. */
export function originatedFromDesired(state: DesiredState): OriginatedRoutes {
  return originatedRoutes(state.blocks.values(), state.pools.values(), state.bgp.prefixAdvertisements);
}

/**
 * Which learned prefixes calico-node's BIRD passes on to its peers: those
 * inside an IP pool whose export is not disabled (confd's
 * `calico_export_to_bgp_peers`: `if (net ~ <pool cidr>) then accept;` per
 * pool, `reject` for `disableBGPExport` pools, then `reject;`). Our own
 * blocks are decided by `decideBlock`, not here.
 */
export function learnedExportFilter(pools: Iterable<Pool>): (key: PrefixKey) => boolean {
  const list = [...pools];
  const memo = new Map<PrefixKey, boolean>();
  return (key) => {
    let ok = memo.get(key);
    if (ok === undefined) {
      const pool = poolOf(key, list);
      ok = pool !== undefined && !pool.disableBGPExport;
      if (memo.size < 100_000) memo.set(key, ok);
    }
    return ok;
  };
}
