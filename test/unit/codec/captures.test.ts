/**
 * Every message of the lab capture (proto-fixtures/capture/messages.jsonl:
 * BIRD 2, GoBGP and FRR sessions) decodes with the context negotiated from
 * its session's two OPENs, with no error, and re-encodes to bytes that decode
 * to the same message.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  DEFAULT_CONTEXT,
  encodeMessage,
  messageToJson,
  negotiate,
  type DecodeContext,
  type OpenMessage,
} from '../../../src/bgp/codec/index.js';
import { FIXTURE_ROOT } from './fixtures.js';

interface Captured {
  stream: number;
  src: string;
  sport: number;
  type: string;
  hex: string;
}

/** The JSON after passing on: unknown optional transitive attributes gain the Partial bit (RFC 4271 §5). */
function resent(json: Record<string, unknown>): Record<string, unknown> {
  const attrs = json.attributes as { unknown?: { flags: number }[] } | undefined;
  for (const u of attrs?.unknown ?? []) if ((u.flags & 0xc0) === 0xc0) u.flags |= 0x20;
  return json;
}

const path = join(FIXTURE_ROOT, 'capture/messages.jsonl');

describe('lab capture', () => {
  it('decodes every captured message with its session context', () => {
    expect(existsSync(path), `${path} is missing`).toBe(true);
    const messages = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Captured);
    expect(messages.length).toBeGreaterThan(100);
    const opens = new Map<string, OpenMessage>(); // "stream src:port" -> OPEN sent from there
    const sender = (m: Captured): string => `${m.stream} ${m.src}:${m.sport}`;
    for (const m of messages) {
      if (m.type === 'OPEN') opens.set(sender(m), decodeMessage(Buffer.from(m.hex, 'hex'), DEFAULT_CONTEXT) as OpenMessage);
    }
    const counts: Record<string, number> = {};
    for (const m of messages) {
      const mine = opens.get(sender(m));
      const theirs = [...opens.entries()].find(([k]) => k.startsWith(`${m.stream} `) && k !== sender(m))?.[1];
      // What the receiver decodes with: negotiate(receiver's OPEN, sender's OPEN).receiveContext.
      const ctx: DecodeContext = mine && theirs ? negotiate(theirs, mine).receiveContext : DEFAULT_CONTEXT;
      const bytes = Buffer.from(m.hex, 'hex');
      const msg = decodeMessage(bytes, ctx);
      expect(msg.type).toBe(m.type);
      if (msg.type === 'UPDATE') {
        expect(msg.treatAsWithdraw, `stream ${m.stream} ${m.hex.slice(0, 80)}`).toBeUndefined();
        expect(msg.discarded).toBeUndefined();
      }
      const again = decodeMessage(encodeMessage(msg, ctx), ctx);
      expect(messageToJson(again)).toEqual(resent(messageToJson(msg)));
      counts[m.type] = (counts[m.type] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['KEEPALIVE', 'NOTIFICATION', 'OPEN', 'ROUTE-REFRESH', 'UPDATE']);
  });
});
