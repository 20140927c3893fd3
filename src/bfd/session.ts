/**
 * One BFD session (RFC 5880) as a state machine without I/O: events in
 * (a received packet, the clock reaching a deadline, a timer change,
 * administrative down/up), actions out (send this packet, the state changed).
 * The clock and the random source are injected, so tests run without
 * waiting; the driver (manager.ts) owns the socket and the one timer.
 *
 * Implemented: asynchronous mode, the §6.8.6 reception procedure, the
 * §6.8.7 transmission rules with jitter, the §6.5 Poll Sequence for timer
 * changes with the §6.8.3 rules on which values are in force meanwhile, the
 * ≥ 1 s transmit interval while not Up (§6.8.3), and AdminDown (§6.8.16).
 * Not implemented: Demand mode and the Echo function (BIRD implements
 * neither), authentication. This side always takes the Active role.
 */
import { type BfdDiag, type BfdState, type ControlPacket, BFD_VERSION, DIAG_CODES } from './packet.js';

/** Timers as Calico's BGPConfiguration spec.bfd gives them. */
export interface BfdTimers {
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
}

export const DEFAULT_BFD_TIMERS: BfdTimers = { minTxMs: 100, minRxMs: 100, multiplier: 3 };

/** §6.8.3: "When bfd.SessionState is not Up, the system MUST set bfd.DesiredMinTxInterval to a value of not less than one second." */
export const SLOW_TX_US = 1_000_000;

export type BfdEvent =
  | { type: 'packet'; packet: ControlPacket }
  /** The clock reached nextDeadline(): send what is due, expire what is due. */
  | { type: 'timer' }
  | { type: 'set-timers'; timers: BfdTimers }
  | { type: 'admin-down' }
  | { type: 'admin-up' };

export type BfdAction =
  | { type: 'send'; packet: ControlPacket }
  | {
      type: 'state';
      from: BfdState;
      to: BfdState;
      diag: BfdDiag;
      /** The peer signalled AdminDown: per RFC 5882 §3.2 not a forwarding failure. */
      remoteAdminDown: boolean;
    };

export interface BfdSessionOptions {
  localDiscriminator: number;
  timers: BfdTimers;
  /** Milliseconds (Date.now, or a fake clock). */
  now: () => number;
  /** [0, 1), for the §6.8.7 jitter. */
  random: () => number;
}

export interface BfdSessionSnapshot {
  state: BfdState;
  remoteState: BfdState;
  localDiscriminator: number;
  remoteDiscriminator: number;
  /** The diagnostic of the last change of state (RFC 5880 §4.1). */
  diag: BfdDiag;
  /** What the peer gave as its diagnostic in its last packet. */
  remoteDiag: BfdDiag | number;
  /** Interval this side transmits at (before jitter), ms. */
  txIntervalMs: number;
  /** Interval this side expects the peer to transmit at, ms. */
  rxIntervalMs: number;
  /** Detection time, ms (0 before the first packet). */
  detectionTimeMs: number;
  detectMult: number;
  remoteDetectMult: number;
  polling: boolean;
}

const us = (ms: number): number => Math.round(ms * 1000);

export class BfdSession {
  // RFC 5880 §6.8.1 state variables (intervals in microseconds).
  sessionState: BfdState = 'Down';
  remoteSessionState: BfdState = 'Down';
  readonly localDiscr: number;
  remoteDiscr = 0;
  localDiag: BfdDiag = 'none';
  desiredMinTxInterval: number;
  requiredMinRxInterval: number;
  /** §6.8.1: initialised to 1 µs (so that the first packets go out at our own rate). */
  remoteMinRxInterval = 1;
  detectMult: number;
  // What the peer last said (for its detection time, §6.8.4).
  private remoteDesiredMinTx = 0;
  private remoteDetectMult = 0;
  private remoteDiag = 0;

