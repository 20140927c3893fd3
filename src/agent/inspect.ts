/**
 * Route inspection for `agent routes`: the Loc-RIB entry of a prefix with
 * every path, the best-path step that chose the winner, and the kernel route
 * it became; or a peer's Adj-RIB-In / Adj-RIB-Out. Both families: an IPv6
 * prefix, and an IPv6 peer (IPv6 unicast only, as bird6), are looked up in
 * the IPv6 RIB (issue 19); a listing shows IPv4 then IPv6 in address order.
 */
import { displayAttributes, formatAsPath, originText, type PathAttributes } from '../bgp/codec/index.js';
import { formatPrefix, isIpv4, keyLength, parseIpv4, parsePrefix, prefixKey, type PrefixKey } from '../bgp/prefix.js';
import { formatPrefix6, parseAddress6, parsePrefix6, prefix6Covers, prefix6Length, prefix6Word } from '../bgp/prefix6.js';
import type { Rib } from '../bgp/rib/rib.js';
import type { AttrSet } from '../bgp/route.js';
import type { KernelProgrammer } from '../kernel/programmer.js';
import { formatRoute } from '../kernel/route.js';
import { formatVerdict } from '../calico/bgp-filter.js';

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
    /** The import decision when not Calico's default: "filtered by BGPFilter/f1 importV4[0] Reject", "accepted by ...", "rejected: as-path loop". */
    import?: string;
  }[];
  /** Export BGPFilter rules that decide this prefix for a peer: "to Global_10_0_0_254: BGPFilter/f1 exportV4[0] Reject". */
  exportFilters?: string[];
  /** The best-path step that decided ("only path", "LOCAL_PREF", ..., "peer address"). */
  reason?: string;
  /** The kernel route this prefix became, as `ip route` prints it. */
  kernel?: string;
}

export interface RoutesQuery {
  prefix?: string;
  /** `agent routes for <address>`: the longest prefix in the Loc-RIB holding this address (or prefix), IPv4 or IPv6. */
  for?: string;
  received?: string;
  advertised?: string;
  limit?: number;
}

function pathView(attrs: PathAttributes, peer: string | null, best: boolean, extra: { stale?: boolean; pathId?: number; import?: string }) {
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
    ...(extra.import ? { import: extra.import } : {}),
  };
}

/** How `agent routes` words an import decision (undefined: Calico's default, accept). */
function importText(rib: Rib, peer: string, key: PrefixKey, attrs: AttrSet): string | undefined {
  const d = rib.importDecision(peer, key, attrs);
  if (d === null) return undefined;
  if ('rejected' in d) return `rejected: ${d.rejected}`;
  return `${d.verdict.action === 'Reject' ? 'filtered' : 'accepted'} by ${formatVerdict(d.verdict)}`;
}

/** Resolve a peer given by session name or address, with the RIB of its family. */
function peerOf(ribs: Rib[], nameOrAddress: string, addressOf: (name: string) => string | undefined): { rib: Rib; name: string } {
  for (const rib of ribs) if (rib.peerNames().includes(nameOrAddress)) return { rib, name: nameOrAddress };
  for (const rib of ribs) {
    const byAddress = rib.peerNames().find((n) => addressOf(n) === nameOrAddress);
    if (byAddress) return { rib, name: byAddress };
  }
  const names = ribs.flatMap((r) => r.peerNames());
  throw new Error(`no peer "${nameOrAddress}"; known: ${names.join(', ') || 'none'}`);
}

/** IPv6 prefix ids are interned, not ordered: by address words, then length. */
function compare6(a: PrefixKey, b: PrefixKey): number {
  for (const w of [0, 1, 2, 3] as const) {
    const d = prefix6Word(a, w) - prefix6Word(b, w);
    if (d !== 0) return d;
  }
  return prefix6Length(a) - prefix6Length(b);
}

const NO_RIB6 = 'no IPv6 routes: this node has no IPv6 address (spec.bgp.ipv6Address), so no IPv6 RIB';

/**
 * The Loc-RIB prefix a packet to `target` follows, as `birdc show route for`:
 * the longest prefix with a path that covers the address (or the whole given
 * prefix). IPv4 looks up each length from /32 down (33 probes); IPv6 scans
 * the IPv6 table once (its prefixes are interned ids, so probing every length
 * would intern up to 129 new ids per query). Undefined when nothing covers it.
 */
