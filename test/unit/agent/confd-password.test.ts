/**
 * Calico's confd test "password" (confd/tests/test_suite_common.sh,
 * test_bgp_password, expected output in compiled_templates/password/step1..6),
 * replayed through this agent: the same resources on node1, the same Secret
 * changes, and at each step the sessions handed to the speaker must be the
 * ones confd renders, with the same passwords (confd's `password "..."`
 * lines), the ones without a secret or key peered without a password.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BgpPasswords } from '../../../src/agent/bgp-passwords.js';
import { ResourceCache } from '../../../src/datastore/cache.js';
import { computeDesiredState } from '../../../src/datastore/desired-state.js';

const R = '/calico/resources/v3/projectcalico.org';

function cache(): ResourceCache {
  const c = new ResourceCache();
  let rev = 1;
  const put = (key: string, value: object) => c.apply({ type: 'put', key, value: JSON.stringify({ apiVersion: 'projectcalico.org/v3', ...value }), modRevision: rev++ });
  // The test runs with the node-to-node mesh turned off.
  put(`${R}/bgpconfigurations/default`, { kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: false } });
  for (const i of [1, 2, 3, 4]) {
    put(`${R}/nodes/node${i}`, { kind: 'Node', metadata: { name: `node${i}`, labels: { node: 'yes' } }, spec: { bgp: { ipv4Address: `10.24.0.${i}/24` } } });
  }
  const peer = (name: string, spec: object) => put(`${R}/bgppeers/${name}`, { kind: 'BGPPeer', metadata: { name }, spec: { asNumber: 64512, ...spec } });
  peer('bgppeer-1', { nodeSelector: 'has(node)', peerIP: '10.24.0.2', password: { secretKeyRef: { name: 'my-secrets-1', key: 'a' } } });
  peer('bgppeer-2', { nodeSelector: 'has(node)', peerIP: '10.24.0.3', password: { secretKeyRef: { name: 'my-secrets-1', key: 'b' } } });
  peer('bgppeer-3', { node: 'node1', peerIP: '10.24.10.10', password: { secretKeyRef: { name: 'my-secrets-2', key: 'c' } } });
  return c;
}

const dir = mkdtempSync(join(tmpdir(), 'md5-confd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let generation = 0;

/** kubectl create/apply of a Secret, as the kubelet then lays it out; null = deleted (the volume goes). */
function secret(name: string, data: Record<string, string> | null): void {
  const at = join(dir, name);
  if (data === null) {
    rmSync(at, { recursive: true, force: true });
    return;
  }
  mkdirSync(at, { recursive: true });
  const ts = `..gen_${generation++}`;
  mkdirSync(join(at, ts));
  for (const [k, v] of Object.entries(data)) writeFileSync(join(at, ts, k), v);
  symlinkSync(ts, join(at, '..data_tmp'));
  renameSync(join(at, '..data_tmp'), join(at, '..data'));
  // The kubelet removes links of keys no longer in the Secret.
  for (const k of ['a', 'b', 'c']) rmSync(join(at, k), { force: true });
  for (const k of Object.keys(data)) symlinkSync(join('..data', k), join(at, k));
}

describe("confd's password test, step by step, on node1", () => {
  const state = computeDesiredState(cache(), 'node1').state!;
  const pw = new BgpPasswords({ dir, onChange: () => {}, readCounters: () => null });
  const sessions = () => {
    pw.tick();
    return Object.fromEntries(pw.apply([...state.peers.values()]).map((p) => [p.name, p.password ?? null]));
  };

  it('renders the three sessions confd renders', () => {
    expect([...state.peers.values()].map((p) => `${p.name} ${p.type}`).sort()).toEqual([
      'Node_10_24_0_2 node specific',
      'Node_10_24_0_3 node specific',
      'Node_10_24_10_10 node specific',
    ]);
  });

  it('step 1: no secrets yet: three sessions, none with a password; each missing key is a problem', () => {
    expect(sessions()).toEqual({ Node_10_24_0_2: null, Node_10_24_0_3: null, Node_10_24_10_10: null });
    expect(pw.problems().map((p) => p.key).sort()).toEqual(['secret my-secrets-1 key a', 'secret my-secrets-1 key b', 'secret my-secrets-2 key c']);
  });

  it('step 2: my-secrets-1 with only b', () => {
    secret('my-secrets-1', { b: 'password-b' });
    expect(sessions()).toEqual({ Node_10_24_0_2: null, Node_10_24_0_3: 'password-b', Node_10_24_10_10: null });
  });

  it('step 3: a and b, and my-secrets-2 with c: passwords on all', () => {
    secret('my-secrets-1', { b: 'password-b', a: 'password-a' });
    secret('my-secrets-2', { c: 'password-c' });
    expect(sessions()).toEqual({ Node_10_24_0_2: 'password-a', Node_10_24_0_3: 'password-b', Node_10_24_10_10: 'password-c' });
    expect(pw.problems()).toEqual([]);
  });

  it('step 4: my-secrets-2 deleted: password-c gone', () => {
    secret('my-secrets-2', null);
    expect(sessions()).toEqual({ Node_10_24_0_2: 'password-a', Node_10_24_0_3: 'password-b', Node_10_24_10_10: null });
  });

  it('step 5: new passwords', () => {
    secret('my-secrets-1', { b: 'new-password-b', a: 'new-password-a' });
    expect(sessions()).toEqual({ Node_10_24_0_2: 'new-password-a', Node_10_24_0_3: 'new-password-b', Node_10_24_10_10: null });
  });

  it('step 6: key a deleted: new-password-a gone; no password in any problem', () => {
    secret('my-secrets-1', { b: 'new-password-b' });
    expect(sessions()).toEqual({ Node_10_24_0_2: null, Node_10_24_0_3: 'new-password-b', Node_10_24_10_10: null });
    expect(JSON.stringify(pw.problems())).not.toMatch(/password-[abc]/);
  });
});
