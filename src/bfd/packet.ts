/**
 * BFD Control packets (RFC 5880 §4.1), a pure codec: bytes in, a typed packet
 * or a typed discard reason out, and the reverse. No sockets, no timers, no
 * logger; decode never throws (a malformed packet is a discard, §6.8.6).
 *
 * The mandatory section is 24 bytes:
 *
 *    0                   1                   2                   3
 *   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
 *   |                       My Discriminator                        |
 *   |                      Your Discriminator                       |
 *   |                    Desired Min TX Interval                    |
 *   |                   Required Min RX Interval                    |
 *   |                 Required Min Echo RX Interval                 |
 *
 * Intervals are in microseconds on the wire and here.
 */

export const BFD_VERSION = 1;
/** RFC 5881 §4: single-hop control packets go to UDP port 3784. */
export const BFD_CONTROL_PORT = 3784;
/** RFC 5881 §4: the source port MUST be in 49152..65535. */
export const BFD_SOURCE_PORT_MIN = 49152;
export const BFD_SOURCE_PORT_MAX = 65535;
/** RFC 5881 §5: sent with TTL 255; anything else received is discarded (GTSM-style). */
export const BFD_TTL = 255;
export const BFD_HEADER_LENGTH = 24;

/** RFC 5880 §4.1 State (Sta) field. */
export type BfdState = 'AdminDown' | 'Down' | 'Init' | 'Up';
export const STATE_CODES: readonly BfdState[] = ['AdminDown', 'Down', 'Init', 'Up'];

/** RFC 5880 §4.1 Diagnostic codes 0-8. */
export type BfdDiag =
  | 'none'
  | 'control-detection-time-expired'
  | 'echo-function-failed'
  | 'neighbor-signaled-session-down'
  | 'forwarding-plane-reset'
  | 'path-down'
  | 'concatenated-path-down'
  | 'administratively-down'
  | 'reverse-concatenated-path-down';
export const DIAG_CODES: readonly BfdDiag[] = [
  'none',
  'control-detection-time-expired',
  'echo-function-failed',
  'neighbor-signaled-session-down',
  'forwarding-plane-reset',
  'path-down',
  'concatenated-path-down',
  'administratively-down',
  'reverse-concatenated-path-down',
];

/** The diagnostic in an operator's words (status, logs). */
export function diagWords(diag: BfdDiag | number): string {
  const d = typeof diag === 'number' ? DIAG_CODES[diag] : diag;
  switch (d) {
    case 'none':
      return 'no diagnostic';
    case 'control-detection-time-expired':
      return 'no BFD packet from the peer within the detection time';
    case 'echo-function-failed':
      return 'echo function failed';
    case 'neighbor-signaled-session-down':
      return 'the peer said the session is down';
    case 'forwarding-plane-reset':
      return 'the forwarding plane was reset';
    case 'path-down':
      return 'path down';
    case 'concatenated-path-down':
      return 'concatenated path down';
    case 'administratively-down':
      return 'administratively down';
    case 'reverse-concatenated-path-down':
      return 'reverse concatenated path down';
    default:
      return `diagnostic ${String(diag)} (reserved)`;
  }
}

export interface ControlPacket {
  version: number;
  /** Diagnostic code (0-31 on the wire; 9-31 are reserved but legal to receive). */
  diag: number;
  state: BfdState;
  poll: boolean;
  final: boolean;
  /** C: Control Plane Independent. */
  controlPlaneIndependent: boolean;
  /** A: Authentication Present. */
  authPresent: boolean;
  /** D: Demand. */
  demand: boolean;
  /** M: Multipoint (reserved, must be zero). */
  multipoint: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds. */
  desiredMinTxInterval: number;
  /** Microseconds. */
  requiredMinRxInterval: number;
  /** Microseconds. */
  requiredMinEchoRxInterval: number;
}

/** Why a received packet was discarded (RFC 5880 §6.8.6 and RFC 5881 §5, in their order). */
export type DiscardReason =
  | 'bad-ttl'
  | 'too-short'
  | 'bad-version'
  | 'bad-length'
  | 'length-exceeds-payload'
  | 'zero-detect-mult'
  | 'multipoint'
  | 'zero-my-discriminator'
  | 'zero-your-discriminator'
  | 'authentication-not-configured'
  | 'unknown-discriminator'
  | 'unknown-source'
  | 'poll-and-final';

export type DecodeResult = { ok: true; packet: ControlPacket } | { ok: false; reason: DiscardReason };

/**
 * Decode and apply every reception check of RFC 5880 §6.8.6 that needs no
 * session, plus RFC 5881 §5's TTL rule when `ttl` is known. Session lookup
 * (Your Discriminator not ours) is the caller's.
 */
