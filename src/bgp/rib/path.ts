/**
 * Paths and the peers they come from.
 *
 * A `Path` is a route from one source (a peer, with an ADD-PATH path id when
 * RFC 7911 receive is negotiated, or this node for its own blocks) with one
 * attribute set. Nothing in it is per prefix, so every prefix of an UPDATE
 * (and of the next UPDATEs with the same attributes) shares one Path object:
 * the destination table holds, per prefix and path, only a 32-bit element
 * naming the Path by its registry id (docs/ARCHITECTURE.md "Where the speed comes
 * from"). Paths are immutable but for that id.
 */
import type { AttrSet } from '../route.js';
import type { BgpFilter } from '../../calico/bgp-filter.js';
import type { InternedAttrs } from './attr-set.js';
import { parseIpv4 } from '../prefix.js';
import { parseIpv6 } from '../codec/ipv6.js';

/**
 * A peer address as a number for the last best-path step (RFC 4271
 * §9.1.2.2 g, lowest neighbour address). IPv4: the address. IPv6: its low
 * 53 bits (a double holds no more), which orders exactly the peers of one
 * /75 and so every Calico node subnet.
 */
export function addressNumber(address: string): number {
  if (!address.includes(':')) return parseIpv4(address);
  const b = parseIpv6(address);
  const w2 = ((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]) >>> 0;
  const w3 = ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0;
  return (w2 & 0x1fffff) * 2 ** 32 + w3;
}

/** What the RIB needs to know about a peer (from PeerConfig plus the session). */
export interface RibPeer {
  name: string;
  /** Peer address (IPv4 dotted quad). */
  address: string;
  asNumber: number;
  /** This node reflects routes to the peer (Calico `rr client`, RFC 4456 §6). */
  rrClient: boolean;
  /** Calico `keepOriginalNextHop` / nextHopMode Keep: `next hop keep`. */
  keepOriginalNextHop: boolean;
  /** Calico nextHopMode Self: `next hop self`, towards iBGP peers too. */
  nextHopSelf?: boolean;
  /** Calico localASNumber: BIRD's `local as` for this session; unset = the RIB's AS. */
  localAs?: number;
  /** Calico numAllowedLocalASNumbers: BIRD's `allow local as N`. */
  allowLocalAs?: number;
  /** Willing to send ADD-PATH (Calico `add paths on`); what is used is what peerUp says was negotiated. */
  addPathSend: boolean;
  /** BGPPeer spec.filters, resolved (src/calico/bgp-filter.ts); absent or empty = Calico's defaults. */
  filters?: readonly BgpFilter[];
}

/** One source of paths: a peer, or this node (`local`). */
export class PeerState {
  address = '';
  addressNum = 0;
  asNumber = 0;
  ibgp = true;
  rrClient = false;
  keepOriginalNextHop = false;
  nextHopSelf = false;
  /** The AS this session speaks (BIRD `local as`): what is prepended towards it, and what a loop is from it. */
  localAs = 0;
  /** How many times our AS may appear in a received AS_PATH before it is a loop (BIRD `allow local as`). */
  allowLocalAs = 0;
  addPathSendConfigured = false;
  /** Export profile id: peers with equal ids get equal exports of any path (split horizon aside). */
  profile = 0;
  /** The peer's BGPFilters, as configured (for comparing a new configuration). */
  filters: readonly BgpFilter[] = [];
  /** The filters when some has rules for this RIB's family and the direction, else null (the fast path: no filter call at all). */
  importFilters: readonly BgpFilter[] | null = null;
  exportFilters: readonly BgpFilter[] | null = null;
  /** The export filters as text, part of the export profile (peers with different ones never share an export). */
  exportFiltersKey = '';

  up = false;
  /** RFC 7911 negotiated for this session. */
  addPathSend = false;
  addPathReceive = false;
  routerId = '0.0.0.0';
  routerIdNum = 0;

