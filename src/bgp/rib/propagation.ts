/**
 * Which paths come in and which go out, and with what attributes:
 * import loop checks (RFC 4271 §9.1.2, RFC 4456 §8) and the export rules of
 * RFC 4271 §9.2 / §5.1 (iBGP split horizon, eBGP AS prepend, next hop self,
 * LOCAL_PREF and MED scope) and route reflection (RFC 4456 §6, §8).
 *
 * These are pure functions of the path's attributes, its source and the
 * target peer; the RIB caches their results per (attribute set, source,
 * target export profile), so they run once per distinct attribute set, not
 * once per prefix.
 */
import type { AsPathSegment, PathAttributes } from '../codec/types.js';
import type { InternedAttrs } from './attr-set.js';
import type { PeerState } from './path.js';

export interface LocalSpeaker {
  localAs: number;
  routerId: string;
  /** Set when this node is a route reflector (Calico routeReflectorClusterID). */
  clusterId?: string;
  /** Next hop for our own routes and for next-hop-self. */
  localAddress: string;
}

/** Why import refused a path, or null when it is accepted (calico-node imports all else). */
export function importRejection(attrs: PathAttributes, from: PeerState, me: LocalSpeaker): string | null {
  // RFC 4271 §9.1.2: a route whose AS_PATH holds our own AS is a loop (eBGP).
  // The AS is the session's (BIRD's `local as`); BIRD's `allow local as N`
  // (Calico numAllowedLocalASNumbers) lets it appear up to N times.
  if (!from.ibgp && attrs.asPath) {
    const own = from.localAs || me.localAs;
    let seen = 0;
    for (const seg of attrs.asPath) for (const asn of seg.asns) if (asn === own) seen++;
    if (seen > from.allowLocalAs) return 'as-path loop';
  }
  // RFC 4456 §8: our own route reflected back to us.
  if (attrs.originatorId !== undefined && attrs.originatorId === me.routerId) return 'originator-id is ours';
  // RFC 4456 §8: a reflection loop inside the cluster.
  if (me.clusterId !== undefined && attrs.clusterList?.includes(me.clusterId)) return 'cluster-list loop';
  return null;
}

/**
 * The attributes `to` should receive for a path from `src`, or null when the
 * path must not be sent there. Split horizon (never back to `src`) is the
 * caller's check, since this result is cached per source.
 */
export function exportAttributes(
  set: InternedAttrs,
  src: PeerState,
  to: PeerState,
  me: LocalSpeaker,
): PathAttributes | null {
  const a = set.attrs;
  if (!to.ibgp) return toExternal(a, to, me);
  if (src.local) return a; // our own route: already carries LOCAL_PREF and NEXT_HOP for iBGP
  // Towards iBGP the next hop is passed on unchanged (BIRD's default for
  // interior peers), unless the peer has `next hop self` (nextHopMode Self).
  const self = to.nextHopSelf ? { nextHop: me.localAddress } : null;
  if (!src.ibgp) {
    // eBGP-learned into iBGP: LOCAL_PREF is ours to set (RFC 4271 §5.1.5).
    return strip({ ...a, localPref: 100, ...self });
  }
  // iBGP-learned to an iBGP peer: only a route reflector passes it on (RFC 4271 §9.2, RFC 4456 §6).
  if (me.clusterId === undefined) return null;
  // From a client: to all clients and non-clients. From a non-client: to clients only.
  if (!src.rrClient && !to.rrClient) return null;
  return strip({
    ...a,
    // RFC 4456 §8: ORIGINATOR_ID names the router that brought the route into the AS.
    originatorId: a.originatorId ?? src.routerId,
    clusterList: [me.clusterId, ...(a.clusterList ?? [])],
    ...self,
  });
}

/**
 * Towards another AS: prepend the session's AS (BIRD `local as`, so the peer
 * sees only that one), next hop self unless kept (`next hop keep`; `next hop
 * self` wins), no LOCAL_PREF, MED, or reflection attributes.
 */
function toExternal(a: PathAttributes, to: PeerState, me: LocalSpeaker): PathAttributes {
  const out: PathAttributes = { ...a };
  out.asPath = prepend(a.asPath ?? [], to.localAs || me.localAs);
  if (to.nextHopSelf || !to.keepOriginalNextHop || out.nextHop === undefined) out.nextHop = me.localAddress;
  delete out.localPref; // RFC 4271 §5.1.5
  delete out.med; // RFC 4271 §5.1.4: a MED is not propagated to other neighbouring ASes
  delete out.originatorId; // RFC 4456: meaningful only inside the AS (non-transitive)
  delete out.clusterList;
  return strip(out);
}

/** RFC 4271 §5.1.2: prepend to a leading AS_SEQUENCE, or start one; confederation segments leave the confederation. */
export function prepend(path: AsPathSegment[], asn: number): AsPathSegment[] {
  const segs = path.filter((s) => s.type === 1 || s.type === 2);
  const first = segs[0];
  if (first && first.type === 2 && first.asns.length < 255) {
    return [{ type: 2, asns: [asn, ...first.asns] }, ...segs.slice(1)];
  }
  return [{ type: 2, asns: [asn] }, ...segs];
}

/**
 * What never goes out as received: MP_REACH/MP_UNREACH (the session carries
 * the NLRI), unmerged AS4_* (the codec rebuilds them), and unknown
 * attributes that are not optional transitive (RFC 4271 §5: those are
 * passed on with the Partial bit set).
 */
function strip(a: PathAttributes): PathAttributes {
  delete a.mpReach;
  delete a.mpUnreach;
  delete a.as4Path;
  delete a.as4Aggregator;
  if (a.unknown) {
    const kept = a.unknown.filter((u) => (u.flags & 0xc0) === 0xc0).map((u) => ({ ...u, flags: u.flags | 0x20 }));
    if (kept.length > 0) a.unknown = kept;
    else delete a.unknown;
  }
  return a;
}
