/**
 * Failover time, BFD against the BGP hold timer (issue 22): from the moment
 * a peer freezes (BIRD 2 SIGSTOPped: its TCP session and its BFD socket stay
 * open, it just stops sending) until the last of its routes has left this
 * node's kernel. `agent run` in namespace bfdbA with etcd, BIRD in bfdbB
 * announcing N blocks; `ip -4 monitor route` in bfdbA timestamps each route's
 * deletion as the kernel reports it.
 *
 * Two modes on the same session, switched through etcd (the BGPPeer's
 * failureDetectionMode) and `birdc configure` (bfd on/off):
 *  - bfd:  failureDetectionMode BFDIfDirectlyConnected, 100 ms x 3;
 *  - hold: no BFD; hold time HOLD s (BIRD's `hold time`, negotiated down from
 *    our 240 s). Calico's default is 240 s; a shorter hold keeps the run short,
 *    and the hold-timer figure scales with it (expiry lies between hold - keepalive
 *    and hold after the last KEEPALIVE).
 * Each run: freeze, wait for the last route to go, thaw, wait for every route
 * (and BFD Up) back. 10 runs per mode by default; p50 and max.
 *
 * Usage (root): node dist/bench/bfd-failover.js [--runs 10] [--routes 1000] [--hold 6]
 * Writes bench/results/bfd-failover.json.
 *
 * `--load [--peers 5] [--seconds 20]`: what BFD's timers cost the event loop.
 * One BfdManager with P sessions at 100 ms, each against its own manager on
 * 127.0.0.(2+i) over real UDP (TTL filter on), all in this process; CPU time
 * (process.cpuUsage) and event-loop delay (monitorEventLoopDelay) over the
 * window, against the same window with no session. Prints JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { BfdManager } from '../src/bfd/manager.js';
import type { PeerConfig } from '../src/contracts.js';
import { Bird } from '../src/testbed/bird.js';
import { Testbed, canUseNetns, sh, type Netns } from '../src/testbed/netns.js';

const REPO = resolve(import.meta.dirname, '../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const ETCD_PORT = 23792;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const RUNS = arg('runs', 10);
const ROUTES = arg('routes', 1000);
const HOLD = arg('hold', 6);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = fn();
      if (v) return v;
    } catch {
      /* retry */
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** N distinct /26 blocks inside 10.244.0.0/16 (at most 1024). */
function blocks(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.244.${i >> 2}.${(i & 3) * 64}/26`);
}

function birdConfig(bfd: boolean, routes: string[]): string {
  return `
router id 10.95.0.3;
protocol device { scan time 2; }
protocol bfd { interface "eth0" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol static blocks {
  ipv4 { export all; };
${routes.map((b) => `  route ${b} blackhole;`).join('\n')}
}
protocol bgp Global_10_95_0_9 {
  local 10.95.0.3 as 64512;
  neighbor 10.95.0.9 as 64512;
  direct;
  ${bfd ? 'bfd on;' : ''}
  hold time ${HOLD};
  keepalive time ${Math.max(1, Math.floor(HOLD / 3))};
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 2;
  ipv4 { import all; export all; add paths on; next hop self; };
}
`;
}

function resources(bfd: boolean): string {
  return `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: false, asNumber: 64512 }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.244.0.0/16, ipipMode: Never, blockSize: 26 }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-a }
