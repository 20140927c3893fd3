/**
 * AS_PATH / AS4_PATH rules on their own (src/bgp/codec/attributes/as-path.ts),
 * written for the mutation run (docs/RELIABILITY.md "Mutation testing"):
 * RFC 7606 §7.2 malformed segments, RFC 6793 §4.2.2 AS_TRANS and AS4_PATH
 * contents, §4.2.3 path length and the AS_PATH + AS4_PATH merge.
 */
import { describe, expect, it } from 'vitest';
import { BgpError, type AsPathSegment } from '../../../src/bgp/codec/index.js';
import { asPathFromJson, asPathJson } from '../../../src/bgp/codec/attributes/json-values.js';
import {
  as4PathOf,
  decodeAsPath,
  encodeAsPath,
  formatAsPath,
  mergeAs4Path,
  needsAs4Path,
  pathLength,
} from '../../../src/bgp/codec/attributes/as-path.js';

const SET = 1;
const SEQ = 2;
const CONFED_SEQ = 3;
const CONFED_SET = 4;
const TRANS = 23456;

const seg = (type: number, ...asns: number[]) => ({ type, asns }) as AsPathSegment;
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

function malformed(bytes: number[], asSize: 2 | 4 = 2): { code: number; subcode: number } {
  try {
    decodeAsPath(Uint8Array.from(bytes), 0, bytes.length, asSize);
  } catch (e) {
    expect(e).toBeInstanceOf(BgpError);
    return { code: (e as BgpError).code, subcode: (e as BgpError).subcode };
  }
  throw new Error('expected Malformed AS_PATH');
}

describe('decodeAsPath (RFC 7606 §7.2: Malformed AS_PATH, 3/11)', () => {
  const bad = { code: 3, subcode: 11 };
  it('rejects a cut-off segment header, unknown types, empty and overrunning segments', () => {
    expect(malformed([SEQ])).toEqual(bad);
    expect(malformed([0, 1, 0, 1])).toEqual(bad);
    expect(malformed([5, 1, 0, 1])).toEqual(bad);
    expect(malformed([SEQ, 0])).toEqual(bad);
    expect(malformed([SEQ, 2, 0, 1, 0])).toEqual(bad);
    expect(malformed([SEQ, 1, 0, 0, 0], 4)).toEqual(bad);
  });

  it('reads every segment type and ASNs of the session size, to the last octet', () => {
    const b = Uint8Array.from([SET, 1, 0, 1, CONFED_SET, 2, 0xff, 0xff, 0, 2]);
    expect(decodeAsPath(b, 0, b.length, 2)).toEqual([seg(SET, 1), seg(CONFED_SET, 65535, 2)]);
    const four = Uint8Array.from([SEQ, 2, 0xfa, 0x56, 0xea, 0x01, 0, 0, 0xfd, 0xe8]);
    expect(decodeAsPath(four, 0, four.length, 4)).toEqual([seg(SEQ, 4200000001, 65000)]);
    // A window of a larger buffer: only [start, end) is read.
    const framed = Uint8Array.from([9, SEQ, 1, 0, 7, 9]);
    expect(decodeAsPath(framed, 1, 5, 2)).toEqual([seg(SEQ, 7)]);
  });
});

describe('encodeAsPath', () => {
  it('writes 4-octet ASNs, or AS_TRANS on a 2-octet session for those above 65535 (RFC 6793 §4.2.2)', () => {
    expect([...encodeAsPath([seg(SEQ, 4200000001, 65000)], 4)]).toEqual([SEQ, 2, 0xfa, 0x56, 0xea, 0x01, 0, 0, 0xfd, 0xe8]);
    expect([...encodeAsPath([seg(SEQ, 4200000001, 65535)], 2)]).toEqual([SEQ, 2, TRANS >> 8, TRANS & 255, 0xff, 0xff]);
  });

  it('splits a segment longer than 255 ASNs and writes nothing for an empty one', () => {
    const long = range(1, 256);
    const out = encodeAsPath([seg(SEQ, ...long), seg(SET)], 2);
    expect(out.length).toBe(2 + 255 * 2 + 2 + 2);
    expect([out[0], out[1]]).toEqual([SEQ, 255]);
    expect([out[512], out[513], out[514], out[515]]).toEqual([SEQ, 1, 1, 0]);
    expect(decodeAsPath(out, 0, out.length, 2)).toEqual([seg(SEQ, ...range(1, 255)), seg(SEQ, 256)]);
  });

  it('writes no segment header for an empty segment ahead of others, nor after exactly 255 ASNs', () => {
    expect([...encodeAsPath([seg(SET), seg(SEQ, 1)], 2)]).toEqual([SEQ, 1, 0, 1]);
    const out = encodeAsPath([seg(SEQ, ...range(1, 255)), seg(SET, 7)], 2);
    expect(decodeAsPath(out, 0, out.length, 2)).toEqual([seg(SEQ, ...range(1, 255)), seg(SET, 7)]);
  });
});

