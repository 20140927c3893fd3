/**
 * AS_PATH and AS4_PATH (RFC 4271 §4.3, RFC 5065 §3, RFC 6793 §4).
 *
 * Segments are (type, count, ASNs); ASNs are 2 octets on a session without
 * the 4-octet AS capability and 4 octets otherwise (AS4_PATH is always 4).
 */
import {
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  AS_SEQUENCE,
  AS_SET,
  AS_TRANS,
  ERR_UPDATE,
  UPDATE_MALFORMED_AS_PATH,
} from '../constants.js';
import { BgpError } from '../errors.js';
import type { AsPathSegment, AsPathSegmentType } from '../types.js';

export const SEGMENT_NAMES: Record<AsPathSegmentType, string> = {
  1: 'AS_SET',
  2: 'AS_SEQUENCE',
  3: 'AS_CONFED_SEQUENCE',
  4: 'AS_CONFED_SET',
};

/**
 * Decode segments from `b[start, end)`. RFC 7606 §7.2: an unknown segment
 * type, a zero segment length, or a segment overrunning the attribute make
 * it malformed ("Malformed AS_PATH"; the caller picks the approach).
 */
export function decodeAsPath(b: Uint8Array, start: number, end: number, asSize: 2 | 4): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  let p = start;
  while (p < end) {
    if (p + 2 > end) throw new BgpError(ERR_UPDATE, UPDATE_MALFORMED_AS_PATH, undefined, 'truncated segment header');
    const type = b[p];
    const count = b[p + 1];
    if (type < AS_SET || type > AS_CONFED_SET) {
      throw new BgpError(ERR_UPDATE, UPDATE_MALFORMED_AS_PATH, undefined, `segment type ${type}`);
    }
    if (count === 0) throw new BgpError(ERR_UPDATE, UPDATE_MALFORMED_AS_PATH, undefined, 'empty segment');
    p += 2;
    if (p + count * asSize > end) {
      throw new BgpError(ERR_UPDATE, UPDATE_MALFORMED_AS_PATH, undefined, 'segment overruns the attribute');
    }
    const asns: number[] = new Array(count);
    if (asSize === 4) {
      for (let i = 0; i < count; i++, p += 4) asns[i] = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    } else {
      for (let i = 0; i < count; i++, p += 2) asns[i] = (b[p] << 8) | b[p + 1];
    }
    segments.push({ type: type as AsPathSegmentType, asns });
  }
  return segments;
}

/**
 * Encode segments with `asSize`-octet ASNs; on a 2-octet session an ASN
 * above 65535 is written as AS_TRANS (RFC 6793 §4.2.2). Segments longer than
 * 255 ASNs are split.
 */
export function encodeAsPath(segments: readonly AsPathSegment[], asSize: 2 | 4): Uint8Array {
  let total = 0;
  for (const s of segments) total += 2 * Math.ceil(s.asns.length / 255) + s.asns.length * asSize;
  const out = new Uint8Array(total);
  let p = 0;
  for (const s of segments) {
    // An empty segment is malformed (RFC 7606 §7.2), so none is written.
    for (let i = 0; i < s.asns.length; i += 255) {
      const chunk = s.asns.slice(i, i + 255);
      out[p++] = s.type;
      out[p++] = chunk.length;
      for (const asn of chunk) {
        if (asSize === 4) {
          out[p++] = asn >>> 24;
          out[p++] = (asn >>> 16) & 255;
          out[p++] = (asn >>> 8) & 255;
          out[p++] = asn & 255;
        } else {
          const two = asn > 0xffff ? AS_TRANS : asn;
          out[p++] = two >>> 8;
          out[p++] = two & 255;
        }
      }
    }
  }
  return out.subarray(0, p);
}

/** True when some ASN needs 4 octets, so a 2-octet peer must also get AS4_PATH (RFC 6793 §4.2.2). */
export function needsAs4Path(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => s.asns.some((asn) => asn > 0xffff));
}

/** The segments AS4_PATH carries: confederation segments are never sent in it (RFC 6793 §3). */
export function as4PathOf(segments: readonly AsPathSegment[]): AsPathSegment[] {
  return segments.filter((s) => s.type === AS_SEQUENCE || s.type === AS_SET);
}

/** Path length for RFC 6793 §4.2.3: an AS_SET counts 1, confederation segments 0. */
export function pathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) n += s.type === AS_SEQUENCE ? s.asns.length : s.type === AS_SET ? 1 : 0;
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuild the real path from AS_PATH (2-octet, with
 * AS_TRANS) and AS4_PATH. When AS_PATH is shorter than AS4_PATH, AS4_PATH is
 * ignored. Otherwise the leading ASes of AS_PATH not covered by AS4_PATH are
 * kept (confederation segments with them) and AS4_PATH follows.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[]): AsPathSegment[] {
  const total = pathLength(asPath);
  const tail = pathLength(as4Path);
  if (total < tail) return asPath.map((s) => ({ type: s.type, asns: s.asns.slice() }));
  let need = total - tail;
  const merged: AsPathSegment[] = [];
  for (const s of asPath) {
    if (s.type === AS_CONFED_SEQUENCE || s.type === AS_CONFED_SET) {
      merged.push({ type: s.type, asns: s.asns.slice() });
      continue;
    }
    if (need === 0) break;
    if (s.type === AS_SET) {
      merged.push({ type: s.type, asns: s.asns.slice() });
      need -= 1;
    } else {
      const take = Math.min(need, s.asns.length);
      merged.push({ type: s.type, asns: s.asns.slice(0, take) });
      need -= take;
    }
  }
  for (const s of as4Path) {
    const last = merged[merged.length - 1];
    // Join a sequence split at the AS_PATH / AS4_PATH boundary back into one segment.
    if (last && last.type === AS_SEQUENCE && s.type === AS_SEQUENCE && last.asns.length + s.asns.length <= 255) {
      last.asns.push(...s.asns);
    } else merged.push({ type: s.type, asns: s.asns.slice() });
  }
  return merged;
}

/**
 * The path as the operator reads it in `agent routes`, as birdc shows it:
 * a sequence as its ASNs, an AS_SET in braces, confederation segments in
 * parentheses (RFC 5065 §3); "" for no path.
 */
export function formatAsPath(segments: AsPathSegment[] | undefined): string {
  return (segments ?? [])
    .map((s) => (s.type === AS_SEQUENCE ? s.asns.join(' ') : s.type === AS_SET ? `{${s.asns.join(' ')}}` : `(${s.asns.join(' ')})`))
    .join(' ');
}
