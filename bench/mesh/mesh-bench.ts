/**
 * Mesh bring-up benchmark, side by side with BIRD 2 in the same run.
 *
 * DESIGN.md: Calico took ~4 minutes to bring up an 800-node mesh, and BIRD's
 * listen backlog of 8 (sysdep/unix/io.c, sk_open: `listen(fd, 8)`) turns a
 * connect storm into minutes; our listener's backlog is at least 1024.
 *
 * Two namespaces joined by one veth pair:
 *   mbsut   mbs0 10.77.0.1/16 — the speaker under test (BIRD, or ours: bench/mesh/speaker-proc.ts)
 *   mbpeers mbp0 10.77.x.y/16 x N — the feeder (bench/mesh/feeder.ts), one source address per node
 * The feeder issues N connects at once; time zero is when all N are issued.
 * Measured: until every session is Established (the feeder's view, identical
 * for both sides), and until the speaker holds all N /26 blocks (ours: the
 * RIB's own count, exact; BIRD: `birdc show route count` every 100 ms).
 * Plus, per run: listen backlog (ss Send-Q on the LISTEN socket), SYN drops
 * (nstat ListenOverflows/ListenDrops in mbsut, SYN retransmits in mbpeers),
 * CPU of the speaker and the feeder, open file descriptors.
 *
 * The SUT's neighbour entries for the N node addresses are added permanent
 * (one `ip -batch`): ARP is the same for both sides and is not what we
 * measure, and permanent entries do not count against the machine-wide
 * gc_thresh3 (1024) shared with every other namespace on the host.
 *
 * Writes bench/results/mesh.json (merging other node counts already there)
 * and prints a table. Everything is bounded: each run by --limit seconds,
 * the whole invocation by --max-total seconds; children are killed and the
 * namespaces deleted on exit, on SIGINT/SIGTERM and on failure.
 *
 * MESH_PROFILE_DIR=<dir> runs our speaker under `node --cpu-prof` (profile written there).
 *
 * Usage (root): node dist/bench/mesh/mesh-bench.js [--nodes 800[,200]] [--runs 3]
 *   [--limit 300] [--max-total 1800] [--retry 5000] [--nofile 4096] [--sides bird,ours]
 */
import { execFile, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Bird } from '../../src/testbed/bird.js';
import { Netns, ip } from '../../src/testbed/netns.js';
import { MESH_AS, SUBNET_LENGTH, SUT_ADDRESS, meshSessionName, nodeAddress } from './workload.js';
import { jsonLines } from '../json-lines.js';

const execFileP = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const SUT_NS = 'mbsut';
const PEERS_NS = 'mbpeers';
const SUT_IF = 'mbs0';
const PEERS_IF = 'mbp0';
const BIRD_POLL_MS = 100;

// ---------------------------------------------------------------- arguments

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const nodeCounts = flag('nodes', '800')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);
const runs = Number(flag('runs', '3'));
const limitMs = Number(flag('limit', '300')) * 1000;
const maxTotalMs = Number(flag('max-total', '1800')) * 1000;
const retryMs = Number(flag('retry', '5000'));
const nofile = Number(flag('nofile', '4096'));
type Side = 'bird' | 'ours';
const sides = flag('sides', 'bird,ours').split(',') as Side[];

// ---------------------------------------------------------------- processes and cleanup

const children = new Set<ChildProcess>();
const birds = new Set<Bird>();

/** A namespace whose long-running children get an explicit open-file limit (prlimit execs in place, so the pid stays the process's). */
class LimitedNetns extends Netns {
  override spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = super.spawn('prlimit', [`--nofile=${nofile}:${nofile}`, '--', cmd, ...args], opts);
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  }
}

