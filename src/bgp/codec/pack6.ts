/**
 * Outgoing UPDATE packing for IPv6 unicast (RFC 4760 §3, §4; RFC 2545):
 * the same TxEncoder shape as pack.ts (`encodeAttributes` once per attribute
 * set, `packUpdates` per run of prefixes), so the TX queue, its sharing and
 * back-pressure serve IPv6 sessions unchanged. Keys are src/bgp/prefix6.ts ids.
 *
 * The attribute section `encodeAttributes6` returns starts with an
 * MP_REACH_NLRI (extended length, no NLRI yet) carrying the next hop: RFC
 * 7606 §5.1 asks for MP_REACH_NLRI first, and so `packUpdates6` finds it at
 * offset 0, appends each message's NLRI to it and patches its length.
 */
import { ATTR_MP_REACH_NLRI, ATTR_MP_UNREACH_NLRI, HEADER_LENGTH, MSG_UPDATE } from './constants.js';
import { writeHeader } from './header.js';
import { parseIpv6 } from './ipv6.js';
import { encodeAttributes, OPTIONAL_NON_TRANSITIVE } from './attributes/table.js';
import { maxMessageLength } from './update.js';
import { familyKey, type DecodeContext, type PathAttributes } from './types.js';
import { prefix6Length, writePrefix6Address } from '../prefix6.js';

const IPV6_UNICAST = familyKey(2, 1);
const FLAG_EXTENDED_LENGTH = 0x10;
/** flags, code, 2-octet length, AFI, SAFI, next hop length; then next hop, reserved octet (RFC 4760 §3). */
const MP_REACH_HEAD = 2 + 2 + 3 + 1;
const MP_UNREACH_HEAD = 2 + 2 + 3;

/**
 * The attributes of an IPv6 route: NEXT_HOP (attribute 3, IPv4 only, RFC
 * 4271 §5.1.3) is not sent; its address goes into MP_REACH_NLRI as the one
 * 16-octet global next hop (RFC 2545 §3; a link-local one is only for a
 * shared link, and calico-node's sessions are multihop).
 */
export function encodeAttributes6(attrs: PathAttributes, ctx: DecodeContext): Buffer {
  const { nextHop, mpReach: _r, mpUnreach: _u, ...rest } = attrs;
  void _r;
  void _u;
  if (nextHop === undefined || !nextHop.includes(':')) throw new TypeError(`IPv6 route needs an IPv6 next hop, got ${String(nextHop)}`);
  const nh = parseIpv6(nextHop);
  const others = encodeAttributes(rest, ctx);
  const out = Buffer.alloc(MP_REACH_HEAD + nh.length + 1 + others.length);
  out[0] = OPTIONAL_NON_TRANSITIVE | FLAG_EXTENDED_LENGTH;
  out[1] = ATTR_MP_REACH_NLRI;
  const valueLength = 3 + 1 + nh.length + 1;
  out[2] = valueLength >>> 8;
  out[3] = valueLength & 255;
  out[4] = 0;
  out[5] = 2; // AFI IPv6
  out[6] = 1; // SAFI unicast
  out[7] = nh.length;
  out.set(nh, 8);
  out[8 + nh.length] = 0; // reserved
  out.set(others, MP_REACH_HEAD + nh.length + 1);
  return out;
}

const scratch = new Uint8Array(16);

function prefixSize(key: number, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((prefix6Length(key) + 7) >> 3);
}

function writePrefix(buf: Buffer, p: number, key: number, pathId: number): number {
  if (pathId >= 0) {
    buf[p++] = pathId >>> 24;
    buf[p++] = (pathId >>> 16) & 255;
    buf[p++] = (pathId >>> 8) & 255;
    buf[p++] = pathId & 255;
  }
  const len = prefix6Length(key);
  buf[p++] = len;
  writePrefix6Address(key, scratch, 0);
  const n = (len + 7) >> 3;
  for (let k = 0; k < n; k++) buf[p++] = scratch[k];
  return p;
}

/**
 * Pack IPv6 prefix ids into as few UPDATEs as fit (4096 octets, or 65535
 * with RFC 8654). Announcements: the section of `encodeAttributes6` with the
 * NLRI inside its MP_REACH_NLRI; withdrawals: an UPDATE whose only attribute
 * is MP_UNREACH_NLRI (RFC 4760 §4). Path ids go before each prefix when
 * ADD-PATH is negotiated for IPv6 unicast (RFC 7911 §3).
 */
export function packUpdates6(
  attrSection: Uint8Array | null,
  keys: ArrayLike<number>,
  pathIds: ArrayLike<number> | null,
  ctx: DecodeContext,
  withdraw = false,
): Buffer[] {
  const out: Buffer[] = [];
  if (keys.length === 0) return out;
  if (!withdraw && (attrSection === null || attrSection[1] !== ATTR_MP_REACH_NLRI)) {
    throw new TypeError('packUpdates6: announcements need the section of encodeAttributes6');
  }
  const addPath = ctx.addPath.has(IPV6_UNICAST);
  const mpHead = withdraw ? MP_UNREACH_HEAD : MP_REACH_HEAD + attrSection![7] + 1;
  const attrLength = withdraw ? MP_UNREACH_HEAD : attrSection!.length;
  const room = Math.min(maxMessageLength(ctx) - HEADER_LENGTH - 4 - attrLength, 0xffff - (mpHead - 4));
  if (room < 21 + (addPath ? 4 : 0)) throw new RangeError(`attribute section of ${attrLength} octets leaves no room for NLRI`);

  let i = 0;
  while (i < keys.length) {
    let used = 0;
    let j = i;
    while (j < keys.length) {
      const size = prefixSize(keys[j], addPath);
      if (used + size > room) break;
      used += size;
      j++;
    }
    const length = HEADER_LENGTH + 4 + attrLength + used;
    const buf = Buffer.allocUnsafe(length);
    writeHeader(buf, length, MSG_UPDATE);
    let p = HEADER_LENGTH;
    buf[p++] = 0; // no IPv4 withdrawn routes
    buf[p++] = 0;
    const total = attrLength + used;
    buf[p++] = total >>> 8;
    buf[p++] = total & 255;
    const mpLength = mpHead - 4 + used;
    if (withdraw) {
      buf[p++] = OPTIONAL_NON_TRANSITIVE | FLAG_EXTENDED_LENGTH;
      buf[p++] = ATTR_MP_UNREACH_NLRI;
      buf[p++] = mpLength >>> 8;
      buf[p++] = mpLength & 255;
      buf[p++] = 0;
      buf[p++] = 2;
      buf[p++] = 1;
    } else {
      buf.set(attrSection!.subarray(0, mpHead), p);
      buf[p + 2] = mpLength >>> 8;
      buf[p + 3] = mpLength & 255;
      p += mpHead;
    }
    for (let k = i; k < j; k++) p = writePrefix(buf, p, keys[k], addPath ? (pathIds === null ? 0 : pathIds[k]) : -1);
    if (!withdraw) buf.set(attrSection!.subarray(mpHead), p);
    out.push(buf);
    i = j;
  }
  return out;
}
