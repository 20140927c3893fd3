/**
 * UPDATE message (RFC 4271 §4.3, §6.3) with the revised error handling of
 * RFC 7606: each attribute error is resolved by the attribute table's
 * approach (session reset throws; treat-as-withdraw marks the message;
 * attribute discard drops the attribute and notes it), the strongest
 * approach winning (§3 (f)).
 *
 * Hot path: withdrawn routes and NLRI become arrays of numeric prefix keys;
 * `attrBytes` is a view of the attribute section so the RIB can intern
 * UPDATEs with byte-identical attributes without decoding them twice.
 */
import {
  AS_TRANS,
  ATTR_AS4_AGGREGATOR,
  ATTR_AS4_PATH,
  ATTR_AS_PATH,
  ATTR_MP_REACH_NLRI,
  ATTR_MP_UNREACH_NLRI,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  ERR_UPDATE,
  FLAG_EXTENDED_LENGTH,
  FLAG_OPTIONAL,
  HEADER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MSG_UPDATE,
  UPDATE_ATTRIBUTE_FLAGS,
  UPDATE_MALFORMED_ATTRIBUTE_LIST,
  UPDATE_MISSING_WELL_KNOWN,
  UPDATE_INVALID_NETWORK_FIELD,
  UPDATE_UNRECOGNIZED_WELL_KNOWN,
} from './constants.js';
import { BgpError, type ErrorAction } from './errors.js';
import { writeHeader } from './header.js';
import { decodeIpv4Prefixes, ipv4PrefixesLength, ipv6Count, writeIpv4Prefixes } from './nlri.js';
import { mergeAs4Path } from './attributes/as-path.js';
import { ATTRIBUTE_BY_CODE, encodeAttributes } from './attributes/table.js';
import { familyKey, type DecodeContext, type UpdateMessage } from './types.js';

const IPV4_UNICAST = familyKey(1, 1);

/** Attribute codes seen in the current UPDATE, by generation stamp (no allocation per message). */
const seen = new Uint32Array(256);
let generation = 0;

/** Subcodes whose NOTIFICATION data is the erroneous attribute (RFC 4271 §6.3). */
const DATA_IS_ATTRIBUTE = new Set([2, 4, 5, 6, 8, 9]);

function withAttributeData(err: BgpError, attr: Uint8Array, action: ErrorAction): BgpError {
  const data = err.data.length === 0 && DATA_IS_ATTRIBUTE.has(err.subcode) ? attr.slice() : err.data;
  return new BgpError(err.code, err.subcode, data, err.detail, action);
}

/** Apply an RFC 7606 approach to `msg`; session reset throws. */
function resolve(msg: UpdateMessage, err: BgpError, action: ErrorAction, attributeCode: number): void {
  if (action === 'session-reset') throw err.action === 'session-reset' ? err : new BgpError(err.code, err.subcode, err.data, err.detail, action);
  if (action === 'treat-as-withdraw') {
    if (!msg.treatAsWithdraw) msg.treatAsWithdraw = { code: err.code, subcode: err.subcode, reason: err.detail ?? err.message };
  } else {
    (msg.discarded ??= []).push({ attributeCode, reason: err.detail ?? err.message, code: err.code, subcode: err.subcode });
  }
}

