/**
 * Service CIDRs, communities and the per-peer options end to end (issue 21):
 * real etcd, `agent run` on node-a, a real BIRD 2 as an eBGP top-of-rack
 * router (AS 65100) reached through a global BGPPeer, and a second real
 * BIRD 2 as mesh node node-b, in network namespaces (prefix `h4t`).
 *
 * - the ToR sees the service CIDRs (serviceClusterIPs, serviceExternalIPs,
 *   serviceLoadBalancerIPs; a single /32 external IP is per-service and not
 *   advertised this way), node-a's block and node-b's block re-advertised,
 *   each with the communities of the prefixAdvertisements covering it
 *   (`birdc show route all`: BGP.community / BGP.large_community), named and
 *   literal, standard and large;
 * - BGPPeer localASNumber 65010: the ToR is configured `neighbor ... as
 *   65010` (the session comes up only if our OPEN says 65010) and sees only
 *   65010 in every AS_PATH, never the node's 64512;
 * - a community edit in etcd applies live: the new values at the ToR, the
 *   session not reset (BIRD's "since" and the agent's unchanged);
 * - nextHopMode Self vs Keep on node-b's re-advertised block: next hop
 *   node-a, then node-b's own address;
 * - an unknown community name and a bad numAllowedLocalASNumbers are
 *   `agent status` problems naming the resource and field, and the rest
 *   applies (the other communities stay, the session comes back);
 * - reachableBy programs `<peerIP> via <gateway> proto bird`, and changing
 *   it resets no session (it is BIRD's static protocol, not the BGP one).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { freePort } from '../../../src/testbed/etcd.js';
import { Testbed, canUseNetns, type Netns } from '../../../src/testbed/netns.js';
import { AgentProcess, datastoreApply } from '../../helpers/agent-process.js';
import { affinityYaml, nodeYaml, startEtcdIn } from '../../helpers/calico.js';

const PREFIX = 'h4t';
const A = '10.98.4.9';
const B = '10.98.4.10';
const TOR = '10.98.4.254';

if (!canUseNetns()) throw new Error('the ToR communities end-to-end test needs root (network namespaces)');

/** The ToR: an eBGP session to node-a, which must speak AS 65010 (its BGPPeer's localASNumber). */
const TOR_CONFIG = `
router id ${TOR};
log stderr all;
protocol device { scan time 2; }
protocol bgp node_a {
  local ${TOR} as 65100;
  neighbor ${A} as 65010;
  connect delay time 2;
  connect retry time 5;
  error wait time 5, 30;
  ipv4 { import all; export none; };
}
`;

/** node-b: a mesh node (iBGP 64512 with node-a) with its own block. */
const NODE_B_CONFIG = `
router id ${B};
log stderr all;
protocol device { scan time 2; }
protocol static blocks { ipv4; route 10.246.3.0/26 blackhole; }
protocol bgp Mesh_10_98_4_9 {
  local ${B} as 64512;
  neighbor ${A} as 64512;
  connect delay time 2;
  connect retry time 5;
  error wait time 5, 30;
  ipv4 { import none; export where source = RTS_STATIC; };
}
`;

function bgpConfigYaml(blockCommunity: string): string {
  return `---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec:
  nodeToNodeMeshEnabled: true
  asNumber: 64512
  serviceClusterIPs: [{ cidr: 10.96.0.0/12 }]
  serviceExternalIPs: [{ cidr: 192.0.2.0/24 }, { cidr: 192.0.2.77/32 }]
  serviceLoadBalancerIPs: [{ cidr: 198.51.100.0/26 }]
  communities:
    - { name: services, value: "65100:100" }
    - { name: pods-large, value: "65100:1:2" }
  prefixAdvertisements:
    - { cidr: 10.96.0.0/12, communities: [services] }
    - { cidr: 198.51.100.0/26, communities: [services, "4200000000:5:6"] }
    - { cidr: 10.246.0.0/16, communities: [pods-large, "${blockCommunity}"] }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.246.0.0/16, ipipMode: Always, natOutgoing: true, blockSize: 26 }
`;
}

function torPeerYaml(nextHopMode: 'Self' | 'Keep'): string {
  return `---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: tor }
spec: { peerIP: ${TOR}, asNumber: 65100, localASNumber: 65010, nextHopMode: ${nextHopMode} }
`;
}

