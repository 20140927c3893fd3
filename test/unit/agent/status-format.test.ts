import { describe, expect, it } from 'vitest';
import { formatCalicoStatus, formatSince, formatStatus, problems, renderTable } from '../../../src/agent/status-format.js';
import type { PeerSnapshot, StatusSnapshot } from '../../../src/agent/snapshot.js';
import { kernelLoopCheck } from '../../../src/agent/readiness.js';

const NOW = Date.UTC(2026, 10, 23, 23, 45, 0);
const counters = { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, received: 0, accepted: 0, advertised: 0 };

function peer(over: Partial<PeerSnapshot>): PeerSnapshot {
  return {
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
  };
}

function snapshot(peers: PeerSnapshot[], over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    version: '0.1.0',
    pid: 1,
    startedAt: NOW - 60_000,
    now: NOW,
    node: { name: 'node-a', ipv4: '172.17.8.101' },
    peers,
    datastore: { connected: true, since: NOW - 60_000, synced: true, revision: 42, skipped: [] },
    kernel: { enabled: true, routes: 3, failed: [], lastLoopAt: NOW - 1000, scanIntervalMs: 2000 },
    rib: { prefixes: 3, paths: 3 },
    ...over,
  };
}

describe('calicoctl node status format', () => {
  it('matches calicoctl byte for byte for one established mesh peer', () => {
    const text = formatCalicoStatus(snapshot([peer({})]), { utc: true });
    expect(text).toBe(
      [
        'Calico process is running.',
        '',
        'IPv4 BGP status',
        '+--------------+-------------------+-------+----------+-------------+',
        '| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
        '+--------------+-------------------+-------+----------+-------------+',
        '| 172.17.8.102 | node-to-node mesh | up    | 23:30:04 | Established |',
        '+--------------+-------------------+-------+----------+-------------+',
        '',
        'IPv6 BGP status',
        'No IPv6 peers found.',
        '',
        '',
      ].join('\n'),
    );
  });

  it('widens columns for long INFO, prints a date for yesterday, sorts peers by address and fills the IPv6 section', () => {
    const text = formatCalicoStatus(
      snapshot([
        peer({ address: '10.0.0.10', name: 'Mesh_10_0_0_10', bgpState: 'Active', birdState: 'start', lastError: 'Connect: connection refused', since: Date.UTC(2026, 10, 22, 8, 0, 0) }),
        peer({ address: '10.0.0.9', name: 'Global_10_0_0_9', type: 'global' }),
        peer({ address: 'fd00::2', name: 'Mesh_fd00__2' }),
      ]),
      { utc: true },
    );
    const lines = text.split('\n');
    expect(lines[4]).toBe(`| PEER ADDRESS |     PEER TYPE     | STATE |   SINCE    | ${' '.repeat(14)}INFO${' '.repeat(15)} |`);
    expect(lines[6]).toBe(`| 10.0.0.9     | global            | up    | 23:30:04   | Established${' '.repeat(22)} |`);
    expect(lines[7]).toBe('| 10.0.0.10    | node-to-node mesh | start | 2026-11-22 | Active Socket: Connection refused |');
    expect(text).toContain('IPv6 BGP status\n+');
    expect(text).toContain('| fd00::2      |');
    expect(text).not.toContain('No IPv6 peers found.');
  });

  it('says "No IPv4 peers found." when there are none', () => {
    expect(formatCalicoStatus(snapshot([]), { utc: true })).toContain('IPv4 BGP status\nNo IPv4 peers found.\n');
  });
});

