/**
 * The metrics issue 23 asked for: build_info, per-peer flaps and session
 * uptime, sessions by family and state, the kernel error counter, and the
 * server itself (scraped over HTTP, bound where the config says).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../../src/agent/metrics.js';
import { DEFAULT_METRICS_PORT, loadConfig } from '../../../src/agent/config.js';
import type { PeerSnapshot, StatusSnapshot } from '../../../src/agent/snapshot.js';
import { commitAt } from '../../../src/version.js';
import type { LocalBlock } from '../../../src/contracts.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { FakeDatastore, startAgent, stopAgents } from '../../helpers/agent.js';
import { until } from '../../helpers/wait.js';

const NOW = 1_800_000_000_000;
const counters = { messagesIn: 1, messagesOut: 1, updatesIn: 0, updatesOut: 0, received: 0, accepted: 0, advertised: 0 };
const peer = (address: string, bgpState: string, over: Partial<PeerSnapshot> = {}): PeerSnapshot => ({
  name: `Mesh_${address.replace(/[.:]/g, '_')}`, address, port: 179, type: 'node-to-node mesh', asNumber: 64512,
  bgpState, birdState: bgpState === 'Established' ? 'up' : 'start', since: NOW - 90_500, passive: false, counters, ...over,
});
const snap = (peers: PeerSnapshot[], over: Partial<StatusSnapshot> = {}): StatusSnapshot => ({
  version: 'x', pid: 1, startedAt: NOW - 600_000, now: NOW, node: { name: 'a' }, peers,
  datastore: { connected: true, since: NOW - 600_000, synced: true, revision: 7, skipped: [] },
  kernel: { enabled: true, routes: 2, failed: [] }, rib: { prefixes: 2, paths: 3 }, ...over,
});

/** `name{labels} value` lines of one metric, as [labels text, value]. */
function samples(text: string, name: string): [string, number][] {
  const out: [string, number][] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.push([m[1] ?? '', Number(m[2])]);
  }
  return out;
}

describe('metrics (issue 23)', () => {
  it('build_info: value 1, the package version, the commit and the Node.js version as labels', async () => {
    const text = await new AgentMetrics(() => snap([])).render();
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string };
    expect(text).toContain('# TYPE bgp_agent_build_info gauge');
    const [[labels, value]] = samples(text, 'bgp_agent_build_info');
    expect(value).toBe(1);
    expect(labels).toContain(`version="${pkg.version}"`);
    expect(labels).toContain(`nodejs_version="${process.version}"`);
    expect(labels).toMatch(/commit="([0-9a-f]{40}|unknown)"/);
  });

  it('per peer: flaps as a counter, uptime in seconds while Established and 0 otherwise', async () => {
    const text = await new AgentMetrics(() =>
      snap([peer('10.0.0.2', 'Established', { flaps: 3 }), peer('10.0.0.3', 'Active', { flaps: 1 }), peer('10.0.0.4', 'Idle')]),
    ).render();
    expect(text).toContain('# TYPE bgp_agent_peer_flaps_total counter');
    expect(samples(text, 'bgp_agent_peer_flaps_total')).toEqual([
      ['{peer="10.0.0.2",name="Mesh_10_0_0_2",type="node-to-node mesh"}', 3],
      ['{peer="10.0.0.3",name="Mesh_10_0_0_3",type="node-to-node mesh"}', 1],
      ['{peer="10.0.0.4",name="Mesh_10_0_0_4",type="node-to-node mesh"}', 0], // never started: no flaps
    ]);
    expect(samples(text, 'bgp_agent_peer_uptime_seconds').map(([, v]) => v)).toEqual([90.5, 0, 0]);
  });

  it('sessions by address family and FSM state, every state rendered', async () => {
    const text = await new AgentMetrics(() =>
      snap([peer('10.0.0.2', 'Established'), peer('10.0.0.3', 'Established'), peer('10.0.0.4', 'Active'), peer('fd00::2', 'Connect')]),
    ).render();
    const s = new Map(samples(text, 'bgp_agent_sessions'));
    expect(s.size).toBe(12);
    expect(s.get('{family="ipv4",state="Established"}')).toBe(2);
    expect(s.get('{family="ipv4",state="Active"}')).toBe(1);
    expect(s.get('{family="ipv4",state="Idle"}')).toBe(0);
    expect(s.get('{family="ipv6",state="Connect"}')).toBe(1);
    expect(s.get('{family="ipv6",state="Established"}')).toBe(0);
  });

  it('kernel errors: the failing routes now (all of them, not the listed few) and a counter since start', async () => {
    const failed = [{ route: '10.1.0.0/26', error: 'No such device', since: NOW, attempts: 2 }];
    const text = await new AgentMetrics(() => snap([], { kernel: { enabled: true, routes: 2, failed, failedCount: 40, errors: 123 } })).render();
    expect(samples(text, 'bgp_agent_kernel_route_errors')).toEqual([['', 40]]);
    expect(text).toContain('# TYPE bgp_agent_kernel_route_errors_total counter');
    expect(samples(text, 'bgp_agent_kernel_route_errors_total')).toEqual([['', 123]]);
  });
});

