/**
 * What the integration tests share to stand up a Calico datastore: etcd
 * started inside a test namespace (waited on until healthy), and Calico
 * resources as the YAML `agent datastore apply` takes.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Netns } from '../../src/testbed/netns.js';
import { until } from './wait.js';

/** etcd in `ns`, clients on `url` (an address of that namespace) and on its loopback; resolves when healthy. */
export async function startEtcdIn(ns: Netns, dir: string, url: string, name = 'it'): Promise<ChildProcess> {
  const proc = ns.spawn('etcd', [
    '--name', name, '--data-dir', join(dir, 'etcd'),
    '--listen-client-urls', `${url},http://127.0.0.1:2379`, '--advertise-client-urls', url,
    '--listen-peer-urls', 'http://127.0.0.1:2380', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
    '--initial-cluster', `${name}=http://127.0.0.1:2380`,
  ]);
  await until('etcd healthy', () => {
    try {
      ns.exec('etcdctl', ['--endpoints', 'http://127.0.0.1:2379', '--dial-timeout', '1s', 'endpoint', 'health']);
      return true;
    } catch {
      return false;
    }
  }, 30_000);
  return proc;
}

/** An IPAM block affine to `node`, with its confirmed affinity. */
export function affinityYaml(node: string, cidr: string): string {
  return `---
kind: IPAMBlock
spec: { cidr: ${cidr}, affinity: "host:${node}" }
---
kind: BlockAffinity
spec: { node: ${node}, cidr: ${cidr}, state: confirmed }
`;
}

/** A Calico Node with its BGP address ("10.0.0.1/24"). */
export function nodeYaml(name: string, ipv4Cidr: string): string {
  return `---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: ${name} }
spec: { bgp: { ipv4Address: ${ipv4Cidr} } }
`;
}

/** The default BGPConfiguration (mesh on unless `mesh: false`) and one IPIP pool. */
export function meshWithPoolYaml(poolCidr: string, opts: { asNumber?: number; ipipMode?: string; mesh?: boolean } = {}): string {
  return `---
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: ${opts.mesh ?? true}, asNumber: ${opts.asNumber ?? 64512} }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: ${poolCidr}, ipipMode: ${opts.ipipMode ?? 'Always'}, natOutgoing: true, blockSize: 26 }
`;
}

/**
 * BIRD 2 as a mesh node beside an agent at `agentIp`: its `blocks` as static
 * blackholes (exported, next hop self, ADD-PATH on), passive since the agent
 * has the greater address and connects (Calico's mesh rule), `localAs`
 * 64512 unless a test wants a mismatch.
 */
export function birdMeshPeerConfig(routerId: string, agentIp: string, blocks: string[], localAs = 64512): string {
  return `
router id ${routerId};
log stderr all;
protocol device { scan time 2; }
protocol static blocks {
  ipv4 { export all; };
${blocks.map((b) => `  route ${b} blackhole;`).join('\n')}
}
protocol bgp Mesh_${agentIp.replaceAll('.', '_')} {
  local ${routerId} as ${localAs};
  neighbor ${agentIp} as 64512;
  passive on;
  graceful restart on;
  connect delay time 2;
  connect retry time 5;
  error wait time 5, 30;
  ipv4 { import all; export all; add paths on; next hop self; };
}
`;
}
