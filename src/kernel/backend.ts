/**
 * The seam between the route programmer and the kernel. Three implementations:
 * `NetlinkBackend` (batched rtnetlink, the default), `IpBatchBackend`
 * (`ip -batch`, the fallback) and `MemoryBackend` (unit tests).
 *
 * Every backend only ever writes routes with protocol bird (RTPROT_BIRD = 12)
 * in the main IPv4 table, and deletes only such routes (docs/ARCHITECTURE.md: a route the
 * agent did not install is never touched).
 */
import type { PrefixKey } from '../bgp/prefix.js';
import type { KernelRoute } from './route.js';
import { RouteList, ShapeTable } from './route-table.js';

export type RouteOp = { op: 'replace'; route: KernelRoute } | { op: 'delete'; route: KernelRoute };

export interface RouteOpError {
  route: KernelRoute;
  op: RouteOp['op'];
  /** Kernel's words, e.g. "Nexthop has invalid gateway" or "No such device". */
  error: string;
  /** errno name when known (ENETUNREACH, ENODEV, ...). */
  code?: string;
}

export interface KernelScan {
  /** proto bird routes in the main tables, compact: shape ids interned in the ShapeTable `scan` was given. */
  routes: RouteList;
  /** Prefixes (metric 0) held by a route of another protocol: never replaced, reported instead. */
  foreign: Map<PrefixKey, string>;
}

export interface KernelBackend {
  readonly name: string;
  /** proto bird routes, main table, IPv4. */
  dump(): Promise<KernelRoute[]>;
  /**
   * `dump()` plus the prefixes other protocols hold, in one pass; the routes'
   * shapes are interned in `shapes` (the programmer's), so a 1M-route scan
   * makes no object per route.
   */
  scan(shapes?: ShapeTable): Promise<KernelScan>;
  /** Apply ops in order; resolves with the ops that failed (empty = all applied). */
  apply(ops: RouteOp[]): Promise<RouteOpError[]>;
  /** Interface index of a device, or null when it does not exist. */
  linkIndex(name: string): Promise<number | null>;
  close(): void;
}

/** Scan helper for backends whose dump already returns every route. */
export function splitScan(all: { route: KernelRoute; protocol: number | string }[], birdProto: number | string, shapes = new ShapeTable()): KernelScan {
  const routes = new RouteList(shapes);
  const foreign = new Map<PrefixKey, string>();
  for (const { route, protocol } of all) {
    if (protocol === birdProto) routes.push(route.prefix, shapes.of(route));
    else if (route.metric === 0) foreign.set(route.prefix, String(protocol));
  }
  return { routes, foreign };
}
