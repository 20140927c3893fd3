/**
 * The IPv6 half of the desired state: this node's IPv6 blocks and the IPv6
 * pools, as confd renders them for calico-node's bird6 (bird6_aggr.cfg,
 * bird6_ipam.cfg). Pure, like desired-state.ts, and kept apart from the IPv4
 * computation so that nothing IPv6 can change what IPv4 consumers receive.
 *
 * - Blocks come from this host's affinity keys under `.../ipv6/block/` only
 *   (confd never reads block values), with the same rules as IPv4
 *   (src/calico/ipam-rules.ts): confirmed or legacy-empty = ours (blackholed
 *   unless /128, exported unless its pool has disableBGPExport); pending and
 *   pendingDeletion are listed with neither.
 * - A block's cidr is put in the form libcalico-go writes (Go's IPNet.String:
 *   canonical compressed, host bits cleared), so the same block always has
 *   the same key whatever a hand-written etcd key looked like.
 * - IPIP is IPv4 only (libcalico-go's validator refuses `ipipMode` other than
 *   Never on an IPv6 pool). Such a pool written straight into etcd is still
 *   used, as Never, so its cidr keeps deciding export and route shape, and
 *   the mismatch is reported against the pool's key. VXLAN pools stay Felix's.
 */
import type { AffinityState, LocalBlock, Pool } from '../contracts.js';
import { blockDisposition, PoolIndex } from '../calico/ipam-rules.js';
import { canonicalCidr6, parsePrefix6, prefix6Length } from '../bgp/prefix6.js';
import { resourceKey } from './keys.js';
import type { IPPoolResource } from './model/resources.js';
import type { DesiredProblem, ResourceView } from './desired-state.js';

export function isIPv6Pool(p: IPPoolResource): boolean {
  return p.cidr.ipVersion === 6;
}

/** IPv6 pools by name; `problems` gets one entry per pool whose ipipMode was not Never. */
export function computePools6(view: Pick<ResourceView, 'ipPools'>, problems: DesiredProblem[] = []): Map<string, Pool> {
  const pools = new Map<string, Pool>();
  for (const p of view.ipPools.values()) {
    if (!isIPv6Pool(p)) continue;
    if (p.ipipMode !== 'Never') {
      problems.push({
        key: resourceKey('IPPool', p.name),
        message: `spec.ipipMode ${p.ipipMode} does not apply to the IPv6 pool ${p.cidr.cidr} (IPIP is IPv4 only; Calico refuses it): the pool is used with ipipMode Never`,
      });
    }
    pools.set(p.name, {
      name: p.name,
      cidr: p.cidr.cidr,
      ipipMode: 'Never',
      vxlanMode: p.vxlanMode,
      disabled: p.disabled,
      disableBGPExport: p.disableBGPExport,
      natOutgoing: p.natOutgoing,
      blockSize: p.blockSize,
    });
  }
  return pools;
}

/** This host's IPv6 blocks, keyed by canonical cidr. */
export function computeBlocks6(view: Pick<ResourceView, 'ipPools' | 'affinities'>, nodeName: string): Map<string, LocalBlock> {
  const blocks = new Map<string, LocalBlock>();
  const mine = view.affinities.get(nodeName);
  if (!mine) return blocks;
  let pools: PoolIndex<{ cidr: string; name: string; disableBGPExport: boolean }> | undefined;
  for (const a of mine.values()) {
    if (a.cidr.ipVersion !== 6) continue;
    let cidr: string;
    let key: number;
    try {
      cidr = canonicalCidr6(a.cidr.cidr);
      key = parsePrefix6(cidr);
    } catch {
      continue; // the affinity's validation already reported an unusable cidr
    }
    pools ??= new PoolIndex(
      [...view.ipPools.values()].filter(isIPv6Pool).map((p) => ({ cidr: p.cidr.cidr, name: p.name, disableBGPExport: p.disableBGPExport })),
    );
    const state: AffinityState = a.state;
    const pool = pools.of(key);
    const d = blockDisposition(state, prefix6Length(key), pool, 6);
    const b: LocalBlock = { cidr, state, blackhole: d.blackhole, exported: d.exported };
    if (pool) b.pool = pool.name;
    blocks.set(cidr, b);
  }
  return blocks;
}
