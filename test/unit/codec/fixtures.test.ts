/**
 * Every proto-fixture: .bin decodes to its .json, canonical ones re-encode
 * to the same bytes (and so does the .json form); every malformed/ fixture
 * gives its expected error with the RFC 7606 action.
 */
import { describe, expect, it } from 'vitest';
import {
  BgpError,
  decodeMessage,
  encodeMessage,
  messageFromJson,
  messageToJson,
  type UpdateMessage,
} from '../../../src/bgp/codec/index.js';
import { loadFixtures } from './fixtures.js';

const wellFormed = loadFixtures('wellFormed');
const malformed = loadFixtures('malformed');

describe('well-formed fixtures', () => {
  it('exist for every message type', () => {
    const types = new Set(wellFormed.map((f) => f.dir));
    for (const t of ['open', 'update', 'notification', 'keepalive', 'route-refresh']) expect(types).toContain(t);
  });

  for (const f of wellFormed) {
    describe(`${f.dir}/${f.name}`, () => {
      it('has a decoded .json beside the .bin', () => {
        expect(f.json, `${f.dir}/${f.name}.json is missing`).not.toBeNull();
      });
      if (!f.json) return;
      const json = f.json;
      it('decodes to its .json', () => {
        const msg = decodeMessage(f.bytes, f.ctx);
        expect(messageToJson(msg)).toEqual(json.message);
      });
      if (json.canonical !== false) {
        it('re-encodes to the same bytes', () => {
          const msg = decodeMessage(f.bytes, f.ctx);
          expect(encodeMessage(msg, f.ctx).toString('hex')).toBe(f.bytes.toString('hex'));
        });
        it('encodes its .json form to the same bytes', () => {
          const msg = messageFromJson(json.message as Record<string, unknown>);
          expect(encodeMessage(msg, f.ctx).toString('hex')).toBe(f.bytes.toString('hex'));
        });
      } else {
        it('re-encodes to canonical bytes, a fixed point of decode+encode (non-canonical input)', () => {
          const once = encodeMessage(decodeMessage(f.bytes, f.ctx), f.ctx);
          expect(once.equals(f.bytes)).toBe(false);
          const twice = encodeMessage(decodeMessage(once, f.ctx), f.ctx);
          expect(twice.toString('hex')).toBe(once.toString('hex'));
        });
      }
    });
  }
});

describe('malformed fixtures', () => {
  it('exist', () => expect(malformed.length).toBeGreaterThan(30));
  for (const f of malformed) {
    it(`${f.name}: ${String(f.json?.description ?? '')}`, () => {
      expect(f.json, `malformed/${f.name}.json is missing`).not.toBeNull();
      const want = f.json!.error as { code: number; subcode: number; action: string };
      if (want.action === 'session-reset') {
        let thrown: unknown;
        try {
          decodeMessage(f.bytes, f.ctx);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(BgpError);
        const err = thrown as BgpError;
        expect({ code: err.code, subcode: err.subcode }).toEqual({ code: want.code, subcode: want.subcode });
        expect(err.action ?? 'session-reset').toBe('session-reset');
        return;
      }
      const msg = decodeMessage(f.bytes, f.ctx) as UpdateMessage;
      expect(msg.type).toBe('UPDATE');
      if (want.action === 'treat-as-withdraw') {
        expect(msg.treatAsWithdraw).toMatchObject({ code: want.code, subcode: want.subcode });
      } else {
        expect(msg.treatAsWithdraw).toBeUndefined();
        expect(msg.discarded).toContainEqual(expect.objectContaining({ code: want.code, subcode: want.subcode }));
      }
    });
  }
});
