/**
 * The JSON form of messages printed by `agent decode` and stored in
 * proto-fixtures/*.json: prefixes as "10.8.94.64/26" strings (objects
 * {prefix, pathId} under ADD-PATH), attributes keyed by name, bytes as hex.
 * `messageFromJson` is its inverse, for fixtures and tests.
 */
import { formatIpv4, formatPrefix, parseIpv4, parsePrefix } from '../prefix.js';
import { notificationName } from './errors.js';
import { SEGMENT_NAMES } from './attributes/as-path.js';
import { attributeName } from './attributes/table.js';
import type {
  AsPathSegment,
  AsPathSegmentType,
  BgpMessage,
  Capability,
  Ipv4Prefixes,
  Ipv6Prefixes,
  MpReach,
  MpUnreach,
  Origin,
  PathAttributes,
} from './types.js';

type Json = Record<string, unknown>;

const ORIGIN_NAMES = ['IGP', 'EGP', 'INCOMPLETE'] as const;
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const unhex = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(String(s), 'hex'));

function prefixesJson(p: Ipv4Prefixes): unknown[] {
  return p.keys.map((k, i) => (p.pathIds ? { prefix: formatPrefix(k), pathId: p.pathIds[i] } : formatPrefix(k)));
}

function ipv6PrefixesJson(p: Ipv6Prefixes): unknown[] {
  return p.prefixes.map((s, i) => (p.pathIds ? { prefix: s, pathId: p.pathIds[i] } : s));
}

function prefixesFromJson(list: unknown): Ipv4Prefixes {
  const items = (list as unknown[] | undefined) ?? [];
  const withIds = items.length > 0 && typeof items[0] === 'object';
  return {
    keys: items.map((x) => parsePrefix(withIds ? String((x as Json).prefix) : String(x), true)),
    pathIds: withIds ? items.map((x) => Number((x as Json).pathId)) : null,
  };
}

function ipv6PrefixesFromJson(list: unknown): Ipv6Prefixes {
  const items = (list as unknown[] | undefined) ?? [];
  const withIds = items.length > 0 && typeof items[0] === 'object';
  return {
    prefixes: items.map((x) => (withIds ? String((x as Json).prefix) : String(x))),
    pathIds: withIds ? items.map((x) => Number((x as Json).pathId)) : null,
  };
}

const community = (c: number): string => `${c >>> 16}:${c & 0xffff}`;
function communityFromJson(s: string): number {
  const [hi, lo] = s.split(':').map(Number);
  return (hi * 65536 + lo) >>> 0;
}

function asPathJson(path: AsPathSegment[]): unknown[] {
  return path.map((s) => ({ type: SEGMENT_NAMES[s.type], asns: s.asns }));
}

function asPathFromJson(list: unknown): AsPathSegment[] {
  return (list as Json[]).map((s) => {
    const entry = Object.entries(SEGMENT_NAMES).find(([, name]) => name === s.type);
    return { type: Number(entry?.[0] ?? 2) as AsPathSegmentType, asns: (s.asns as number[]).slice() };
  });
}

function mpReachJson(mp: MpReach): Json {
  if ('raw' in mp) return { afi: mp.afi, safi: mp.safi, raw: hex(mp.raw) };
  const out: Json = { afi: mp.afi, safi: mp.safi, nextHop: mp.nextHops[0] };
  if (mp.nextHops.length > 1) out.linkLocalNextHop = mp.nextHops[1];
  out.nlri = mp.afi === 1 ? prefixesJson(mp.nlri) : ipv6PrefixesJson(mp.nlri);
  return out;
}

function mpReachFromJson(j: Json): MpReach {
  const afi = Number(j.afi);
  const safi = Number(j.safi);
  if (j.raw !== undefined) return { afi, safi, raw: unhex(j.raw) };
  const nextHops = [String(j.nextHop)];
  if (j.linkLocalNextHop !== undefined) nextHops.push(String(j.linkLocalNextHop));
  return afi === 1
    ? { afi: 1, safi, nextHops, nlri: prefixesFromJson(j.nlri) }
    : { afi: 2, safi, nextHops, nlri: ipv6PrefixesFromJson(j.nlri) };
}

