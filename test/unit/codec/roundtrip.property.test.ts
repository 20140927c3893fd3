/**
 * fast-check round trips: decode(encode(m)) = m for generated UPDATE, OPEN,
 * NOTIFICATION and ROUTE-REFRESH messages under 2- and 4-octet AS and
 * ADD-PATH contexts, and packUpdates loses or reorders no prefix.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeAttributes,
  encodeMessage,
  messageToJson,
  packUpdates,
  type AsPathSegment,
  type BgpMessage,
  type Capability,
  type DecodeContext,
  type PathAttributes,
  type UpdateMessage,
} from '../../../src/bgp/codec/index.js';
import { formatIpv4, prefixKey } from '../../../src/bgp/prefix.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const hostIp = fc.integer({ min: 0x01000000, max: 0xdfffffff }).map(formatIpv4);
const anyIp = u32.map(formatIpv4);
const prefix = fc.tuple(u32, fc.integer({ min: 0, max: 32 })).map(([a, l]) => prefixKey(a, l));

function prefixes(addPath: boolean, max: number) {
  return fc.array(fc.tuple(prefix, u32), { maxLength: max }).map((list) => ({
    keys: list.map(([k]) => k),
    pathIds: addPath ? list.map(([, id]) => id) : null,
  }));
}

function asPath(maxAsn: number): fc.Arbitrary<AsPathSegment[]> {
  return fc.array(
    fc.record({
      type: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<1 | 2 | 3 | 4>,
      asns: fc.array(fc.integer({ min: 0, max: maxAsn }), { minLength: 1, maxLength: 12 }),
    }),
    { maxLength: 4 },
  );
}

function attributes(ctx: DecodeContext): fc.Arbitrary<PathAttributes> {
  const maxAsn = ctx.as4 ? 0xffffffff : 0xffff;
  return fc
    .record(
      {
        origin: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
        asPath: asPath(maxAsn),
        nextHop: hostIp,
        med: u32,
        localPref: u32,
        atomicAggregate: fc.constant(true as const),
        aggregator: fc.record({ asn: fc.integer({ min: 0, max: maxAsn }), address: anyIp }),
        communities: fc.array(u32, { minLength: 1, maxLength: 8 }),
        originatorId: anyIp,
        clusterList: fc.array(anyIp, { minLength: 1, maxLength: 4 }),
        extendedCommunities: fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        largeCommunities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 4 }),
        unknown: fc.array(
          fc.record({
            flags: fc.constantFrom(0x80, 0xe0),
            code: fc.integer({ min: 40, max: 250 }),
            data: fc.uint8Array({ maxLength: 300 }),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      },
      { requiredKeys: ['origin', 'asPath', 'nextHop'] },
    )
    .map((a) => {
      // Unknown codes appear once each (a repeat would be discarded, RFC 7606 §3 (g)).
      if (a.unknown) {
        const seen = new Set<number>();
        a.unknown = a.unknown.filter((u) => !seen.has(u.code) && seen.add(u.code)).sort((x, y) => x.code - y.code); // sent in code order
      }
      return a as PathAttributes;
    });
}

const contexts: DecodeContext[] = [
  { as4: true, addPath: new Set(), extendedMessage: false },
  { as4: false, addPath: new Set(), extendedMessage: false },
  { as4: true, addPath: new Set([257]), extendedMessage: true },
];

/** The codec's view of a message for comparison: JSON form (attrBytes is a view of the input). */
const view = (m: BgpMessage): unknown => messageToJson(m);

