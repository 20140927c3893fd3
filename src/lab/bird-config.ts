/**
 * BIRD 2 configuration for the lab's BIRD node, rendered the way confd renders
 * calico-node's bird.cfg + bird_aggr.cfg + bird_ipam.cfg for an IPv4, etcd-mode
 * node in an IPIP pool (Calico's confd templates, translated to BIRD 2's
 * channel syntax), so the agents are measured against the real thing:
 *
 * - kernel protocol: `learn`, `persist`, `scan time 2`, `graceful restart`,
 *   `merge paths on`, export through calico_kernel_programming;
 * - a static protocol with a blackhole for each block affine to this node
 *   (bird_aggr; none for /32 blocks), exported only as the whole block
 *   (calico_aggr: accept `net = block`, reject anything inside it);
 * - one `protocol bgp` per peer from a template with `multihop`,
 *   `gateway recursive`, `add paths on`, `graceful restart`, connect delay 2 s,
 *   connect retry 5 s, error wait 5..30 s; mesh sessions to greater IPs are
 *   `passive on` (confd's string compare), reflected peers get
 *   `rr client; rr cluster id`.
 *
 * One change for stock BIRD 2.0.12: calico-node's fork writes tunnel routes
 * from `krt_tunnel = "tunl0"`; stock BIRD gets the same kernel route from
 * `nh = gw; onlink = true; ifname = "tunl0"; gw = nh;` (docs/ARCHITECTURE.md, the lab:
 * setting ifname clears the gateway, and gw resolves on tunl0 only once
 * onlink is set). The kernel protocol's metric is 0 so routes print as
 * calico-node's do (BIRD 2 defaults to 32).
 */
import { blocksOf, peeringsOf, type Assignment, type LabNode, type LabPlan } from './plan.js';
import { initialAssignment6, renderBird6 } from './dual-stack.js';

/** `assignment6`: the IPv6 blocks of a --ipv6 lab (dual-stack.ts adds the bird6.cfg part; none without --ipv6). */
export function renderBirdConfig(plan: LabPlan, assignment: Assignment, node: LabNode, assignment6: Assignment = initialAssignment6(plan)): string {
  const blocks = blocksOf(assignment, node.name);
  const pool = plan.pool;
  const L: string[] = [];
  L.push(`# Rendered by the lab as confd renders calico-node's bird.cfg for ${node.name}.`);
  L.push('log stderr all;');
  L.push(`router id ${node.address};`);
  L.push('');
  // bird_aggr: blackholes for this host's blocks, and the aggregation function.
  const blackholed = blocks.filter((b) => !b.endsWith('/32'));
  if (blackholed.length > 0) {
    L.push('protocol static {');
    L.push('  ipv4;');
    L.push('  # IP blocks for this host.');
    for (const b of blackholed) L.push(`  route ${b} blackhole;`);
    L.push('}');
  } else {
    L.push('# No IP blocks or static routes for this host.');
  }
  L.push('');
  L.push('# Aggregation of routes on this host; export the block, nothing beneath it.');
  L.push('function calico_aggr() {');
  for (const b of blocks) {
    L.push(`  # Block ${b} is confirmed`);
    L.push(`  if ( net = ${b} ) then { accept; }`);
    L.push(`  if ( net ~ ${b} ) then { reject; }`);
  }
  L.push('}');
  L.push('');
  // bird_ipam: what goes to peers, and what goes to the kernel.
  L.push('filter calico_export_to_bgp_peers {');
  L.push('  calico_aggr();');
  L.push(`  if ( net ~ ${pool.cidr} ) then { accept; }`);
  L.push('  reject;');
  L.push('}');
  L.push('');
  L.push('filter calico_kernel_programming');
  L.push('ip nh;');
  L.push('{');
  L.push(`  if ( net ~ ${pool.cidr} ) then {`);
  L.push('    # Own blocks: the static blackholes go in as they are.');
  L.push('    if ( dest = RTD_BLACKHOLE ) then accept;');
  if (pool.ipipMode === 'CrossSubnet') {
    L.push('    # CrossSubnet: no tunnel to a next hop in this node\'s own subnet.');
    L.push(`    if defined(bgp_next_hop) && ( bgp_next_hop ~ ${node.subnet} ) then accept;`);
  }
  L.push('    # krt_tunnel = "tunl0" in calico-node\'s BIRD; the same route from stock BIRD 2:');
  L.push('    nh = gw; onlink = true; ifname = "tunl0"; gw = nh;');
  L.push('    accept;');
  L.push('  }');
  L.push('  accept;');
  L.push('}');
  L.push('');
  L.push('protocol kernel {');
  L.push('  learn;           # Learn all alien routes from the kernel');
  L.push('  persist;         # Don\'t remove routes on bird shutdown');
  L.push('  scan time 2;     # Scan kernel routing table every 2 seconds');
  L.push('  graceful restart;');
  L.push('  merge paths on;');
  L.push('  metric 0;');
  L.push('  ipv4 {');
  L.push('    import all;');
  L.push('    export filter calico_kernel_programming;');
  L.push('  };');
  L.push('}');
  L.push('');
  L.push('protocol device { scan time 2; }');
  L.push('');
  L.push('protocol direct {');
  L.push('  debug { states };');
  L.push('  ipv4;');
  L.push('  interface -"cali*", -"kube-ipvs*", "*";');
  L.push('}');
  L.push('');
  L.push('template bgp bgp_template {');
  L.push('  debug { states };');
  L.push('  description "Connection to BGP peer";');
  L.push(`  local as ${plan.asNumber};`);
  L.push('  multihop;');
  L.push('  ipv4 {');
  L.push('    gateway recursive;');
  L.push('    import all;');
  L.push('    export filter calico_export_to_bgp_peers;');
  L.push('    add paths on;');
  L.push('  };');
  L.push('  graceful restart;');
  L.push('  connect delay time 2;');
  L.push('  connect retry time 5;');
  L.push('  error wait time 5,30;');
  L.push('}');
  L.push('');
  const peerings = peeringsOf(plan, node);
  if (plan.topology === 'mesh') L.push('# ------------- Node-to-node mesh -------------');
  else L.push('# Node-to-node mesh disabled\n# ------------- Node-specific peers -------------');
  for (const p of peerings) {
    L.push(`protocol bgp ${p.name} from bgp_template {`);
    L.push(`  neighbor ${p.address} as ${plan.asNumber};`);
    L.push(`  source address ${node.address};`);
    if (p.passive) L.push('  passive on; # Mesh is unidirectional, peer will connect to us.');
    L.push('  graceful restart time 120;');
    if (p.rrClient) {
      L.push('  rr client;');
      L.push(`  rr cluster id ${plan.clusterId};`);
    }
    L.push('}');
  }
  L.push(...renderBird6(plan, assignment6, node));
  L.push('');
  return L.join('\n');
}
