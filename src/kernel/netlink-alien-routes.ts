/**
 * Watches the main table's alien routes over rtnetlink, as BIRD's kernel
 * protocol with `learn` does on Linux (async notifications plus a periodic
 * scan): one socket joined to RTNLGRP_IPV4_ROUTE and RTNLGRP_IPV6_ROUTE for
 * RTM_NEWROUTE / RTM_DELROUTE, one more for dumps.
 *
 * Order of events, so that nothing is missed or resurrected:
 * 1. join the groups first, then dump: a route added after the dump passed
 *    its place still arrives as a notification (and a route added before the
 *    agent started is in the dump);
 * 2. notifications that arrive while a dump runs are kept and replayed on top
 *    of the dump when it ends (the two sockets are not ordered with each
 *    other; replaying the later events in their own order leaves every route
 *    as its last event said);
 * 3. every `rescanMs` (BIRD's `scan time 2`) the monitor socket's drop
 *    counter (/proc/net/netlink) is read, and the table dumped again when it
 *    moved, or anyway every `fullRescanMs`; which
 *    repairs a notification the kernel dropped on an overrun
 *    (NETLINK_NO_ENOBUFS, netlink/monitor-socket.ts).
 *
 * The monitor socket carries a kernel filter that drops the route messages of
 * the ignored protocols (the agent's own writes among them), so a large batch
 * of the route programmer costs this socket nothing.
 */
import { createRequire } from 'node:module';
import type { PrefixKey } from '../bgp/prefix.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { AlienRouteTable, ignoredProtocols, type AlienRouteSource } from './alien-routes.js';
import { alienRouteFilter, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE } from './netlink/alien-filter.js';
import { netlinkDrops, prepareMonitorSocket, readProcNetlink } from './netlink/monitor-socket.js';
import { AF_INET, AF_INET6, messages, NLMSG_DONE, NLMSG_ERROR, newRouteFields, parseRoute, readRoute, routeDumpRequest, RTM_DELROUTE, RTM_NEWROUTE, type DumpedRoute } from './netlink/rtnetlink.js';
import { RTPROT_BIRD } from './route.js';

interface RawSocket {
  on(event: 'message', fn: (msg: Buffer) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  send(msg: Uint8Array, options?: { port?: number }, cb?: (err?: Error) => void): void;
  address(): { port: number };
  addMembership(group: number): void;
  close(): void;
}

export interface NetlinkAlienRoutesOptions {
  /** The agent's own route protocol (never learned). */
  protocol?: number;
  /**
   * How often the monitor's drop counter is checked (BIRD's kernel `scan time 2`: 2 s); a
   * dump follows only when notifications were lost, so a node holding 1M routes of
   * ours is not dumped every 2 s for the few alien ones.
   */
  rescanMs?: number;
  /** A full dump at least this often whatever the counter says (default 60 s). */
  fullRescanMs?: number;
  /** Reads the monitor socket's drop counter (tests); default /proc/self/net/netlink. */
  drops?: (port: number) => number | null;
  clock?: Clock;
  /** Errors of a rescan (the next one retries). */
  onError?: (err: Error) => void;
}

const NETLINK_ROUTE = 0;

export class NetlinkAlienRoutes implements AlienRouteSource {
  private readonly table: AlienRouteTable;
  private readonly rescanMs: number;
  private readonly fullRescanMs: number;
  private readonly drops: (port: number) => number | null;
  private lastDrops: number | null = null;
  private lastFullAt = 0;
  private readonly clock: Clock;
  private readonly listeners = new Set<(prefixes: ReadonlySet<PrefixKey>) => void>();
  private current: ReadonlySet<PrefixKey> = new Set();
  /** Notifications received while a dump runs (replayed after it), or null when none runs. */
  private during: { added: boolean; route: DumpedRoute }[] | null = null;
  private dumpWaiter: { seq: number; out: DumpedRoute[]; resolve: () => void; reject: (e: Error) => void } | null = null;
  private seq = 1;
  private readonly fields = newRouteFields();
  /** Protocols `learn` ignores: their routes never enter the table (alien-routes.ts). */
  private readonly ignored: ReadonlySet<number>;
  private timer: TimerHandle | null = null;
  private closed = false;
  /** Dumps done (status, tests). */
  dumps = 0;

  private constructor(
    private readonly monitor: RawSocket,
    private readonly dumper: RawSocket,
    private readonly opts: NetlinkAlienRoutesOptions,
  ) {
    this.table = new AlienRouteTable(opts.protocol ?? RTPROT_BIRD);
    this.ignored = new Set(ignoredProtocols(opts.protocol ?? RTPROT_BIRD));
    this.rescanMs = opts.rescanMs ?? 2000;
    this.fullRescanMs = opts.fullRescanMs ?? 60_000;
    this.drops = opts.drops ?? ((port) => netlinkDrops(readProcNetlink(), port));
    this.clock = opts.clock ?? systemClock;
    monitor.on('message', (buf) => this.guard(() => this.notified(buf)));
    monitor.on('error', (err) => opts.onError?.(err));
    dumper.on('message', (buf) => this.guard(() => this.dumped(buf)));
    dumper.on('error', (err) => this.dumpWaiter?.reject(err));
    // No unref(): measured, unref() on these sockets before their first read
    // aborts the process in the package's native code; close() releases them.
  }