export function longestMatch(rib: Rib | null | undefined, rib6: Rib | null | undefined, target: string): PrefixKey | undefined {
  const text = target.trim();
  const slash = text.indexOf('/');
  if (!text.includes(':')) {
    const address = slash < 0 ? text : text.slice(0, slash);
    if (!isIpv4(address)) throw new Error(`"${target}" is not an IPv4 or IPv6 address`);
    const given = slash < 0 ? prefixKey(parseIpv4(address), 32) : parsePrefix(text, true);
    if (!rib) return undefined;
    for (let len = keyLength(given); len >= 0; len--) {
      const key = prefixKey(parseIpv4(address), len);
      if (rib.lookup(key).paths.length > 0) return key;
    }
    return undefined;
  }
  let given: PrefixKey;
  try {
    given = slash < 0 ? parseAddress6(text) : parsePrefix6(text, true);
  } catch {
    throw new Error(`"${target}" is not an IPv4 or IPv6 address`);
  }
  let best: PrefixKey | undefined;
  for (const key of rib6?.prefixes() ?? []) {
    if (prefix6Covers(key, given) && (best === undefined || prefix6Length(key) > prefix6Length(best))) best = key;
  }
  return best;
}

export function inspectRoutes(
  rib: Rib,
  kernel: KernelProgrammer | undefined,
  q: RoutesQuery,
  addressOf: (name: string) => string | undefined = () => undefined,
  rib6: Rib | null = null,
): RouteView[] {
  const ribs = rib6 ? [rib, rib6] : [rib];
  const fmt = (r: Rib, key: PrefixKey): string => (r.family === 6 ? formatPrefix6(key) : formatPrefix(key));
  const limit = Math.max(1, Math.min(q.limit ?? 1000, 100_000));
  const kernelRoutes = new Map<PrefixKey, string>();
  if (kernel) for (const r of kernel.desiredRoutes()) kernelRoutes.set(r.prefix, formatRoute(r));

  if (q.received || q.advertised) {
    const { rib: of, name } = peerOf(ribs, (q.received ?? q.advertised)!, addressOf);
    const byPrefix = new Map<PrefixKey, RouteView>();
    const source = q.received
      ? [...take(of.received(name), limit)].map((r) => ({ key: r.key, attrs: r.attrs.attrs, stale: r.stale, pathId: r.pathId, import: importText(of, name, r.key, r.attrs) }))
      : [...take(of.advertised(name), limit)].filter((c) => c.attrs).map((c) => ({ key: c.key, attrs: c.attrs!.attrs, stale: false, pathId: c.pathId }));
    for (const r of source) {
      let view = byPrefix.get(r.key);
      if (!view) byPrefix.set(r.key, (view = { prefix: fmt(of, r.key), paths: [] }));
      view.paths.push(pathView(r.attrs, q.received ? name : null, false, r));
    }
    return [...byPrefix.values()];
  }

  let keys: { rib: Rib; key: PrefixKey }[];
  if (q.for !== undefined) {
    const key = longestMatch(rib, rib6, q.for);
    if (key === undefined) return [];
    keys = [{ rib: key < 0 ? rib6! : rib, key }]; // IPv6 ids are negative (src/bgp/prefix6.ts)
  } else if (q.prefix?.includes(':')) {
    if (!rib6) throw new Error(NO_RIB6);
    keys = [{ rib: rib6, key: parsePrefix6(q.prefix, true) }];
  } else if (q.prefix) {
    keys = [{ rib, key: parsePrefix(q.prefix, true) }];
  } else {
    const v4 = [...take(rib.prefixes(), limit)].sort((a, b) => a - b);
    const v6 = rib6 ? [...take(rib6.prefixes(), limit - v4.length)].sort(compare6) : [];
    keys = [...v4.map((key) => ({ rib, key })), ...v6.map((key) => ({ rib: rib6!, key }))];
  }
  return keys.map(({ rib: of, key }) => {
    const r = of.lookup(key);
    const exports = of.exportDecisions(key).map((d) => `to ${d.peer}: ${formatVerdict(d.verdict)}`);
    return {
      prefix: fmt(of, key),
      paths: r.paths.map((p) =>
        pathView(p.attrs.attrs, p.peer, p.best, { stale: p.stale, pathId: p.pathId, import: p.peer === null ? undefined : importText(of, p.peer, key, p.attrs) }),
      ),
      reason: r.best ? r.reason : undefined,
      kernel: kernelRoutes.get(key),
      ...(exports.length ? { exportFilters: exports } : {}),
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
