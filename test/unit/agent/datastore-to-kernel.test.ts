/**
 * The datastore-to-kernel histogram (bgp_agent_datastore_to_kernel_seconds):
 * one observation per change of this node's blocks, timed from the diff's
 * arrival until the kernel programmer is idle with the route in place, and
 * none for diffs that do not touch local blocks. The kernel is a
 * MemoryBackend whose writes take a known time, so the observed value can be
 * checked against it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../src/agent/agent.js';
import type { LocalBlock, PeerConfig } from '../../../src/contracts.js';
import type { DesiredState } from '../../../src/datastore/desired.js';
import { FakeDatastore, startAgent, stopAgents } from '../../helpers/agent.js';
import type { RouteOp, RouteOpError } from '../../../src/kernel/backend.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { until } from '../../helpers/wait.js';

/** A kernel whose every write takes `delayMs`, as a busy netlink socket would. */
class SlowKernel extends MemoryBackend {
  delayMs = 0;
  override async apply(ops: RouteOp[]): Promise<RouteOpError[]> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    return super.apply(ops);
  }
}

function desired(blocks: string[], peers: PeerConfig[] = []): DesiredState {
  return {
    node: { name: 'node-a', ipv4: '127.0.0.1', ipv4PrefixLen: 8, asNumber: 64512, routerId: '127.0.0.1' },
    bgp: { nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [] },
    peers: new Map(peers.map((p) => [`${p.address}:${p.port}`, p])),
    blocks: new Map(blocks.map((cidr): [string, LocalBlock] => [cidr, { cidr, state: 'confirmed', blackhole: true, exported: true }])),
    pools: new Map(),
  };
}

afterEach(stopAgents);

async function start(): Promise<{ agent: Agent; ds: FakeDatastore; kernel: SlowKernel }> {
  const kernel = new SlowKernel();
  const ds = new FakeDatastore();
  const { agent } = await startAgent(ds, { programRoutes: true }, { kernelBackend: async () => kernel });
  return { agent, ds, kernel };
}

/** Poll an async condition (helpers/wait's `until` takes a synchronous one). */
async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await fn()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** count and sum of the histogram, read from the Prometheus text like a scraper would. */
async function histogram(agent: Agent): Promise<{ count: number; sum: number; buckets: Map<string, number> }> {
  const text = await agent.metrics.render();
  const count = Number(/^bgp_agent_datastore_to_kernel_seconds_count (\S+)$/m.exec(text)?.[1]);
  const sum = Number(/^bgp_agent_datastore_to_kernel_seconds_sum (\S+)$/m.exec(text)?.[1]);
  const buckets = new Map([...text.matchAll(/^bgp_agent_datastore_to_kernel_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]));
  return { count, sum, buckets };
}

describe('datastore-to-kernel histogram', () => {
  it('observes each block change once, for as long as the kernel took to hold it', async () => {
    const { agent, ds, kernel } = await start();
    ds.emit(desired(['10.244.9.0/26']));
    await until('first block programmed', () => kernel.routes.size === 1);
    await eventually('first observation', async () => (await histogram(agent)).count === 1);
    const first = await histogram(agent);
    expect(first.sum).toBeLessThan(0.1); // no delay injected yet

    kernel.delayMs = 300;
    ds.emit(desired(['10.244.9.0/26', '10.244.9.64/26']));
    await until('second block programmed', () => kernel.routes.size === 2);
    await eventually('second observation', async () => (await histogram(agent)).count === 2);
    const h = await histogram(agent);
    const second = h.sum - first.sum;
    // At least the write's 300 ms, and not much more: measured from the diff, not from some later moment.
    expect(second).toBeGreaterThanOrEqual(0.29);
    expect(second).toBeLessThan(1.5);
    expect(h.buckets.get('0.25')).toBe(1); // the first one only
    expect(h.buckets.get('+Inf')).toBe(2);
  });

  it('does not observe a diff that leaves the local blocks alone', async () => {
    const { agent, ds, kernel } = await start();
    ds.emit(desired(['10.244.9.0/26']));
    await until('block programmed', () => kernel.routes.size === 1);
    await eventually('first observation', async () => (await histogram(agent)).count === 1);
    const peer: PeerConfig = {
      name: 'Mesh_127_0_0_2', type: 'node-to-node mesh', address: '127.0.0.2', port: 1, asNumber: 64512,
      passive: true, keepOriginalNextHop: false, restartTime: 120,
    };
    ds.emit(desired(['10.244.9.0/26'], [peer]));
    await new Promise((r) => setTimeout(r, 300));
    expect((await histogram(agent)).count).toBe(1);
  });
});
