/**
 * deploy/grafana-dashboard.json (issue 18): every metric name its PromQL
 * expressions use is one the agent exports, read from the /metrics output of
 * src/agent/metrics.ts's server, and it has the panels the issue asks for:
 * sessions by state, prefixes per peer, the datastore-to-kernel latency
 * histogram, kernel errors and flaps.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import type { StatusSnapshot } from '../../../src/agent/snapshot.js';

const dashboard = JSON.parse(readFileSync(join(resolve(__dirname, '../../..'), 'deploy/grafana-dashboard.json'), 'utf8')) as {
  panels: { id: number; title: string; type: string; targets?: { expr: string }[] }[];
  templating: { list: { query?: string }[] };
};

/** PromQL words that are not metric names (aggregations, operators, modifiers). */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/**
 * The metric names in a PromQL expression: string literals, label matchers
 * `{...}`, ranges `[...]` and the label lists of by/without/on/ignoring go
 * first; of the identifiers left, one followed by "(" is a function.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const word = m[0].replace(/\s*\($/, '');
    if (m[1] || KEYWORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

const NOW = 1_800_000_000_000;
const snapshot = (): StatusSnapshot => ({
  version: 'x', pid: 1, startedAt: NOW - 60_000, now: NOW, node: { name: 'a' },
  peers: [{
    name: 'Mesh_10_0_0_2', address: '10.0.0.2', port: 179, type: 'node-to-node mesh', asNumber: 64512, bgpState: 'Established',
    birdState: 'up', since: NOW - 5000, passive: false, flaps: 1,
    counters: { messagesIn: 1, messagesOut: 1, updatesIn: 0, updatesOut: 0, received: 1, accepted: 1, advertised: 1 },
  }],
  datastore: { connected: true, since: NOW - 60_000, synced: true, revision: 7, skipped: [] },
  kernel: { enabled: true, routes: 1, failed: [], failedCount: 0, errors: 0 }, rib: { prefixes: 1, paths: 1 },
});

describe('deploy/grafana-dashboard.json', () => {
  const metrics = new AgentMetrics(snapshot);
  let exported: Set<string>;

  beforeAll(async () => {
    const port = await metrics.listen(0, '127.0.0.1');
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    exported = new Set<string>();
    // Every sample's name, and for a histogram its _bucket/_sum/_count series as written.
    for (const line of text.split('\n')) {
      const m = /^# TYPE (\S+) /.exec(line) ?? /^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/.exec(line);
      if (m) exported.add(m[1]);
    }
  });
  afterAll(() => metrics.close());

  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}"`, expr: t.expr }))),
    ...dashboard.templating.list.filter((v) => v.query?.includes('(')).map((v) => ({ where: 'templating', expr: v.query! })),
  ];

  it('extracts metric names from PromQL the way a reader would', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, instance) (rate(a_bucket{instance=~"$i",x="y(z)"}[5m])))')).toEqual(['a_bucket']);
    expect(metricNames('count by (instance) (b{k="v"} == 0) or on(instance) (0 * count by (instance) (c))')).toEqual(['b', 'c']);
    expect(metricNames('label_values(d, instance)')).toEqual(['d', 'instance']); // label_values' label is a name too: checked below
  });

  it('uses only metric names the agent exports', () => {
    expect(exprs.length).toBeGreaterThan(10);
    expect(exported.size).toBeGreaterThan(10);
    for (const { where, expr } of exprs) {
      const names = expr.startsWith('label_values(') ? metricNames(expr).slice(0, 1) : metricNames(expr);
      expect(names.length, `${where}: ${expr}`).toBeGreaterThan(0);
      for (const n of names) expect(exported.has(n), `${where} uses ${n}, which /metrics does not have`).toBe(true);
    }
  });

  it('has the panels issue 18 asks for: sessions by state, prefixes per peer, the latency histogram, kernel errors, flaps', () => {
    const using = (metric: string) => dashboard.panels.filter((p) => (p.targets ?? []).some((t) => metricNames(t.expr).includes(metric)));
    expect(using('bgp_agent_sessions').length).toBeGreaterThan(0);
    expect(using('bgp_agent_peer_prefixes').length).toBeGreaterThan(0);
    const latency = using('bgp_agent_datastore_to_kernel_seconds_bucket');
    expect(latency.some((p) => p.type === 'heatmap')).toBe(true);
    expect(latency.some((p) => (p.targets ?? []).some((t) => t.expr.includes('histogram_quantile(')))).toBe(true);
    expect(using('bgp_agent_kernel_route_errors_total').length).toBeGreaterThan(0);
    expect(using('bgp_agent_peer_flaps_total').length).toBeGreaterThan(0);
    // Panel ids are unique (Grafana keys its state by them).
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
