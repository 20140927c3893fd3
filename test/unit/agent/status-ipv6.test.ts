/**
 * Status for dual stack (issue 19): the IPv6 table as calicoctl prints it,
 * one note (not one per peer) for a node without an IPv6 address, IPv6 peers
 * in `--json` with the fields IPv4 peers have, IPv6 kernel counts.
 */
import { describe, expect, it } from 'vitest';
import { formatCalicoStatus, formatStatus, notes } from '../../../src/agent/status-format.js';
import type { PeerSnapshot, StatusSnapshot } from '../../../src/agent/snapshot.js';

const NOW = Date.UTC(2026, 10, 23, 23, 45, 0);
const counters = { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, received: 0, accepted: 0, advertised: 0 };
const peer = (over: Partial<PeerSnapshot>): PeerSnapshot => ({
  name: 'Mesh_172_17_8_102',
  address: '172.17.8.102',
  port: 179,
  type: 'node-to-node mesh',
  asNumber: 64512,
  bgpState: 'Established',
  birdState: 'up',
  since: Date.UTC(2026, 10, 23, 23, 30, 4),
  passive: false,
  counters,
  ...over,
});
const snapshot = (peers: PeerSnapshot[], node: StatusSnapshot['node']): StatusSnapshot => ({
  version: '0.1.0',
  pid: 1,
  startedAt: NOW - 60_000,
  now: NOW,
  node,
  peers,
  datastore: { connected: true, since: NOW - 60_000, synced: true, revision: 42, skipped: [] },
  kernel: { enabled: true, routes: 5, failed: [], lastLoopAt: NOW - 1000, scanIntervalMs: 2000, ipv6: { routes: 2, programmed: 2, failed: 0, kernelRoutes: 2 } },
  rib: { prefixes: 3, paths: 3 },
});

const NO_V6 = /node: no IPv6 address .*no IPv6 BGP sessions/;

describe('IPv6 in agent status', () => {
  it('a node without an IPv6 address says so once, in the notes; calicoctl\'s part stays byte for byte', () => {
    const snap = snapshot([peer({}), peer({ name: 'Mesh_172_17_8_103', address: '172.17.8.103' })], { name: 'a', ipv4: '172.17.8.101' });
    const text = formatStatus(snap, { utc: true });
    expect(text.startsWith(formatCalicoStatus(snap, { utc: true }))).toBe(true);
    expect(formatCalicoStatus(snap, { utc: true })).toContain('IPv6 BGP status\nNo IPv6 peers found.\n');
    expect(text.split('\n').filter((l) => NO_V6.test(l))).toHaveLength(1);
  });

  it('a dual-stack node has no such note and lists its IPv6 peers in the IPv6 table', () => {
    const v6 = peer({ name: 'Mesh_fd00_199__2', address: 'fd00:199::2', bgpState: 'Idle', birdState: 'down', lastError: 'IPv6 peer not started: this agent speaks IPv4 unicast only so far (dual stack is not built yet)' });
    const snap = snapshot([peer({}), v6], { name: 'a', ipv4: '172.17.8.101', ipv6: 'fd00:199::1' });
    expect(notes(snap).some((l) => NO_V6.test(l))).toBe(false);
    const text = formatCalicoStatus(snap, { utc: true });
    const v6Table = text.slice(text.indexOf('IPv6 BGP status'));
    expect(v6Table).toContain('| fd00:199::2  | node-to-node mesh | down  | 23:30:04 | Idle BGP Error: IPv6 peer not started');
    expect(text.slice(0, text.indexOf('IPv6 BGP status'))).not.toContain('fd00:199::2');
  });

  it('no note while the node itself is not known yet (its problem is said instead)', () => {
    const snap = snapshot([], { name: 'a', problem: 'no Node resource' });
    expect(notes(snap).some((l) => NO_V6.test(l))).toBe(false);
  });

  it('--json: IPv6 peers carry the same fields as IPv4 ones; kernel IPv6 counts are in the snapshot', () => {
    const snap = snapshot([peer({}), peer({ name: 'Mesh_fd00_199__2', address: 'fd00:199::2' })], { name: 'a', ipv4: '172.17.8.101', ipv6: 'fd00:199::1' });
    const json = JSON.parse(JSON.stringify(snap)) as StatusSnapshot;
    const [a, b] = json.peers;
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    expect(json.kernel.ipv6).toEqual({ routes: 2, programmed: 2, failed: 0, kernelRoutes: 2 });
  });
});
