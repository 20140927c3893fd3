/**
 * RIB benchmark, side by side with BIRD 2 in the same run (issue 5):
 * 10 feeders x 100k distinct /26 (1M paths) into a route reflector whose 10
 * clients are the feeders themselves, so every path is chosen and reflected
 * to 9 clients.
 *
 * 1. socket: in a private network namespace (loopback only), the feeder
 *    process (bench/rib/feeder.ts) opens all sessions at once and blasts
 *    pre-encoded UPDATEs; time from its first connect until the speaker holds
 *    every path. BIRD: polled with `birdc show route count`; ours
 *    (Speaker + Rib, bench/rib/speaker-proc.ts): its own RIB counters.
 *    Memory: BIRD `show memory` routing tables; ours: heap delta after GC.
 * 2. in-process: decoded UPDATE buffers -> Rib -> OutChanges (no TCP).
 *
 * Writes bench/results/rib.json and prints a table with ours/BIRD.
 * Usage (root): node --expose-gc dist/bench/rib/rib-bench.js [runs=2] [peers=10] [perPeer=100000]
 * For quick looks while tuning: RIB_BENCH_MODES=reflect (or ingest), RIB_BENCH_SIDES=ours (or bird),
 * RIB_BENCH_PROF=<dir> (speaker runs under --cpu-prof); any of these skips writing the results file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bird } from '../../src/testbed/bird.js';
import { Netns, Testbed } from '../../src/testbed/netns.js';
import { runIngest } from './ingest-bench.js';
import { BENCH_AS, feederAddress } from './workload.js';
import { jsonLines } from '../json-lines.js';

const runs = Number(process.argv[2] ?? 2);
const peers = Number(process.argv[3] ?? 10);
const perPeer = Number(process.argv[4] ?? 100_000);
const total = peers * perPeer;
const RUN_LIMIT_MS = 120_000;
const onlyModes = process.env.RIB_BENCH_MODES?.split(',');
const sides = process.env.RIB_BENCH_SIDES?.split(',') ?? ['bird', 'ours'];
const profDir = process.env.RIB_BENCH_PROF;
const partial = onlyModes !== undefined || process.env.RIB_BENCH_SIDES !== undefined || profDir !== undefined;
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');

type Mode = 'reflect' | 'ingest';

function birdConfig(mode: Mode): string {
  const protos = Array.from({ length: peers }, (_, i) => `protocol bgp f${i} from feeder { neighbor ${feederAddress(i)} as ${BENCH_AS}; }`).join('\n');
  return `
router id 10.0.0.1;
protocol device {}
protocol direct { ipv4; interface "lo"; }
template bgp feeder {
  local 127.0.0.1 as ${BENCH_AS};
  passive on;
${mode === 'reflect' ? 'rr client;\n  rr cluster id 1.1.1.1;' : ''}
  ipv4 { import all; export all; };
}
${protos}
`;
}

/** Collect JSON lines from a child's stdout. */
function lines(proc: ChildProcess): { events: Record<string, unknown>[]; wait: (ev: string, ms: number) => Promise<Record<string, unknown>> } {
  const events = jsonLines(proc);
  const wait = async (ev: string, ms: number) => {
    const end = Date.now() + ms;
    for (;;) {
      const e = events.find((x) => x.event === ev);
      if (e) return e;
      if (Date.now() > end) throw new Error(`timed out waiting for ${ev}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { events, wait };
}

/** When each feeder session had written all its UPDATEs, in s after the first connect (diagnostic). */
function sentTimes(events: Record<string, unknown>[], first: number): string {
  return events
    .filter((e) => e.event === 'sent')
    .map((e) => (((e.t as number) - first) / 1000).toFixed(2))
    .join(' ');
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
}

function startFeeder(ns: Netns, mode: Mode): ChildProcess {
  const reflectEach = mode === 'reflect' ? (peers - 1) * perPeer : 0;
  return ns.spawn('node', [join(here, 'feeder.js'), '127.0.0.1', '179', String(peers), String(perPeer), String(reflectEach)]);
}

interface RunResult {
  seconds: number;
  /** reflect: until every client had been sent the other clients' paths (the feeder counts them). */
  reflectedSeconds?: number;
  bytesPerPath: number;
  memoryBytes: number;
  cpuSeconds?: number;
}

async function runBird(ns: Netns, mode: Mode): Promise<RunResult> {
  const bird = new Bird(ns, birdConfig(mode), 'ribbench-bird-');
  let feeder: ChildProcess | undefined;
  try {
    await bird.start();
    feeder = startFeeder(ns, mode);
    const f = lines(feeder);
    const first = (await f.wait('first-connect', 30_000)).t as number;
    const end = Date.now() + RUN_LIMIT_MS;
    let doneAt = 0;
    for (;;) {
      const out = bird.birdc('show route count');
      const m = /(\d+) of \d+ routes/.exec(out);
      // BIRD's count includes the one direct route for lo.
      if (m && Number(m[1]) >= total) {
        doneAt = Date.now();
        break;
      }
      if (Date.now() > end) throw new Error(`BIRD did not reach ${total} paths: ${out.trim()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    console.error(`  BIRD: feeder sessions sent at ${sentTimes(f.events, first)}`);
    const reflected = mode === 'reflect' ? (((await f.wait('reflected', RUN_LIMIT_MS)).t as number) - first) / 1000 : undefined;
    const mem = bird.birdc('show memory');
    const mm = /Routing tables:\s+([\d.]+)\s+([kMG]?B)/.exec(mem);
    const unit: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
    const memoryBytes = mm ? Number(mm[1]) * unit[mm[2]] : NaN;
    return { seconds: (doneAt - first) / 1000, ...(reflected !== undefined ? { reflectedSeconds: reflected } : {}), memoryBytes, bytesPerPath: Math.round(memoryBytes / total) };
  } finally {
    await stop(feeder);
    await bird.cleanup();
  }
}

async function runOurs(ns: Netns, mode: Mode): Promise<RunResult> {
  let speaker: ChildProcess | undefined;
  let feeder: ChildProcess | undefined;
  try {
    const prof = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
    speaker = ns.spawn('node', ['--expose-gc', ...prof, join(here, 'speaker-proc.js'), '179', String(peers), String(perPeer), mode], {
      env: { ...process.env, ...(profDir ? { RIB_BENCH_EXIT: '1' } : {}) },
    });
    const s = lines(speaker);
    await s.wait('listening', 30_000);
    feeder = startFeeder(ns, mode);
    const f = lines(feeder);
    const first = (await f.wait('first-connect', 30_000)).t as number;
    const done = await s.wait('done', RUN_LIMIT_MS);
    console.error(`  ours: feeder sessions sent at ${sentTimes(f.events, first)}`);
    const reflected = mode === 'reflect' ? (((await f.wait('reflected', RUN_LIMIT_MS)).t as number) - first) / 1000 : undefined;
    const mem = await s.wait('memory', 30_000);
    return {
      seconds: ((done.t as number) - first) / 1000,
      ...(reflected !== undefined ? { reflectedSeconds: reflected } : {}),
      cpuSeconds: done.cpuSeconds as number,
      memoryBytes: mem.heapBytes as number,
      bytesPerPath: Math.round((mem.heapBytes as number) / total),
    };
  } finally {
    await stop(feeder);
    // Under --cpu-prof the speaker exits by itself after 'memory' and must be let write its profile.
    if (profDir && speaker && speaker.exitCode === null) await new Promise((r) => setTimeout(r, 3000));
    await stop(speaker);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const bed = new Testbed('ribbn');
  Testbed.sweep('ribbn');
  const modes = (['reflect', 'ingest'] as Mode[]).filter((m) => onlyModes === undefined || onlyModes.includes(m));
  const results: Record<Mode, { bird: RunResult[]; ours: RunResult[] }> = { reflect: { bird: [], ours: [] }, ingest: { bird: [], ours: [] } };
  try {
    const ns = bed.addNamespace('s');
    for (let r = 0; r < runs; r++) {
      for (const mode of modes) {
        if (sides.includes('bird')) {
          const b = await runBird(ns, mode);
          results[mode].bird.push(b);
          console.error(`run ${r + 1} ${mode}: BIRD ${b.seconds.toFixed(2)} s${b.reflectedSeconds ? `, reflected ${b.reflectedSeconds.toFixed(2)} s` : ''} ${b.bytesPerPath} B/path`);
        }
        if (sides.includes('ours')) {
          const o = await runOurs(ns, mode);
          results[mode].ours.push(o);
          console.error(
            `run ${r + 1} ${mode}: ours ${o.seconds.toFixed(2)} s${o.reflectedSeconds ? `, reflected ${o.reflectedSeconds.toFixed(2)} s` : ''} cpu ${o.cpuSeconds?.toFixed(2)} s ${o.bytesPerPath} B/path`,
          );
        }
      }
    }
  } finally {
    bed.destroy();
  }
  if (partial) return;
  const ingest = runIngest(peers, perPeer);
  const ingestOnly = runIngest(peers, perPeer, 16, false);
  const summary = (xs: RunResult[]) => {
    const reflected = xs.map((x) => x.reflectedSeconds).filter((x): x is number => x !== undefined);
    return {
      minSeconds: Math.min(...xs.map((x) => x.seconds)),
      medianSeconds: median(xs.map((x) => x.seconds)),
      ...(reflected.length > 0 ? { reflectedMinSeconds: Math.min(...reflected), reflectedMedianSeconds: median(reflected) } : {}),
      bytesPerPath: median(xs.map((x) => x.bytesPerPath)),
      runs: xs,
    };
  };
  const scenario = (mode: Mode) => {
    const bird = summary(results[mode].bird);
    const ours = summary(results[mode].ours);
    return {
      description:
        mode === 'reflect'
          ? `${peers} RR clients x ${perPeer} distinct /26 (${total} paths), each path reflected to ${peers - 1} clients`
          : `${peers} plain iBGP peers x ${perPeer} distinct /26 (${total} paths), nothing re-advertised (ingest + best path only)`,
      bird,
      ours,
      ratio: {
        seconds: ours.medianSeconds / bird.medianSeconds,
        ...(ours.reflectedMedianSeconds && bird.reflectedMedianSeconds ? { reflectedSeconds: ours.reflectedMedianSeconds / bird.reflectedMedianSeconds } : {}),
        bytesPerPath: ours.bytesPerPath / bird.bytesPerPath,
      },
      targets: { noSlowerThanBird: ours.medianSeconds <= bird.medianSeconds, bytesPerPathAtMost300: ours.bytesPerPath <= 300 },
    };
  };
  const out = {
    date: new Date().toISOString(),
    measured:
      'socket: first feeder connect -> speaker holds every path (BIRD: birdc show route count polled every 20 ms; ours: Rib counters checked after each UPDATE); reflect also: -> every client has been announced the other clients\' paths (feeder counts announced NLRI). Memory: BIRD show memory "Routing tables"; ours: V8 heap + ArrayBuffer delta after GC, 3 s after done (includes the sessions\' TX queues)',
    machine: { cores: 2, note: 'shared with other engineers; wall times are noisy' },
    runsPerScenario: runs,
    reflect: scenario('reflect'),
    ingest: scenario('ingest'),
    inProcess: {
      reflect: { description: 'decoded UPDATE buffers -> Rib -> OutChanges for 10 RR clients (no TCP, no outgoing encoding)', ...ingest },
      ingest: { description: 'decoded UPDATE buffers -> Rib, plain iBGP peers, nothing exported', ...ingestOnly },
    },
  };
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  writeFileSync(join(repo, 'bench', 'results', 'rib.json'), JSON.stringify(out, null, 2) + '\n');
  const row = (name: string, b: number, o: number, unit: string) =>
    `${name.padEnd(34)} ${b.toFixed(2).padStart(10)} ${o.toFixed(2).padStart(10)} ${(o / b).toFixed(2).padStart(9)}  ${unit}`;
  console.log(`${'metric'.padEnd(34)} ${'BIRD'.padStart(10)} ${'ours'.padStart(10)} ${'ours/BIRD'.padStart(9)}`);
  for (const mode of modes) {
    const sc = out[mode];
    console.log(row(`${mode}: median seconds`, sc.bird.medianSeconds, sc.ours.medianSeconds, 's'));
    console.log(row(`${mode}: min seconds`, sc.bird.minSeconds, sc.ours.minSeconds, 's'));
    if (sc.bird.reflectedMedianSeconds && sc.ours.reflectedMedianSeconds) {
      console.log(row(`${mode}: reflected, median s`, sc.bird.reflectedMedianSeconds, sc.ours.reflectedMedianSeconds, 's'));
      console.log(row(`${mode}: reflected, min s`, sc.bird.reflectedMinSeconds!, sc.ours.reflectedMinSeconds!, 's'));
    }
    console.log(row(`${mode}: bytes per path`, sc.bird.bytesPerPath, sc.ours.bytesPerPath, 'B'));
  }
  console.log(`in-process Rib (reflect): ${ingest.seconds.toFixed(2)} s wall, ${ingest.cpuSeconds.toFixed(2)} s CPU, ${ingest.bytesPerPath} B/path`);
  console.log(`in-process Rib (ingest):  ${ingestOnly.seconds.toFixed(2)} s wall, ${ingestOnly.cpuSeconds.toFixed(2)} s CPU, ${ingestOnly.bytesPerPath} B/path`);
}

await main();
