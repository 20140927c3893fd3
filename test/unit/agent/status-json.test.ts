/**
 * `status --json` and `peers --json` (issue 23): one time format (ISO 8601
 * strings, UTC) everywhere, and a peer is the same object under the same
 * field names in both (`state` is BIRD's up/start/down in both; no
 * `birdState` in one and `state` in the other).
 */
import { describe, expect, it } from 'vitest';
import type { PeerSnapshot, StatusSnapshot } from '../../../src/agent/snapshot.js';
import { errorJson, peerJson, statusJson } from '../../../src/agent/status-json.js';

const NOW = Date.UTC(2026, 11, 4, 18, 0, 0);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const counters = { messagesIn: 5, messagesOut: 6, updatesIn: 2, updatesOut: 1, received: 3, accepted: 3, advertised: 1 };

const peer = (over: Partial<PeerSnapshot> = {}): PeerSnapshot => ({
  name: 'Global_10_0_0_2', address: '10.0.0.2', port: 179, type: 'global', asNumber: 64512, bgpState: 'Established', birdState: 'up',
  since: NOW - 5000, passive: false, counters, capabilities: ['as4', 'route-refresh'], holdTime: 240, keepaliveTime: 80, bgpPeer: 'tor-a',
  bfd: {
    state: 'Down', remoteState: 'Down', since: NOW - 7000, localDiscriminator: 1, remoteDiscriminator: 0, txIntervalMs: 100, rxIntervalMs: 100,
    detectionTimeMs: 300, multiplier: 3, remoteMultiplier: 3, configured: { minTxMs: 100, minRxMs: 100, multiplier: 3 } as never, localAddress: '10.0.0.1',
    lastDown: { at: NOW - 7000, diag: 1 as never, reason: 'control detection time expired' }, transitions: 2, packetsIn: 0, packetsOut: 0,
  },
  ...over,
});

const snap = (peers: PeerSnapshot[]): StatusSnapshot => ({
  version: '0.1.0', pid: 1, startedAt: NOW - 60_000, now: NOW,
  node: { name: 'node-a', ipv4: '10.0.0.1' },
  peers,
  datastore: { connected: false, since: NOW - 30_000, synced: true, revision: 9, skipped: [] },
  kernel: { enabled: true, routes: 1, failed: [{ route: '10.244.3.0/26 via 10.0.0.2', error: 'ENETUNREACH', since: NOW - 2000, attempts: 3 }], lastScan: NOW - 1500, lastLoopAt: NOW - 1000, scanIntervalMs: 2000 },
  rib: { prefixes: 1, paths: 1 },
});

/** Every string that looks like a time, and every number under a key that names a time. */
function times(value: unknown, path = ''): { path: string; value: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => times(v, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => times(v, `${path}.${k}`));
  return /(since|at|At|now|lastScan)$/.test(path) ? [{ path, value }] : [];
}

describe('status --json and peers --json', () => {
  it('writes every time as an ISO 8601 string, in both', () => {
    const status = statusJson(snap([peer()]));
    const found = times(status);
    expect(found.map((t) => t.path).sort()).toEqual([
      '.datastore.since', '.kernel.failed[0].since', '.kernel.lastLoopAt', '.kernel.lastScan', '.now',
      '.peers[0].bfd.lastDown.at', '.peers[0].bfd.since', '.peers[0].since', '.startedAt',
    ]);
    for (const t of found) expect(t.value, t.path).toMatch(ISO);
    expect(status.now).toBe('2026-12-04T18:00:00.000Z');
    expect(times(peerJson(peer())).every((t) => ISO.test(String(t.value)))).toBe(true);
  });

  it('shows a peer as the same object in both, with state (BIRD\'s) and bgpState (RFC 4271), never birdState', () => {
    const p = peer({ disabled: true, bgpState: 'Idle', birdState: 'down' });
    const fromStatus = (statusJson(snap([p])).peers as unknown[])[0];
    expect(fromStatus).toEqual(peerJson(p));
    expect(fromStatus).toMatchObject({ state: 'down', bgpState: 'Idle', disabled: true, bgpPeer: 'tor-a', info: 'Idle Disabled by the operator', since: '2026-12-04T17:59:55.000Z' });
    expect(JSON.stringify(fromStatus)).not.toContain('birdState');
    expect(peerJson(peer())).toMatchObject({ prefixes: { received: 3, accepted: 3, advertised: 1 }, counters, capabilities: ['as4', 'route-refresh'], lastError: null, disabled: false });
  });

  it('an error is one JSON object on one line', () => {
    expect(JSON.parse(errorJson('Calico process is not running: no agent answers on /x'))).toEqual({ error: 'Calico process is not running: no agent answers on /x' });
  });
});
