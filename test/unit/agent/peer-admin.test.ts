/**
 * `agent peers reset|disable|enable` through the control socket (issue 23):
 * peers picked by session name, address or BGPPeer name; refusals that change
 * nothing; a disabled peer that stays down across datastore changes (a node
 * identity change rebuilding the speaker included) and is shown as disabled
 * by the operator in status, notes and readiness rather than as a problem.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from '../../../src/agent/control.js';
import { readiness } from '../../../src/agent/readiness.js';
import { formatStatus, problems } from '../../../src/agent/status-format.js';
import type { DesiredState, PeerConfig } from '../../../src/contracts.js';
import { FakeDatastore, startAgent, stopAgents, unansweredPeer } from '../../helpers/agent.js';
import { until } from '../../helpers/wait.js';

afterEach(stopAgents);

const tor: PeerConfig = { ...unansweredPeer('127.0.0.2', 'Global_127_0_0_2'), type: 'global', bgpPeer: 'rack1-tor' };
const mesh = unansweredPeer('127.0.0.3', 'Mesh_127_0_0_3');

function desired(routerId: string, peers: PeerConfig[]): DesiredState {
  return {
    node: { name: 'node-a', ipv4: '127.0.0.1', ipv4PrefixLen: 8, asNumber: 64512, routerId },
    bgp: { nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [] },
    peers: new Map(peers.map((p) => [`${p.address}:${p.port}`, p])),
    blocks: new Map(),
    pools: new Map(),
  };
}

async function bed() {
  const ds = new FakeDatastore();
  const { agent, socket } = await startAgent(ds);
  ds.emit(desired('127.0.0.1', [tor, mesh]));
  await until('two peers', () => agent.snapshot().peers.length === 2);
  const ask = (cmd: string, extra: Record<string, unknown>) => controlRequest(socket, { cmd, ...extra });
  const peer = (name: string) => agent.snapshot().peers.find((p) => p.name === name)!;
  return { ds, agent, ask, peer };
}

describe('agent peers disable / enable', () => {
  it('disables by BGPPeer name, keeps it down across datastore changes and a speaker rebuild, and enables by address', async () => {
    const b = await bed();
    expect(await b.ask('peer-disable', { peer: 'rack1-tor' })).toEqual({
      peers: [{ name: 'Global_127_0_0_2', done: 'disabled (Cease 2, Administrative Shutdown); stays down until `agent peers enable`' }],
    });
    expect(b.peer('Global_127_0_0_2')).toMatchObject({ disabled: true, bgpState: 'Idle', birdState: 'down', bgpPeer: 'rack1-tor' });
    expect(b.peer('Mesh_127_0_0_3').disabled).toBeUndefined();

    // The peer changes (a new session), goes, comes back, and the node's router id changes (a new speaker).
    b.ds.emit(desired('127.0.0.1', [{ ...tor, keepaliveTime: 20 }, mesh]));
    b.ds.emit(desired('127.0.0.1', [mesh]));
    b.ds.emit(desired('127.0.0.1', [tor, mesh]));
    b.ds.emit(desired('127.0.0.9', [tor, mesh]));
    await until('rebuilt speaker has both peers', () => b.agent.snapshot().node.routerId === '127.0.0.9' && b.agent.snapshot().peers.length === 2);
    expect(b.peer('Global_127_0_0_2')).toMatchObject({ disabled: true, bgpState: 'Idle' });

    expect(await b.ask('peer-enable', { peer: '127.0.0.2' })).toEqual({ peers: [{ name: 'Global_127_0_0_2', done: 'enabled; connecting' }] });
    expect(b.peer('Global_127_0_0_2').disabled).toBeUndefined();
    expect(b.peer('Global_127_0_0_2').birdState).toBe('start');
  });

  it('shows a disabled peer as the operator\'s doing: INFO, a note, not a problem, and not a readiness failure', async () => {
    const b = await bed();
    await b.ask('peer-disable', { peer: 'Global_127_0_0_2' });
    const snap = b.agent.snapshot();
    const text = formatStatus(snap, { utc: true });
    expect(text).toMatch(/\| 127\.0\.0\.2 +\| global +\| down +\| \d\d:\d\d:\d\d \| Idle Disabled by the operator +\|/);
    expect(text).toMatch(/Notes\n(- .*\n)*- peer 127\.0\.0\.2 \(Global_127_0_0_2\) disabled by the operator since \d\d:\d\d:\d\d: `agent peers enable Global_127_0_0_2` starts it/);
    expect(problems(snap).join('\n')).not.toContain('127.0.0.2');
    const bgp = readiness(snap, { gracePeriod: 0 }).find((c) => c.name === 'bgp')!;
    expect(bgp.detail).toMatch(/^1 of 2 peer\(s\) not Established: 127\.0\.0\.3 \w+.*; 1 disabled by the operator: 127\.0\.0\.2$/);
  });
});

describe('agent peers reset', () => {
  it('refuses, changing nothing: an unknown name (listing the known ones), a disabled peer, a soft reset of a session not Established', async () => {
    const b = await bed();
    await expect(b.ask('peer-reset', { peer: 'nope' })).rejects.toThrow(
      'no peer "nope" (by session name, address or BGPPeer name); known: Global_127_0_0_2 (BGPPeer rack1-tor), Mesh_127_0_0_3',
    );
    await b.ask('peer-disable', { peer: 'Global_127_0_0_2' });
    await expect(b.ask('peer-reset', { peer: 'rack1-tor' })).rejects.toThrow(/Global_127_0_0_2 is disabled by the operator; `agent peers enable Global_127_0_0_2` starts it/);
    expect(b.peer('Global_127_0_0_2')).toMatchObject({ disabled: true, bgpState: 'Idle' });
    await expect(b.ask('peer-reset', { peer: 'Mesh_127_0_0_3', soft: true })).rejects.toThrow(/Mesh_127_0_0_3 is \w+: a soft reset needs an Established session/);
  });

  it('a hard reset of a session that is not up restarts it through the FSM', async () => {
    const b = await bed();
    expect(await b.ask('peer-reset', { peer: 'Mesh_127_0_0_3' })).toEqual({
      peers: [{ name: 'Mesh_127_0_0_3', done: 'reset (Cease 4, Administrative Reset); reconnecting' }],
    });
    expect(b.peer('Mesh_127_0_0_3').birdState).toBe('start');
  });
});
