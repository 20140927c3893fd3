/**
 * The lab's layout, computed up front and pure: which namespace each node
 * lives in, its address and subnet, its IPAM block, which node runs BIRD,
 * which is the route reflector, and where etcd listens.
 *
 * Nodes alternate between two /24 subnets on one bridge so that an IPIP pool
 * in CrossSubnet mode shows both kinds of Calico route: direct
 * (`via <ip> dev eth0`) to nodes in the same subnet, `dev tunl0 onlink` to
 * the others (Calico's bird_ipam template: krt_tunnel only when the next hop
 * is outside this node's network).
 */

import { addIpv6 } from './dual-stack.js';

export type Topology = 'mesh' | 'rr';
export type Speaker = 'bird' | 'agent';

export interface LabOptions {
  nodes: number;
  topology: Topology;
  /** Namespace / interface prefix, short: interface names are at most 15 characters. */
  prefix: string;
  /** Dual stack (issue 19, dual-stack.ts): IPv6 addresses, an IPv6 pool and blocks too. */
  ipv6?: boolean;
}

export interface LabNode {
  index: number; // 1-based
  name: string; // Calico node name, e.g. "node-1"
  ns: string; // network namespace
  address: string; // "10.0.1.11"
  prefixLen: number; // 24
  subnet: string; // "10.0.1.0/24"
  block: string; // this node's IPAM block at start, "10.244.1.0/26"
  tunnelAddr: string; // ipv4IPIPTunnelAddr: first address of its block
  speaker: Speaker;
  routeReflector: boolean;
  /** --ipv6: the node's IPv6 address on eth0 (spec.bgp.ipv6Address, IP6) and its /122 block. */
  address6?: string;
  block6?: string;
}

export interface LabPlan {
  prefix: string;
  topology: Topology;
  asNumber: number;
  clusterId: string; // routeReflectorClusterID of the RR (rr topology)
  pool: { name: string; cidr: string; ipipMode: 'CrossSubnet'; blockSize: number };
  etcd: { ns: string; address: string; prefixLen: number; clientUrl: string };
  nodes: LabNode[];
  /**
   * A second, empty block on the last node: the one `change` moves by default.
   * (A node's first block holds its tunnel address, and Calico's IPAM never
   * moves a block with allocations in it.)
   */
  spareBlock: string;
  /** On-link route every namespace gets so the subnets reach each other across the one bridge. */
  underlay: string;
  /** --ipv6 (dual-stack.ts): the nodes' IPv6 subnet and the IPv6 pool. */
  ipv6?: {
    subnet: string;
    prefixLen: number;
    pool: { name: string; cidr: string; blockSize: number };
    /** Found at run time (dual-stack.ts agentsSpeakIpv6): the agents run IPv6 sessions, so BIRD's to them are enabled. */
    agentSessions?: boolean;
  };
}

export const MAX_NODES = 60;
export const POOL_CIDR = '10.244.0.0/16';

export function makePlan(opts: LabOptions): LabPlan {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 2 || opts.nodes > MAX_NODES) {
    throw new Error(`--nodes must be an integer from 2 to ${MAX_NODES} (got ${opts.nodes})`);
  }
  if (opts.topology === 'rr' && opts.nodes < 3) {
    throw new Error('--topology rr needs at least 3 nodes: the BIRD node, a route reflector and a client');
  }
  // `${prefix}h${index}` is the longest interface name the testbed makes.
  if (!/^[a-z][a-z0-9-]{0,7}$/.test(opts.prefix)) {
    throw new Error(`prefix "${opts.prefix}" must be 1-8 characters of [a-z0-9-], starting with a letter`);
  }
  const nodes: LabNode[] = [];
  for (let i = 1; i <= opts.nodes; i++) {
    const third = i % 2 === 1 ? 1 : 2; // odd nodes in 10.0.1.0/24, even in 10.0.2.0/24
    const address = `10.0.${third}.${10 + i}`;
    const block = `10.244.${i}.0/26`;
    nodes.push({
      index: i,
      name: `node-${i}`,
      ns: `${opts.prefix}n${i}`,
      address,
      prefixLen: 24,
      subnet: `10.0.${third}.0/24`,
      block,
      tunnelAddr: `10.244.${i}.0`,
      // Node 1 runs BIRD as calico-node would; the rest run the agent.
      speaker: i === 1 ? 'bird' : 'agent',
      // The first agent node reflects for everyone in the rr topology.
      routeReflector: opts.topology === 'rr' && i === 2,
    });
  }
  const plan: LabPlan = {
    prefix: opts.prefix,
    topology: opts.topology,
    asNumber: 64512,
    clusterId: '244.0.0.1',
    pool: { name: 'lab-ipip-pool', cidr: POOL_CIDR, ipipMode: 'CrossSubnet', blockSize: 26 },
    etcd: { ns: `${opts.prefix}etcd`, address: '10.0.0.2', prefixLen: 24, clientUrl: 'http://10.0.0.2:2379' },
    nodes,
    spareBlock: `10.244.${opts.nodes}.64/26`,
    underlay: '10.0.0.0/16',
  };
  return opts.ipv6 ? addIpv6(plan) : plan;
}

/** Which node each block is affine to; starts as one block per node, `change` moves one. */
export type Assignment = Record<string, string>; // block cidr -> node name

export function initialAssignment(plan: LabPlan): Assignment {
  const a: Assignment = {};
  for (const n of plan.nodes) a[n.block] = n.name;
  a[plan.spareBlock] = plan.nodes[plan.nodes.length - 1].name;
  return a;
}

export function nodeByName(plan: LabPlan, name: string): LabNode {
  const n = plan.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node named "${name}" in this lab (${plan.nodes.map((x) => x.name).join(', ')})`);
  return n;
}

export function blocksOf(assignment: Assignment, node: string): string[] {
  return Object.keys(assignment)
    .filter((b) => assignment[b] === node)
    .sort();
}

/** Calico's peering of this lab, as confd would render it for `node`: peer addresses and whether passive. */
export interface LabPeering {
  name: string; // Mesh_10_0_2_12 / Node_10_0_2_12
  address: string;
  passive: boolean;
  rrClient: boolean;
}

export function peeringsOf(plan: LabPlan, node: LabNode): LabPeering[] {
  const id = (ip: string) => ip.replace(/\./g, '_');
  if (plan.topology === 'mesh') {
    return plan.nodes
      .filter((o) => o.address !== node.address)
      .map((o) => ({
        name: `Mesh_${id(o.address)}`,
        address: o.address,
        // Calico: of each pair the greater IP, compared as strings, connects.
        passive: o.address > node.address,
        rrClient: false,
      }));
  }
  // rr: BGPPeer nodeSelector all(), peerSelector has(route-reflector); the RR
  // peers back with everyone (automatic reverse peering) as rr clients.
  if (node.routeReflector) {
    return plan.nodes
      .filter((o) => o.address !== node.address && !o.routeReflector)
      .map((o) => ({ name: `Node_${id(o.address)}`, address: o.address, passive: false, rrClient: true }));
  }
  return plan.nodes
    .filter((o) => o.routeReflector)
    .map((o) => ({ name: `Node_${id(o.address)}`, address: o.address, passive: false, rrClient: false }));
}

/** Dotted quad to number, for subnet tests. */
export function ipToNumber(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 "${ip}"`);
  return ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3];
}

export function inSubnet(ip: string, cidr: string): boolean {
  const [net, len] = cidr.split('/');
  const l = Number(len);
  const size = 2 ** (32 - l);
  return Math.floor(ipToNumber(ip) / size) === Math.floor(ipToNumber(net) / size);
}
