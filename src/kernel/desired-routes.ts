/**
 * Desired kernel routes: what calico-node's BIRD would write, computed from
 * best paths, this node's IPAM blocks and the IP pools' encapsulation modes
 * (docs/ARCHITECTURE.md "Calico facts"; block rules in src/calico/ipam-rules.ts). Pure: no kernel, no time.
 *
 * - each local block (affinity confirmed, or legacy empty = confirmed):
 *   `blackhole <block> proto bird`; none for /32 blocks; none for pending /
 *   pendingDeletion affinities (confd drops those).
 * - a learned prefix in an ipipMode Always pool:
 *   `<prefix> via <nh> dev tunl0 proto bird onlink` (calico's BIRD fork adds onlink).
 * - CrossSubnet: the same over tunl0 when the next hop is outside this node's
 *   ipv4Address subnet, otherwise `<prefix> via <nh> proto bird` and the kernel
 *   picks the uplink that reaches the next hop.
 * - ipipMode Never, or in no pool: the direct route `<prefix> via <nh> proto bird`.
 * - VXLAN pools (vxlanMode set, ipipMode Never): nothing, Felix owns those.
 * Our own blocks win over learned routes for the same prefix.
 *
 * IPv6 (calico-node's bird6; issue 19), the same rules without a tunnel,
 * since IPIP is IPv4 only:
 * - each local IPv6 block: `blackhole <block> proto bird` (the kernel shows
 *   `dev lo metric 1024`); none for /128 blocks or pending affinities;
 * - a learned IPv6 prefix: `<prefix> via <peer IPv6> proto bird`, the kernel
 *   choosing the device that reaches the next hop (`dev eth0 metric 1024`),
 *   which is what BIRD 2 installs for the same route (checked in a
 *   namespace); VXLAN IPv6 pools are Felix's, as for IPv4.
 */
import { keyLength, parseIpv4, parsePrefix, prefixContains, prefixCovers, prefixKey, type PrefixKey } from '../bgp/prefix.js';
import { affinityConfirmed, blockDisposition, PoolIndex } from '../calico/ipam-rules.js';
import { isPrefix6, parsePrefix6, prefix6Length } from '../bgp/prefix6.js';
import type { LocalBlock, NodeIdentity, Pool } from '../contracts.js';
import { blackholeRoute, gatewayRoute, type KernelRoute } from './route.js';
import { NONE, type ShapeTable } from './route-table.js';

/** How BGPConfiguration.programClusterRoutes applies to this agent. */
export interface ClusterRoutesPolicy {
  /** The field as written (undefined when absent). */
  value?: string;
  /** False when the tunnel (IPIP) routes are left to Felix. */
  programIpip: boolean;
  /** One line for `agent status`. */
  note: string;
}

/**
 * Newer Calico moves IPIP route programming to Felix (`EnabledNoEncapOnly` is
 * its default). This agent follows the seeds' design and programs them itself
 * unless the field is explicitly `Disabled` or `EnabledNoEncapOnly`.
 */
export function clusterRoutesPolicy(value: string | undefined): ClusterRoutesPolicy {
  if (value === 'Disabled' || value === 'EnabledNoEncapOnly') {
    return {
      value,
      programIpip: false,
      note: `programClusterRoutes=${value}: IPIP (tunl0) routes are not programmed by this agent`,
    };
  }
  return {
    value,
    programIpip: true,
    note:
      value === undefined
        ? 'programClusterRoutes unset: this agent programs IPIP (tunl0) routes, as calico-node BIRD does'
        : `programClusterRoutes=${value}: this agent programs IPIP (tunl0) routes`,
  };
}

/** Everything a learned route's shape depends on, precomputed once per change of pools / node / policy. */
export class RouteContext {
  private readonly pools: PoolIndex<Pool>;
  private readonly services: PrefixKey[] = [];
  /** This node's subnet as a prefix key, or undefined when the identity is not known yet. */
  readonly nodeSubnet?: PrefixKey;
  readonly policy: ClusterRoutesPolicy;

  constructor(
    readonly opts: {
      node?: NodeIdentity;
      pools: Iterable<Pool>;
      programClusterRoutes?: string;
      tunnelDevice?: string;
      /** Service CIDRs (BgpSettings.serviceCidrs): nothing learned inside them is programmed. */
      serviceCidrs?: readonly string[];
    },
  ) {
    this.pools = new PoolIndex(opts.pools);
    for (const cidr of opts.serviceCidrs ?? []) {
      try {
        this.services.push(parsePrefix(cidr, true));
      } catch {
        // the datastore reports a bad cidr; nothing to exclude for it
      }
    }
    if (opts.node?.ipv4) {
      try {
        this.nodeSubnet = prefixKey(parseIpv4(opts.node.ipv4), opts.node.ipv4PrefixLen);
      } catch {
        this.nodeSubnet = undefined;
      }
    }
    this.policy = clusterRoutesPolicy(opts.programClusterRoutes);
  }

  get tunnelDevice(): string {
    return this.opts.tunnelDevice ?? 'tunl0';
  }

  /** The most specific pool that covers `prefix`. */
  poolOf(prefix: PrefixKey): Pool | undefined {
    return this.pools.of(prefix);
  }

