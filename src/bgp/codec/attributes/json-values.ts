/**
 * The JSON forms of path-attribute values (and of the prefix lists an UPDATE
 * and MP_REACH/MP_UNREACH carry), as `agent decode` prints them and
 * proto-fixtures/*.json store them: prefixes as "10.8.94.64/26" strings
 * (objects {prefix, pathId} under ADD-PATH, RFC 7911), communities as "AA:NN",
 * large communities as "A:B:C", bytes as hex. The attribute table's rows use
 * these for their `toJson` / `fromJson`; `json.ts` for the UPDATE around them.
 * Kept apart from `table.ts` so that `json.ts` can use them without a cycle.
 */
import { formatPrefix, parsePrefix } from '../../prefix.js';
import type { AsPathSegment, AsPathSegmentType, Ipv4Prefixes, Ipv6Prefixes, MpReach, MpUnreach, Origin } from '../types.js';
import { SEGMENT_NAMES } from './as-path.js';

export type Json = Record<string, unknown>;

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
export const unhex = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(String(s), 'hex'));

/** Prefix strings, each paired with its path identifier when the family has ADD-PATH. */
function withPathIds(prefixes: string[], pathIds: number[] | null): unknown[] {
  return pathIds ? prefixes.map((prefix, i) => ({ prefix, pathId: pathIds[i] })) : prefixes;
}

/** Inverse of withPathIds: a list of objects means ADD-PATH, a list of strings does not. */
function splitPathIds(list: unknown): { prefixes: string[]; pathIds: number[] | null } {
  const items = (list as unknown[] | undefined) ?? [];
  const withIds = items.length > 0 && typeof items[0] === 'object';
  return {
    prefixes: items.map((x) => (withIds ? String((x as Json).prefix) : String(x))),
    pathIds: withIds ? items.map((x) => Number((x as Json).pathId)) : null,
  };
}

export const prefixesJson = (p: Ipv4Prefixes): unknown[] => withPathIds(p.keys.map(formatPrefix), p.pathIds);

export function prefixesFromJson(list: unknown): Ipv4Prefixes {
  const { prefixes, pathIds } = splitPathIds(list);
  return { keys: prefixes.map((s) => parsePrefix(s, true)), pathIds };
}

// RFC 4271 §5.1.1 names, upper case as the RFC writes them.
export const ORIGIN_NAMES = ['IGP', 'EGP', 'INCOMPLETE'] as const;

export const originFromJson = (v: unknown): Origin => ORIGIN_NAMES.indexOf(v as (typeof ORIGIN_NAMES)[number]) as Origin;

/** RFC 1997 community as "AA:NN" (high and low 16 bits). */
export const communityJson = (c: number): string => `${c >>> 16}:${c & 0xffff}`;

export function communityFromJson(s: string): number {
  const [hi, lo] = s.split(':').map(Number);
  return (hi * 65536 + lo) >>> 0;
}

export function asPathJson(path: AsPathSegment[]): unknown[] {
  return path.map((s) => ({ type: SEGMENT_NAMES[s.type], asns: s.asns }));
}

export function asPathFromJson(list: unknown): AsPathSegment[] {
  return (list as Json[]).map((s) => {
    const entry = Object.entries(SEGMENT_NAMES).find(([, name]) => name === s.type);
    return { type: Number(entry?.[0] ?? 2) as AsPathSegmentType, asns: (s.asns as number[]).slice() };
  });
}

/** MP_REACH / MP_UNREACH of a family the codec does not interpret: its bytes (RFC 4760 §3, §4). */
const rawFamilyJson = (mp: { afi: number; safi: number; raw: Uint8Array }): Json => ({ afi: mp.afi, safi: mp.safi, raw: hex(mp.raw) });

export function mpReachJson(mp: MpReach): Json {
  if ('raw' in mp) return rawFamilyJson(mp);
  const out: Json = { afi: mp.afi, safi: mp.safi, nextHop: mp.nextHops[0] };
  if (mp.nextHops.length > 1) out.linkLocalNextHop = mp.nextHops[1];
  out.nlri = mp.afi === 1 ? prefixesJson(mp.nlri) : withPathIds(mp.nlri.prefixes, mp.nlri.pathIds);
  return out;
}

export function mpReachFromJson(j: Json): MpReach {
  const afi = Number(j.afi);
  const safi = Number(j.safi);
  if (j.raw !== undefined) return { afi, safi, raw: unhex(j.raw) };
  const nextHops = [String(j.nextHop)];
  if (j.linkLocalNextHop !== undefined) nextHops.push(String(j.linkLocalNextHop));
  return afi === 1
    ? { afi: 1, safi, nextHops, nlri: prefixesFromJson(j.nlri) }
    : { afi: 2, safi, nextHops, nlri: splitPathIds(j.nlri) satisfies Ipv6Prefixes };
}

export function mpUnreachJson(mp: MpUnreach): Json {
  if ('raw' in mp) return rawFamilyJson(mp);
  return { afi: mp.afi, safi: mp.safi, withdrawn: mp.afi === 1 ? prefixesJson(mp.withdrawn) : withPathIds(mp.withdrawn.prefixes, mp.withdrawn.pathIds) };
}

export function mpUnreachFromJson(j: Json): MpUnreach {
  const afi = Number(j.afi);
  const safi = Number(j.safi);
  if (j.raw !== undefined) return { afi, safi, raw: unhex(j.raw) };
  return afi === 1
    ? { afi: 1, safi, withdrawn: prefixesFromJson(j.withdrawn) }
    : { afi: 2, safi, withdrawn: splitPathIds(j.withdrawn) satisfies Ipv6Prefixes };
}