function mpUnreachJson(mp: MpUnreach): Json {
  if ('raw' in mp) return { afi: mp.afi, safi: mp.safi, raw: hex(mp.raw) };
  return { afi: mp.afi, safi: mp.safi, withdrawn: mp.afi === 1 ? prefixesJson(mp.withdrawn) : ipv6PrefixesJson(mp.withdrawn) };
}

function mpUnreachFromJson(j: Json): MpUnreach {
  const afi = Number(j.afi);
  const safi = Number(j.safi);
  if (j.raw !== undefined) return { afi, safi, raw: unhex(j.raw) };
  return afi === 1
    ? { afi: 1, safi, withdrawn: prefixesFromJson(j.withdrawn) }
    : { afi: 2, safi, withdrawn: ipv6PrefixesFromJson(j.withdrawn) };
}

export function attributesToJson(a: PathAttributes): Json {
  const out: Json = {};
  if (a.origin !== undefined) out.origin = ORIGIN_NAMES[a.origin];
  if (a.asPath !== undefined) out.asPath = asPathJson(a.asPath);
  if (a.nextHop !== undefined) out.nextHop = a.nextHop;
  if (a.med !== undefined) out.med = a.med;
  if (a.localPref !== undefined) out.localPref = a.localPref;
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator !== undefined) out.aggregator = { ...a.aggregator };
  if (a.communities !== undefined) out.communities = a.communities.map(community);
  if (a.originatorId !== undefined) out.originatorId = a.originatorId;
  if (a.clusterList !== undefined) out.clusterList = a.clusterList.slice();
  if (a.mpReach !== undefined) out.mpReach = mpReachJson(a.mpReach);
  if (a.mpUnreach !== undefined) out.mpUnreach = mpUnreachJson(a.mpUnreach);
  if (a.extendedCommunities !== undefined) out.extendedCommunities = a.extendedCommunities.map(hex);
  if (a.as4Path !== undefined) out.as4Path = asPathJson(a.as4Path);
  if (a.as4Aggregator !== undefined) out.as4Aggregator = { ...a.as4Aggregator };
  if (a.largeCommunities !== undefined) out.largeCommunities = a.largeCommunities.map((l) => l.join(':'));
  if (a.unknown !== undefined) {
    out.unknown = a.unknown.map((u) => ({ code: u.code, name: attributeName(u.code), flags: u.flags, data: hex(u.data) }));
  }
  return out;
}

export function attributesFromJson(j: Json): PathAttributes {
  const a: PathAttributes = {};
  if (j.origin !== undefined) a.origin = ORIGIN_NAMES.indexOf(j.origin as (typeof ORIGIN_NAMES)[number]) as Origin;
  if (j.asPath !== undefined) a.asPath = asPathFromJson(j.asPath);
  if (j.nextHop !== undefined) a.nextHop = String(j.nextHop);
  if (j.med !== undefined) a.med = Number(j.med);
  if (j.localPref !== undefined) a.localPref = Number(j.localPref);
  if (j.atomicAggregate) a.atomicAggregate = true;
  if (j.aggregator !== undefined) a.aggregator = { ...(j.aggregator as { asn: number; address: string }) };
  if (j.communities !== undefined) a.communities = (j.communities as string[]).map(communityFromJson);
  if (j.originatorId !== undefined) a.originatorId = String(j.originatorId);
  if (j.clusterList !== undefined) a.clusterList = (j.clusterList as string[]).slice();
  if (j.mpReach !== undefined) a.mpReach = mpReachFromJson(j.mpReach as Json);
  if (j.mpUnreach !== undefined) a.mpUnreach = mpUnreachFromJson(j.mpUnreach as Json);
  if (j.extendedCommunities !== undefined) a.extendedCommunities = (j.extendedCommunities as string[]).map(unhex);
  if (j.as4Path !== undefined) a.as4Path = asPathFromJson(j.as4Path);
  if (j.as4Aggregator !== undefined) a.as4Aggregator = { ...(j.as4Aggregator as { asn: number; address: string }) };
  if (j.largeCommunities !== undefined) {
    a.largeCommunities = (j.largeCommunities as string[]).map((s) => s.split(':').map(Number) as [number, number, number]);
  }
  if (j.unknown !== undefined) {
    a.unknown = (j.unknown as Json[]).map((u) => ({ flags: Number(u.flags), code: Number(u.code), data: unhex(u.data) }));
  }
  return a;
}

