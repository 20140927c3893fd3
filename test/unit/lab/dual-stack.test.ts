/**
 * `npm run lab -- --ipv6` (issue 19), the pure parts: the IPv6 layout, the
 * resources (through the agent's own validation and the desired state it
 * computes), BIRD's bird6.cfg part (parsed by BIRD 2 itself), and the IPv6
 * routes each node is expected to hold.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBirdConfig } from '../../../src/lab/bird-config.js';
import { agentRunArgs, agentFiles } from '../../../src/lab/agent-node.js';
import { agentSpeaksIpv6, expectedRoutes6, initialAssignment6, ipv6Learned, ipv6Note, ipv6Resources } from '../../../src/lab/dual-stack.js';
import { initialAssignment, makePlan } from '../../../src/lab/plan.js';
import { blockResources, clusterResources, toEtcdKeyValues } from '../../../src/lab/resources.js';
import { manifestToKeyValue } from '../../../src/datastore/admin.js';
import { ResourceCache } from '../../../src/datastore/cache.js';
import { computeDesiredState } from '../../../src/datastore/desired-state.js';
import { decodeKv } from '../../../src/datastore/model/resources.js';

const dual = makePlan({ nodes: 3, topology: 'mesh', prefix: 'lab-', ipv6: true });
const plain = makePlan({ nodes: 3, topology: 'mesh', prefix: 'lab-' });

describe('lab --ipv6', () => {
  it('gives every node an IPv6 address in one /64 and a /122 block in the IPv6 pool; without --ipv6 nothing changes', () => {
    expect(dual.nodes.map((n) => [n.name, n.address6, n.block6])).toEqual([
      ['node-1', 'fd00:10::11', 'fd00:244::40/122'],
      ['node-2', 'fd00:10::12', 'fd00:244::80/122'],
      ['node-3', 'fd00:10::13', 'fd00:244::c0/122'],
    ]);
    expect(dual.ipv6?.pool).toEqual({ name: 'lab-ipv6-pool', cidr: 'fd00:244::/64', blockSize: 122 });
    expect(plain.ipv6).toBeUndefined();
    expect(plain.nodes.some((n) => n.address6 || n.block6)).toBe(false);
    expect(renderBirdConfig(plain, initialAssignment(plain), plain.nodes[0])).not.toMatch(/ipv6/);
    expect(agentRunArgs(plain, plain.nodes[1], agentFiles('/x', plain.nodes[1]))).not.toContain('--ip6');
    expect(agentRunArgs(dual, dual.nodes[1], agentFiles('/x', dual.nodes[1]))).toEqual(expect.arrayContaining(['--ip6', 'fd00:10::12/64']));
  });

  it('writes resources the agent accepts, under the ipv6 IPAM keys, from which node-2 computes its IPv6 block, pool and mesh', () => {
    const all = [...clusterResources(dual), ...blockResources(initialAssignment(dual)), ...ipv6Resources(dual, initialAssignment6(dual))];
    const fallback = new Map(toEtcdKeyValues(all));
    const cache = new ResourceCache();
    let rev = 1;
    for (const res of all) {
      const kv = manifestToKeyValue(res);
      expect(decodeKv(kv.key, kv.value), kv.label).toBeDefined();
      expect(fallback.has(kv.key), kv.key).toBe(true);
      cache.apply({ type: 'put', key: kv.key, value: kv.value, modRevision: rev++ });
    }
    expect([...fallback.keys()]).toEqual(expect.arrayContaining(['/calico/ipam/v2/host/node-2/ipv6/block/fd00:244::80-122', '/calico/ipam/v2/assignment/ipv6/block/fd00:244::80-122']));
    expect(cache.skipped.size).toBe(0);
    const s = computeDesiredState(cache, 'node-2').state!;
    expect(s.node).toMatchObject({ ipv4: '10.0.2.12', ipv6: 'fd00:10::12', ipv6PrefixLen: 64 });
    expect([...s.blocks6!.values()]).toEqual([{ cidr: 'fd00:244::80/122', state: 'confirmed', blackhole: true, exported: true, pool: 'lab-ipv6-pool' }]);
    expect([...s.pools6!.keys()]).toEqual(['lab-ipv6-pool']);
    expect([...s.peers.values()].filter((p) => p.address.includes(':')).map((p) => [p.name, p.passive])).toEqual([
      ['Mesh_fd00_10__11', false],
      ['Mesh_fd00_10__13', true],
    ]);
  });

  it('renders bird6.cfg for BIRD 2 beside the IPv4 part, and BIRD 2 parses it', () => {
    const conf = renderBirdConfig(dual, initialAssignment(dual), dual.nodes[0]);
    expect(conf).toContain('route fd00:244::40/122 blackhole;');
    expect(conf).toMatch(/protocol bgp Mesh_fd00_10__12 from bgp_template6 \{\n  neighbor fd00:10::12 as 64512;\n  source address fd00:10::11;\n  passive on;/);
    // Towards agents the IPv6 sessions wait, disabled, for the agent's IPv6 support (see dual-stack.ts).
    expect(conf).toMatch(/Mesh_fd00_10__12[^}]*disabled;/);
    const seen = makePlan({ nodes: 3, topology: 'mesh', prefix: 'lab-', ipv6: true });
    seen.ipv6!.agentSessions = true;
    expect(renderBirdConfig(seen, initialAssignment(seen), seen.nodes[0])).not.toMatch(/disabled;/);
    expect(ipv6Learned(seen)).toBe(true);
    expect(ipv6Note(seen)).toMatch(/the agents run IPv6 sessions/);
    const allBird = makePlan({ nodes: 3, topology: 'mesh', prefix: 'lab-', ipv6: true });
    for (const n of allBird.nodes) n.speaker = 'bird';
    expect(renderBirdConfig(allBird, initialAssignment(allBird), allBird.nodes[0])).not.toMatch(/disabled;/);
    const dir = mkdtempSync(join(tmpdir(), 'v6lab-'));
    try {
      writeFileSync(join(dir, 'bird.conf'), conf);
      execFileSync('bird', ['-p', '-c', join(dir, 'bird.conf')], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells from agent status --json whether the agent runs IPv6 sessions', () => {
    const status = (peers: object[]) => JSON.stringify({ peers });
    expect(agentSpeaksIpv6(status([{ address: '10.0.1.11' }, { address: 'fd00:10::11', lastError: 'IPv6 peer not started: this agent speaks IPv4 unicast only so far' }]))).toBe(false);
    expect(agentSpeaksIpv6(status([{ address: 'fd00:10::11', lastError: 'Connect: connection refused' }]))).toBe(true);
    expect(agentSpeaksIpv6(status([{ address: 'fd00:10::13', bgpState: 'Established' }]))).toBe(true);
    expect(agentSpeaksIpv6(status([{ address: '10.0.1.11' }]))).toBe(false);
    expect(agentSpeaksIpv6('')).toBe(false);
  });

  it('expects BIRD 2\'s IPv6 forms: the own blackhole always, learned blocks only when nodes speak IPv6, and says which', () => {
    const a6 = initialAssignment6(dual);
    expect(ipv6Learned(dual)).toBe(false);
    expect(expectedRoutes6(dual, a6, dual.nodes[1])).toEqual(['blackhole fd00:244::80/122 dev lo proto bird metric 1024 pref medium']);
    expect(ipv6Note(dual)).toMatch(/no IPv6 sessions yet.*Only the blackholes are checked/);
    expect(expectedRoutes6(dual, a6, dual.nodes[1], true)).toEqual([
      'fd00:244::40/122 via fd00:10::11 dev eth0 proto bird metric 1024 pref medium',
      'blackhole fd00:244::80/122 dev lo proto bird metric 1024 pref medium',
      'fd00:244::c0/122 via fd00:10::13 dev eth0 proto bird metric 1024 pref medium',
    ]);
  });
});
