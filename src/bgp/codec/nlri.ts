/**
 * NLRI encoding (RFC 4271 §4.3 "length, prefix" tuples; RFC 4760 §5 for
 * MP_REACH/MP_UNREACH), with ADD-PATH path identifiers (RFC 7911 §3).
 *
 * IPv4 prefixes become numeric keys `address * 64 + length` in one loop over
 * the field, with no per-prefix object or string. Bits past the prefix length
 * are zeroed (real dumps carry them). A prefix longer than the AFI allows, or
 * one running past the field, makes the field malformed: RFC 7606 §5.3 and
 * §3 (j) call for session reset, since the NLRI cannot be identified.
 */
import { ERR_UPDATE } from './constants.js';
import { BgpError } from './errors.js';
import { parseIpv6Prefix } from './ipv6.js';
import { formatPrefix6, parsePrefix6, prefix6Key } from '../prefix6.js';
import type { Ipv4Prefixes, Ipv6Prefixes } from './types.js';

/** Network masks by length, as signed int32 (for `&`). */
const MASKS = new Int32Array(33);
for (let l = 1; l <= 32; l++) MASKS[l] = (0xffffffff << (32 - l)) | 0;

function malformed(subcode: number, what: string, detail: string): BgpError {
  return new BgpError(ERR_UPDATE, subcode, undefined, `${what}: ${detail}`, 'session-reset');
}

/**
 * Decode IPv4 prefixes from `b[p, end)`. `subcode` is the UPDATE error
 * subcode for this field (10 NLRI, 1 withdrawn routes, 9 MP attributes).
 */