function killAll(): void {
  for (const c of children) {
    try {
      if (c.pid) process.kill(c.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  children.clear();
}

function removeNamespaces(): void {
  for (const ns of [SUT_NS, PEERS_NS]) ip(['netns', 'del', ns], { allowFail: true });
}

let cleanedUp = false;
function cleanupSync(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  killAll();
  for (const b of birds) void b.cleanup();
  removeNamespaces();
}
process.on('exit', cleanupSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    console.error(`mesh-bench: ${sig}, cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}
const deadline = Date.now() + maxTotalMs;
setTimeout(() => {
  console.error(`mesh-bench: --max-total ${maxTotalMs / 1000} s reached, cleaning up`);
  cleanupSync();
  process.exit(3);
}, maxTotalMs).unref();

// ---------------------------------------------------------------- lab

function buildLab(nodes: number): { sut: LimitedNetns; peers: LimitedNetns } {
  removeNamespaces(); // leftovers of an earlier, killed run (only our own two names)
  ip(['netns', 'add', SUT_NS]);
  ip(['netns', 'add', PEERS_NS]);
  const sut = new LimitedNetns(SUT_NS);
  const peers = new LimitedNetns(PEERS_NS);
  sut.ip(['link', 'set', 'lo', 'up']);
  peers.ip(['link', 'set', 'lo', 'up']);
  sut.ip(['link', 'add', SUT_IF, 'type', 'veth', 'peer', 'name', PEERS_IF, 'netns', PEERS_NS]);
  sut.ip(['addr', 'add', `${SUT_ADDRESS}/${SUBNET_LENGTH}`, 'dev', SUT_IF]);
  const addrs = Array.from({ length: nodes }, (_, i) => `addr add ${nodeAddress(i)}/${SUBNET_LENGTH} dev ${PEERS_IF}`);
  peers.ip(['-batch', '-'], { input: addrs.join('\n') + '\n' });
  peers.ip(['link', 'set', PEERS_IF, 'up']);
  sut.ip(['link', 'set', SUT_IF, 'up']);
  const mac = /link\/ether ([0-9a-f:]+)/.exec(peers.ip(['link', 'show', PEERS_IF]))?.[1];
  if (!mac) throw new Error(`no MAC on ${PEERS_IF}`);
  const neigh = Array.from({ length: nodes }, (_, i) => `neigh replace ${nodeAddress(i)} lladdr ${mac} dev ${SUT_IF} nud permanent`);
  sut.ip(['-batch', '-'], { input: neigh.join('\n') + '\n' });
  return { sut, peers };
}

function birdConfig(nodes: number): string {
  const protos = Array.from({ length: nodes }, (_, i) => {
    const a = nodeAddress(i);
    return `protocol bgp ${meshSessionName(a)} from mesh { neighbor ${a} as ${MESH_AS}; }`;
  });
  // Warnings go to stderr (kept per run): BIRD says there why it refused or closed a connection.
  return `router id ${SUT_ADDRESS};
log stderr { warning, error, fatal };
protocol device {}
template bgp mesh {
  local ${SUT_ADDRESS} as ${MESH_AS};
  passive on;
  ipv4 { import all; export none; };
}
${protos.join('\n')}
`;
}

// ---------------------------------------------------------------- measurements

type Json = Record<string, unknown>;

/** JSON lines from a child's stdout. */
function lines(proc: ChildProcess): { events: Json[]; find: (ev: string) => Json | undefined; last: (ev: string) => Json | undefined } {
  const events = jsonLines(proc, `[${proc.pid}] `);
  return {
    events,
    find: (ev) => events.find((e) => e.event === ev),
    last: (ev) => {
      for (let i = events.length - 1; i >= 0; i--) if (events[i].event === ev) return events[i];
      return undefined;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const end = Math.min(Date.now() + ms, deadline);
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Absolute TCP counters in a namespace (nstat -a: since the namespace was made; -s: keep no history). */
function nstat(ns: Netns): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of ns.exec('nstat', ['-asz']).split('\n')) {
    const m = /^(\S+)\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
const STAT_NAMES = ['TcpExtListenOverflows', 'TcpExtListenDrops', 'TcpExtTCPReqQFullDrop', 'TcpExtSyncookiesSent', 'TcpExtTCPSynRetrans', 'TcpRetransSegs', 'TcpActiveOpens', 'TcpPassiveOpens', 'TcpAttemptFails'];
function statDiff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of STAT_NAMES) if ((b[k] ?? 0) - (a[k] ?? 0) !== 0) out[k] = (b[k] ?? 0) - (a[k] ?? 0);
  return out;
}

/** The LISTEN socket on :179: ss shows its backlog as Send-Q. */
function listenBacklog(ns: Netns): number | null {
  const out = ns.exec('ss', ['-ltnH', 'sport = :179'], { allowFail: true }).trim();
  const cols = out.split('\n')[0]?.trim().split(/\s+/) ?? [];
  return cols.length >= 3 ? Number(cols[2]) : null;
}

function fdCount(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** utime + stime of a process, seconds (clock ticks are 100 Hz on Linux). */
function procCpuSeconds(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function warningKinds(log: string): Record<string, { count: number; example: string }> {
  const out: Record<string, { count: number; example: string }> = {};
  for (const line of log.split('\n')) {
    if (!line.trim()) continue;
    const kind = line
      .replace(/^\S+ \S+ /, '') // date and time
      .replace(/Mesh_[0-9_]+/g, 'Mesh_X')
      .replace(/\d+\.\d+\.\d+\.\d+/g, 'A')
      .replace(/\d+/g, 'N');
    const e = (out[kind] ??= { count: 0, example: line });
    e.count++;
  }
  return out;
}

async function stopChild(proc: ChildProcess | undefined, gently = false): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  if (gently) {
    // Let a profiled speaker write its profile, then make sure it is gone.
    proc.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (proc.exitCode !== null || proc.signalCode !== null) return;
  }
  proc.kill('SIGKILL');
  await Promise.race([exited, sleep(3000)]);
}

interface RunResult {
  side: Side;
  nodes: number;
  run: number;
  /** All N sessions Established (feeder's view), seconds after every connect was issued; null = not within the limit. */
  establishedSeconds: number | null;
  /** The speaker holds all N /26 blocks; null = not within the limit. */
  prefixesSeconds: number | null;
  /** Where the run ended when it timed out. */
  partial?: { established: number; prefixes: number };
  establishedPercentilesMs?: Json;
  feederRetriedSessions?: number;
  feederErrors?: Json;
  listenBacklog: number | null;
  speakerCpuSeconds: number | null;
  feederCpuSeconds: number | null;
  feederEventLoopDelayMaxMs: number | null;
  speakerEventLoopDelayMaxMs?: number | null;
  speakerOpenFds: number | null;
  feederOpenFds: number | null;
  /** Why sessions failed before Established (feeder's view): per error, sessions, first/last ms, how many had connected first. */
  feederFailures?: Json;
  /** BIRD: its warnings, counted by kind (addresses and numbers blanked), with one example each. */
  birdWarnings?: Record<string, { count: number; example: string }>;
  /** BIRD: how long the last `birdc show route count` took to answer (ms). */
  birdcLatencyMs?: number;
  sutTcp: Record<string, number>;
  peersTcp: Record<string, number>;
}

function startFeeder(peers: Netns, nodes: number): { proc: ChildProcess; out: ReturnType<typeof lines> } {
  const proc = peers.spawn('node', [join(here, 'feeder.js'), SUT_ADDRESS, '179', String(nodes), String(retryMs)]);
  return { proc, out: lines(proc) };
}

async function runOnce(side: Side, lab: { sut: LimitedNetns; peers: LimitedNetns }, nodes: number, run: number): Promise<RunResult> {
  const { sut, peers } = lab;
  const sut0 = nstat(sut);
  const peers0 = nstat(peers);
  let bird: Bird | undefined;
  let speaker: ChildProcess | undefined;
  let speakerOut: ReturnType<typeof lines> | undefined;
  let feeder: ReturnType<typeof startFeeder> | undefined;
  try {
    let speakerPid: number | undefined;
    if (side === 'bird') {
      bird = new Bird(sut, birdConfig(nodes), 'mb-bird-');
      birds.add(bird);
      await bird.start({ timeoutMs: 60_000 });
      speakerPid = bird.pid;
    } else {
      const profile = process.env.MESH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MESH_PROFILE_DIR}`] : [];
      speaker = sut.spawn('node', [...profile, join(here, 'speaker-proc.js'), String(nodes), '179']);
      speakerOut = lines(speaker);
      await waitFor('speaker listening', 60_000, () => speakerOut!.find('listening'));
      speakerPid = speaker.pid;
    }
    const backlog = listenBacklog(sut);
    const cpuStart = procCpuSeconds(speakerPid);
    feeder = startFeeder(peers, nodes);
    const f = feeder.out;
    const t0 = (await waitFor('feeder issued', 30_000, () => f.find('issued'))).t as number;
    const end = Math.min(t0 + limitMs, deadline - 10_000);

    let prefixesAt: number | null = null;
    let prefixes = 0;
    let birdcLatencyMs: number | undefined;
    let speakerCpu: number | null = null;
    while (Date.now() < end) {
      if (side === 'bird') {
        if (prefixesAt === null) {
          const asked = Date.now();
          const { stdout } = await execFileP('birdc', ['-s', bird!.ctlPath, 'show', 'route', 'count']).catch(() => ({ stdout: '' }));
          const answered = Date.now();
          birdcLatencyMs = answered - asked;
          const m = /(\d+) of \d+ routes/.exec(stdout);
          if (m) prefixes = Number(m[1]);
          if (prefixes >= nodes) {
            prefixesAt = answered;
            speakerCpu = (procCpuSeconds(speakerPid) ?? 0) - (cpuStart ?? 0);
          }
        }
      } else {
        const done = speakerOut!.find('all-prefixes');
        if (done && prefixesAt === null) {
          prefixesAt = done.t as number;
          // CPU from the moment the feeder started (the speaker idles between 'listening' and then).
          speakerCpu = (done.cpuSeconds as number) - ((speakerOut!.find('listening')?.cpuSeconds as number | undefined) ?? 0);
        }
        prefixes = prefixesAt !== null ? nodes : ((speakerOut!.last('progress')?.prefixes as number | undefined) ?? 0);
      }
      if (prefixesAt !== null && f.find('sessions')) break;
      await sleep(side === 'bird' ? BIRD_POLL_MS : 50);
    }
    const allUp = f.find('all-established');
    const summary = f.find('sessions');
    const lastProgress = f.last('progress') ?? allUp;
    const feederState = allUp ?? lastProgress;
    const result: RunResult = {
      side,
      nodes,
      run,
      establishedSeconds: allUp ? ((allUp.t as number) - t0) / 1000 : null,
      prefixesSeconds: prefixesAt !== null ? (prefixesAt - t0) / 1000 : null,
      ...(allUp && prefixesAt !== null ? {} : { partial: { established: (lastProgress?.established as number) ?? 0, prefixes } }),
      ...(summary
        ? {
            establishedPercentilesMs: summary.establishedMs as Json,
            feederRetriedSessions: summary.retriedSessions as number,
            feederErrors: summary.errors as Json,
            feederFailures: summary.failures as Json,
          }
        : {}),
      listenBacklog: backlog,
      speakerCpuSeconds: speakerCpu ?? (procCpuSeconds(speakerPid) ?? 0) - (cpuStart ?? 0),
      feederCpuSeconds: (feederState?.cpuSeconds as number | undefined) ?? null,
      feederEventLoopDelayMaxMs: (feederState?.elDelayMaxMs as number | undefined) ?? null,
      ...(side === 'ours' ? { speakerEventLoopDelayMaxMs: (speakerOut!.last('progress')?.elDelayMaxMs as number | undefined) ?? null } : {}),
      speakerOpenFds: fdCount(speakerPid),
      feederOpenFds: fdCount(feeder.proc.pid),
      ...(birdcLatencyMs !== undefined ? { birdcLatencyMs } : {}),
      ...(bird ? { birdWarnings: warningKinds(bird.log) } : {}),
      sutTcp: statDiff(sut0, nstat(sut)),
      peersTcp: statDiff(peers0, nstat(peers)),
    };
    return result;
  } finally {
    await stopChild(feeder?.proc);
    await stopChild(speaker, process.env.MESH_PROFILE_DIR !== undefined);
    if (bird) {
      await bird.cleanup();
      birds.delete(bird);
    }
  }
}

// ---------------------------------------------------------------- summary

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** min / median over runs; a run that timed out counts as +Infinity (it took at least the limit). */
function stats(xs: (number | null)[]): { min: number | null; median: number | null; timedOut: number } {
  if (xs.length === 0) return { min: null, median: null, timedOut: 0 };
  const vals = xs.map((x) => (x === null ? Infinity : x));
  const fin = (v: number): number | null => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null);
  return { min: fin(Math.min(...vals)), median: fin(median(vals)), timedOut: xs.filter((x) => x === null).length };
}

