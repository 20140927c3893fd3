/**
 * Socket runs for issue 16, timed from outside the same way for every side:
 * `agent run --no-program-routes` configured through etcd (one global
 * BGPPeer per feeder), and BIRD 2 with a calico-style bgp template, all in
 * one network namespace (prof16) so nothing else on the machine shares the
 * addresses or port 179.
 *
 * Time: from the feeder's first TCP connect until, for the agent, the last
 * busy 20 ms sample followed by a 1 s window in which it uses < 5 % of a core
 * (/proc/<pid>/schedstat), then one count of the paths held (agent status);
 * for BIRD, its route counters read over its control socket in a loop
 * (`show protocols all`, as the method; a blip of BIRD's own timers would otherwise end
 * a quiet-window reading late).
 * CPU: schedstat from first connect to the window's start. Memory: VmHWM,
 * and (VmHWM - VmRSS before the first connect) / paths.
 *
 * Usage: node socket.js <shape> <runs> <side>...   side = bird | <path to agent cli main.js>
 * Prints one JSON line per run and a summary (min / median per side).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NS = 'prof16';
const AS = 64512;
const here = dirname(fileURLToPath(import.meta.url));
const [shape, runsText, ...sides] = process.argv.slice(2);
const runs = Number(runsText ?? 3);
const peers = shape === 'one' ? 1 : 10;
const perPeer = 100_000;
const expected = peers * perPeer;
const dir = '/dev/shm/prof16';
const ETCD = 'http://127.0.0.1:23790';

const sh = (cmd: string, args: string[], input?: string): string => execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
const inNs = (cmd: string, args: string[]): string => sh('ip', ['netns', 'exec', NS, cmd, ...args]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const children: ChildProcess[] = [];
function start(cmd: string, args: string[], log: string): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', NS, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  p.stdout!.on('data', (d: Buffer) => chunks.push(d.toString()));
  p.stderr!.on('data', (d: Buffer) => chunks.push(d.toString()));
  p.on('exit', () => writeFileSync(log, chunks.join('')));
  (p as ChildProcess & { out: string[] }).out = chunks;
  children.push(p);
  return p;
}
function kill(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    p.once('exit', () => r());
    p.kill('SIGKILL');
  });
}
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function cpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
}
function status(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : -1;
}


async function etcdUp(): Promise<ChildProcess> {
  rmSync(join(dir, 'etcd'), { recursive: true, force: true });
  const p = start('etcd', ['--name', 'p', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', ETCD, '--advertise-client-urls', ETCD,
    '--listen-peer-urls', 'http://127.0.0.1:23800', '--initial-advertise-peer-urls', 'http://127.0.0.1:23800', '--initial-cluster', 'p=http://127.0.0.1:23800',
    '--log-level', 'warn'], join(dir, 'etcd.log'));
  for (let i = 0; i < 100; i++) {
    try {
      inNs('etcdctl', [`--endpoints=${ETCD}`, 'endpoint', 'health']);
      return p;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('etcd did not start');
}

function res(plural: string, kind: string, name: string, spec: object): [string, string] {
  return [`/calico/resources/v3/projectcalico.org/${plural}/${name}`, JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec })];
}

function configure(): void {
  const kvs: [string, string][] = [
    res('bgpconfigurations', 'BGPConfiguration', 'default', { logSeverityScreen: 'Info', nodeToNodeMeshEnabled: false, asNumber: AS }),
    res('nodes', 'Node', 'sut', { bgp: { ipv4Address: '127.0.0.1/8' } }),
  ];
  for (let i = 0; i < peers; i++) kvs.push(res('bgppeers', 'BGPPeer', `feeder-${i}`, { peerIP: `127.0.0.${11 + i}`, asNumber: AS }));
  for (const [k, v] of kvs) inNs('etcdctl', [`--endpoints=${ETCD}`, 'put', k, v]);
}

function birdConf(): string {
  const L = [
    'router id 127.0.0.1;',
    'protocol device { scan time 2; }',
    'protocol kernel { learn; persist; scan time 2; graceful restart; merge paths on; metric 0; ipv4 { import all; export none; }; }',
    'filter calico_export_to_bgp_peers { reject; }',
    'template bgp bgp_template {',
    `  local as ${AS};`,
    '  multihop;',
    '  ipv4 { gateway recursive; import all; export filter calico_export_to_bgp_peers; add paths on; };',
    '  graceful restart;',
    '  connect delay time 2;',
    '  connect retry time 5;',
    '  error wait time 5,30;',
    '}',
  ];
  for (let i = 0; i < peers; i++) {
    L.push(`protocol bgp Global_127_0_0_${11 + i} from bgp_template {`, `  neighbor 127.0.0.${11 + i} as ${AS};`, '  source address 127.0.0.1;', '  graceful restart time 120;', '}');
  }
  return L.join('\n') + '\n';
}

function count(side: string, ctl: string): number {
  if (side === 'bird') {
    const m = /(\d+) of (\d+) routes for (\d+) networks/.exec(inNs('birdc', ['-s', ctl, 'show', 'route', 'count']));
    return m ? Number(m[2]) : -1;
  }
  const st = JSON.parse(inNs(process.execPath, [side, 'status', '--json', '--control-socket', ctl])) as { peers?: { counters?: { received: number } }[] };
  return (st.peers ?? []).reduce((a, p) => a + (p.counters?.received ?? 0), 0);
}

/** Paths BIRD's BGP protocols imported, from their counters (cheap: no walk of the table, unlike `show route count`). */
function birdImported(ctl: string): number {
  const txt = inNs('birdc', ['-s', ctl, 'show', 'protocols', 'all']);
  let n = 0;
  for (const m of txt.matchAll(/Routes:\s+(\d+) imported/g)) n += Number(m[1]);
  return n;
}

