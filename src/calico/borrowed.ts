/**
 * Borrowed addresses: a workload address that Calico's IPAM took from a block
 * affine to another node (the pool ran short, or a fixed address). Felix
 * writes its route here (`10.244.9.5 dev cali123 scope link`); calico-node's
 * BIRD learns that alien route from the kernel (src/kernel/alien-routes.ts)
 * and exports it to its peers as a /32 (/128), since no block of this node
 * covers it and the owner's block route would draw its traffic elsewhere.
 *
 * The rule is the order of confd's `calico_export_to_bgp_peers` for a route
 * of the kernel protocol (bird_ipam.cfg.template, bird_aggr.cfg.template):
 * 1. `reject` inside a pool with `disableBGPExport`;
 * 2. `calico_aggr()`: for each block affine to this node and confirmed (or
 *    with the legacy empty value), `net = block` is the block itself (already
 *    exported as our own route) and `net ~ block` is `reject`: an address in an
 *    own block stays covered by the block; `pending` / `pendingDeletion`
 *    blocks render nothing here, so they cover nothing;
 * 3. `accept` inside an enabled pool; anything else is rejected.
 * Not modelled: newer confd also accepts a route inside an own block whose
 * krt_metric is below BGPConfiguration ipv4NormalRoutePriority (Felix's
 * elevated priority for a live-migrated VM), and rejects routes on
 * `bpf*.cali` devices (eBPF dataplane).
 */
import { parsePrefix, prefixCovers, type PrefixKey } from '../bgp/prefix.js';
import { isPrefix6, parsePrefix6, prefix6Covers } from '../bgp/prefix6.js';
import type { LocalBlock, Pool } from '../contracts.js';
import { affinityConfirmed, learnedExported, PoolIndex } from './ipam-rules.js';

/** The alien prefixes (either family) that this node exports as borrowed addresses, in input order. */
export function borrowedAddresses(alien: Iterable<PrefixKey>, blocks: Iterable<LocalBlock>, pools: Iterable<Pool>): PrefixKey[] {
  const own4: PrefixKey[] = [];
  const own6: PrefixKey[] = [];
  for (const b of blocks) {
    if (!affinityConfirmed(b.state)) continue;
    try {
      if (b.cidr.includes(':')) own6.push(parsePrefix6(b.cidr, true));
      else own4.push(parsePrefix(b.cidr, true));
    } catch {
      // a malformed block covers nothing (the datastore reports it)
    }
  }
  const index = new PoolIndex(pools);
  const out: PrefixKey[] = [];
  for (const key of alien) {
    if (!learnedExported(index.of(key))) continue;
    const covered = isPrefix6(key) ? own6.some((b) => prefix6Covers(b, key)) : own4.some((b) => prefixCovers(b, key));
    if (!covered) out.push(key);
  }
  return out;
}