export function decodeUpdate(b: Uint8Array, ctx: DecodeContext): UpdateMessage {
  const end = b.length;
  let p = HEADER_LENGTH;
  const withdrawnLength = (b[p] << 8) | b[p + 1];
  p += 2;
  // RFC 4271 §6.3 / RFC 7606 §3 (a): lengths that do not fit cannot be parsed at all.
  if (p + withdrawnLength + 2 > end) {
    throw new BgpError(ERR_UPDATE, UPDATE_MALFORMED_ATTRIBUTE_LIST, undefined, 'Withdrawn Routes Length too large', 'session-reset');
  }
  const addPath = ctx.addPath.has(IPV4_UNICAST);
  const withdrawn = decodeIpv4Prefixes(b, p, p + withdrawnLength, addPath, UPDATE_INVALID_NETWORK_FIELD, 'Withdrawn Routes');
  p += withdrawnLength;
  const attrLength = (b[p] << 8) | b[p + 1];
  p += 2;
  if (p + attrLength > end) {
    throw new BgpError(ERR_UPDATE, UPDATE_MALFORMED_ATTRIBUTE_LIST, undefined, 'Total Path Attribute Length too large', 'session-reset');
  }
  const attrEnd = p + attrLength;
  const msg: UpdateMessage = {
    type: 'UPDATE',
    withdrawn,
    attributes: {},
    nlri: withdrawn, // replaced below; keeps the object's shape fixed
    attrBytes: b.subarray(p, attrEnd),
  };
  decodeAttributes(b, p, attrEnd, ctx, msg);
  msg.nlri = decodeIpv4Prefixes(b, attrEnd, end, addPath, UPDATE_INVALID_NETWORK_FIELD, 'NLRI');
  checkWellKnown(msg);
  if (!ctx.as4 && !ctx.keepAs4) mergeAs4(msg);
  return msg;
}

function decodeAttributes(b: Uint8Array, start: number, end: number, ctx: DecodeContext, msg: UpdateMessage): void {
  if (++generation > 0xfffffff0) {
    seen.fill(0);
    generation = 1;
  }
  const gen = generation;
  const attrs = msg.attributes;
  let p = start;
  while (p < end) {
    // RFC 7606 §4: a header or value running past the section is treat-as-withdraw;
    // the Total Path Attribute Length still locates the NLRI.
    const flags = b[p];
    const headerLength = flags & FLAG_EXTENDED_LENGTH ? 4 : 3;
    if (end - p < headerLength) {
      resolve(msg, new BgpError(ERR_UPDATE, UPDATE_MALFORMED_ATTRIBUTE_LIST, undefined, 'truncated attribute header'), 'treat-as-withdraw', 0);
      return;
    }
    const code = b[p + 1];
    const length = headerLength === 4 ? (b[p + 2] << 8) | b[p + 3] : b[p + 2];
    const vStart = p + headerLength;
    const vEnd = vStart + length;
    if (vEnd > end) {
      resolve(msg, new BgpError(ERR_UPDATE, UPDATE_MALFORMED_ATTRIBUTE_LIST, undefined, `attribute ${code} overruns the attribute section`), 'treat-as-withdraw', code);
      return;
    }
    const attrStart = p;
    p = vEnd;
    if (seen[code] === gen) {
      // RFC 7606 §3 (g): a repeated MP_REACH/MP_UNREACH is a session reset; any other repeat is discarded.
      if (code === ATTR_MP_REACH_NLRI || code === ATTR_MP_UNREACH_NLRI) {
        throw new BgpError(ERR_UPDATE, UPDATE_MALFORMED_ATTRIBUTE_LIST, undefined, `attribute ${code} repeated`, 'session-reset');
      }
      (msg.discarded ??= []).push({ attributeCode: code, reason: 'repeated attribute', code: ERR_UPDATE, subcode: UPDATE_MALFORMED_ATTRIBUTE_LIST });
      continue;
    }
    seen[code] = gen;
    const row = ATTRIBUTE_BY_CODE[code];
    if (row === undefined) {
      if ((flags & FLAG_OPTIONAL) === 0) {
        // RFC 4271 §6.3; RFC 7606 leaves an unrecognized well-known attribute a session reset.
        throw new BgpError(ERR_UPDATE, UPDATE_UNRECOGNIZED_WELL_KNOWN, b.slice(attrStart, vEnd), `attribute ${code}`, 'session-reset');
      }
      (attrs.unknown ??= []).push({ flags, code, data: b.subarray(vStart, vEnd) });
      continue;
    }
    if ((flags & 0xc0) !== row.flags) {
      // RFC 7606 §3 (c): conflicting Optional/Transitive bits make the attribute malformed.
      const err = new BgpError(ERR_UPDATE, UPDATE_ATTRIBUTE_FLAGS, b.slice(attrStart, vEnd), `${row.name} flags 0x${flags.toString(16)}`);
      resolve(msg, err, row.onError, code);
      continue;
    }
    if (ctx.as4 && !ctx.keepAs4 && (code === ATTR_AS4_PATH || code === ATTR_AS4_AGGREGATOR)) {
      // RFC 6793 §4.1: a NEW speaker ignores AS4_PATH / AS4_AGGREGATOR from another NEW speaker.
      (msg.discarded ??= []).push({ attributeCode: code, reason: `${row.name} on a 4-octet AS session` });
      continue;
    }
    try {
      row.decode(b, vStart, vEnd, ctx, attrs);
    } catch (e) {
      if (!(e instanceof BgpError)) throw e;
      const action = e.action ?? row.onError;
      resolve(msg, withAttributeData(e, b.subarray(attrStart, vEnd), action), action, code);
    }
  }
}