async function runOne(side: string, run: number): Promise<Record<string, unknown>> {
  const d = join(dir, `${run}-${side === 'bird' ? 'bird' : 'agent'}`);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  let sp: ChildProcess;
  let ctl: string;
  if (side === 'bird') {
    writeFileSync(join(d, 'bird.conf'), birdConf());
    ctl = join(d, 'bird.ctl');
    sp = start('bird', ['-f', '-c', join(d, 'bird.conf'), '-s', ctl, '-P', join(d, 'bird.pid')], join(d, 'bird.log'));
    for (let i = 0; ; i++) {
      try {
        if (inNs('birdc', ['-s', ctl, 'show', 'status']).includes('Daemon is up')) break;
      } catch {
        /* not yet */
      }
      if (i > 200) throw new Error('bird did not start');
      await sleep(50);
    }
  } else {
    ctl = join(d, 'agent.ctl');
    // PROF_DIR: write a CPU profile of the agent there (it is then stopped with SIGTERM so the profile is written).
    const prof = process.env.PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.PROF_DIR] : [];
    sp = start(process.execPath, [...prof, side, 'run', '--node-name', 'sut', '--ip', '127.0.0.1/8', '--etcd-endpoints', ETCD, '--control-socket', ctl, '--log-level', 'warn', '--no-program-routes'], join(d, 'agent.log'));
    for (let i = 0; ; i++) {
      try {
        const st = JSON.parse(inNs(process.execPath, [side, 'status', '--json', '--control-socket', ctl])) as { peers?: unknown[] };
        if ((st.peers ?? []).length >= peers) break;
      } catch {
        /* not yet */
      }
      if (i > 400) throw new Error('agent did not configure its peers');
      await sleep(50);
    }
  }
  const pid = sp.pid!;
  await sleep(1500); // let start-up settle
  const rss0 = status(pid, 'VmRSS');
  const feeder = start(process.execPath, [join(here, 'feeder.js'), '127.0.0.1', '179', shape, String(peers), String(perPeer)], join(d, 'feeder.log'));
  const out = (feeder as ChildProcess & { out: string[] }).out;
  // The end is the last busy 20 ms sample (> 25 % of a core) that is followed by
  // a 1 s window using < 5 % of a core in all, once every path is held.
  let t0 = 0;
  let c0 = 0;
  let end = -1;
  let cpu = 0;
  let prev: [number, number] | null = null;
  const timeline: string[] = [];
  const pre: [number, number][] = [];
  let lastBusy: [number, number] | null = null;
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const now = performance.timeOrigin + performance.now();
    const c = cpuNs(pid);
    if (t0 === 0) {
      pre.push([now, c]);
      const m = /"first-connect","t":(\d+)/.exec(out.join(''));
      if (m) {
        t0 = Number(m[1]);
        // CPU at the connect: the last sample taken before it (the feeder's line reaches us later).
        c0 = pre[0][1];
        for (const [at, cpuAt] of pre) if (at <= t0) c0 = cpuAt;
        lastBusy = [t0, c0];
      }
      if (!m) {
        await sleep(2);
        continue;
      }
    } else {
      if (side === 'bird') {
        // BIRD: its own route counters over the control socket, as in the method.
        if (birdImported(ctl) >= expected) {
          end = performance.timeOrigin + performance.now();
          cpu = (cpuNs(pid) - c0) / 1e9;
          break;
        }
        await sleep(5);
        continue;
      }
      // Busy: > 25 % of a core in the sample; 1 ms housekeeping blips (a GC finalising, a timer) are not work to wait for.
      if (prev !== null && c - prev[1] > 0.25 * (now - prev[0]) * 1e6) lastBusy = [now, c];
      if (process.env.TIMELINE && prev !== null) timeline.push(`${Math.round(now - t0)}:${Math.round((c - prev[1]) / 1e6)}`);
      const lb = lastBusy!;
      if (now - lb[0] >= 1000 && c - lb[1] < 0.05 * (now - lb[0]) * 1e6 && count(side, ctl) >= expected) {
        end = lb[0];
        cpu = (lb[1] - c0) / 1e9;
        break;
      }
    }
    prev = [now, c];
    await sleep(20);
  }
  if (process.env.TIMELINE) console.error(`timeline (ms since connect: CPU ms in the sample) ${timeline.join(' ')}`);
  const hwm = status(pid, 'VmHWM');
  const paths = count(side, ctl);
  await kill(feeder);
  if (process.env.PROF_DIR && side !== 'bird') {
    await new Promise<void>((r) => {
      sp.once('exit', () => r());
      sp.kill('SIGTERM');
      setTimeout(() => sp.kill('SIGKILL'), 10_000).unref();
    });
  }
  await kill(sp);
  return {
    side: side === 'bird' ? 'bird' : side,
    run,
    shape,
    reached: end > 0,
    paths,
    seconds: end > 0 ? +((end - t0) / 1000).toFixed(3) : null,
    cpuSeconds: +cpu.toFixed(3),
    vmHwmMB: +(hwm / 1048576).toFixed(1),
    rssBeforeMB: +(rss0 / 1048576).toFixed(1),
    bytesPerPath: Math.round((hwm - rss0) / paths),
  };
}

