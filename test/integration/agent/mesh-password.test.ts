/**
 * `agent run` end to end with a node-to-node mesh password (issue 20): real
 * etcd, a calico-style BIRD 2 node and real kernel routes in network
 * namespaces (prefix `md5e`). BGPConfiguration `nodeMeshPassword` names the
 * Secret `bgp-mesh` key `password`, mounted the kubelet's way under
 * BGP_SECRETS_DIR; node-b's BIRD has the same `password "..."` on its mesh
 * session, as calico-node's confd renders it.
 *
 * The agent node (10.97.0.9) has the greater address, so by Calico's mesh
 * rule it connects and BIRD is `passive on`: our SYN must carry the key.
 */
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { Netns, Testbed, canUseNetns } from '../../../src/testbed/netns.js';
import { AgentProcess, datastoreApply } from '../../helpers/agent-process.js';
import { startEtcdIn } from '../../helpers/calico.js';
const PREFIX = 'md5e';
const PASSWORD = 'mesh-s3cret-1';
const ETCD_PORT = 23791;

if (!canUseNetns()) throw new Error('the mesh password test needs root (network namespaces)');

function birdConfig(password: string): string {
  return `
router id 10.97.0.3;
log stderr all;
protocol device { scan time 2; }
protocol static blocks {
  ipv4 { export all; };
  route 10.245.3.0/26 blackhole;
}
protocol bgp Mesh_10_97_0_9 {
  local 10.97.0.3 as 64512;
  neighbor 10.97.0.9 as 64512;
  passive on;
  multihop;
  graceful restart on;
  connect delay time 2;
  connect retry time 5;
  error wait time 5, 30;
  password "${password}";
  ipv4 { import all; export all; add paths on; next hop self; gateway recursive; };
}
`;
}

const resources = `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec:
  nodeToNodeMeshEnabled: true
  asNumber: 64512
  nodeMeshPassword: { secretKeyRef: { name: bgp-mesh, key: password } }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.245.0.0/16, ipipMode: Always, natOutgoing: true, blockSize: 26 }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-b }
spec: { bgp: { ipv4Address: 10.97.0.3/24 } }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-a }
spec: { bgp: { ipv4Address: 10.97.0.9/24 } }
---
kind: IPAMBlock
spec: { cidr: 10.245.9.0/26, affinity: "host:node-a" }
---
kind: BlockAffinity
spec: { node: node-a, cidr: 10.245.9.0/26, state: confirmed }
---
kind: IPAMBlock
spec: { cidr: 10.245.3.0/26, affinity: "host:node-b" }
---
kind: BlockAffinity
spec: { node: node-b, cidr: 10.245.3.0/26, state: confirmed }
`;

let generation = 0;
/** The kubelet's layout of a Secret volume: `..data` renamed over, `<key> -> ..data/<key>`. */
function mountSecret(dir: string, data: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const ts = `..gen_${generation++}`;
  mkdirSync(join(dir, ts));
  for (const [k, v] of Object.entries(data)) writeFileSync(join(dir, ts, k), v);
  symlinkSync(ts, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const k of Object.keys(data)) rmSync(join(dir, k), { force: true });
  for (const k of Object.keys(data)) symlinkSync(join('..data', k), join(dir, k));
}

interface JsonPeer {
  name: string;
  address: string;
  type: string;
  bgpState: string;
  lastError: string | null;
  prefixes: { received: number; advertised: number };
}

describe('agent run: node-to-node mesh with nodeMeshPassword against a calico-style BIRD', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'md5-e2e-'));
  const socket = join(tmp, 'agent.ctl');
  const secrets = join(tmp, 'bgp-secrets');
  let etcd: ChildProcess | undefined;
  let agent: AgentProcess;
  let bird: Bird | undefined;
  let a: Netns;
  let b: Netns;
  const etcdUrl = `http://10.97.0.100:${ETCD_PORT}`;

  const cli = (args: string[]): string => agent.cli(args);
  const status = (): JsonPeer[] => agent.status<{ peers: JsonPeer[] }>().peers;
  const until = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 40_000): Promise<T> => agent.until(what, fn, timeoutMs);

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    const e = bed.addHost('etcd', { address: '10.97.0.100/24' });
    a = bed.addHost('a', { address: '10.97.0.9/24' });
    b = bed.addHost('b', { address: '10.97.0.3/24' });
    etcd = await startEtcdIn(e, tmp, etcdUrl, 'md5');
    datastoreApply(a, etcdUrl, resources);
    mountSecret(join(secrets, 'bgp-mesh'), { password: PASSWORD });

    bird = new Bird(b, birdConfig(PASSWORD), 'md5e-bird-');
    await bird.start();
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: '10.97.0.9/24', etcdEndpoints: etcdUrl, socket, logLevel: 'debug' });
    agent.start([], { BGP_SECRETS_DIR: secrets });
  }, 120_000);

  afterAll(async () => {
    agent?.proc?.kill('SIGKILL');
    await bird?.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('Established with the mesh password; routes both ways; the kernel has the peer block', async () => {
    await until('mesh Established', () => status().find((p) => p.address === '10.97.0.3')?.bgpState === 'Established');
    await bird!.waitFor('show route protocol Mesh_10_97_0_9', (o) => o.includes('10.245.9.0/26'), 30_000);
    await until('kernel route to node-b block', () => a.routes('bird').some((r) => r.startsWith('10.245.3.0/26 via 10.97.0.3')));
    const peer = status().find((p) => p.address === '10.97.0.3')!;
    expect(peer).toMatchObject({ name: 'Mesh_10_97_0_3', type: 'node-to-node mesh' });
    const text = cli(['status']);
    expect(text).toMatch(/\| 10\.97\.0\.3 +\| node-to-node mesh \| up +\| \d\d:\d\d:\d\d \| Established +\|/);
    // BIRD's kernel saw no unsigned or wrongly signed segment from us.
    const netstat = b.exec('cat', ['/proc/net/netstat']);
    const [names, values] = netstat.split('\n').filter((l) => l.startsWith('TcpExt:')).map((l) => l.trim().split(/\s+/));
    expect(Number(values[names.indexOf('TCPMD5NotFound')])).toBe(0);
    expect(Number(values[names.indexOf('TCPMD5Failure')])).toBe(0);
  });

  it('a new value in the Secret (BIRD still on the old one): down, and status says it is the password; corrected: back without a restart', async () => {
    mountSecret(join(secrets, 'bgp-mesh'), { password: 'not-birds' });
    await until('mesh down with password words', () => {
      const p = status().find((x) => x.address === '10.97.0.3');
      return p && p.bgpState !== 'Established' && /password/i.test(p.lastError ?? '');
    });
    expect(agent.proc!.exitCode).toBeNull();
    mountSecret(join(secrets, 'bgp-mesh'), { password: PASSWORD });
    await until('mesh back', () => status().find((p) => p.address === '10.97.0.3')?.bgpState === 'Established', 60_000);
    expect(agent.log.length).toBeGreaterThan(1000); // debug logs were written, and none has a value
    expect(agent.log).not.toContain(PASSWORD);
    expect(agent.log).not.toContain('not-birds');
  });
});