describe('round trips (fast-check)', () => {
  for (const ctx of contexts) {
    const label = `as4=${ctx.as4} addPath=${[...ctx.addPath]} ext=${ctx.extendedMessage}`;
    it(`UPDATE decode(encode(m)) = m, ${label}`, () => {
      const addPath = ctx.addPath.has(257);
      const update = fc
        .record({ withdrawn: prefixes(addPath, 40), nlri: prefixes(addPath, 40), attributes: attributes(ctx) })
        .map((r): UpdateMessage => ({ type: 'UPDATE', ...r }));
      fc.assert(
        fc.property(update, (msg) => {
          const bytes = encodeMessage(msg, ctx);
          const back = decodeMessage(bytes, ctx) as UpdateMessage;
          expect(back.treatAsWithdraw).toBeUndefined();
          expect(view(back)).toEqual(view(msg));
          expect(encodeMessage(back, ctx).equals(bytes)).toBe(true);
          expect(Buffer.from(back.attrBytes!).equals(encodeAttributes(msg.attributes, ctx))).toBe(true);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('2-octet session: 4-octet ASNs travel as AS_TRANS + AS4_PATH and merge back (RFC 6793)', () => {
    const ctx: DecodeContext = { as4: false, addPath: new Set(), extendedMessage: false };
    const seq = fc.array(fc.integer({ min: 1, max: 0xffffffff }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(seq, (asns) => {
        const msg: UpdateMessage = {
          type: 'UPDATE',
          withdrawn: { keys: [], pathIds: null },
          nlri: { keys: [prefixKey(0x0a085e40, 26)], pathIds: null },
          attributes: { origin: 0, asPath: [{ type: 2, asns }], nextHop: '10.0.0.1' },
        };
        const back = decodeMessage(encodeMessage(msg, ctx), ctx) as UpdateMessage;
        expect(back.attributes.asPath).toEqual([{ type: 2, asns }]);
      }),
      { numRuns: 300 },
    );
  });

  it('OPEN, NOTIFICATION, ROUTE-REFRESH decode(encode(m)) = m', () => {
    const ctx = contexts[0];
    const capability: fc.Arbitrary<Capability> = fc.oneof(
      fc.record({ code: fc.constant(1 as const), name: fc.constant('multiprotocol' as const), afi: fc.integer({ min: 0, max: 65535 }), safi: fc.integer({ min: 0, max: 255 }) }),
      fc.constant({ code: 2 as const, name: 'route-refresh' as const }),
      fc.constant({ code: 6 as const, name: 'extended-message' as const }),
      fc.record({ code: fc.constant(65 as const), name: fc.constant('as4' as const), asn: u32 }),
      fc.record({
        code: fc.constant(64 as const),
        name: fc.constant('graceful-restart' as const),
        restartState: fc.boolean(),
        notification: fc.boolean(),
        restartTime: fc.integer({ min: 0, max: 4095 }),
        families: fc.array(fc.record({ afi: fc.integer({ min: 0, max: 65535 }), safi: fc.integer({ min: 0, max: 255 }), forwardingState: fc.boolean() }), { maxLength: 4 }),
      }),
      fc.record({
        code: fc.constant(69 as const),
        name: fc.constant('add-path' as const),
        families: fc.array(fc.record({ afi: fc.integer({ min: 0, max: 65535 }), safi: fc.integer({ min: 0, max: 255 }), sendReceive: fc.constantFrom(1, 2, 3) as fc.Arbitrary<1 | 2 | 3> }), { maxLength: 4 }),
      }),
      fc.record({ code: fc.constant(73 as const), name: fc.constant('fqdn' as const), hostname: fc.string({ maxLength: 40 }), domain: fc.string({ maxLength: 40 }) }),
      fc.record({ code: fc.constantFrom(71, 72, 200), name: fc.constant('unknown' as const), data: fc.uint8Array({ maxLength: 20 }) }),
    );
    const open = fc.record({
      type: fc.constant('OPEN' as const),
      version: fc.constant(4),
      myAs: fc.integer({ min: 0, max: 65535 }),
      holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 65535 })),
      bgpId: fc.integer({ min: 1, max: 0xffffffff }).map(formatIpv4),
      capabilities: fc.array(capability, { maxLength: 60 }),
    });
    const notification = fc.record({ type: fc.constant('NOTIFICATION' as const), code: fc.integer({ min: 0, max: 255 }), subcode: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ maxLength: 100 }) });
    const refresh = fc.record({ type: fc.constant('ROUTE-REFRESH' as const), afi: fc.integer({ min: 0, max: 65535 }), safi: fc.integer({ min: 0, max: 255 }), subtype: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.oneof(open, notification, refresh) as fc.Arbitrary<BgpMessage>, (msg) => {
        const bytes = encodeMessage(msg, ctx);
        const back = decodeMessage(bytes, ctx);
        expect(view(back)).toEqual(view(msg));
        expect(encodeMessage(back, ctx).equals(bytes)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('packUpdates keeps every prefix in order, within the size limit', () => {
    const ctxs = [contexts[0], contexts[2]];
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 3000 }), fc.boolean(), fc.constantFrom(0, 1), (keys, withdraw, c) => {
        const ctx = ctxs[c];
        const addPath = ctx.addPath.has(257);
        const ids = addPath ? keys.map((_, i) => i) : null;
        const attrs = encodeAttributes({ origin: 0, asPath: [], nextHop: '10.0.0.1', localPref: 100 }, ctx);
        const msgs = packUpdates(attrs, keys, ids, ctx, withdraw);
        const got: number[] = [];
        const gotIds: number[] = [];
        for (const m of msgs) {
          expect(m.length).toBeLessThanOrEqual(ctx.extendedMessage ? 65535 : 4096);
          const u = decodeMessage(m, ctx) as UpdateMessage;
          const field = withdraw ? u.withdrawn : u.nlri;
          got.push(...field.keys);
          if (field.pathIds) gotIds.push(...field.pathIds);
          expect(Buffer.from(u.attrBytes!).equals(withdraw ? Buffer.alloc(0) : attrs)).toBe(true);
        }
        expect(got).toEqual(keys);
        if (ids) expect(gotIds).toEqual(ids);
      }),
      { numRuns: 100 },
    );
  });
});