async function main(): Promise<void> {
  try {
    sh('ip', ['netns', 'del', NS]);
  } catch {
    /* none */
  }
  sh('ip', ['netns', 'add', NS]);
  sh('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  mkdirSync(dir, { recursive: true });
  const etcd = await etcdUp();
  configure();
  const all: Record<string, unknown>[] = [];
  for (let r = 1; r <= runs; r++) {
    const order = r % 2 === 1 ? sides : [...sides].reverse();
    for (const s of order) {
      const rec = await runOne(s, r);
      console.log(JSON.stringify(rec));
      all.push(rec);
    }
  }
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  for (const s of sides) {
    const rs = all.filter((x) => x.side === (s === 'bird' ? 'bird' : s) && x.reached);
    const f = (k: string) => rs.map((x) => x[k] as number);
    console.log(JSON.stringify({ summary: s, shape, runs: rs.length, secondsMin: Math.min(...f('seconds')), secondsMedian: med(f('seconds')), cpuMin: Math.min(...f('cpuSeconds')), cpuMedian: med(f('cpuSeconds')), bytesPerPathMedian: med(f('bytesPerPath')), vmHwmMBMedian: med(f('vmHwmMB')) }));
  }
  await kill(etcd);
  sh('ip', ['netns', 'del', NS]);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
