/**
 * OPEN, capabilities and negotiation rules that the mutation run
 * (scripts/mutation.sh, docs/RELIABILITY.md "Mutation testing") showed no
 * test held: RFC 4271 §4.2/§6.2 OPEN checks, RFC 9072 extended optional
 * parameters, RFC 5492 capability values and RFC 5492 §3 "in use only when
 * both sides advertise it".
 */
import { describe, expect, it } from 'vitest';
import { BgpError, decodeOpen, encodeOpen, familyKey, negotiate, type Capability, type OpenMessage } from '../../../src/bgp/codec/index.js';
import { decodeCapability } from '../../../src/bgp/codec/capabilities.js';

/** A whole OPEN: header, version 4, AS 64512, the given hold time and id, Opt Parm Len, parameters. */
function openBytes(params: number[], opts: { holdTime?: number; optLen?: number; bgpId?: number } = {}): Uint8Array {
  const holdTime = opts.holdTime ?? 90;
  const bgpId = opts.bgpId ?? 0x0a000001;
  const body = [4, 0xfc, 0x00, holdTime >> 8, holdTime & 255, bgpId >>> 24, (bgpId >>> 16) & 255, (bgpId >>> 8) & 255, bgpId & 255];
  body.push(opts.optLen ?? params.length, ...params);
  const length = 19 + body.length;
  return Uint8Array.from([...new Array(16).fill(0xff), length >> 8, length & 255, 1, ...body]);
}

function errorOf(f: () => unknown): BgpError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BgpError);
    return e as BgpError;
  }
  throw new Error('expected a BgpError');
}

const codes = (e: BgpError) => ({ code: e.code, subcode: e.subcode });

function open(caps: Capability[], extra: Partial<OpenMessage> = {}): OpenMessage {
  return { type: 'OPEN', version: 4, myAs: 64512, holdTime: 90, bgpId: '10.0.0.1', capabilities: caps, ...extra };
}

describe('OPEN fixed part (RFC 4271 §6.2)', () => {
  it('rejects hold times 1 and 2 with Unacceptable Hold Time, accepts 0 and 3', () => {
    expect(codes(errorOf(() => decodeOpen(openBytes([], { holdTime: 1 }))))).toEqual({ code: 2, subcode: 6 });
    expect(codes(errorOf(() => decodeOpen(openBytes([], { holdTime: 2 }))))).toEqual({ code: 2, subcode: 6 });
    expect(decodeOpen(openBytes([], { holdTime: 0 })).holdTime).toBe(0);
    expect(decodeOpen(openBytes([], { holdTime: 3 })).holdTime).toBe(3);
  });

  it('answers an unsupported version with the largest supported one (2 octets: 4) in the data', () => {
    const bytes = openBytes([]);
    bytes[19] = 3;
    const e = errorOf(() => decodeOpen(bytes));
    expect(codes(e)).toEqual({ code: 2, subcode: 1 });
    expect([...e.data]).toEqual([0, 4]);
  });
});

describe('optional parameters (RFC 5492 §4, RFC 9072)', () => {
  it('reads a first parameter of type 255 as an unsupported parameter when Opt Parm Len is not 255', () => {
    expect(codes(errorOf(() => decodeOpen(openBytes([255, 1, 0]))))).toEqual({ code: 2, subcode: 4 });
  });

  it('reads Opt Parm Len 255 as one octet when the first parameter is a capabilities parameter', () => {
    // 255 octets of parameters: one capabilities parameter of 253 octets (an unknown capability of 251).
    const caps: Capability[] = [{ code: 200, name: 'unknown', data: new Uint8Array(251).fill(7) }];
    const bytes = encodeOpen(open(caps));
    expect(bytes[28]).toBe(255); // Opt Parm Len
    expect(bytes[29]).toBe(2); // not the RFC 9072 marker
    expect(bytes.length).toBe(29 + 255);
    expect(decodeOpen(Uint8Array.from(bytes)).capabilities).toEqual(caps);
  });

  it('treats a truncated RFC 9072 length as a malformed OPEN, not a length mismatch', () => {
    expect(codes(errorOf(() => decodeOpen(openBytes([255], { optLen: 255 }))))).toEqual({ code: 2, subcode: 0 });
    expect(codes(errorOf(() => decodeOpen(openBytes([255, 0], { optLen: 255 }))))).toEqual({ code: 2, subcode: 0 });
  });

  it('accepts an RFC 9072 length of zero parameters', () => {
    expect(decodeOpen(openBytes([255, 0, 0], { optLen: 255 })).capabilities).toEqual([]);
  });

  it('rejects a parameter header cut off by Opt Parm Len', () => {
    expect(codes(errorOf(() => decodeOpen(openBytes([2]))))).toEqual({ code: 2, subcode: 0 });
  });

  it('rejects a parameter whose length overruns Opt Parm Len, even when its start holds a whole capability', () => {
    expect(codes(errorOf(() => decodeOpen(openBytes([2, 5, 6, 0]))))).toEqual({ code: 2, subcode: 0 });
  });

  it('rejects a capability header cut off by its parameter', () => {
    expect(codes(errorOf(() => decodeOpen(openBytes([2, 1, 6]))))).toEqual({ code: 2, subcode: 0 });
  });

  it('keeps an empty capabilities parameter and a split into several, and records no grouping for one', () => {
    const empty = decodeOpen(openBytes([2, 0]));
    expect(empty.capabilities).toEqual([]);
    expect(empty.paramGrouping).toEqual([0]);
    expect(Buffer.from(encodeOpen(empty)).equals(Buffer.from(openBytes([2, 0])))).toBe(true);

    const one = decodeOpen(openBytes([2, 4, 2, 0, 6, 0]));
    expect(one.capabilities.map((c) => c.name)).toEqual(['route-refresh', 'extended-message']);
    expect(one.paramGrouping).toBeUndefined();

    const split = decodeOpen(openBytes([2, 2, 2, 0, 2, 2, 6, 0]));
    expect(split.paramGrouping).toEqual([1, 1]);
  });
});

