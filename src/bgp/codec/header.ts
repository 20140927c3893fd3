/**
 * The fixed 19-octet message header (RFC 4271 §4.1) and its checks (§6.1).
 *
 * Hand-written: it runs once per message on the receive hot path, and the
 * bench (bench/codec) measured it several times faster than the equivalent
 * binary-parser parser (kept below as `headerParser` for that comparison).
 */
import { Parser } from 'binary-parser/dist/binary_parser.js'; // the package's "exports" hides its types; this subpath carries them
import {
  ERR_HEADER,
  HEADER_BAD_LENGTH,
  HEADER_BAD_TYPE,
  HEADER_LENGTH,
  HEADER_NOT_SYNCHRONIZED,
  MAX_MESSAGE_LENGTH,
  MIN_LENGTH_BY_TYPE,
  MSG_KEEPALIVE,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
} from './constants.js';
import { BgpError, u16Data } from './errors.js';

/**
 * Check the header at `offset` (19 octets must be present) and return the
 * message length. `maxLength` is 4096, or 65535 after RFC 8654 negotiation;
 * OPEN and KEEPALIVE stay limited to 4096 (RFC 8654 §4).
 */
export function checkHeader(b: Uint8Array, offset: number, maxLength: number): number {
  for (let i = offset; i < offset + 16; i++) {
    // RFC 4271 §6.1: a marker that is not all ones is "Connection Not Synchronized".
    if (b[i] !== 0xff) throw new BgpError(ERR_HEADER, HEADER_NOT_SYNCHRONIZED);
  }
  const length = (b[offset + 16] << 8) | b[offset + 17];
  const type = b[offset + 18];
  if (length < HEADER_LENGTH || length > maxLength) {
    throw new BgpError(ERR_HEADER, HEADER_BAD_LENGTH, u16Data(length), `length ${length}`);
  }
  if (type < MSG_OPEN || type > MSG_ROUTE_REFRESH) {
    throw new BgpError(ERR_HEADER, HEADER_BAD_TYPE, Uint8Array.of(type), `type ${type}`);
  }
  // RFC 4271 §6.1: per-type minimum lengths; KEEPALIVE is exactly 19.
  if (
    length < MIN_LENGTH_BY_TYPE[type] ||
    (type === MSG_KEEPALIVE && length !== HEADER_LENGTH) ||
    ((type === MSG_OPEN || type === MSG_KEEPALIVE) && length > MAX_MESSAGE_LENGTH)
  ) {
    throw new BgpError(ERR_HEADER, HEADER_BAD_LENGTH, u16Data(length), `length ${length} for type ${type}`);
  }
  return length;
}

/** Write marker, length and type into the first 19 octets of `out`. */
export function writeHeader(out: Uint8Array, length: number, type: number): void {
  out.fill(0xff, 0, 16);
  out[16] = length >>> 8;
  out[17] = length & 255;
  out[18] = type;
}

/** binary-parser form of the header, kept for the bench's comparison with `checkHeader`. */
export const headerParser = new Parser()
  .array('marker', { type: 'uint8', length: 16 })
  .uint16be('length')
  .uint8('type');
