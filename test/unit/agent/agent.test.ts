/**
 * The agent's wiring with a fake datastore (no etcd, no kernel): desired-state
 * diffs reach the speaker, a changed identity rebuilds it without losing
 * diffs that arrive meanwhile, and status answers over the control socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from '../../../src/agent/control.js';
import type { StatusSnapshot } from '../../../src/agent/snapshot.js';
import { until } from '../../helpers/wait.js';
import type { DesiredState, PeerConfig } from '../../../src/datastore/desired.js';
import { FakeDatastore, startAgent, stopAgents } from '../../helpers/agent.js';

const meshPeer = (address: string): PeerConfig => ({
  name: `Mesh_${address.replace(/\./g, '_')}`,
  type: 'node-to-node mesh',
  address,
  port: 1, // nothing listens on port 1 of these addresses: sessions stay down, which is fine here
  asNumber: 64512,
  passive: true,
  keepOriginalNextHop: false,
  restartTime: 120,
});

function desired(asNumber: number, peers: PeerConfig[]): DesiredState {
  return {
    node: { name: 'node-a', ipv4: '127.0.0.1', ipv4PrefixLen: 8, asNumber, routerId: '127.0.0.1' },
    bgp: { nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [] },
    peers: new Map(peers.map((p) => [`${p.address}:${p.port}`, p])),
    blocks: new Map(),
    pools: new Map(),
  };
}

afterEach(stopAgents);

describe('agent wiring', () => {
  it('retries node registration while etcd is unreachable, then registers once', async () => {
    const ds = new FakeDatastore();
    const calls: unknown[] = [];
    ds.registerNode = async (n) => {
      calls.push(n);
      if (calls.length < 3) throw new Error('etcd unreachable: connect ECONNREFUSED');
    };
    await startAgent(ds, { registerNode: true, ipv4: { address: '10.0.1.2', prefixLen: 24 }, asNumber: 64513 });
    await until('third attempt', () => calls.length === 3, 8000);
    expect(calls[2]).toEqual({ name: 'node-a', ipv4Cidr: '10.0.1.2/24', asNumber: 64513 });
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toHaveLength(3);
  }, 15_000);

  it('registers spec.bgp.ipv6Address with its prefix length when IP6 is set, as calico-node does (issue 19)', async () => {
    const ds = new FakeDatastore();
    const calls: unknown[] = [];
    ds.registerNode = async (n) => void calls.push(n);
    await startAgent(ds, { registerNode: true, ipv4: { address: '10.0.1.2', prefixLen: 24 }, ipv6: 'fd00:199::2', ipv6PrefixLen: 64 });
    await until('registered', () => calls.length === 1);
    expect(calls[0]).toEqual({ name: 'node-a', ipv4Cidr: '10.0.1.2/24', ipv6Cidr: 'fd00:199::2/64', asNumber: undefined });
  });

  it('turns desired peers into sessions and follows adds and removals', async () => {
    const ds = new FakeDatastore();
    const { agent, socket } = await startAgent(ds);
    ds.emit(desired(64512, [meshPeer('127.0.0.2'), meshPeer('127.0.0.3')]));
    await until('two peers', () => agent.snapshot().peers.length === 2);
    ds.emit(desired(64512, [meshPeer('127.0.0.3')]));
    expect(agent.snapshot().peers.map((p) => p.address)).toEqual(['127.0.0.3']);
    const snap = (await controlRequest(socket, { cmd: 'status' })) as StatusSnapshot;
    expect(snap.node).toMatchObject({ name: 'node-a', asNumber: 64512, routerId: '127.0.0.1' });
    expect(snap.peers[0]).toMatchObject({ address: '127.0.0.3', type: 'node-to-node mesh', passive: true });
    expect(snap.kernel).toMatchObject({ enabled: false });
  });

  it('an IPv6 peer does not stop the speaker: the IPv4 peers run, the IPv6 one is listed down with the reason', async () => {
    const ds = new FakeDatastore();
    const { agent } = await startAgent(ds);
    ds.emit(desired(64512, [meshPeer('127.0.0.2'), { ...meshPeer('ac13::57'), name: 'Mesh_ac13__57' }]));
    await until('both peers listed', () => agent.snapshot().peers.length === 2);
    const peers = agent.snapshot().peers;
    expect(peers.find((p) => p.address === '127.0.0.2')?.bgpState).not.toBe('Idle');
    expect(peers.find((p) => p.address === 'ac13::57')).toMatchObject({ bgpState: 'Idle', birdState: 'down', lastError: expect.stringMatching(/^IPv6 peer not started/) });
    // Added later while running, the same: listed, not applied, nothing else disturbed.
    ds.emit(desired(64512, [meshPeer('127.0.0.2'), meshPeer('127.0.0.3'), { ...meshPeer('ac13::57'), name: 'Mesh_ac13__57' }]));
    expect(agent.snapshot().peers.map((p) => p.address).sort()).toEqual(['127.0.0.2', '127.0.0.3', 'ac13::57']);
  });

  it('rebuilds the speaker when the AS changes, keeping diffs that arrive during the rebuild', async () => {
    const ds = new FakeDatastore();
    const { agent } = await startAgent(ds);
    ds.emit(desired(64512, [meshPeer('127.0.0.2')]));
    await until('first speaker', () => agent.snapshot().peers.length === 1);
    ds.emit(desired(65001, [meshPeer('127.0.0.2')]));
    // While the new speaker starts, a peer is added: it must not be lost.
    ds.emit(desired(65001, [meshPeer('127.0.0.2'), meshPeer('127.0.0.4')]));
    await until('rebuilt speaker with both peers', () => agent.snapshot().node.asNumber === 65001 && agent.snapshot().peers.length === 2);
    expect(agent.snapshot().peers.map((p) => p.address).sort()).toEqual(['127.0.0.2', '127.0.0.4']);
  });

  it('answers readiness with the reasons, and log-level rejects a bad level', async () => {
    const ds = new FakeDatastore();
    const { socket } = await startAgent(ds);
    const before = (await controlRequest(socket, { cmd: 'ready' })) as { name: string; ok: boolean }[];
    expect(before.find((c) => c.name === 'datastore')?.ok).toBe(false);
    ds.emit(desired(64512, []));
    const after = (await controlRequest(socket, { cmd: 'ready' })) as { name: string; ok: boolean }[];
    expect(after.every((c) => c.ok)).toBe(true);
    await expect(controlRequest(socket, { cmd: 'log-level', level: 'loud' })).rejects.toThrow(/"loud" is not a log level/);
  });
});
