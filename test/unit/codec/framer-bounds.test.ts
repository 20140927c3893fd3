/**
 * Framer and header checks at their edges (RFC 4271 §4.1, §6.1; RFC 8654 §4),
 * for the codec's mutation-testing survivors: one octet at a time, what is
 * buffered, lengths exactly at and one past each limit, OPEN and KEEPALIVE
 * held to 4096 octets even with extended messages, and the NOTIFICATION data
 * each header error carries.
 */
import { describe, expect, it } from 'vitest';
import { BgpError, Framer } from '../../../src/bgp/codec/index.js';

function message(type: number, length: number): Buffer {
  const b = Buffer.alloc(length, 0xab);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(length, 16);
  b[18] = type;
  return b;
}

function headerError(bytes: Buffer, max: number): BgpError {
  try {
    new Framer(max).push(bytes);
  } catch (e) {
    if (e instanceof BgpError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('Framer edges', () => {
  it('one octet at a time: nothing until the last octet, then exactly the message; buffered counts the wait', () => {
    const a = message(2, 40);
    const b = message(4, 19);
    const stream = Buffer.concat([a, b]);
    const framer = new Framer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      const got = framer.push(stream.subarray(i, i + 1));
      out.push(...got.map((m) => Buffer.from(m)));
      if (i < a.length - 1) expect(framer.buffered).toBe(i + 1);
    }
    expect(out).toEqual([a, b]);
    expect(framer.buffered).toBe(0);
  });

  it('a header split into small pieces (under 19 octets in all) keeps every piece', () => {
    const m = message(2, 23);
    const framer = new Framer();
    expect(framer.push(m.subarray(0, 5))).toEqual([]);
    expect(framer.push(m.subarray(5, 11))).toEqual([]);
    expect(framer.buffered).toBe(11);
    expect(framer.push(m.subarray(11, 18))).toEqual([]);
    expect(framer.push(m.subarray(18)).map((x) => Buffer.from(x))).toEqual([m]);
  });

  it('lengths at the limit pass, one past fails with 1/2 and the length as data', () => {
    expect(new Framer(4096).push(message(2, 4096))).toHaveLength(1);
    const e = headerError(message(2, 4097), 4096);
    expect([e.code, e.subcode, [...e.data]]).toEqual([1, 2, [0x10, 0x01]]);
    expect(new Framer(65535).push(message(2, 65535))).toHaveLength(1);
    expect(new Framer(4096).push(message(4, 19))).toHaveLength(1);
    const short = Buffer.from(message(4, 19));
    short.writeUInt16BE(18, 16);
    expect(headerError(Buffer.concat([short, Buffer.alloc(1)]), 4096)).toMatchObject({ code: 1, subcode: 2 });
  });

  it('with extended messages OPEN and KEEPALIVE stay at 4096 octets (RFC 8654 §4); UPDATE, NOTIFICATION and ROUTE-REFRESH do not', () => {
    expect(new Framer(65535).push(message(1, 4096))).toHaveLength(1);
    expect(headerError(message(1, 4097), 65535)).toMatchObject({ code: 1, subcode: 2 });
    for (const type of [2, 3, 5]) expect(new Framer(65535).push(message(type, 5000))).toHaveLength(1);
    const ka = headerError(message(4, 20), 65535);
    expect([ka.code, ka.subcode, [...ka.data]]).toEqual([1, 2, [0, 20]]);
  });

  it('an unknown type fails with 1/3 and the type as data; below the type\'s minimum length with 1/2', () => {
    for (const type of [0, 6, 255]) {
      const e = headerError(message(type, 19), 4096);
      expect([e.code, e.subcode, [...e.data]]).toEqual([1, 3, [type]]);
    }
    expect(headerError(message(1, 28), 4096)).toMatchObject({ code: 1, subcode: 2 }); // OPEN minimum 29
    expect(headerError(message(2, 22), 4096)).toMatchObject({ code: 1, subcode: 2 }); // UPDATE minimum 23
    expect(headerError(message(3, 20), 4096)).toMatchObject({ code: 1, subcode: 2 }); // NOTIFICATION minimum 21
    expect(new Framer().push(message(5, 23))).toHaveLength(1);
  });

  it('a marker with any octet not 0xff fails with 1/1, however the stream is cut', () => {
    for (let i = 0; i < 16; i++) {
      const m = message(4, 19);
      m[i] = 0xfe;
      expect(headerError(m, 4096)).toMatchObject({ code: 1, subcode: 1 });
      const f = new Framer();
      f.push(m.subarray(0, 3));
      expect(() => f.push(m.subarray(3))).toThrow(BgpError);
    }
  });
});
