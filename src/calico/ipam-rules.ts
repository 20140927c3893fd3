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
 */
import { keyLength, parsePrefix, prefixCovers, type PrefixKey } from '../bgp/prefix.js';

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
): BlockDisposition {
  if (!affinityConfirmed(state)) return { blackhole: false, exported: false, reason: `affinity ${state}` };
  const blackhole = prefixLength < 32;
  if (pool?.disableBGPExport) return { blackhole, exported: false, reason: `pool ${pool.name} has disableBGPExport` };
  return { blackhole, exported: true, reason: pool ? `confirmed, pool ${pool.name}` : 'confirmed, outside any pool' };
}

/**
 * IPv4 pools indexed for "the most specific pool covering this prefix":
 * parsed once, longest first. Pools whose cidr is not IPv4 are left out.
 */
export class PoolIndex<P extends { cidr: string }> {
  private readonly rules: { key: PrefixKey; pool: P }[] = [];

  constructor(pools: Iterable<P>) {
    for (const pool of pools) {
      try {
        this.rules.push({ key: parsePrefix(pool.cidr, true), pool });
      } catch {
        // IPv6 or malformed: not an IPv4 prefix's pool (the datastore reports malformed ones)
      }
    }
    this.rules.sort((a, b) => keyLength(b.key) - keyLength(a.key));
  }

  of(prefix: PrefixKey): P | undefined {
    for (const r of this.rules) if (prefixCovers(r.key, prefix)) return r.pool;
    return undefined;
  }
}

/** A learned prefix goes to peers only inside a pool whose export is not disabled. */
export function learnedExported(pool: { disableBGPExport: boolean } | undefined): boolean {
  return pool !== undefined && !pool.disableBGPExport;
}
