/**
 * Issue 21, with real etcd, real BIRD 2 mesh peers and real kernel routes:
 * - borrowed addresses: a workload route Felix would write
 *   (`10.244.9.5 dev cali123 scope link`, proto boot) for an address inside
 *   the pool but outside node-a's block reaches BIRD as a /32 from node-a,
 *   one inside node-a's block does not, a route added before the agent
 *   started counts, and deleting the route withdraws it;
 * - ECMP: node-b and node-c (BIRD, the same AS) both originate
 *   10.244.30.0/26 with the same attributes; node-a programs one multipath
 *   route with both next hops (BIRD's `merge paths on` form) and, when one
 *   withdraws, keeps a route with the other without a delete in between
 *   (`ip monitor`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { Testbed, canUseNetns, type Netns } from '../../../src/testbed/netns.js';
import { AgentProcess, datastoreApply } from '../../helpers/agent-process.js';
import { affinityYaml, birdMeshPeerConfig, meshWithPoolYaml, nodeYaml, startEtcdIn } from '../../helpers/calico.js';
import { RouteMonitor } from '../../helpers/ip-monitor.js';

const PREFIX = 'h9b';

if (!canUseNetns()) throw new Error('borrowed-address and ECMP tests need root (network namespaces)');

/** node-b's and node-c's BIRD beside node-a (10.97.0.9). */
const birdConfig = (routerId: string, blocks: string[]): string => birdMeshPeerConfig(routerId, '10.97.0.9', blocks);

