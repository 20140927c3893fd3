/**
 * `ip -4 monitor route` in a namespace, bracketed by sentinel routes: a
 * sentinel added (proto static, a prefix nothing else uses) and seen proves
 * the monitor was listening at that moment, so "nothing happened between two
 * sentinels" is evidence, not a monitor that had not started yet.
 *
 * IPv4 only: the kernel adds IPv6 link-local routes by itself whenever a veth
 * finishes DAD, which is noise here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Netns } from '../../src/testbed/netns.js';
import { until } from './wait.js';

export class RouteMonitor {
  private readonly proc: ChildProcess;
  private seen = '';
  private sentinels = 0;

  constructor(
    readonly ns: Netns,
    /** Sentinel prefixes are 172.31.<base + n>.0/24, so two monitors in one test need different bases. */
    private readonly base = 0,
  ) {
    this.proc = spawn('ip', ['-4', '-n', ns.name, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d: Buffer) => (this.seen += d.toString()));
  }

  /** Add a sentinel route and wait until the monitor printed it; returns its prefix. */
  async mark(): Promise<string> {
    const prefix = `172.31.${this.base + this.sentinels++}.0/24`;
    await sentinel(this.ns, prefix, () => this.seen, ['dev', 'lo']);
    return prefix;
  }

  /** Lines printed after sentinel `from` (its add) and before sentinel `to` (or up to now), sentinels left out. */
  between(from: string, to?: string): string[] {
    const start = this.seen.indexOf(from);
    if (start < 0) throw new Error(`sentinel ${from} was never seen`);
    const end = to ? this.seen.indexOf(to, start) : this.seen.length;
    return this.seen
      .slice(start, end < 0 ? undefined : end)
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l && !l.includes('172.31.'));
  }

  /** proto bird lines since sentinel `from`: adds and replacements print the route, deletions start with "Deleted". */
  birdSince(from: string, to?: string): string[] {
    return this.between(from, to).filter((l) => l.includes('proto bird'));
  }

  stop(): void {
    this.proc.kill('SIGTERM');
  }
}

/**
 * Add sentinel route `prefix` until `seen()` shows it. A freshly spawned `ip
 * monitor` may not have bound its netlink socket yet when the first add
 * happens (under load, by hundreds of milliseconds), and that event is then
 * lost for good: so the route is deleted and added again until one add is
 * seen, which proves the monitor is listening from then on.
 */
export async function sentinel(ns: Netns, prefix: string, seen: () => string, via: string[] = ['dev', 'lo'], timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    ns.ip(['route', 'replace', prefix, ...via, 'proto', 'static']);
    try {
      await until(`ip monitor in ${ns.name} to show sentinel ${prefix}`, () => seen().includes(prefix), 500);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      ns.ip(['route', 'del', prefix], { allowFail: true });
    }
  }
}
