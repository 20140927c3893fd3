/**
 * UPDATE error handling byte by byte (RFC 4271 §6.3, RFC 7606, RFC 4760,
 * RFC 6793), for the codec's mutation-testing survivors: which error each
 * malformation raises and with which action (session reset, treat-as-
 * withdraw, attribute discard), the NOTIFICATION data, repeated attributes,
 * mandatory attributes with MP_REACH-only UPDATEs, AS4 merging and the
 * message size limit on encode.
 */
import { describe, expect, it } from 'vitest';
import { BgpError, decodeMessage, encodeMessage, type DecodeContext, type UpdateMessage } from '../../../src/bgp/codec/index.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';

const AS4: DecodeContext = { as4: true, addPath: new Set(), extendedMessage: false };
const AS2: DecodeContext = { as4: false, addPath: new Set(), extendedMessage: false };

const attr = (flags: number, code: number, value: number[]) =>
  flags & 0x10 ? [flags, code, value.length >> 8, value.length & 255, ...value] : [flags, code, value.length, ...value];
const ORIGIN = attr(0x40, 1, [0]);
const ASPATH4 = attr(0x40, 2, [2, 1, 0, 0, 0xfc, 0x00]); // AS_SEQUENCE [64512], 4-octet
const NEXTHOP = attr(0x40, 3, [10, 0, 0, 1]);
const NLRI = [24, 10, 1, 2]; // 10.1.2.0/24

/** A whole UPDATE: header, withdrawn routes, attributes, NLRI; lengths as given unless overridden. */
function update(parts: { withdrawn?: number[]; attrs?: number[][]; nlri?: number[]; withdrawnLength?: number; attrLength?: number }): Buffer {
  const w = parts.withdrawn ?? [];
  const a = (parts.attrs ?? []).flat();
  const n = parts.nlri ?? [];
  const body = [(parts.withdrawnLength ?? w.length) >> 8, (parts.withdrawnLength ?? w.length) & 255, ...w, (parts.attrLength ?? a.length) >> 8, (parts.attrLength ?? a.length) & 255, ...a, ...n];
  const len = 19 + body.length;
  return Buffer.from([...Array(16).fill(0xff), len >> 8, len & 255, 2, ...body]);
}

function error(bytes: Buffer, ctx = AS4): BgpError {
  try {
    decodeMessage(bytes, ctx);
  } catch (e) {
    if (e instanceof BgpError) return e;
    throw e;
  }
  throw new Error('decoded without error');
}
const decode = (bytes: Buffer, ctx = AS4) => decodeMessage(bytes, ctx) as UpdateMessage;

// IPv6 MP_REACH: AFI 2 SAFI 1, next hop 2001:db8::1, reserved, 2001:db8:1::/48
const V6NH = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const mpReach6 = (nh = V6NH, nlri = [48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]) => attr(0x80, 14, [0, 2, 1, nh.length, ...nh, 0, ...nlri]);

