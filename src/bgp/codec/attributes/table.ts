/**
 * The path attribute table (RFC 4271 §5 and the RFCs named per row): one row
 * per attribute code with its name, the Optional/Transitive flags it must
 * carry, the RFC 7606 approach when it is malformed, its decode and encode,
 * its member of the JSON form (`agent decode`, proto-fixtures) and its words
 * in the route line `agent routes` prints. `update.ts` drives decoding from
 * this table, `encodeAttributes` encoding, `json.ts` the JSON form and
 * `displayAttributes` the line; adding an attribute is adding a row.
 */
import {
  AS_TRANS,
  ATTR_AGGREGATOR,
  ATTR_AS4_AGGREGATOR,
  ATTR_AS4_PATH,
  ATTR_AS_PATH,
  ATTR_ATOMIC_AGGREGATE,
  ATTR_CLUSTER_LIST,
  ATTR_COMMUNITIES,
  ATTR_EXTENDED_COMMUNITIES,
  ATTR_LARGE_COMMUNITIES,
  ATTR_LOCAL_PREF,
  ATTR_MED,
  ATTR_MP_REACH_NLRI,
  ATTR_MP_UNREACH_NLRI,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  ATTR_ORIGINATOR_ID,
  AS_CONFED_SEQUENCE,
  AS_CONFED_SET,
  ERR_UPDATE,
  FLAG_EXTENDED_LENGTH,
  FLAG_OPTIONAL,
  FLAG_PARTIAL,
  FLAG_TRANSITIVE,
  UPDATE_ATTRIBUTE_LENGTH,
  UPDATE_INVALID_NEXT_HOP,
  UPDATE_INVALID_ORIGIN,
  UPDATE_OPTIONAL_ATTRIBUTE,
} from '../constants.js';
import { BgpError, type ErrorAction } from '../errors.js';
import { formatIpv4, parseIpv4 } from '../../prefix.js';
import type { Aggregator, DecodeContext, Origin, PathAttributes } from '../types.js';
import { as4PathOf, decodeAsPath, encodeAsPath, formatAsPath, needsAs4Path } from './as-path.js';
import {
  ORIGIN_NAMES,
  asPathFromJson,
  asPathJson,
  communityFromJson,
  communityJson,
  hex,
  mpReachFromJson,
  mpReachJson,
  mpUnreachFromJson,
  mpUnreachJson,
  originFromJson,
  unhex,
  type Json,
} from './json-values.js';
import { concat, decodeMpReach, decodeMpUnreach, encodeMpReach, encodeMpUnreach } from './mp.js';

export const WELL_KNOWN = FLAG_TRANSITIVE; // well-known attributes are transitive, not optional
export const OPTIONAL_TRANSITIVE = FLAG_OPTIONAL | FLAG_TRANSITIVE;
export const OPTIONAL_NON_TRANSITIVE = FLAG_OPTIONAL;

export interface AttributeRow {
  code: number;
  /** RFC name, used in messages and `discarded` notes. */
  name: string;
  /** The Optional and Transitive bits the attribute must carry (RFC 4271 §5). */
  flags: number;
  /** RFC 7606 approach when the attribute is malformed or its flags are wrong. */
  onError: ErrorAction;
  /** Decode `b[start, end)` into `attrs`; throws BgpError on malformed input. */
  decode(b: Uint8Array, start: number, end: number, ctx: DecodeContext, attrs: PathAttributes): void;
  /** The value octets to send for `attrs`, or null when the attribute is absent. */
  encode(attrs: PathAttributes, ctx: DecodeContext): Uint8Array | null;
  /** Its member of the attributes object in the JSON form. */
  jsonKey: string;
  /** That member's value for `attrs`, or undefined when the attribute is absent. */
  toJson(attrs: PathAttributes): unknown;
  /** Set the attribute in `attrs` from that member's value (called only when the member is there). */
  fromJson(value: unknown, attrs: PathAttributes): void;
  /**
   * Its words in the route line of `agent routes` (birdc-like:
   * "[AS path: 64513] IGP localpref 100 med 5"), or null when the line does
   * not show it.
   */
  display(attrs: PathAttributes): string | null;
  /** Where those words stand in the line, lowest first; rows without it follow in table order. */
  displayAt?: number;
}

