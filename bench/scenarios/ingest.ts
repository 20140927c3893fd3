/**
 * Scenarios 1-4: feeders blasting pre-encoded /26 UPDATEs at the speaker.
 *
 * 1 ingest-distinct  10 feeders x 100k distinct /26 (1M paths, 1M prefixes), mesh peers, SUT passive
 * 2 ingest-one       1 feeder x 100k /26
 * 3 ingest-same      10 feeders x the same 100k /26 (1M paths, 100k prefixes: best path decides)
 * 4 rr-reflect       the SUT is a route reflector, the 10 feeders its clients, each 100k distinct /26;
 *                    end = every client was announced the other 9 clients' 900k paths (on the wire)
 *   ingest6-distinct 1 in IPv6 (issue 19): a dual-stack cluster, 10 feeders x 100k distinct /122 over
 *                    IPv6 sessions (MP_REACH_NLRI, RFC 4760), the SUT passive; timed exactly as 1
 *
 * The agent: `agent run --no-program-routes` configured through etcd (the
 * feeders are Calico Nodes; mesh on, or for 4 the SUT carries a
 * routeReflectorClusterID and BGPPeer peer-with-route-reflectors). BIRD: the
 * same cluster rendered as confd would, kernel export none.
 *
 * End for 1-3: the first 1 s window in which the speaker's main thread uses
 * < 5 % of a core, then one count (birdc show route count / agent status
 * --json) that must show every path; for 4 the feeders' own count on the wire.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { jsonLines, type JsonEvent } from '../json-lines.js';
import { FEED_POOL, FEED6_POOL, NODE_POOL } from '../feeders/workload.js';
import { BENCH_DIST, Lab, birdConfig, clusterKvs, countPaths, startAgent, startBird, type ClusterSpec, type Side, type SpeakerProc } from '../lib/lab.js';
import { CpuWatch, memory, monoMs, sleep, stopChild } from '../lib/proc.js';
import { RouteWatch, kernelRouteCount } from '../lib/routes.js';
import { alternate, round, type FigureSpec, type RunRecord, type Scenario, type ScenarioOutput } from '../lib/runner.js';


interface IngestShape {
  name: string;
  title: string;
  feeders: number;
  perPeer: number;
  kind: 'distinct' | 'same';
  reflect: boolean;
  /** Scenario 9: route programming on; the end is every path in the kernel (netlink events). */
  kernel?: boolean;
  /** 6: the feeders speak IPv6 sessions to SUT6 and send /122s; every Node is dual stack. */
  family?: 6;
}

const SUT = '10.77.0.1';
const SUT6 = 'fd77::1';

const FIGURES: FigureSpec[] = [
  { name: 'wallSeconds', unit: 's', what: 'first connect until the end state' },
  { name: 'cpuSeconds', unit: 's', what: 'speaker CPU (all threads, schedstat) over that time' },
  { name: 'peakRssMB', unit: 'MB', what: 'VmHWM of the speaker process' },
  { name: 'idleRssMB', unit: 'MB', what: 'VmRSS before the first connect' },
  { name: 'bytesPerPath', unit: 'B', what: '(VmHWM - idle RSS) / paths' },
];

function waitEvent(events: JsonEvent[], name: string, deadlineMono: number, from = 0): Promise<JsonEvent> {
  return (async () => {
    for (;;) {
      for (let i = from; i < events.length; i++) if (events[i].event === name) return events[i];
      if (monoMs() > deadlineMono) throw new Error(`timed out waiting for ${name}`);
      await sleep(10);
    }
  })();
}

