/**
 * The agent with a fake datastore and the memory kernel (issue 19): IPv6
 * blocks and pools of the desired state reach the kernel programmer, the
 * snapshot carries the IPv6 kernel counts and IPv6 peers with the fields
 * IPv4 peers have, and a node without IPv6 says so once in `agent status`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type DatastorePort } from '../../../src/agent/agent.js';
import type { AgentConfig } from '../../../src/agent/config.js';
import { silentLogger } from '../../../src/agent/logger.js';
import { formatStatus } from '../../../src/agent/status-format.js';
import { diffDesired } from '../../../src/datastore/desired-state.js';
import type { DesiredState, DesiredStateDiff, PeerConfig, Pool } from '../../../src/datastore/desired.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { parsePrefix6 } from '../../../src/bgp/prefix6.js';
import { until } from '../../helpers/wait.js';

class FakeDatastore implements DatastorePort {
  private fn?: (diff: DesiredStateDiff, state: DesiredState) => void;
  private last?: DesiredState;
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  onDiff(fn: (diff: DesiredStateDiff, state: DesiredState) => void): void {
    this.fn = fn;
  }
  status() {
    return { connected: true, since: 0, synced: this.last !== undefined, revision: 1, skipped: [] };
  }
  emit(next: DesiredState): void {
    const diff = diffDesired(this.last, next);
    this.last = next;
    this.fn?.(diff, next);
  }
}

const peer = (address: string, name: string): PeerConfig => ({
  name,
  type: 'node-to-node mesh',
  address,
  port: 1, // nothing listens there: sessions stay down, which is fine here
  asNumber: 64512,
  passive: true,
  keepOriginalNextHop: false,
  restartTime: 120,
});
const pool6: Pool = { name: 'v6', cidr: 'fd00:245::/64', ipipMode: 'Never', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: false, blockSize: 122 };

function state(opts: { ipv6?: string; blocks6?: string[] }): DesiredState {
  const peers = [peer('127.0.0.2', 'Mesh_127_0_0_2')];
  if (opts.ipv6) peers.push(peer('fd00:199::2', 'Mesh_fd00_199__2'));
  return {
    node: { name: 'node-a', ipv4: '127.0.0.1', ipv4PrefixLen: 8, ...(opts.ipv6 ? { ipv6: opts.ipv6, ipv6PrefixLen: 64 } : {}), asNumber: 64512, routerId: '127.0.0.1' },
    bgp: { nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [] },
    peers: new Map(peers.map((p) => [`${p.address}:${p.port}`, p])),
    blocks: new Map([['10.244.1.0/26', { cidr: '10.244.1.0/26', state: 'confirmed', blackhole: true, exported: true }]]),
    pools: new Map(),
    blocks6: new Map((opts.blocks6 ?? []).map((c) => [c, { cidr: c, state: 'confirmed', blackhole: true, exported: true, pool: 'v6' }])),
    pools6: new Map([['v6', pool6]]),
  };
}

const dirs: string[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop({ graceful: false });
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function startAgent(ds: FakeDatastore, backend: MemoryBackend): Promise<Agent> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-v6-'));
  dirs.push(dir);
  const config: AgentConfig = {
    nodeName: 'node-a', etcd: { endpoints: ['http://127.0.0.1:1'] }, controlSocket: join(dir, 'agent.ctl'), logLevel: 'info',
    metricsHost: '127.0.0.1', programRoutes: true, listenPort: 0, readyGracePeriod: 0, restartHoldTime: 0,
    registerNode: false, peerPasswords: {}, manageTunnel: false, tunnelMtu: 1440,
  };
  const agent = new Agent(config, { logger: silentLogger, datastore: ds, kernelBackend: async () => backend });
  agents.push(agent);
  await agent.start();
  return agent;
}

describe('agent: IPv6 blocks to the kernel, IPv6 in the snapshot', () => {
  it('own IPv6 blocks become blackholes beside the IPv4 ones and follow changes; the snapshot counts them', async () => {
    const ds = new FakeDatastore();
    const backend = new MemoryBackend({ links: { eth0: [parsePrefix('127.0.0.0/8'), parsePrefix6('fd00:199::/64')], tunl0: [] } });
    const agent = await startAgent(ds, backend);
    ds.emit(state({ ipv6: 'fd00:199::1', blocks6: ['fd00:245::/122', 'fd00:245::40/122'] }));
    await until('three blackholes', () => backend.routes.size === 3);
    expect(backend.show()).toEqual(['blackhole 10.244.1.0/26 proto bird', 'blackhole fd00:245::/122 proto bird', 'blackhole fd00:245::40/122 proto bird']);
    await until('counts', () => agent.snapshot().kernel.ipv6?.programmed === 2);
    expect(agent.snapshot().kernel).toMatchObject({ routes: 3, ipv6: { routes: 2, programmed: 2, failed: 0 } });

    ds.emit(state({ ipv6: 'fd00:199::1', blocks6: ['fd00:245::40/122'] }));
    await until('one IPv6 blackhole left', () => backend.routes.size === 2);
    expect(backend.show()).toEqual(['blackhole 10.244.1.0/26 proto bird', 'blackhole fd00:245::40/122 proto bird']);

    // IPv6 peers are listed with every field an IPv4 peer has (down until the IPv6 sessions land).
    await until('both peers listed', () => agent.snapshot().peers.length === 2);
    const json = JSON.parse(JSON.stringify(agent.snapshot())) as ReturnType<Agent['snapshot']>;
    const v4 = json.peers.find((p) => p.address === '127.0.0.2')!;
    const v6 = json.peers.find((p) => p.address === 'fd00:199::2')!;
    for (const key of ['name', 'address', 'port', 'type', 'asNumber', 'bgpState', 'birdState', 'since', 'passive', 'counters']) {
      expect(v4).toHaveProperty(key);
      expect(v6).toHaveProperty(key);
    }
    expect(Object.keys(v6.counters).sort()).toEqual(Object.keys(v4.counters).sort());
  });

  it('a node without IPv6 says so once in agent status', async () => {
    const ds = new FakeDatastore();
    const backend = new MemoryBackend();
    const agent = await startAgent(ds, backend);
    ds.emit(state({}));
    await until('peer listed', () => agent.snapshot().peers.length === 1);
    const text = formatStatus(agent.snapshot());
    expect(text.split('\n').filter((l) => /no IPv6 address/.test(l))).toHaveLength(1);
    expect(text).toContain('IPv6 BGP status\nNo IPv6 peers found.\n');
  });
});