function capabilityJson(c: Capability): Json {
  if (c.name === 'unknown') return { code: c.code, name: c.name, data: hex(c.data) };
  if (c.name === 'graceful-restart') return { ...c, families: c.families.map((f) => ({ ...f })) };
  if (c.name === 'add-path') return { ...c, families: c.families.map((f) => ({ ...f })) };
  return { ...c };
}

function capabilityFromJson(j: Json): Capability {
  if (j.name === 'unknown') return { code: Number(j.code), name: 'unknown', data: unhex(j.data) };
  return JSON.parse(JSON.stringify(j)) as Capability;
}

/** The `agent decode` JSON of a message. */
export function messageToJson(msg: BgpMessage): Json {
  switch (msg.type) {
    case 'OPEN': {
      const out: Json = {
        type: msg.type,
        version: msg.version,
        myAs: msg.myAs,
        holdTime: msg.holdTime,
        bgpId: msg.bgpId,
        capabilities: msg.capabilities.map(capabilityJson),
      };
      if (msg.otherParams?.length) out.otherParams = msg.otherParams.map((o) => ({ type: o.type, data: hex(o.data) }));
      if (msg.paramGrouping) out.paramGrouping = msg.paramGrouping.slice();
      return out;
    }
    case 'UPDATE': {
      const out: Json = {
        type: msg.type,
        withdrawn: prefixesJson(msg.withdrawn),
        attributes: attributesToJson(msg.attributes),
        nlri: prefixesJson(msg.nlri),
      };
      if (msg.treatAsWithdraw) out.treatAsWithdraw = { ...msg.treatAsWithdraw };
      if (msg.discarded) {
        out.discarded = msg.discarded.map((d) => ({ attributeCode: d.attributeCode, name: attributeName(d.attributeCode), reason: d.reason }));
      }
      return out;
    }
    case 'NOTIFICATION': {
      const out: Json = {
        type: msg.type,
        code: msg.code,
        subcode: msg.subcode,
        name: notificationName(msg.code, msg.subcode),
        data: hex(msg.data),
      };
      // RFC 9003: Administrative Shutdown / Reset carry a length-prefixed UTF-8 message.
      if (msg.code === 6 && (msg.subcode === 2 || msg.subcode === 4) && msg.data.length > 0 && msg.data[0] === msg.data.length - 1) {
        out.shutdownMessage = Buffer.from(msg.data.subarray(1)).toString('utf8');
      }
      return out;
    }
    case 'KEEPALIVE':
      return { type: msg.type };
    case 'ROUTE-REFRESH':
      return { type: msg.type, afi: msg.afi, safi: msg.safi, subtype: msg.subtype };
  }
}

/** Inverse of messageToJson (names and derived fields are ignored). */
export function messageFromJson(j: Json): BgpMessage {
  switch (j.type) {
    case 'OPEN': {
      const msg: BgpMessage = {
        type: 'OPEN',
        version: Number(j.version),
        myAs: Number(j.myAs),
        holdTime: Number(j.holdTime),
        bgpId: formatIpv4(parseIpv4(String(j.bgpId))),
        capabilities: ((j.capabilities as Json[] | undefined) ?? []).map(capabilityFromJson),
      };
      if (j.otherParams) msg.otherParams = (j.otherParams as Json[]).map((o) => ({ type: Number(o.type), data: unhex(o.data) }));
      if (j.paramGrouping) msg.paramGrouping = (j.paramGrouping as number[]).slice();
      return msg;
    }
    case 'UPDATE':
      return {
        type: 'UPDATE',
        withdrawn: prefixesFromJson(j.withdrawn),
        attributes: attributesFromJson((j.attributes as Json | undefined) ?? {}),
        nlri: prefixesFromJson(j.nlri),
      };
    case 'NOTIFICATION':
      return { type: 'NOTIFICATION', code: Number(j.code), subcode: Number(j.subcode), data: unhex(j.data ?? '') };
    case 'KEEPALIVE':
      return { type: 'KEEPALIVE' };
    case 'ROUTE-REFRESH':
      return { type: 'ROUTE-REFRESH', afi: Number(j.afi), safi: Number(j.safi), subtype: Number(j.subtype ?? 0) };
    default:
      throw new TypeError(`unknown message type ${String(j.type)}`);
  }
}