export function decodeControl(bytes: Uint8Array, opts: { ttl?: number } = {}): DecodeResult {
  // RFC 5881 §5: "the received TTL/Hop Limit MUST be checked to be 255" (no authentication in use).
  if (opts.ttl !== undefined && opts.ttl !== BFD_TTL) return { ok: false, reason: 'bad-ttl' };
  if (bytes.length < BFD_HEADER_LENGTH) return { ok: false, reason: 'too-short' };
  const b0 = bytes[0];
  const b1 = bytes[1];
  const version = b0 >> 5;
  // §6.8.6: "If the version number is not correct (1), the packet MUST be discarded."
  if (version !== BFD_VERSION) return { ok: false, reason: 'bad-version' };
  const authPresent = (b1 & 0x04) !== 0;
  const length = bytes[3];
  // §6.8.6: Length less than the minimum (24, or 26 with the A bit) -> discard.
  if (length < (authPresent ? 26 : BFD_HEADER_LENGTH)) return { ok: false, reason: 'bad-length' };
  // §6.8.6: Length greater than the payload of the encapsulating protocol -> discard.
  if (length > bytes.length) return { ok: false, reason: 'length-exceeds-payload' };
  const detectMult = bytes[2];
  if (detectMult === 0) return { ok: false, reason: 'zero-detect-mult' };
  const multipoint = (b1 & 0x01) !== 0;
  if (multipoint) return { ok: false, reason: 'multipoint' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const myDiscriminator = view.getUint32(4);
  const yourDiscriminator = view.getUint32(8);
  if (myDiscriminator === 0) return { ok: false, reason: 'zero-my-discriminator' };
  const state = STATE_CODES[(b1 >> 6) & 0x03];
  // §6.8.6: Your Discriminator zero while State is neither Down nor AdminDown -> discard.
  if (yourDiscriminator === 0 && state !== 'Down' && state !== 'AdminDown') return { ok: false, reason: 'zero-your-discriminator' };
  // §6.8.6: A bit set and bfd.AuthType zero -> discard. This implementation has no authentication (as Calico's BIRD config).
  if (authPresent) return { ok: false, reason: 'authentication-not-configured' };
  const poll = (b1 & 0x20) !== 0;
  const final = (b1 & 0x10) !== 0;
  // §6.8.1 / §4.1: "A BFD Control packet MUST NOT have both the Poll (P) and Final (F) bits set."
  if (poll && final) return { ok: false, reason: 'poll-and-final' };
  return {
    ok: true,
    packet: {
      version,
      diag: b0 & 0x1f,
      state,
      poll,
      final,
      controlPlaneIndependent: (b1 & 0x08) !== 0,
      authPresent,
      demand: (b1 & 0x02) !== 0,
      multipoint,
      detectMult,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxInterval: view.getUint32(12),
      requiredMinRxInterval: view.getUint32(16),
      requiredMinEchoRxInterval: view.getUint32(20),
    },
  };
}

/** Encode the mandatory section (no authentication section: this speaker never sets A). */
export function encodeControl(p: ControlPacket): Uint8Array {
  const out = new Uint8Array(BFD_HEADER_LENGTH);
  const view = new DataView(out.buffer);
  out[0] = ((p.version & 0x07) << 5) | (p.diag & 0x1f);
  out[1] =
    (STATE_CODES.indexOf(p.state) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.controlPlaneIndependent ? 0x08 : 0) |
    (p.authPresent ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  out[2] = p.detectMult & 0xff;
  out[3] = BFD_HEADER_LENGTH;
  view.setUint32(4, p.myDiscriminator >>> 0);
  view.setUint32(8, p.yourDiscriminator >>> 0);
  view.setUint32(12, p.desiredMinTxInterval >>> 0);
  view.setUint32(16, p.requiredMinRxInterval >>> 0);
  view.setUint32(20, p.requiredMinEchoRxInterval >>> 0);
  return out;
}

/** A packet with every flag clear, for building packets in code and tests. */
export function controlPacket(fields: Partial<ControlPacket> & Pick<ControlPacket, 'state' | 'myDiscriminator'>): ControlPacket {
  return {
    version: BFD_VERSION,
    diag: 0,
    poll: false,
    final: false,
    controlPlaneIndependent: false,
    authPresent: false,
    demand: false,
    multipoint: false,
    detectMult: 3,
    yourDiscriminator: 0,
    desiredMinTxInterval: 1_000_000,
    requiredMinRxInterval: 1_000_000,
    requiredMinEchoRxInterval: 0,
    ...fields,
  };
}
