/**
 * The default kernel backend: batched rtnetlink over the `netlink` package's
 * raw NETLINK_ROUTE socket (Node has none of its own).
 *
 * Batching and acknowledgement (why it is shaped like this):
 * - Hundreds of RTM_NEWROUTE / RTM_DELROUTE messages go in one sendmsg; the
 *   kernel runs them in order inside that call (netlink_rcv_skb).
 * - Route messages carry no NLM_F_ACK: only failures come back, as NLMSG_ERROR
 *   with the request's sequence number, so the receive queue holds errors only.
 * - Each send ends with an NLMSG_NOOP carrying NLM_F_ACK (a barrier): its ACK
 *   arrives after every error of that send, so "barrier acked" = "send done and
 *   all its errors read". At most `window` sends are unacknowledged at once,
 *   which bounds the error replies queued (window x messagesPerSend) well
 *   below SO_RCVBUF.
 * - The receive buffer must never overflow: measured here, an ENOBUFS from
 *   recvmsg aborts the whole process inside the package's native callback
 *   ("terminate called after throwing an instance of 'Napi::Error'") even with
 *   an 'error' listener attached. So the window is derived from the SO_RCVBUF
 *   the kernel actually granted: at most rcvbuf / 2 / ERROR_REPLY_BUDGET
 *   unacknowledged route messages, each of which could produce one error reply.
 *   With net.core.rmem_max = 4 MiB that is 2048 (4 sends x 256 + margin); with
 *   a 208 KiB default it shrinks to ~100 and stays correct, only slower.
 * - Belt and braces, should a future package deliver ENOBUFS as an event: the
 *   'error' listener records it, a fresh barrier flushes the wait, the batch is
 *   confirmed from a dump, and ops the dump does not confirm are re-sent in
 *   small acknowledged chunks to learn their errors. A barrier that never comes
 *   back (timeout) takes the same path.
 */
import { createRequire } from 'node:module';
import { getSystemErrorMap } from 'node:util';
import type { KernelBackend, KernelScan, RouteOp, RouteOpError } from './backend.js';
import { RTPROT_BIRD, routeSatisfies, type KernelRoute } from './route.js';
import { RouteList, ShapeTable } from './route-table.js';
import {
  AF_INET6,
  linkDumpRequest,
  messages,
  newRouteFields,
  NLM_F_DUMP_INTR,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseError,
  parseLink,
  readRoute,
  routeDumpRequest,
  routeMessageLength,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  writeBarrier,
  writeRouteMessage,
  type NetlinkHeader,
  type RouteRequest,
} from './netlink/rtnetlink.js';

/** The slice of the package's RawNetlinkSocket this backend uses. */
interface RawSocket {
  on(event: 'message', fn: (msg: Buffer) => void): unknown;
  on(event: 'error', fn: (err: Error & { code?: string; errno?: number }) => void): unknown;
  send(msg: Uint8Array | Uint8Array[], options?: { port?: number }, cb?: (err?: Error) => void): void;
  close(): void;
  ref(): void;
  unref(): void;
  setRecvBufferSize(size: number): unknown;
  getRecvBufferSize(): number;
}

export interface NetlinkBackendOptions {
  /** Route messages per sendmsg (default 256). */
  messagesPerSend?: number;
  /** Unacknowledged sends in flight (default 4). */
  window?: number;
  /** SO_RCVBUF requested (the kernel caps it at net.core.rmem_max, then doubles it). Default 8 MiB. */
  recvBufferSize?: number;
  /** Confirm every batch with a dump (default: only after a receive-buffer overflow). */
  confirm?: 'always' | 'overflow';
  /** Routing protocol number written and managed (default RTPROT_BIRD = 12). */
  protocol?: number;
  /** Give up waiting for a barrier ACK after this long and confirm by dump instead. */
  barrierTimeoutMs?: number;
}

const NETLINK_ROUTE = 0;
/**
 * Receive-buffer bytes reserved per unacknowledged route message: one NLMSG_ERROR
 * echoing a ~52-byte request is an skb of ~700-800 bytes truesize; reserve 2 KiB.
 */
const ERROR_REPLY_BUDGET = 2048;
const ERRORS = getSystemErrorMap();

function errnoText(errno: number): { code: string; message: string } {
  const entry = ERRORS.get(-errno);
  if (!entry) return { code: `E${errno}`, message: `errno ${errno}` };
  const [code, message] = entry;
  // The kernel's extended ack text ("Nexthop has invalid gateway") needs NETLINK_EXT_ACK,
  // which the package cannot set; name the usual cause instead.
  if (code === 'EINVAL') return { code, message: `${message} (e.g. nexthop has invalid gateway)` };
  return { code, message: message.charAt(0).toUpperCase() + message.slice(1) };
}

