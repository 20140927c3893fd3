/** BFD in `agent status` (Problems), `agent peers` and the metrics (issue 22). */
import { describe, expect, it } from 'vitest';
import { formatStatus, problems } from '../../../src/agent/status-format.js';
import { formatPeer } from '../../../src/cli/commands/inspect.js';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import type { PeerSnapshot, StatusSnapshot } from '../../../src/agent/snapshot.js';
import type { BfdPeerStatus } from '../../../src/bfd/manager.js';

const NOW = Date.UTC(2026, 10, 23, 23, 45, 0);
const counters = { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, received: 0, accepted: 0, advertised: 0 };

function bfd(over: Partial<BfdPeerStatus>): BfdPeerStatus {
  return {
    state: 'Up', remoteState: 'Up', since: NOW - 5000, localDiscriminator: 11, remoteDiscriminator: 22,
    txIntervalMs: 100, rxIntervalMs: 100, detectionTimeMs: 300, multiplier: 3, remoteMultiplier: 3,
    configured: { minTxMs: 100, minRxMs: 100, multiplier: 3 }, localAddress: '10.0.0.1', sourcePort: 50000,
    transitions: 2, packetsIn: 10, packetsOut: 10, ...over,
  };
}

function peer(over: Partial<PeerSnapshot>): PeerSnapshot {
  return {
    name: 'Global_10_0_0_2', address: '10.0.0.2', port: 179, type: 'global', asNumber: 64512,
    bgpState: 'Established', birdState: 'up', since: NOW - 60_000, passive: false, counters, ...over,
  };
}

function snapshot(peers: PeerSnapshot[]): StatusSnapshot {
  return {
    version: '0.1.0', pid: 1, startedAt: NOW - 60_000, now: NOW, node: { name: 'node-a', ipv4: '10.0.0.1' }, peers,
    datastore: { connected: true, since: NOW - 60_000, synced: true, revision: 42, skipped: [] },
    kernel: { enabled: true, routes: 3, failed: [], lastLoopAt: NOW - 1000, scanIntervalMs: 2000 },
    rib: { prefixes: 3, paths: 3 },
  };
}

describe('BFD in the status surfaces', () => {
  it('a BFD session that is not Up is a Problem with its reason; Up is none', () => {
    const down = bfd({ state: 'Down', transitions: 3, lastDown: { at: NOW - 1000, diag: 'control-detection-time-expired', reason: 'no BFD packet from the peer within the detection time' } });
    expect(problems(snapshot([peer({ bfd: bfd({}) })]))).toEqual([]);
    expect(problems(snapshot([peer({ bfd: down })]))).toEqual([
      'peer 10.0.0.2 (Global_10_0_0_2) BFD is Down: no BFD packet from the peer within the detection time; routes via this peer left the kernel and its BGP session was reset (Cease 10, BFD Down)',
    ]);
    expect(formatStatus(snapshot([peer({ bfd: bfd({ state: 'Down', transitions: 0 }) })]))).toContain(
      '- peer 10.0.0.2 (Global_10_0_0_2) BFD is Down: no BFD packet from the peer yet — is BFD configured on its side',
    );
    expect(problems(snapshot([peer({ bfd: bfd({ state: 'Down', error: 'cannot receive BFD on 10.0.0.1:3784: EADDRINUSE' }) })]))[0]).toMatch(/BFD is Down: cannot receive BFD on 10\.0\.0\.1:3784/);
  });

  it('agent peers prints the BFD block', () => {
    const text = formatPeer(peer({ bfd: bfd({}) }), NOW);
    expect(text).toMatch(/  BFD state: +Up since .* \(remote Up\)\n +Intervals: +tx 100 ms, rx 100 ms, multiplier 3 \(remote 3\), detection 300 ms\n +Discriminators: +local 11, remote 22/);
    expect(formatPeer(peer({}), NOW)).not.toContain('BFD');
  });

  it('metrics: state as one gauge per state, transitions, detection time', async () => {
    const m = new AgentMetrics(() => snapshot([peer({ bfd: bfd({}) }), peer({ name: 'Mesh_10_0_0_3', address: '10.0.0.3', type: 'node-to-node mesh' })]));
    const text = await m.render();
    expect(text).toContain('bgp_agent_peer_bfd_state{peer="10.0.0.2",name="Global_10_0_0_2",type="global",state="Up"} 1');
    expect(text).toContain('bgp_agent_peer_bfd_state{peer="10.0.0.2",name="Global_10_0_0_2",type="global",state="Down"} 0');
    expect(text).toContain('bgp_agent_peer_bfd_transitions_total{peer="10.0.0.2",name="Global_10_0_0_2",type="global"} 2');
    expect(text).toContain('bgp_agent_peer_bfd_detection_time_seconds{peer="10.0.0.2",name="Global_10_0_0_2",type="global"} 0.3');
    expect(text).not.toContain('bfd_state{peer="10.0.0.3"');
  });
});
