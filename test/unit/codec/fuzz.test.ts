/**
 * Fuzz: random bytes and mutated fixtures (>= 100k cases, seeded) through
 * decodeMessage and the Framer under varied decode contexts. Nothing but
 * BgpError may escape, and no call may take unbounded time.
 */
import { describe, expect, it } from 'vitest';
import { BgpError, decodeMessage, encodeMessage, Framer, messageToJson, type DecodeContext } from '../../../src/bgp/codec/index.js';
import { loadFixtures } from './fixtures.js';

const seeds = [...loadFixtures('wellFormed'), ...loadFixtures('malformed')].map((f) => f.bytes);

/** xorshift32: reproducible across runs. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

const contexts: DecodeContext[] = [
  { as4: true, addPath: new Set(), extendedMessage: false },
  { as4: false, addPath: new Set(), extendedMessage: false },
  { as4: false, addPath: new Set(), extendedMessage: false, keepAs4: true },
  { as4: true, addPath: new Set([257, 513]), extendedMessage: true },
  { as4: true, addPath: new Set([257]), extendedMessage: false, keepAs4: true },
];

function randomMessage(r: (n: number) => number): Buffer {
  const length = 19 + r(r(8) === 0 ? 400 : 60);
  const b = Buffer.alloc(length);
  for (let i = 19; i < length; i++) b[i] = r(4) === 0 ? r(4) : r(256);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(length, 16);
  b[18] = 1 + r(5);
  // UPDATE: often make the two length fields plausible so attribute parsing is reached.
  if (b[18] === 2 && length >= 23 && r(2) === 0) {
    const wl = r(Math.min(8, length - 23) + 1);
    b.writeUInt16BE(wl, 19);
    b.writeUInt16BE(r(length - 23 - wl + 1), 21 + wl);
  }
  return b;
}

function mutate(src: Buffer, r: (n: number) => number): Buffer {
  let b = Buffer.from(src);
  const edits = 1 + r(4);
  for (let e = 0; e < edits; e++) {
    switch (r(6)) {
      case 0: // flip a bit after the marker
        if (b.length > 16) b[16 + r(b.length - 16)] ^= 1 << r(8);
        break;
      case 1: // random octet
        if (b.length > 19) b[19 + r(b.length - 19)] = r(256);
        break;
      case 2: // truncate, fixing the length field half of the time
        b = b.subarray(0, 19 + r(Math.max(1, b.length - 18)));
        if (r(2) === 0 && b.length >= 18) b.writeUInt16BE(b.length, 16);
        break;
      case 3: {
        // insert octets and fix the length field
        const at = 19 + r(Math.max(1, b.length - 18));
        const ins = Buffer.alloc(1 + r(6)).map(() => r(256));
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        if (b.length <= 65535) b.writeUInt16BE(b.length, 16);
        break;
      }
      case 4: // set an octet to a boundary value
        if (b.length > 19) b[19 + r(b.length - 19)] = [0, 1, 0x7f, 0x80, 0xff, 32, 33, 128, 129][r(9)];
        break;
      default: // damage the marker rarely
        if (r(8) === 0) b[r(16)] = r(256);
    }
  }
  return b;
}

/** Decode, and when it succeeds, also print and re-encode (those must not throw either, except encode's RangeError for oversize). */
function exercise(bytes: Buffer, ctx: DecodeContext): 'ok' | 'error' {
  try {
    const msg = decodeMessage(bytes, ctx);
    messageToJson(msg);
    try {
      encodeMessage(msg, ctx);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
    return 'ok';
  } catch (e) {
    if (e instanceof BgpError) {
      expect(typeof e.code).toBe('number');
      return 'error';
    }
    throw new Error(`non-BgpError for ${bytes.toString('hex')} ctx=${JSON.stringify({ ...ctx, addPath: [...ctx.addPath] })}: ${String(e)}`);
  }
}

describe('fuzz', () => {
  it('decodes 120k random and mutated messages, throwing only BgpError', () => {
    const r = rng(0x5eed);
    const counts = { ok: 0, error: 0 };
    const started = Date.now();
    for (let i = 0; i < 120_000; i++) {
      const bytes = i % 3 === 0 ? randomMessage(r) : mutate(seeds[r(seeds.length)], r);
      counts[exercise(bytes, contexts[r(contexts.length)])]++;
      if (Date.now() - started > 45_000) throw new Error(`fuzz too slow: ${i} cases in 45 s`);
    }
    // Both outcomes must be reached, or the fuzzer is not exploring.
    expect(counts.ok).toBeGreaterThan(1000);
    expect(counts.error).toBeGreaterThan(1000);
  });

  it('frames mutated streams, throwing only BgpError', () => {
    const r = rng(42);
    for (let i = 0; i < 3000; i++) {
      const stream = Buffer.concat(Array.from({ length: 1 + r(4) }, () => mutate(seeds[r(seeds.length)], r)));
      const framer = new Framer(r(2) ? 4096 : 65535);
      try {
        for (let p = 0; p < stream.length; ) {
          const n = 1 + r(64);
          for (const m of framer.push(stream.subarray(p, p + n))) exercise(m, contexts[r(contexts.length)]);
          p += n;
        }
      } catch (e) {
        if (!(e instanceof BgpError)) throw e;
      }
    }
  });
});
