/**
 * Watching the lab's kernels: read each node's `proto bird` routes and wait
 * until every node holds exactly the routes routes.ts expects. Bounded by a
 * timeout; on failure says, per node, which routes are missing or extra.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ip } from '../testbed/netns.js';
import type { Assignment, LabNode, LabPlan } from './plan.js';
import { diffRoutes, expectedRoutes, isConverged, parseRouteLines, type RouteDiff } from './routes.js';

/**
 * The node's routes written by a BGP speaker, as `ip route` prints them.
 * (Filtering with `ip route show proto bird` would drop the proto field from
 * the output, so read the whole main table and keep the proto bird lines.)
 */
export function birdRoutes(node: LabNode): string[] {
  return parseRouteLines(ip(['-n', node.ns, 'route', 'show', 'table', 'main'])).filter((l) => / proto bird( |$)/.test(l));
}

export interface Convergence {
  /** ms from the start of waiting until every node was right at once. */
  ms: number;
  /** ms until each node first held exactly its expected routes. */
  perNode: Map<string, number>;
}

export class NotConverged extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly diffs: Map<string, RouteDiff>,
  ) {
    const lines = [`not converged after ${timeoutMs / 1000} s:`];
    for (const [name, d] of diffs) {
      if (isConverged(d)) continue;
      lines.push(`  ${name}:`);
      for (const m of d.missing) lines.push(`    missing:    ${m}`);
      for (const u of d.unexpected) lines.push(`    unexpected: ${u}`);
    }
    super(lines.join('\n'));
  }
}

export async function waitForRoutes(
  plan: LabPlan,
  assignment: Assignment,
  timeoutMs: number,
  opts: { pollMs?: number; onNode?: (node: LabNode, ms: number) => void; nodes?: LabNode[]; since?: number } = {},
): Promise<Convergence> {
  const nodes = opts.nodes ?? plan.nodes;
  const expected = new Map(nodes.map((n) => [n.name, expectedRoutes(plan, assignment, n)]));
  const perNode = new Map<string, number>();
  // Times count from `since` (a performance.now() value) when given: the change's etcd write.
  const t0 = opts.since ?? performance.now();
  let diffs = new Map<string, RouteDiff>();
  for (;;) {
    const elapsed = performance.now() - t0;
    diffs = new Map(nodes.map((n) => [n.name, diffRoutes(expected.get(n.name)!, birdRoutes(n))]));
    for (const n of nodes) {
      if (!perNode.has(n.name) && isConverged(diffs.get(n.name)!)) {
        perNode.set(n.name, elapsed);
        opts.onNode?.(n, elapsed);
      }
    }
    if ([...diffs.values()].every(isConverged)) return { ms: performance.now() - t0, perNode };
    if (elapsed > timeoutMs) throw new NotConverged(timeoutMs, diffs);
    await sleep(opts.pollMs ?? 50);
  }
}
