/**
 * Secrets as the kubelet mounts them: <dir>/<secret>/<key> -> ..data/<key>,
 * ..data -> ..<timestamp>/, swapped atomically by renaming ..data.
 */
import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSecret, resolvePasswords, SecretStore } from '../../../src/agent/secrets.js';
import { BgpPasswords } from '../../../src/agent/bgp-passwords.js';
import type { PeerConfig } from '../../../src/contracts.js';
import type { PeerSnapshot } from '../../../src/agent/snapshot.js';

let dir: string;
let generation = 0;

/** Write a Secret the way the kubelet's AtomicWriter does. */
function mountSecret(name: string, data: Record<string, string | Buffer>): void {
  const secret = join(dir, name);
  mkdirSync(secret, { recursive: true });
  const ts = `..2026_01_01_00_00_0${generation++}.${process.pid}`;
  mkdirSync(join(secret, ts));
  for (const [k, v] of Object.entries(data)) writeFileSync(join(secret, ts, k), v);
  symlinkSync(ts, join(secret, '..data_tmp'));
  renameSync(join(secret, '..data_tmp'), join(secret, '..data'));
  for (const k of Object.keys(data)) {
    try {
      symlinkSync(join('..data', k), join(secret, k));
    } catch {
      /* the key's link exists from an earlier generation */
    }
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'md5-secrets-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const peer = (over: Partial<PeerConfig> = {}): PeerConfig => ({
  name: 'Global_192_0_2_1',
  type: 'global',
  address: '192.0.2.1',
  port: 179,
  asNumber: 65001,
  passive: false,
  keepOriginalNextHop: false,
  restartTime: 120,
  ...over,
});

describe('readSecret', () => {
  it('reads the exact bytes through the ..data symlink (no trimming)', () => {
    mountSecret('bgp-pw', { tor: 'pass word \n' });
    expect(readSecret(dir, { name: 'bgp-pw', key: 'tor' })).toEqual({ ok: true, value: 'pass word \n' });
  });

  it('follows an atomic ..data swap', () => {
    mountSecret('bgp-pw', { tor: 'one' });
    mountSecret('bgp-pw', { tor: 'two' });
    expect(readSecret(dir, { name: 'bgp-pw', key: 'tor' })).toEqual({ ok: true, value: 'two' });
  });

  it('names what is missing: the secret, or the key; empty, too long, not UTF-8; never a path outside the dir', () => {
    mountSecret('bgp-pw', { tor: 'x', empty: '', long: 'y'.repeat(81), bin: Buffer.from([0xff, 0xfe]) });
    expect(readSecret(dir, { name: 'nope', key: 'tor' })).toMatchObject({ ok: false, problem: expect.stringMatching(/secret "nope" is not mounted/) });
    expect(readSecret(dir, { name: 'bgp-pw', key: 'other' })).toMatchObject({ ok: false, problem: expect.stringMatching(/secret "bgp-pw" has no key "other"/) });
    expect(readSecret(dir, { name: 'bgp-pw', key: 'empty' })).toMatchObject({ ok: false, problem: expect.stringMatching(/is empty/) });
    expect(readSecret(dir, { name: 'bgp-pw', key: 'long' })).toMatchObject({ ok: false, problem: expect.stringMatching(/81 bytes/) });
    expect(readSecret(dir, { name: 'bgp-pw', key: 'bin' })).toMatchObject({ ok: false, problem: expect.stringMatching(/not UTF-8/) });
    expect(readSecret(dir, { name: '..', key: 'tor' }).ok).toBe(false);
    expect(readSecret(dir, { name: 'bgp-pw', key: '..data' }).ok).toBe(false);
    expect(readSecret(dir, { name: 'a/b', key: 'tor' }).ok).toBe(false);
  });
});

describe('resolvePasswords', () => {
  it('fills the password; a missing key means no password, as confd renders it, and a problem naming peer, secret and key; others untouched', () => {
    mountSecret('bgp-pw', { tor: 'good' });
    const store = new SecretStore(dir, () => {});
    const plain = peer({ name: 'Global_192_0_2_9', address: '192.0.2.9' });
    const { peers, problems } = resolvePasswords(
      [peer({ passwordSecret: { name: 'bgp-pw', key: 'tor' } }), peer({ name: 'Node_192_0_2_2', address: '192.0.2.2', passwordSecret: { name: 'bgp-pw', key: 'gone' } }), plain],
      (r) => store.read(r),
    );
    expect(peers[0].password).toBe('good');
    expect(peers[1].password).toBeUndefined();
    expect(peers[1].passwordProblem).toBeUndefined();
    expect(peers[2]).toBe(plain);
    expect(problems).toEqual([
      {
        key: 'secret bgp-pw key gone',
        peer: 'Node_192_0_2_2',
        message: expect.stringMatching(/^peer Node_192_0_2_2 \(192\.0\.2\.2\): TCP MD5 password from secret "bgp-pw" key "gone": .*has no key.*peering without a password, as calico-node does$/),
      },
    ]);
    expect(JSON.stringify(problems)).not.toContain('good');
  });

  it('a value that cannot be a TCP MD5 key keeps the peer down with the reason', () => {
    mountSecret('bgp-pw', { long: 'y'.repeat(81) });
    const store = new SecretStore(dir, () => {});
    const { peers, problems } = resolvePasswords([peer({ passwordSecret: { name: 'bgp-pw', key: 'long' } })], (r) => store.read(r));
    expect(peers[0].passwordProblem).toMatch(/81 bytes.*session not started/);
    expect(problems).toHaveLength(1);
  });

  it("the agent's own password wins over the secret", () => {
    const { peers } = resolvePasswords([peer({ password: 'env', passwordSecret: { name: 'x', key: 'y' } })], () => ({ ok: false, missing: true, problem: 'no' }));
    expect(peers[0]).toMatchObject({ password: 'env' });
    expect(peers[0].passwordProblem).toBeUndefined();
  });
});