/**
 * A row's JSON member: named as its PathAttributes field, `to` given the
 * value when the attribute is there, `from` giving it back (undefined: leave
 * it absent).
 */
function jsonMember<K extends Exclude<keyof PathAttributes, 'unknown'>>(
  key: K,
  to: (value: NonNullable<PathAttributes[K]>) => unknown,
  from: (json: unknown) => PathAttributes[K],
): Pick<AttributeRow, 'jsonKey' | 'toJson' | 'fromJson'> {
  return {
    jsonKey: key,
    toJson: (attrs) => (attrs[key] === undefined ? undefined : to(attrs[key]!)),
    fromJson(json, attrs) {
      const value = from(json);
      if (value !== undefined) attrs[key] = value;
    },
  };
}

/** `display` of a row the route line does not show. */
const notInLine = (): null => null;

// The route line's origin words (birdc's lower-case "incomplete"), not the JSON's RFC names.
const ORIGIN_TEXT = ['IGP', 'EGP', 'incomplete'];
export const originText = (origin: number): string => ORIGIN_TEXT[origin] ?? String(origin);

const u32 = (b: Uint8Array, p: number): number => ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
const u32Bytes = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
const ipBytes = (text: string): Uint8Array => u32Bytes(parseIpv4(text));

function lengthError(name: string, len: number): BgpError {
  return new BgpError(ERR_UPDATE, UPDATE_ATTRIBUTE_LENGTH, undefined, `${name} length ${len}`);
}

function fixedLength(name: string, len: number, want: number): void {
  if (len !== want) throw lengthError(name, len);
}

/** Non-zero multiple of `unit` (RFC 7606 §7.8, §7.10, §7.14; RFC 8092 §6). */
function multipleOf(name: string, len: number, unit: number): void {
  if (len === 0 || len % unit !== 0) throw lengthError(name, len);
}

function decodeAggregator(name: string, b: Uint8Array, start: number, end: number, asSize: 2 | 4): Aggregator {
  fixedLength(name, end - start, asSize + 4);
  const asn = asSize === 4 ? u32(b, start) : (b[start] << 8) | b[start + 1];
  return { asn, address: formatIpv4(u32(b, start + asSize)) };
}

function encodeAggregator(agg: Aggregator, asSize: 2 | 4): Uint8Array {
  const as = asSize === 4 ? u32Bytes(agg.asn) : Uint8Array.of(...u32Bytes(agg.asn > 0xffff ? AS_TRANS : agg.asn).subarray(2));
  return concat([as, ipBytes(agg.address)]);
}

function u32List(name: string, b: Uint8Array, start: number, end: number): number[] {
  multipleOf(name, end - start, 4);
  const out: number[] = [];
  for (let p = start; p < end; p += 4) out.push(u32(b, p));
  return out;
}

function u32ListBytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, i) => out.set(u32Bytes(v), 4 * i));
  return out;
}

