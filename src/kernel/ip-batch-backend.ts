/**
 * Fallback kernel backend: iproute2. One `ip -force -batch -` process per
 * batch (never one per route); `-force` keeps going past a failed line and
 * reports it as "Command failed -:<line>", which maps the error back to the
 * route. Dumps parse `ip -4 -o route show table main` and, for IPv6 (issue
 * 19), `ip -6 -o route show table main`; `ip` takes the family of a
 * `route replace` / `route del` line from its addresses.
 *
 * About 3x slower than batched netlink here (bench/kernel), but needs nothing
 * but the `ip` binary; chosen with `--kernel-backend ip`.
 */
import { spawn } from 'node:child_process';
import { formatIpv4, formatPrefix, keyLength, parseIpv4, parsePrefix } from '../bgp/prefix.js';
import { isPrefix6, parseAddress6, parsePrefix6 } from '../bgp/prefix6.js';
import type { ShapeTable } from './route-table.js';
import { splitScan, type KernelBackend, type KernelScan, type RouteOp, type RouteOpError } from './backend.js';
import { formatGateway, formatKey, type KernelRoute, type NextHop, type RouteType } from './route.js';

export interface IpBatchBackendOptions {
  /** The `ip` binary (default "ip" on PATH). */
  ip?: string;
  /** Extra arguments before the command, e.g. ['-n', 'ns1'] to act on another namespace. */
  prefixArgs?: string[];
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined); // ip may exit early; its stderr says why
    child.stdin.end(input ?? '');
  });
}

/** The `ip -batch` line for one op (protocol bird, main table). */
export function ipBatchLine(op: RouteOp): string {
  const r = op.route;
  const v6 = isPrefix6(r.prefix);
  const dst = formatKey(r.prefix);
  // IPv6: the model's metric 0 is the kernel's 1024, named on deletes so only that route matches.
  const metric = r.metric !== 0 ? ` metric ${r.metric}` : v6 && op.op === 'delete' ? ' metric 1024' : '';
  if (op.op === 'delete') return `route del ${dst} proto bird table main${metric}`;
  const parts = ['route replace'];
  if (r.type !== 'unicast') parts.push(r.type === 'other' ? 'unicast' : r.type);
  parts.push(dst);
  if (r.gateway !== undefined) parts.push('via', v6 ? formatGateway(r.gateway) : formatIpv4(r.gateway));
  if (r.dev !== undefined) parts.push('dev', r.dev);
  parts.push('proto bird table main');
  if (metric) parts.push(metric.trim());
  if (r.onlink) parts.push('onlink');
  for (const nh of r.nexthops ?? []) {
    parts.push('nexthop', 'via', formatIpv4(nh.gateway));
    if (nh.dev !== undefined) parts.push('dev', nh.dev);
    parts.push('weight', '1');
    if (nh.onlink) parts.push('onlink');
  }
  return parts.join(' ');
}

/** Map `ip -force -batch` stderr to {line -> message}: each failure ends with "Command failed -:N". */
export function parseBatchErrors(stderr: string): Map<number, string> {
  const out = new Map<number, string>();
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^Command failed .*:(\d+)$/.exec(line);
    if (m) {
      out.set(Number(m[1]), pending.join(' ').replace(/^Error: /, '').replace(/\.$/, '') || 'failed');
      pending = [];
    } else pending.push(line);
  }
  return out;
}

const TYPES = new Set(['blackhole', 'unreachable', 'prohibit', 'unicast', 'local', 'broadcast', 'throw', 'nat', 'anycast', 'multicast']);

/** Parse one line of `ip -4 -o route show table main`; null for lines it cannot place. */
export function parseIpRouteLine(line: string): { route: KernelRoute; protocol: string } | null {
  return parseLine(line, 4);
}

/** Parse one line of `ip -6 -o route show table main` (where "default" is ::/0). */
export function parseIpRoute6Line(line: string): { route: KernelRoute; protocol: string } | null {
  return parseLine(line, 6);
}