/**
 * RFC 4271 §6.3 / RFC 7606 §3 (d): ORIGIN and AS_PATH are mandatory when the
 * UPDATE carries NLRI (classic or MP_REACH), NEXT_HOP when it carries
 * classic NLRI (RFC 4760 §3). Missing ones make it treat-as-withdraw.
 */
function checkWellKnown(msg: UpdateMessage): void {
  const attrs = msg.attributes;
  const classic = msg.nlri.keys.length > 0;
  const mp = attrs.mpReach;
  const mpNlri = mp !== undefined && ('raw' in mp || (mp.afi === 1 ? mp.nlri.keys.length > 0 : ipv6Count(mp.nlri) > 0));
  if (!classic && !mpNlri) return;
  let missing = 0;
  if (attrs.origin === undefined) missing = ATTR_ORIGIN;
  else if (attrs.asPath === undefined) missing = ATTR_AS_PATH;
  else if (classic && attrs.nextHop === undefined) missing = ATTR_NEXT_HOP;
  if (missing === 0 || msg.treatAsWithdraw) return;
  msg.treatAsWithdraw = {
    code: ERR_UPDATE,
    subcode: UPDATE_MISSING_WELL_KNOWN,
    reason: `Missing Well-known Attribute ${missing}`,
  };
}

/** RFC 6793 §4.2.3: rebuild AS_PATH / AGGREGATOR from AS4_PATH / AS4_AGGREGATOR on a 2-octet session. */
function mergeAs4(msg: UpdateMessage): void {
  const attrs = msg.attributes;
  if (attrs.as4Path === undefined && attrs.as4Aggregator === undefined) return;
  let useAs4Path = true;
  if (attrs.as4Aggregator !== undefined && attrs.aggregator !== undefined) {
    if (attrs.aggregator.asn !== AS_TRANS) useAs4Path = false; // the aggregating speaker was 2-octet: ignore both
    else attrs.aggregator = attrs.as4Aggregator;
  }
  if (useAs4Path && attrs.as4Path !== undefined && attrs.asPath !== undefined) {
    attrs.asPath = mergeAs4Path(attrs.asPath, attrs.as4Path);
  }
  delete attrs.as4Path;
  delete attrs.as4Aggregator;
}

export function maxMessageLength(ctx: DecodeContext): number {
  return ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

export function encodeUpdate(msg: UpdateMessage, ctx: DecodeContext): Buffer {
  const attrs = encodeAttributes(msg.attributes, ctx);
  const addPath = ctx.addPath.has(IPV4_UNICAST);
  const wl = ipv4PrefixesLength(msg.withdrawn.keys, addPath);
  const nl = ipv4PrefixesLength(msg.nlri.keys, addPath);
  const length = HEADER_LENGTH + 4 + wl + attrs.length + nl;
  if (length > maxMessageLength(ctx)) throw new RangeError(`UPDATE of ${length} octets exceeds the negotiated maximum`);
  const out = Buffer.allocUnsafe(length);
  writeHeader(out, length, MSG_UPDATE);
  let p = HEADER_LENGTH;
  out[p++] = wl >>> 8;
  out[p++] = wl & 255;
  p = writeIpv4Prefixes(out, p, msg.withdrawn, addPath);
  out[p++] = attrs.length >>> 8;
  out[p++] = attrs.length & 255;
  out.set(attrs, p);
  p += attrs.length;
  writeIpv4Prefixes(out, p, msg.nlri, addPath);
  return out;
}