export const ATTRIBUTE_TABLE: readonly AttributeRow[] = [
  {
    code: ATTR_ORIGIN,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.1
    decode(b, start, end, _ctx, attrs) {
      fixedLength('ORIGIN', end - start, 1);
      if (b[start] > 2) throw new BgpError(ERR_UPDATE, UPDATE_INVALID_ORIGIN, undefined, `ORIGIN ${b[start]}`);
      attrs.origin = b[start] as Origin;
    },
    encode: (attrs) => (attrs.origin === undefined ? null : Uint8Array.of(attrs.origin)),
    ...jsonMember('origin', (o) => ORIGIN_NAMES[o], originFromJson),
    // Shown also when absent, as IGP: the line always says how the route was originated.
    display: (attrs) => originText(attrs.origin ?? 0),
    displayAt: 2,
  },
  {
    code: ATTR_AS_PATH,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.2
    decode(b, start, end, ctx, attrs) {
      attrs.asPath = decodeAsPath(b, start, end, ctx.as4 ? 4 : 2);
    },
    encode: (attrs, ctx) => (attrs.asPath === undefined ? null : encodeAsPath(attrs.asPath, ctx.as4 ? 4 : 2)),
    ...jsonMember('asPath', asPathJson, asPathFromJson),
    // birdc puts the path first, and says so when it is empty (a route from an iBGP peer in the same AS).
    display: (attrs) => `[AS path: ${formatAsPath(attrs.asPath) || '(empty)'}]`,
    displayAt: 1,
  },
  {
    code: ATTR_NEXT_HOP,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.3
    decode(b, start, end, _ctx, attrs) {
      fixedLength('NEXT_HOP', end - start, 4);
      const nh = u32(b, start);
      // RFC 4271 §6.3: syntactically incorrect next hop (unspecified, multicast or class E).
      if (nh === 0 || nh >= 0xe0000000) {
        throw new BgpError(ERR_UPDATE, UPDATE_INVALID_NEXT_HOP, undefined, `NEXT_HOP ${formatIpv4(nh)}`);
      }
      attrs.nextHop = formatIpv4(nh);
    },
    encode: (attrs) => (attrs.nextHop === undefined ? null : ipBytes(attrs.nextHop)),
    ...jsonMember('nextHop', (nh) => nh, String),
    display: notInLine, // the line's "via" column, which also says "local" for our own routes
  },
  {
    code: ATTR_MED,
    name: 'MULTI_EXIT_DISC',
    flags: OPTIONAL_NON_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 7606 §7.4
    decode(b, start, end, _ctx, attrs) {
      fixedLength('MULTI_EXIT_DISC', end - start, 4);
      attrs.med = u32(b, start);
    },
    encode: (attrs) => (attrs.med === undefined ? null : u32Bytes(attrs.med)),
    ...jsonMember('med', (m) => m, Number),
    display: (attrs) => (attrs.med === undefined ? null : `med ${attrs.med}`),
    displayAt: 4,
  },
  {
    code: ATTR_LOCAL_PREF,
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.5
    decode(b, start, end, _ctx, attrs) {
      fixedLength('LOCAL_PREF', end - start, 4);
      attrs.localPref = u32(b, start);
    },
    encode: (attrs) => (attrs.localPref === undefined ? null : u32Bytes(attrs.localPref)),
    ...jsonMember('localPref', (lp) => lp, Number),
    display: (attrs) => (attrs.localPref === undefined ? null : `localpref ${attrs.localPref}`),
    displayAt: 3,
  },
  {
    code: ATTR_ATOMIC_AGGREGATE,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    onError: 'attribute-discard', // RFC 7606 §7.6
    decode(_b, start, end, _ctx, attrs) {
      fixedLength('ATOMIC_AGGREGATE', end - start, 0);
      attrs.atomicAggregate = true;
    },
    encode: (attrs) => (attrs.atomicAggregate ? new Uint8Array(0) : null),
    ...jsonMember('atomicAggregate', () => true, (v) => (v ? true : undefined)),
    display: notInLine,
  },
  {
    code: ATTR_AGGREGATOR,
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard', // RFC 7606 §7.7
    decode(b, start, end, ctx, attrs) {
      attrs.aggregator = decodeAggregator('AGGREGATOR', b, start, end, ctx.as4 ? 4 : 2);
    },
    encode: (attrs, ctx) => (attrs.aggregator === undefined ? null : encodeAggregator(attrs.aggregator, ctx.as4 ? 4 : 2)),
    ...jsonMember('aggregator', (agg) => ({ ...agg }), (v) => ({ ...(v as Aggregator) })),
    display: notInLine,
  },
  {
    code: ATTR_COMMUNITIES,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 7606 §7.8
    decode(b, start, end, _ctx, attrs) {
      attrs.communities = u32List('COMMUNITIES', b, start, end);
    },
    encode: (attrs) => (attrs.communities === undefined ? null : u32ListBytes(attrs.communities)),
    ...jsonMember('communities', (list) => list.map(communityJson), (v) => (v as string[]).map(communityFromJson)),
    display: notInLine,
  },
  {
    code: ATTR_ORIGINATOR_ID,
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL_NON_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 7606 §7.9
    decode(b, start, end, _ctx, attrs) {
      fixedLength('ORIGINATOR_ID', end - start, 4);
      attrs.originatorId = formatIpv4(u32(b, start));
    },
    encode: (attrs) => (attrs.originatorId === undefined ? null : ipBytes(attrs.originatorId)),
    ...jsonMember('originatorId', (id) => id, String),
    display: notInLine,
  },
  {
    code: ATTR_CLUSTER_LIST,
    name: 'CLUSTER_LIST',
    flags: OPTIONAL_NON_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 7606 §7.10
    decode(b, start, end, _ctx, attrs) {
      attrs.clusterList = u32List('CLUSTER_LIST', b, start, end).map(formatIpv4);
    },
    encode: (attrs) => (attrs.clusterList === undefined ? null : u32ListBytes(attrs.clusterList.map(parseIpv4))),
    ...jsonMember('clusterList', (list) => list.slice(), (v) => (v as string[]).slice()),
    display: notInLine,
  },
  {
    code: ATTR_MP_REACH_NLRI,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL_NON_TRANSITIVE,
    onError: 'session-reset', // RFC 7606 §7.11
    decode(b, start, end, ctx, attrs) {
      attrs.mpReach = decodeMpReach(b, start, end, ctx);
    },
    encode: (attrs, ctx) => (attrs.mpReach === undefined ? null : encodeMpReach(attrs.mpReach, ctx)),
    ...jsonMember('mpReach', mpReachJson, (v) => mpReachFromJson(v as Json)),
    display: notInLine,
  },
  {
    code: ATTR_MP_UNREACH_NLRI,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL_NON_TRANSITIVE,
    onError: 'session-reset', // RFC 7606 §7.12
    decode(b, start, end, ctx, attrs) {
      attrs.mpUnreach = decodeMpUnreach(b, start, end, ctx);
    },
    encode: (attrs, ctx) => (attrs.mpUnreach === undefined ? null : encodeMpUnreach(attrs.mpUnreach, ctx)),
    ...jsonMember('mpUnreach', mpUnreachJson, (v) => mpUnreachFromJson(v as Json)),
    display: notInLine,
  },
  {
    code: ATTR_EXTENDED_COMMUNITIES,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 7606 §7.14
    decode(b, start, end, _ctx, attrs) {
      multipleOf('EXTENDED_COMMUNITIES', end - start, 8);
      const list: Uint8Array[] = [];
      for (let p = start; p < end; p += 8) list.push(b.slice(p, p + 8));
      attrs.extendedCommunities = list;
    },
    encode: (attrs) => (attrs.extendedCommunities === undefined ? null : concat(attrs.extendedCommunities)),
    ...jsonMember('extendedCommunities', (list) => list.map(hex), (v) => (v as string[]).map(unhex)),
    display: notInLine,
  },
  {
    code: ATTR_AS4_PATH,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard', // RFC 6793 §6, RFC 7606 §7.13
    decode(b, start, end, _ctx, attrs) {
      const path = decodeAsPath(b, start, end, 4);
      // RFC 6793 §6: confederation segments in AS4_PATH make it malformed.
      if (path.some((s) => s.type === AS_CONFED_SEQUENCE || s.type === AS_CONFED_SET)) {
        throw new BgpError(ERR_UPDATE, UPDATE_OPTIONAL_ATTRIBUTE, undefined, 'AS4_PATH with confederation segment');
      }
      attrs.as4Path = path;
    },
    encode(attrs, ctx) {
      if (attrs.as4Path !== undefined) return encodeAsPath(attrs.as4Path, 4);
      // RFC 6793 §4.2.2: a 2-octet peer gets the real path in AS4_PATH when AS_PATH needed AS_TRANS.
      if (!ctx.as4 && attrs.asPath && needsAs4Path(attrs.asPath)) return encodeAsPath(as4PathOf(attrs.asPath), 4);
      return null;
    },
    ...jsonMember('as4Path', asPathJson, asPathFromJson),
    display: notInLine,
  },
  {
    code: ATTR_AS4_AGGREGATOR,
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard', // RFC 6793 §6, RFC 7606 §7.13
    decode(b, start, end, _ctx, attrs) {
      attrs.as4Aggregator = decodeAggregator('AS4_AGGREGATOR', b, start, end, 4);
    },
    encode(attrs, ctx) {
      if (attrs.as4Aggregator !== undefined) return encodeAggregator(attrs.as4Aggregator, 4);
      if (!ctx.as4 && attrs.aggregator && attrs.aggregator.asn > 0xffff) return encodeAggregator(attrs.aggregator, 4);
      return null;
    },
    ...jsonMember('as4Aggregator', (agg) => ({ ...agg }), (v) => ({ ...(v as Aggregator) })),
    display: notInLine,
  },
  {
    code: ATTR_LARGE_COMMUNITIES,
    name: 'LARGE_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 8092 §6
    decode(b, start, end, _ctx, attrs) {
      multipleOf('LARGE_COMMUNITY', end - start, 12);
      const list: [number, number, number][] = [];
      for (let p = start; p < end; p += 12) list.push([u32(b, p), u32(b, p + 4), u32(b, p + 8)]);
      attrs.largeCommunities = list;
    },
    encode: (attrs) =>
      attrs.largeCommunities === undefined ? null : u32ListBytes(attrs.largeCommunities.flat()),
    ...jsonMember('largeCommunities', (list) => list.map((l) => l.join(':')), (v) => (v as string[]).map((t) => t.split(':').map(Number) as [number, number, number])),
    display: notInLine,
  },
];