function parseLine(line: string, family: 4 | 6): { route: KernelRoute; protocol: string } | null {
  const words = line.replace(/\\/g, ' ').trim().split(/\s+/);
  if (!words[0]) return null;
  let i = 0;
  let type: RouteType = 'unicast';
  if (TYPES.has(words[0])) {
    const t = words[i++];
    type = t === 'blackhole' || t === 'unreachable' || t === 'prohibit' || t === 'unicast' ? t : 'other';
  }
  const dstText = words[i++];
  // IPv6 lines (`ip -6 -o route`): addresses with colons; "default" is ::/0 there.
  const v6 = dstText.includes(':') || family === 6;
  let prefix: number;
  try {
    if (v6) prefix = dstText === 'default' ? parsePrefix6('::/0') : parsePrefix6(dstText.includes('/') ? dstText : `${dstText}/128`, true);
    else prefix = dstText === 'default' ? 0 : dstText.includes('/') ? parsePrefix(dstText, true) : parsePrefix(`${dstText}/32`);
  } catch {
    return null;
  }
  const route: KernelRoute = { prefix, type, onlink: false, metric: 0 };
  let protocol = 'boot';
  // `nexthop via A dev D weight 1 onlink ...`: the words after each `nexthop` describe that next hop.
  const hops: { gateway?: number; dev?: string; onlink: boolean }[] = [];
  for (; i < words.length; i++) {
    const cur = hops.at(-1);
    const w = words[i];
    switch (w) {
      case 'via': {
        let gw = words[++i];
        if (gw === 'inet' || gw === 'inet6') gw = words[++i];
        try {
          if (cur) cur.gateway = v6 ? parseAddress6(gw) : parseIpv4(gw);
          else route.gateway = v6 ? parseAddress6(gw) : parseIpv4(gw);
        } catch {
          return null; // a gateway of the other family (RFC 5549): never one of ours
        }
        break;
      }
      case 'dev':
        if (cur) cur.dev = words[++i];
        else route.dev = words[++i];
        break;
      case 'proto':
        protocol = words[++i];
        break;
      case 'metric':
        route.metric = Number(words[++i]);
        break;
      case 'onlink':
        if (cur) cur.onlink = true;
        else route.onlink = true;
        break;
      case 'nexthop':
        hops.push({ onlink: false });
        break;
      case 'tos':
      case 'dsfield':
        if (words[i + 1] !== '0' && words[i + 1] !== '0x00') return null;
        i++;
        break;
      case 'from':
        return null;
      case 'scope':
      case 'src':
      case 'table':
      case 'mtu':
      case 'advmss':
      case 'weight':
      case 'pref':
      case 'realm':
      case 'expires':
      case 'congctl':
        i++;
        break;
    }
  }
  if (hops.length > 0) {
    // IPv4 multipath is modelled (ECMP); anything else multipath is 'other', replaced if it is ours.
    if (!v6 && hops.every((h) => h.gateway !== undefined)) route.nexthops = hops as NextHop[];
    else route.type = 'other';
  }
  if (v6 && route.metric === 1024) route.metric = 0; // the kernel's default IPv6 priority (src/kernel/route.ts)
  return { route, protocol };
}

export class IpBatchBackend implements KernelBackend {
  readonly name = 'ip-batch';
  private readonly ip: string;
  private readonly pre: string[];

  constructor(opts: IpBatchBackendOptions = {}) {
    this.ip = opts.ip ?? 'ip';
    this.pre = opts.prefixArgs ?? [];
  }

  async dump(): Promise<KernelRoute[]> {
    return (await this.scan()).routes.toArray();
  }

  async scan(shapes?: ShapeTable): Promise<KernelScan> {
    const res = await run(this.ip, [...this.pre, '-4', '-o', 'route', 'show', 'table', 'main']);
    if (res.code !== 0) throw new Error(`ip route show: ${res.stderr.trim()}`);
    const all: { route: KernelRoute; protocol: string }[] = [];
    for (const line of res.stdout.split('\n')) {
      const parsed = parseIpRouteLine(line);
      if (parsed) all.push(parsed);
    }
    const res6 = await run(this.ip, [...this.pre, '-6', '-o', 'route', 'show', 'table', 'main']);
    // A kernel without IPv6 answers with an error: there is no IPv6 table to manage then.
    if (res6.code === 0) {
      for (const line of res6.stdout.split('\n')) {
        const parsed = parseIpRoute6Line(line);
        if (parsed) all.push(parsed);
      }
    }
    return splitScan(all, 'bird', shapes);
  }

  async apply(ops: RouteOp[]): Promise<RouteOpError[]> {
    if (ops.length === 0) return [];
    const input = ops.map(ipBatchLine).join('\n') + '\n';
    const res = await run(this.ip, [...this.pre, '-force', '-batch', '-'], input);
    const failures = parseBatchErrors(res.stderr);
    if (res.code !== 0 && failures.size === 0) throw new Error(`ip -batch failed: ${res.stderr.trim()}`);
    const errors: RouteOpError[] = [];
    for (const [line, message] of failures) {
      const op = ops[line - 1];
      if (!op) continue;
      errors.push({ route: op.route, op: op.op, error: message, code: codeOf(message) });
    }
    return errors;
  }

  async linkIndex(name: string): Promise<number | null> {
    const res = await run(this.ip, [...this.pre, '-o', 'link', 'show', 'dev', name]);
    if (res.code !== 0) return null;
    const m = /^(\d+):/.exec(res.stdout);
    return m ? Number(m[1]) : null;
  }

  close(): void {}
}

function codeOf(message: string): string | undefined {
  if (/Cannot find device|No such device/i.test(message)) return 'ENODEV';
  if (/No such process/i.test(message)) return 'ESRCH';
  if (/invalid gateway|Invalid argument/i.test(message)) return 'EINVAL';
  if (/unreachable/i.test(message)) return 'ENETUNREACH';
  if (/File exists/i.test(message)) return 'EEXIST';
  return undefined;
}

/** For tests and the bench: the host prefix text `ip` prints for a route's destination. */
export function ipDst(prefix: number): string {
  return keyLength(prefix) === 32 ? formatIpv4(Math.floor(prefix / 64)) : formatPrefix(prefix);
}
