/**
 * Kernel route programming benchmark: install, replace and delete N onlink
 * /26 routes over tunl0 in a fresh network namespace, side by side, in one run:
 *   - ours: NetlinkBackend (batched rtnetlink, barrier ACKs)
 *   - `ip -batch` (iproute2 reading the same routes from stdin)
 *   - BIRD 2's kernel protocol exporting N static routes (calico-node's way),
 *     timed from `birdc configure` / `enable` / `disable` until the kernel holds
 *     the expected count (polled with a netlink dump every 100 ms, so BIRD's
 *     figures carry up to ~100 ms of polling granularity).
 *
 * Run as root: `node dist/bench/kernel/kernel-bench.js [--sizes 10000,100000]`.
 * The process re-executes itself under `ip netns exec` so every backend opens
 * its socket inside the namespace, as the agent does. Results:
 * bench/results/kernel.json and a table on stdout.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { formatPrefix, parseIpv4 } from '../../src/bgp/prefix.js';
import type { RouteOp } from '../../src/kernel/backend.js';
import { NetlinkBackend } from '../../src/kernel/netlink-backend.js';
import { gatewayRoute } from '../../src/kernel/route.js';

type Phase = 'install' | 'replace' | 'delete';
interface Row {
  method: 'netlink' | 'ip-batch' | 'bird';
  n: number;
  phase: Phase;
  ms: number | null;
  routesPerSec: number | null;
  note?: string;
}

const BASE = parseIpv4('10.128.0.0');
const GW1 = parseIpv4('20.20.2.4');
const GW2 = parseIpv4('20.20.2.5');
const prefixOf = (i: number) => ((BASE + i * 64) >>> 0) * 64 + 26;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

// ---------------------------------------------------------------- outer ----

function outer(): void {
  if (process.getuid?.() !== 0) throw new Error('kernel bench needs root (network namespaces)');
  const ns = `knb${process.pid % 100000}`;
  const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    ip('-n', ns, 'link', 'set', 'eth0p', 'up');
    ip('-n', ns, 'addr', 'add', '10.10.20.5/24', 'dev', 'eth0');
    ip('-n', ns, 'link', 'add', 'tunl0', 'type', 'veth', 'peer', 'name', 'tunl0p');
    ip('-n', ns, 'link', 'set', 'tunl0', 'up');
    ip('-n', ns, 'link', 'set', 'tunl0p', 'up');
    ip('-n', ns, 'addr', 'add', '192.168.160.193/32', 'dev', 'tunl0');
    const res = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, KERNEL_BENCH_INNER: '1' },
    });
    if (res.status !== 0) process.exitCode = res.status ?? 1;
  } finally {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

// ---------------------------------------------------------------- inner ----

async function countBird(b: NetlinkBackend): Promise<number> {
  return (await b.dump()).length;
}

async function timeNetlink(b: NetlinkBackend, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const mk = (gw: number) => Array.from({ length: n }, (_, i): RouteOp => ({ op: 'replace', route: gatewayRoute(prefixOf(i), gw, 'tunl0', true) }));
  for (const [phase, ops] of [
    ['install', mk(GW1)],
    ['replace', mk(GW2)],
    ['delete', mk(GW2).map((o): RouteOp => ({ op: 'delete', route: o.route }))],
  ] as [Phase, RouteOp[]][]) {
    const t0 = performance.now();
    const errors = await b.apply(ops);
    const ms = performance.now() - t0;
    const count = await countBird(b);
    const expected = phase === 'delete' ? 0 : n;
    const note = errors.length || count !== expected ? `errors=${errors.length} count=${count}` : undefined;
    rows.push({ method: 'netlink', n, phase, ms, routesPerSec: n / (ms / 1000), ...(note ? { note } : {}) });
  }
  return rows;
}

function ipBatch(lines: string): number {
  const t0 = performance.now();
  const res = spawnSync('ip', ['-batch', '-'], { input: lines, stdio: ['pipe', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const ms = performance.now() - t0;
  if (res.status !== 0) throw new Error(`ip -batch: ${String(res.stderr).slice(0, 300)}`);
  return ms;
}

async function timeIpBatch(b: NetlinkBackend, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const lines = (verb: string, gw: string | null) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      out.push(gw ? `route ${verb} ${formatPrefix(prefixOf(i))} via ${gw} dev tunl0 proto bird onlink` : `route del ${formatPrefix(prefixOf(i))} proto bird`);
    }
    return out.join('\n') + '\n';
  };
  for (const [phase, text] of [
    ['install', lines('replace', '20.20.2.4')],
    ['replace', lines('replace', '20.20.2.5')],
    ['delete', lines('del', null)],
  ] as [Phase, string][]) {
    const ms = ipBatch(text);
    const count = await countBird(b);
    const expected = phase === 'delete' ? 0 : n;
    rows.push({ method: 'ip-batch', n, phase, ms, routesPerSec: n / (ms / 1000), ...(count !== expected ? { note: `count=${count}` } : {}) });
  }
  return rows;
}

async function waitCount(b: NetlinkBackend, want: (c: number) => boolean, limitMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const c = await countBird(b);
    if (want(c)) return performance.now() - t0;
    if (performance.now() - t0 > limitMs) throw new Error(`timed out with ${c} routes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function timeBird(b: NetlinkBackend, n: number): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'knb-bird-'));
  const birdc = (...a: string[]) => execFileSync('birdc', ['-s', join(dir, 'bird.ctl'), ...a], { stdio: 'pipe' }).toString();
  const writeConf = (gw: string) => {
    const routes: string[] = [];
    for (let i = 0; i < n; i++) routes.push(`route ${formatPrefix(prefixOf(i))} via "tunl0";`);
    // Stock BIRD 2: static device routes on tunl0, turned into calico's `via GW dev tunl0 onlink`
    // by the kernel export filter (onlink first, so gw resolves on tunl0). Metric 0 as calico's BIRD.
    writeFileSync(
      join(dir, 'bird.conf'),
      `router id 10.10.20.5;
protocol device { scan time 10; }
protocol static s1 { ipv4;
${routes.join('\n')}
}
protocol kernel k1 {
  ipv4 { import none; export filter { onlink = true; gw = ${gw}; accept; }; };
  metric 0; learn off; scan time 3600;
}
`,
    );
  };
  const rows: Row[] = [];
  writeConf('20.20.2.4');
  // Install is timed from process start (config parse of N static routes included, as on a node restart).
  const t0 = performance.now();
  const child = spawn('bird', ['-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')], { stdio: process.env.KERNEL_BENCH_DEBUG ? 'inherit' : 'ignore' });
  try {
    child.unref();
    await waitCount(b, (c) => c >= n, Number(process.env.KERNEL_BENCH_BIRD_LIMIT_MS ?? 120_000));
    let ms = performance.now() - t0;
    rows.push({ method: 'bird', n, phase: 'install', ms, routesPerSec: n / (ms / 1000), note: 'from process start; 100 ms poll' });
    writeConf('20.20.2.5');
    const t1 = performance.now();
    birdc('configure');
    // Replaced when every route shows the new gateway.
    for (;;) {
      const routes = await b.dump();
      if (routes.length >= n && routes.every((r) => r.gateway === GW2)) break;
      if (performance.now() - t1 > 120_000) throw new Error('bird replace timed out');
      await new Promise((r) => setTimeout(r, 100));
    }
    ms = performance.now() - t1;
    rows.push({ method: 'bird', n, phase: 'replace', ms, routesPerSec: n / (ms / 1000), note: 'birdc configure; 100 ms poll' });
    const t2 = performance.now();
    birdc('disable', 's1');
    await waitCount(b, (c) => c === 0, 120_000);
    ms = performance.now() - t2;
    rows.push({ method: 'bird', n, phase: 'delete', ms, routesPerSec: n / (ms / 1000), note: 'birdc disable static; 100 ms poll' });
  } catch (err) {
    rows.push({ method: 'bird', n, phase: 'install', ms: null, routesPerSec: null, note: `not measured: ${(err as Error).message.slice(0, 200)}` });
  } finally {
    try {
      birdc('down');
    } catch {
      child.kill('SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 200));
    // Whatever BIRD left behind goes before the next method runs.
    const left = await b.dump();
    if (left.length) await b.apply(left.map((route): RouteOp => ({ op: 'delete', route })));
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

async function inner(): Promise<void> {
  const sizes = arg('sizes', '10000,100000').split(',').map(Number);
  const skipBird = process.argv.includes('--no-bird');
  const b = await NetlinkBackend.open();
  const rows: Row[] = [];
  let scan: { n: number; ms: number }[] = [];
  try {
    for (const n of sizes) {
      rows.push(...(await timeNetlink(b, n)));
      rows.push(...(await timeIpBatch(b, n)));
      // The periodic scan's cost at this size: one dump of N proto bird routes.
      await b.apply(Array.from({ length: n }, (_, i): RouteOp => ({ op: 'replace', route: gatewayRoute(prefixOf(i), GW1, 'tunl0', true) })));
      const t0 = performance.now();
      await b.scan();
      scan.push({ n, ms: performance.now() - t0 });
      await b.apply(Array.from({ length: n }, (_, i): RouteOp => ({ op: 'delete', route: gatewayRoute(prefixOf(i), GW1, 'tunl0', true) })));
      if (!skipBird) rows.push(...(await timeBird(b, n)));
    }
  } finally {
    b.close();
  }
  scan = scan.map((s) => ({ n: s.n, ms: Math.round(s.ms) }));

  const ratios: Record<string, number | null> = {};
  for (const n of sizes) {
    for (const phase of ['install', 'replace', 'delete'] as Phase[]) {
      const ours = rows.find((r) => r.method === 'netlink' && r.n === n && r.phase === phase)?.ms;
      const ipb = rows.find((r) => r.method === 'ip-batch' && r.n === n && r.phase === phase)?.ms;
      ratios[`${n}/${phase}`] = ours && ipb ? Math.round((ipb / ours) * 100) / 100 : null;
    }
  }
  const result = {
    benchmark: 'kernel route programming (onlink /26 via tunl0, proto bird)',
    date: new Date().toISOString(),
    kernel: execFileSync('uname', ['-r']).toString().trim(),
    cpus: (await import('node:os')).cpus().length,
    batching: (await NetlinkBackend.open().then((x) => {
      const v = x.batching;
      x.close();
      return v;
    })),
    rows: rows.map((r) => ({ ...r, ms: r.ms === null ? null : Math.round(r.ms), routesPerSec: r.routesPerSec === null ? null : Math.round(r.routesPerSec) })),
    speedupOverIpBatch: ratios,
    scanDumpMs: scan,
    targets: { installRoutesPerSec: 150_000, overIpBatch: 1.5 },
  };
  // Relative to the working directory (run from the repo root), so it works compiled or bundled.
  const outFile = process.env.KERNEL_BENCH_OUT ?? resolve(process.cwd(), 'bench/results/kernel.json');
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');

  console.log('method    n        phase     ms      routes/s   note');
  for (const r of result.rows) {
    console.log(
      `${r.method.padEnd(9)} ${String(r.n).padEnd(8)} ${r.phase.padEnd(9)} ${String(r.ms ?? '-').padStart(6)}  ${String(r.routesPerSec ?? '-').padStart(9)}   ${r.note ?? ''}`,
    );
  }
  console.log('ours vs ip -batch (x faster):', JSON.stringify(ratios));
  console.log('scan (dump) ms:', JSON.stringify(scan));
  console.log(`written ${outFile}`);
}

if (process.env.KERNEL_BENCH_INNER === '1') await inner();
else outer();