  /**
   * RFC 4724 stale paths kept across a graceful restart, until refreshed,
   * End-of-RIB or timeout (the paths themselves sit in the destination
   * table with their stale bit set).
   */
  staleCount = 0;
  cancelStaleTimer: (() => void) | null = null;
  restartTime = 0;

  /** Paths held in Adj-RIB-In (stale included). */
  received = 0;
  /** Of those, accepted by import policy (so in the Loc-RIB). */
  accepted = 0;
  /** (prefix, path id) pairs in this peer's Adj-RIB-Out. */
  advertised = 0;

  /** The shared Path for the last attribute set seen, per received path id. */
  private lastSet: InternedAttrs | null = null;
  private lastPaths = new Map<number, Path>();
  private lastPath: Path | null = null;
  /** Received path id -> small number, for stable outgoing path ids (RFC 7911). */
  private readonly pathIdSlots = new Map<number, number>();

  constructor(
    readonly name: string,
    readonly index: number,
    readonly local: boolean,
  ) {}

  /** The (shared) path for `set` under received path id `pathId`. */
  pathFor(set: InternedAttrs, pathId: number, accepted: boolean): Path {
    // Consecutive prefixes of an UPDATE ask for the same path: answer without a Map lookup.
    const last = this.lastPath;
    if (last !== null && last.attrs === set && last.pathId === pathId && last.accepted === accepted) return last;
    if (set !== this.lastSet) {
      this.lastSet = set;
      this.lastPaths = new Map();
    }
    // A BGPFilter decides per prefix, so one set and path id can give an accepted and a rejected path.
    const k = accepted ? pathId * 2 + 1 : pathId * 2;
    let p = this.lastPaths.get(k);
    if (p === undefined) {
      p = new Path(this, pathId, set, accepted, this.outIdOf(pathId));
      this.lastPaths.set(k, p);
    }
    this.lastPath = p;
    return p;
  }

  /**
   * The path id we send for this source's path `pathId`: the source's index
   * in the low 16 bits and a per-source slot for the received id above, so it
   * is stable while the path lives and distinct among a prefix's paths.
   */
  private outIdOf(pathId: number): number {
    let slot = 0;
    if (pathId !== 0) {
      const s = this.pathIdSlots.get(pathId);
      if (s !== undefined) slot = s;
      else {
        slot = (this.pathIdSlots.size + 1) & 0xffff;
        this.pathIdSlots.set(pathId, slot);
      }
    }
    return slot * 65536 + (this.index & 0xffff) + 1;
  }

  configure(p: RibPeer, localAs: number): void {
    this.address = p.address;
    this.addressNum = addressNumber(p.address);
    this.asNumber = p.asNumber;
    this.localAs = p.localAs ?? localAs;
    this.ibgp = p.asNumber === this.localAs;
    this.rrClient = p.rrClient;
    this.keepOriginalNextHop = p.keepOriginalNextHop;
    this.nextHopSelf = p.nextHopSelf ?? false;
    this.allowLocalAs = p.allowLocalAs ?? 0;
    this.addPathSendConfigured = p.addPathSend;
  }
}

/** What a best-path listener is told about a path (shared by every prefix the path is best for). */
export interface BestInfo {
  nextHop: string;
  peer: string | null;
  attrs: AttrSet;
}

export class Path {
  /** Registry id while some destination holds the path (0 when none does); elements are `rid * 2 + stale`. */
  rid = 0;
  /** Cached BestInfo (built on the first best-path change that names this path). */
  bestInfo: BestInfo | null = null;

  constructor(
    readonly src: PeerState,
    /** Path id received (RFC 7911), 0 without ADD-PATH. */
    readonly pathId: number,
    readonly attrs: InternedAttrs,
    /** Import policy accepted it; rejected paths stay in Adj-RIB-In only. */
    readonly accepted: boolean,
    /** ADD-PATH id this node uses when it sends the path. */
    readonly outId: number = 0,
  ) {}
}
