/**
 * `agent run` end to end, as issue 8 asks: real etcd, real BIRD 2 peers and
 * real kernel routes in network namespaces. The agent node (10.98.0.9) has
 * the greatest address, so by Calico's mesh rule it connects to every peer:
 * - node-b runs BIRD correctly             -> Established, routes both ways
 * - node-c runs BIRD with AS 64513         -> NOTIFICATION 2/2, AS mismatch
 * - node-d runs nothing                    -> Active, connection refused
 * `agent ready` fails naming c and d, then passes once both are fixed;
 * metrics scraped over HTTP show the same numbers as `agent status --json`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { Netns, Testbed, canUseNetns, sh } from '../../../src/testbed/netns.js';
import { AgentProcess, CLI, datastoreApply } from '../../helpers/agent-process.js';
import { birdMeshPeerConfig, startEtcdIn } from '../../helpers/calico.js';
import { DEFAULT_METRICS_PORT } from '../../../src/agent/config.js';

const PREFIX = 'agt';

if (!canUseNetns()) {
  // CI runs as root: a missing prerequisite there is a failure, not a skip.
  throw new Error('agent integration tests need root (network namespaces)');
}

/** node-b..d's BIRD beside the agent (10.98.0.9). */
const birdConfig = (routerId: string, localAs: number, blocks: string[]): string => birdMeshPeerConfig(routerId, '10.98.0.9', blocks, localAs);

const resources = `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: true, asNumber: 64512 }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.244.0.0/16, ipipMode: Always, natOutgoing: true, blockSize: 26 }
${['b:3', 'c:4', 'd:5']
  .map(
    (x) => `---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-${x[0]} }
spec: { bgp: { ipv4Address: 10.98.0.${x.slice(2)}/24 } }`,
  )
  .join('\n')}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-a, labels: { rack: r1 } }
spec: { bgp: { ipv4Address: 10.98.0.9/24, ipv4IPIPTunnelAddr: 10.244.9.1 } }
---
kind: IPAMBlock
spec: { cidr: 10.244.9.0/26, affinity: "host:node-a" }
---
kind: BlockAffinity
spec: { node: node-a, cidr: 10.244.9.0/26, state: confirmed }
---
kind: IPAMBlock
spec: { cidr: 10.244.3.0/26, affinity: "host:node-b" }
---
kind: BlockAffinity
spec: { node: node-b, cidr: 10.244.3.0/26, state: confirmed }
`;

interface JsonPeer {
  address: string;
  type: string;
  state: string;
  info: string;
  bgpState: string;
  lastError: string | null;
  prefixes: { received: number; advertised: number };
}

