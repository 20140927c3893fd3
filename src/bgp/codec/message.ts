/**
 * One whole BGP message <-> its typed value (RFC 4271 §4; RFC 2918 §3 and
 * RFC 7313 §3 for ROUTE-REFRESH). Decoding throws only BgpError.
 */
import {
  ERR_HEADER,
  ERR_ROUTE_REFRESH,
  HEADER_BAD_LENGTH,
  HEADER_LENGTH,
  MSG_KEEPALIVE,
  MSG_NOTIFICATION,
  MSG_OPEN,
  MSG_ROUTE_REFRESH,
  MSG_UPDATE,
  ROUTE_REFRESH_INVALID_LENGTH,
} from './constants.js';
import { BgpError, u16Data } from './errors.js';
import { checkHeader, writeHeader } from './header.js';
import { decodeOpen, encodeOpen } from './open.js';
import { decodeUpdate, encodeUpdate, maxMessageLength } from './update.js';
import type { BgpMessage, DecodeContext, NotificationMessage, RouteRefreshMessage } from './types.js';

/** Decode one whole message, header included. */
export function decodeMessage(bytes: Uint8Array, ctx: DecodeContext): BgpMessage {
  if (bytes.length < HEADER_LENGTH) {
    throw new BgpError(ERR_HEADER, HEADER_BAD_LENGTH, u16Data(bytes.length), `only ${bytes.length} octets`);
  }
  const length = checkHeader(bytes, 0, maxMessageLength(ctx));
  if (length !== bytes.length) {
    throw new BgpError(ERR_HEADER, HEADER_BAD_LENGTH, u16Data(length), `length field ${length}, ${bytes.length} octets given`);
  }
  switch (bytes[18]) {
    case MSG_OPEN:
      return decodeOpen(bytes);
    case MSG_UPDATE:
      return decodeUpdate(bytes, ctx);
    case MSG_NOTIFICATION:
      return { type: 'NOTIFICATION', code: bytes[19], subcode: bytes[20], data: bytes.slice(21) };
    case MSG_KEEPALIVE:
      return { type: 'KEEPALIVE' };
    default:
      return decodeRouteRefresh(bytes);
  }
}

function decodeRouteRefresh(b: Uint8Array): RouteRefreshMessage {
  // RFC 7313 §5: any length other than 4 octets of body is "Invalid Message Length", data = the message.
  if (b.length !== HEADER_LENGTH + 4) {
    throw new BgpError(ERR_ROUTE_REFRESH, ROUTE_REFRESH_INVALID_LENGTH, b.slice(), `length ${b.length}`);
  }
  return { type: 'ROUTE-REFRESH', afi: (b[19] << 8) | b[20], subtype: b[21], safi: b[22] };
}

export function encodeMessage(msg: BgpMessage, ctx: DecodeContext): Buffer {
  switch (msg.type) {
    case 'OPEN':
      return encodeOpen(msg);
    case 'UPDATE':
      return encodeUpdate(msg, ctx);
    case 'NOTIFICATION':
      return encodeNotification(msg, ctx);
    case 'KEEPALIVE': {
      const out = Buffer.alloc(HEADER_LENGTH);
      writeHeader(out, HEADER_LENGTH, MSG_KEEPALIVE);
      return out;
    }
    case 'ROUTE-REFRESH': {
      const out = Buffer.alloc(HEADER_LENGTH + 4);
      writeHeader(out, out.length, MSG_ROUTE_REFRESH);
      out.writeUInt16BE(msg.afi, 19);
      out[21] = msg.subtype;
      out[22] = msg.safi;
      return out;
    }
  }
}

function encodeNotification(msg: NotificationMessage, ctx: DecodeContext): Buffer {
  // Data that would not fit is cut: a NOTIFICATION must still go out.
  const dataLength = Math.min(msg.data.length, maxMessageLength(ctx) - HEADER_LENGTH - 2);
  const out = Buffer.alloc(HEADER_LENGTH + 2 + dataLength);
  writeHeader(out, out.length, MSG_NOTIFICATION);
  out[19] = msg.code;
  out[20] = msg.subcode;
  out.set(msg.data.subarray(0, dataLength), 21);
  return out;
}

/** A KEEPALIVE's 19 octets, shared (never mutate). */
export const KEEPALIVE_BYTES: Buffer = encodeMessage({ type: 'KEEPALIVE' }, { as4: true, addPath: new Set(), extendedMessage: false });