describe('kernel errors from a running agent', () => {
  afterEach(stopAgents);

  it('a route the kernel refuses counts in bgp_agent_kernel_route_errors_total, and is failing until the retry holds it', async () => {
    const kernel = new MemoryBackend();
    const ds = new FakeDatastore();
    const { agent } = await startAgent(ds, { programRoutes: true }, { kernelBackend: async () => kernel });
    kernel.failNext.set(parsePrefix('10.244.9.0/26'), 'Input/output error');
    const block: LocalBlock = { cidr: '10.244.9.0/26', state: 'confirmed', blackhole: true, exported: true };
    ds.emit({
      node: { name: 'node-a', ipv4: '127.0.0.1', ipv4PrefixLen: 8, asNumber: 64512, routerId: '127.0.0.1' },
      bgp: { nodeToNodeMeshEnabled: true, listenPort: 179, prefixAdvertisements: [] },
      peers: new Map(), blocks: new Map([[block.cidr, block]]), pools: new Map(),
    });
    await until('the refused write', () => kernel.log.length >= 1);
    let text = await agent.metrics.render();
    expect(samples(text, 'bgp_agent_kernel_route_errors_total')).toEqual([['', 1]]);
    // The programmer retries with backoff; once the kernel holds it, nothing is failing and the counter stays.
    await until('the retry', () => kernel.routes.size === 1, 10_000);
    text = await agent.metrics.render();
    expect(samples(text, 'bgp_agent_kernel_route_errors')).toEqual([['', 0]]);
    expect(samples(text, 'bgp_agent_kernel_route_errors_total')).toEqual([['', 1]]);
  });
});

describe('the metrics server', () => {
  let m: AgentMetrics | undefined;
  afterEach(async () => {
    await m?.close();
    m = undefined;
  });

  it('answers /metrics over HTTP in the text format, 404 elsewhere', async () => {
    m = new AgentMetrics(() => snap([peer('10.0.0.2', 'Established', { flaps: 2 })]));
    const port = await m.listen(0, '127.0.0.1');
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const body = await res.text();
    expect(body).toMatch(/^bgp_agent_build_info\{version="[^"]+",commit="[^"]+",nodejs_version="v\d+[^"]*"\} 1$/m);
    expect(body).toMatch(/^bgp_agent_peer_flaps_total\{peer="10\.0\.0\.2",[^}]*\} 2$/m);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
  });
});

describe('metrics configuration', () => {
  const env = { NODENAME: 'node-a', IP: '10.0.1.2/24' };

  it('binds the node IP by default, 127.0.0.1 without one, an explicit address when given; never 0.0.0.0 unasked', () => {
    expect(loadConfig({ metricsPort: 9095 }, env).metricsHost).toBe('10.0.1.2');
    expect(loadConfig({ metricsPort: 9095 }, { ...env, IP: 'none' }).metricsHost).toBe('127.0.0.1');
    expect(loadConfig({ metricsAddress: '0.0.0.0' }, env).metricsHost).toBe('0.0.0.0');
    expect(loadConfig({}, { ...env, AGENT_METRICS_ADDRESS: '127.0.0.5' }).metricsHost).toBe('127.0.0.5');
    expect(loadConfig({ metricsHost: '127.0.0.6' }, env).metricsHost).toBe('127.0.0.6'); // the older flag name
    expect(() => loadConfig({ metricsAddress: 'localhost:9095' }, env)).toThrow(/AGENT_METRICS_ADDRESS \(--metrics-address\): "localhost:9095" is not an IP address/);
  });

  it('is off unless asked; AGENT_METRICS_ENABLED=true serves on the default port, a port given wins', () => {
    expect(loadConfig({}, env).metricsPort).toBeUndefined();
    expect(loadConfig({}, { ...env, AGENT_METRICS_ENABLED: 'true' }).metricsPort).toBe(DEFAULT_METRICS_PORT);
    expect(loadConfig({ metrics: true }, env).metricsPort).toBe(DEFAULT_METRICS_PORT);
    expect(loadConfig({}, { ...env, AGENT_METRICS_ENABLED: 'true', AGENT_METRICS_PORT: '19095' }).metricsPort).toBe(19095);
  });

  it('the default port is neither Envoy\'s admin port nor one of Calico\'s', () => {
    // Envoy admin 9901; Felix metrics 9091 and health 9099; Typha 5473, 9093, 9098; kube-controllers 9094; BGP 179.
    for (const taken of [9901, 9091, 9099, 5473, 9093, 9098, 9094, 179]) expect(DEFAULT_METRICS_PORT).not.toBe(taken);
  });
});

describe('build commit', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const root = (files: Record<string, string>): URL => {
    const dir = mkdtempSync(join(tmpdir(), 'h2-commit-'));
    dirs.push(dir);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    return pathToFileURL(`${dir}/`);
  };
  const sha = 'a'.repeat(39) + 'b';

  it('reads a COMMIT file first (the image), then .git: a loose ref, a packed ref, a detached HEAD', () => {
    expect(commitAt(root({ COMMIT: 'ABCDEF1\n', '.git/HEAD': `${sha}\n` }))).toBe('abcdef1');
    expect(commitAt(root({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${sha}\n` }))).toBe(sha);
    expect(commitAt(root({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/packed-refs': `# pack-refs\n${'c'.repeat(40)} refs/heads/other\n${sha} refs/heads/main\n` }))).toBe(sha);
    expect(commitAt(root({ '.git/HEAD': `${sha}\n` }))).toBe(sha);
  });

  it('"unknown" when there is neither, or what is there is not a commit', () => {
    expect(commitAt(root({}))).toBe('unknown');
    expect(commitAt(root({ COMMIT: 'not a sha', '.git/HEAD': 'ref: refs/heads/gone\n' }))).toBe('unknown');
  });
});