type Handler = (buf: Buffer, h: NetlinkHeader) => void;

export interface NetlinkCounters {
  sends: number;
  messages: number;
  overflows: number;
  confirmDumps: number;
  barrierTimeouts: number;
}

export class NetlinkBackend implements KernelBackend {
  readonly name = 'netlink';
  readonly counters: NetlinkCounters = { sends: 0, messages: 0, overflows: 0, confirmDumps: 0, barrierTimeouts: 0 };
  private perSend: number;
  private window: number;
  private inflightBudget = 1;
  private readonly confirm: 'always' | 'overflow';
  private readonly protocol: number;
  private readonly barrierTimeoutMs: number;
  private seq = Math.floor(Math.random() * 0x3fffffff) + 1;
  private readonly handlers = new Map<number, Handler>();
  /** Active apply: op sequence range and the errors it drew. */
  private active?: { base: number; count: number; errors: Map<number, number> };
  private overflowEpoch = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private closed = false;
  private links = new Map<string, number>();
  /** Interface indexes of the current batch's multipath (ECMP) ops, by op index (applies are serialised). */
  private readonly multipathOifs = new Map<number, number[]>();
  /** Set when the kernel has no IPv6 routing (the AF_INET6 dump was refused): IPv6 routes are then never dumped. */
  ipv6Unavailable?: string;
  /** Last exception caught in a socket callback (kept for diagnosis). */
  lastCallbackError?: Error;
  private linkNames = new Map<number, string>();
  private txBuf = Buffer.allocUnsafeSlow(0);

  private constructor(
    private readonly sock: RawSocket,
    opts: NetlinkBackendOptions,
  ) {
    this.perSend = opts.messagesPerSend ?? 256;
    this.window = opts.window ?? 4;
    this.confirm = opts.confirm ?? 'overflow';
    this.protocol = opts.protocol ?? RTPROT_BIRD;
    this.barrierTimeoutMs = opts.barrierTimeoutMs ?? 10_000;
    // An exception escaping a native callback aborts the process: never let one out.
    sock.on('message', (msg) => {
      try {
        this.receive(msg);
      } catch (err) {
        this.lastCallbackError = err as Error;
      }
    });
    sock.on('error', (err) => {
      try {
        this.socketError(err);
      } catch (e) {
        this.lastCallbackError = e as Error;
      }
    });
    sock.unref();
    const budget = Math.max(1, Math.floor(sock.getRecvBufferSize() / 2 / ERROR_REPLY_BUDGET));
    this.inflightBudget = budget;
    this.perSend = Math.max(1, Math.min(this.perSend, budget));
    this.window = Math.max(1, Math.min(this.window, Math.floor(budget / this.perSend)));
  }

  /** Effective batching after fitting the receive buffer (for the bench and status). */
  get batching(): { messagesPerSend: number; window: number; inflightBudget: number; recvBufferSize: number } {
    return { messagesPerSend: this.perSend, window: this.window, inflightBudget: this.inflightBudget, recvBufferSize: this.sock.getRecvBufferSize() };
  }

  /** Open a NETLINK_ROUTE socket in this process's network namespace. */
  static async open(opts: NetlinkBackendOptions = {}): Promise<NetlinkBackend> {
    const require = createRequire(import.meta.url);
    const pkg = require('netlink') as { RawNetlinkSocket: new (protocol: number, options?: object) => RawSocket };
    const size = opts.recvBufferSize ?? 8 << 20;
    const sock = new pkg.RawNetlinkSocket(NETLINK_ROUTE, { recvBufferSize: size, sendBufferSize: 1 << 20 });
    return new NetlinkBackend(sock, opts);
  }

  get recvBufferSize(): number {
    return this.sock.getRecvBufferSize();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }

  // ---- public API (serialised: one request stream at a time) --------------

  dump(): Promise<KernelRoute[]> {
    return this.scan().then((s) => s.routes.toArray());
  }

  scan(shapes = new ShapeTable()): Promise<KernelScan> {
    return this.serial(async () => {
      await this.refreshLinks();
      return this.scanRoutes(shapes);
    });
  }

  linkIndex(name: string): Promise<number | null> {
    return this.serial(async () => {
      await this.refreshLinks();
      return this.links.get(name) ?? null;
    });
  }

  apply(ops: RouteOp[]): Promise<RouteOpError[]> {
    return this.serial(() => this.applyNow(ops));
  }