describe('UPDATE errors: code, subcode, action', () => {
  it('Withdrawn Routes Length past the message: 3/1, session reset', () => {
    const e = error(update({ withdrawn: [24, 10, 1, 2], withdrawnLength: 40 }));
    expect([e.code, e.subcode, e.action]).toEqual([3, 1, 'session-reset']);
    expect(e.message).toMatch(/Withdrawn Routes Length/);
    // Exactly fitting is fine: withdrawn + the 2-octet attribute length end the message.
    expect(decode(update({ withdrawn: [24, 10, 1, 2] })).withdrawn.keys).toEqual([parsePrefix('10.1.2.0/24')]);
  });

  it('Total Path Attribute Length past the message: 3/1, session reset', () => {
    const e = error(update({ attrs: [ORIGIN], attrLength: 30 }));
    expect([e.code, e.subcode, e.action]).toEqual([3, 1, 'session-reset']);
  });

  it('a truncated attribute header or value is treat-as-withdraw (RFC 7606 §4), not a reset', () => {
    const m = decode(update({ attrs: [ORIGIN, ASPATH4, NEXTHOP, [0x40, 5]], nlri: NLRI }));
    expect(m.treatAsWithdraw).toMatchObject({ code: 3, subcode: 1 });
    const v = decode(update({ attrs: [ORIGIN, ASPATH4, NEXTHOP, [0x40, 5, 4, 0, 0]], nlri: NLRI }));
    expect(v.treatAsWithdraw).toMatchObject({ code: 3, subcode: 1, reason: 'attribute 5 overruns the attribute section' });
    expect(v.nlri.keys).toEqual([parsePrefix('10.1.2.0/24')]); // the NLRI is still located
  });

  it('a repeated MP_REACH_NLRI or MP_UNREACH_NLRI resets the session; another repeat is discarded, the first kept (RFC 7606 §3 g)', () => {
    for (const mp of [mpReach6(), attr(0x80, 15, [0, 2, 1])]) {
      const e = error(update({ attrs: [ORIGIN, ASPATH4, mp, mp] }));
      expect([e.code, e.subcode, e.action]).toEqual([3, 1, 'session-reset']);
    }
    const m = decode(update({ attrs: [ORIGIN, ASPATH4, NEXTHOP, attr(0x40, 5, [0, 0, 0, 100]), attr(0x40, 5, [0, 0, 0, 200])], nlri: NLRI }));
    expect(m.attributes.localPref).toBe(100);
    expect(m.discarded).toEqual([{ attributeCode: 5, reason: 'repeated attribute', code: 3, subcode: 1 }]);
    expect(m.treatAsWithdraw).toBeUndefined();
  });

  it('an unrecognized well-known attribute resets with 3/2 and the attribute as data; an unknown optional one is kept', () => {
    const bad = attr(0x40, 99, [1, 2]);
    const e = error(update({ attrs: [ORIGIN, ASPATH4, NEXTHOP, bad], nlri: NLRI }));
    expect([e.code, e.subcode, e.action]).toEqual([3, 2, 'session-reset']);
    expect([...e.data]).toEqual(bad);
    const m = decode(update({ attrs: [ORIGIN, ASPATH4, NEXTHOP, attr(0xc0, 99, [1, 2])], nlri: NLRI }));
    expect(m.attributes.unknown?.map((u) => ({ ...u, data: [...u.data] }))).toEqual([{ flags: 0xc0, code: 99, data: [1, 2] }]);
  });

  it('wrong flags on a known attribute: 3/4 with the whole attribute as data, handled by the attribute\'s own action', () => {
    const lp = attr(0xc0, 5, [0, 0, 0, 1]); // LOCAL_PREF marked optional transitive
    const m = decode(update({ attrs: [ORIGIN, ASPATH4, NEXTHOP, lp], nlri: NLRI }));
    const note = [...(m.discarded ?? []), ...(m.treatAsWithdraw ? [m.treatAsWithdraw] : [])][0];
    expect(note).toMatchObject({ code: 3, subcode: 4 });
    expect(m.attributes.localPref).toBeUndefined();
  });

  it('a malformed value carries the attribute as NOTIFICATION data when the subcode calls for it (RFC 4271 §6.3)', () => {
    // ORIGIN value 7 is invalid (3/6, data = the attribute): a session-reset decision is the attribute table's, the data is the codec's.
    const bad = attr(0x40, 1, [7]);
    const m = (() => {
      try {
        return decode(update({ attrs: [bad, ASPATH4, NEXTHOP], nlri: NLRI }));
      } catch (e) {
        return e as BgpError;
      }
    })();
    const info = m instanceof BgpError ? { code: m.code, subcode: m.subcode, data: [...m.data] } : m.treatAsWithdraw;
    expect(info).toMatchObject({ code: 3, subcode: 6 });
    if (m instanceof BgpError) expect([...m.data]).toEqual(bad);
  });
});

describe('UPDATE: mandatory attributes (RFC 4271 §6.3, RFC 7606 §3 d)', () => {
  it('an MP_REACH-only UPDATE without ORIGIN or AS_PATH is treat-as-withdraw; NEXT_HOP is not needed there', () => {
    expect(decode(update({ attrs: [ASPATH4, mpReach6()] })).treatAsWithdraw).toEqual({ code: 3, subcode: 3, reason: 'Missing Well-known Attribute 1' });
    expect(decode(update({ attrs: [ORIGIN, mpReach6()] })).treatAsWithdraw).toEqual({ code: 3, subcode: 3, reason: 'Missing Well-known Attribute 2' });
    expect(decode(update({ attrs: [ORIGIN, ASPATH4, mpReach6()] })).treatAsWithdraw).toBeUndefined();
    // Classic NLRI needs NEXT_HOP.
    expect(decode(update({ attrs: [ORIGIN, ASPATH4], nlri: NLRI })).treatAsWithdraw).toEqual({ code: 3, subcode: 3, reason: 'Missing Well-known Attribute 3' });
  });

  it('no NLRI at all (withdrawals, End-of-RIB, an empty MP_REACH) needs no mandatory attribute', () => {
    expect(decode(update({ withdrawn: NLRI })).treatAsWithdraw).toBeUndefined();
    expect(decode(update({ attrs: [mpReach6(V6NH, [])] })).treatAsWithdraw).toBeUndefined();
    expect(decode(update({ attrs: [attr(0x80, 15, [0, 2, 1])] })).treatAsWithdraw).toBeUndefined();
  });

  it('an MP_REACH of a family carried as bytes still counts as NLRI', () => {
    const raw = attr(0x80, 14, [0, 1, 128, 4, 10, 0, 0, 1, 0, 1, 2, 3]); // IPv4 SAFI 128: not interpreted
    const m = decode(update({ attrs: [raw] }));
    expect(m.attributes.mpReach).toMatchObject({ afi: 1, safi: 128 });
    expect(m.treatAsWithdraw).toMatchObject({ subcode: 3 });
    // And it goes out byte for byte.
    const again = Buffer.from(encodeMessage({ ...m, treatAsWithdraw: undefined, attributes: { ...m.attributes, origin: 0, asPath: [] } }, AS4));
    expect(again.includes(Buffer.from(raw))).toBe(true);
  });
});

