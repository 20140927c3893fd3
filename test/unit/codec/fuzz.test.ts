/**
 * The fuzzer (test/fuzz/engine.ts) at CI size: 100k seeded cases through the
 * decoder (with decode -> encode -> decode equality for every message that
 * decodes, IPv6 MP_REACH/MP_UNREACH and > 4096-octet extended messages among
 * them), the Framer (message boundaries and header errors) and a session on a
 * fake socket (every refused frame answered with the codec's NOTIFICATION).
 * `npm run fuzz -- --cases 1000000` runs the same at any size.
 */
import { describe, expect, it } from 'vitest';
import { runFuzz } from '../../fuzz/engine.js';

describe('fuzz (100k cases)', () => {
  it('decoder, framer and session: no crash, no hang, round trips equal, every error the right NOTIFICATION', () => {
    const r = runFuzz({ cases: 100_000, seed: 0x5eed });
    expect(r.cases).toBe(100_000);
    // Every kind of outcome must be reached, or the fuzzer is not exploring.
    expect(r.decoder.roundTrips).toBeGreaterThan(10_000);
    expect(r.decoder.ipv6).toBeGreaterThan(3_000);
    expect(r.decoder.extendedRoundTrips).toBeGreaterThan(1_000);
    expect(r.decoder.treatAsWithdraw).toBeGreaterThan(500);
    expect(r.decoder.errors).toBeGreaterThan(10_000);
    expect(r.framer.damaged).toBeGreaterThan(5_000);
    expect(r.framer.messages).toBeGreaterThan(50_000);
    expect(r.session.notifications).toBeGreaterThan(3_000);
    expect(r.session.messages - r.session.notifications).toBeGreaterThan(1_000);
  }, 120_000);
});