describe('problems beyond calicoctl', () => {
  it('explains each peer that is not up, the datastore, skipped resources and failed routes', () => {
    const snap = snapshot(
      [
        peer({}),
        peer({ address: '10.0.0.3', bgpState: 'Active', birdState: 'start', lastError: 'Connect: connection refused' }),
        peer({ address: '10.0.0.4', bgpState: 'Idle', birdState: 'start', lastError: 'Received NOTIFICATION 2/2 bad peer AS 64513, expected 64512' }),
        peer({ address: '10.0.0.5', bgpState: 'Active', birdState: 'start', passive: true }),
      ],
      {
        datastore: { connected: false, since: Date.UTC(2026, 10, 23, 23, 40, 0), synced: true, revision: 9, lastError: 'connect ECONNREFUSED 127.0.0.1:2379', skipped: [{ key: '/calico/resources/v3/projectcalico.org/bgppeers/p1', label: 'BGPPeer/p1', error: 'spec.peerIP: "10.0.0" is not an IP address' }] },
        kernel: { enabled: true, routes: 2, lastLoopAt: NOW - 500, failed: [{ route: '10.244.1.0/26 via 10.0.2.9 dev tunl0 onlink', error: 'Nexthop has invalid gateway', since: NOW - 1000, attempts: 3 }] },
      },
    );
    const list = problems(snap, { utc: true });
    expect(list[0]).toBe('datastore disconnected since 23:40:00: connect ECONNREFUSED 127.0.0.1:2379 (sessions and routes are kept as last known)');
    expect(list[1]).toMatch(/^bad resource skipped: BGPPeer\/p1 \(\/calico\/resources\/v3\/projectcalico.org\/bgppeers\/p1\): spec.peerIP/);
    expect(list[2]).toMatch(/^peer 10.0.0.3 .* is Active: Connect: connection refused — nothing listens on 10.0.0.3:179/);
    expect(list[3]).toMatch(/is Idle: Received NOTIFICATION 2\/2 bad peer AS 64513, expected 64512 — the AS numbers/);
    expect(list[4]).toMatch(/is Active: waiting for 10.0.0.5 to connect/);
    expect(list[5]).toMatch(/^route not programmed: 10.244.1.0\/26 .*Nexthop has invalid gateway \(3 attempts/);
    expect(formatStatus(snap, { utc: true })).toContain('Problems\n- datastore disconnected');
  });

  it('adds nothing when all is well', () => {
    const snap = snapshot([peer({})]);
    snap.node.ipv6 = 'fd00:199::1'; // dual stack: an IPv4-only node has a note saying so (issue 19, test/unit/agent/status-ipv6.test.ts)
    expect(problems(snap)).toEqual([]);
    expect(formatStatus(snap, { utc: true })).toBe(formatCalicoStatus(snap, { utc: true }));
  });
});

describe('helpers', () => {
  it('formats SINCE as the time today and the date otherwise', () => {
    expect(formatSince(Date.UTC(2026, 10, 23, 0, 0, 1), NOW, { utc: true })).toBe('00:00:01');
    expect(formatSince(Date.UTC(2026, 10, 22, 23, 59, 59), NOW, { utc: true })).toBe('2026-11-22');
  });
  it('centres headers with the odd space on the right, as tablewriter does', () => {
    expect(renderTable(['AB', 'C'], [['x', 'long']]).split('\n')[1]).toBe('| AB |  C   |');
  });
});

describe('notes', () => {
  it('lists deliberate modes apart from problems', () => {
    const snap = snapshot([peer({})], { kernel: { enabled: false, note: 'started with --no-program-routes (pure BGP speaker)', routes: 0, failed: [] } });
    expect(problems(snap)).toEqual([]);
    expect(formatStatus(snap, { utc: true })).toContain('Notes\n- kernel: started with --no-program-routes (pure BGP speaker)\n');
  });
});

describe('the kernel reconcile loop in status and liveness (issue 15)', () => {
  it('a loop that stopped running is a problem and fails liveness, naming how long ago it ran', () => {
    const snap = snapshot([peer({})], { kernel: { enabled: true, routes: 3, failed: [], lastLoopAt: NOW - 45_000, scanIntervalMs: 2000 } });
    expect(problems(snap)).toEqual(['kernel: reconcile loop ran 45.0 s ago (expected every 2 s): routes are not being programmed']);
    expect(kernelLoopCheck(snap)).toMatchObject({ name: 'kernel', ok: false });
  });

  it('a loop that ran within three scan periods is alive; no check without route programming', () => {
    expect(kernelLoopCheck(snapshot([peer({})]))).toEqual({ name: 'kernel', ok: true, detail: 'reconcile loop ran 1.0 s ago' });
    const off = snapshot([peer({})], { kernel: { enabled: false, routes: 0, failed: [] } });
    expect(kernelLoopCheck(off)).toBeUndefined();
  });

  it('a loop that never ran fails once the start-up window has passed', () => {
    const never = snapshot([peer({})], { kernel: { enabled: true, routes: 0, failed: [], scanIntervalMs: 2000 } });
    expect(kernelLoopCheck(never)).toMatchObject({ ok: false, detail: 'reconcile loop has not run since the agent started 60.0 s ago' });
    expect(kernelLoopCheck({ ...never, startedAt: NOW - 2000 })).toMatchObject({ ok: true });
  });
});

describe('problems for a node that cannot run its speaker (issue 23)', () => {
  it('names a missing Node resource and a BGP port that could not be bound', () => {
    const snap = snapshot([], {
      node: { name: 'node-a', problem: 'no Node resource for this node "node-a"' },
      listener: { port: 179, error: 'cannot listen on port 179: address already in use (another BGP daemon, BIRD?)' },
    });
    expect(problems(snap)).toEqual([
      'node: no Node resource for this node "node-a": no BGP speaker runs until it is fixed',
      'BGP listener: cannot listen on port 179: address already in use (another BGP daemon, BIRD?); only outgoing sessions can come up',
    ]);
  });
});
