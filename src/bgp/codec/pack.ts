/**
 * Outgoing UPDATE packing: many IPv4 prefixes that share one attribute
 * section go into as few UPDATEs as fit (RFC 4271 §4.3: 4096 octets, or
 * 65535 with RFC 8654 extended messages), and End-of-RIB markers (RFC 4724 §2).
 */
import { ATTR_MP_UNREACH_NLRI, HEADER_LENGTH, MSG_UPDATE } from './constants.js';
import { writeHeader } from './header.js';
import { ipv6Count, writeIpv4Prefix } from './nlri.js';
import { OPTIONAL_NON_TRANSITIVE } from './attributes/table.js';
import { maxMessageLength } from './update.js';
import { familyKey, type BgpMessage, type DecodeContext } from './types.js';

const IPV4_UNICAST = familyKey(1, 1);

/**
 * Pack `keys` (IPv4 unicast prefix keys, with `pathIds` when ADD-PATH is sent
 * to this peer) into UPDATEs. Announcements carry `attrSection` (from
 * `encodeAttributes`) in each message; `withdraw` packs into the Withdrawn
 * Routes field with no attributes. Each message is filled before the next
 * one starts; the Buffers are exactly as long as their messages.
 */
export function packUpdates(
  attrSection: Uint8Array | null,
  keys: ArrayLike<number>,
  pathIds: ArrayLike<number> | null,
  ctx: DecodeContext,
  withdraw = false,
): Buffer[] {
  const out: Buffer[] = [];
  if (keys.length === 0) return out;
  if (!withdraw && attrSection === null) throw new TypeError('packUpdates: announcements need an attribute section');
  const attrLength = withdraw || attrSection === null ? 0 : attrSection.length;
  const addPath = ctx.addPath.has(IPV4_UNICAST);
  const perPrefix = addPath ? 5 : 1;
  const room = maxMessageLength(ctx) - HEADER_LENGTH - 4 - attrLength;
  if (room < perPrefix + 4) throw new RangeError(`attribute section of ${attrLength} octets leaves no room for NLRI`);

  let i = 0;
  while (i < keys.length) {
    // First pass: how many prefixes fit.
    let used = 0;
    let j = i;
    while (j < keys.length) {
      const size = perPrefix + (((keys[j] % 64) + 7) >> 3);
      if (used + size > room) break;
      used += size;
      j++;
    }
    const length = HEADER_LENGTH + 4 + attrLength + used;
    const buf = Buffer.allocUnsafe(length);
    writeHeader(buf, length, MSG_UPDATE);
    let p = HEADER_LENGTH;
    const wl = withdraw ? used : 0;
    buf[p++] = wl >>> 8;
    buf[p++] = wl & 255;
    if (withdraw) p = writeRange(buf, p, keys, pathIds, addPath, i, j);
    buf[p++] = attrLength >>> 8;
    buf[p++] = attrLength & 255;
    if (!withdraw && attrSection !== null) {
      buf.set(attrSection, p);
      p += attrLength;
      writeRange(buf, p, keys, pathIds, addPath, i, j);
    }
    out.push(buf);
    i = j;
  }
  return out;
}

function writeRange(
  buf: Buffer,
  p: number,
  keys: ArrayLike<number>,
  pathIds: ArrayLike<number> | null,
  addPath: boolean,
  from: number,
  to: number,
): number {
  for (let k = from; k < to; k++) p = writeIpv4Prefix(buf, p, keys[k], addPath ? (pathIds === null ? 0 : pathIds[k]) : -1);
  return p;
}

/**
 * RFC 4724 §2: End-of-RIB is an UPDATE with no withdrawn routes, no
 * attributes and no NLRI for IPv4 unicast; for any other family, an UPDATE
 * whose only attribute is an empty MP_UNREACH_NLRI for that family.
 */
export function endOfRib(afi: number, safi: number, _ctx: DecodeContext): Buffer {
  if (afi === 1 && safi === 1) {
    const buf = Buffer.alloc(HEADER_LENGTH + 4);
    writeHeader(buf, buf.length, MSG_UPDATE);
    return buf;
  }
  const buf = Buffer.alloc(HEADER_LENGTH + 4 + 6);
  writeHeader(buf, buf.length, MSG_UPDATE);
  buf.set([0, 0, 0, 6, OPTIONAL_NON_TRANSITIVE, ATTR_MP_UNREACH_NLRI, 3, afi >> 8, afi & 255, safi], HEADER_LENGTH);
  return buf;
}

export function isEndOfRib(msg: BgpMessage): { afi: number; safi: number } | null {
  if (msg.type !== 'UPDATE' || msg.withdrawn.keys.length > 0 || msg.nlri.keys.length > 0 || msg.treatAsWithdraw) return null;
  const attrs = msg.attributes;
  let count = 0;
  for (const key in attrs) if ((attrs as Record<string, unknown>)[key] !== undefined) count++;
  if (count === 0) return { afi: 1, safi: 1 };
  const mp = attrs.mpUnreach;
  if (count !== 1 || mp === undefined) return null;
  const empty = 'raw' in mp ? mp.raw.length === 0 : mp.afi === 1 ? mp.withdrawn.keys.length === 0 : ipv6Count(mp.withdrawn) === 0;
  return empty ? { afi: mp.afi, safi: mp.safi } : null;
}