async function runOne(lab: Lab, spec: ClusterSpec, shape: IngestShape, side: Side, run: number, limitMs: number): Promise<RunRecord> {
  const paths = shape.feeders * shape.perPeer;
  const prefixes = shape.kind === 'same' ? shape.perPeer : paths;
  let speaker: SpeakerProc | undefined;
  let feeder: ChildProcess | undefined;
  let watch: CpuWatch | undefined;
  let routes: RouteWatch | undefined;
  if (shape.kernel) lab.flushRoutes();
  try {
    speaker =
      side === 'agent'
        ? await startAgent(lab, `${shape.name}-${run}`, { programRoutes: !!shape.kernel, peers: shape.feeders, ...(shape.family === 6 ? { ip6: SUT6 } : {}) })
        : await startBird(lab, `${shape.name}-${run}`, (logFile) => birdConfig(spec, { kernel: !!shape.kernel, logFile }));
    await sleep(1500); // let start-up work (module loading, first etcd sync, BIRD's first scans) settle before the idle reading
    const idle = memory(speaker.pid);
    watch = new CpuWatch(speaker.pid);
    watch.start();
    if (shape.kernel) {
      routes = new RouteWatch();
      await sleep(300);
    }
    const reflectEach = shape.reflect ? (shape.feeders - 1) * shape.perPeer : 0;
    const target = shape.family === 6 ? SUT6 : SUT;
    feeder = lab.spawnIn('peers', process.execPath, [join(BENCH_DIST, 'feeders', 'ingest.js'), target, '179', String(shape.feeders), String(shape.perPeer), shape.kind, String(reflectEach), String(shape.family ?? 4)]);
    const ev = jsonLines(feeder, '[feeder] ');
    const first = await waitEvent(ev, 'first-connect', monoMs() + 30_000);
    const t0 = first.t as number;
    const deadline = t0 + limitMs;
    let end: number;
    let reached: boolean;
    let count = { paths: -1, prefixes: -1 };
    if (routes) {
      // If the monitor lost events (the count never reaches `paths`), the stream going silent for 2 s
      // ends the wait; one dump then confirms (no dump while routes are still arriving).
      const stalled = (async (): Promise<null> => {
        while (monoMs() < deadline) {
          await sleep(500);
          if (routes!.lastEventMono > 0 && monoMs() - routes!.lastEventMono > 2000 && kernelRouteCount() >= paths) return null;
        }
        return null;
      })();
      const at = await Promise.race([routes.when(paths), stalled]);
      if (at === null) {
        // Events lost (monitor overrun) or not all there: the last route event, confirmed by one dump.
        end = routes.lastEventMono;
        count = { paths: kernelRouteCount(), prefixes: -1 };
      } else {
        end = at;
        await sleep(500);
        count = { paths: kernelRouteCount(), prefixes: routes.present.size };
      }
      reached = count.paths >= paths;
    } else if (shape.reflect) {
      end = (await waitEvent(ev, 'reflected', deadline)).t as number;
      count = countPaths(speaker);
      reached = true;
    } else {
      let from = t0;
      for (;;) {
        const q = await watch.quiet(from, deadline);
        end = q.endMono;
        count = countPaths(speaker); // one count, after the end
        reached = count.paths >= paths;
        if (reached || monoMs() > deadline) break;
        from = q.confirmedMono; // not all there: wait for the next quiet window (the count is repeated only then)
      }
    }
    const drained = ev.find((e) => e.event === 'drained');
    feeder.stdin?.write('stats\n');
    const fstats = await waitEvent(ev, 'stats', monoMs() + 5000).catch(() => undefined);
    const mem = memory(speaker.pid);
    const cpu = watch.cpuAt(end) - watch.cpuBefore(t0);
    const wall = (end - t0) / 1000;
    const closed = ev.filter((e) => e.event === 'closed' && e.established).length;
    return {
      side,
      run,
      reached: reached && closed === 0,
      figures: {
        wallSeconds: round(wall),
        cpuSeconds: round(cpu),
        peakRssMB: round(mem.hwmBytes / 1e6, 1),
        idleRssMB: round(idle.rssBytes / 1e6, 1),
        bytesPerPath: round((mem.hwmBytes - idle.rssBytes) / paths, 1),
      },
      detail: {
        paths,
        prefixes,
        counted: count,
        endRssMB: round(mem.rssBytes / 1e6, 1),
        ...(routes ? { monitorOverruns: routes.overruns, kernelRoutesCounted: count.paths } : {}),
        sessionsLostAfterEstablished: closed,
        notifications: ev.filter((e) => e.event === 'notification'),
        feeder: {
          drainedAfterSeconds: drained ? round(((drained.t as number) - t0) / 1000) : null,
          sendRatePathsPerSecond: drained ? Math.round(paths / Math.max(0.001, ((drained.t as number) - t0) / 1000)) : null,
          cpuSeconds: fstats ? round(fstats.cpuSeconds as number) : null,
          note: 'the feeder is not the bottleneck when its CPU is well below the wall time',
        },
      },
    };
  } finally {
    watch?.stop();
    await routes?.stop();
    await stopChild(feeder);
    await speaker?.stop();
    await sleep(300);
  }
}

