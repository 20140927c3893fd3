/**
 * etcd as the distributed store it is in production: a 3-member cluster in
 * namespaces, `agent run` given all three in --etcd-endpoints, a BIRD peer.
 * 1. The member serving the agent's watch (named by `agent status --json`,
 *    checked against the agent's TCP connections with `ss`) is killed; new
 *    blocks of this node written to the other two meanwhile all reach the
 *    agent's kernel and BIRD: the watch resumed from its revision on another
 *    member, nothing was lost.
 * 2. With that member back, the cluster's leader is killed; the same again.
 * Throughout, the BGP session is never reset (same `since`) and no route of
 * the agent's leaves the kernel (ip monitor between sentinels).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { Netns, Testbed, canUseNetns } from '../../../src/testbed/netns.js';
import { AgentProcess, datastoreApply } from '../../helpers/agent-process.js';
import { affinityYaml } from '../../helpers/calico.js';
import { RouteMonitor } from '../../helpers/ip-monitor.js';

const PREFIX = 'tfec';
const CLIENT_PORT = 32579;
const PEER_PORT = 32580;

if (!canUseNetns()) throw new Error('etcd cluster integration test needs root (network namespaces)');

const MEMBERS = [1, 2, 3].map((i) => ({ name: `tfe${i}`, ip: `10.95.0.1${i}` }));
const url = (ip: string, port: number) => `http://${ip}:${port}`;
const ENDPOINTS = MEMBERS.map((m) => url(m.ip, CLIENT_PORT)).join(',');
const AGENT_IP = '10.95.0.9';
const BIRD_IP = '10.95.0.3';

const birdConfig = `
router id ${BIRD_IP};
log stderr all;
protocol device { scan time 2; }
protocol direct { ipv4; interface "eth0"; }
protocol static blocks { ipv4 { export all; }; route 10.244.3.0/26 blackhole; }
protocol bgp Mesh_10_95_0_9 {
  local ${BIRD_IP} as 64512;
  neighbor ${AGENT_IP} as 64512;
  passive on;
  multihop;
  graceful restart on;
  ipv4 { gateway recursive; import all; export where source = RTS_STATIC; add paths on; next hop self; };
}
`;

const resources = `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: true, asNumber: 64512 }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.244.0.0/16, ipipMode: Always, blockSize: 26 }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-b }
spec: { bgp: { ipv4Address: ${BIRD_IP}/24 } }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-a }
spec: { bgp: { ipv4Address: ${AGENT_IP}/24, ipv4IPIPTunnelAddr: 10.244.9.1 } }
${affinityYaml('node-a', '10.244.9.0/26')}${affinityYaml('node-b', '10.244.3.0/26')}`;

interface Status {
  peers: { bgpState: string; since: string }[];
  datastore: { connected: boolean; revision: number; member?: { id: string; name?: string; clientURL?: string } };
}

describe('a 3-member etcd cluster: the agent survives losing its member, then the leader', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'tf-etcd3-'));
  const socket = join(tmp, 'agent.ctl');
  const etcd = new Map<string, ChildProcess>();
  const ns = new Map<string, Netns>();
  let a: Netns;
  let agent: AgentProcess;
  let bird: Bird;
  let blockNo = 10;

  const status = (): Status => agent.status<Status>();
  const routes = (): string[] => a.routes().filter((l) => l.includes('proto bird')).sort();
  const alive = () => MEMBERS.filter((m) => etcd.get(m.name)?.exitCode === null && etcd.get(m.name)?.signalCode === null);
  const etcdctl = (args: string[], input?: string): string => {
    const m = alive()[0];
    return ns.get(m.name)!.exec('etcdctl', ['--endpoints', alive().map((x) => url(x.ip, CLIENT_PORT)).join(','), '--dial-timeout', '2s', ...args], { input });
  };

  const until = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> =>
    agent.until(what, fn, timeoutMs, {
      everyMs: 100,
      context: () => `routes: ${routes().join(' | ')}\nstatus: ${JSON.stringify(status().datastore)}`,
    });

  function startMember(m: (typeof MEMBERS)[number], state: 'new' | 'existing'): void {
    const proc = ns.get(m.name)!.spawn('etcd', [
      '--name', m.name, '--data-dir', join(tmp, m.name),
      '--listen-client-urls', url(m.ip, CLIENT_PORT), '--advertise-client-urls', url(m.ip, CLIENT_PORT),
      '--listen-peer-urls', url(m.ip, PEER_PORT), '--initial-advertise-peer-urls', url(m.ip, PEER_PORT),
      '--initial-cluster', MEMBERS.map((x) => `${x.name}=${url(x.ip, PEER_PORT)}`).join(','),
      '--initial-cluster-state', state, '--initial-cluster-token', 'tfec',
      '--heartbeat-interval', '100', '--election-timeout', '1000',
    ]);
    proc.stdout?.resume();
    proc.stderr?.resume();
    etcd.set(m.name, proc);
  }

  async function kill(name: string): Promise<void> {
    const p = etcd.get(name)!;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  const healthy = () => {
    try {
      etcdctl(['endpoint', 'health']);
      return true;
    } catch {
      return false;
    }
  };

  /** The members the agent has an etcd connection to, from the kernel's socket table in its namespace. */
  const connectedMembers = (): Set<string> => {
    const out = a.exec('ss', ['-Htn', 'state', 'established', `( dport = :${CLIENT_PORT} )`]);
    const ips = new Set([...out.matchAll(/(10\.95\.0\.1\d):32579/g)].map((x) => x[1]));
    return new Set(MEMBERS.filter((m) => ips.has(m.ip)).map((m) => m.name));
  };
  /** The watch's member as status names it, when the agent is connected to it. */
  const namedMember = (): Status | undefined => {
    const s = status();
    const name = s.datastore.member?.name;
    return s.datastore.connected && name && connectedMembers().has(name) ? s : undefined;
  };

  const leader = (): string => {
    const rows = JSON.parse(etcdctl(['endpoint', 'status', '-w', 'json'])) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
    const lead = rows.find((r) => BigInt(r.Status.header.member_id) === BigInt(r.Status.leader))!;
    return MEMBERS.find((m) => lead.Endpoint.includes(m.ip))!.name;
  };

  /**
   * Write `n` new blocks affine to node-a (the agent reads its own host's
   * affinity keys, as confd does), each put a revision of its own; returns
   * the blackhole routes they must produce.
   */
  function writeBlocks(n: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const cidr = `10.244.${blockNo++}.0/26`;
      const name = cidr.replace('/', '-');
      etcdctl(['put', `/calico/ipam/v2/assignment/ipv4/block/${name}`, JSON.stringify({ cidr, affinity: 'host:node-a', allocations: [], unallocated: [], attributes: [] })]);
      etcdctl(['put', `/calico/ipam/v2/host/node-a/ipv4/block/${name}`, JSON.stringify({ state: 'confirmed', deleted: false })]);
      out.push(`blackhole ${cidr} proto bird`);
    }
    return out;
  }

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    for (const m of MEMBERS) ns.set(m.name, bed.addHost(m.name, { address: `${m.ip}/24` }));
    a = bed.addHost('a', { address: `${AGENT_IP}/24`, tunnelAddress: '10.244.9.1/32' });
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: `${AGENT_IP}/24`, etcdEndpoints: ENDPOINTS, socket });
    const b = bed.addHost('b', { address: `${BIRD_IP}/24` });
    for (const m of MEMBERS) startMember(m, 'new');
    await until('the etcd cluster healthy', () => {
      for (const m of MEMBERS) ns.get(m.name)!.exec('etcdctl', ['--endpoints', url(m.ip, CLIENT_PORT), '--dial-timeout', '1s', 'endpoint', 'health']);
      return true;
    }, 60_000);
    datastoreApply(a, ENDPOINTS, resources);
    bird = new Bird(b, birdConfig, 'tfec-bird-');
    await bird.start();
    agent.start();
    await until('session Established and the first routes', () => status().peers[0]?.bgpState === 'Established' && routes().some((r) => r.startsWith('10.244.3.0/26')), 60_000);
  }, 120_000);

  afterAll(async () => {
    agent?.proc?.kill('SIGKILL');
    await bird?.cleanup();
    for (const p of etcd.values()) p.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Kill `victim`, write while it is down, check every change arrived and nothing else moved. */
  async function loseMember(victim: string): Promise<void> {
    const since = status().peers[0].since;
    const mon = new RouteMonitor(a, 40 + blockNo);
    const s1 = await mon.mark();
    const held = routes();
    await kill(victim);
    await until('the cluster to serve writes without it', healthy, 30_000);
    // Writes right after the loss, while the agent may still be finding another member.
    const written = writeBlocks(5);
    await until(`every block written while ${victim} was down in the agent's kernel`, () => written.every((r) => routes().includes(r)), 60_000);
    // ... and advertised: BIRD has each of them from the agent.
    await bird.waitFor('show route', (o) => written.every((r) => o.includes(r.split(' ')[1])), 30_000);
    const st = await until('status naming a live member', namedMember);
    expect(st.datastore.member!.name).not.toBe(victim);
    expect(st.datastore.member!.clientURL).toBe(url(MEMBERS.find((m) => m.name === st.datastore.member!.name)!.ip, CLIENT_PORT));
    // Sessions stayed up, routes stayed: only the new ones were added.
    expect(st.peers[0]).toMatchObject({ bgpState: 'Established', since });
    expect(routes()).toEqual([...held, ...written].sort());
    const s2 = await mon.mark();
    expect(mon.birdSince(s1, s2).filter((l) => l.startsWith('Deleted'))).toEqual([]);
    mon.stop();
  }

  it('status names the member serving its watch, one the agent\'s TCP connections go to', async () => {
    const st = await until('member named', namedMember);
    expect(MEMBERS.map((m) => m.name)).toContain(st.datastore.member!.name);
    expect(st.datastore.member!.id).toMatch(/^[0-9a-f]+$/);
  });

  it('losing the member it uses loses no change: the watch resumes from its revision on another member', async () => {
    const victim = (await until('member named', namedMember)).datastore.member!.name!;
    await loseMember(victim);
    // Back into the cluster with its data, as a restarted member would be.
    startMember(MEMBERS.find((m) => m.name === victim)!, 'existing');
    await until(`${victim} back`, () => {
      const m = MEMBERS.find((x) => x.name === victim)!;
      ns.get(victim)!.exec('etcdctl', ['--endpoints', url(m.ip, CLIENT_PORT), '--dial-timeout', '1s', 'endpoint', 'health']);
      return true;
    }, 60_000);
  }, 120_000);

  it('losing the leader loses no change either', async () => {
    const lead = leader();
    await loseMember(lead);
    // A new leader among the two left.
    expect(leader()).not.toBe(lead);
  }, 120_000);
});