describe('SecretStore / BgpPasswords', () => {
  it('a poll after an atomic swap reports the change once; the re-applied peers carry the new value', () => {
    mountSecret('bgp-pw', { tor: 'one' });
    let changes = 0;
    const pw = new BgpPasswords({ dir, onChange: () => changes++, readCounters: () => null });
    const cfg = [peer({ passwordSecret: { name: 'bgp-pw', key: 'tor' } }), peer({ name: 'Mesh_10_0_0_2', address: '10.0.0.2' })];
    expect(pw.apply(cfg)[0].password).toBe('one');
    pw.tick();
    expect(changes).toBe(0);
    mountSecret('bgp-pw', { tor: 'two' });
    pw.tick();
    expect(changes).toBe(1);
    pw.tick();
    expect(changes).toBe(1);
    const again = pw.apply(cfg);
    expect(again[0].password).toBe('two');
    expect(again[1]).toBe(cfg[1]);
  });

  it('a key that appears later clears the problem and brings the password', () => {
    mountSecret('bgp-pw', { other: 'x' });
    let changes = 0;
    const pw = new BgpPasswords({ dir, onChange: () => changes++, readCounters: () => null });
    const cfg = [peer({ passwordSecret: { name: 'bgp-pw', key: 'tor' } })];
    expect(pw.apply(cfg)[0].password).toBeUndefined();
    expect(pw.problems()).toEqual([expect.objectContaining({ message: expect.stringMatching(/has no key "tor"/) })]);
    mountSecret('bgp-pw', { other: 'x', tor: 'now' });
    pw.tick();
    expect(changes).toBe(1);
    expect(pw.apply(cfg)[0]).toMatchObject({ password: 'now' });
    expect(pw.problems()).toEqual([]);
  });

  it('explains a password peer that is not up with the kernel counters that rose', () => {
    mountSecret('bgp-pw', { tor: 'one' });
    let failure = 10;
    let t = 0;
    const pw = new BgpPasswords({ dir, onChange: () => {}, now: () => t, readCounters: () => ({ TCPMD5NotFound: 0, TCPMD5Unexpected: 0, TCPMD5Failure: failure }) });
    pw.apply([peer({ passwordSecret: { name: 'bgp-pw', key: 'tor' } }), peer({ name: 'Mesh_10_0_0_2', address: '10.0.0.2' })]);
    pw.tick();
    failure = 13;
    t = 5000;
    pw.tick();
    const snap = (name: string, bgpState: string): PeerSnapshot =>
      ({ name, address: '', port: 179, type: 'global', asNumber: 1, bgpState, birdState: 'start', since: 0, passive: false, counters: {} }) as unknown as PeerSnapshot;
    const [a, b, c] = pw.explain([snap('Global_192_0_2_1', 'Active'), snap('Mesh_10_0_0_2', 'Active'), snap('Global_192_0_2_1', 'Established')]);
    expect(a.lastError).toMatch(/3 segments failed the TCP MD5 check/);
    expect(b.lastError).toBeUndefined();
    expect(c.lastError).toBeUndefined();

    // The key gone: the session runs without a password; its status names the secret, then the evidence.
    mountSecret('bgp-pw', { other: 'x' });
    pw.tick();
    pw.apply([peer({ passwordSecret: { name: 'bgp-pw', key: 'tor' } })]);
    const [d] = pw.explain([{ ...snap('Global_192_0_2_1', 'Active'), lastError: 'Connect: connection timed out' }]);
    expect(d.lastError).toMatch(/^peer Global_192_0_2_1 .*key "tor".*peering without a password.*; Connect: connection timed out; TCP MD5 on this node: 3 segments/);
    expect(d.lastError).not.toMatch(/no answer to our signed SYN/);

    // A key the listener refused is named for the password peer it belongs to.
    mountSecret('bgp-pw', { tor: 'three' });
    pw.tick();
    pw.apply([peer({ passwordSecret: { name: 'bgp-pw', key: 'tor' } })]);
    const refused = (address: string) => (address === '192.0.2.1' ? 'cannot set the TCP MD5 password for 192.0.2.1 on the listening socket: EINVAL (errno 22)' : undefined);
    const [e] = pw.explain([{ ...snap('Global_192_0_2_1', 'Active'), address: '192.0.2.1' }], refused);
    expect(e.lastError).toMatch(/^cannot set the TCP MD5 password for 192\.0\.2\.1 on the listening socket/);
  });
});