describe('agent run with etcd, BIRD peers and kernel routes', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'agent-it-'));
  const socket = join(tmp, 'agent.ctl');
  let etcd: ChildProcess | undefined;
  let agent: AgentProcess;
  const birds: Bird[] = [];
  let a: Netns;
  let etcdUrl = '';
  /** `--metrics` alone: the default port, on the node's address (issue 23). */
  const metricsPort = DEFAULT_METRICS_PORT;
  const scrape = (host: string): string =>
    a.exec(process.execPath, ['-e', `fetch('http://${host}:${metricsPort}/metrics').then(r => r.text()).then(t => process.stdout.write(t), e => process.stdout.write('refused: ' + (e.cause?.code ?? e.message)))`]);

  const cli = (args: string[], opts: { allowFail?: boolean } = {}): { code: number; out: string } => {
    try {
      return { code: 0, out: sh(process.execPath, [CLI, ...args]) };
    } catch (err) {
      if (!opts.allowFail) throw err;
      return { code: 1, out: (err as Error).message };
    }
  };
  const status = (): JsonPeer[] => JSON.parse(cli(['status', '--json', '--control-socket', socket]).out).peers as JsonPeer[];
  /** This node's proto bird routes as `ip route` prints them, sorted. */
  const birdRoutes = (): string[] => a.routes().filter((l) => l.includes('proto bird')).sort();
  /** Start `agent run` for node-a in its namespace (flags beyond the common ones in `extra`), capturing its log. */
  const spawnAgent = (extra: string[]): void => void agent.start(extra);
  const until = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 40_000): Promise<T> => agent.until(what, fn, timeoutMs);

  /** etcd in its own namespace on the bridge; restartable on the same data dir (outage tests). */
  async function startEtcd(): Promise<void> {
    etcd = await startEtcdIn(bed.hosts.get('etcd')!, tmp, etcdUrl);
  }

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    bed.addHost('etcd', { address: '10.98.0.100/24' });
    a = bed.addHost('a', { address: '10.98.0.9/24' });
    const b = bed.addHost('b', { address: '10.98.0.3/24' });
    const c = bed.addHost('c', { address: '10.98.0.4/24' });
    bed.addHost('d', { address: '10.98.0.5/24' });

    etcdUrl = 'http://10.98.0.100:2379';
    await startEtcd();
    // `agent datastore apply` from node-a's namespace, as an operator would.
    datastoreApply(a, etcdUrl, resources);
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: '10.98.0.9/24', etcdEndpoints: etcdUrl, socket });

    const birdB = new Bird(b, birdConfig('10.98.0.3', 64512, ['10.244.3.0/26']), 'agt-bird-b-');
    const birdC = new Bird(c, birdConfig('10.98.0.4', 64513, []), 'agt-bird-c-');
    birds.push(birdB, birdC);
    await birdB.start();
    await birdC.start();

    spawnAgent([
      '--pid-file', join(tmp, 'agent.pid'), '--metrics',
      '--log-level', 'debug', '--manage-tunnel',
    ]);
  }, 120_000);

  afterAll(async () => {
    agent?.proc?.kill('SIGKILL');
    for (const b of birds) await b.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('shows one peer Established, one refused, one with an AS mismatch, each explained', async () => {
    await until('peer states', () => {
      const peers = status();
      const b = peers.find((p) => p.address === '10.98.0.3');
      const c = peers.find((p) => p.address === '10.98.0.4');
      const d = peers.find((p) => p.address === '10.98.0.5');
      return b?.bgpState === 'Established' && /2\/2/.test(c?.lastError ?? '') && /connection refused/i.test(d?.lastError ?? '');
    });
    const peers = status();
    expect(peers.map((p) => [p.address, p.type])).toEqual([
      ['10.98.0.3', 'node-to-node mesh'],
      ['10.98.0.4', 'node-to-node mesh'],
      ['10.98.0.5', 'node-to-node mesh'],
    ]);
    const text = cli(['status', '--control-socket', socket]).out;
    expect(text).toMatch(/^Calico process is running\.\n\nIPv4 BGP status\n\+-+\+/);
    expect(text).toMatch(/\| 10\.98\.0\.3 +\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established +\|/);
    expect(text).toMatch(/\| 10\.98\.0\.5 +\| node-to-node mesh \| start +\| \d\d:\d\d:\d\d \| (Active|Connect|Idle) Socket: Connection refused +\|/);
    expect(text).toContain('IPv6 BGP status\nNo IPv6 peers found.');
    expect(text).toMatch(/- peer 10\.98\.0\.5 \(Mesh_10_98_0_5\) is \w+: Connect: connection refused — nothing listens on 10\.98\.0\.5:179/);
    expect(text).toMatch(/- peer 10\.98\.0\.4 \(Mesh_10_98_0_4\) is \w+: .*2\/2.*64513.*the AS numbers configured on the two sides disagree/);
  });

  it('exchanges routes with BIRD and programs the seed route forms in the kernel', async () => {
    await until('kernel routes', () => {
      const routes = a.routes('bird').join('\n');
      return routes.includes('10.244.3.0/26 via 10.98.0.3 dev tunl0') && routes.includes('blackhole 10.244.9.0/26');
    });
    expect(birdRoutes()).toEqual(['10.244.3.0/26 via 10.98.0.3 dev tunl0 proto bird onlink', 'blackhole 10.244.9.0/26 proto bird']);
    // --manage-tunnel: tunl0 carries exactly the Node's ipv4IPIPTunnelAddr, MTU 1440.
    const tunl0 = a.ip(['-4', '-o', 'addr', 'show', 'dev', 'tunl0']);
    expect(tunl0).toMatch(/inet 10\.244\.9\.1\/32/);
    expect(tunl0).not.toMatch(/169\.254\./);
    expect(a.ip(['link', 'show', 'dev', 'tunl0'])).toMatch(/mtu 1440/);
    // Registration updated the address but kept the fields it does not own.
    const node = JSON.parse(a.exec(process.execPath, [CLI, 'datastore', 'get', 'node', 'node-a', '-o', 'json', '--etcd-endpoints', etcdUrl])) as { metadata: { labels?: Record<string, string> } };
    expect(node.metadata.labels).toEqual({ rack: 'r1' });
    await birds[0].waitFor('show route 10.244.9.0/26', (out) => out.includes('10.244.9.0/26') && out.includes('10.98.0.9'));
    const b = status().find((p) => p.address === '10.98.0.3')!;
    expect(b.prefixes.received).toBe(1);
    expect(b.prefixes.advertised).toBe(1);
  });

  it('fails readiness naming the broken peers, and metrics agree with the status', async () => {
    const ready = cli(['ready', '--control-socket', socket], { allowFail: true });
    expect(ready.code).toBe(1);
    expect(ready.out).toMatch(/FAIL bgp: 2 of 3 peer\(s\) not Established: 10\.98\.0\.4 \w+ \(.*2\/2.*\); 10\.98\.0\.5 \w+ \(Connect: connection refused\)/);
    expect(ready.out).toMatch(/ok {3}datastore: synced at revision \d+/);

    const metrics = scrape('10.98.0.9');
    // Bound to the node's IP, not every address: loopback in the same namespace is refused.
    expect(scrape('127.0.0.1')).toBe('refused: ECONNREFUSED');
    expect(metrics).toMatch(/^bgp_agent_build_info\{version="\d+\.\d+\.\d+[^"]*",commit="([0-9a-f]{40}|unknown)",nodejs_version="v\d+[^"]*"\} 1$/m);
    expect(metrics).toMatch(/^bgp_agent_sessions\{family="ipv4",state="Established"\} 1$/m);
    expect(metrics).toMatch(/^bgp_agent_peer_uptime_seconds\{peer="10\.98\.0\.3",[^}]*\} (?!0$)\d[\d.]*$/m); // up for a while, so not 0
    expect(metrics).toMatch(/^bgp_agent_peer_uptime_seconds\{peer="10\.98\.0\.5",[^}]*\} 0$/m);
    expect(metrics).toMatch(/^bgp_agent_peer_flaps_total\{peer="10\.98\.0\.3",[^}]*\} 0$/m);
    expect(metrics).toMatch(/^bgp_agent_kernel_route_errors_total 0$/m);
    expect(metrics).toMatch(/bgp_agent_peer_established\{peer="10\.98\.0\.3",name="Mesh_10_98_0_3",type="node-to-node mesh"\} 1/);
    expect(metrics).toMatch(/bgp_agent_peer_established\{peer="10\.98\.0\.4",[^}]*\} 0/);
    expect(metrics).toMatch(/bgp_agent_peer_prefixes\{peer="10\.98\.0\.3",[^}]*kind="received"\} 1/);
    expect(metrics).toMatch(/bgp_agent_datastore_synced 1/);
    expect(metrics).toMatch(/bgp_agent_kernel_routes 2/);
  });

  it('passes readiness once the AS is fixed and the missing peer starts', async () => {
    const birdC = birds[1];
    birdC.reconfigure(birdConfig('10.98.0.4', 64512, []));
    // BIRD restarts the protocol itself when its local AS changes.
    const d = bed.hosts.get('d')!;
    const birdD = new Bird(d, birdConfig('10.98.0.5', 64512, []), 'agt-bird-d-');
    birds.push(birdD);
    await birdD.start();
    await until('every peer Established', () => status().every((p) => p.bgpState === 'Established'), 60_000);
    const ready = cli(['ready', '--control-socket', socket]);
    expect(ready.code).toBe(0);
    expect(ready.out).toContain('ok   bgp: 3 peer(s) Established');
  }, 90_000);

  it('explains routes like birdc: best path, the deciding step and the kernel route; per-peer RIBs; log level at run time', () => {
    const shown = cli(['routes', '10.244.3.0/26', '--control-socket', socket]).out;
    expect(shown).toMatch(/^10\.244\.3\.0\/26 +via 10\.98\.0\.3 +from Mesh_10_98_0_3 +\* \[AS path: \(empty\)\] IGP localpref 100/);
    expect(shown).toMatch(/best path chosen by: \S/);
    expect(shown).toContain('kernel: 10.244.3.0/26 via 10.98.0.3 dev tunl0 proto bird onlink');
    const received = JSON.parse(cli(['routes', '--received', 'Mesh_10_98_0_3', '--json', '--control-socket', socket]).out) as { prefix: string }[];
    expect(received.map((r) => r.prefix)).toEqual(['10.244.3.0/26']);
    const advertised = JSON.parse(cli(['routes', '--advertised', 'Mesh_10_98_0_3', '--json', '--control-socket', socket]).out) as { prefix: string; paths: { nextHop: string }[] }[];
    expect(advertised.map((r) => [r.prefix, r.paths[0].nextHop])).toEqual([['10.244.9.0/26', '10.98.0.9']]);
    expect(cli(['log-level', 'warn', '--control-socket', socket]).out).toBe('log level debug -> warn\n');
    const peers = cli(['peers', 'Mesh_10_98_0_3', '--control-socket', socket]).out;
    expect(peers).toMatch(/Routes: +1 received, 1 accepted, 1 advertised/);
    expect(peers).toMatch(/Capabilities: .*graceful-restart/);
  });

  it('stops on SIGTERM with graceful restart: kernel routes stay, BIRD keeps ours, a restart adopts them without churn', async () => {
    const before = birdRoutes();
    expect(await agent.stop('SIGTERM')).toBe(0);
    const after = birdRoutes();
    expect(after).toEqual(before);
    // RFC 4724: BIRD keeps our route, marked stale, while we are away.
    const held = birds[0].birdc('show route 10.244.9.0/26 all');
    expect(held).toContain('10.244.9.0/26');

    const monitor = a.spawn('ip', ['monitor', 'route']);
    let changes = '';
    monitor.stdout?.on('data', (d: Buffer) => (changes += d.toString()));
    spawnAgent(['--log-level', 'info']);
    try {
      await until('sessions back after restart', () => status().every((p) => p.bgpState === 'Established'), 60_000);
      // Past the restart: every peer's End-of-RIB is in, stale routes released.
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      monitor.kill();
    }
    expect(changes.split('\n').filter((l) => /proto bird/.test(l) && /^Deleted/.test(l))).toEqual([]);
    const again = birdRoutes();
    expect(again).toEqual(before);
    expect(agent.log).toMatch(/"restarting":true|adopted":2/);
  }, 90_000);

  it('killed (SIGKILL) in the middle of a change, a restarted agent finishes it and loses nothing', async () => {
    const before = birdRoutes();
    // A new block for this node, then the agent is killed at once: mid-update.
    a.exec(process.execPath, [CLI, 'datastore', 'apply', '-f', '-', '--etcd-endpoints', etcdUrl], {
      input: 'kind: IPAMBlock\nspec: { cidr: 10.244.9.64/26, affinity: "host:node-a" }\n---\nkind: BlockAffinity\nspec: { node: node-a, cidr: 10.244.9.64/26, state: confirmed }\n',
    });
    await agent.stop('SIGKILL');
    // Whatever had been programmed is still there: nothing is removed by a crash.
    for (const r of before) expect(birdRoutes()).toContain(r);

    const monitor = a.spawn('ip', ['monitor', 'route']);
    let changes = '';
    monitor.stdout?.on('data', (d: Buffer) => (changes += d.toString()));
    spawnAgent([]);
    try {
      await until('the new block blackholed and advertised', () =>
        birdRoutes().includes('blackhole 10.244.9.64/26 proto bird') && birds[0].birdc('show route 10.244.9.64/26').includes('10.98.0.9'),
      60_000);
      await until('sessions back', () => status().every((p) => p.bgpState === 'Established'), 60_000);
    } finally {
      monitor.kill();
    }
    expect(birdRoutes()).toEqual([...before, 'blackhole 10.244.9.64/26 proto bird'].sort());
    expect(changes.split('\n').filter((l) => /^Deleted/.test(l) && /proto bird/.test(l))).toEqual([]);
  }, 150_000);

  it('rides out an etcd outage: says since when, keeps sessions and routes, reconnects', async () => {
    const routesBefore = birdRoutes();
    const exited = new Promise((r) => etcd!.once('exit', r));
    etcd!.kill('SIGKILL');
    await exited;
    const text = await until('disconnected status', () => {
      const t = cli(['status', '--control-socket', socket]).out;
      return /- datastore disconnected since \d\d:\d\d:\d\d: etcd unreachable/.test(t) ? t : undefined;
    });
    expect(text).toContain('(sessions and routes are kept as last known)');
    expect(status().every((p) => p.bgpState === 'Established')).toBe(true);
    expect(birdRoutes()).toEqual(routesBefore);
    await startEtcd();
    await until('reconnected', () => !/datastore disconnected/.test(cli(['status', '--control-socket', socket]).out), 60_000);
    expect(birdRoutes()).toEqual(routesBefore);
  }, 120_000);

  it('refuses a second agent on the same control socket', () => {
    const second = a.exec(process.execPath, [CLI, 'run', '--node-name', 'node-a', '--ip', '10.98.0.9/24', '--etcd-endpoints', etcdUrl, '--control-socket', socket], { allowFail: true });
    expect(second).toBe('');
    let message = '';
    try {
      a.exec(process.execPath, [CLI, 'run', '--node-name', 'node-a', '--ip', '10.98.0.9/24', '--etcd-endpoints', etcdUrl, '--control-socket', socket]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/another agent is already running on control socket/);
  });
});
