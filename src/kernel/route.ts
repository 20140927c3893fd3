/**
 * A kernel route as the programmer sees it: IPv4 or IPv6, main table, tos 0.
 *
 * Only the fields calico-node's BIRD ever writes are modelled (docs/ARCHITECTURE.md
 * "Kernel routes"): a gateway route, optionally `onlink` over a named device
 * (tunl0), or a blackhole for a local block. Routes are keyed by prefix:
 * BIRD's kernel protocol keeps one route per prefix at metric 0, and so do we.
 */
import { formatIpv4, formatPrefix, keyLength, type PrefixKey } from '../bgp/prefix.js';
import { formatAddress6, formatPrefix6, isPrefix6, prefix6Length } from '../bgp/prefix6.js';

/** rtnetlink protocol number of BIRD (RTPROT_BIRD, include/uapi/linux/rtnetlink.h). */
export const RTPROT_BIRD = 12;

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'other';

/**
 * IPv6 routes (issue 19) use the same record: `prefix` is an IPv6 prefix id
 * and `gateway` the /128 id of the next hop (both negative numbers,
 * src/bgp/prefix6.ts), so the programmer's maps, compares and reconcile are
 * the same code for both families and no IPv6 route costs a string.
 *
 * `metric` 0 means "the kernel's default priority" in both families: 0 for
 * IPv4, and for IPv6 1024 (IP6_RT_PRIO_USER), which the kernel puts in place
 * of 0 on every IPv6 route (BIRD 2 with `metric 0` installs `metric 1024`
 * routes, checked in a namespace). The backends translate at the edge.
 */
export interface KernelRoute {
  prefix: PrefixKey;
  type: RouteType;
  /** Next hop as an unsigned 32-bit address (IPv4 unicast routes), or an IPv6 /128 id (IPv6). */
  gateway?: number;
  /**
   * Output device. In a desired route, undefined means "let the kernel choose the
   * interface that reaches the gateway" (a direct route); in a dumped route it is
   * the device the kernel chose.
   */
  dev?: string;
  /** RTNH_F_ONLINK: the gateway is taken as reachable on `dev` without a connected route. */
  onlink: boolean;
  /** Kernel priority ("metric"); BIRD (calico's fork) writes 0. */
  metric: number;
  /**
   * ECMP (BIRD's kernel `merge paths on`): two or more next hops, in
   * ascending gateway order as BIRD writes them, each weight 1
   * (RTA_MULTIPATH). Then `gateway`, `dev` and `onlink` are unset.
   */
  nexthops?: NextHop[];
}

/** One next hop of a multipath route. */
export interface NextHop {
  gateway: number;
  /** As KernelRoute.dev: undefined in a desired next hop lets the kernel choose. */
  dev?: string;
  onlink: boolean;
}

/** True when the actual kernel route already is what `desired` asks for. */
export function routeSatisfies(actual: KernelRoute, desired: KernelRoute): boolean {
  if (actual.prefix !== desired.prefix || actual.type !== desired.type) return false;
  if (actual.metric !== desired.metric) return false;
  if (desired.type !== 'unicast') return true;
  if (desired.nexthops || actual.nexthops) return sameNexthops(actual.nexthops, desired.nexthops);
  if (actual.gateway !== desired.gateway || actual.onlink !== desired.onlink) return false;
  return desired.dev === undefined || actual.dev === desired.dev;
}

function sameNexthops(actual: readonly NextHop[] | undefined, desired: readonly NextHop[] | undefined): boolean {
  if (!actual || !desired || actual.length !== desired.length) return false;
  // The kernel keeps the order it was given (fib_create_info): compare in order.
  return desired.every((d, i) => {
    const a = actual[i];
    return a.gateway === d.gateway && a.onlink === d.onlink && (d.dev === undefined || a.dev === d.dev);
  });
}

/** 4 or 6, from the prefix key. */
export function routeFamily(route: KernelRoute): 4 | 6 {
  return isPrefix6(route.prefix) ? 6 : 4;
}

/** A prefix key of either family as text ("10.8.5.0/26", "fd00:245::/122"). */
export function formatKey(prefix: PrefixKey): string {
  return isPrefix6(prefix) ? formatPrefix6(prefix) : formatPrefix(prefix);
}

/** A next hop of either family as text. */
export function formatGateway(gateway: number): string {
  return isPrefix6(gateway) ? formatAddress6(gateway) : formatIpv4(gateway);
}

/** The destination as `ip route` prints it: host routes without their length. */
export function formatDst(prefix: PrefixKey): string {
  if (isPrefix6(prefix)) return prefix6Length(prefix) === 128 ? formatAddress6(prefix) : formatPrefix6(prefix);
  return keyLength(prefix) === 32 ? formatPrefix(prefix).replace(/\/32$/, '') : formatPrefix(prefix);
}

/** The route as `ip route show` prints it (protocol always bird), for status and logs. */
export function formatRoute(route: KernelRoute): string {
  const dst = formatDst(route.prefix);
  const parts: string[] = [];
  if (route.type !== 'unicast') parts.push(route.type);
  parts.push(dst);
  if (route.gateway !== undefined) parts.push('via', formatGateway(route.gateway));
  if (route.dev !== undefined) parts.push('dev', route.dev);
  parts.push('proto', 'bird');
  if (route.metric !== 0) parts.push('metric', String(route.metric));
  if (route.onlink) parts.push('onlink');
  // `ip route` prints each next hop of a multipath route after the route's own fields.
  for (const nh of route.nexthops ?? []) {
    parts.push('nexthop', 'via', formatGateway(nh.gateway));
    if (nh.dev !== undefined) parts.push('dev', nh.dev);
    parts.push('weight', '1');
    if (nh.onlink) parts.push('onlink');
  }
  return parts.join(' ');
}

export function blackholeRoute(prefix: PrefixKey): KernelRoute {
  return { prefix, type: 'blackhole', onlink: false, metric: 0 };
}

export function gatewayRoute(prefix: PrefixKey, gateway: number, dev?: string, onlink = false): KernelRoute {
  const route: KernelRoute = { prefix, type: 'unicast', gateway, onlink, metric: 0 };
  if (dev !== undefined) route.dev = dev;
  return route;
}

/**
 * One multipath route from the single-path routes of its next hops (each
 * shaped by the pool rules as if it were the only one), or the single route
 * when they are one next hop; null when any of them is not programmed.
 */
export function multipathRoute(routes: readonly (KernelRoute | null)[]): KernelRoute | null {
  if (routes.length === 0 || routes.some((r) => r === null || r.type !== 'unicast' || r.gateway === undefined)) return null;
  const hops = (routes as KernelRoute[])
    .map((r): NextHop => (r.dev === undefined ? { gateway: r.gateway!, onlink: r.onlink } : { gateway: r.gateway!, dev: r.dev, onlink: r.onlink }))
    .sort((a, b) => a.gateway - b.gateway)
    .filter((h, i, all) => i === 0 || h.gateway !== all[i - 1].gateway);
  const first = routes[0]!;
  if (hops.length === 1) return first;
  return { prefix: first.prefix, type: 'unicast', onlink: false, metric: first.metric, nexthops: hops };
}
