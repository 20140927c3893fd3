/**
 * Calico's rules for this node's IPAM blocks and IP pools, in one place: the
 * datastore (which blocks are ours and what happens to each), the RIB (what
 * is exported) and the kernel programmer (what is blackholed, which pool
 * decides a learned route's shape) all ask here. The facts are what confd
 * renders for calico-node's BIRD (docs/ARCHITECTURE.md "Calico facts"):
 *
 * - An affinity `confirmed`, or empty in etcd (older clusters; the datastore
 *   reads it as confirmed), makes the block ours: blackholed locally
 *   (bird_aggr's static blackhole) and exported, even outside every pool.
 *   A /32 block is one address: exported, never blackholed.
 * - A block inside a pool with `disableBGPExport`: blackholed, not exported.
 *   The pool's `disabled` flag plays no part (it stops new allocations only).
 * - `pending` and `pendingDeletion`: neither (confd drops them).
 * - The pool of a prefix is the most specific pool whose cidr covers it.
 * - A learned route is passed on to peers only inside a pool whose export is
 *   not disabled (confd's `calico_export_to_bgp_peers`).
 *
 * IPv6 (calico-node's bird6, rendered from bird6_aggr.cfg / bird6_ipam.cfg)
 * follows the same rules with its own single-address length: a /128 block is
 * exported, never blackholed. IPv6 prefixes are interned ids (negative
 * numbers, src/bgp/prefix6.ts), so `PoolIndex.of` takes either family's key.
 */
import { keyLength, parsePrefix, prefixCovers, type PrefixKey } from '../bgp/prefix.js';
import { isPrefix6, parsePrefix6, prefix6Covers, prefix6Length } from '../bgp/prefix6.js';

export type AffinityState = 'confirmed' | 'pending' | 'pendingDeletion';

/** What happens to one of this node's blocks, and why (for status and `agent routes`). */
export interface BlockDisposition {
  blackhole: boolean;
  exported: boolean;
  reason: string;
}

/** Confirmed, or the legacy empty value the datastore maps to confirmed. */
export function affinityConfirmed(state: AffinityState | '' | undefined): boolean {
  return state === 'confirmed' || state === '' || state === undefined;
}

export function blockDisposition(
  state: AffinityState | '' | undefined,
  prefixLength: number,
  pool: { name: string; disableBGPExport: boolean } | undefined,
  family: 4 | 6 = 4,
): BlockDisposition {
  if (!affinityConfirmed(state)) return { blackhole: false, exported: false, reason: `affinity ${state}` };
  // bird_aggr skips "/32" blocks, bird6_aggr "/128" ones: a one-address block has nothing to blackhole.
  const blackhole = prefixLength < (family === 6 ? 128 : 32);
  if (pool?.disableBGPExport) return { blackhole, exported: false, reason: `pool ${pool.name} has disableBGPExport` };
  return { blackhole, exported: true, reason: pool ? `confirmed, pool ${pool.name}` : 'confirmed, outside any pool' };
}

/**
 * Pools indexed for "the most specific pool covering this prefix": parsed
 * once, longest first, each family apart. `of` takes an IPv4 prefix key or an
 * IPv6 id (src/bgp/prefix6.ts) and only ever answers a pool of the same family.
 */
export class PoolIndex<P extends { cidr: string }> {
  private readonly rules: { key: PrefixKey; pool: P }[] = [];
  private readonly rules6: { key: number; pool: P }[] = [];

  constructor(pools: Iterable<P>) {
    for (const pool of pools) {
      try {
        if (pool.cidr.includes(':')) this.rules6.push({ key: parsePrefix6(pool.cidr, true), pool });
        else this.rules.push({ key: parsePrefix(pool.cidr, true), pool });
      } catch {
        // malformed: no prefix's pool (the datastore reports malformed ones)
      }
    }
    this.rules.sort((a, b) => keyLength(b.key) - keyLength(a.key));
    this.rules6.sort((a, b) => prefix6Length(b.key) - prefix6Length(a.key));
  }

  of(prefix: PrefixKey): P | undefined {
    if (isPrefix6(prefix)) {
      for (const r of this.rules6) if (prefix6Covers(r.key, prefix)) return r.pool;
      return undefined;
    }
    for (const r of this.rules) if (prefixCovers(r.key, prefix)) return r.pool;
    return undefined;
  }
}

/** A learned prefix goes to peers only inside a pool whose export is not disabled. */
export function learnedExported(pool: { disableBGPExport: boolean } | undefined): boolean {
  return pool !== undefined && !pool.disableBGPExport;
}
