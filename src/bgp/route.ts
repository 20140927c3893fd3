/**
 * What the RIB hands a session to send, and what a session reports upward.
 * The contract RIB <-> sessions (docs/ARCHITECTURE.md "Contracts between the parts").
 */
import type { PathAttributes, UpdateMessage } from './codec/types.js';
import type { PrefixKey } from './prefix.js';

/**
 * An interned, immutable set of path attributes. Every prefix that shares
 * the same attributes points at the same AttrSet, so memory per route is a
 * pointer, and outgoing UPDATEs can be grouped by `id`.
 */
export interface AttrSet {
  readonly id: number;
  readonly attrs: PathAttributes;
}

/** One change of a peer's Adj-RIB-Out: announce with `attrs`, or withdraw when `attrs` is null. */
export interface OutChange {
  key: PrefixKey;
  /** ADD-PATH path id (RFC 7911); 0 when ADD-PATH is not used to this peer. */
  pathId: number;
  attrs: AttrSet | null;
}

/** Events a session reports to the RIB / agent. */
export type SessionEvent =
  | { type: 'established'; peer: string }
  | { type: 'update'; peer: string; update: UpdateMessage }
  | { type: 'end-of-rib'; peer: string; afi: number; safi: number }
  | { type: 'route-refresh'; peer: string; afi: number; safi: number }
  /** `graceful`: the peer negotiated graceful restart (RFC 4724) and the drop was not a NOTIFICATION, so keep its routes stale for `restartTime` seconds. */
  | { type: 'down'; peer: string; graceful: boolean; restartTime: number; reason: string };