  /** §6.5: a Poll Sequence is running; P is set in every periodic packet until an F arrives. */
  private polling = false;
  /** Values in force while polling (§6.8.3: a larger TX and a smaller RX apply only once F arrives). */
  private pollOldTx = 0;
  private pollOldRx = 0;
  /** A change requested while a poll was running: starts the next poll when this one ends. */
  private queued?: { tx: number; rx: number; mult: number };

  private timers: BfdTimers;
  private nextTxAt: number;
  private detectAt?: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(opts: BfdSessionOptions) {
    if (opts.localDiscriminator <= 0 || opts.localDiscriminator > 0xffffffff) throw new RangeError('local discriminator must be 1..2^32-1');
    this.localDiscr = opts.localDiscriminator;
    this.timers = opts.timers;
    this.now = opts.now;
    this.random = opts.random;
    this.desiredMinTxInterval = Math.max(us(opts.timers.minTxMs), SLOW_TX_US);
    this.requiredMinRxInterval = us(opts.timers.minRxMs);
    this.detectMult = opts.timers.multiplier;
    // The first packet goes out at once: the peer learns our discriminator.
    this.nextTxAt = this.now();
  }

  /** The earliest time at which a 'timer' event has something to do. */
  nextDeadline(): number | undefined {
    const tx = this.periodicTxAllowed() ? this.nextTxAt : undefined;
    if (tx === undefined) return this.detectAt;
    if (this.detectAt === undefined) return tx;
    return Math.min(tx, this.detectAt);
  }

  handle(event: BfdEvent): BfdAction[] {
    const out: BfdAction[] = [];
    switch (event.type) {
      case 'packet':
        this.receive(event.packet, out);
        break;
      case 'timer':
        this.onTimer(out);
        break;
      case 'set-timers':
        this.timers = event.timers;
        this.applyTargetTimers(out);
        break;
      case 'admin-down':
        // §6.8.16: AdminDown with diag 7; the peer is told with our next packets.
        if (this.sessionState !== 'AdminDown') this.changeState('AdminDown', 'administratively-down', false, out);
        break;
      case 'admin-up':
        if (this.sessionState === 'AdminDown') this.changeState('Down', 'none', false, out);
        break;
      default: {
        const never: never = event;
        throw new Error(`unhandled BFD event ${JSON.stringify(never)}`);
      }
    }
    return out;
  }

  snapshot(): BfdSessionSnapshot {
    return {
      state: this.sessionState,
      remoteState: this.remoteSessionState,
      localDiscriminator: this.localDiscr,
      remoteDiscriminator: this.remoteDiscr,
      diag: this.localDiag,
      remoteDiag: DIAG_CODES[this.remoteDiag] ?? this.remoteDiag,
      txIntervalMs: this.txIntervalUs() / 1000,
      rxIntervalMs: this.rxIntervalUs() / 1000,
      detectionTimeMs: this.detectionTimeUs() / 1000,
      detectMult: this.detectMult,
      remoteDetectMult: this.remoteDetectMult,
      polling: this.polling,
    };
  }

  // ---------------------------------------------------------------- reception