function summarise(nodes: number, results: RunResult[]): Json {
  const of = (side: Side) => results.filter((r) => r.side === side);
  const sideSummary = (side: Side) => {
    const rs = of(side);
    return {
      establishedSeconds: stats(rs.map((r) => r.establishedSeconds)),
      prefixesSeconds: stats(rs.map((r) => r.prefixesSeconds)),
      listenBacklog: rs[0]?.listenBacklog ?? null,
      speakerCpuSeconds: stats(rs.map((r) => r.speakerCpuSeconds)),
      feederCpuSeconds: stats(rs.map((r) => r.feederCpuSeconds)),
      maxOpenFds: Math.max(...rs.map((r) => r.speakerOpenFds ?? 0)),
      listenOverflows: median(rs.map((r) => r.sutTcp.TcpExtListenOverflows ?? 0)),
      synRetransmits: median(rs.map((r) => r.peersTcp.TcpExtTCPSynRetrans ?? 0)),
    };
  };
  const bird = sideSummary('bird');
  const ours = sideSummary('ours');
  const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
  return {
    nodes,
    runsPerSide: runs,
    bird,
    ours,
    ratioOursOverBird: {
      establishedMedian: ratio(ours.establishedSeconds.median, bird.establishedSeconds.median),
      prefixesMedian: ratio(ours.prefixesSeconds.median, bird.prefixesSeconds.median),
      establishedMin: ratio(ours.establishedSeconds.min, bird.establishedSeconds.min),
      prefixesMin: ratio(ours.prefixesSeconds.min, bird.prefixesSeconds.min),
    },
    runs: results,
  };
}

