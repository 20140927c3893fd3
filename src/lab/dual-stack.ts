/**
 * `npm run lab -- --ipv6`: the lab in dual stack (issue 19), as a Calico
 * cluster with IP6 set on every node runs it: calico-node's bird6 beside
 * bird, here BIRD 2 with ipv4 and ipv6 channels on node-1.
 *
 * - every node also gets an IPv6 address on eth0 in one /64 (so IPv6 routes
 *   between nodes are direct: no tunnel, IPIP is IPv4 only), written as the
 *   Node's spec.bgp.ipv6Address and given to the agent as IP6;
 * - an IPv6 pool (ipipMode Never, blockSize 122) and one /122 block per node,
 *   with its IPAMBlock and BlockAffinity under the ipv6 keys;
 * - BIRD (node-1) renders confd's bird6.cfg: a static blackhole per own IPv6
 *   block, its own IPv6 mesh sessions between IPv6 addresses, and a kernel
 *   protocol for the IPv6 table;
 * - the kernel routes each node must hold, in the form BIRD 2 installs them:
 *     blackhole fd00:244::40/122 dev lo proto bird metric 1024 pref medium
 *     fd00:244::80/122 via fd00:10::12 dev eth0 proto bird metric 1024 pref medium
 *
 * Whether the agent speaks IPv6 is found out, not assumed: BIRD starts with
 * its IPv6 sessions towards agents disabled (under `bird -R` a peer that
 * never sends End-of-RIB would hold all of BIRD's routes, IPv4 too); once
 * IPv4 has converged the lab asks an agent (`agent status --json`) whether
 * its IPv6 peers were started. If they were, BIRD is reconfigured with those
 * sessions enabled and every node must route every IPv6 block; if not (an
 * agent built before its IPv6 sessions), only each node's own blackhole is
 * expected, and the output says so rather than pretend. With
 * `--speaker bird` every node runs BIRD and the whole IPv6 mesh converges.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ip } from '../testbed/netns.js';
import { peeringsOf, type Assignment, type LabNode, type LabPlan } from './plan.js';
import type { Resource } from './resources.js';
import { diffRoutes, isConverged, parseRouteLines, type RouteDiff } from './routes.js';

export const IPV6_SUBNET = 'fd00:10::/64';
export const POOL6_CIDR = 'fd00:244::/64';
export const POOL6_NAME = 'lab-ipv6-pool';

/** Add the IPv6 side to a plan: addresses, a /122 block per node, the pool. */
export function addIpv6(plan: LabPlan): LabPlan {
  for (const n of plan.nodes) {
    // Decimal digits are valid hex groups, and already in canonical form.
    n.address6 = `fd00:10::${10 + n.index}`;
    n.block6 = `fd00:244::${(n.index * 64).toString(16)}/122`;
  }
  plan.ipv6 = { subnet: IPV6_SUBNET, prefixLen: 64, pool: { name: POOL6_NAME, cidr: POOL6_CIDR, blockSize: 122 } };
  return plan;
}

export function initialAssignment6(plan: LabPlan): Assignment {
  const a: Assignment = {};
  for (const n of plan.nodes) if (n.block6) a[n.block6] = n.name;
  return a;
}

