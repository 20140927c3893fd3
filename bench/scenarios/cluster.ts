/**
 * Bringing up a simulated cluster around the SUT (scenarios 5, 6, 7): the
 * simulated nodes (feeders/nodes.ts) listening first, then the speaker, then
 * "go"; time zero is the first TCP connection either way.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { jsonLines, type JsonEvent } from '../json-lines.js';
import { BENCH_DIST, Lab, birdConfig, startAgent, startBird, type ClusterSpec, type Side, type SpeakerProc } from '../lib/lab.js';
import { CpuWatch, memory, monoMs, sleep, stopChild } from '../lib/proc.js';
import { RouteWatch } from '../lib/routes.js';

export interface NodesOptions {
  listen: boolean;
  dialAll: boolean;
  retryMs: number;
  expectEach: number;
  sample: number[];
}

export interface Cluster {
  speaker: SpeakerProc;
  nodes: ChildProcess;
  events: JsonEvent[];
  watch: CpuWatch;
  routes?: RouteWatch;
  idleRss: number;
  t0: number;
  send(line: string): void;
  waitEvent(name: string, deadlineMono: number, pred?: (e: JsonEvent) => boolean): Promise<JsonEvent>;
  nodeStats(): Promise<JsonEvent | undefined>;
  close(): Promise<void>;
}

export function waitIn(events: JsonEvent[], name: string, deadlineMono: number, pred?: (e: JsonEvent) => boolean): Promise<JsonEvent> {
  return (async () => {
    let from = 0;
    for (;;) {
      for (; from < events.length; from++) if (events[from].event === name && (!pred || pred(events[from]))) return events[from];
      if (monoMs() > deadlineMono) throw new Error(`timed out waiting for ${name}`);
      await sleep(5);
    }
  })();
}

export async function bringUp(lab: Lab, spec: ClusterSpec, side: Side, tag: string, o: NodesOptions & { kernel: boolean; watchRoutes: boolean }): Promise<Cluster> {
  let nodes: ChildProcess | undefined;
  let speaker: SpeakerProc | undefined;
  let routes: RouteWatch | undefined;
  try {
    nodes = lab.spawnIn('peers', process.execPath, [
      '--max-old-space-size=2048',
      join(BENCH_DIST, 'feeders', 'nodes.js'),
      JSON.stringify({ target: spec.sutAddress, n: spec.nodes, listen: o.listen, dialAll: o.dialAll, retryMs: o.retryMs, expectEach: o.expectEach, sample: o.sample }),
    ]);
    const events = jsonLines(nodes, '[nodes] ');
    await waitIn(events, 'ready', monoMs() + 30_000);
    if (o.watchRoutes) {
      routes = new RouteWatch();
      await sleep(200);
    }
    speaker =
      side === 'agent'
        ? await startAgent(lab, tag, { programRoutes: o.kernel, peers: spec.nodes })
        : await startBird(lab, tag, (logFile) => birdConfig(spec, { kernel: o.kernel, logFile }));
    const idleRss = memory(speaker.pid).rssBytes;
    const watch = new CpuWatch(speaker.pid, 20);
    watch.start();
    const n = nodes;
    n.stdin?.write('go\n');
    const first = await waitIn(events, 'first-connect', monoMs() + 60_000);
    const sp = speaker;
    const rw = routes;
    return {
      speaker: sp,
      nodes: n,
      events,
      watch,
      routes: rw,
      idleRss,
      t0: first.t as number,
      send: (line) => void n.stdin?.write(line + '\n'),
      waitEvent: (name, deadline, pred) => waitIn(events, name, deadline, pred),
      nodeStats: async () => {
        const k = events.length;
        n.stdin?.write('stats\n');
        const end = monoMs() + 5000;
        while (monoMs() < end) {
          for (let i = k; i < events.length; i++) if (events[i].event === 'stats') return events[i];
          await sleep(10);
        }
        return undefined;
      },
      close: async () => {
        watch.stop();
        await stopChild(n);
        await rw?.stop();
        await sp.stop();
      },
    };
  } catch (err) {
    await stopChild(nodes);
    await routes?.stop();
    await speaker?.stop();
    throw err;
  }
}