spec: { bgp: { ipv4Address: 10.95.0.9/24 } }
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: peer-b }
spec: { peerIP: 10.95.0.3, asNumber: 64512${bfd ? ', failureDetectionMode: BFDIfDirectlyConnected' : ''} }
`;
}

/** Counts BIRD's routes in a namespace's kernel from `ip monitor route`, with the time each change was read. */
class KernelWatch {
  private readonly proc: ChildProcess;
  private buf = '';
  present = new Set<string>();
  lastDeleteAt = 0;
  constructor(ns: Netns, initial: string[]) {
    for (const l of initial) this.present.add(l.split(' ')[0]);
    this.proc = spawn('ip', ['-4', '-n', ns.name, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.proc.stdout!.on('data', (d: Buffer) => {
      const now = performance.now();
      this.buf += d.toString();
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (!line.includes('proto bird') || !line.includes('10.244.')) continue;
        const deleted = line.startsWith('Deleted ');
        const prefix = (deleted ? line.slice(8) : line).split(' ')[0];
        if (deleted) {
          this.present.delete(prefix);
          this.lastDeleteAt = now;
        } else this.present.add(prefix);
      }
    });
  }
  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

function quantiles(xs: number[]): { p50: number; max: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], p50: s[Math.floor((s.length - 1) / 2)], max: s[s.length - 1] };
}

async function main(): Promise<void> {
  if (!canUseNetns()) throw new Error('bench/bfd-failover needs root (network namespaces)');
  const bed = new Testbed('bfdb');
  Testbed.sweep('bfdb');
  const tmp = mkdtempSync(join(tmpdir(), 'bfd-bench-'));
  const socket = join(tmp, 'agent.ctl');
  const etcdUrl = `http://10.95.0.100:${ETCD_PORT}`;
  let etcd: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let bird: Bird | undefined;
  let watch: KernelWatch | undefined;
  try {
    const e = bed.addHost('E', { address: '10.95.0.100/24' });
    const a = bed.addHost('A', { address: '10.95.0.9/24' });
    const b = bed.addHost('B', { address: '10.95.0.3/24' });
    etcd = e.spawn('etcd', [
      '--name', 'bfb', '--data-dir', join(tmp, 'etcd'), '--listen-client-urls', etcdUrl, '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', 'http://127.0.0.1:23802', '--initial-advertise-peer-urls', 'http://127.0.0.1:23802', '--initial-cluster', 'bfb=http://127.0.0.1:23802',
    ]);
    await until('etcd', () => (e.exec('etcdctl', ['--endpoints', etcdUrl, '--dial-timeout', '1s', 'endpoint', 'health']), true), 30_000, 200);
    const apply = (y: string) => a.exec(process.execPath, [CLI, 'datastore', 'apply', '-f', '-', '--etcd-endpoints', etcdUrl], { input: y });
    const routes = blocks(ROUTES);
    apply(resources(true));
    bird = new Bird(b, birdConfig(true, routes), 'bfd-bench-bird-');
    await bird.start();
    agent = a.spawn(process.execPath, [CLI, 'run', '--node-name', 'node-a', '--ip', '10.95.0.9/24', '--etcd-endpoints', etcdUrl, '--control-socket', socket, '--log-level', 'warn'], { stdio: 'ignore' });
    const peer = () => (JSON.parse(sh(process.execPath, [CLI, 'status', '--json', '--control-socket', socket])) as { peers: { bgpState: string; bfd?: { state: string } }[] }).peers[0];
    const inKernel = () => a.routes('bird').filter((l) => l.startsWith('10.244.'));
    await until('all routes in the kernel', () => inKernel().length === ROUTES, 60_000, 200);
    watch = new KernelWatch(a, inKernel());
    await sleep(500);

    const results: Record<string, { runsMs: number[]; p50Ms: number; maxMs: number; minMs: number }> = {};
    for (const mode of ['bfd', 'hold'] as const) {
      const bfd = mode === 'bfd';
      apply(resources(bfd));
      bird.reconfigure(birdConfig(bfd, routes));
      await until(`${mode} mode in force`, () => {
        const p = peer();
        return p.bgpState === 'Established' && (bfd ? p.bfd?.state === 'Up' : p.bfd === undefined) && watch!.present.size === ROUTES;
      }, 90_000, 200);
      const runs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        await sleep(1000 + Math.random() * 1000); // a random phase against the keepalive and BFD timers
        const frozenAt = performance.now();
        await bird.freeze();
        try {
          await until('every route out of the kernel', () => watch!.present.size === 0, (HOLD + 10) * 1000, 5);
        } finally {
          await bird.thaw();
        }
        runs.push(Math.round(watch.lastDeleteAt - frozenAt));
        process.stderr.write(`${mode} run ${i + 1}: ${runs.at(-1)} ms\n`);
        await until('routes back', () => {
          const p = peer();
          return p.bgpState === 'Established' && (!bfd || p.bfd?.state === 'Up') && watch!.present.size === ROUTES;
        }, 90_000, 100);
      }
      const q = quantiles(runs);
      results[mode] = { runsMs: runs, p50Ms: q.p50, maxMs: q.max, minMs: q.min };
    }
    const out = {
      benchmark: 'bfd-failover',
      what: 'ms from SIGSTOP of the BIRD peer to the kernel deleting the last of its routes (ip monitor route), agent run with etcd and netlink',
      date: new Date().toISOString(),
      routes: ROUTES,
      runs: RUNS,
      bfd: { minTxMs: 100, minRxMs: 100, multiplier: 3, detectionTimeMs: 300 },
      holdTimeS: HOLD,
      note: `hold mode uses a ${HOLD} s hold time to keep the run short; Calico's default hold of 240 s gives 160-240 s by the same mechanism`,
      results,
    };
    mkdirSync(join(REPO, 'bench/results'), { recursive: true });
    writeFileSync(join(REPO, 'bench/results/bfd-failover.json'), JSON.stringify(out, null, 2) + '\n');
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    watch?.stop();
    agent?.kill('SIGKILL');
    await bird?.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Event-loop cost of P BFD sessions at 100 ms (both ends in this process: 2P sessions in all). */