export function decodeIpv4Prefixes(
  b: Uint8Array,
  p: number,
  end: number,
  addPath: boolean,
  subcode: number,
  what: string,
): Ipv4Prefixes {
  const keys: number[] = [];
  let pathIds: number[] | null = null;
  if (addPath) {
    pathIds = [];
    while (p < end) {
      if (p + 5 > end) throw malformed(subcode, what, 'truncated path identifier');
      pathIds.push(((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0);
      p = readIpv4Prefix(b, p + 4, end, keys, subcode, what);
    }
  } else {
    while (p < end) p = readIpv4Prefix(b, p, end, keys, subcode, what);
  }
  return { keys, pathIds };
}

function readIpv4Prefix(b: Uint8Array, p: number, end: number, keys: number[], subcode: number, what: string): number {
  const len = b[p++];
  if (len > 32) throw malformed(subcode, what, `prefix length ${len}`);
  const n = (len + 7) >> 3;
  if (p + n > end) throw malformed(subcode, what, 'prefix runs past the field');
  let a = 0;
  switch (n) {
    case 4:
      a = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
      break;
    case 3:
      a = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8);
      break;
    case 2:
      a = (b[p] << 24) | (b[p + 1] << 16);
      break;
    case 1:
      a = b[p] << 24;
      break;
  }
  keys.push(((a & MASKS[len]) >>> 0) * 64 + len);
  return p + n;
}

/** Octets the IPv4 prefixes take on the wire. */
export function ipv4PrefixesLength(keys: ArrayLike<number>, addPath: boolean): number {
  let total = addPath ? 5 * keys.length : keys.length;
  for (let i = 0; i < keys.length; i++) total += ((keys[i] % 64) + 7) >> 3;
  return total;
}

/** Write one prefix (with its path id when `pathId >= 0`) at `p`; returns the new offset. */
export function writeIpv4Prefix(out: Uint8Array, p: number, key: number, pathId: number): number {
  if (pathId >= 0) {
    out[p] = pathId >>> 24;
    out[p + 1] = (pathId >>> 16) & 255;
    out[p + 2] = (pathId >>> 8) & 255;
    out[p + 3] = pathId & 255;
    p += 4;
  }
  const len = key % 64;
  const a = (key - len) / 64;
  out[p++] = len;
  if (len > 0) out[p++] = a >>> 24;
  if (len > 8) out[p++] = (a >>> 16) & 255;
  if (len > 16) out[p++] = (a >>> 8) & 255;
  if (len > 24) out[p++] = a & 255;
  return p;
}

export function writeIpv4Prefixes(out: Uint8Array, p: number, prefixes: Ipv4Prefixes, addPath: boolean): number {
  const { keys, pathIds } = prefixes;
  for (let i = 0; i < keys.length; i++) p = writeIpv4Prefix(out, p, keys[i], addPath ? (pathIds?.[i] ?? 0) : -1);
  return p;
}

export function decodeIpv6Prefixes(
  b: Uint8Array,
  p: number,
  end: number,
  addPath: boolean,
  subcode: number,
  what: string,
): Ipv6Prefixes {
  const keys: number[] = [];
  const pathIds: number[] | null = addPath ? [] : null;
  while (p < end) {
    if (pathIds) {
      if (p + 5 > end) throw malformed(subcode, what, 'truncated path identifier');
      pathIds.push(((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0);
      p += 4;
    }
    const len = b[p++];
    if (len > 128) throw malformed(subcode, what, `prefix length ${len}`);
    const n = (len + 7) >> 3;
    if (p + n > end) throw malformed(subcode, what, 'prefix runs past the field');
    // The prefix's words straight from the wire (no more than n octets read); prefix6Key clears host bits.
    keys.push(prefix6Key(word(b, p, n), word(b, p + 4, n - 4), word(b, p + 8, n - 8), word(b, p + 12, n - 12), len));
    p += n;
  }
  return ipv6Prefixes(keys, pathIds);
}

/** The big-endian word at `o`, of which only the first `avail` octets (when < 4) are the prefix's. */
function word(b: Uint8Array, o: number, avail: number): number {
  if (avail >= 4) return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  if (avail <= 0) return 0;
  let w = b[o] << 24;
  if (avail > 1) w |= b[o + 1] << 16;
  if (avail > 2) w |= b[o + 2] << 8;
  return w >>> 0;
}

/**
 * Decoded IPv6 NLRI: the prefix ids, and their text made only when read.
 * The RIB reads the ids, so an IPv6 ingest never formats a prefix string to
 * parse it back (that was most of the CPU of the ingest6-distinct bench,
 * issue 19); `agent decode`, JSON and the tests read the text as before.
 * Assigning `prefixes` drops the ids (they would no longer match).
 */
export function ipv6Prefixes(keys: number[], pathIds: number[] | null): Ipv6Prefixes {
  const out = {} as { prefixes: string[]; pathIds: number[] | null; keys?: number[] };
  const settle = (v: string[]): string[] => {
    Object.defineProperty(out, 'prefixes', { value: v, enumerable: true, writable: true, configurable: true });
    return v;
  };
  Object.defineProperty(out, 'prefixes', {
    enumerable: true,
    configurable: true,
    get: () => settle(keys.map(formatPrefix6)),
    set: (v: string[]) => {
      delete out.keys;
      settle(v);
    },
  });
  out.pathIds = pathIds;
  Object.defineProperty(out, 'keys', { value: keys, enumerable: false, configurable: true });
  return out;
}

/** The prefix ids of IPv6 NLRI: decode's, or parsed from the text of a message built by hand or from JSON. */
export function ipv6Keys(list: Ipv6Prefixes): number[] {
  return list.keys ?? list.prefixes.map((t) => parsePrefix6(t, true));
}

/** How many prefixes, without making their text. */
export function ipv6Count(list: Ipv6Prefixes): number {
  return list.keys?.length ?? list.prefixes.length;
}

export function encodeIpv6Prefixes(prefixes: Ipv6Prefixes, addPath: boolean): Uint8Array {
  const parts: number[] = [];
  prefixes.prefixes.forEach((text, i) => {
    const { bytes, length } = parseIpv6Prefix(text, true);
    if (addPath) {
      const id = prefixes.pathIds?.[i] ?? 0;
      parts.push(id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255);
    }
    parts.push(length);
    for (let j = 0; j < (length + 7) >> 3; j++) parts.push(bytes[j]);
  });
  return Uint8Array.from(parts);
}
