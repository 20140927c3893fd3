import { describe, expect, it } from 'vitest';
import { formatChecks, readiness } from '../../../src/agent/readiness.js';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import type { PeerSnapshot, StatusSnapshot } from '../../../src/agent/snapshot.js';

const NOW = 1_800_000_000_000;
const counters = { messagesIn: 10, messagesOut: 7, updatesIn: 3, updatesOut: 2, received: 5, accepted: 4, advertised: 1 };
const peer = (address: string, bgpState: string, lastError?: string): PeerSnapshot => ({
  name: `Mesh_${address.replace(/\./g, '_')}`, address, port: 179, type: 'node-to-node mesh', asNumber: 64512,
  bgpState, birdState: bgpState === 'Established' ? 'up' : 'start', since: NOW - 5000, passive: false, counters, lastError,
});
const snap = (peers: PeerSnapshot[], over: Partial<StatusSnapshot> = {}): StatusSnapshot => ({
  version: 'x', pid: 1, startedAt: NOW - 600_000, now: NOW, node: { name: 'a' }, peers,
  datastore: { connected: true, since: NOW - 600_000, synced: true, revision: 7, skipped: [] },
  kernel: { enabled: true, routes: 2, failed: [] }, rib: { prefixes: 2, paths: 3 }, ...over,
});

describe('readiness', () => {
  it('passes when synced, all peers up and routes programmed', () => {
    const checks = readiness(snap([peer('10.0.0.2', 'Established')]), { gracePeriod: 30 });
    expect(checks.every((c) => c.ok)).toBe(true);
  });

  it('names every failing peer with its reason after the grace period', () => {
    const checks = readiness(snap([peer('10.0.0.2', 'Established'), peer('10.0.0.3', 'Active', 'Connect: connection refused')]), { gracePeriod: 30 });
    const bgp = checks.find((c) => c.name === 'bgp')!;
    expect(bgp.ok).toBe(false);
    expect(bgp.detail).toBe('1 of 2 peer(s) not Established: 10.0.0.3 Active (Connect: connection refused)');
    expect(formatChecks(checks)).toContain('FAIL bgp: 1 of 2');
  });

  it('tolerates unestablished peers inside the start-up grace period but not an unsynced datastore or failed routes', () => {
    const checks = readiness(
      snap([peer('10.0.0.3', 'Connect')], {
        startedAt: NOW - 5_000,
        datastore: { connected: false, since: NOW - 5_000, synced: false, revision: 0, lastError: 'ECONNREFUSED', skipped: [] },
        kernel: { enabled: true, routes: 1, failed: [{ route: '10.1.0.0/26', error: 'No such device', since: NOW, attempts: 2 }] },
      }),
      { gracePeriod: 30 },
    );
    expect(checks.map((c) => [c.name, c.ok])).toEqual([['datastore', false], ['node', true], ['bgp', true], ['routes', false]]);
    expect(checks[0].detail).toBe('not synced yet: ECONNREFUSED');
    expect(checks[3].detail).toContain('10.1.0.0/26: No such device');
  });

  it('fails naming the reason when the node has no Node resource: no speaker runs, so no peer is down (issue 23)', () => {
    const missing = snap([], { node: { name: 'node-a', problem: 'no Node resource for this node "node-a"' } });
    const node = readiness(missing, { gracePeriod: 30 }).find((c) => c.name === 'node')!;
    expect(node).toEqual({ name: 'node', ok: false, detail: 'no Node resource for this node "node-a": no BGP speaker runs' });
    expect(readiness(missing, { gracePeriod: 30 }).find((c) => c.name === 'bgp')?.ok).toBe(true); // 0 peers: not the failure to look for
  });

  it('fails when the BGP port could not be bound', () => {
    const busy = snap([peer('10.0.0.2', 'Established')], { listener: { port: 179, error: 'cannot listen on port 179: address already in use (another BGP daemon, BIRD?)' } });
    const checks = readiness(busy, { gracePeriod: 30 });
    expect(checks.find((c) => c.name === 'listen')).toMatchObject({ ok: false, detail: expect.stringMatching(/^cannot listen on port 179: address already in use/) });
    expect(formatChecks(checks)).toMatch(/FAIL listen: /);
  });
});

describe('metrics', () => {
  it('renders the snapshot numbers in Prometheus text format', async () => {
    const m = new AgentMetrics(() => snap([peer('10.0.0.2', 'Established'), peer('10.0.0.3', 'Active')]));
    const text = await m.render();
    expect(text).toMatch(/bgp_agent_peer_established\{peer="10.0.0.2",name="Mesh_10_0_0_2",type="node-to-node mesh"\} 1/);
    expect(text).toMatch(/bgp_agent_peer_established\{peer="10.0.0.3",.*\} 0/);
    expect(text).toMatch(/bgp_agent_peer_prefixes\{peer="10.0.0.2",.*family="ipv4",kind="received"\} 5/);
    expect(text).toMatch(/bgp_agent_peer_messages_total\{peer="10.0.0.2",.*direction="in"\} 10/);
    expect(text).toMatch(/bgp_agent_datastore_revision 7/);
    // A second scrape must not double the counters.
    expect(await m.render()).toMatch(/bgp_agent_peer_messages_total\{peer="10.0.0.2",.*direction="in"\} 10/);
  });

  it('labels per-peer prefix counts with the family the peer carries (an IPv6 peer: IPv6 unicast only, issue 19)', async () => {
    const v6 = { ...peer('fd00:10::2', 'Established'), name: 'Mesh_fd00_10__2', counters: { ...counters, received: 9, advertised: 2 } };
    const text = await new AgentMetrics(() => snap([peer('10.0.0.2', 'Established'), v6])).render();
    expect(text).toContain('bgp_agent_peer_prefixes{peer="fd00:10::2",name="Mesh_fd00_10__2",type="node-to-node mesh",family="ipv6",kind="received"} 9');
    expect(text).toContain('bgp_agent_peer_prefixes{peer="fd00:10::2",name="Mesh_fd00_10__2",type="node-to-node mesh",family="ipv6",kind="advertised"} 2');
    expect(text).toContain('bgp_agent_peer_prefixes{peer="10.0.0.2",name="Mesh_10_0_0_2",type="node-to-node mesh",family="ipv4",kind="received"} 5');
    expect(text).not.toMatch(/peer="fd00:10::2".*family="ipv4"/);
  });

  it('renders the datastore-to-kernel histogram cumulatively and escapes label values', async () => {
    const p = peer('10.0.0.2', 'Established');
    const m = new AgentMetrics(() => snap([{ ...p, name: 'a"b\\c' }]));
    m.datastoreToKernel.observe(0.003);
    m.datastoreToKernel.observe(0.2);
    m.datastoreToKernel.observe(9);
    const text = await m.render();
    expect(text).toContain('# TYPE bgp_agent_datastore_to_kernel_seconds histogram');
    expect(text).toContain('bgp_agent_datastore_to_kernel_seconds_bucket{le="0.001"} 0');
    expect(text).toContain('bgp_agent_datastore_to_kernel_seconds_bucket{le="0.005"} 1');
    expect(text).toContain('bgp_agent_datastore_to_kernel_seconds_bucket{le="0.25"} 2');
    expect(text).toContain('bgp_agent_datastore_to_kernel_seconds_bucket{le="+Inf"} 3');
    expect(text).toContain('bgp_agent_datastore_to_kernel_seconds_count 3');
    expect(text).toMatch(/bgp_agent_datastore_to_kernel_seconds_sum 9\.20/);
    expect(text).toContain('name="a\\"b\\\\c"');
    expect(text.endsWith('\n')).toBe(true);
  });
});