  /** RFC 5880 §6.8.6, after the checks the codec made (packet.ts) and the session lookup (manager.ts). */
  private receive(p: ControlPacket, out: BfdAction[]): void {
    this.remoteDiscr = p.myDiscriminator;
    this.remoteSessionState = p.state;
    this.remoteMinRxInterval = p.requiredMinRxInterval;
    this.remoteDesiredMinTx = p.desiredMinTxInterval;
    this.remoteDetectMult = p.detectMult;
    this.remoteDiag = p.diag;
    // §6.8.6: "If the Final (F) bit is set ... terminate any Poll Sequence in progress."
    if (p.final && this.polling) this.endPoll(out);
    // §6.8.4: the detection timer restarts with every valid packet.
    this.detectAt = this.now() + this.detectionTimeUs() / 1000;
    this.clampNextTx();

    if (this.sessionState === 'AdminDown') return; // §6.8.6: discard
    if (p.state === 'AdminDown') {
      // §6.8.6: the peer went AdminDown -> Down with diag 3 (RFC 5882 §3.2: not a forwarding failure).
      if (this.sessionState !== 'Down') this.changeState('Down', 'neighbor-signaled-session-down', true, out);
    } else if (this.sessionState === 'Down') {
      if (p.state === 'Down') this.changeState('Init', 'none', false, out);
      else if (p.state === 'Init') this.changeState('Up', 'none', false, out);
    } else if (this.sessionState === 'Init') {
      if (p.state === 'Init' || p.state === 'Up') this.changeState('Up', 'none', false, out);
    } else if (p.state === 'Down') {
      // Up, and the peer says Down: it lost us (§6.8.6).
      this.changeState('Down', 'neighbor-signaled-session-down', false, out);
    }
    // §6.8.6 / §6.8.7: a Poll is answered with a Final "as soon as practicable", P clear.
    if (p.poll) out.push({ type: 'send', packet: this.packet({ final: true }) });
  }

  // ---------------------------------------------------------------- timers

  private onTimer(out: BfdAction[]): void {
    const now = this.now();
    if (this.detectAt !== undefined && now >= this.detectAt) {
      this.detectAt = undefined;
      // §6.8.1: RemoteDiscr is zeroed when a detection time passes without a packet.
      this.remoteDiscr = 0;
      this.remoteSessionState = 'Down';
      if (this.sessionState === 'Init' || this.sessionState === 'Up') {
        this.changeState('Down', 'control-detection-time-expired', false, out);
      }
    }
    if (this.periodicTxAllowed() && now >= this.nextTxAt) {
      out.push({ type: 'send', packet: this.packet({}) });
      this.nextTxAt = now + this.jittered(this.txIntervalUs()) / 1000;
    }
  }

  /** §6.8.7: no periodic packets while bfd.RemoteMinRxInterval is zero. */
  private periodicTxAllowed(): boolean {
    return this.remoteMinRxInterval !== 0;
  }

  /**
   * §6.8.7: the interval is reduced by a random 0-25% (so 75-100% of it);
   * with a detect multiplier of 1, to 75-90%.
   */
  private jittered(intervalUs: number): number {
    const span = this.detectMult === 1 ? 0.15 : 0.25;
    return intervalUs * (0.75 + span * this.random());
  }

  /** A shorter interval (a Poll ended, the peer asked for faster) takes effect now, not after the old one. */
  private clampNextTx(): void {
    const latest = this.now() + this.txIntervalUs() / 1000;
    if (this.nextTxAt > latest) this.nextTxAt = this.now() + this.jittered(this.txIntervalUs()) / 1000;
  }

  /** §6.8.7: max(bfd.DesiredMinTxInterval in force, bfd.RemoteMinRxInterval). */
  private txIntervalUs(): number {
    const desired = this.polling && this.desiredMinTxInterval > this.pollOldTx ? this.pollOldTx : this.desiredMinTxInterval;
    return Math.max(desired, this.remoteMinRxInterval);
  }

  /** What we expect from the peer: max(bfd.RequiredMinRxInterval in force, its Desired Min TX). */
  private rxIntervalUs(): number {
    const required = this.polling && this.requiredMinRxInterval < this.pollOldRx ? this.pollOldRx : this.requiredMinRxInterval;
    return Math.max(required, this.remoteDesiredMinTx);
  }

  /** §6.8.4 asynchronous mode: the peer's Detect Mult times the agreed receive interval. */
  private detectionTimeUs(): number {
    return this.remoteDetectMult * this.rxIntervalUs();
  }

  // ---------------------------------------------------------------- timer changes