describe('MP_REACH_NLRI / MP_UNREACH_NLRI malformations: 3/9, session reset (RFC 4760 §7, RFC 7606 §7.11)', () => {
  const reset = (a: number[]) => {
    const e = error(update({ attrs: [ORIGIN, ASPATH4, a] }));
    expect([e.code, e.subcode, e.action]).toEqual([3, 9, 'session-reset']);
    return e;
  };
  it('too short, next hop overrunning, a next-hop length that fits no family', () => {
    const short = attr(0x80, 14, [0, 2, 1, 16]);
    const e = reset(short);
    expect(e.message).toMatch(/too short/);
    // RFC 4271 §6.3: the NOTIFICATION data of an Optional Attribute Error is the attribute.
    expect([...e.data]).toEqual(short);
    expect(reset(attr(0x80, 14, [0, 2, 1, 16, ...V6NH])).message).toMatch(/next hop overruns/); // no reserved octet
    expect(reset(attr(0x80, 14, [0, 2, 1, 4, 10, 0, 0, 1, 0])).message).toMatch(/next hop length 4 for AFI 2/);
    expect(reset(attr(0x80, 14, [0, 1, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0])).message).toMatch(/next hop length 8 for AFI 1/);
    expect(reset(attr(0x80, 15, [0, 2])).message).toMatch(/too short/);
  });
  it('IPv4 in MP_REACH with a 4-octet next hop, IPv6 with global + link-local, IPv4 NLRI with an IPv6 next hop (RFC 8950)', () => {
    expect(decode(update({ attrs: [ORIGIN, ASPATH4, attr(0x80, 14, [0, 1, 1, 4, 10, 0, 0, 9, 0, 24, 10, 9, 9])] })).attributes.mpReach).toEqual({
      afi: 1, safi: 1, nextHops: ['10.0.0.9'], nlri: { keys: [parsePrefix('10.9.9.0/24')], pathIds: null },
    });
    const ll = [0xfe, 0x80, ...Array(13).fill(0), 1];
    expect(decode(update({ attrs: [ORIGIN, ASPATH4, mpReach6([...V6NH, ...ll])] })).attributes.mpReach).toMatchObject({ afi: 2, nextHops: ['2001:db8::1', 'fe80::1'] });
    expect(decode(update({ attrs: [ORIGIN, ASPATH4, attr(0x80, 14, [0, 1, 1, 16, ...V6NH, 0, 24, 10, 9, 9])] })).attributes.mpReach).toMatchObject({ afi: 1, nextHops: ['2001:db8::1'] });
  });
  it('MP_UNREACH for IPv4 and IPv6, and for a family carried as bytes', () => {
    expect(decode(update({ attrs: [attr(0x80, 15, [0, 1, 1, 24, 10, 9, 9])] })).attributes.mpUnreach).toEqual({ afi: 1, safi: 1, withdrawn: { keys: [parsePrefix('10.9.9.0/24')], pathIds: null } });
    expect(decode(update({ attrs: [attr(0x80, 15, [0, 2, 1, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 1])] })).attributes.mpUnreach).toEqual({ afi: 2, safi: 1, withdrawn: { prefixes: ['2001:db8:1::/48'], pathIds: null } });
    const raw = decode(update({ attrs: [attr(0x80, 15, [0, 2, 133, 1, 2, 3])] })).attributes.mpUnreach!;
    expect({ ...raw, raw: 'raw' in raw ? [...raw.raw] : null }).toEqual({ afi: 2, safi: 133, raw: [1, 2, 3] });
    const enc = Buffer.from(encodeMessage({ type: 'UPDATE', withdrawn: { keys: [], pathIds: null }, nlri: { keys: [], pathIds: null }, attributes: { mpUnreach: raw } }, AS4));
    expect(enc.subarray(23)).toEqual(Buffer.from(attr(0x80, 15, [0, 2, 133, 1, 2, 3])));
  });
});

