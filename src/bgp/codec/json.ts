/**
 * The JSON form of messages printed by `agent decode` and stored in
 * proto-fixtures/*.json: prefixes as "10.8.94.64/26" strings (objects
 * {prefix, pathId} under ADD-PATH), attributes keyed by name, each as its
 * row of the attribute table writes it (value forms in
 * `attributes/json-values.ts`), bytes as hex. `messageFromJson` is its
 * inverse, for fixtures and tests.
 */
import { formatIpv4, parseIpv4 } from '../prefix.js';
import { notificationName } from './errors.js';
import { ATTRIBUTE_TABLE, attributeName } from './attributes/table.js';
import { hex, prefixesFromJson, prefixesJson, unhex, type Json } from './attributes/json-values.js';
import type { BgpMessage, Capability, PathAttributes } from './types.js';

/** Every known attribute as its table row's member, in table order; then the unknown ones as received. */
export function attributesToJson(a: PathAttributes): Json {
  const out: Json = {};
  for (const row of ATTRIBUTE_TABLE) {
    const value = row.toJson(a);
    if (value !== undefined) out[row.jsonKey] = value;
  }
  if (a.unknown !== undefined) {
    out.unknown = a.unknown.map((u) => ({ code: u.code, name: attributeName(u.code), flags: u.flags, data: hex(u.data) }));
  }
  return out;
}

export function attributesFromJson(j: Json): PathAttributes {
  const a: PathAttributes = {};
  for (const row of ATTRIBUTE_TABLE) {
    const value = j[row.jsonKey];
    if (value !== undefined) row.fromJson(value, a);
  }
  if (j.unknown !== undefined) {
    a.unknown = (j.unknown as Json[]).map((u) => ({ flags: Number(u.flags), code: Number(u.code), data: unhex(u.data) }));
  }
  return a;
}

function capabilityJson(c: Capability): Json {
  if (c.name === 'unknown') return { code: c.code, name: c.name, data: hex(c.data) };
  if (c.name === 'graceful-restart' || c.name === 'add-path') return { ...c, families: c.families.map((f) => ({ ...f })) };
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