describe('AS4_PATH helpers (RFC 6793)', () => {
  it('needs AS4_PATH only for an ASN above 65535', () => {
    expect(needsAs4Path([seg(SEQ, 1, 65535), seg(SET, 2)])).toBe(false);
    expect(needsAs4Path([seg(SEQ, 1), seg(SET, 2, 65536)])).toBe(true);
  });

  it('carries sequences and sets in AS4_PATH, never confederation segments (§3)', () => {
    const path = [seg(CONFED_SEQ, 65001), seg(SEQ, 1), seg(CONFED_SET, 65002), seg(SET, 2, 3)];
    expect(as4PathOf(path)).toEqual([seg(SEQ, 1), seg(SET, 2, 3)]);
  });

  it('counts a sequence by its ASNs, a set as 1, confederation segments as 0 (§4.2.3)', () => {
    expect(pathLength([seg(SEQ, 1, 2, 3), seg(SET, 4, 5), seg(CONFED_SEQ, 6, 7), seg(CONFED_SET, 8)])).toBe(4);
    expect(pathLength([])).toBe(0);
  });
});

describe('mergeAs4Path (RFC 6793 §4.2.3)', () => {
  it('ignores an AS4_PATH longer than AS_PATH, returning a copy of AS_PATH', () => {
    const asPath = [seg(SEQ, 1, TRANS)];
    const merged = mergeAs4Path(asPath, [seg(SEQ, 7, 8, 9)]);
    expect(merged).toEqual(asPath);
    merged[0].asns.push(99);
    expect(asPath[0].asns).toEqual([1, TRANS]);
  });

  it('replaces AS_PATH entirely when the lengths are equal', () => {
    expect(mergeAs4Path([seg(SEQ, TRANS, TRANS)], [seg(SEQ, 4200000001, 4200000002)])).toEqual([seg(SEQ, 4200000001, 4200000002)]);
  });

  it('keeps the leading ASes AS4_PATH does not cover and joins the sequence back into one segment', () => {
    expect(mergeAs4Path([seg(SEQ, 1, 2, TRANS, TRANS)], [seg(SEQ, 4200000001, 4200000002)])).toEqual([
      seg(SEQ, 1, 2, 4200000001, 4200000002),
    ]);
  });

  it('keeps confederation segments and a leading AS_SET (counted as one), not joining onto a set', () => {
    const asPath = [seg(CONFED_SEQ, 65001), seg(SET, 1, 2), seg(SEQ, TRANS)];
    expect(mergeAs4Path(asPath, [seg(SEQ, 4200000001)])).toEqual([seg(CONFED_SEQ, 65001), seg(SET, 1, 2), seg(SEQ, 4200000001)]);
  });

  it('keeps an AS_CONFED_SET whole without counting it', () => {
    const asPath = [seg(CONFED_SET, 65002), seg(SEQ, 1, TRANS)];
    expect(mergeAs4Path(asPath, [seg(SEQ, 4200000001)])).toEqual([seg(CONFED_SET, 65002), seg(SEQ, 1, 4200000001)]);
  });

  it('shares no ASN array with its inputs (the RIB keeps both)', () => {
    const asPath = [seg(CONFED_SEQ, 65001), seg(SET, 1, 2), seg(SEQ, TRANS)];
    const as4Path = [seg(SET, 4200000001)];
    const merged = mergeAs4Path(asPath, as4Path);
    expect(merged).toEqual([seg(CONFED_SEQ, 65001), seg(SET, 1, 2), seg(SET, 4200000001)]);
    for (const s of merged) s.asns.push(99);
    expect(asPath).toEqual([seg(CONFED_SEQ, 65001), seg(SET, 1, 2), seg(SEQ, TRANS)]);
    expect(as4Path).toEqual([seg(SET, 4200000001)]);
  });

  it('stops at the covered part: no empty segments, later AS_PATH segments dropped', () => {
    const asPath = [seg(SEQ, 1), seg(SEQ, TRANS), seg(SET, TRANS)];
    expect(mergeAs4Path(asPath, [seg(SEQ, 4200000001), seg(SET, 4200000002)])).toEqual([seg(SEQ, 1, 4200000001), seg(SET, 4200000002)]);
  });

  it('joins up to 255 ASNs in one sequence and no more', () => {
    const joined = mergeAs4Path([seg(SEQ, ...range(1, 155)), seg(SEQ, ...new Array(100).fill(TRANS))], [seg(SEQ, ...range(70000, 100))]);
    expect(joined).toEqual([seg(SEQ, ...range(1, 155), ...range(70000, 100))]);
    const split = mergeAs4Path([seg(SEQ, ...range(1, 156)), seg(SEQ, ...new Array(100).fill(TRANS))], [seg(SEQ, ...range(70000, 100))]);
    expect(split).toEqual([seg(SEQ, ...range(1, 156)), seg(SEQ, ...range(70000, 100))]);
  });
});

describe('formatAsPath (as birdc shows it)', () => {
  it('prints sequences as ASNs, sets in braces, confederation segments in parentheses', () => {
    expect(formatAsPath([seg(SEQ, 1, 2), seg(SET, 3, 4), seg(CONFED_SEQ, 5, 6), seg(CONFED_SET, 7)])).toBe('1 2 {3 4} (5 6) (7)');
    expect(formatAsPath(undefined)).toBe('');
    expect(formatAsPath([])).toBe('');
  });
});

describe('segment names in the JSON form (proto-fixtures, agent decode)', () => {
  it('names all four types (RFC 4271 §4.3, RFC 5065 §3) and reads them back', () => {
    const path = [seg(SET, 1), seg(SEQ, 2), seg(CONFED_SEQ, 3), seg(CONFED_SET, 4)];
    const json = asPathJson(path);
    expect(json.map((s) => (s as { type: string }).type)).toEqual(['AS_SET', 'AS_SEQUENCE', 'AS_CONFED_SEQUENCE', 'AS_CONFED_SET']);
    expect(asPathFromJson(json)).toEqual(path);
  });
});
