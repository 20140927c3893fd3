/**
 * Paths and the peers they come from.
 *
 * A `Path` is one route to one destination from one source (a peer, with an
 * ADD-PATH path id when RFC 7911 receive is negotiated, or this node for its
 * own blocks). The same object sits in the peer's Adj-RIB-In and, when import
 * accepted it, in the Loc-RIB entry of its prefix: one small object per path,
 * the prefix itself only a Map key (DESIGN.md "Where the speed comes from").
 * Paths are immutable once placed; a changed route is a new Path.
 */
import type { InternedAttrs } from './attr-set.js';
import { parseIpv4 } from '../prefix.js';

/** What the RIB needs to know about a peer (from PeerConfig plus the session). */
export interface RibPeer {
  name: string;
  /** Peer address (IPv4 dotted quad). */
  address: string;
  asNumber: number;
  /** This node reflects routes to the peer (Calico `rr client`, RFC 4456 §6). */
  rrClient: boolean;
  /** Calico `keepOriginalNextHop`: `next hop keep` towards an eBGP peer. */
  keepOriginalNextHop: boolean;
  /** Willing to send ADD-PATH (Calico `add paths on`); what is used is what peerUp says was negotiated. */
  addPathSend: boolean;
}

/** One source of paths: a peer, or this node (`local`). */
export class PeerState {
  address = '';
  addressNum = 0;
  asNumber = 0;
  ibgp = true;
  rrClient = false;
  keepOriginalNextHop = false;
  addPathSendConfigured = false;
  /** Export profile id: peers with equal ids get equal exports of any path (split horizon aside). */
  profile = 0;

  up = false;
  /** RFC 7911 negotiated for this session. */
  addPathSend = false;
  addPathReceive = false;
  routerId = '0.0.0.0';
  routerIdNum = 0;

  /** Adj-RIB-In: prefix key -> path, or paths by path id when ADD-PATH receive put several there. */
  adjIn = new Map<number, Path | Path[]>();
  /** RFC 4724 stale paths kept across a graceful restart, until refreshed, End-of-RIB or timeout. */
  stale: Map<number, Path | Path[]> | null = null;
  cancelStaleTimer: (() => void) | null = null;
  restartTime = 0;

  /** Paths held in Adj-RIB-In (stale included). */
  received = 0;
  /** Of those, accepted by import policy (so in the Loc-RIB). */
  accepted = 0;
  /** (prefix, path id) pairs in this peer's Adj-RIB-Out. */
  advertised = 0;

  constructor(
    readonly name: string,
    readonly index: number,
    readonly local: boolean,
  ) {}

  configure(p: RibPeer, localAs: number): void {
    this.address = p.address;
    this.addressNum = parseIpv4(p.address);
    this.asNumber = p.asNumber;
    this.ibgp = p.asNumber === localAs;
    this.rrClient = p.rrClient;
    this.keepOriginalNextHop = p.keepOriginalNextHop;
    this.addPathSendConfigured = p.addPathSend;
  }
}

export class Path {
  /** ADD-PATH id this node uses when it sends the path (stable while the path lives in its Loc-RIB entry). */
  outId = 0;
  constructor(
    readonly src: PeerState,
    /** Path id received (RFC 7911), 0 without ADD-PATH. */
    readonly pathId: number,
    readonly attrs: InternedAttrs,
    /** Import policy accepted it; rejected paths stay in Adj-RIB-In only. */
    readonly accepted: boolean,
  ) {}
}