  /** The kernel route for a prefix learned with `nextHop` (uint32), or null for none. */
  learnedRoute(prefix: PrefixKey, nextHop: number): KernelRoute | null {
    const form = this.learnedForm(prefix, nextHop);
    if (form === null) return null;
    return form === 'tunnel' ? gatewayRoute(prefix, nextHop, this.tunnelDevice, true) : gatewayRoute(prefix, nextHop);
  }

  /** learnedRoute as an interned shape id (NONE for no route): no object per route (src/kernel/route-table.ts). */
  learnedShape(prefix: PrefixKey, nextHop: number, shapes: ShapeTable): number {
    const form = this.learnedForm(prefix, nextHop);
    if (form === null) return NONE;
    return form === 'tunnel' ? shapes.intern('unicast', nextHop, this.tunnelDevice, true, 0) : shapes.intern('unicast', nextHop, undefined, false, 0);
  }

  /** learnedRoute6 as an interned shape id (NONE for no route). */
  learnedShape6(prefix: PrefixKey, nextHop: number, shapes: ShapeTable): number {
    return this.learnedRoute6Allowed(prefix) ? shapes.intern('unicast', nextHop, undefined, false, 0) : NONE;
  }

  /** Over the tunnel (`via nh dev tunl0 onlink`), direct (`via nh`), or no route. */
  private learnedForm(prefix: PrefixKey, nextHop: number): 'tunnel' | 'direct' | null {
    // Service addresses are kube-proxy's on every node: calico-node's BIRD
    // advertises the ranges but never writes them, or routes inside them
    // (other nodes' service /32s), into its own kernel.
    for (const s of this.services) if (prefixCovers(s, prefix)) return null;
    const pool = this.poolOf(prefix);
    if (pool) {
      if (pool.ipipMode === 'Never' && pool.vxlanMode !== 'Never') return null; // VXLAN: Felix's business
      const tunnel =
        pool.ipipMode === 'Always' ||
        // Without a known subnet every next hop counts as "outside" (the safe branch: onlink needs no connected route).
        (pool.ipipMode === 'CrossSubnet' && (this.nodeSubnet === undefined || !prefixContains(this.nodeSubnet, nextHop)));
      if (tunnel) return this.policy.programIpip ? 'tunnel' : null;
    }
    return 'direct';
  }

  /**
   * The kernel route for an IPv6 prefix id learned with `nextHop` (its /128
   * id, the global address: RFC 2545 link-local next hops are not used), or
   * null. No tunnel and no onlink: the kernel resolves the device.
   */
  learnedRoute6(prefix: PrefixKey, nextHop: number): KernelRoute | null {
    return this.learnedRoute6Allowed(prefix) ? gatewayRoute(prefix, nextHop) : null;
  }

  private learnedRoute6Allowed(prefix: PrefixKey): boolean {
    const pool = this.poolOf(prefix);
    return !(pool && pool.vxlanMode !== 'Never'); // VXLAN: Felix's business
  }
}

/** The blackhole for a local block, or null (pending affinity, /32 block, unparsable cidr). */
export function blockRoute(block: LocalBlock): KernelRoute | null {
  const prefix = blockPrefix(block);
  if (prefix === null) return null;
  // The pool plays no part in blackholing (src/calico/ipam-rules.ts).
  const d = isPrefix6(prefix) ? blockDisposition(block.state, prefix6Length(prefix), undefined, 6) : blockDisposition(block.state, keyLength(prefix), undefined);
  return d.blackhole ? blackholeRoute(prefix) : null;
}

/** Confirmed (or legacy empty, which the datastore maps to confirmed) affinities only. */
export function blockIsOurs(block: LocalBlock): boolean {
  return affinityConfirmed(block.state);
}

/** The block's prefix key: an IPv4 key, or an IPv6 id for a cidr with a colon. */
export function blockPrefix(block: LocalBlock): PrefixKey | null {
  try {
    return block.cidr.includes(':') ? parsePrefix6(block.cidr, true) : parsePrefix(block.cidr, true);
  } catch {
    return null;
  }
}

/** Full computation: learned best paths (prefix -> next hop) and local blocks -> desired routes by prefix. */
export function computeDesiredRoutes(
  ctx: RouteContext,
  learned: ReadonlyMap<PrefixKey, number>,
  blocks: Iterable<LocalBlock>,
  learned6: ReadonlyMap<PrefixKey, number> = new Map(),
): Map<PrefixKey, KernelRoute> {
  const out = new Map<PrefixKey, KernelRoute>();
  const own = new Set<PrefixKey>();
  for (const block of blocks) {
    const prefix = blockPrefix(block);
    if (prefix === null || !blockIsOurs(block)) continue;
    own.add(prefix);
    const route = blockRoute(block);
    if (route) out.set(prefix, route);
  }
  for (const [prefix, nextHop] of learned) {
    if (own.has(prefix)) continue; // our own block wins over a learned route
    const route = ctx.learnedRoute(prefix, nextHop);
    if (route) out.set(prefix, route);
  }
  for (const [prefix, nextHop] of learned6) {
    if (own.has(prefix)) continue;
    const route = ctx.learnedRoute6(prefix, nextHop);
    if (route) out.set(prefix, route);
  }
  return out;
}