describe('encodeOpen', () => {
  it('refuses a capability value over 255 octets and takes one of exactly 255', () => {
    expect(() => encodeOpen(open([{ code: 200, name: 'unknown', data: new Uint8Array(256) }]))).toThrow(RangeError);
    const ok = encodeOpen(open([{ code: 200, name: 'unknown', data: new Uint8Array(255) }]));
    expect((decodeOpen(ok).capabilities[0] as { data: Uint8Array }).data.length).toBe(255);
  });

  it('ignores a recorded grouping that does not cover every capability', () => {
    const caps: Capability[] = [
      { code: 2, name: 'route-refresh' },
      { code: 6, name: 'extended-message' },
      { code: 70, name: 'enhanced-route-refresh' },
    ];
    const bytes = encodeOpen(open(caps, { paramGrouping: [1, 1] }));
    // One parameter holding all three.
    expect([...bytes.subarray(28)]).toEqual([8, 2, 6, 2, 0, 6, 0, 70, 0]);
  });

  it('writes other optional parameters ahead of the capabilities', () => {
    const bytes = encodeOpen(open([{ code: 2, name: 'route-refresh' }], { otherParams: [{ type: 9, data: Uint8Array.of(1, 2) }] }));
    expect([...bytes.subarray(28)]).toEqual([8, 9, 2, 1, 2, 2, 2, 2, 0]);
  });

  it('switches to RFC 9072 lengths when the parameters together pass 255 octets though each fits', () => {
    const caps: Capability[] = [
      { code: 200, name: 'unknown', data: new Uint8Array(150).fill(1) },
      { code: 201, name: 'unknown', data: new Uint8Array(150).fill(2) },
    ];
    const bytes = encodeOpen(open(caps, { paramGrouping: [1, 1] }));
    expect([...bytes.subarray(28, 32)]).toEqual([255, 255, (bytes.length - 32) >> 8, (bytes.length - 32) & 255]);
    const back = decodeOpen(Uint8Array.from(bytes));
    expect(back.capabilities).toEqual(caps);
    expect(back.paramGrouping).toEqual([1, 1]);
  });
});

