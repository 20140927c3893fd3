/**
 * The BFD manager: one BFD session (session.ts) per BGP peer configured
 * with BFD, driven by one timer each, over the socket layer (socket.ts).
 * It is BGP's client interface of RFC 5882: it tells when a session that
 * was Up goes Down for a reason that means the forwarding path failed, and
 * the agent resets that BGP session (RFC 5882 §4.1, Cease 10, RFC 9384).
 *
 * Reconciles like every other part: `setPeers` takes the desired peers;
 * sessions that did not change are not touched, a timer change goes to the
 * live session (Poll Sequence, no flap), a removed peer is told AdminDown.
 * Peers without `bfd` get no socket and no packet.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { PeerConfig } from '../contracts.js';
import { decodeControl, diagWords, encodeControl, type BfdDiag, type BfdState, type DiscardReason } from './packet.js';
import { BfdSession, type BfdAction, type BfdTimers } from './session.js';
import { UdpBfdTransport, type BfdReceiver, type BfdSender, type BfdTransport } from './socket.js';

export interface BfdLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/** A change of a session's state, as BGP's client interface sees it (RFC 5882 §3). */
export interface BfdChange {
  peer: string;
  address: string;
  from: BfdState;
  to: BfdState;
  diag: BfdDiag;
  /**
   * Up -> Down for a forwarding reason (detection time expired, the peer
   * said Down): the BGP session must go at once. The peer's AdminDown is not
   * one (RFC 5882 §3.2), nor is our own removal of the session.
   */
  forwardingFailure: boolean;
  /** The reason in operator words. */
  reason: string;
}

export interface BfdPeerStatus {
  state: BfdState;
  remoteState: BfdState;
  /** Wall-clock ms of the last change of state. */
  since: number;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** Negotiated: what we send at, what we expect from the peer (ms, before jitter). */
  txIntervalMs: number;
  rxIntervalMs: number;
  detectionTimeMs: number;
  multiplier: number;
  remoteMultiplier: number;
  /** Configured (BGPConfiguration spec.bfd or the defaults). */
  configured: BfdTimers;
  localAddress: string;
  sourcePort?: number;
  /** The last time the session went down, why (RFC 5880 diagnostic in operator words). */
  lastDown?: { at: number; diag: BfdDiag; reason: string };
  transitions: number;
  packetsIn: number;
  packetsOut: number;
  /** Socket errors (cannot bind 3784, no FFI): the session cannot run. */
  error?: string;
}

export interface BfdManagerOptions {
  transport?: BfdTransport;
  /** Monotonic ms for the state machines (default performance.now). */
  now?: () => number;
  /** Wall-clock ms for status (default Date.now). */
  wallClock?: () => number;
  random?: () => number;
  logger?: BfdLogger;
}

interface Entry {
  name: string;
  address: string;
  localAddress: string;
  timers: BfdTimers;
  session: BfdSession;
  sender?: BfdSender;
  timer?: NodeJS.Timeout;
  timerAt?: number;
  since: number;
  lastDown?: { at: number; diag: BfdDiag; reason: string };
  transitions: number;
  packetsIn: number;
  packetsOut: number;
  error?: string;
  closed: boolean;
}

const silent: BfdLogger = { info() {}, warn() {} };
const RECEIVER_RETRY_MS = 5000;

/** Where this node sends from and listens on for a peer: its source address, else the node's. */
function localAddressFor(c: PeerConfig, nodeAddress: string): string {
  return c.sourceAddress ?? nodeAddress;
}

export class BfdManager extends EventEmitter<{ change: [BfdChange] }> {
  private readonly entries = new Map<string, Entry>();
  private readonly byDiscriminator = new Map<number, Entry>();
  private readonly receivers = new Map<string, { ready: Promise<BfdReceiver | undefined>; error?: string }>();
  private readonly transport: BfdTransport;
  private readonly now: () => number;
  private readonly wall: () => number;
  private readonly random: () => number;
  private readonly log: BfdLogger;
  private readonly discarded = new Map<DiscardReason, number>();
  private stopped = false;

  constructor(opts: BfdManagerOptions = {}) {
    super();
    this.random = opts.random ?? Math.random;
    this.transport = opts.transport ?? new UdpBfdTransport(this.random);
    this.now = opts.now ?? (() => performance.now());
    this.wall = opts.wallClock ?? Date.now;
    this.log = opts.logger ?? silent;
  }

