/**
 * The kernel routes each lab node must hold, in the exact form calico-node's
 * BIRD writes them (docs/ARCHITECTURE.md "Calico facts"), and the comparison of what a
 * node has against that. Pure: `ip route` text in, differences out.
 *
 *   blackhole 10.244.1.0/26 proto bird                       own block
 *   10.244.2.0/26 via 10.0.2.12 dev tunl0 proto bird onlink  other subnet (IPIP)
 *   10.244.3.0/26 via 10.0.1.13 dev eth0 proto bird          same subnet (CrossSubnet: no tunnel)
 */
import { inSubnet, nodeByName, type Assignment, type LabNode, type LabPlan } from './plan.js';

export function expectedRoutes(plan: LabPlan, assignment: Assignment, node: LabNode): string[] {
  const out: string[] = [];
  for (const block of Object.keys(assignment).sort()) {
    const owner = nodeByName(plan, assignment[block]);
    if (owner.name === node.name) {
      out.push(`blackhole ${block} proto bird`);
    } else if (plan.pool.ipipMode === 'CrossSubnet' && inSubnet(owner.address, node.subnet)) {
      out.push(`${block} via ${owner.address} dev eth0 proto bird`);
    } else {
      out.push(`${block} via ${owner.address} dev tunl0 proto bird onlink`);
    }
  }
  return out;
}

/** `ip route show proto bird` output as trimmed, non-empty lines. */
export function parseRouteLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

export interface RouteDiff {
  missing: string[];
  unexpected: string[];
}

export function diffRoutes(expected: string[], actual: string[]): RouteDiff {
  const have = new Set(actual);
  const want = new Set(expected);
  return {
    missing: expected.filter((r) => !have.has(r)),
    unexpected: actual.filter((r) => !want.has(r)),
  };
}

export function isConverged(d: RouteDiff): boolean {
  return d.missing.length === 0 && d.unexpected.length === 0;
}

/**
 * Where each block is routed: prefix -> next hop (or "blackhole"). Used to
 * show that BIRD and the agents agree on the cluster's routes, whatever
 * the device each one picks.
 */
export function routeTargets(lines: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of lines) {
    const bh = /^blackhole (\S+)/.exec(l);
    if (bh) {
      m.set(bh[1], 'blackhole');
      continue;
    }
    const via = /^(\S+) via (\S+)/.exec(l);
    if (via) m.set(via[1], via[2]);
  }
  return m;
}
