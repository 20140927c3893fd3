/**
 * Route inspection for `agent routes`: the Loc-RIB entry of a prefix with
 * every path, the best-path step that chose the winner, and the kernel route
 * it became; or a peer's Adj-RIB-In / Adj-RIB-Out.
 */
import { displayAttributes, formatAsPath, originText, type PathAttributes } from '../bgp/codec/index.js';
import { formatPrefix, parsePrefix, type PrefixKey } from '../bgp/prefix.js';
import type { Rib } from '../bgp/rib/rib.js';
import type { KernelProgrammer } from '../kernel/programmer.js';
import { formatRoute } from '../kernel/route.js';

export interface RouteView {
  prefix: string;
  paths: {
    peer: string | null;
    nextHop: string;
    asPath: string;
    origin: string;
    localPref?: number;
    med?: number;
    /** Its attributes as the route line shows them, worded by the codec's attribute table. */
    attributes: string;
    best: boolean;
    stale?: boolean;
    pathId?: number;
  }[];
  /** The best-path step that decided ("only path", "LOCAL_PREF", ..., "peer address"). */
  reason?: string;
  /** The kernel route this prefix became, as `ip route` prints it. */
  kernel?: string;
}

export interface RoutesQuery {
  prefix?: string;
  received?: string;
  advertised?: string;
  limit?: number;
}

function pathView(attrs: PathAttributes, peer: string | null, best: boolean, extra: { stale?: boolean; pathId?: number }) {
  return {
    peer,
    nextHop: attrs.nextHop ?? (peer === null ? 'local' : '?'),
    asPath: formatAsPath(attrs.asPath),
    origin: originText(attrs.origin ?? 0),
    localPref: attrs.localPref,
    med: attrs.med,
    attributes: displayAttributes(attrs),
    best,
    ...(extra.stale ? { stale: true } : {}),
    ...(extra.pathId ? { pathId: extra.pathId } : {}),
  };
}

/** Resolve a peer given by session name or address. */
function peerName(rib: Rib, nameOrAddress: string, addressOf: (name: string) => string | undefined): string {
  const names = rib.peerNames();
  if (names.includes(nameOrAddress)) return nameOrAddress;
  const byAddress = names.find((n) => addressOf(n) === nameOrAddress);
  if (byAddress) return byAddress;
  throw new Error(`no peer "${nameOrAddress}"; known: ${names.join(', ') || 'none'}`);
}

export function inspectRoutes(
  rib: Rib,
  kernel: KernelProgrammer | undefined,
  q: RoutesQuery,
  addressOf: (name: string) => string | undefined = () => undefined,
): RouteView[] {
  const limit = Math.max(1, Math.min(q.limit ?? 1000, 100_000));
  const kernelRoutes = new Map<PrefixKey, string>();
  if (kernel) for (const r of kernel.desiredRoutes()) kernelRoutes.set(r.prefix, formatRoute(r));

  if (q.received || q.advertised) {
    const name = peerName(rib, (q.received ?? q.advertised)!, addressOf);
    const byPrefix = new Map<PrefixKey, RouteView>();
    const source = q.received
      ? [...take(rib.received(name), limit)].map((r) => ({ key: r.key, attrs: r.attrs.attrs, stale: r.stale, pathId: r.pathId }))
      : [...take(rib.advertised(name), limit)].filter((c) => c.attrs).map((c) => ({ key: c.key, attrs: c.attrs!.attrs, stale: false, pathId: c.pathId }));
    for (const r of source) {
      let view = byPrefix.get(r.key);
      if (!view) byPrefix.set(r.key, (view = { prefix: formatPrefix(r.key), paths: [] }));
      view.paths.push(pathView(r.attrs, q.received ? name : null, false, r));
    }
    return [...byPrefix.values()];
  }

  const keys: PrefixKey[] = q.prefix ? [parsePrefix(q.prefix, true)] : [...take(rib.prefixes(), limit)].sort((a, b) => a - b);
  return keys.map((key) => {
    const r = rib.lookup(key);
    return {
      prefix: formatPrefix(key),
      paths: r.paths.map((p) => pathView(p.attrs.attrs, p.peer, p.best, { stale: p.stale, pathId: p.pathId })),
      reason: r.best ? r.reason : undefined,
      kernel: kernelRoutes.get(key),
    };
  });
}

function* take<T>(it: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let i = 0;
  for (const x of it) {
    yield x;
    if (++i >= n) return;
  }
}
