/**
 * The kernel routes of the SUT as netlink events (`ip -n bnsut monitor
 * route`, started before the run): which `proto bird` unicast routes are
 * present and when each arrived (CLOCK_MONOTONIC ms at arrival in this
 * process). Nobody asks the speaker anything: the kernel tells.
 */
import type { ChildProcess } from 'node:child_process';
import { SUT_NS } from './lab.js';
import { monoMs, spawnTracked, stopChild } from './proc.js';
import { sh } from './sh.js';

export class RouteWatch {
  private proc: ChildProcess;
  readonly present = new Set<string>();
  /** Arrival of each prefix (first add), only when `timestamps`. */
  readonly arrived = new Map<string, number>();
  lastEventMono = 0;
  overruns = 0;
  private rest = '';
  private waiters: { n: number; resolve: (t: number) => void }[] = [];

  constructor(private readonly timestamps = false) {
    this.proc = spawnTracked('ip', ['-rcvbuf', '268435456', '-n', SUT_NS, 'monitor', 'route']);
    this.proc.stdout?.on('data', (d: Buffer) => this.onData(d));
    this.proc.stderr?.on('data', (d: Buffer) => {
      if (/overrun|No buffer/i.test(d.toString())) this.overruns++;
    });
  }

  private onData(d: Buffer): void {
    const now = monoMs();
    const text = this.rest + d.toString();
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('proto bird')) continue;
      if (line.startsWith('Deleted ')) {
        const p = line.slice(8).split(' ')[0];
        if (!p.startsWith('blackhole')) this.present.delete(p);
      } else if (!line.startsWith('blackhole') && !line.startsWith('unreachable')) {
        const p = line.slice(0, line.indexOf(' '));
        this.present.add(p);
        if (this.timestamps && !this.arrived.has(p)) this.arrived.set(p, now);
      } else continue;
      this.lastEventMono = now;
    }
    if (/overrun/i.test(text)) this.overruns++;
    for (const w of [...this.waiters]) {
      if (this.present.size >= w.n) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(now);
      }
    }
  }

  /** Resolves with the arrival time of the event that made `n` routes present. */
  when(n: number): Promise<number> {
    if (this.present.size >= n) return Promise.resolve(this.lastEventMono);
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async stop(): Promise<void> {
    await stopChild(this.proc);
  }
}

/** One dump: proto bird unicast routes in the SUT (the confirming count, after the end). */
export function kernelRouteCount(): number {
  return sh('ip', ['-n', SUT_NS, 'route', 'show', 'proto', 'bird'], { allowFail: true })
    .split('\n')
    .filter((l) => l && !l.startsWith('blackhole')).length;
}

export function sinceMono(t: number): number {
  return (monoMs() - t) / 1000;
}