interface TorRoute {
  nextHop: string;
  asPath: string;
  community: string;
  large: string;
}

/** `birdc show route all protocol node_a`, per prefix: BGP.next_hop, BGP.as_path, BGP.community, BGP.large_community. */
function parseRoutes(out: string): Map<string, TorRoute> {
  const routes = new Map<string, TorRoute>();
  let cur: TorRoute | undefined;
  for (const line of out.split('\n')) {
    const head = /^(\d+\.\d+\.\d+\.\d+\/\d+)\s/.exec(line);
    if (head) {
      cur = { nextHop: '', asPath: '', community: '', large: '' };
      routes.set(head[1], cur);
      continue;
    }
    const attr = /^\s+BGP\.(next_hop|as_path|community|large_community):\s*(.*)$/.exec(line);
    if (!attr || !cur) continue;
    const v = attr[2].trim();
    if (attr[1] === 'next_hop') cur.nextHop = v;
    else if (attr[1] === 'as_path') cur.asPath = v;
    else if (attr[1] === 'community') cur.community = v;
    else cur.large = v;
  }
  return routes;
}

describe('agent run: service CIDRs, communities and per-peer options towards an eBGP ToR (BIRD 2)', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'h4t-'));
  let etcd: ChildProcess | undefined;
  let agent: AgentProcess;
  let tor: Bird | undefined;
  let nodeB: Bird | undefined;
  let a: Netns;
  let url = '';

  const torRoutes = (): Map<string, TorRoute> => parseRoutes(tor!.birdc('show route all protocol node_a'));
  const torSession = (): { state: string; since: string } => tor!.protocolState('node_a');
  const agentSince = (): string | undefined => agent.status().peers.find((p) => p.address === TOR)?.since;
  const eventuallyEstablished = () => tor!.waitFor('show protocols node_a', (out) => /Established/.test(out), 60_000);

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    const e = bed.addHost('etcd', { address: '10.98.4.100/24' });
    a = bed.addHost('a', { address: `${A}/24` });
    const b = bed.addHost('b', { address: `${B}/24` });
    const t = bed.addHost('tor', { address: `${TOR}/24` });
    url = `http://10.98.4.100:${await freePort()}`;
    etcd = await startEtcdIn(e, tmp, url, 'h4t');
    datastoreApply(
      a,
      url,
      bgpConfigYaml('64512:7') + nodeYaml('node-a', `${A}/24`) + nodeYaml('node-b', `${B}/24`) + affinityYaml('node-a', '10.246.1.0/26') + torPeerYaml('Self'),
    );
    tor = new Bird(t, TOR_CONFIG, 'h4t-tor-');
    nodeB = new Bird(b, NODE_B_CONFIG, 'h4t-b-');
    await tor.start();
    await nodeB.start();
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: `${A}/24`, etcdEndpoints: url, socket: join(tmp, 'agent.ctl') });
    agent.start();
  }, 120_000);

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await tor?.cleanup();
    await nodeB?.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('the ToR sees the service CIDRs and the blocks with their communities, and only AS 65010', async () => {
    const want = ['10.96.0.0/12', '192.0.2.0/24', '198.51.100.0/26', '10.246.1.0/26', '10.246.3.0/26'];
    await tor!.waitFor('show route protocol node_a', (out) => want.every((p) => out.includes(p)), 60_000);
    const r = torRoutes();
    expect([...r.keys()].sort()).toEqual([...want].sort()); // no 192.0.2.77/32: a single external IP is per-service
    expect(r.get('10.96.0.0/12')).toMatchObject({ community: '(65100,100)', large: '' });
    expect(r.get('192.0.2.0/24')).toMatchObject({ community: '', large: '' }); // inside no advertisement's cidr
    expect(r.get('198.51.100.0/26')).toMatchObject({ community: '(65100,100)', large: '(4200000000, 5, 6)' });
    expect(r.get('10.246.1.0/26')).toMatchObject({ community: '(64512,7)', large: '(65100, 1, 2)' });
    // node-b's block, learned over the mesh and passed on: the same communities (apply_communities() runs for it too).
    expect(r.get('10.246.3.0/26')).toMatchObject({ community: '(64512,7)', large: '(65100, 1, 2)' });
    // localASNumber: the session is up against `neighbor ... as 65010`, and 64512 never shows.
    for (const [prefix, route] of r) expect(route.asPath, prefix).toBe('65010');
    expect(torSession().state).toMatch(/Established/);
    expect(agent.cli(['peers', TOR])).toMatch(/Local AS: +65010 \(BGPPeer localASNumber/);
  }, 90_000);

  it('nextHopMode Self: the re-advertised block has node-a as next hop', () => {
    const r = torRoutes();
    expect(r.get('10.246.3.0/26')!.nextHop).toBe(A);
    expect(r.get('10.246.1.0/26')!.nextHop).toBe(A);
  });

  it('a community edit in etcd applies live, without resetting the session', async () => {
    const before = torSession();
    const since = agentSince();
    expect(before.state).toMatch(/Established/);
    // BIRD's "since" has one-second resolution: let a second pass so a reset would show.
    await new Promise((r) => setTimeout(r, 1100));
    datastoreApply(a, url, bgpConfigYaml('64512:8'));
    await tor!.waitFor('show route all protocol node_a', (out) => out.includes('(64512,8)') && !out.includes('(64512,7)'), 30_000);
    const r = torRoutes();
    expect(r.get('10.246.1.0/26')).toMatchObject({ community: '(64512,8)', large: '(65100, 1, 2)' });
    expect(r.get('10.246.3.0/26')).toMatchObject({ community: '(64512,8)', large: '(65100, 1, 2)' });
    expect(r.get('10.96.0.0/12')!.community).toBe('(65100,100)');
    expect(torSession()).toEqual(before);
    expect(agentSince()).toBe(since);
  }, 60_000);

  it('nextHopMode Keep: the re-advertised block keeps node-b as next hop; our own block is still ours', async () => {
    datastoreApply(a, url, torPeerYaml('Keep'));
    await tor!.waitFor('show route all protocol node_a', (out) => parseRoutes(out).get('10.246.3.0/26')?.nextHop === B, 60_000);
    const r = torRoutes();
    expect(r.get('10.246.3.0/26')).toMatchObject({ nextHop: B, asPath: '65010', community: '(64512,8)' });
    expect(r.get('10.246.1.0/26')!.nextHop).toBe(A);
  }, 90_000);

  it('bad values are status problems naming the resource and field; the rest applies', async () => {
    datastoreApply(a, url, bgpConfigYaml('no-such-community') + torPeerYaml('Keep').replace('nextHopMode: Keep', 'nextHopMode: Keep, numAllowedLocalASNumbers: -1'));
    const problems = await agent.until('both problems in agent status', () => {
      const text = agent.cli(['status']);
      return /bgpconfigurations\/default: spec\.prefixAdvertisements\[2\]\.communities\[1\]: "no-such-community"/.test(text) &&
        /bgppeers\/tor: spec\.numAllowedLocalASNumbers: /.test(text)
        ? text
        : false;
    });
    expect(problems).toMatch(/datastore: .*bgppeers\/tor: spec\.numAllowedLocalASNumbers: -1 is out of range/);
    // The good entries still apply: the large community stays, the bad name's entry is left out.
    await tor!.waitFor('show route all protocol node_a', (out) => !out.includes('(64512,8)'), 30_000);
    const r = torRoutes();
    expect(r.get('10.246.1.0/26')).toMatchObject({ community: '', large: '(65100, 1, 2)', asPath: '65010' });
    expect(r.get('10.96.0.0/12')!.community).toBe('(65100,100)');
  }, 90_000);

  it("reachableBy: the static route to the peer via its gateway (confd's route <peerIP>/32 via <gw>), no session reset", async () => {
    await eventuallyEstablished();
    const before = torSession();
    const since = agentSince();
    await new Promise((r) => setTimeout(r, 1100));
    // The ToR is on node-a's subnet: its own address is a gateway that keeps the session's path as it is.
    datastoreApply(a, url, torPeerYaml('Keep').replace('nextHopMode: Keep', `nextHopMode: Keep, reachableBy: ${TOR}`));
    await agent.until('the reachableBy route in the kernel', () => a.routes('bird').some((l) => l.startsWith(`${TOR} via ${TOR} dev eth0`)), 30_000, { context: () => `proto bird routes:\n${a.routes('bird').join('\n')}` });
    expect(torSession()).toEqual(before);
    expect(agentSince()).toBe(since);
  }, 60_000);
});
