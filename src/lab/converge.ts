/**
 * Watching the lab's kernels: read each node's `proto bird` routes and wait
 * until every node holds exactly the routes routes.ts expects. Bounded by a
 * timeout; on failure says, per node, which routes are missing or extra.
 */
import { spawn } from 'node:child_process';
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

export interface WaitOptions {
  pollMs?: number;
  onNode?: (node: LabNode, ms: number) => void;
  nodes?: LabNode[];
  /** Times count from this performance.now() value (e.g. the change's etcd write) instead of the call. */
  since?: number;
  /** Checked every round: an error ends the wait (the write being waited on failed). */
  stop?: () => Error | undefined;
  /**
   * Watch each node with `ip monitor route` and re-read it on every event, so
   * a node's time is when its kernel changed, not when a polling round got to
   * it (reading a namespace's table costs a process start, ~10-100 ms on a
   * busy machine). Polling continues underneath as a fallback.
   */
  monitor?: boolean;
}

export async function waitForRoutes(plan: LabPlan, assignment: Assignment, timeoutMs: number, opts: WaitOptions = {}): Promise<Convergence> {
  const nodes = opts.nodes ?? plan.nodes;
  const expected = new Map(nodes.map((n) => [n.name, expectedRoutes(plan, assignment, n)]));
  const perNode = new Map<string, number>();
  const t0 = opts.since ?? performance.now();
  const diffs = new Map<string, RouteDiff>();
  // A node's time is when its monitor event arrived or, polling, when the read
  // that found it right had finished: either way no earlier than the kernel
  // changed, so the times are upper bounds.
  const check = (n: LabNode, eventAt?: number) => {
    const d = diffRoutes(expected.get(n.name)!, birdRoutes(n));
    const stamp = eventAt ?? performance.now();
    diffs.set(n.name, d);
    if (isConverged(d)) {
      if (!perNode.has(n.name)) {
        perNode.set(n.name, stamp - t0);
        opts.onNode?.(n, stamp - t0);
      }
    } else {
      perNode.delete(n.name); // not there (any more): a flap does not count as converged
    }
  };
  const monitors = opts.monitor
    ? nodes.map((n) => {
        const m = spawn('ip', ['-n', n.ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
        m.stdout.on('data', () => check(n, performance.now()));
        return m;
      })
    : [];
  try {
    for (;;) {
      const stopped = opts.stop?.();
      if (stopped) throw stopped;
      for (const n of nodes) check(n);
      if (nodes.every((n) => isConverged(diffs.get(n.name)!))) {
        return { ms: Math.max(0, ...[...perNode.values()]), perNode };
      }
      if (performance.now() - t0 > timeoutMs) throw new NotConverged(timeoutMs, diffs);
      await sleep(opts.pollMs ?? 50);
    }
  } finally {
    for (const m of monitors) m.kill();
  }
}