  /** Reconcile to the desired peers: those with `bfd` set get a session (IPv4 only, single hop). */
  setPeers(configs: readonly PeerConfig[], nodeAddress: string): void {
    if (this.stopped) return;
    const wanted = new Map<string, PeerConfig>();
    for (const c of configs) if (c.bfd && !c.address.includes(':')) wanted.set(c.name, c);
    for (const e of [...this.entries.values()]) {
      const c = wanted.get(e.name);
      if (!c || c.address !== e.address || localAddressFor(c, nodeAddress) !== e.localAddress) this.remove(e, 'peer removed from BFD configuration');
    }
    for (const c of wanted.values()) {
      const timers = c.bfd!;
      const e = this.entries.get(c.name);
      if (!e) this.add(c, localAddressFor(c, nodeAddress), timers);
      else if (e.timers.minTxMs !== timers.minTxMs || e.timers.minRxMs !== timers.minRxMs || e.timers.multiplier !== timers.multiplier) {
        // RFC 5880 §6.8.3: a change of intervals goes through a Poll Sequence, without a change of state.
        e.timers = timers;
        this.log.info({ peer: e.name, ...timers }, 'BFD timers changed');
        this.run(e, e.session.handle({ type: 'set-timers', timers }));
      }
    }
    this.closeUnusedReceivers();
  }

  status(peer: string): BfdPeerStatus | undefined {
    const e = this.entries.get(peer);
    if (!e) return undefined;
    const s = e.session.snapshot();
    return {
      state: s.state,
      remoteState: s.remoteState,
      since: e.since,
      localDiscriminator: s.localDiscriminator,
      remoteDiscriminator: s.remoteDiscriminator,
      txIntervalMs: s.txIntervalMs,
      rxIntervalMs: s.rxIntervalMs,
      detectionTimeMs: s.detectionTimeMs,
      multiplier: s.detectMult,
      remoteMultiplier: s.remoteDetectMult,
      configured: e.timers,
      localAddress: e.localAddress,
      sourcePort: e.sender?.port,
      lastDown: e.lastDown,
      transitions: e.transitions,
      packetsIn: e.packetsIn,
      packetsOut: e.packetsOut,
      error: e.error ?? this.receivers.get(e.localAddress)?.error,
    };
  }

  peers(): string[] {
    return [...this.entries.keys()];
  }

  /** Received packets discarded, by reason (RFC 5880 §6.8.6); TTL failures never get here (kernel filter). */
  discards(): Record<string, number> {
    return Object.fromEntries(this.discarded);
  }