/** The IPv6 pool and the IPv6 blocks with their affinities (the Nodes' ipv6Address is in clusterResources). */
export function ipv6Resources(plan: LabPlan, assignment6: Assignment): Resource[] {
  if (!plan.ipv6) return [];
  const out: Resource[] = [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: plan.ipv6.pool.name },
      spec: { cidr: plan.ipv6.pool.cidr, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true, blockSize: plan.ipv6.pool.blockSize, nodeSelector: 'all()' },
    },
  ];
  for (const cidr of Object.keys(assignment6).sort()) {
    const node = assignment6[cidr];
    const name = cidr.replace(/[:/]/g, '-');
    out.push({ apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', metadata: { name }, spec: { cidr, affinity: `host:${node}` } });
    out.push({ apiVersion: 'projectcalico.org/v3', kind: 'BlockAffinity', metadata: { name: `${node}-${name}` }, spec: { node, cidr, state: 'confirmed' } });
  }
  return out;
}

/** Whether nodes learn each other's IPv6 blocks in this lab: only when every node runs BIRD, until the agent has IPv6 sessions. */
export function ipv6Learned(plan: LabPlan): boolean {
  return plan.ipv6?.agentSessions === true || plan.nodes.every((n) => n.speaker === 'bird');
}

/**
 * Does this agent run IPv6 sessions? From its `agent status --json`: an IPv6
 * peer refused with "IPv6 peer not started" means no; any IPv6 peer started
 * (whatever its state) means yes; no IPv6 peer at all means no.
 */
export function agentSpeaksIpv6(statusJson: string): boolean {
  let peers: { address?: string; lastError?: string }[];
  try {
    peers = (JSON.parse(statusJson) as { peers?: { address?: string; lastError?: string }[] }).peers ?? [];
  } catch {
    return false;
  }
  return peers.some((p) => p.address?.includes(':') && !/^IPv6 peer not started/.test(p.lastError ?? ''));
}

/** The IPv6 proto bird routes `node` must hold, as BIRD 2 installs them (`ip -6 route` form). */
export function expectedRoutes6(plan: LabPlan, assignment6: Assignment, node: LabNode, learned = ipv6Learned(plan)): string[] {
  const out: string[] = [];
  for (const block of Object.keys(assignment6).sort()) {
    const owner = plan.nodes.find((n) => n.name === assignment6[block]);
    if (!owner?.address6) continue;
    if (owner.name === node.name) out.push(`blackhole ${block} dev lo proto bird metric 1024 pref medium`);
    else if (learned) out.push(`${block} via ${owner.address6} dev eth0 proto bird metric 1024 pref medium`);
  }
  return out;
}

/** The node's IPv6 routes written by a BGP speaker (the main table's proto bird lines). */
export function birdRoutes6(node: LabNode): string[] {
  return parseRouteLines(ip(['-6', '-n', node.ns, 'route', 'show', 'table', 'main'])).filter((l) => / proto bird( |$)/.test(l));
}

/** Wait until every node holds exactly its IPv6 routes; throws naming what is missing or extra. */
export async function waitForRoutes6(plan: LabPlan, assignment6: Assignment, timeoutMs: number, pollMs = 100): Promise<number> {
  const t0 = performance.now();
  const diffs = new Map<string, RouteDiff>();
  for (;;) {
    for (const n of plan.nodes) diffs.set(n.name, diffRoutes(expectedRoutes6(plan, assignment6, n), birdRoutes6(n)));
    if ([...diffs.values()].every(isConverged)) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) {
      const lines = [`IPv6 not converged after ${timeoutMs / 1000} s:`];
      for (const [name, d] of diffs) {
        for (const m of d.missing) lines.push(`  ${name} missing:    ${m}`);
        for (const u of d.unexpected) lines.push(`  ${name} unexpected: ${u}`);
      }
      throw new Error(lines.join('\n'));
    }
    await sleep(pollMs);
  }
}

/** What the lab says about IPv6, so nobody reads more into its output than is there. */
export function ipv6Note(plan: LabPlan): string {
  if (!plan.ipv6) return '';
  if (plan.nodes.every((n) => n.speaker === 'bird')) return `IPv6: every node runs BIRD; each holds its own IPv6 blackhole and every other node's block via its IPv6 address (${plan.ipv6.pool.cidr}).`;
  if (plan.ipv6.agentSessions) {
    return `IPv6: the agents run IPv6 sessions (seen in agent status), BIRD's IPv6 sessions to them were enabled; every node holds its own IPv6 blackhole and every other node's block via its IPv6 address (${plan.ipv6.pool.cidr}).`;
  }
  return (
    'IPv6: the agent has no IPv6 sessions yet (issue 19: RIB and session work to come): agent nodes program their own IPv6 blackholes and list their IPv6 peers as not started; ' +
    'BIRD\'s IPv6 sessions to them are configured disabled (with bird -R a peer that never sends End-of-RIB would hold all of BIRD\'s routes), ' +
    'so no node learns another\'s IPv6 block. Only the blackholes are checked; the IPv6 routes shown are all there is.'
  );
}

