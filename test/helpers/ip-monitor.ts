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
    // A device route: needs no gateway, so any namespace with lo up takes it.
    this.ns.ip(['route', 'add', prefix, 'dev', 'lo', 'proto', 'static']);
    await until(`ip monitor in ${this.ns.name} to show sentinel ${prefix}`, () => this.seen.includes(prefix), 10_000);
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
