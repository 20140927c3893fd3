/**
 * The attribute table is the one place an attribute is described (STYLE.md:
 * BIRD's table): every row decodes, encodes, writes and reads its JSON member
 * and words its part of the `agent routes` line, and every known code has a
 * sample here whose JSON form round-trips, alone and in any combination.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ATTRIBUTE_TABLE,
  attributesFromJson,
  attributesToJson,
  displayAttributes,
  type PathAttributes,
} from '../../../src/bgp/codec/index.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';

/** Values per attribute code, each holding only that attribute; a new row needs its samples here. */
const SAMPLES: Record<number, PathAttributes[]> = {
  1: [{ origin: 0 }, { origin: 2 }],
  2: [{ asPath: [] }, { asPath: [{ type: 2, asns: [64513, 4200000000] }, { type: 1, asns: [64514, 64515] }, { type: 3, asns: [1] }] }],
  3: [{ nextHop: '10.98.0.3' }],
  4: [{ med: 0 }, { med: 0xffffffff }],
  5: [{ localPref: 100 }],
  6: [{ atomicAggregate: true }],
  7: [{ aggregator: { asn: 64512, address: '10.0.0.1' } }],
  8: [{ communities: [64512 * 65536 + 100, 0xffffff01] }],
  9: [{ originatorId: '10.98.0.4' }],
  10: [{ clusterList: ['1.2.3.4', '10.0.0.9'] }],
  14: [
    { mpReach: { afi: 1, safi: 1, nextHops: ['10.98.0.3'], nlri: { keys: [parsePrefix('10.244.3.0/26', true)], pathIds: null } } },
    { mpReach: { afi: 2, safi: 1, nextHops: ['fd00::1', 'fe80::1'], nlri: { prefixes: ['fd00:10::/122'], pathIds: [7] } } },
    { mpReach: { afi: 25, safi: 65, raw: Uint8Array.of(1, 2, 3) } },
  ],
  15: [
    { mpUnreach: { afi: 1, safi: 1, withdrawn: { keys: [parsePrefix('10.244.3.0/26', true)], pathIds: [1] } } },
    { mpUnreach: { afi: 2, safi: 1, withdrawn: { prefixes: ['fd00:10::/122'], pathIds: null } } },
    { mpUnreach: { afi: 25, safi: 65, raw: new Uint8Array(0) } },
  ],
  16: [{ extendedCommunities: [Uint8Array.of(0, 2, 0xfc, 0, 0, 0, 0, 100)] }],
  17: [{ as4Path: [{ type: 2, asns: [4200000000, 64512] }] }],
  18: [{ as4Aggregator: { asn: 4200000000, address: '10.0.0.2' } }],
  32: [{ largeCommunities: [[4200000000, 1, 2]] }],
};

/** As `agent decode` prints it and a fixture stores it: through JSON text. */
const throughText = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe('attribute table', () => {
  it('every row has decode, encode, toJson, fromJson and display, and its own code and JSON member', () => {
    for (const row of ATTRIBUTE_TABLE) {
      for (const fn of ['decode', 'encode', 'toJson', 'fromJson', 'display'] as const) {
        expect(typeof row[fn], `${row.name}.${fn}`).toBe('function');
      }
      expect(row.jsonKey, `${row.name}.jsonKey`).toMatch(/^[a-z][A-Za-z0-9]*$/);
    }
    expect(new Set(ATTRIBUTE_TABLE.map((r) => r.code)).size).toBe(ATTRIBUTE_TABLE.length);
    expect(new Set(ATTRIBUTE_TABLE.map((r) => r.jsonKey)).size).toBe(ATTRIBUTE_TABLE.length);
    // `unknown` is where attributes without a row go.
    expect(ATTRIBUTE_TABLE.map((r) => r.jsonKey)).not.toContain('unknown');
  });

  it('has samples for exactly the known codes', () => {
    expect(Object.keys(SAMPLES).map(Number).sort((a, b) => a - b)).toEqual(ATTRIBUTE_TABLE.map((r) => r.code).sort((a, b) => a - b));
  });

  for (const row of ATTRIBUTE_TABLE) {
    it(`${row.name}: toJson/fromJson round-trip its samples, and say nothing when it is absent`, () => {
      expect(row.toJson({})).toBeUndefined();
      for (const sample of SAMPLES[row.code] ?? []) {
        const json = throughText(row.toJson(sample));
        expect(json, `${row.name} toJson`).not.toBeUndefined();
        const back: PathAttributes = {};
        row.fromJson(json, back);
        expect(back).toEqual(sample);
        // The whole-object form is this row's member and nothing else.
        expect(attributesToJson(sample)).toEqual({ [row.jsonKey]: json });
      }
    });
  }

  it('any combination of attributes (and unknown ones) round-trips through attributesToJson/attributesFromJson', () => {
    const codes = ATTRIBUTE_TABLE.map((r) => r.code);
    const combination = fc
      .tuple(
        fc.subarray(codes),
        fc.array(fc.nat(), { minLength: codes.length, maxLength: codes.length }),
        fc.array(fc.record({ flags: fc.constantFrom(0x80, 0xc0, 0xe0), code: fc.integer({ min: 40, max: 250 }), data: fc.uint8Array({ maxLength: 20 }) }), { maxLength: 2 }),
      )
      .map(([chosen, picks, unknown]) => {
        const attrs: PathAttributes = Object.assign({}, ...chosen.map((c, i) => SAMPLES[c][picks[i] % SAMPLES[c].length]));
        if (unknown.length) attrs.unknown = unknown;
        return attrs;
      });
    fc.assert(
      fc.property(combination, (attrs) => {
        expect(attributesFromJson(throughText(attributesToJson(attrs)) as Record<string, unknown>)).toEqual(attrs);
      }),
    );
  });

  it('keeps the JSON member order of the table (what `agent decode` prints)', () => {
    const all: PathAttributes = Object.assign({}, ...ATTRIBUTE_TABLE.map((r) => SAMPLES[r.code][0]));
    expect(Object.keys(attributesToJson(all))).toEqual(ATTRIBUTE_TABLE.map((r) => r.jsonKey));
  });

  it('unknown attributes keep their JSON form: code, name, flags, data as hex', () => {
    expect(attributesToJson({ unknown: [{ flags: 0xc0, code: 99, data: Uint8Array.of(0xab, 1) }] })).toEqual({
      unknown: [{ code: 99, name: 'ATTR_99', flags: 0xc0, data: 'ab01' }],
    });
  });

  it('words the agent routes line as birdc does: AS path, origin, localpref, med; nothing else', () => {
    expect(displayAttributes({})).toBe('[AS path: (empty)] IGP');
    const all: PathAttributes = Object.assign({}, ...ATTRIBUTE_TABLE.map((r) => SAMPLES[r.code][SAMPLES[r.code].length - 1]));
    expect(displayAttributes({ ...all, med: 5 })).toBe('[AS path: 64513 4200000000 {64514 64515} (1)] incomplete localpref 100 med 5');
    expect(displayAttributes({ origin: 1, asPath: [{ type: 2, asns: [64512] }], med: 0 })).toBe('[AS path: 64512] EGP med 0');
  });
});
