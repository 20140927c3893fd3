/**
 * The agent's unit-test harness: a datastore fake behind the same port the
 * real one fills (desired states in, diffs computed as the datastore does),
 * and an Agent started on a private control socket, stopped and cleaned up
 * by `stopAgents()` in afterEach.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentDeps, type DatastorePort } from '../../src/agent/agent.js';
import type { AgentConfig } from '../../src/agent/config.js';
import { silentLogger } from '../../src/agent/logger.js';
import type { DesiredState, DesiredStateDiff, PeerConfig, Pool } from '../../src/contracts.js';
import { diffDesired } from '../../src/datastore/desired-state.js';

export class FakeDatastore implements DatastorePort {
  registerNode?: DatastorePort['registerNode'];
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

const agents: Agent[] = [];
const dirs: string[] = [];

/** An agent for node-a on a fresh control socket; `config` and `deps` override the defaults (no kernel, port 0). */
export async function startAgent(
  datastore: DatastorePort,
  config: Partial<AgentConfig> = {},
  deps: Partial<AgentDeps> = {},
): Promise<{ agent: Agent; socket: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-unit-'));
  dirs.push(dir);
  const socket = join(dir, 'agent.ctl');
  const full: AgentConfig = {
    nodeName: 'node-a', etcd: { endpoints: ['http://127.0.0.1:1'] }, controlSocket: socket, logLevel: 'info',
    metricsHost: '127.0.0.1', programRoutes: false, listenPort: 0, readyGracePeriod: 0, restartHoldTime: 0,
    registerNode: false, peerPasswords: {}, manageTunnel: false, tunnelMtu: 1440, ...config,
  };
  const agent = new Agent(full, { logger: silentLogger, datastore, ...deps });
  agents.push(agent);
  await agent.start();
  return { agent, socket: full.controlSocket };
}

/** For afterEach: stop every agent started here and remove its directory. */
export async function stopAgents(): Promise<void> {
  for (const a of agents.splice(0)) await a.stop({ graceful: false });
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A mesh peer nobody answers (port 1): its session stays down, which these tests want. */
export function unansweredPeer(address: string, name: string): PeerConfig {
  return { name, type: 'node-to-node mesh', address, port: 1, asNumber: 64512, passive: true, keepOriginalNextHop: false, restartTime: 120 };
}

const pool6: Pool = { name: 'v6', cidr: 'fd00:245::/64', ipipMode: 'Never', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: false, blockSize: 122 };

/** node-a with an IPv4 block, and with `ipv6` an IPv6 address, an IPv6 peer and the IPv6 blocks given. */
export function dualStackState(opts: { ipv6?: string; blocks6?: string[] }): DesiredState {
  const peers = [unansweredPeer('127.0.0.2', 'Mesh_127_0_0_2')];
  if (opts.ipv6) peers.push(unansweredPeer('fd00:199::2', 'Mesh_fd00_199__2'));
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