/** Rows by attribute code (undefined for codes the codec does not interpret). */
export const ATTRIBUTE_BY_CODE: (AttributeRow | undefined)[] = new Array(256);
for (const row of ATTRIBUTE_TABLE) ATTRIBUTE_BY_CODE[row.code] = row;

/** The rows in the order their words stand in the route line (a stable sort keeps table order among equals). */
const DISPLAY_ORDER = [...ATTRIBUTE_TABLE].sort((a, b) => (a.displayAt ?? Infinity) - (b.displayAt ?? Infinity));

/**
 * The attributes of a path as the route line of `agent routes` shows them,
 * every row's words in display order: "[AS path: 64513] IGP localpref 100".
 */
export function displayAttributes(attrs: PathAttributes): string {
  const words: string[] = [];
  for (const row of DISPLAY_ORDER) {
    const w = row.display(attrs);
    if (w !== null) words.push(w);
  }
  return words.join(' ');
}

export function attributeName(code: number): string {
  return ATTRIBUTE_BY_CODE[code]?.name ?? `ATTR_${code}`;
}

/**
 * Write one attribute (flags, code, length, value) into `parts`. The
 * Extended Length bit is set exactly when the value exceeds 255 octets.
 */
export function attributeBytes(flags: number, code: number, value: Uint8Array): Uint8Array {
  const ext = value.length > 255;
  const out = new Uint8Array((ext ? 4 : 3) + value.length);
  out[0] = ext ? flags | FLAG_EXTENDED_LENGTH : flags & ~FLAG_EXTENDED_LENGTH;
  out[1] = code;
  if (ext) {
    out[2] = value.length >>> 8;
    out[3] = value.length & 255;
    out.set(value, 4);
  } else {
    out[2] = value.length;
    out.set(value, 3);
  }
  return out;
}