  // ---- plumbing ------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      if (this.closed) throw new Error('netlink backend closed');
      if (this.busy++ === 0) this.sock.ref();
      try {
        return await fn();
      } finally {
        if (--this.busy === 0 && !this.closed) this.sock.unref();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private nextSeq(n = 1): number {
    const s = this.seq;
    this.seq += n;
    if (this.seq > 0xfffff000) this.seq = 1;
    return s;
  }

  private receive(buf: Buffer): void {
    for (const h of messages(buf)) {
      const active = this.active;
      if (active && h.type === NLMSG_ERROR && h.seq - active.base >= 0 && h.seq - active.base < active.count) {
        const { errno } = parseError(buf, h);
        if (errno !== 0) active.errors.set(h.seq - active.base, errno);
        continue;
      }
      const handler = this.handlers.get(h.seq);
      if (handler) handler(buf, h);
    }
  }

  private socketError(err: Error & { code?: string }): void {
    if (err.code === 'ENOBUFS') {
      // Replies were dropped. Everything sent so far has already been run by the
      // kernel (sendmsg is synchronous), so one more barrier tells us when the
      // surviving replies have all been read; earlier barriers are then moot.
      this.counters.overflows++;
      this.overflowEpoch++;
      if (this.closed) return;
      const seq = this.nextSeq();
      const buf = Buffer.alloc(16);
      writeBarrier(buf, 0, seq);
      this.handlers.set(seq, () => {
        this.handlers.delete(seq);
        for (const [s, h] of [...this.handlers]) if (s !== seq && (h as Handler & { barrier?: boolean }).barrier) h(Buffer.alloc(0), { len: 0, type: NLMSG_ERROR, flags: 0, seq: s, pid: 0, payload: 0 });
      });
      this.sock.send(buf, { port: 0 }, () => undefined);
      return;
    }
    // Other socket errors fail whatever waits; the programmer retries at its next scan.
    for (const h of this.handlers.values()) h(Buffer.alloc(0), { len: -1, type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0, payload: 0 });
  }

  private send(buf: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.send(buf, { port: 0 }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Resolves when the barrier with `seq` is acknowledged (true) or times out / is flushed by an overflow (false). */
  private barrier(seq: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.handlers.delete(seq);
        this.counters.barrierTimeouts++;
        resolve(false);
      }, this.barrierTimeoutMs);
      const handler: Handler & { barrier?: boolean } = (_buf, h) => {
        clearTimeout(timer);
        this.handlers.delete(seq);
        resolve(h.len > 0);
      };
      handler.barrier = true;
      this.handlers.set(seq, handler);
    });
  }

  /** One dump request; resolves true when the kernel flagged it NLM_F_DUMP_INTR (the table changed meanwhile). */
  private async dumpRaw(request: (seq: number) => Buffer, onMessage: (buf: Buffer, h: NetlinkHeader) => void): Promise<boolean> {
    const seq = this.nextSeq();
    let interrupted = false;
    const done = new Promise<void>((resolve, reject) => {
      this.handlers.set(seq, (buf, h) => {
        if (h.len < 0) {
          this.handlers.delete(seq);
          reject(new Error('netlink socket error during dump'));
        } else if (h.type === NLMSG_DONE) {
          this.handlers.delete(seq);
          if (h.flags & NLM_F_DUMP_INTR) interrupted = true;
          resolve();
        } else if (h.type === NLMSG_ERROR) {
          this.handlers.delete(seq);
          const { errno } = parseError(buf, h);
          reject(new Error(`netlink dump failed: ${errnoText(errno).message}`));
        } else {
          if (h.flags & NLM_F_DUMP_INTR) interrupted = true;
          onMessage(buf, h);
        }
      });
    });
    await this.send(request(seq));
    await done;
    return interrupted;
  }

  /**
   * The proto bird routes of both main tables, compact (no object per route:
   * each message is read into one reused record and its shape interned), and
   * the prefixes other protocols hold at metric 0. A dump the kernel flags as
   * interrupted (NLM_F_DUMP_INTR: the table changed during it, so it may be
   * inconsistent) or that lost replies to an overflow is taken again from the
   * start, never appended to.
   */
  private async scanRoutes(shapes: ShapeTable): Promise<KernelScan> {
    const f = newRouteFields();
    for (let attempt = 0; ; attempt++) {
      const routes = new RouteList(shapes);
      const foreign = new Map<number, string>();
      const epoch = this.overflowEpoch;
      const collect = (buf: Buffer, h: NetlinkHeader): void => {
        if (h.type !== RTM_NEWROUTE || !readRoute(buf, h, f)) return;
        if (f.protocol === this.protocol) {
          if (f.nexthops) {
            // ECMP: the few multipath routes of ours get their devices by name, as single ones do.
            const hops = f.nexthops.map((nh, i) => {
              const dev = this.linkNames.get(f.oifs![i]);
              return dev === undefined ? nh : { ...nh, dev };
            });
            routes.push(f.prefix, shapes.internMultipath(hops, f.metric));
          } else {
            const dev = f.oif === undefined ? undefined : this.linkNames.get(f.oif);
            routes.push(f.prefix, shapes.intern(f.type, f.gateway, dev, f.onlink, f.metric));
          }
        } else if (f.metric === 0) foreign.set(f.prefix, protocolName(f.protocol));
      };
      let interrupted = await this.dumpRaw(routeDumpRequest, collect);
      // The IPv6 main table too (issue 19): one more dump, small on a node
      // without IPv6 routes. A kernel booted with ipv6.disable=1 has no IPv6
      // routing at all (EAFNOSUPPORT): then there is nothing to manage.
      if (this.ipv6Unavailable === undefined) {
        try {
          if (await this.dumpRaw((seq) => routeDumpRequest(seq, AF_INET6), collect)) interrupted = true;
        } catch (err) {
          if (!/family not supported/i.test((err as Error).message)) throw err;
          this.ipv6Unavailable = (err as Error).message;
        }
      }
      const lost = epoch !== this.overflowEpoch;
      if ((!interrupted || attempt >= 3) && (!lost || attempt >= 2)) return { routes, foreign };
    }
  }

  private async refreshLinks(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const links = new Map<string, number>();
      const names = new Map<number, string>();
      const interrupted = await this.dumpRaw(linkDumpRequest, (buf, h) => {
        if (h.type !== RTM_NEWLINK) return;
        const { index, name } = parseLink(buf, h);
        if (name !== undefined) {
          links.set(name, index);
          names.set(index, name);
        }
      });
      this.links = links;
      this.linkNames = names;
      if (!interrupted || attempt >= 3) return;
    }
  }

  private async applyNow(ops: RouteOp[]): Promise<RouteOpError[]> {
    const errors: RouteOpError[] = [];
    if (ops.length === 0) return errors;
    // Resolve device names to interface indexes; refresh once if one is unknown.
    const unknownDev = (dev: string | undefined): boolean => dev !== undefined && !this.links.has(dev);
    const needDev = ops.some((o) => o.op === 'replace' && (unknownDev(o.route.dev) || (o.route.nexthops?.some((nh) => unknownDev(nh.dev)) ?? false)));
    if (needDev) await this.refreshLinks();
    this.multipathOifs.clear();
    /** Per op: its interface index, NO_OIF, or UNKNOWN_DEV (reported, not sent). */
    const oifs = new Int32Array(ops.length).fill(NO_OIF);
    const pendingIdx: number[] = [];
    for (let i = 0; i < ops.length; i++) {
      const o = ops[i];
      if (o.op === 'replace' && o.route.dev !== undefined) {
        const oif = this.links.get(o.route.dev);
        if (oif === undefined) {
          errors.push({ route: o.route, op: o.op, error: `No such device ${o.route.dev}`, code: 'ENODEV' });
          continue;
        }
        oifs[i] = oif;
      }
      if (o.op === 'replace' && o.route.nexthops) {
        // ECMP: each next hop names its own device (few routes; a side map keeps the common path flat).
        const each = o.route.nexthops.map((nh) => (nh.dev === undefined ? 0 : (this.links.get(nh.dev) ?? -1)));
        const missing = each.indexOf(-1);
        if (missing >= 0) {
          errors.push({ route: o.route, op: o.op, error: `No such device ${o.route.nexthops[missing].dev}`, code: 'ENODEV' });
          continue;
        }
        this.multipathOifs.set(i, each);
      }
      pendingIdx.push(i);
    }

    const first = await this.sendBatch(ops, oifs, pendingIdx, this.perSend, this.window);
    const failed = first.failed;
    let uncertain = first.uncertain;
    if (!uncertain && this.confirm !== 'always') {
      for (const [i, errno] of failed) errors.push(this.opError(ops[i], errno));
      return errors;
    }
    // Replies were lost (or confirmation was asked for): the kernel's table is the truth.
    // Ops the dump does not confirm are re-sent in small chunks, one in flight, so that
    // their errors cannot overflow the receive buffer; repeat while replies still get lost.
    let todo = pendingIdx.filter((i) => !failed.has(i));
    for (let round = 0; todo.length > 0; round++) {
      this.counters.confirmDumps++;
      const unconfirmed = this.unconfirmed(ops, todo, (await this.scanRoutes(new ShapeTable())).routes.toArray());
      if (unconfirmed.length === 0 || !uncertain || round >= 3) {
        for (const i of unconfirmed) {
          errors.push({ route: ops[i].route, op: ops[i].op, error: 'not in the kernel after the batch (checked by dump)', code: 'EUNCONFIRMED' });
        }
        break;
      }
      const again = await this.sendBatch(ops, oifs, unconfirmed, Math.min(16, this.perSend), 1);
      for (const [i, errno] of again.failed) failed.set(i, errno);
      uncertain = again.uncertain;
      todo = unconfirmed.filter((i) => !again.failed.has(i));
    }
    for (const [i, errno] of failed) errors.push(this.opError(ops[i], errno));
    return errors;
  }

  /** Indexes of ops whose effect the dump does not show. */
  private unconfirmed(ops: RouteOp[], idx: number[], dumped: KernelRoute[]): number[] {
    const byPrefix = new Map<number, KernelRoute[]>();
    for (const r of dumped) {
      const list = byPrefix.get(r.prefix);
      if (list) list.push(r);
      else byPrefix.set(r.prefix, [r]);
    }
    return idx.filter((i) => {
      const op = ops[i];
      const present = byPrefix.get(op.route.prefix) ?? [];
      return op.op === 'replace'
        ? !present.some((r) => routeSatisfies(r, op.route))
        : present.some((r) => r.metric === op.route.metric);
    });
  }

  private opError(op: RouteOp, errno: number): RouteOpError {
    const { code, message } = errnoText(errno);
    return { route: op.route, op: op.op, error: message, code };
  }

  /**
   * The buffer a send is encoded into, grown when too small and otherwise
   * reused: the package is done with a buffer once its send callback ran
   * (awaited before the next send), so one buffer serves every send.
   */
  private sendBuffer(size: number): Buffer {
    if (this.txBuf.length < size) this.txBuf = Buffer.allocUnsafeSlow(Math.max(size, this.txBuf.length * 2));
    return this.txBuf;
  }

  /** Send ops[idx...] in chunks with a barrier each; returns errno per failed op index. */
  private async sendBatch(
    ops: RouteOp[],
    oifs: Int32Array,
    idx: number[],
    perSend: number,
    window: number,
  ): Promise<{ failed: Map<number, number>; uncertain: boolean }> {
    const base = this.nextSeq(ops.length);
    const errors = new Map<number, number>();
    this.active = { base, count: ops.length, errors };
    const epoch = this.overflowEpoch;
    let uncertain = false;
    const inflight: Promise<boolean>[] = [];
    const req: RouteRequest = { route: ops[0].route, protocol: this.protocol };
    try {
      for (let start = 0; start < idx.length; start += perSend) {
        const end = Math.min(idx.length, start + perSend);
        let size = 16;
        for (let k = start; k < end; k++) {
          const i = idx[k];
          req.route = ops[i].route;
          req.oif = oifs[i] === NO_OIF ? undefined : oifs[i];
          req.oifs = this.multipathOifs.get(i);
          size += routeMessageLength(req, ops[i].op === 'delete');
        }
        const buf = this.sendBuffer(size);
        let off = 0;
        for (let k = start; k < end; k++) {
          const i = idx[k];
          req.route = ops[i].route;
          req.oif = oifs[i] === NO_OIF ? undefined : oifs[i];
          req.oifs = this.multipathOifs.get(i);
          off = writeRouteMessage(buf, off, req, ops[i].op === 'delete', base + i);
        }
        const bseq = this.nextSeq();
        off = writeBarrier(buf, off, bseq);
        const acked = this.barrier(bseq);
        inflight.push(acked);
        this.counters.sends++;
        this.counters.messages += end - start;
        await this.send(buf.subarray(0, off));
        if (inflight.length >= window) {
          if (!(await inflight.shift()!)) uncertain = true;
        }
      }
      for (const p of inflight) if (!(await p)) uncertain = true;
    } finally {
      this.active = undefined;
    }
    if (this.overflowEpoch !== epoch) uncertain = true;
    return { failed: errors, uncertain };
  }
}

/** An op without a device (oifs[i]). */
const NO_OIF = -1;

/** rtnetlink protocol numbers as `ip route` names them (/etc/iproute2/rt_protos). */
export function protocolName(proto: number): string {
  const names: Record<number, string> = { 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 12: 'bird', 16: 'dhcp', 186: 'bgp', 187: 'isis', 188: 'ospf', 189: 'rip' };
  return names[proto] ?? String(proto);
}