  /** Both sockets in this process's namespace; the monitor joined and filtered. */
  static open(opts: NetlinkAlienRoutesOptions = {}): NetlinkAlienRoutes {
    const require = createRequire(import.meta.url);
    const pkg = require('netlink') as { RawNetlinkSocket: new (protocol: number, options?: object) => RawSocket };
    const monitor = new pkg.RawNetlinkSocket(NETLINK_ROUTE, { recvBufferSize: 4 << 20 });
    try {
      prepareMonitorSocket(monitor.address().port, alienRouteFilter(ignoredProtocols(opts.protocol ?? RTPROT_BIRD)));
      monitor.addMembership(RTNLGRP_IPV4_ROUTE);
      try {
        monitor.addMembership(RTNLGRP_IPV6_ROUTE);
      } catch {
        // a kernel without IPv6 (ipv6.disable=1): IPv4 only
      }
    } catch (err) {
      monitor.close();
      throw err;
    }
    const dumper = new pkg.RawNetlinkSocket(NETLINK_ROUTE, { recvBufferSize: 4 << 20 });
    return new NetlinkAlienRoutes(monitor, dumper, opts);
  }

  /** The initial dump (routes added before the agent started), then notifications and rescans. */
  async start(): Promise<void> {
    this.rescanDue(); // the drop counter as it is before the first dump
    await this.rescan();
    this.emit();
    this.schedule();
  }

  prefixes(): ReadonlySet<PrefixKey> {
    return this.current;
  }

  subscribe(fn: (prefixes: ReadonlySet<PrefixKey>) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.monitor.close();
    this.dumper.close();
    this.dumpWaiter?.reject(new Error('closed'));
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = this.clock.setTimer(this.rescanMs, () => {
      if (!this.rescanDue()) return this.schedule();
      void this.rescan().then(
        (changed) => {
          if (changed) this.emit();
        },
        (err: Error) => this.opts.onError?.(err),
      ).finally(() => this.schedule());
    });
  }

  /** Notifications were lost since the last look (or it cannot tell), or a full dump is due. */
  private rescanDue(): boolean {
    let drops: number | null = null;
    try {
      drops = this.drops(this.monitor.address().port);
    } catch {
      drops = null;
    }
    const moved = drops === null || drops !== this.lastDrops;
    this.lastDrops = drops;
    return moved || this.clock.now() - this.lastFullAt >= this.fullRescanMs;
  }

  private emit(): void {
    if (this.closed) return;
    this.current = this.table.prefixes();
    for (const fn of this.listeners) fn(this.current);
  }

  /** Dump both families and make the table the dump plus what was notified meanwhile. */
  private async rescan(): Promise<boolean> {
    this.lastFullAt = this.clock.now();
    this.during = [];
    let out: DumpedRoute[] = [];
    try {
      out = await this.dump(AF_INET);
      try {
        out = out.concat(await this.dump(AF_INET6));
      } catch (err) {
        if (!/family not supported|errno 97\b/i.test((err as Error).message)) throw err;
      }
    } catch (err) {
      this.during = null;
      throw err;
    }
    const replay = this.during;
    this.during = null;
    let changed = this.table.replaceAll(out);
    for (const e of replay) if (this.table.apply(e.added, e.route)) changed = true;
    this.dumps++;
    return changed;
  }

  private dump(family: number): Promise<DumpedRoute[]> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('closed'));
      const seq = this.seq++;
      const out: DumpedRoute[] = [];
      this.dumpWaiter = { seq, out, resolve: () => resolve(out), reject };
      this.dumper.send(routeDumpRequest(seq, family), { port: 0 }, (err) => {
        if (err) reject(err);
      });
    });
  }

  private dumped(buf: Buffer): void {
    const w = this.dumpWaiter;
    if (!w) return;
    for (const h of messages(buf)) {
      if (h.seq !== w.seq) continue;
      if (h.type === NLMSG_DONE) {
        this.dumpWaiter = null;
        w.resolve();
        return;
      }
      if (h.type === NLMSG_ERROR) {
        this.dumpWaiter = null;
        w.reject(new Error(`route dump failed: errno ${-buf.readInt32LE(h.payload)}`));
        return;
      }
      if (h.type !== RTM_NEWROUTE) continue;
      // The dump holds every route of the table, the agent's own (up to 1M
      // proto bird) among them: those are read into one reused record and
      // skipped, so a rescan makes objects only for the alien routes (issue 16).
      if (!readRoute(buf, h, this.fields) || this.ignored.has(this.fields.protocol)) continue;
      const r = parseRoute(buf, h);
      if (r) w.out.push(r);
    }
  }

  private notified(buf: Buffer): void {
    let changed = false;
    for (const h of messages(buf)) {
      if (h.type !== RTM_NEWROUTE && h.type !== RTM_DELROUTE) continue;
      const r = parseRoute(buf, h);
      if (!r) continue;
      const added = h.type === RTM_NEWROUTE;
      if (this.during) this.during.push({ added, route: r });
      else if (this.table.apply(added, r)) changed = true;
    }
    if (changed) this.emit();
  }

  /** An exception escaping a native callback aborts the process: never let one out. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }
}