/** Encoding order: MP_REACH_NLRI and MP_UNREACH_NLRI first (RFC 7606 §5.1), then ascending code (RFC 4271 §5). */
function encodeRank(code: number): number {
  return code === ATTR_MP_REACH_NLRI ? -2 : code === ATTR_MP_UNREACH_NLRI ? -1 : code;
}

/**
 * The path-attribute section for `attrs` as sent on a session with `ctx`.
 * Unknown optional transitive attributes go out with the Partial bit set
 * (RFC 4271 §5); unknown non-transitive ones are sent only if present here
 * (dropping them when re-advertising is the RIB's decision).
 */
export function encodeAttributes(attrs: PathAttributes, ctx: DecodeContext): Buffer {
  const entries: { rank: number; bytes: Uint8Array }[] = [];
  for (const row of ATTRIBUTE_TABLE) {
    const value = row.encode(attrs, ctx);
    if (value !== null) entries.push({ rank: encodeRank(row.code), bytes: attributeBytes(row.flags, row.code, value) });
  }
  for (const u of attrs.unknown ?? []) {
    const transitiveOptional = (u.flags & OPTIONAL_TRANSITIVE) === OPTIONAL_TRANSITIVE;
    const flags = transitiveOptional ? u.flags | FLAG_PARTIAL : u.flags;
    entries.push({ rank: encodeRank(u.code), bytes: attributeBytes(flags, u.code, u.data) });
  }
  entries.sort((a, b) => a.rank - b.rank);
  return Buffer.from(concat(entries.map((e) => e.bytes)));
}
