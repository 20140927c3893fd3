/**
 * The framer cuts any split of a stream into the same messages: every
 * fixture and the concatenation of all fixtures, split at every offset.
 */
import { describe, expect, it } from 'vitest';
import { BgpError, Framer } from '../../../src/bgp/codec/index.js';
import { loadFixtures } from './fixtures.js';

const fixtures = loadFixtures('wellFormed');
const streamOf = (parts: Buffer[]): Buffer => Buffer.concat(parts);

function frameAll(chunks: Buffer[], maxLength?: number): Buffer[] {
  const framer = new Framer(maxLength);
  const out: Buffer[] = [];
  for (const chunk of chunks) out.push(...framer.push(chunk));
  expect(framer.buffered).toBe(0);
  return out;
}

describe('Framer', () => {
  it('splits every fixture at every offset into exactly that message', () => {
    for (const f of fixtures) {
      for (let cut = 0; cut <= f.bytes.length; cut++) {
        const out = frameAll([f.bytes.subarray(0, cut), f.bytes.subarray(cut)], f.ctx.extendedMessage ? 65535 : 4096);
        expect(out.length).toBe(1);
        expect(out[0].equals(f.bytes)).toBe(true);
      }
    }
  });

  it('splits the concatenation of all fixtures at every offset into the same sequence', () => {
    const all = streamOf(fixtures.map((f) => f.bytes));
    for (let cut = 0; cut <= all.length; cut++) {
      const out = frameAll([all.subarray(0, cut), all.subarray(cut)], 65535);
      expect(out.length).toBe(fixtures.length);
      expect(streamOf(out).equals(all)).toBe(true);
    }
  });

  it('frames one octet at a time and in random three-way splits', () => {
    const all = streamOf(fixtures.map((f) => f.bytes));
    const bytewise = frameAll([...all].map((b) => Buffer.of(b)), 65535);
    expect(bytewise.map((m) => m.toString('hex'))).toEqual(fixtures.map((f) => f.bytes.toString('hex')));
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 200; i++) {
      const a = rand(all.length + 1);
      const b = a + rand(all.length - a + 1);
      const out = frameAll([all.subarray(0, a), all.subarray(a, b), all.subarray(b)], 65535);
      expect(out.length).toBe(fixtures.length);
    }
  });

  const headerError = (bytes: Buffer, cut: number, maxLength?: number): BgpError => {
    const framer = new Framer(maxLength);
    try {
      framer.push(bytes.subarray(0, cut));
      framer.push(bytes.subarray(cut));
    } catch (e) {
      return e as BgpError;
    }
    throw new Error('no error');
  };

  it('raises 1/1, 1/2 (with the length as data) and 1/3 for any split', () => {
    const good = Buffer.alloc(19, 0xff);
    good.writeUInt16BE(19, 16);
    good[18] = 4;
    const marker = Buffer.from(good);
    marker[5] = 0;
    const length = Buffer.from(good);
    length.writeUInt16BE(5000, 16);
    const type = Buffer.from(good);
    type[18] = 9;
    for (let cut = 0; cut <= 19; cut++) {
      const withPrefix = (b: Buffer): Buffer => Buffer.concat([good, b]);
      expect(headerError(withPrefix(marker), 19 + cut)).toMatchObject({ code: 1, subcode: 1 });
      const e = headerError(withPrefix(length), 19 + cut);
      expect(e).toMatchObject({ code: 1, subcode: 2 });
      expect([...e.data]).toEqual([0x13, 0x88]);
      expect(headerError(withPrefix(type), 19 + cut)).toMatchObject({ code: 1, subcode: 3 });
    }
  });

  it('accepts 65535-octet UPDATEs only after setMaxLength', () => {
    const big = Buffer.alloc(5000);
    big.fill(0xff, 0, 16);
    big.writeUInt16BE(5000, 16);
    big[18] = 2;
    expect(() => new Framer().push(big)).toThrow(BgpError);
    const framer = new Framer();
    framer.setMaxLength(65535);
    expect(framer.push(big).length).toBe(1);
  });
});