function printTable(all: Json[]): void {
  const f = (x: unknown): string => (x === null || x === undefined ? '>limit' : typeof x === 'number' ? x.toFixed(2) : String(x));
  const head = ['N', 'metric', 'BIRD min', 'BIRD med', 'ours min', 'ours med', 'ours/BIRD (med)'];
  const rows: string[][] = [];
  for (const s of all) {
    const b = s.bird as Json;
    const o = s.ours as Json;
    const r = s.ratioOursOverBird as Json;
    const row = (name: string, key: string, rk: string) => {
      const bs = b[key] as Json;
      const os = o[key] as Json;
      rows.push([String(s.nodes), name, f(bs.min), f(bs.median), f(os.min), f(os.median), f(r[rk])]);
    };
    row('all Established (s)', 'establishedSeconds', 'establishedMedian');
    row('all N prefixes held (s)', 'prefixesSeconds', 'prefixesMedian');
    rows.push([String(s.nodes), 'speaker CPU to done (s)', '', f((b.speakerCpuSeconds as Json).median), '', f((o.speakerCpuSeconds as Json).median), '']);
    rows.push([String(s.nodes), 'feeder CPU (s)', '', f((b.feederCpuSeconds as Json).median), '', f((o.feederCpuSeconds as Json).median), '']);
    rows.push([String(s.nodes), 'listen backlog (ss)', '', String(b.listenBacklog), '', String(o.listenBacklog), '']);
    rows.push([String(s.nodes), 'ListenOverflows (med)', '', String(b.listenOverflows), '', String(o.listenOverflows), '']);
    rows.push([String(s.nodes), 'SYN retransmits (med)', '', String(b.synRetransmits), '', String(o.synRetransmits), '']);
    rows.push([String(s.nodes), 'speaker open fds (max)', '', String(b.maxOpenFds), '', String(o.maxOpenFds), '']);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('mesh-bench needs root (network namespaces)');
  const summaries: Json[] = [];
  for (const nodes of nodeCounts) {
    const lab = buildLab(nodes);
    const results: RunResult[] = [];
    try {
      for (let r = 1; r <= runs; r++) {
        // Alternate which side goes first, so neither always runs on a warmer (or busier) machine.
        const order = r % 2 === 1 ? sides : [...sides].reverse();
        for (const side of order) {
          const res = await runOnce(side, lab, nodes, r);
          results.push(res);
          console.error(
            `N=${nodes} run ${r} ${side}: established ${res.establishedSeconds ?? '>limit'} s, prefixes ${res.prefixesSeconds ?? '>limit'} s, ` +
              `backlog ${res.listenBacklog}, overflows ${res.sutTcp.TcpExtListenOverflows ?? 0}, SYN retrans ${res.peersTcp.TcpExtTCPSynRetrans ?? 0}, ` +
              `speaker CPU ${res.speakerCpuSeconds?.toFixed(2)} s, feeder CPU ${res.feederCpuSeconds?.toFixed(2)} s, fds ${res.speakerOpenFds}`,
          );
          await sleep(1000);
        }
      }
    } finally {
      killAll();
      removeNamespaces();
    }
    summaries.push(summarise(nodes, results));
  }

  const outPath = join(repo, 'bench', 'results', 'mesh.json');
  const previous = existsSync(outPath) ? (JSON.parse(readFileSync(outPath, 'utf8')) as Json) : {};
  const scenarios = { ...((previous.scenarios as Json | undefined) ?? {}) };
  for (const s of summaries) scenarios[String(s.nodes)] = { date: new Date().toISOString(), ...s };
  const out = {
    description:
      'Mesh bring-up: N iBGP nodes (one process, one source address each) connect at once to a passive speaker; time zero = all N connects issued',
    measured: {
      establishedSeconds: 'feeder view: every session received the speaker KEEPALIVE after OPEN (same for both sides)',
      prefixesSeconds: `speaker holds all N /26: ours = Loc-RIB size checked after each UPDATE (exact); BIRD = first \`birdc show route count\` (polled every ${BIRD_POLL_MS} ms) that shows N, at the time it answered`,
      listenBacklog: 'Send-Q of the LISTEN socket on :179 in ss -ltn (the backlog passed to listen())',
      tcp: 'nstat deltas per run: sutTcp in mbsut (ListenOverflows/ListenDrops = SYNs dropped on a full accept queue), peersTcp in mbpeers (TCPSynRetrans = feeder SYN retransmissions)',
    },
    machine: {
      cores: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
      kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(),
      node: process.version,
      bird: execFileSync('sh', ['-c', 'bird --version 2>&1'], { encoding: 'utf8' }).trim(),
      note: 'shared with other engineers; wall times are noisy',
    },
    settings: { feederRetryMs: retryMs, runLimitSeconds: limitMs / 1000, nofile, birdPollMs: BIRD_POLL_MS },
    scenarios,
  };
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, JSON.stringify(out, null, 2) + '\n');
  printTable(Object.values(scenarios) as Json[]);
  console.log(`results: ${outPath}`);
}

try {
  await main();
} finally {
  cleanupSync();
}
