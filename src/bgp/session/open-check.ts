/**
 * OPEN message checks (RFC 4271 §6.2) and the words an operator reads when
 * one fails. Pure: the peer turns a failure into a BGPOpenMsgErr event.
 */
import { ERR_OPEN, OPEN_BAD_BGP_ID, OPEN_BAD_PEER_AS, OPEN_UNACCEPTABLE_HOLD_TIME, OPEN_UNSUPPORTED_VERSION } from '../codec/constants.js';
import type { OpenMessage } from '../codec/types.js';
import type { Notice } from '../fsm/types.js';
import { parseIpv4 } from '../prefix.js';

export interface OpenExpectation {
  /** The AS configured for the peer (PeerConfig.asNumber). */
  peerAs: number;
  localAs: number;
  /** Our BGP identifier, dotted quad. */
  localId: string;
}

export interface OpenFailure {
  notice: Notice;
  /** Operator wording of what was wrong, e.g. "peer says AS 64513, configured 64512". */
  detail: string;
}

/** The AS the peer claims: the 4-octet AS capability if present (RFC 6793 §4.1), else "My Autonomous System". */
export function claimedAs(open: OpenMessage): number {
  for (const cap of open.capabilities) if (cap.name === 'as4') return (cap as { asn: number }).asn;
  return open.myAs;
}

const u16 = (n: number) => new Uint8Array([(n >> 8) & 255, n & 255]);

export function checkOpen(open: OpenMessage, expect: OpenExpectation): OpenFailure | null {
  if (open.version !== 4) {
    // RFC 4271 §6.2: data = the largest supported version below the bid, as 2 octets.
    return {
      notice: { code: ERR_OPEN, subcode: OPEN_UNSUPPORTED_VERSION, data: u16(4) },
      detail: `peer speaks BGP version ${open.version}, we speak 4`,
    };
  }
  const remoteAs = claimedAs(open);
  if (remoteAs !== expect.peerAs) {
    return {
      notice: { code: ERR_OPEN, subcode: OPEN_BAD_PEER_AS, data: u16(open.myAs) },
      detail: `peer says AS ${remoteAs}, configured ${expect.peerAs}`,
    };
  }
  let id: number;
  try {
    id = parseIpv4(open.bgpId);
  } catch {
    id = 0;
  }
  const ibgp = remoteAs === expect.localAs;
  // RFC 4271 §6.2 (0.0.0.0 is not a valid unicast host address); RFC 6286 §2.2: within an AS ids must differ.
  if (id === 0 || (ibgp && open.bgpId === expect.localId)) {
    return {
      notice: { code: ERR_OPEN, subcode: OPEN_BAD_BGP_ID, data: new Uint8Array(0) },
      detail: id === 0 ? `peer's BGP identifier ${open.bgpId} is invalid` : `peer's BGP identifier ${open.bgpId} equals ours`,
    };
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    // RFC 4271 §4.2: hold time must be 0 or at least 3 seconds.
    return {
      notice: { code: ERR_OPEN, subcode: OPEN_UNACCEPTABLE_HOLD_TIME, data: new Uint8Array(0) },
      detail: `peer offers hold time ${open.holdTime} s (must be 0 or at least 3)`,
    };
  }
  return null;
}

/** Hold time to use (RFC 4271 §4.2): the smaller of ours and the peer's. */
export function negotiatedHoldTime(local: number, remote: number): number {
  return Math.min(local, remote);
}
