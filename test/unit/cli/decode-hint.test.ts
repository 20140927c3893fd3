/**
 * `agent decode` says which `--as4` to use (issue 23): AS number width is
 * negotiated (RFC 6793 §3), not in the UPDATE, so the wrong guess shows as a
 * malformed AS_PATH or one with AS 0 (never a real hop, RFC 7607). The hint
 * is given only when the other width decodes the message cleanly.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeOne, runDecode, type DecodeArgs } from '../../../src/cli/commands/decode.js';

const FIXTURES = resolve(import.meta.dirname, '../../../proto-fixtures/update');
const args = (over: Partial<DecodeArgs>): DecodeArgs => ({ as4: false, addPath: false, extendedMessage: false, mergeAs4: false, pretty: false, ...over });
const ctx = (as4: boolean) => ({ as4, addPath: new Set<number>(), extendedMessage: false, keepAs4: true });

/** An UPDATE for 10.1.2.0/24 with ORIGIN, the given AS_PATH bytes and NEXT_HOP 10.0.0.1. */
function update(asPath: number[]): Uint8Array {
  const attrs = [0x40, 1, 1, 0, 0x40, 2, asPath.length, ...asPath, 0x40, 3, 4, 10, 0, 0, 1];
  const body = [0, 0, 0, attrs.length, ...attrs, 24, 10, 1, 2];
  const len = 19 + body.length;
  return Uint8Array.from([...new Array(16).fill(0xff), len >> 8, len & 255, 2, ...body]);
}

const TRY_AS4 = 'the AS_PATH decodes cleanly with 4-octet AS numbers: try --as4 (the session negotiated them, RFC 6793)';
const TRY_WITHOUT = 'the AS_PATH decodes cleanly with 2-octet AS numbers: try without --as4 (the session did not negotiate 4-octet AS, RFC 6793)';

describe('agent decode --as4 hint', () => {
  it('a 4-octet BIRD UPDATE read as 2-octet: malformed AS_PATH, and the hint to try --as4 (in the error and on stderr)', () => {
    const r = runDecode(args({ file: join(FIXTURES, 'bird2-ipv4-26-full.bin') }), () => '');
    expect(r.failed).toBe(true);
    expect(JSON.parse(r.lines[0]).error).toMatchObject({ subcode: 11, hint: TRY_AS4 });
    expect(r.errors).toEqual([`agent decode: message 1: ${TRY_AS4}`]);
    const right = runDecode(args({ file: join(FIXTURES, 'bird2-ipv4-26-full.bin'), as4: true }), () => '');
    expect(right).toMatchObject({ failed: false, errors: [] });
  });

  it('a 2-octet UPDATE read with --as4: the hint to drop it', () => {
    const r = runDecode(args({ file: join(FIXTURES, 'bird2-as4-off-2-octet-as-path.bin'), as4: true }), () => '');
    expect(JSON.parse(r.lines[0]).error.hint).toBe(TRY_WITHOUT);
    expect(runDecode(args({ file: join(FIXTURES, 'bird2-as4-off-2-octet-as-path.bin') }), () => '').errors).toEqual([]);
  });

  it('a 2-octet reading that parses but holds AS 0 is implausible: failed, with the hint; as 4-octet it is AS 65001 33619969', () => {
    // 4-octet: AS_SEQUENCE [65001, 0x02010001]; 2-octet: AS_SEQUENCE [0, 65001], AS_SEQUENCE [1].
    const bytes = update([2, 2, 0, 0, 0xfd, 0xe9, 2, 1, 0, 1]);
    const two = decodeOne(bytes, ctx(false));
    expect(two).toMatchObject({ ok: false, hint: TRY_AS4 });
    expect(two.out).toMatchObject({ attributes: { asPath: [{ asns: [0, 65001] }, { asns: [1] }] }, hint: TRY_AS4 });
    const four = decodeOne(bytes, ctx(true));
    expect(four).toMatchObject({ ok: true, out: { attributes: { asPath: [{ asns: [65001, 33619969] }] } } });
    expect(four.hint).toBeUndefined();
  });

  it('no hint when the AS_PATH is malformed either way, or the trouble is elsewhere', () => {
    const bad = decodeOne(update([7, 1, 0, 1]), ctx(false)); // segment type 7 is no segment type at all
    expect(bad.ok).toBe(false);
    expect(bad.hint).toBeUndefined();
    expect(JSON.stringify(bad.out)).not.toContain('hint');
    const withdraw = runDecode(args({ file: join(FIXTURES, 'bird2-ipv4-withdraw-addpath.bin') }), () => '');
    expect(withdraw.failed).toBe(true);
    expect(withdraw.errors).toEqual([]);
  });
});