/**
 * confd's bird6.cfg for a BIRD node, translated to BIRD 2 (one daemon, ipv6
 * channels beside the ipv4 ones): own IPv6 blocks as static blackholes,
 * export filter, kernel protocol for the IPv6 table (`metric 0`: the kernel
 * then shows 1024, as for calico-node), mesh sessions between IPv6 addresses.
 */
export function renderBird6(plan: LabPlan, assignment6: Assignment, node: LabNode): string[] {
  if (!plan.ipv6 || !node.address6) return [];
  const pool = plan.ipv6.pool.cidr;
  const blocks = Object.keys(assignment6).filter((b) => assignment6[b] === node.name).sort();
  const L: string[] = ['', '# ---- IPv6 (bird6.cfg) ----'];
  const holes = blocks.filter((b) => !b.endsWith('/128'));
  if (holes.length) {
    L.push('protocol static static6 {', '  ipv6;', '  # IPv6 blocks for this host.');
    for (const b of holes) L.push(`  route ${b} blackhole;`);
    L.push('}');
  }
  L.push('function calico_aggr6() {');
  for (const b of blocks) L.push(`  # Block ${b} is confirmed`, `  if ( net = ${b} ) then { accept; }`, `  if ( net ~ ${b} ) then { reject; }`);
  L.push('}');
  L.push('filter calico_export_to_bgp_peers6 {', '  calico_aggr6();', `  if ( net ~ ${pool} ) then { accept; }`, '  reject;', '}');
  // No tunnel for IPv6. Only pool routes: stock BIRD would also write the direct
  // protocol's own subnet beside the kernel's connected route (IPv6 keeps both).
  L.push('filter calico_kernel_programming6 {', `  if ( net ~ ${pool} ) then { accept; }`, '  reject;', '}');
  L.push(
    'protocol kernel kernel6 {',
    '  learn;',
    '  persist;',
    '  scan time 2;',
    '  graceful restart;',
    '  merge paths on;',
    '  metric 0;',
    '  ipv6 {',
    '    import all;',
    '    export filter calico_kernel_programming6;',
    '  };',
    '}',
  );
  L.push('protocol direct direct6 {', '  debug { states };', '  ipv6;', '  interface -"cali*", -"kube-ipvs*", "*";', '}');
  L.push(
    'template bgp bgp_template6 {',
    '  debug { states };',
    '  description "Connection to BGP peer";',
    `  local as ${plan.asNumber};`,
    '  multihop;',
    '  ipv6 {',
    '    gateway recursive;',
    '    import all;',
    '    export filter calico_export_to_bgp_peers6;',
    '    add paths on;',
    '  };',
    '  graceful restart;',
    '  connect delay time 2;',
    '  connect retry time 5;',
    '  error wait time 5,30;',
    '}',
  );
  // The IPv4 peerings (peeringsOf) between the same nodes' IPv6 addresses:
  // confd renders bird6.cfg from the same peers, IPv6 side.
  for (const p of peeringsOf(plan, node)) {
    const o = plan.nodes.find((n) => n.address === p.address);
    if (!o?.address6) continue;
    const kind = plan.topology === 'mesh' ? 'Mesh' : 'Node';
    L.push(`protocol bgp ${kind}_${o.address6.replace(/:/g, '_')} from bgp_template6 {`);
    L.push(`  neighbor ${o.address6} as ${plan.asNumber};`);
    L.push(`  source address ${node.address6};`);
    // Calico's passive rule, on the IPv6 addresses compared as strings.
    if (plan.topology === 'mesh' && o.address6 > node.address6) L.push('  passive on; # Mesh is unidirectional, peer will connect to us.');
    L.push('  graceful restart time 120;');
    if (p.rrClient) L.push('  rr client;', `  rr cluster id ${plan.clusterId};`);
    // BIRD runs with -R: its kernel export and its announcements wait for
    // End-of-RIB from every peer, and an agent without IPv6 sessions never
    // sends one, which would hold BIRD's IPv4 routes too. So the session is
    // configured disabled until the agents are seen to speak IPv6.
    if (o.speaker === 'agent' && !plan.ipv6.agentSessions) L.push('  disabled; # enabled once the agents are seen to run IPv6 sessions');
    L.push('}');
  }
  return L;
}