function ingestScenario(shape: IngestShape, quickShape: Partial<IngestShape>): Scenario {
  return {
    name: shape.name,
    title: shape.title,
    group: shape.kernel ? 'kernel' : 'ingest',
    method:
      (shape.kernel
        ? 'End: `ip monitor route` in the SUT namespace has seen every path arrive as a proto bird route (then one dump confirms the count). Kernel programming on for both: the agent\'s own route programmer, BIRD\'s kernel protocol with calico_kernel_programming. '
        : shape.reflect
        ? 'End: every feeder (RR client) was announced the other clients\' paths, counted on the wire by the feeders. '
        : 'End: the first 1 s window in which the speaker uses < 5 % of a core (main thread sampled every 5 ms), then one count that must show every path. ') +
      'Time zero: the first feeder TCP connect. CPU: schedstat of every thread of the speaker between the two. Memory: VmHWM, VmRSS. ' +
      (shape.kernel
        ? 'Agent: agent run configured through etcd; BIRD 2: the same cluster rendered as confd does (its protocols start with BIRD, before time zero, so config parsing is not timed).'
        : 'Agent: agent run --no-program-routes configured through etcd; BIRD 2: the same cluster rendered as confd does, kernel protocol export none.'),
    async run({ quick, runs }): Promise<ScenarioOutput> {
      const s = { ...shape, ...(quick ? quickShape : {}) };
      const v6 = s.family === 6;
      const spec: ClusterSpec = {
        mesh: !s.reflect,
        sutAddress: SUT,
        sutClusterId: s.reflect ? '10.77.0.1' : undefined,
        nodes: s.feeders,
        pools: [
          { name: 'bench-nodes', cidr: NODE_POOL, ipipMode: 'Always' },
          { name: 'bench-feed', cidr: FEED_POOL, ipipMode: 'Always' },
          // IPv6 pools: IPIP does not apply (Never), Calico's IPv6 block size 122.
          ...(v6 ? [{ name: 'bench-feed6', cidr: FEED6_POOL, ipipMode: 'Never' as const, blockSize: 122 }] : []),
        ],
        sutBlocks: ['100.127.0.0/26', ...(v6 ? ['fd7f::/122'] : [])],
        ...(v6 ? { sutAddress6: SUT6 } : {}),
      };
      const lab = await Lab.create({ peers: s.feeders, sutAddress: SUT, ...(v6 ? { sutAddress6: SUT6 } : {}) });
      try {
        await lab.put(clusterKvs(spec));
        const limitMs = quick ? 30_000 : 120_000;
        const rs = await alternate(runs, (side, run) => runOne(lab, spec, s, side, run, limitMs));
        return {
          settings: { family: v6 ? 'ipv6' : 'ipv4', kernel: !!s.kernel, feeders: s.feeders, perPeer: s.perPeer, prefixes: s.kind, routeReflector: s.reflect, runLimitSeconds: limitMs / 1000 },
          figures: s.kernel
            ? [{ name: 'wallSeconds', unit: 's', what: 'first connect until every route is in the kernel (netlink events)' }, ...FIGURES.slice(1)]
            : s.reflect
              ? [{ name: 'wallSeconds', unit: 's', what: 'first connect until every client holds the others\' paths (wire)' }, ...FIGURES.slice(1)] : FIGURES,
          runs: rs,
        };
      } finally {
        await lab.destroy();
      }
    },
  };
}

export const ingestDistinct = ingestScenario({ name: 'ingest-distinct', title: '10 peers x 100k distinct /26 (1M paths)', feeders: 10, perPeer: 100_000, kind: 'distinct', reflect: false }, { perPeer: 10_000 });
export const ingestOne = ingestScenario({ name: 'ingest-one', title: '1 peer x 100k /26', feeders: 1, perPeer: 100_000, kind: 'distinct', reflect: false }, { perPeer: 10_000 });
export const ingestSame = ingestScenario({ name: 'ingest-same', title: '10 peers x the same 100k /26 (best path over 10 paths)', feeders: 10, perPeer: 100_000, kind: 'same', reflect: false }, { perPeer: 10_000 });
export const kernelIngest = ingestScenario({ name: 'kernel', title: '10 peers x 100k distinct /26 into the kernel (1M routes)', feeders: 10, perPeer: 100_000, kind: 'distinct', reflect: false, kernel: true }, { perPeer: 10_000 });
export const rrReflect = ingestScenario({ name: 'rr-reflect', title: 'route reflector, 10 clients x 100k /26', feeders: 10, perPeer: 100_000, kind: 'distinct', reflect: true }, { perPeer: 5_000 });
export const ingest6Distinct = ingestScenario({ name: 'ingest6-distinct', title: '10 peers x 100k distinct IPv6 /122 (1M paths)', feeders: 10, perPeer: 100_000, kind: 'distinct', reflect: false, family: 6 }, { perPeer: 10_000 });