describe('borrowed addresses and ECMP against BIRD peers', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'h9b-'));
  let etcd: ChildProcess | undefined;
  let agent: AgentProcess;
  let a: Netns;
  const birds: Bird[] = [];
  let monitor: RouteMonitor | undefined;

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    bed.addHost('etcd', { address: '10.97.0.100/24' });
    a = bed.addHost('a', { address: '10.97.0.9/24' });
    const b = bed.addHost('b', { address: '10.97.0.3/24' });
    const c = bed.addHost('c', { address: '10.97.0.4/24' });
    const url = 'http://10.97.0.100:2379';
    etcd = await startEtcdIn(bed.hosts.get('etcd')!, tmp, url);
    datastoreApply(
      a,
      url,
      meshWithPoolYaml('10.244.0.0/16') + nodeYaml('node-a', '10.97.0.9/24') + nodeYaml('node-b', '10.97.0.3/24') + nodeYaml('node-c', '10.97.0.4/24') + affinityYaml('node-a', '10.244.1.0/26') + affinityYaml('node-b', '10.244.9.0/26'),
    );
    // A workload interface as Felix makes them, and a borrowed address's route before the agent starts.
    a.ip(['link', 'add', 'cali123', 'type', 'veth', 'peer', 'name', 'h9wl0']);
    a.ip(['link', 'set', 'cali123', 'up']);
    a.ip(['link', 'set', 'h9wl0', 'up']);
    a.ip(['route', 'add', '10.244.9.5', 'dev', 'cali123', 'scope', 'link']);
    const birdB = new Bird(b, birdConfig('10.97.0.3', ['10.244.9.0/26', '10.244.30.0/26']), 'h9b-bird-b-');
    const birdC = new Bird(c, birdConfig('10.97.0.4', ['10.244.30.0/26']), 'h9b-bird-c-');
    birds.push(birdB, birdC);
    await birdB.start();
    await birdC.start();
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: '10.97.0.9/24', etcdEndpoints: url, socket: join(tmp, 'agent.ctl') });
    agent.start(['--log-level', 'debug']);
  }, 120_000);

  afterAll(async () => {
    monitor?.stop();
    agent?.proc?.kill('SIGKILL');
    for (const b of birds) await b.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  const fromAgent = (out: string): boolean => /via 10\.97\.0\.9 on eth0 \[Mesh_10_97_0_9/.test(out) || out.includes('Mesh_10_97_0_9');

  it('advertises a borrowed address as a /32, not an address inside its own block, and withdraws it with the route', async () => {
    const birdB = birds[0];
    // Added before the agent started: found by the initial dump.
    await birdB.waitFor('show route 10.244.9.5/32 all', (out) => out.includes('10.244.9.5/32') && fromAgent(out), 40_000);
    // Added while it runs, one borrowed and one inside node-a's own block 10.244.1.0/26.
    a.ip(['route', 'add', '10.244.20.7', 'dev', 'cali123', 'scope', 'link', 'proto', 'static']);
    a.ip(['route', 'add', '10.244.1.5', 'dev', 'cali123', 'scope', 'link']);
    await birdB.waitFor('show route 10.244.20.7/32', (out) => out.includes('10.244.20.7/32'));
    await birdB.waitFor('show route 10.244.1.0/26', (out) => out.includes('10.244.1.0/26'));
    const table = birdB.birdc('show route');
    expect(table).toContain('10.244.20.7/32');
    expect(table).not.toContain('10.244.1.5/32');
    // BGP attributes as for node-a's own block: next hop node-a, origin IGP, empty AS path (iBGP).
    const all = birdB.birdc('show route 10.244.9.5/32 all');
    expect(all).toMatch(/BGP.next_hop: 10\.97\.0\.9/);
    expect(all).toMatch(/BGP.origin: IGP/);
    expect(all).toMatch(/BGP.as_path: *\n/);
    // The agent put nothing of its own into the kernel for these (they are Felix's routes).
    expect(a.routes('bird').join('\n')).not.toMatch(/10\.244\.(9\.5|20\.7|1\.5)\b/);
    // `agent status --json` names what it advertises as borrowed.
    expect(agent.status<{ rib: { borrowed: string[] } }>().rib.borrowed.sort()).toEqual(['10.244.20.7/32', '10.244.9.5/32']);
    a.ip(['route', 'del', '10.244.9.5']);
    await birdB.waitFor('show route', (out) => out.includes('10.244.20.7/32') && !out.includes('10.244.9.5/32'));
  }, 90_000);

  it('programs one multipath route over both BIRD peers offering 10.244.30.0/26, and one next hop by a replace when one withdraws', async () => {
    const ecmp = [
      'unicast 10.244.30.0/26 proto bird scope global',
      'nexthop via 10.97.0.3 dev tunl0 weight 1 onlink',
      'nexthop via 10.97.0.4 dev tunl0 weight 1 onlink',
    ];
    const show = (): string[] => a.ip(['-d', 'route', 'show', '10.244.30.0/26']).split('\n').map((l) => l.trim()).filter(Boolean);
    // The exact form BIRD 2 writes with `merge paths on` (checked in a namespace; docs/ARCHITECTURE.md).
    await agent.until('the ECMP route', () => show().join('|') === ecmp.join('|'), 40_000, { context: () => show().join('\n') });
    monitor = new RouteMonitor(a);
    const from = await monitor.mark();
    birds[1].birdc('disable blocks'); // node-c withdraws 10.244.30.0/26
    await agent.until('one next hop left', () => show().join('|') === 'unicast 10.244.30.0/26 via 10.97.0.3 dev tunl0 proto bird scope global onlink', 30_000, { context: () => show().join('\n') });
    const to = await monitor.mark();
    const seen = monitor.between(from, to).filter((l) => l.includes('10.244.30.0/26'));
    expect(seen.length).toBeGreaterThan(0); // the change itself was seen...
    expect(seen.filter((l) => l.startsWith('Deleted'))).toEqual([]); // ...and no window without a route
    // And back to two next hops when node-c offers it again.
    birds[1].birdc('enable blocks');
    await agent.until('both next hops again', () => show().join('|') === ecmp.join('|'), 30_000, { context: () => show().join('\n') });
  }, 120_000);
});