describe('capability values (RFC 5492 §4)', () => {
  const cap = (code: number, value: number[]) => decodeCapability(code, Uint8Array.from(value), 0, value.length);

  it('multiprotocol (RFC 4760 §8): length other than 4 is an OPEN error, a set reserved octet is kept as bytes', () => {
    expect(codes(errorOf(() => cap(1, [0, 2, 0])))).toEqual({ code: 2, subcode: 0 });
    expect(codes(errorOf(() => cap(1, [0, 2, 0, 1, 0])))).toEqual({ code: 2, subcode: 0 });
    expect(cap(1, [0, 2, 9, 1])).toEqual({ code: 1, name: 'unknown', data: Uint8Array.of(0, 2, 9, 1) });
    expect(cap(1, [0, 2, 0, 1])).toEqual({ code: 1, name: 'multiprotocol', afi: 2, safi: 1 });
  });

  it('4-octet AS (RFC 6793 §9): length other than 4 is an OPEN error', () => {
    expect(codes(errorOf(() => cap(65, [0xfc, 0])))).toEqual({ code: 2, subcode: 0 });
    expect(cap(65, [0xfa, 0x56, 0xea, 0x01])).toEqual({ code: 65, name: 'as4', asn: 4200000001 });
  });

  it('route refresh and extended message carry no value; one with a value is kept as bytes', () => {
    expect(cap(2, [1])).toEqual({ code: 2, name: 'unknown', data: Uint8Array.of(1) });
    expect(cap(6, [0, 0])).toEqual({ code: 6, name: 'unknown', data: Uint8Array.of(0, 0) });
  });

  it('graceful restart (RFC 4724 §3): bad lengths and reserved bits are kept as bytes', () => {
    expect(cap(64, [0x00])).toMatchObject({ name: 'unknown' });
    expect(cap(64, [0x00, 120, 0, 1])).toMatchObject({ name: 'unknown' }); // half a family
    expect(cap(64, [0x10, 120])).toMatchObject({ name: 'unknown' }); // reserved restart flag
    expect(cap(64, [0x00, 120, 0, 1, 1, 0x01])).toMatchObject({ name: 'unknown' }); // reserved family flag
    expect(cap(64, [0xc0, 120, 0, 1, 1, 0x80])).toEqual({
      code: 64,
      name: 'graceful-restart',
      restartState: true,
      notification: true,
      restartTime: 120,
      families: [{ afi: 1, safi: 1, forwardingState: true }],
    });
  });

  it('ADD-PATH (RFC 7911 §4): a partial family or a Send/Receive outside 1..3 is kept as bytes', () => {
    expect(cap(69, [0, 1, 1, 3, 0])).toMatchObject({ name: 'unknown' });
    expect(cap(69, [0, 1, 1, 0])).toMatchObject({ name: 'unknown' });
    expect(cap(69, [0, 1, 1, 4])).toMatchObject({ name: 'unknown' });
    expect(cap(69, [0, 1, 1, 3])).toEqual({ code: 69, name: 'add-path', families: [{ afi: 1, safi: 1, sendReceive: 3 }] });
  });

  it('FQDN keeps as bytes what would not re-encode to the same octets', () => {
    // Domain length 3 but one octet 0xff: decodes to U+FFFD, three octets again, yet the value is shorter.
    expect(cap(73, [1, 0x61, 3, 0xff])).toMatchObject({ name: 'unknown' });
    expect(cap(73, [1, 0xff, 0])).toMatchObject({ name: 'unknown' }); // invalid UTF-8 hostname
    expect(cap(73, [1, 0x61, 1, 0xff])).toMatchObject({ name: 'unknown' }); // invalid UTF-8 domain
    expect(cap(73, [1, 0x61, 1, 0x62])).toEqual({ code: 73, name: 'fqdn', hostname: 'a', domain: 'b' });
  });
});

describe('negotiate (RFC 5492 §3: in use when both sides advertise it)', () => {
  const mp = (afi: number): Capability => ({ code: 1, name: 'multiprotocol', afi, safi: 1 });

  it('takes the families from the MP capabilities when both send some (RFC 4760 §8)', () => {
    expect(negotiate(open([mp(2)]), open([mp(2)])).families).toEqual([{ afi: 2, safi: 1 }]);
    expect(negotiate(open([mp(1), mp(2)]), open([mp(1)])).families).toEqual([{ afi: 1, safi: 1 }]);
  });

  it('sends path ids where we send and the peer receives (RFC 7911 §5)', () => {
    const ap = (sendReceive: 1 | 2 | 3): Capability => ({ code: 69, name: 'add-path', families: [{ afi: 1, safi: 1, sendReceive }] });
    const n = negotiate(open([ap(2)]), open([ap(1)]));
    expect([...n.addPathSend]).toEqual([familyKey(1, 1)]);
    expect([...n.addPathReceive]).toEqual([]);
    expect(n.sendContext.addPath.has(familyKey(1, 1))).toBe(true);
  });

  it('uses route refresh when each side sent either code (RFC 2918, pre-standard 128), not one side alone', () => {
    const rr: Capability = { code: 2, name: 'route-refresh' };
    const old: Capability = { code: 128, name: 'route-refresh-old' };
    expect(negotiate(open([old]), open([rr])).routeRefresh).toBe(true);
    expect(negotiate(open([rr]), open([old])).routeRefresh).toBe(true);
    expect(negotiate(open([old]), open([])).routeRefresh).toBe(false);
    expect(negotiate(open([]), open([rr])).routeRefresh).toBe(false);
  });

  it('uses enhanced route refresh (RFC 7313) only when both sent it', () => {
    const err: Capability = { code: 70, name: 'enhanced-route-refresh' };
    expect(negotiate(open([err]), open([err])).enhancedRouteRefresh).toBe(true);
    expect(negotiate(open([err]), open([])).enhancedRouteRefresh).toBe(false);
    expect(negotiate(open([]), open([err])).enhancedRouteRefresh).toBe(false);
  });
});
