/**
 * Wire constants of BGP-4 (RFC 4271 §4, §6) and the extensions this codec
 * implements. Names follow the RFCs.
 */

export const HEADER_LENGTH = 19; // RFC 4271 §4.1: 16 marker + 2 length + 1 type
export const MIN_MESSAGE_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096; // RFC 4271 §4.1
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535; // RFC 8654 §4

// Message type codes (RFC 4271 §4.1, RFC 2918 §3).
export const MSG_OPEN = 1;
export const MSG_UPDATE = 2;
export const MSG_NOTIFICATION = 3;
export const MSG_KEEPALIVE = 4;
export const MSG_ROUTE_REFRESH = 5;

/** Minimum total length per message type (RFC 4271 §4.2-4.5, RFC 2918 §3). */
export const MIN_LENGTH_BY_TYPE: readonly number[] = [0, 29, 23, 21, 19, 23];

/** RFC 6793 §9: the 2-octet placeholder for a 4-octet AS. */
export const AS_TRANS = 23456;

// Path attribute flags (RFC 4271 §4.3).
export const FLAG_OPTIONAL = 0x80;
export const FLAG_TRANSITIVE = 0x40;
export const FLAG_PARTIAL = 0x20;
export const FLAG_EXTENDED_LENGTH = 0x10;

// Path attribute type codes.
export const ATTR_ORIGIN = 1;
export const ATTR_AS_PATH = 2;
export const ATTR_NEXT_HOP = 3;
export const ATTR_MED = 4;
export const ATTR_LOCAL_PREF = 5;
export const ATTR_ATOMIC_AGGREGATE = 6;
export const ATTR_AGGREGATOR = 7;
export const ATTR_COMMUNITIES = 8; // RFC 1997
export const ATTR_ORIGINATOR_ID = 9; // RFC 4456
export const ATTR_CLUSTER_LIST = 10; // RFC 4456
export const ATTR_MP_REACH_NLRI = 14; // RFC 4760
export const ATTR_MP_UNREACH_NLRI = 15; // RFC 4760
export const ATTR_EXTENDED_COMMUNITIES = 16; // RFC 4360
export const ATTR_AS4_PATH = 17; // RFC 6793
export const ATTR_AS4_AGGREGATOR = 18; // RFC 6793
export const ATTR_LARGE_COMMUNITIES = 32; // RFC 8092

// AS_PATH segment types (RFC 4271 §4.3, RFC 5065 §3).
export const AS_SET = 1;
export const AS_SEQUENCE = 2;
export const AS_CONFED_SEQUENCE = 3;
export const AS_CONFED_SET = 4;

// OPEN optional parameter types (RFC 5492 §4, RFC 9072 §2).
export const PARAM_CAPABILITIES = 2;
export const PARAM_EXTENDED_LENGTH = 255;

// NOTIFICATION error codes (RFC 4271 §4.5, RFC 7313 §5).
export const ERR_HEADER = 1;
export const ERR_OPEN = 2;
export const ERR_UPDATE = 3;
export const ERR_HOLD_TIMER = 4;
export const ERR_FSM = 5;
export const ERR_CEASE = 6;
export const ERR_ROUTE_REFRESH = 7;

// Message Header Error subcodes (RFC 4271 §6.1).
export const HEADER_NOT_SYNCHRONIZED = 1;
export const HEADER_BAD_LENGTH = 2;
export const HEADER_BAD_TYPE = 3;

// OPEN Message Error subcodes (RFC 4271 §6.2, RFC 5492 §5).
export const OPEN_UNSUPPORTED_VERSION = 1;
export const OPEN_BAD_PEER_AS = 2;
export const OPEN_BAD_BGP_ID = 3;
export const OPEN_UNSUPPORTED_PARAMETER = 4;
export const OPEN_UNACCEPTABLE_HOLD_TIME = 6;
export const OPEN_UNSUPPORTED_CAPABILITY = 7;

// UPDATE Message Error subcodes (RFC 4271 §6.3).
export const UPDATE_MALFORMED_ATTRIBUTE_LIST = 1;
export const UPDATE_UNRECOGNIZED_WELL_KNOWN = 2;
export const UPDATE_MISSING_WELL_KNOWN = 3;
export const UPDATE_ATTRIBUTE_FLAGS = 4;
export const UPDATE_ATTRIBUTE_LENGTH = 5;
export const UPDATE_INVALID_ORIGIN = 6;
export const UPDATE_INVALID_NEXT_HOP = 8;
export const UPDATE_OPTIONAL_ATTRIBUTE = 9;
export const UPDATE_INVALID_NETWORK_FIELD = 10;
export const UPDATE_MALFORMED_AS_PATH = 11;

// Cease subcodes (RFC 4486 §4, RFC 8538 §5, RFC 9384 §3).
export const CEASE_MAX_PREFIXES = 1;
export const CEASE_ADMIN_SHUTDOWN = 2;
export const CEASE_PEER_DECONFIGURED = 3;
export const CEASE_ADMIN_RESET = 4;
export const CEASE_CONNECTION_REJECTED = 5;
export const CEASE_OTHER_CONFIG_CHANGE = 6;
export const CEASE_CONNECTION_COLLISION = 7;
export const CEASE_OUT_OF_RESOURCES = 8;
export const CEASE_HARD_RESET = 9;
export const CEASE_BFD_DOWN = 10;

// ROUTE-REFRESH Message Error subcode (RFC 7313 §5).
export const ROUTE_REFRESH_INVALID_LENGTH = 1;

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
