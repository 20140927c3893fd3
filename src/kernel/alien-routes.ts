/**
 * Alien kernel routes: what BIRD's kernel protocol `learn` takes from the
 * main table (confd's bird.cfg: "learn; # Learn all alien routes from the
 * kernel"), chiefly the workload routes Felix writes
 * (`10.244.9.5 dev cali123 scope link`). Calico exports the ones that are
 * borrowed addresses (src/calico/borrowed.ts); this module only keeps the set.
 *
 * BIRD's `learn` without `all` skips routes the kernel made itself
 * (RTPROT_KERNEL: connected and local routes), ICMP redirects and its own
 * protocol's routes; every other protocol counts (Felix's, `ip route add`'s
 * `boot`, `static`, ...). The agent's own protocol is bird (RTPROT_BIRD).
 *
 * Pure: fed decoded rtnetlink messages (src/kernel/netlink/rtnetlink.ts), no
 * sockets. The watcher (netlink-alien-routes.ts) feeds it a dump and then the
 * RTM_NEWROUTE / RTM_DELROUTE notifications, in the order they arrived.
 */
import type { PrefixKey } from '../bgp/prefix.js';
import type { DumpedRoute } from './netlink/rtnetlink.js';
import { RTPROT_BIRD } from './route.js';

export const RTPROT_REDIRECT = 1;
export const RTPROT_KERNEL = 2;

/** Protocols `learn` ignores, for a speaker writing its routes with `own`. */
export function ignoredProtocols(own: number = RTPROT_BIRD): number[] {
  return [...new Set([RTPROT_REDIRECT, RTPROT_KERNEL, own])];
}

/**
 * What the wiring needs of the alien routes (src/agent/routing.ts): the
 * prefixes now, and the whole set again after every change. The agent opens
 * and closes the source; a new wiring (after an identity change) subscribes
 * to the same one.
 */
export interface AlienRouteSource {
  prefixes(): ReadonlySet<PrefixKey>;
  /** `fn` gets the whole prefix set after every change; returns the unsubscribe. */
  subscribe(fn: (prefixes: ReadonlySet<PrefixKey>) => void): () => void;
}

/**
 * The alien routes of the main table, keyed as the kernel keys them (prefix
 * and priority: two routes to one prefix with different metrics are two
 * routes; the tos is always 0 here, parseRoute drops the rest).
 */
export class AlienRouteTable {
  private readonly routes = new Map<string, PrefixKey>();
  private readonly ignored: Set<number>;

  constructor(ownProtocol: number = RTPROT_BIRD) {
    this.ignored = new Set(ignoredProtocols(ownProtocol));
  }

  /** The table is exactly `dumped` (a fresh dump). Returns whether the prefix set changed. */
  replaceAll(dumped: Iterable<DumpedRoute>): boolean {
    const before = this.prefixes();
    this.routes.clear();
    for (const d of dumped) this.apply(true, d);
    return !sameSet(before, this.prefixes());
  }

  /**
   * One notification: RTM_NEWROUTE (`added`) or RTM_DELROUTE. A new route of
   * an ignored protocol replaced whatever held its key (NLM_F_REPLACE), so it
   * removes the alien one. Returns whether the prefix set changed.
   */
  apply(added: boolean, d: DumpedRoute): boolean {
    const key = `${d.route.prefix}|${d.route.metric}`;
    const had = this.routes.has(key);
    if (added && !this.ignored.has(d.protocol)) {
      this.routes.set(key, d.route.prefix);
      return !had && !this.hasPrefixOtherThan(key, d.route.prefix);
    }
    if (!had) return false;
    this.routes.delete(key);
    return !this.hasPrefixOtherThan(key, d.route.prefix);
  }

  prefixes(): Set<PrefixKey> {
    return new Set(this.routes.values());
  }

  private hasPrefixOtherThan(key: string, prefix: PrefixKey): boolean {
    for (const [k, p] of this.routes) if (p === prefix && k !== key) return true;
    return false;
  }
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