async function load(): Promise<void> {
  const peersN = arg('peers', 5);
  const seconds = arg('seconds', 20);
  const timers = { minTxMs: 100, minRxMs: 100, multiplier: 3 };
  const cfg = (name: string, address: string): PeerConfig => ({ name, type: 'global', address, port: 179, asNumber: 64512, passive: false, keepOriginalNextHop: false, restartTime: 120, bfd: timers });
  const measure = async (): Promise<{ cpuMsPerS: number; loopDelayP99Ms: number; loopDelayMaxMs: number }> => {
    const h = monitorEventLoopDelay({ resolution: 10 });
    const c0 = process.cpuUsage();
    h.enable();
    await sleep(seconds * 1000);
    h.disable();
    const c = process.cpuUsage(c0);
    return { cpuMsPerS: Math.round(((c.user + c.system) / 1000 / seconds) * 100) / 100, loopDelayP99Ms: h.percentile(99) / 1e6, loopDelayMaxMs: h.max / 1e6 };
  };
  const idle = await measure();
  const hub = new BfdManager();
  const spokes: BfdManager[] = [];
  const hubPeers: PeerConfig[] = [];
  for (let i = 0; i < peersN; i++) {
    const addr = `127.0.0.${2 + i}`;
    const m = new BfdManager();
    m.setPeers([cfg(`hub`, '127.0.0.1')], addr);
    spokes.push(m);
    hubPeers.push(cfg(`p${i}`, addr));
  }
  hub.setPeers(hubPeers, '127.0.0.1');
  await until('every session Up at 100 ms', () => hubPeers.every((p) => hub.status(p.name)?.state === 'Up' && hub.status(p.name)?.txIntervalMs === 100), 20_000);
  const busy = await measure();
  const packets = hubPeers.reduce((n, p) => n + (hub.status(p.name)?.packetsOut ?? 0) + (hub.status(p.name)?.packetsIn ?? 0), 0);
  await hub.stop();
  for (const m of spokes) await m.stop();
  process.stdout.write(JSON.stringify({ benchmark: 'bfd-load', sessions: peersN, bothEndsInProcess: true, txIntervalMs: 100, seconds, idle, withBfd: busy, hubPacketsInAndOut: packets }, null, 2) + '\n');
}

(process.argv.includes('--load') ? load() : main()).catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
