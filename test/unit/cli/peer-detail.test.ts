/** `agent peers <name>`: the session's uptime and flap count in words (what the metrics export). */
import { describe, expect, it } from 'vitest';
import { formatDuration, formatPeer } from '../../../src/cli/commands/inspect.js';
import type { PeerSnapshot } from '../../../src/agent/snapshot.js';

const NOW = Date.UTC(2026, 11, 4, 20, 0, 0);
const counters = { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, received: 0, accepted: 0, advertised: 0 };
const peer = (over: Partial<PeerSnapshot>): PeerSnapshot => ({
  name: 'Mesh_10_0_0_2', address: '10.0.0.2', port: 179, type: 'node-to-node mesh', asNumber: 64512,
  bgpState: 'Established', birdState: 'up', since: NOW - 3_725_000, passive: false, counters, flaps: 2, ...over,
});

describe('agent peers detail: session uptime and flaps', () => {
  it('an Established session says how long it is up and how often it flapped', () => {
    expect(formatPeer(peer({}), NOW)).toContain('    Session:          up 1h 2m, 2 flaps since configured\n');
  });

  it('a session that is down says so, with one flap in the singular', () => {
    expect(formatPeer(peer({ bgpState: 'Active', birdState: 'start', flaps: 1 }), NOW)).toContain('    Session:          not up, 1 flap since configured\n');
  });

  it('a peer never started has no session line', () => {
    expect(formatPeer(peer({ flaps: undefined }), NOW)).not.toContain('Session:');
  });

  it('durations read as the two largest units', () => {
    expect([12_000, 250_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatDuration)).toEqual(['12s', '4m 10s', '2h 5m', '3d 4h']);
    expect(formatDuration(-5)).toBe('0s'); // a clock step back never prints a negative uptime
  });
});
