/**
 * Prometheus metrics (prom-client), drawn from the same snapshot as
 * `agent status` at scrape time, so the numbers agree by construction.
 * Plus one histogram fed live: seconds from a datastore change to the kernel
 * route it produced.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StatusSnapshot } from './snapshot.js';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly datastoreToKernel: Histogram;
  private server?: http.Server;

  constructor(snapshot: () => StatusSnapshot) {
    const reg = this.registry;
    const peerLabels = ['peer', 'name', 'type'] as const;
    const peerState = new Gauge({ name: 'bgp_agent_peer_established', help: '1 when the BGP session is Established', labelNames: peerLabels, registers: [reg] });
    const prefixes = new Gauge({ name: 'bgp_agent_peer_prefixes', help: 'Paths held per peer', labelNames: [...peerLabels, 'kind'], registers: [reg] });
    const messages = new Counter({ name: 'bgp_agent_peer_messages_total', help: 'BGP messages per peer and direction', labelNames: [...peerLabels, 'direction'], registers: [reg] });
    const kernelRoutes = new Gauge({ name: 'bgp_agent_kernel_routes', help: 'Routes this agent holds in the kernel (proto bird)', registers: [reg] });
    const kernelErrors = new Gauge({ name: 'bgp_agent_kernel_route_errors', help: 'Routes that failed to program', registers: [reg] });
    const dsConnected = new Gauge({ name: 'bgp_agent_datastore_connected', help: '1 when etcd is reachable', registers: [reg] });
    const dsSynced = new Gauge({ name: 'bgp_agent_datastore_synced', help: '1 once the first list is done', registers: [reg] });
    const dsRevision = new Gauge({ name: 'bgp_agent_datastore_revision', help: 'Last etcd revision seen', registers: [reg] });
    const dsSkipped = new Gauge({ name: 'bgp_agent_datastore_skipped_resources', help: 'Resources skipped as invalid', registers: [reg] });
    const ribPrefixes = new Gauge({ name: 'bgp_agent_rib_prefixes', help: 'Prefixes in the Loc-RIB', registers: [reg] });
    this.datastoreToKernel = new Histogram({
      name: 'bgp_agent_datastore_to_kernel_seconds',
      help: 'Time from a datastore change to the kernel route it produced',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [reg],
    });

    // Refresh every gauge from one snapshot just before each scrape.
    const refresh = (): void => {
      const s = snapshot();
      peerState.reset();
      prefixes.reset();
      messages.reset();
      for (const p of s.peers) {
        const l = { peer: p.address, name: p.name, type: p.type };
        peerState.set(l, p.bgpState === 'Established' ? 1 : 0);
        prefixes.set({ ...l, kind: 'received' }, p.counters.received);
        prefixes.set({ ...l, kind: 'accepted' }, p.counters.accepted);
        prefixes.set({ ...l, kind: 'advertised' }, p.counters.advertised);
        messages.inc({ ...l, direction: 'in' }, p.counters.messagesIn);
        messages.inc({ ...l, direction: 'out' }, p.counters.messagesOut);
      }
      kernelRoutes.set(s.kernel.routes);
      kernelErrors.set(s.kernel.failed.length);
      dsConnected.set(s.datastore.connected ? 1 : 0);
      dsSynced.set(s.datastore.synced ? 1 : 0);
      dsRevision.set(s.datastore.revision);
      dsSkipped.set(s.datastore.skipped.length);
      ribPrefixes.set(s.rib.prefixes);
    };
    this.refresh = refresh;
  }

  private readonly refresh: () => void;

  async render(): Promise<string> {
    this.refresh();
    return this.registry.metrics();
  }

  listen(port: number, host: string): Promise<number> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('try /metrics\n');
        return;
      }
      this.render().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve((server.address() as { port: number }).port));
    });
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
