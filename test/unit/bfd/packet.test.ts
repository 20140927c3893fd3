/** BFD Control packet codec (RFC 5880 §4.1) and the §6.8.6 / RFC 5881 §5 reception checks. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { controlPacket, decodeControl, diagWords, encodeControl, type DiscardReason } from '../../../src/bfd/packet.js';

/** A packet as BIRD 2.0.12 sends it while Up (captured layout: state Up, mult 3, 100 ms / 100 ms). */
const BIRD_UP = Uint8Array.from([
  0x20, 0xc0, 0x03, 0x18, // version 1, diag 0; state Up; mult 3; length 24
  0x12, 0x34, 0x56, 0x78, // my discriminator
  0x00, 0x00, 0x00, 0x2a, // your discriminator 42
  0x00, 0x01, 0x86, 0xa0, // desired min tx 100000 us
  0x00, 0x01, 0x86, 0xa0, // required min rx 100000 us
  0x00, 0x00, 0x00, 0x00, // required min echo rx 0
]);

function bytes(mutate: (b: Uint8Array) => void): Uint8Array {
  const b = Uint8Array.from(BIRD_UP);
  mutate(b);
  return b;
}

describe('BFD codec', () => {
  it('decodes a valid Up packet', () => {
    const r = decodeControl(BIRD_UP, { ttl: 255 });
    expect(r).toEqual({
      ok: true,
      packet: controlPacket({
        state: 'Up',
        myDiscriminator: 0x12345678,
        yourDiscriminator: 42,
        desiredMinTxInterval: 100_000,
        requiredMinRxInterval: 100_000,
      }),
    });
  });

  it('encodes what it decodes, byte for byte', () => {
    const r = decodeControl(BIRD_UP);
    expect(r.ok && encodeControl(r.packet)).toEqual(BIRD_UP);
  });

  it('round-trips every flag, state and diagnostic', () => {
    const p = controlPacket({ state: 'Init', myDiscriminator: 7, yourDiscriminator: 9, diag: 3, poll: true, controlPlaneIndependent: true, demand: true, detectMult: 5 });
    const b = encodeControl(p);
    expect(b[0]).toBe(0x23);
    expect(b[1]).toBe(0x80 | 0x20 | 0x08 | 0x02);
    expect(decodeControl(b)).toEqual({ ok: true, packet: p });
    const f = controlPacket({ state: 'Down', myDiscriminator: 1, final: true });
    expect(decodeControl(encodeControl(f))).toEqual({ ok: true, packet: f });
  });

  it('accepts a Down packet with Your Discriminator 0 and trailing bytes beyond Length', () => {
    const b = new Uint8Array(30);
    b.set(encodeControl(controlPacket({ state: 'Down', myDiscriminator: 5 })));
    expect(decodeControl(b).ok).toBe(true);
  });

  const malformed: [string, Uint8Array, DiscardReason, { ttl?: number }?][] = [
    ['TTL 254 (RFC 5881 §5)', BIRD_UP, 'bad-ttl', { ttl: 254 }],
    ['TTL 1', BIRD_UP, 'bad-ttl', { ttl: 1 }],
    ['empty', new Uint8Array(0), 'too-short'],
    ['23 bytes', BIRD_UP.subarray(0, 23), 'too-short'],
    ['version 0', bytes((b) => (b[0] = 0x00)), 'bad-version'],
    ['version 2', bytes((b) => (b[0] = 0x40)), 'bad-version'],
    ['Length 23', bytes((b) => (b[3] = 23)), 'bad-length'],
    ['Length 0', bytes((b) => (b[3] = 0)), 'bad-length'],
    ['A bit with Length 24', bytes((b) => (b[1] |= 0x04)), 'bad-length'],
    ['Length beyond the datagram', bytes((b) => (b[3] = 48)), 'length-exceeds-payload'],
    ['Detect Mult 0', bytes((b) => (b[2] = 0)), 'zero-detect-mult'],
    ['Multipoint bit', bytes((b) => (b[1] |= 0x01)), 'multipoint'],
    ['My Discriminator 0', bytes((b) => b.fill(0, 4, 8)), 'zero-my-discriminator'],
    ['Your Discriminator 0 in Up', bytes((b) => b.fill(0, 8, 12)), 'zero-your-discriminator'],
    ['Your Discriminator 0 in Init', bytes((b) => { b.fill(0, 8, 12); b[1] = 0x80; }), 'zero-your-discriminator'],
    ['authentication present (none configured)', (() => { const b = new Uint8Array(26); b.set(BIRD_UP); b[1] |= 0x04; b[3] = 26; return b; })(), 'authentication-not-configured'],
    ['Poll and Final together', bytes((b) => (b[1] |= 0x30)), 'poll-and-final'],
  ];
  for (const [name, b, reason, opts] of malformed) {
    it(`discards ${name}: ${reason}`, () => {
      expect(decodeControl(b, opts)).toEqual({ ok: false, reason });
    });
  }

  it('never throws on random bytes, and what it accepts re-encodes to the same 24 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }), (b, ttl) => {
        const r = decodeControl(b, { ttl });
        if (r.ok) {
          expect(ttl === undefined || ttl === 255).toBe(true);
          const again = encodeControl(r.packet);
          expect(again).toEqual(b.subarray(0, 24).map((x, i) => (i === 3 ? 24 : x)));
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('names diagnostics in operator words', () => {
    expect(diagWords(1)).toBe('no BFD packet from the peer within the detection time');
    expect(diagWords('neighbor-signaled-session-down')).toBe('the peer said the session is down');
    expect(diagWords(20)).toBe('diagnostic 20 (reserved)');
  });
});
