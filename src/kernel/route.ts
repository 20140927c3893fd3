/**
 * A kernel route as the programmer sees it: IPv4, main table, tos 0.
 *
 * Only the fields calico-node's BIRD ever writes are modelled (DESIGN.md
 * "Kernel routes"): a gateway route, optionally `onlink` over a named device
 * (tunl0), or a blackhole for a local block. Routes are keyed by prefix:
 * BIRD's kernel protocol keeps one route per prefix at metric 0, and so do we.
 */
import { formatIpv4, formatPrefix, keyLength, type PrefixKey } from '../bgp/prefix.js';

/** rtnetlink protocol number of BIRD (RTPROT_BIRD, include/uapi/linux/rtnetlink.h). */
export const RTPROT_BIRD = 12;

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'other';

export interface KernelRoute {
  prefix: PrefixKey;
  type: RouteType;
  /** Next hop as an unsigned 32-bit address (unicast routes). */
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
}

/** True when the actual kernel route already is what `desired` asks for. */
export function routeSatisfies(actual: KernelRoute, desired: KernelRoute): boolean {
  if (actual.prefix !== desired.prefix || actual.type !== desired.type) return false;
  if (actual.metric !== desired.metric) return false;
  if (desired.type !== 'unicast') return true;
  if (actual.gateway !== desired.gateway || actual.onlink !== desired.onlink) return false;
  return desired.dev === undefined || actual.dev === desired.dev;
}

/** The route as `ip route show` prints it (protocol always bird), for status and logs. */
export function formatRoute(route: KernelRoute): string {
  const dst = keyLength(route.prefix) === 32 ? formatPrefix(route.prefix).replace(/\/32$/, '') : formatPrefix(route.prefix);
  const parts: string[] = [];
  if (route.type !== 'unicast') parts.push(route.type);
  parts.push(dst);
  if (route.gateway !== undefined) parts.push('via', formatIpv4(route.gateway));
  if (route.dev !== undefined) parts.push('dev', route.dev);
  parts.push('proto', 'bird');
  if (route.metric !== 0) parts.push('metric', String(route.metric));
  if (route.onlink) parts.push('onlink');
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