  /**
   * Stop every session. The peers are told AdminDown (RFC 5880 §6.8.16) so
   * that they do not take our going as a forwarding failure (RFC 5882 §3.2).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    for (const e of [...this.entries.values()]) this.remove(e, 'agent stopping');
    this.stopped = true;
    // The AdminDown packets are queued; give them a moment before the process may exit.
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all(
      [...this.receivers.values()].map(async (r) => {
        (await r.ready)?.close();
      }),
    );
    this.receivers.clear();
  }

  // ---------------------------------------------------------------- sessions

  private newDiscriminator(): number {
    for (;;) {
      const d = 1 + Math.floor(this.random() * 0xfffffffe);
      if (!this.byDiscriminator.has(d)) return d;
    }
  }

  private add(c: PeerConfig, localAddress: string, timers: BfdTimers): void {
    const session = new BfdSession({ localDiscriminator: this.newDiscriminator(), timers, now: this.now, random: this.random });
    const e: Entry = {
      name: c.name,
      address: c.address,
      localAddress,
      timers,
      session,
      since: this.wall(),
      transitions: 0,
      packetsIn: 0,
      packetsOut: 0,
      closed: false,
    };
    this.entries.set(e.name, e);
    this.byDiscriminator.set(session.localDiscr, e);
    this.log.info({ peer: e.name, address: e.address, localAddress, ...timers, discriminator: session.localDiscr }, 'BFD session added');
    void this.open(e);
  }

  private async open(e: Entry): Promise<void> {
    const receiver = this.ensureReceiver(e.localAddress);
    try {
      const sender = await this.transport.openSender(e.localAddress, (err) => this.socketError(e, err));
      if (e.closed) {
        sender.close();
        return;
      }
      e.sender = sender;
      await receiver.ready;
      if (e.closed) return;
      // The first packet goes now (session.ts schedules it at creation).
      this.run(e, e.session.handle({ type: 'timer' }));
    } catch (err) {
      this.socketError(e, err as Error);
    }
  }

  private socketError(e: Entry, err: Error): void {
    e.error = `BFD socket: ${err.message}`;
    this.log.warn({ peer: e.name, err: err.message }, 'BFD socket error');
  }

  private ensureReceiver(localAddress: string): { ready: Promise<BfdReceiver | undefined>; error?: string } {
    let r = this.receivers.get(localAddress);
    if (r) return r;
    const rec: { ready: Promise<BfdReceiver | undefined>; error?: string } = { ready: Promise.resolve(undefined) };
    rec.ready = this.transport
      .listen(
        localAddress,
        (bytes, from) => this.receive(localAddress, bytes, from),
        (err) => {
          rec.error = `BFD receive socket ${localAddress}:3784: ${err.message}`;
          this.log.warn({ localAddress, err: err.message }, 'BFD receive socket error');
        },
      )
      .catch((err: Error) => {
        // Kept (status names it) and retried: an old agent still holding 3784 goes away.
        rec.error = `cannot receive BFD on ${localAddress}:3784: ${err.message}`;
        this.log.warn({ localAddress, err: err.message, retryInMs: RECEIVER_RETRY_MS }, 'BFD receive socket not opened');
        setTimeout(() => {
          if (this.stopped || this.receivers.get(localAddress) !== rec) return;
          this.receivers.delete(localAddress);
          this.ensureReceiver(localAddress);
        }, RECEIVER_RETRY_MS).unref();
        return undefined;
      });
    this.receivers.set(localAddress, rec);
    r = rec;
    return r;
  }

  private closeUnusedReceivers(): void {
    for (const [addr, r] of this.receivers) {
      if ([...this.entries.values()].some((e) => e.localAddress === addr)) continue;
      this.receivers.delete(addr);
      void r.ready.then((x) => x?.close());
    }
  }

  private remove(e: Entry, why: string): void {
    if (e.closed) return;
    // §6.8.16: tell the peer AdminDown before going, so it does not see a failure.
    this.run(e, e.session.handle({ type: 'admin-down' }), false);
    e.closed = true;
    if (e.timer) clearTimeout(e.timer);
    e.sender?.close();
    this.entries.delete(e.name);
    this.byDiscriminator.delete(e.session.localDiscr);
    this.log.info({ peer: e.name, reason: why }, 'BFD session removed');
  }

  // ---------------------------------------------------------------- packets and timers

  private discard(reason: DiscardReason, from: string): void {
    this.discarded.set(reason, (this.discarded.get(reason) ?? 0) + 1);
    this.log.debug?.({ from, reason }, 'BFD packet discarded');
  }

  /** RFC 5880 §6.8.6 session selection: by Your Discriminator, else (it is 0) by source address (RFC 5881 §3). */
  private receive(localAddress: string, bytes: Uint8Array, from: string): void {
    const d = decodeControl(bytes);
    if (!d.ok) return this.discard(d.reason, from);
    const p = d.packet;
    let e: Entry | undefined;
    if (p.yourDiscriminator !== 0) {
      e = this.byDiscriminator.get(p.yourDiscriminator);
      if (!e) return this.discard('unknown-discriminator', from);
      // Single hop: the discriminator must belong to the session with this neighbour.
      if (e.address !== from || e.localAddress !== localAddress) return this.discard('unknown-source', from);
    } else {
      for (const x of this.entries.values()) if (x.address === from && x.localAddress === localAddress) e = x;
      if (!e) return this.discard('unknown-source', from);
    }
    e.packetsIn++;
    this.run(e, e.session.handle({ type: 'packet', packet: p }));
  }

  private fire(e: Entry): void {
    e.timer = undefined;
    e.timerAt = undefined;
    if (e.closed) return;
    this.run(e, e.session.handle({ type: 'timer' }));
  }

  private run(e: Entry, actions: BfdAction[], notify = true): void {
    for (const a of actions) {
      if (a.type === 'send') {
        if (!e.sender) continue; // not open yet: the periodic packets follow once it is
        e.sender.send(encodeControl(a.packet), e.address);
        e.packetsOut++;
        continue;
      }
      e.transitions++;
      e.since = this.wall();
      const reason = a.remoteAdminDown ? 'the peer took the BFD session administratively down' : diagWords(a.diag);
      if (a.to === 'Down' || a.to === 'AdminDown') e.lastDown = { at: e.since, diag: a.diag, reason };
      const change: BfdChange = {
        peer: e.name,
        address: e.address,
        from: a.from,
        to: a.to,
        diag: a.diag,
        forwardingFailure: notify && a.from === 'Up' && a.to === 'Down' && !a.remoteAdminDown,
        reason,
      };
      const level = a.to === 'Up' || a.from !== 'Up' || a.to === 'AdminDown' ? 'info' : 'warn';
      this.log[level]({ peer: e.name, from: a.from, to: a.to, reason }, 'BFD session state');
      if (notify) this.emit('change', change);
    }
    if (!e.closed) this.schedule(e);
  }

  /** One timer per session, at the machine's next deadline; kept when the deadline did not move. */
  private schedule(e: Entry): void {
    const at = e.session.nextDeadline();
    if (at === e.timerAt && e.timer) return;
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    e.timerAt = at;
    if (at === undefined) return;
    // Timers fire at whole milliseconds, never early: round up so one firing does the work.
    e.timer = setTimeout(() => this.fire(e), Math.max(0, Math.ceil(at - this.now())));
    e.timer.unref();
  }
}
