/**
 * The agent with a fake datastore and the memory kernel (issue 19): IPv6
 * blocks and pools of the desired state reach the kernel programmer, the
 * snapshot carries the IPv6 kernel counts and IPv6 peers with the fields
 * IPv4 peers have, and a node without IPv6 says so once in `agent status`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../src/agent/agent.js';
import { formatStatus } from '../../../src/agent/status-format.js';
import { parsePrefix6 } from '../../../src/bgp/prefix6.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { dualStackState as state, FakeDatastore, startAgent as start, stopAgents } from '../../helpers/agent.js';
import { until } from '../../helpers/wait.js';

afterEach(stopAgents);

async function startAgent(ds: FakeDatastore, backend: MemoryBackend): Promise<Agent> {
  return (await start(ds, { programRoutes: true }, { kernelBackend: async () => backend })).agent;
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
