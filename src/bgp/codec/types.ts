/**
 * BGP-4 message model (RFC 4271 §4) as closed discriminated unions.
 *
 * This file is the contract between the codec and everything above it
 * (sessions, RIB, `agent decode`). The codec turns bytes into these values and
 * back; nothing here knows about sockets, timers or logging.
 *
 * Hot-path representation (see docs/ARCHITECTURE.md "Where the speed comes from"):
 * IPv4 prefixes are numbers, `address * 64 + length` (address as an unsigned
 * 32-bit integer), exact in a double and cheap as a Map key. IPv6 prefixes are
 * strings ("2001:db8::/64"); they are not on the Calico IPIP hot path.
 */

export type Afi = 1 | 2; // RFC 4760: 1 = IPv4, 2 = IPv6
export type Safi = number; // 1 = unicast; others are carried but not interpreted

export const AFI_IPV4 = 1 as const;
export const AFI_IPV6 = 2 as const;
export const SAFI_UNICAST = 1;

/** A list of IPv4 prefixes, as keys, with ADD-PATH path ids when negotiated (RFC 7911). */
export interface Ipv4Prefixes {
  /** address * 64 + length, host bits past `length` already zeroed. */
  keys: number[];
  /** Same length as `keys` when ADD-PATH is in use for this AFI/SAFI and direction, else null. */
  pathIds: number[] | null;
}

/** A list of IPv6 prefixes as "addr/len" strings (canonical form), with ADD-PATH ids. */
export interface Ipv6Prefixes {
  prefixes: string[];
  pathIds: number[] | null;
  /**
   * The same prefixes as src/bgp/prefix6.ts ids, set by decode (not
   * enumerable: JSON and equality see the text); absent on messages built
   * from JSON or by hand. Read it through `ipv6Keys` / `ipv6Count` (nlri.ts).
   */
  readonly keys?: number[];
}

// ---------------------------------------------------------------------------
// OPEN (RFC 4271 §4.2) and capabilities (RFC 5492)

export type Capability =
  | { code: 1; name: 'multiprotocol'; afi: number; safi: number } // RFC 4760
  | { code: 2; name: 'route-refresh' } // RFC 2918
  | { code: 6; name: 'extended-message' } // RFC 8654
  | {
      code: 64; // RFC 4724
      name: 'graceful-restart';
      restartState: boolean; // R bit
      notification: boolean; // N bit (RFC 8538)
      restartTime: number; // seconds, 12 bits
      families: { afi: number; safi: number; forwardingState: boolean }[];
    }
  | { code: 65; name: 'as4'; asn: number } // RFC 6793
  | {
      code: 69; // RFC 7911
      name: 'add-path';
      families: { afi: number; safi: number; sendReceive: 1 | 2 | 3 }[]; // 1 receive, 2 send, 3 both
    }
  | { code: 70; name: 'enhanced-route-refresh' } // RFC 7313
  | { code: 73; name: 'fqdn'; hostname: string; domain: string } // draft-walton-bgp-hostname-capability (BIRD, FRR)
  | { code: 128; name: 'route-refresh-old' } // pre-RFC Cisco code, sent by some speakers
  | { code: number; name: 'unknown'; data: Uint8Array }; // kept as bytes

export interface OpenMessage {
  type: 'OPEN';
  version: number; // 4
  /** The 2-octet "My Autonomous System" field as sent (AS_TRANS 23456 when the real AS is 4-octet). */
  myAs: number;
  holdTime: number;
  /** BGP Identifier as dotted quad. */
  bgpId: string;
  capabilities: Capability[];
  /** Non-capability optional parameters (RFC 4271 §4.2), kept as bytes. */
  otherParams?: { type: number; data: Uint8Array }[];
  /**
   * How many capabilities each Capabilities optional parameter held, when
   * the sender did not put them all in one (FRR and GoBGP send one per
   * parameter). Only for byte-exact re-encoding; absent means "all in one".
   */
  paramGrouping?: number[];
}

// ---------------------------------------------------------------------------
// UPDATE (RFC 4271 §4.3) and path attributes (§5)

export type Origin = 0 | 1 | 2; // IGP, EGP, INCOMPLETE

/** AS_PATH segment types: RFC 4271 §4.3 (1 AS_SET, 2 AS_SEQUENCE), RFC 5065 (3 CONFED_SEQUENCE, 4 CONFED_SET). */
export type AsPathSegmentType = 1 | 2 | 3 | 4;
export interface AsPathSegment {
  type: AsPathSegmentType;
  asns: number[];
}

export interface Aggregator {
  asn: number;
  address: string;
}

/** MP_REACH_NLRI (RFC 4760 §3). */
export type MpReach =
  | { afi: 1; safi: number; nextHops: string[]; nlri: Ipv4Prefixes }
  | { afi: 2; safi: number; nextHops: string[]; nlri: Ipv6Prefixes } // nextHops: [global] or [global, link-local]
  | { afi: number; safi: number; raw: Uint8Array }; // other families, carried as bytes

