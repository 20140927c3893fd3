/**
 * Prometheus metrics, drawn from the same snapshot as `agent status` at
 * scrape time, so the numbers agree by construction. Plus one histogram fed
 * live: seconds from a datastore change to the kernel route it produced.
 *
 * The text exposition format (version 0.0.4) is written here directly rather
 * than through prom-client: every value but the histogram is a gauge set from
 * the snapshot just before rendering, so a client library's registries,
 * label hashing and aggregation buy nothing, and loading it (with its
 * dependencies) cost every `agent run` ~2 MB of RSS whether or not
 * --metrics-port was given (bench/profile-session/idle.sh). The HTTP server
 * exists only when metrics are asked for (--metrics, --metrics-port), on the
 * node's address or 127.0.0.1 unless --metrics-address says otherwise
 * (src/agent/config.ts). docs/OPERATING.md lists every metric.
 */
import type http from 'node:http';
import { isIPv6 } from 'node:net';
import type { StatusSnapshot } from './snapshot.js';
import type { FsmStateName } from '../bgp/fsm/types.js';
import { buildCommit, VERSION } from '../version.js';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A cumulative histogram with fixed buckets (what prom-client's Histogram.observe kept). */
export class Histogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = new Float64Array(buckets.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.counts[i]++;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (let i = 0; i < this.buckets.length; i++) out.push(`${this.name}_bucket{le="${this.buckets[i]}"} ${this.counts[i]}`);
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${this.sum}`, `${this.name}_count ${this.count}`);
  }
}

type Labels = Record<string, string>;

/** Label values escaped as the exposition format asks: backslash, double quote, newline. */
function labelText(labels: Labels): string {
  const parts: string[] = [];
  for (const k in labels) parts.push(`${k}="${labels[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function family(out: string[], name: string, type: 'gauge' | 'counter', help: string, samples: [Labels, number][]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${value}`);
}

/** RFC 4271 §8.2.2's six states, every one rendered (0 when no session is in it) so a panel's series never vanish. */
const FSM_STATES: readonly FsmStateName[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

/** Build identity as the `build_info` convention has it: one sample, value 1, the facts in labels. */
export function buildInfoLabels(): Labels {
  return { version: VERSION, commit: buildCommit(), nodejs_version: process.version };
}

export class AgentMetrics {
  readonly datastoreToKernel = new Histogram(
    'bgp_agent_datastore_to_kernel_seconds',
    'Time from a datastore change to the kernel route it produced',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  readonly contentType = CONTENT_TYPE;
  private server?: http.Server;
  /** Read at the first scrape, once: the commit does not change under a running process, and an agent never scraped never reads it. */
  private buildInfo?: Labels;

  constructor(private readonly snapshot: () => StatusSnapshot) {}

  async render(): Promise<string> {
    const s = this.snapshot();
    const established: [Labels, number][] = [];
    const prefixes: [Labels, number][] = [];
    const messages: [Labels, number][] = [];
    const bfdState: [Labels, number][] = [];
    const bfdTransitions: [Labels, number][] = [];
    const bfdDetection: [Labels, number][] = [];
    const flaps: [Labels, number][] = [];
    const uptime: [Labels, number][] = [];
    // Sessions per address family (an IPv6 peer carries IPv6 unicast only, as bird6) and FSM state.
    const byState = new Map<string, number>();
    for (const family of ['ipv4', 'ipv6']) for (const st of FSM_STATES) byState.set(`${family} ${st}`, 0);
    for (const p of s.peers) {
      const l = { peer: p.address, name: p.name, type: p.type };
      const up = p.bgpState === 'Established';
      established.push([l, up ? 1 : 0]);
      flaps.push([l, p.flaps ?? 0]);
      // `since` is the last change of BIRD's state, which is "up" exactly while Established.
      uptime.push([l, up ? Math.max(0, s.now - p.since) / 1000 : 0]);
      // The family the counts are of: a peer at an IPv6 address carries IPv6 unicast only, as bird6 does (issue 19).
      const fam = isIPv6(p.address) ? 'ipv6' : 'ipv4';
      byState.set(`${fam} ${p.bgpState}`, (byState.get(`${fam} ${p.bgpState}`) ?? 0) + 1);
      const f = { ...l, family: fam };
      prefixes.push([{ ...f, kind: 'received' }, p.counters.received]);
      prefixes.push([{ ...f, kind: 'accepted' }, p.counters.accepted]);
      prefixes.push([{ ...f, kind: 'advertised' }, p.counters.advertised]);
      messages.push([{ ...l, direction: 'in' }, p.counters.messagesIn]);
      messages.push([{ ...l, direction: 'out' }, p.counters.messagesOut]);
      if (p.bfd) {
        // One sample per RFC 5880 state, 1 for the current one (the usual enum-as-gauges shape).
        for (const st of ['AdminDown', 'Down', 'Init', 'Up'] as const) bfdState.push([{ ...l, state: st }, p.bfd.state === st ? 1 : 0]);
        bfdTransitions.push([l, p.bfd.transitions]);
        bfdDetection.push([l, p.bfd.detectionTimeMs / 1000]);
      }
    }
    const out: string[] = [];
    family(out, 'bgp_agent_build_info', 'gauge', 'The running build: version, commit and Node.js version as labels, value 1', [[(this.buildInfo ??= buildInfoLabels()), 1]]);
    family(out, 'bgp_agent_peer_established', 'gauge', '1 when the BGP session is Established', established);
    family(out, 'bgp_agent_peer_flaps_total', 'counter', 'Sessions lost per peer: transitions from Established to any other state', flaps);
    family(out, 'bgp_agent_peer_uptime_seconds', 'gauge', 'Seconds since the session became Established, 0 when it is not', uptime);
    family(
      out,
      'bgp_agent_sessions',
      'gauge',
      'BGP sessions per address family and RFC 4271 FSM state',
      [...byState].map(([k, n]) => {
        const [fam, state] = k.split(' ');
        return [{ family: fam, state }, n];
      }),
    );
    family(out, 'bgp_agent_peer_prefixes', 'gauge', 'Paths held per peer and address family', prefixes);
    family(out, 'bgp_agent_peer_messages_total', 'counter', 'BGP messages per peer and direction', messages);
    family(out, 'bgp_agent_peer_bfd_state', 'gauge', 'BFD session state per peer (1 for the current state)', bfdState);
    family(out, 'bgp_agent_peer_bfd_transitions_total', 'counter', 'BFD session state changes per peer', bfdTransitions);
    family(out, 'bgp_agent_peer_bfd_detection_time_seconds', 'gauge', 'Negotiated BFD detection time per peer', bfdDetection);
    family(out, 'bgp_agent_kernel_routes', 'gauge', 'Routes this agent holds in the kernel (proto bird)', [[{}, s.kernel.routes]]);
    family(out, 'bgp_agent_kernel_route_errors', 'gauge', 'Routes failing to program now', [[{}, s.kernel.failedCount ?? s.kernel.failed.length]]);
    family(out, 'bgp_agent_kernel_route_errors_total', 'counter', 'Route programming errors (kernel refused a replace or delete) since start, retries included', [
      [{}, s.kernel.errors ?? 0],
    ]);
    family(out, 'bgp_agent_datastore_connected', 'gauge', '1 when etcd is reachable', [[{}, s.datastore.connected ? 1 : 0]]);
    family(out, 'bgp_agent_datastore_synced', 'gauge', '1 once the first list is done', [[{}, s.datastore.synced ? 1 : 0]]);
    family(out, 'bgp_agent_datastore_revision', 'gauge', 'Last etcd revision seen', [[{}, s.datastore.revision]]);
    family(out, 'bgp_agent_datastore_skipped_resources', 'gauge', 'Resources skipped as invalid', [[{}, s.datastore.skipped.length]]);
    family(out, 'bgp_agent_rib_prefixes', 'gauge', 'Prefixes in the Loc-RIB', [[{}, s.rib.prefixes]]);
    this.datastoreToKernel.render(out);
    return out.join('\n') + '\n';
  }

  async listen(port: number, host: string): Promise<number> {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end('try /metrics\n');
        return;
      }
      this.render().then(
        (body) => res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(body),
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
