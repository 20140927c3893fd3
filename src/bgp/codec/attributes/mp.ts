/**
 * MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) for IPv4 and IPv6
 * unicast/multicast, next hops per RFC 2545 §3 (IPv6 global, or global +
 * link-local) and RFC 8950 (IPv6 next hop for IPv4 NLRI). Other families
 * are carried as bytes.
 *
 * Errors here are session resets with "Optional Attribute Error" (RFC 4760
 * §7; RFC 7606 §7.11, §5.3: the NLRI cannot be located otherwise).
 */
import { ERR_UPDATE, UPDATE_OPTIONAL_ATTRIBUTE } from '../constants.js';
import { BgpError } from '../errors.js';
import { formatIpv6, parseIpv6 } from '../ipv6.js';
import {
  decodeIpv4Prefixes,
  decodeIpv6Prefixes,
  encodeIpv6Prefixes,
  ipv4PrefixesLength,
  writeIpv4Prefixes,
} from '../nlri.js';
import { formatIpv4, parseIpv4 } from '../../prefix.js';
import { familyKey, type DecodeContext, type MpReach, type MpUnreach } from '../types.js';

const fail = (detail: string): BgpError =>
  new BgpError(ERR_UPDATE, UPDATE_OPTIONAL_ATTRIBUTE, undefined, detail, 'session-reset');

/** Families whose NLRI this codec interprets: IPv4/IPv6 with unicast or multicast SAFI. */
export function isInterpreted(afi: number, safi: number): boolean {
  return (afi === 1 || afi === 2) && (safi === 1 || safi === 2);
}

export function decodeMpReach(b: Uint8Array, start: number, end: number, ctx: DecodeContext): MpReach {
  if (end - start < 5) throw fail('MP_REACH_NLRI too short');
  const afi = (b[start] << 8) | b[start + 1];
  const safi = b[start + 2];
  const nhLen = b[start + 3];
  const nh = start + 4;
  if (nh + nhLen + 1 > end) throw fail('MP_REACH_NLRI next hop overruns the attribute');
  if (!isInterpreted(afi, safi)) return { afi, safi, raw: b.slice(start + 3, end) };
  const nextHops: string[] = [];
  if (afi === 1 && nhLen === 4) {
    nextHops.push(formatIpv4(((b[nh] << 24) | (b[nh + 1] << 16) | (b[nh + 2] << 8) | b[nh + 3]) >>> 0));
  } else if (nhLen === 16 || nhLen === 32) {
    nextHops.push(formatIpv6(b, nh));
    if (nhLen === 32) nextHops.push(formatIpv6(b, nh + 16));
  } else {
    throw fail(`next hop length ${nhLen} for AFI ${afi}`);
  }
  // The octet after the next hop is reserved (was SNPA count) and ignored (RFC 4760 §3).
  const p = nh + nhLen + 1;
  const addPath = ctx.addPath.has(familyKey(afi, safi));
  if (afi === 1) {
    return { afi: 1, safi, nextHops, nlri: decodeIpv4Prefixes(b, p, end, addPath, UPDATE_OPTIONAL_ATTRIBUTE, 'MP_REACH_NLRI') };
  }
  return { afi: 2, safi, nextHops, nlri: decodeIpv6Prefixes(b, p, end, addPath, UPDATE_OPTIONAL_ATTRIBUTE, 'MP_REACH_NLRI') };
}

export function decodeMpUnreach(b: Uint8Array, start: number, end: number, ctx: DecodeContext): MpUnreach {
  if (end - start < 3) throw fail('MP_UNREACH_NLRI too short');
  const afi = (b[start] << 8) | b[start + 1];
  const safi = b[start + 2];
  const p = start + 3;
  if (!isInterpreted(afi, safi)) return { afi, safi, raw: b.slice(p, end) };
  const addPath = ctx.addPath.has(familyKey(afi, safi));
  if (afi === 1) {
    return { afi: 1, safi, withdrawn: decodeIpv4Prefixes(b, p, end, addPath, UPDATE_OPTIONAL_ATTRIBUTE, 'MP_UNREACH_NLRI') };
  }
  return { afi: 2, safi, withdrawn: decodeIpv6Prefixes(b, p, end, addPath, UPDATE_OPTIONAL_ATTRIBUTE, 'MP_UNREACH_NLRI') };
}

function nextHopBytes(text: string): Uint8Array {
  if (text.includes(':')) return parseIpv6(text);
  const v = parseIpv4(text);
  return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

function ipv4Bytes(prefixes: { keys: number[]; pathIds: number[] | null }, addPath: boolean): Uint8Array {
  const out = new Uint8Array(ipv4PrefixesLength(prefixes.keys, addPath));
  writeIpv4Prefixes(out, 0, prefixes, addPath);
  return out;
}

export function encodeMpReach(mp: MpReach, ctx: DecodeContext): Uint8Array {
  const head = Uint8Array.of(mp.afi >> 8, mp.afi & 255, mp.safi);
  if ('raw' in mp) return concat([head, mp.raw]);
  const hops = mp.nextHops.map(nextHopBytes);
  const nh = concat(hops);
  const addPath = ctx.addPath.has(familyKey(mp.afi, mp.safi));
  const nlri = mp.afi === 1 ? ipv4Bytes(mp.nlri, addPath) : encodeIpv6Prefixes(mp.nlri, addPath);
  return concat([head, Uint8Array.of(nh.length), nh, Uint8Array.of(0), nlri]);
}

export function encodeMpUnreach(mp: MpUnreach, ctx: DecodeContext): Uint8Array {
  const head = Uint8Array.of(mp.afi >> 8, mp.afi & 255, mp.safi);
  if ('raw' in mp) return concat([head, mp.raw]);
  const addPath = ctx.addPath.has(familyKey(mp.afi, mp.safi));
  return concat([head, mp.afi === 1 ? ipv4Bytes(mp.withdrawn, addPath) : encodeIpv6Prefixes(mp.withdrawn, addPath)]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const part of parts) n += part.length;
  const out = new Uint8Array(n);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
