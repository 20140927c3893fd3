/** `agent decode` (issue 3): hex, stdin lines, raw files, context flags, malformed messages -> error JSON + exit 1. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDecode, type DecodeArgs } from '../../../src/cli/commands/decode.js';
import { FIXTURE_ROOT } from './fixtures.js';
import { readFileSync } from 'node:fs';

const base: DecodeArgs = { as4: false, addPath: false, extendedMessage: false, mergeAs4: false, pretty: false };
const fixture = (p: string): Buffer => readFileSync(join(FIXTURE_ROOT, p));
const tmp = mkdtempSync(join(tmpdir(), 'codec-decode-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('agent decode', () => {
  it('--hex prints the message JSON with prefixes as strings', () => {
    const r = runDecode({ ...base, as4: true, hex: fixture('update/hand-update-ipv4.bin').toString('hex') }, () => '');
    expect(r.failed).toBe(false);
    const out = JSON.parse(r.lines[0]);
    expect(out).toMatchObject({ type: 'UPDATE', nlri: ['10.8.94.64/26', '192.168.160.192/26'], attributes: { origin: 'IGP', nextHop: '10.10.20.5', localPref: 100 } });
    expect(out.attributes.asPath).toEqual([{ type: 'AS_SEQUENCE', asns: [64512] }]);
  });

  it('reads one hex message per stdin line, skipping blank lines', () => {
    const stdin = ['ffffffffffffffffffffffffffffffff001304', '', `0x${fixture('open/hand-open-bird-style.bin').toString('hex')}`].join('\n');
    const r = runDecode(base, () => stdin);
    expect(r.lines.map((l) => JSON.parse(l).type)).toEqual(['KEEPALIVE', 'OPEN']);
    const open = JSON.parse(r.lines[1]);
    expect(open).toMatchObject({ version: 4, myAs: 64512, holdTime: 240, bgpId: '10.0.0.1' });
    expect(open.capabilities.map((c: { name: string }) => c.name)).toContain('fqdn');
  });

  it('--file frames back-to-back raw messages; --merge-as4 merges AS4_PATH', () => {
    const file = join(tmp, 'two.bin');
    writeFileSync(file, Buffer.concat([fixture('update/bird2-as4-path.bin'), fixture('keepalive/bird2.bin')]));
    const kept = runDecode({ ...base, file }, () => '');
    expect(kept.lines.length).toBe(2);
    expect(JSON.parse(kept.lines[0]).attributes.as4Path).toEqual([{ type: 'AS_SEQUENCE', asns: [65001, 65002, 4200000003] }]);
    const merged = runDecode({ ...base, file, mergeAs4: true }, () => '');
    expect(JSON.parse(merged.lines[0]).attributes.asPath).toEqual([{ type: 'AS_SEQUENCE', asns: [65001, 65002, 4200000003] }]);
  });

  it('--add-path reads path ids', () => {
    const r = runDecode({ ...base, as4: true, addPath: true, hex: fixture('update/hand-update-add-path.bin').toString('hex') }, () => '');
    expect(JSON.parse(r.lines[0]).nlri[0]).toEqual({ prefix: '10.8.94.64/26', pathId: 1 });
  });

  it('prints {"error":{code,subcode,name,action}} and fails for malformed messages', () => {
    const reset = runDecode({ ...base, as4: true, hex: fixture('malformed/header-marker.bin').toString('hex') }, () => '');
    expect(reset.failed).toBe(true);
    expect(JSON.parse(reset.lines[0]).error).toMatchObject({ code: 1, subcode: 1, name: 'Message Header Error / Connection Not Synchronized', action: 'session-reset' });
    const taw = runDecode({ ...base, as4: true, hex: fixture('malformed/update-origin-value.bin').toString('hex') }, () => '');
    expect(taw.failed).toBe(true);
    expect(JSON.parse(taw.lines[0]).error).toMatchObject({ code: 3, subcode: 6, action: 'treat-as-withdraw' });
    const notHex = runDecode({ ...base, hex: 'xyz' }, () => '');
    expect(notHex.failed).toBe(true);
    expect(notHex.errors[0]).toMatch(/not hex/);
  });

  it('prints NOTIFICATION names and the shutdown communication', () => {
    const r = runDecode({ ...base, hex: fixture('notification/bird2-cease-admin-shutdown-message.bin').toString('hex') }, () => '');
    expect(JSON.parse(r.lines[0])).toMatchObject({ type: 'NOTIFICATION', code: 6, subcode: 2, name: 'Cease / Administrative Shutdown', shutdownMessage: 'fixture capture: planned maintenance' });
  });
});
