/**
 * Codec errors and their NOTIFICATIONs (RFC 4271 §4.5, §6; RFC 7606 §2).
 *
 * Every decode failure is a BgpError raised where it was found, carrying the
 * NOTIFICATION code, subcode and data to send, and for UPDATE attribute
 * errors the RFC 7606 action. `notificationFor` is the one place errors turn
 * into NOTIFICATION messages.
 */
import { EMPTY_BYTES } from './constants.js';
import type { NotificationMessage } from './types.js';

/** RFC 7606 §2 approaches, strongest first: session-reset > treat-as-withdraw > attribute-discard. */
export type ErrorAction = 'treat-as-withdraw' | 'attribute-discard' | 'session-reset';

const ACTION_RANK: Record<ErrorAction, number> = {
  'attribute-discard': 1,
  'treat-as-withdraw': 2,
  'session-reset': 3,
};

/** True when `a` is a stronger RFC 7606 approach than `b` (§3 (f): the strongest wins). */
export function strongerAction(a: ErrorAction, b: ErrorAction | undefined): boolean {
  return b === undefined || ACTION_RANK[a] > ACTION_RANK[b];
}

export class BgpError extends Error {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  readonly action?: ErrorAction;
  /** The explanation without the NOTIFICATION name. */
  readonly detail?: string;

  /**
   * @param data   NOTIFICATION data as RFC 4271 §6 asks for this error (e.g. the bad length, the attribute).
   * @param detail a human explanation appended to the NOTIFICATION name.
   * @param action RFC 7606 approach for UPDATE errors; absent means session reset.
   */
  constructor(code: number, subcode: number, data: Uint8Array = EMPTY_BYTES, detail?: string, action?: ErrorAction) {
    const name = notificationName(code, subcode);
    super(detail ? `${name}: ${detail}` : name);
    this.name = 'BgpError';
    this.code = code;
    this.subcode = subcode;
    this.data = data;
    if (detail !== undefined) this.detail = detail;
    if (action !== undefined) this.action = action;
  }
}

/** The one place a codec error becomes the NOTIFICATION that answers it (RFC 4271 §6). */
export function notificationFor(err: BgpError): NotificationMessage {
  return { type: 'NOTIFICATION', code: err.code, subcode: err.subcode, data: err.data };
}

const CODE_NAMES: Record<number, string> = {
  1: 'Message Header Error',
  2: 'OPEN Message Error',
  3: 'UPDATE Message Error',
  4: 'Hold Timer Expired',
  5: 'Finite State Machine Error',
  6: 'Cease',
  7: 'ROUTE-REFRESH Message Error',
};

const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  // RFC 4271 §6.1
  1: { 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  // RFC 4271 §6.2, RFC 5492 §5, RFC 9234 §4.2
  2: {
    1: 'Unsupported Version Number',
    2: 'Bad Peer AS',
    3: 'Bad BGP Identifier',
    4: 'Unsupported Optional Parameter',
    5: 'Authentication Failure (deprecated)',
    6: 'Unacceptable Hold Time',
    7: 'Unsupported Capability',
    11: 'Role Mismatch',
  },
  // RFC 4271 §6.3
  3: {
    1: 'Malformed Attribute List',
    2: 'Unrecognized Well-known Attribute',
    3: 'Missing Well-known Attribute',
    4: 'Attribute Flags Error',
    5: 'Attribute Length Error',
    6: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop (deprecated)',
    8: 'Invalid NEXT_HOP Attribute',
    9: 'Optional Attribute Error',
    10: 'Invalid Network Field',
    11: 'Malformed AS_PATH',
  },
  // RFC 6608 §3
  5: {
    1: 'Receive Unexpected Message in OpenSent State',
    2: 'Receive Unexpected Message in OpenConfirm State',
    3: 'Receive Unexpected Message in Established State',
  },
  // RFC 4486 §4, RFC 8538 §5 (Hard Reset), RFC 9384 (BFD Down)
  6: {
    1: 'Maximum Number of Prefixes Reached',
    2: 'Administrative Shutdown',
    3: 'Peer De-configured',
    4: 'Administrative Reset',
    5: 'Connection Rejected',
    6: 'Other Configuration Change',
    7: 'Connection Collision Resolution',
    8: 'Out of Resources',
    9: 'Hard Reset',
    10: 'BFD Down',
  },
  // RFC 7313 §5
  7: { 1: 'Invalid Message Length' },
};

/** "OPEN Message Error / Bad Peer AS"; subcode 0 is "Unspecific" (RFC 4271 §4.5). */
export function notificationName(code: number, subcode: number): string {
  const codeName = CODE_NAMES[code] ?? `Unknown Error ${code}`;
  if (subcode === 0) return `${codeName} / Unspecific`;
  const sub = SUBCODE_NAMES[code]?.[subcode] ?? `Subcode ${subcode}`;
  return `${codeName} / ${sub}`;
}

/** Two-octet big-endian data, for the "bad length" and "largest version" data fields of RFC 4271 §6. */
export function u16Data(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 255, value & 255);
}
