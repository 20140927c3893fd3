/**
 * The agent's IPv6 routing hook (issue 19): with a node IPv6 address, IPv6
 * peers start (they are no longer refused) and this node's IPv6 blocks are
 * in the IPv6 RIB as its own routes with that address as next hop; IPv4
 * peers run beside them. (The helpers are those of agent-ipv6.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, type DatastorePort } from '../../../src/agent/agent.js';
import type { AgentConfig } from '../../../src/agent/config.js';
import { silentLogger } from '../../../src/agent/logger.js';
import { diffDesired } from '../../../src/datastore/desired-state.js';
import type { DesiredState, DesiredStateDiff, PeerConfig, Pool } from '../../../src/datastore/desired.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { formatPrefix6, parsePrefix6 } from '../../../src/bgp/prefix6.js';
import type { Routing } from '../../../src/agent/routing.js';
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
  const dir = mkdtempSync(join(tmpdir(), 'agent-v6r-'));
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

describe('agent: IPv6 sessions and own IPv6 routes', () => {
  it('IPv6 peers start beside the IPv4 ones and the IPv6 RIB holds our IPv6 blocks with our IPv6 address as next hop', async () => {
    const ds = new FakeDatastore();
    const backend = new MemoryBackend({ links: { eth0: [parsePrefix('127.0.0.0/8'), parsePrefix6('fd00:199::/64')], tunl0: [] } });
    const agent = await startAgent(ds, backend);
    ds.emit(state({ ipv6: 'fd00:199::1', blocks6: ['fd00:245::/122', 'fd00:245::40/122'] }));
    await until('both peers listed', () => agent.snapshot().peers.length === 2);
    const v6 = agent.snapshot().peers.find((p) => p.address === 'fd00:199::2')!;
    expect(v6.lastError ?? '').not.toMatch(/IPv6 peer not started/);
    // The wiring is private to the agent; its IPv6 RIB is what the sessions export from.
    const routing = (agent as unknown as { routing: Routing }).routing;
    const rib6 = routing.rib6!;
    expect(rib6.me.localAddress).toBe('fd00:199::1');
    await until('own IPv6 routes', () => [...rib6.prefixes()].length === 2);
    const own = [...rib6.prefixes()].map((k) => [formatPrefix6(k), rib6.lookup(k).best?.attrs.attrs.nextHop]).sort();
    expect(own).toEqual([['fd00:245::/122', 'fd00:199::1'], ['fd00:245::40/122', 'fd00:199::1']]);
    ds.emit(state({ ipv6: 'fd00:199::1', blocks6: ['fd00:245::40/122'] }));
    await until('released block gone', () => [...rib6.prefixes()].length === 1);
    expect(agent.snapshot().peers.find((p) => p.address === '127.0.0.2')?.lastError ?? '').not.toMatch(/IPv6/);
  });
});