  /** The intervals the configuration asks for in the current state (§6.8.3: ≥ 1 s TX while not Up). */
  private target(): { tx: number; rx: number; mult: number } {
    const tx = us(this.timers.minTxMs);
    return {
      tx: this.sessionState === 'Up' ? tx : Math.max(tx, SLOW_TX_US),
      rx: us(this.timers.minRxMs),
      mult: this.timers.multiplier,
    };
  }

  /**
   * Move the advertised values to target(). While Up a change of either
   * interval goes through a Poll Sequence (§6.8.3, §6.5): the new values are
   * advertised at once with P set, and a larger TX or a smaller RX is used
   * only once the peer's F arrives. Not Up, they apply at once.
   */
  private applyTargetTimers(out: BfdAction[]): void {
    const t = this.target();
    this.detectMult = t.mult; // the multiplier is the peer's to apply to its own detection: no poll needed
    if (t.tx === this.desiredMinTxInterval && t.rx === this.requiredMinRxInterval) {
      this.queued = undefined;
      return;
    }
    if (this.sessionState !== 'Up') {
      this.desiredMinTxInterval = t.tx;
      this.requiredMinRxInterval = t.rx;
      this.clampNextTx();
      return;
    }
    if (this.polling) {
      // §6.5: one Poll Sequence at a time; the next starts when this one ends.
      this.queued = t;
      return;
    }
    this.startPoll(t, out);
  }

  private startPoll(t: { tx: number; rx: number }, out: BfdAction[]): void {
    this.pollOldTx = this.desiredMinTxInterval;
    this.pollOldRx = this.requiredMinRxInterval;
    this.desiredMinTxInterval = t.tx;
    this.requiredMinRxInterval = t.rx;
    this.polling = true;
    this.clampNextTx();
    // The first packet of the sequence goes now rather than at the next tick.
    out.push({ type: 'send', packet: this.packet({}) });
  }

  private endPoll(out: BfdAction[]): void {
    this.polling = false;
    const q = this.queued;
    this.queued = undefined;
    if (q && this.sessionState === 'Up' && (q.tx !== this.desiredMinTxInterval || q.rx !== this.requiredMinRxInterval)) this.startPoll(q, out);
  }

  // ---------------------------------------------------------------- state

  private changeState(to: BfdState, diag: BfdDiag, remoteAdminDown: boolean, out: BfdAction[]): void {
    const from = this.sessionState;
    this.sessionState = to;
    this.localDiag = diag;
    out.push({ type: 'state', from, to, diag, remoteAdminDown });
    if (to !== 'Up' && this.polling) {
      // A poll does not outlive the session it was for.
      this.polling = false;
      this.queued = undefined;
    }
    const before = out.length;
    this.applyTargetTimers(out);
    // A change of state is worth telling at once (the peer's Init -> Up waits on it),
    // unless a Poll Sequence just started and sent its first packet.
    if (out.length === before) out.push({ type: 'send', packet: this.packet({}) });
    this.nextTxAt = this.now() + this.jittered(this.txIntervalUs()) / 1000;
  }

  /** §6.8.7: the contents of an outgoing Control packet. */
  private packet(opts: { final?: boolean }): ControlPacket {
    const final = opts.final ?? false;
    return {
      version: BFD_VERSION,
      diag: DIAG_CODES.indexOf(this.localDiag),
      state: this.sessionState,
      // §4.1: never P and F together; a Final answers, it does not poll.
      poll: this.polling && !final,
      final,
      controlPlaneIndependent: false,
      authPresent: false,
      demand: false,
      multipoint: false,
      detectMult: this.detectMult,
      myDiscriminator: this.localDiscr,
      yourDiscriminator: this.remoteDiscr,
      desiredMinTxInterval: this.desiredMinTxInterval,
      requiredMinRxInterval: this.requiredMinRxInterval,
      // No Echo function: 0 tells the peer not to send echoes (§6.8.9).
      requiredMinEchoRxInterval: 0,
    };
  }
}