/** MP_UNREACH_NLRI (RFC 4760 §4). */
export type MpUnreach =
  | { afi: 1; safi: number; withdrawn: Ipv4Prefixes }
  | { afi: 2; safi: number; withdrawn: Ipv6Prefixes }
  | { afi: number; safi: number; raw: Uint8Array };

/** An attribute the codec does not interpret, passed on as received (partial bit set when re-sent, RFC 4271 §5). */
export interface UnknownAttribute {
  flags: number;
  code: number;
  data: Uint8Array;
}

/**
 * Decoded path attributes. Every field is optional; absence means the
 * attribute was not in the message. AS numbers are always 4-octet here: when
 * the session is 2-octet the codec has already merged AS4_PATH / AS4_AGGREGATOR
 * (RFC 6793 §4.2.3) unless `keepAs4` was asked for in the decode context.
 */
export interface PathAttributes {
  origin?: Origin; // 1
  asPath?: AsPathSegment[]; // 2
  nextHop?: string; // 3
  med?: number; // 4 MULTI_EXIT_DISC
  localPref?: number; // 5
  atomicAggregate?: true; // 6
  aggregator?: Aggregator; // 7
  communities?: number[]; // 8 RFC 1997, each as uint32 (high 16 bits ASN)
  originatorId?: string; // 9 RFC 4456
  clusterList?: string[]; // 10 RFC 4456
  mpReach?: MpReach; // 14
  mpUnreach?: MpUnreach; // 15
  extendedCommunities?: Uint8Array[]; // 16 RFC 4360, 8 bytes each
  as4Path?: AsPathSegment[]; // 17 (only seen when not merged)
  as4Aggregator?: Aggregator; // 18 (only seen when not merged)
  largeCommunities?: [number, number, number][]; // 32 RFC 8092
  unknown?: UnknownAttribute[];
}

export interface UpdateMessage {
  type: 'UPDATE';
  withdrawn: Ipv4Prefixes;
  attributes: PathAttributes;
  nlri: Ipv4Prefixes;
  /**
   * The raw path-attribute section exactly as received (or as encoded), for
   * interning: UPDATEs with byte-identical attributes share one attribute set.
   * Present on decode; ignored on encode.
   */
  attrBytes?: Uint8Array;
  /**
   * RFC 7606 treat-as-withdraw: set when an attribute error was found that
   * requires every NLRI of this UPDATE (classic and MP_REACH) to be handled
   * as withdrawn. The session keeps running; the reason is kept for status.
   */
  treatAsWithdraw?: { code: number; subcode: number; reason: string };
  /** RFC 7606 attribute-discard: names/codes of attributes dropped as malformed. */
  discarded?: { attributeCode: number; reason: string; code?: number; subcode?: number }[];
}

// ---------------------------------------------------------------------------
// NOTIFICATION (RFC 4271 §4.5), KEEPALIVE (§4.4), ROUTE-REFRESH (RFC 2918, RFC 7313)

export interface NotificationMessage {
  type: 'NOTIFICATION';
  code: number;
  subcode: number;
  data: Uint8Array;
}

export interface KeepaliveMessage {
  type: 'KEEPALIVE';
}

export interface RouteRefreshMessage {
  type: 'ROUTE-REFRESH';
  afi: number;
  /** RFC 7313: 0 normal request, 1 Beginning of Route Refresh, 2 End of Route Refresh. */
  subtype: number;
  safi: number;
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

export type MessageType = BgpMessage['type'];

/** Wire type codes (RFC 4271 §4.1, RFC 2918 §3). */
export const MESSAGE_TYPE_CODE: Record<MessageType, number> = {
  OPEN: 1,
  UPDATE: 2,
  NOTIFICATION: 3,
  KEEPALIVE: 4,
  'ROUTE-REFRESH': 5,
};

// ---------------------------------------------------------------------------
// Decode context: what was negotiated and changes how bytes are read.

export interface DecodeContext {
  /** RFC 6793: both sides sent the 4-octet AS capability; AS_PATH carries 4-octet ASNs. */
  as4: boolean;
  /**
   * RFC 7911: AFI/SAFI pairs for which NLRI in *this direction* carry a path id,
   * as `afi * 256 + safi` (e.g. 257 = IPv4 unicast).
   */
  addPath: ReadonlySet<number>;
  /** RFC 8654: messages up to 65535 bytes. */
  extendedMessage: boolean;
  /**
   * Keep AS4_PATH / AS4_AGGREGATOR as separate attributes instead of merging
   * them into AS_PATH / AGGREGATOR (for `agent decode` and fixtures).
   */
  keepAs4?: boolean;
}

export const familyKey = (afi: number, safi: number): number => afi * 256 + safi;

/** The context before OPEN negotiation: 2-octet AS, no ADD-PATH, 4096-byte messages. */
export const DEFAULT_CONTEXT: DecodeContext = Object.freeze({
  as4: false,
  addPath: new Set<number>(),
  extendedMessage: false,
});
