/**
 * The Calico resources the lab writes, as `calicoctl apply` takes them
 * (apiVersion projectcalico.org/v3), plus the IPAM block and block affinity
 * records Calico's IPAM keeps in etcd:
 *
 * - BGPConfiguration `default`: AS 64512, node-to-node mesh on (mesh) or off (rr);
 * - a Node per lab node: spec.bgp.ipv4Address with its length, ipv4IPIPTunnelAddr;
 *   in rr the reflector carries routeReflectorClusterID and the label
 *   `route-reflector` (Calico's documented route-reflector setup);
 * - an IPPool in IPIP CrossSubnet mode;
 * - rr only: BGPPeer `peer-with-route-reflectors`, nodeSelector all(),
 *   peerSelector has(route-reflector);
 * - per block: IPAMBlock (affinity "host:<node>") and BlockAffinity (confirmed).
 */
import { stringify } from 'yaml';
import type { Assignment, LabPlan } from './plan.js';

export interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

const V3 = 'projectcalico.org/v3';

/** Calico's name form for a block: "10.244.1.0/26" -> "10-244-1-0-26". */
export function blockName(cidr: string): string {
  return cidr.replace(/[./]/g, '-');
}

export function clusterResources(plan: LabPlan): Resource[] {
  const out: Resource[] = [];
  out.push({
    apiVersion: V3,
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: {
      logSeverityScreen: 'Info',
      nodeToNodeMeshEnabled: plan.topology === 'mesh',
      asNumber: plan.asNumber,
    },
  });
  for (const n of plan.nodes) {
    const bgp: Record<string, unknown> = {
      ipv4Address: `${n.address}/${n.prefixLen}`,
      ipv4IPIPTunnelAddr: n.tunnelAddr,
    };
    if (n.routeReflector) bgp.routeReflectorClusterID = plan.clusterId;
    if (n.address6 && plan.ipv6) bgp.ipv6Address = `${n.address6}/${plan.ipv6.prefixLen}`; // --ipv6 (dual-stack.ts)
    const metadata: Resource['metadata'] = { name: n.name };
    if (n.routeReflector) metadata.labels = { 'route-reflector': 'true' };
    out.push({ apiVersion: V3, kind: 'Node', metadata, spec: { bgp } });
  }
  out.push({
    apiVersion: V3,
    kind: 'IPPool',
    metadata: { name: plan.pool.name },
    spec: {
      cidr: plan.pool.cidr,
      ipipMode: plan.pool.ipipMode,
      vxlanMode: 'Never',
      natOutgoing: true,
      blockSize: plan.pool.blockSize,
      nodeSelector: 'all()',
    },
  });
  if (plan.topology === 'rr') {
    out.push({
      apiVersion: V3,
      kind: 'BGPPeer',
      metadata: { name: 'peer-with-route-reflectors' },
      spec: { nodeSelector: 'all()', peerSelector: 'has(route-reflector)' },
    });
  }
  return out;
}

export function blockResources(assignment: Assignment, only?: string[]): Resource[] {
  const out: Resource[] = [];
  for (const cidr of only ?? Object.keys(assignment).sort()) {
    const node = assignment[cidr];
    out.push({ apiVersion: V3, kind: 'IPAMBlock', metadata: { name: blockName(cidr) }, spec: { cidr, affinity: `host:${node}` } });
    out.push({
      apiVersion: V3,
      kind: 'BlockAffinity',
      metadata: { name: `${node}-${blockName(cidr)}` },
      spec: { node, cidr, state: 'confirmed' },
    });
  }
  return out;
}

export function toYaml(resources: Resource[]): string {
  return resources.map((r) => stringify(r)).join('---\n');
}

/** etcd keys for block affinity and block records (Calico IPAM v2 layout). */
export function affinityKey(node: string, cidr: string): string {
  return `/calico/ipam/v2/host/${node}/ipv${cidr.includes(':') ? 6 : 4}/block/${cidr.replace('/', '-')}`;
}

export function blockKey(cidr: string): string {
  return `/calico/ipam/v2/assignment/ipv${cidr.includes(':') ? 6 : 4}/block/${cidr.replace('/', '-')}`;
}

/** The JSON Calico's IPAM stores for a block (allocations all free). */
export function blockValue(cidr: string, node: string): string {
  const size = 2 ** ((cidr.includes(':') ? 128 : 32) - Number(cidr.split('/')[1]));
  return JSON.stringify({
    cidr,
    affinity: `host:${node}`,
    strictAffinity: false,
    allocations: new Array(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
    deleted: false,
  });
}

/**
 * etcd key/values for the resources, as Calico's etcdv3 backend stores them:
 * the lab's fallback writer while `agent datastore apply` is not there.
 */
export function toEtcdKeyValues(resources: Resource[]): [string, string][] {
  const plural: Record<string, string> = {
    BGPConfiguration: 'bgpconfigurations',
    Node: 'nodes',
    IPPool: 'ippools',
    BGPPeer: 'bgppeers',
  };
  const out: [string, string][] = [];
  for (const r of resources) {
    if (r.kind === 'IPAMBlock') {
      const cidr = String(r.spec.cidr);
      out.push([blockKey(cidr), blockValue(cidr, String(r.spec.affinity).replace(/^host:/, ''))]);
    } else if (r.kind === 'BlockAffinity') {
      out.push([affinityKey(String(r.spec.node), String(r.spec.cidr)), JSON.stringify({ state: r.spec.state, deleted: false })]);
    } else {
      const p = plural[r.kind];
      if (!p) throw new Error(`no etcd key form for kind ${r.kind}`);
      out.push([`/calico/resources/v3/projectcalico.org/${p}/${r.metadata.name}`, JSON.stringify(r)]);
    }
  }
  return out;
}