describe('AS4 (RFC 6793)', () => {
  const AS_TRANS_PATH = attr(0x40, 2, [2, 2, 0xfc, 0x00, 0x5b, 0xa0]); // 2-octet [64512, 23456]: 64512 prepended to a 4-octet origin
  const AS4_PATH = attr(0xc0, 17, [2, 1, 0xfa, 0x56, 0xea, 0x00]); // [4200000000]
  it('a 4-octet session ignores AS4_PATH and AS4_AGGREGATOR (§4.1), recording the discard', () => {
    const m = decode(update({ attrs: [ORIGIN, ASPATH4, NEXTHOP, AS4_PATH], nlri: NLRI }));
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [64512] }]);
    expect(m.attributes.as4Path).toBeUndefined();
    expect(m.discarded?.map((d) => d.attributeCode)).toEqual([17]);
  });
  it('a 2-octet session merges AS4_PATH into AS_PATH', () => {
    const m = decode(update({ attrs: [ORIGIN, AS_TRANS_PATH, NEXTHOP, AS4_PATH], nlri: NLRI }), AS2);
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [64512, 4200000000] }]);
    expect(m.attributes.as4Path).toBeUndefined();
  });
  it('AGGREGATOR from a 2-octet speaker (not AS_TRANS) beside AS4_AGGREGATOR: both AS4 attributes ignored (§4.2.3)', () => {
    const agg = attr(0xc0, 7, [0xfc, 0x01, 10, 0, 0, 7]); // AS 64513, 2-octet
    const as4agg = attr(0xc0, 18, [0xfa, 0x56, 0xea, 0x00, 10, 0, 0, 8]);
    const m = decode(update({ attrs: [ORIGIN, AS_TRANS_PATH, NEXTHOP, agg, AS4_PATH, as4agg], nlri: NLRI }), AS2);
    expect(m.attributes.aggregator).toEqual({ asn: 64513, address: '10.0.0.7' });
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [64512, 23456] }]);
    const trans = attr(0xc0, 7, [0x5b, 0xa0, 10, 0, 0, 7]);
    const t = decode(update({ attrs: [ORIGIN, AS_TRANS_PATH, NEXTHOP, trans, AS4_PATH, as4agg], nlri: NLRI }), AS2);
    expect(t.attributes.aggregator).toEqual({ asn: 4200000000, address: '10.0.0.8' });
    expect(t.attributes.asPath).toEqual([{ type: 2, asns: [64512, 4200000000] }]);
    // Only AS4_AGGREGATOR, no AGGREGATOR: the path is still merged.
    const o = decode(update({ attrs: [ORIGIN, AS_TRANS_PATH, NEXTHOP, AS4_PATH, as4agg], nlri: NLRI }), AS2);
    expect(o.attributes.asPath).toEqual([{ type: 2, asns: [64512, 4200000000] }]);
  });
  it('keepAs4 leaves both attributes as received', () => {
    const m = decode(update({ attrs: [ORIGIN, AS_TRANS_PATH, NEXTHOP, AS4_PATH], nlri: NLRI }), { ...AS2, keepAs4: true });
    expect(m.attributes.as4Path).toEqual([{ type: 2, asns: [4200000000] }]);
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [64512, 23456] }]);
  });
});

describe('encode: the message size limit (RFC 4271 §4.1, RFC 8654)', () => {
  /** An UPDATE of exactly `octets` octets: /32 prefixes (5 octets each) and /8s (2 octets) to fill it. */
  function sized(octets: number): UpdateMessage {
    const fixed = 19 + 4 + ORIGIN.length + ASPATH4.length + NEXTHOP.length;
    let room = octets - fixed;
    const keys: number[] = [];
    for (let i = 0; room > 6; i++, room -= 5) keys.push(parsePrefix(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`));
    // 2..6 octets left: /8s (2 octets) and /16s (3 octets).
    const small = { 2: [2], 3: [3], 4: [2, 2], 5: [2, 3], 6: [3, 3] }[room] ?? [];
    small.forEach((n, j) => keys.push(parsePrefix(n === 2 ? `${20 + j}.0.0.0/8` : `30.${j}.0.0/16`)));
    room -= small.reduce((a, b) => a + b, 0);
    if (room !== 0) throw new Error('test sizing');
    return { type: 'UPDATE', withdrawn: { keys: [], pathIds: null }, attributes: { origin: 0, asPath: [{ type: 2, asns: [64512] }], nextHop: '10.0.0.1' }, nlri: { keys, pathIds: null } };
  }
  it('4096 octets go out, 4097 do not; 65535 with extended messages', () => {
    expect(encodeMessage(sized(4096), AS4).length).toBe(4096);
    expect(() => encodeMessage(sized(4097), AS4)).toThrow(RangeError);
    expect(encodeMessage(sized(4097), { ...AS4, extendedMessage: true }).length).toBe(4097);
  });
});
