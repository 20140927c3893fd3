/**
 * One configured BGP peer: the RFC 4271 §8 FSM bound to real sockets.
 *
 * - Active and passive connections (Calico's `passive on` = never connect),
 *   bound to `sourceAddress` when set.
 * - OPEN checks (RFC 4271 §6.2), capability negotiation through the codec,
 *   kept per connection.
 * - Collision detection (RFC 4271 §6.8): a second, incoming connection sends
 *   its OPEN and is resolved when the peer's OPEN names its BGP identifier.
 *   With the session Established the new connection is a collision and is
 *   closed with Cease 7, unless the peer really restarted: its new OPEN sets
 *   the graceful-restart Restart State bit (RFC 4724 §4.2), or the old
 *   connection turns out dead (a KEEPALIVE probe on it is answered by a
 *   reset). A GR capability alone is no sign of a restart: at start both
 *   sides dial, and a peer's own connection accepted after ours came up
 *   must not take the live session down.
 * - Graceful restart signalling (RFC 4724, RFC 8538): our capability with the
 *   R bit when restarting, End-of-RIB on request, 'down' says graceful.
 * - Status in operator words for `agent status`.
 */
import net from 'node:net';
import { encodeMessage, endOfRib, isEndOfRib, negotiate, BgpError, encodeAttributes, encodeAttributes6, ipv6Count, packUpdates, packUpdates6, notificationFor, notificationName } from '../codec/index.js';
import { ERR_HEADER, ERR_OPEN, MSG_OPEN, OPEN_UNSUPPORTED_VERSION } from '../codec/constants.js';
import type { BgpMessage, Capability, OpenMessage, UpdateMessage } from '../codec/types.js';
import { DEFAULT_CONTEXT, familyKey } from '../codec/types.js';
import { systemClock, type Clock, type TimerHandle } from '../../clock.js';
import { silentLog, type Log } from '../../log.js';
import { FsmRunner } from '../fsm/runner.js';
import {
  BIRD_DEFAULTS,
  CEASE,
  CEASE_CONNECTION_COLLISION,
  HOLD_TIMER_EXPIRED,
  OPEN_HOLD_TIME,
  type DownCause,
  type FsmAction,
  type FsmConfig,
  type FsmEvent,
  type FsmStateName,
  type Notice,
} from '../fsm/index.js';
import type { OutChange, SessionEvent } from '../route.js';
import type { PeerConfig, PeerType } from '../../datastore/desired.js';
import { checkOpen, type OpenFailure } from './open-check.js';
import { resolveCollision } from './collision.js';
import { Connection } from './connection.js';
import { grCapability, isGracefulDown } from './graceful.js';
import { TxQueue, type TxEncoder, type TxQueueOptions } from './tx-queue.js';
import { receivedNotificationWords, sentNotificationWords, socketErrorWords } from './words.js';
import { connectorFor, secureAccepted } from './session-security.js';

/** The local speaker's identity and restart state, shared by all peers. */
export interface LocalSpeaker {
  asNumber: number;
  routerId: string;
  hostname?: string;
  /** RFC 4724 R bit: this process is restarting and peers should keep our routes. */
  restarting: boolean;
  /** RFC 4724 F bit for IPv4 unicast: the kernel kept our forwarding state. */
  forwardingPreserved: boolean;
  /** RFC 8538 N bit (off by default, as in BIRD 2.0). */
  grNotification: boolean;
}

/** What the session layer logs with: the agent's one logger interface (src/log.ts), three of its levels. */
export type Logger = Pick<Log, 'info' | 'warn' | 'debug'>;
export const silentLogger: Logger = silentLog;

export interface PeerDeps {
  clock?: Clock;
  logger?: Logger;
  emit: (event: SessionEvent) => void;
  /** Socket factory for outgoing connections (tests inject fakes). */
  connect?: (opts: net.NetConnectOpts) => net.Socket;
  /** Timer overrides (tests, short hold times); defaults are BIRD's. */
  fsm?: Partial<FsmConfig>;
  encoder?: TxEncoder;
  tx?: TxQueueOptions;
}

export type BirdState = 'up' | 'start' | 'down';

export interface PeerCounters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  /** NLRI seen in UPDATEs (announcements, counted per prefix). */
  prefixesReceived: number;
  withdrawnReceived: number;
  /** Announcements sent minus withdrawals sent in this session. */
  prefixesAdvertised: number;
}

export interface PeerStatus {
  name: string;
  address: string;
  port: number;
  type: PeerType;
  asNumber: number;
  passive: boolean;
  /** RFC 4271 FSM state. */
  state: FsmStateName;
  /** BIRD's protocol state as calicoctl shows it. */
  birdState: BirdState;
  /** Epoch ms of the last state change. */
  since: number;
  /** Sessions lost: FSM transitions from Established to any other state since this peer was configured. */
  flaps: number;
  lastError?: string;
  counters: PeerCounters;
  /** Negotiated capabilities, e.g. ["as4", "route-refresh", "add-path rx/tx", "graceful-restart 120s"]. */
  capabilities: string[];
  holdTime?: number;
  keepaliveTime?: number;
  localAddress?: string;
  localPort?: number;
  remoteRouterId?: string;
  /** The peer's graceful-restart restart time, when negotiated. */
  peerRestartTime?: number;
  /** The BGPPeer resource this session comes from (none for mesh sessions). */
  bgpPeer?: string;
  /** BGPPeer localASNumber: the AS this session speaks (BIRD `local as`), when not the node's. */
  localAs?: number;
  /** The operator disabled this session (`agent peers disable`, BIRD's `disable <name>`): it stays Idle until enabled. */
  disabled?: true;
}

const defaultEncoder: TxEncoder = { encodeAttributes, packUpdates };
/** IPv6 unicast sessions send MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760), keys are prefix6 ids. */
const ipv6Encoder: TxEncoder = { encodeAttributes: encodeAttributes6, packUpdates: packUpdates6 };
const KEEPALIVE = (): Buffer => encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT);

export function fsmConfigFor(config: PeerConfig, overrides: Partial<FsmConfig> = {}): FsmConfig {
  return {
    ...BIRD_DEFAULTS,
    // Calico BGPPeer keepaliveTime: BIRD gets `keepalive time N; hold time 3N`.
    holdTime: config.keepaliveTime ? config.keepaliveTime * 3 : BIRD_DEFAULTS.holdTime,
    ...overrides,
    passive: config.passive,
  };
}

export class Peer {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly fsm: FsmRunner;
  private primary: Connection | null = null;
  /** A second (incoming) connection waiting for its OPEN to resolve a collision. */
  private pending: Connection | null = null;
  private pendingTimer: TimerHandle | null = null;
  private since: number;
  private lastError: string | undefined;
  /** Words for the next NOTIFICATION we send (the failed OPEN check's detail). */
  private noticeDetail: string | undefined;
  private refused = false;
  /** Held down by the operator (`disable`), not by an error: never started, connections refused, until `enable`. */
  private disabled = false;
  private established = false;
  private flaps = 0;
  private counters: PeerCounters = zeroCounters();
  private txTotals = { messagesOut: 0, updatesOut: 0 };
  private lastSession: Pick<PeerStatus, 'capabilities' | 'holdTime' | 'keepaliveTime' | 'remoteRouterId' | 'peerRestartTime'> = {
    capabilities: [],
  };

  constructor(
    readonly config: PeerConfig,
    private readonly local: LocalSpeaker,
    private readonly deps: PeerDeps,
  ) {
    this.clock = deps.clock ?? systemClock;
    this.log = deps.logger ?? silentLogger;
    this.since = this.clock.now();
    this.fsm = new FsmRunner(
      fsmConfigFor(config, deps.fsm),
      this.clock,
      (action, event) => this.execute(action, event),
      (from, to) => {
        // A flap is a lost session (Established -> anything else), what BIRD's
        // "established" -> "start" and the metric's rate() alert on.
        if (from === 'Established') this.flaps++;
        // An operator reads a peer that never comes up from the log: each
        // change of BIRD's state or of the reason at info, the retries that
        // repeat the same reason at debug (one line per connect retry is noise).
        const changed = this.noteState();
        const reason = this.lastError;
        if (changed || reason !== this.loggedReason) {
          this.loggedReason = reason;
          this.log.info({ peer: config.name, from, to, ...(reason ? { reason } : {}) }, 'BGP state change');
        } else this.log.debug({ peer: config.name, from, to }, 'BGP state change');
      },
    );
  }

  get name(): string {
    return this.config.name;
  }

  /** BIRD's protocol state (up / start / down), which calicoctl's STATE and SINCE show. */
  private birdState(): BirdState {
    const state = this.fsm.state;
    return state === 'Established' ? 'up' : this.refused || this.disabled || !this.fsm.data.autoRestart ? 'down' : 'start';
  }

  /**
   * SINCE is the time of the last change of BIRD's state, as `birdc show
   * protocols` and calicoctl show it, not of every FSM step: a peer retrying
   * Connect -> Active every 5 s keeps the time it went down. True when it changed.
   */
  private noteState(): boolean {
    const now = this.birdState();
    if (now === this.sinceState) return false;
    this.sinceState = now;
    this.since = this.clock.now();
    return true;
  }

  private sinceState: BirdState | undefined;
  private loggedReason: string | undefined;

  get state(): FsmStateName {
    return this.fsm.state;
  }

  /**
   * AutomaticStart; a peer whose password could not be read stays down with
   * that reason instead (peering without the password would be refused by
   * the peer anyway, RFC 2385 §2), still listed in status and metrics.
   */
  start(): void {
    // Held down by the operator: no start from anywhere (a BFD-down reset included) until enable().
    if (this.disabled) return;
    if (this.config.passwordProblem) {
      this.refused = true;
      this.lastError = this.config.passwordProblem;
      this.noteState();
      this.log.warn({ peer: this.name }, this.config.passwordProblem);
      return;
    }
    this.fsm.handle({ type: 'AutomaticStart' });
  }

  /** ManualStop with a Cease (RFC 4486 subcode, RFC 8203 message in `data`). */
  stop(cease?: Notice): void {
    this.dropPending();
    this.fsm.handle({ type: 'ManualStop', cease: cease ?? { code: CEASE, subcode: 2 } });
  }

  /**
   * The operator takes the session down and keeps it down (BIRD's `disable`):
   * ManualStop with `cease` (Cease 2 "Administrative Shutdown", RFC 4486 §4,
   * with an RFC 8203 message), then no automatic restart and incoming
   * connections refused (Idle) until `enable`. A peer never started (made
   * while disabled) just stays Idle.
   */
  disable(cease?: Notice): void {
    this.disabled = true;
    this.stop(cease);
    this.noteState();
  }

  /** The operator's `enable`: start again, as at configuration (AutomaticStart). */
  enable(): void {
    if (!this.disabled) return;
    this.disabled = false;
    this.start();
    this.noteState();
  }

  get isDisabled(): boolean {
    return this.disabled;
  }

  /**
   * Stop without NOTIFICATION, as a restarting speaker does (RFC 4724 §4): the
   * peer sees the TCP connection go and keeps our routes for our restart time.
   */
  drop(): void {
    this.dropPending();
    const wasEstablished = this.fsm.state === 'Established';
    this.primary?.socket.destroy();
    this.primary = null;
    this.fsm.reset({ state: 'Idle', autoRestart: false });
    this.noteState();
    if (wasEstablished) {
      this.established = false;
      this.deps.emit({ type: 'down', peer: this.name, graceful: false, restartTime: 0, reason: 'agent stopping' });
    }
  }

  /** An incoming connection from this peer's address (the listener already checked it is ours). */
  accept(socket: net.Socket): void {
    const state = this.fsm.state;
    if (this.refused || this.disabled || state === 'Idle') {
      // Idle: stopped, refused, or resting in the error-wait time (as BIRD refuses then).
      this.log.debug({ peer: this.name, state }, 'incoming connection refused in this state');
      socket.destroy();
      return;
    }
    // RFC 5082 §3: a GTSM peer is not served without its TTL check.
    const gtsmError = secureAccepted(socket, this.config);
    if (gtsmError) {
      this.lastError = gtsmError;
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, 'in', this.handlers, this.clock);
    if (state === 'Connect' || state === 'Active') {
      // No BGP connection yet: the incoming one replaces any outgoing attempt.
      this.primary?.close();
      this.primary = conn;
      this.fsm.handle({ type: 'TcpConnectionConfirmed' });
      return;
    }
    // OpenSent / OpenConfirm / Established: a collision candidate (RFC 4271 §6.8).
    this.dropPending();
    this.pending = conn;
    this.sendOpen(conn);
    this.pendingTimer = this.clock.setTimer(OPEN_HOLD_TIME * 1000, () => this.dropPending());
  }

  /**
   * Queue Adj-RIB-Out changes; ignored unless Established (the RIB re-sends the table on 'established').
   * At most one change per (prefix, path id) per call, as the RIB gives them; the array is kept until
   * sent, not copied, so it must not be changed afterwards (see TxQueue).
   */
  enqueue(changes: readonly OutChange[]): void {
    if (this.fsm.state !== 'Established') return;
    this.primary?.tx?.enqueue(changes);
  }

  /**
   * The AFI this session carries: IPv6 unicast between IPv6 addresses, IPv4
   * unicast otherwise, as calico-node's bird6 and bird keep the families in
   * separate sessions.
   */
  get afi(): 1 | 2 {
    return this.config.address.includes(':') ? 2 : 1;
  }

  /** End-of-RIB for the session's family (RFC 4724 §2), after everything enqueued so far. */
  sendEndOfRib(): void {
    const conn = this.primary;
    if (this.fsm.state !== 'Established' || !conn?.tx || !conn.negotiated) return;
    conn.tx.enqueueRaw([endOfRib(this.afi, 1, conn.negotiated.sendContext)]);
  }

  /**
   * What the RIB needs of the negotiation when the session comes up: the
   * peer's router id (tie-breaks, RFC 4456 ORIGINATOR_ID) and whether path ids
   * flow in either direction for IPv4 unicast (RFC 7911). Null unless Established.
   */
  negotiatedInfo(): { remoteRouterId: string; addPathSend: boolean; addPathReceive: boolean } | null {
    const conn = this.primary;
    if (this.fsm.state !== 'Established' || !conn?.negotiated) return null;
    const family = familyKey(this.afi, 1);
    return {
      remoteRouterId: this.lastSession.remoteRouterId ?? '0.0.0.0',
      addPathSend: conn.negotiated.addPathSend.has(family),
      addPathReceive: conn.negotiated.addPathReceive.has(family),
    };
  }

  /**
   * Ask the peer to re-send its routes (RFC 2918), e.g. after our import
   * policy changed or for `agent peers reset --soft`. Only when Established
   * and the peer advertised the Route Refresh capability (RFC 2918 §4: a
   * speaker must not send it otherwise); false when not sent.
   */
  requestRefresh(): boolean {
    const conn = this.primary;
    if (this.fsm.state !== 'Established' || !conn?.negotiated?.routeRefresh) return false;
    this.write(conn, encodeMessage({ type: 'ROUTE-REFRESH', afi: this.afi, subtype: 0, safi: 1 }, conn.negotiated.sendContext));
    return true;
  }

  /** The AS this session speaks: BGPPeer localASNumber (BIRD `local as`), else the node's (RFC 4271 §4.2 My AS, RFC 6793 AS4). */
  private get localAs(): number {
    return this.config.localAsNumber ?? this.local.asNumber;
  }

  status(): PeerStatus {
    const conn = this.primary;
    const state = this.fsm.state;
    const tx = conn?.tx?.counters;
    return {
      name: this.config.name,
      address: this.config.address,
      port: this.config.port,
      type: this.config.type,
      asNumber: this.config.asNumber,
      passive: this.config.passive,
      state,
      birdState: this.birdState(),
      since: this.since,
      flaps: this.flaps,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      counters: {
        ...this.counters,
        messagesOut: this.counters.messagesOut + this.txTotals.messagesOut + (tx?.messagesOut ?? 0),
        updatesOut: this.txTotals.updatesOut + (tx?.updatesOut ?? 0),
        prefixesAdvertised: tx?.prefixesAdvertised ?? 0,
      },
      ...this.lastSession,
      ...(state === 'Established' || state === 'OpenConfirm' ? {} : { holdTime: undefined, keepaliveTime: undefined }),
      ...(this.config.bgpPeer ? { bgpPeer: this.config.bgpPeer } : {}),
      ...(this.config.localAsNumber !== undefined ? { localAs: this.config.localAsNumber } : {}),
      ...(this.disabled ? { disabled: true as const } : {}),
      ...(conn?.connected ? { localAddress: conn.localAddress, localPort: conn.localPort } : {}),
    };
  }

  // -------------------------------------------------------------------------
  // FSM actions

  private execute(action: Exclude<FsmAction, { type: 'start-timer' | 'stop-timer' }>, event: FsmEvent): void {
    switch (action.type) {
      case 'connect':
        this.connect();
        return;
      case 'close':
        this.retire(this.primary);
        this.primary?.close();
        this.primary = null;
        return;
      case 'release':
        // The connection's queue and negotiated context go with it (closed above); nothing shared to free.
        return;
      case 'send-open':
        if (this.primary) this.sendOpen(this.primary);
        return;
      case 'send-keepalive':
        if (this.primary) this.write(this.primary, KEEPALIVE());
        return;
      case 'send-notification':
        this.sendNotification(this.primary, action.notice);
        return;
      case 'established':
        this.onEstablished();
        return;
      case 'down':
        this.onDown(action.cause, action.wasEstablished, event);
        return;
    }
  }

  private connect(): void {
    const opts: net.NetConnectOpts = { host: this.config.address, port: this.config.port };
    if (this.config.sourceAddress) opts.localAddress = this.config.sourceAddress;
    // A password or GTSM needs its options before the SYN (session-security.ts); tests' fakes come first.
    const socket = (this.deps.connect ?? connectorFor(this.config))(opts);
    this.primary?.close();
    this.primary = new Connection(socket, 'out', this.handlers, this.clock);
  }

  private sendOpen(conn: Connection): void {
    const open = this.buildOpen();
    conn.localOpen = open;
    this.write(conn, encodeMessage(open, DEFAULT_CONTEXT));
  }

  /** Direct write (ahead of queued UPDATEs), counted for the primary connection. */
  private write(conn: Connection, bytes: Buffer): void {
    conn.write(bytes);
    if (conn === this.primary) this.counters.messagesOut++;
  }

  private buildOpen(): OpenMessage {
    const local = this.local;
    // RFC 4760 §8: an IPv6 session advertises IPv6 unicast only (as bird6 does), so no IPv4 routes are exchanged on it.
    const afi = this.afi;
    const caps: Capability[] = [
      { code: 1, name: 'multiprotocol', afi, safi: 1 },
      { code: 2, name: 'route-refresh' },
      grCapability({
        restarting: local.restarting,
        restartTime: this.config.restartTime || 120,
        forwardingPreserved: local.forwardingPreserved,
        notification: local.grNotification,
        afi,
      }),
      { code: 65, name: 'as4', asn: this.localAs },
      // Calico renders `add paths on` (send and receive) for every session.
      { code: 69, name: 'add-path', families: [{ afi, safi: 1, sendReceive: 3 }] },
    ];
    if (local.hostname) caps.push({ code: 73, name: 'fqdn', hostname: local.hostname, domain: '' });
    return {
      type: 'OPEN',
      version: 4,
      myAs: this.localAs > 0xffff ? 23456 : this.localAs,
      holdTime: fsmConfigFor(this.config, this.deps.fsm).holdTime,
      bgpId: local.routerId,
      capabilities: caps,
    };
  }

  private sendNotification(conn: Connection | null, notice: Notice): void {
    if (!conn) return;
    this.write(conn, encodeMessage({ type: 'NOTIFICATION', code: notice.code, subcode: notice.subcode, data: notice.data ?? new Uint8Array(0) }, DEFAULT_CONTEXT));
    this.log.info({ peer: this.name, code: notice.code, subcode: notice.subcode }, 'sent NOTIFICATION');
  }

  private onEstablished(): void {
    this.established = true;
    this.lastError = undefined;
    this.log.info({ peer: this.name, capabilities: this.lastSession.capabilities }, 'BGP session established');
    this.deps.emit({ type: 'established', peer: this.name });
  }

  private onDown(cause: DownCause, wasEstablished: boolean, event: FsmEvent): void {
    const words = this.causeWords(cause);
    if (words) this.lastError = words;
    this.noticeDetail = undefined;
    if (!wasEstablished) return;
    this.established = false;
    const notice = cause.kind === 'connection-lost' ? undefined : cause.kind === 'hold-timer' ? HOLD_TIMER_EXPIRED : cause.kind === 'collision' ? { code: CEASE, subcode: CEASE_CONNECTION_COLLISION } : cause.notice;
    const restartTime = this.lastSession.peerRestartTime ?? 0;
    const graceful =
      cause.kind !== 'stopped' &&
      isGracefulDown({ remote: this.lastGr, localNotification: this.local.grNotification }, notice);
    this.log.info({ peer: this.name, reason: words, graceful, event: event.type }, 'BGP session down');
    this.deps.emit({ type: 'down', peer: this.name, graceful, restartTime: graceful ? restartTime : 0, reason: words ?? 'stopped' });
  }

  private lastGr: { restartTime: number; notification: boolean } | null = null;

  private causeWords(cause: DownCause): string | undefined {
    switch (cause.kind) {
      case 'stopped':
        return this.established ? sentNotificationWords(cause.notice) : undefined;
      case 'hold-timer':
        return 'Hold timer expired';
      case 'notification-sent':
        return sentNotificationWords(cause.notice, this.noticeDetail);
      case 'notification-received':
        return receivedNotificationWords(cause.notice, this.localAs);
      case 'connection-lost':
        return cause.reason;
      case 'collision':
        return 'Connection collision: closed ours (Cease 7)';
    }
  }

  /** Keep the totals of a connection's queue when it goes. */
  private retire(conn: Connection | null): void {
    const tx = conn?.tx?.counters;
    if (!tx) return;
    this.txTotals.messagesOut += tx.messagesOut;
    this.txTotals.updatesOut += tx.updatesOut;
    conn!.tx = null;
  }

  /**
   * A second connection while Established without the R bit: either a
   * collision (the peer's session is the one we have) or the peer lost the
   * old connection without our noticing (a reboot: no FIN ever came). One
   * KEEPALIVE on the old connection tells them apart at no cost to a live
   * session: a peer without that connection answers with a reset, which
   * ends the session at once instead of after the hold time, and the peer's
   * next attempt (its connect retry) is accepted. At most one probe a second
   * (RFC 4271 §4.4: KEEPALIVEs no more often than one per second).
   */
  private probe(conn: Connection): void {
    const now = this.clock.now();
    if (now - this.lastProbeAt < 1000) return;
    this.lastProbeAt = now;
    this.write(conn, KEEPALIVE());
  }

  private lastProbeAt = -Infinity;

  private dropPending(): void {
    this.pendingTimer?.cancel();
    this.pendingTimer = null;
    this.pending?.close();
    this.pending = null;
  }

  // -------------------------------------------------------------------------
  // Socket events

  private readonly handlers = {
    onConnect: (conn: Connection) => {
      if (conn === this.primary) this.fsm.handle({ type: 'Tcp_CR_Acked' });
    },
    onClosed: (conn: Connection, err: NodeJS.ErrnoException | undefined, connected: boolean) => {
      if (conn === this.pending) {
        this.pendingTimer?.cancel();
        this.pending = null;
        return;
      }
      if (conn !== this.primary) return;
      this.retire(conn);
      const reason = err
        ? socketErrorWords(err, connected ? 'Socket' : 'Connect', err.code === 'EADDRNOTAVAIL' ? `source address ${this.config.sourceAddress} not on this host?` : undefined)
        : connected
          ? 'Socket: connection closed by peer'
          : 'Connect: connection closed';
      this.primary = null;
      this.fsm.handle({ type: 'TcpConnectionFails', reason });
    },
    onDecodeError: (conn: Connection, err: BgpError, type: number | undefined) => {
      const notice: Notice = notificationFor(err);
      if (conn === this.pending) {
        this.sendNotification(conn, notice);
        this.dropPending();
        return;
      }
      if (conn !== this.primary) return;
      // The codec's message starts with the NOTIFICATION's name, which the words already carry.
      const name = notificationName(err.code, err.subcode);
      this.noticeDetail = err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message === name ? undefined : err.message;
      if (err.code === ERR_HEADER || type === undefined) this.fsm.handle({ type: 'BGPHeaderErr', notice });
      else if (type === MSG_OPEN || err.code === ERR_OPEN) this.fsm.handle({ type: 'BGPOpenMsgErr', notice });
      else this.fsm.handle({ type: 'UpdateMsgErr', notice });
    },
    onMessage: (conn: Connection, msg: BgpMessage) => {
      if (conn === this.pending) this.onPendingMessage(conn, msg);
      else if (conn === this.primary) this.onPrimaryMessage(conn, msg);
    },
  };

  private onPrimaryMessage(conn: Connection, msg: BgpMessage): void {
    this.counters.messagesIn++;
    switch (msg.type) {
      case 'OPEN':
        this.onOpen(conn, msg);
        return;
      case 'KEEPALIVE':
        this.fsm.handle({ type: 'KeepAliveMsg' });
        return;
      case 'NOTIFICATION': {
        const notice = { code: msg.code, subcode: msg.subcode, data: msg.data };
        this.log.info({ peer: this.name, code: msg.code, subcode: msg.subcode }, 'received NOTIFICATION');
        this.fsm.handle(msg.code === ERR_OPEN && msg.subcode === OPEN_UNSUPPORTED_VERSION ? { type: 'NotifMsgVerErr', notice } : { type: 'NotifMsg', notice });
        return;
      }
      case 'UPDATE':
        this.counters.updatesIn++;
        this.fsm.handle({ type: 'UpdateMsg' });
        if (this.fsm.state === 'Established') this.onUpdate(msg);
        return;
      case 'ROUTE-REFRESH':
        this.fsm.handle({ type: 'RouteRefreshMsg' });
        // RFC 7313 BoRR/EoRR markers (subtype 1/2) are not requests.
        if (this.fsm.state === 'Established' && msg.subtype === 0) {
          this.deps.emit({ type: 'route-refresh', peer: this.name, afi: msg.afi, safi: msg.safi });
        }
        return;
    }
  }

  private onUpdate(update: UpdateMessage): void {
    const eor = isEndOfRib(update);
    if (eor) {
      this.deps.emit({ type: 'end-of-rib', peer: this.name, afi: eor.afi, safi: eor.safi });
      return;
    }
    let announced = update.nlri.keys.length;
    let withdrawn = update.withdrawn.keys.length;
    const mpReach = update.attributes.mpReach;
    if (mpReach && 'nlri' in mpReach) announced += mpReach.afi === 1 ? mpReach.nlri.keys.length : ipv6Count(mpReach.nlri);
    const mpUnreach = update.attributes.mpUnreach;
    if (mpUnreach && 'withdrawn' in mpUnreach) withdrawn += mpUnreach.afi === 1 ? mpUnreach.withdrawn.keys.length : ipv6Count(mpUnreach.withdrawn);
    this.counters.prefixesReceived += announced;
    this.counters.withdrawnReceived += withdrawn;
    this.deps.emit({ type: 'update', peer: this.name, update });
  }

  /** OPEN on the primary connection: checks, negotiation, then BGPOpen. */
  private onOpen(conn: Connection, open: OpenMessage): void {
    const state = this.fsm.state;
    if (state !== 'OpenSent' && !this.fsm.data.delayOpenRunning) {
      this.fsm.handle({ type: 'BGPOpen', holdTime: open.holdTime }); // FSM error for the state
      return;
    }
    const failure = this.acceptOpen(conn, open);
    if (failure) {
      this.noticeDetail = failure.detail;
      this.fsm.handle({ type: 'BGPOpenMsgErr', notice: failure.notice });
      return;
    }
    this.fsm.handle({ type: 'BGPOpen', holdTime: conn.negotiated!.holdTime });
  }

  /** Check and negotiate an OPEN on `conn`; on success the connection has its context and send queue. */
  private acceptOpen(conn: Connection, open: OpenMessage): OpenFailure | null {
    const failure = checkOpen(open, { peerAs: this.config.asNumber, localAs: this.localAs, localId: this.local.routerId });
    if (failure) return failure;
    if (!conn.localOpen) this.sendOpen(conn);
    let negotiated;
    try {
      negotiated = negotiate(conn.localOpen!, open);
    } catch (err) {
      if (err instanceof BgpError) return { notice: notificationFor(err), detail: err.message };
      throw err;
    }
    // RFC 4271 §4.2: the smaller of the two hold times.
    const holdTime = Math.min(conn.localOpen!.holdTime, open.holdTime);
    conn.negotiated = { ...negotiated, holdTime };
    conn.remoteOpen = open;
    if (negotiated.extendedMessage) conn.framer.setMaxLength(65535);
    const send = negotiated.sendContext;
    const encoder = this.afi === 2 ? ipv6Encoder : (this.deps.encoder ?? defaultEncoder);
    conn.tx = new TxQueue(conn.socket, encoder, send, send.addPath.has(familyKey(this.afi, 1)), this.deps.tx);
    const gr = negotiated.gracefulRestart?.remote ?? null;
    const grCap = open.capabilities.find((c) => c.name === 'graceful-restart') as Extract<Capability, { name: 'graceful-restart' }> | undefined;
    this.lastGr = gr ? { restartTime: gr.restartTime, notification: !!grCap?.notification } : null;
    this.counters = zeroCounters();
    this.counters.messagesIn = 1;
    this.counters.messagesOut = 1;
    this.txTotals = { messagesOut: 0, updatesOut: 0 };
    this.lastSession = {
      capabilities: summarize(negotiated, gr, this.afi),
      holdTime,
      keepaliveTime: holdTime === 0 ? 0 : Math.max(1, Math.floor(holdTime / 3)),
      remoteRouterId: open.bgpId,
      ...(gr ? { peerRestartTime: gr.restartTime } : {}),
    };
    return null;
  }

  /** A message on the collision candidate: only its OPEN matters. */
  private onPendingMessage(conn: Connection, msg: BgpMessage): void {
    if (msg.type === 'NOTIFICATION') {
      this.dropPending();
      return;
    }
    if (msg.type !== 'OPEN') return;
    const existing = this.primary;
    const state = this.fsm.state;
    const restarted = peerRestarted(msg);
    const decision = existing
      ? resolveCollision({
          existing: existing.direction === 'out' ? 'local' : 'remote',
          existingEstablished: state === 'Established',
          replaceEstablished: restarted && this.lastGr !== null,
          localId: this.local.routerId,
          remoteId: msg.bgpId,
        })
      : 'close-existing';
    const collision: Notice = { code: CEASE, subcode: CEASE_CONNECTION_COLLISION };
    if (decision === 'close-new') {
      this.log.info({ peer: this.name, state }, 'connection collision: closing the new connection (Cease 7)');
      this.sendNotification(conn, collision);
      this.dropPending();
      if (state === 'Established' && existing) this.probe(existing);
      return;
    }
    // Keep the new connection.
    this.pendingTimer?.cancel();
    this.pendingTimer = null;
    this.pending = null;
    if (state === 'Established') {
      // RFC 4724 §4.2: the peer says it restarted (R bit); the old session ends
      // as if TCP dropped, so its routes are kept as stale (graceful).
      this.log.info({ peer: this.name }, 'peer restarted (Restart State bit in its new OPEN): replacing the Established session');
      this.fsm.handle({ type: 'TcpConnectionFails', reason: 'Socket: peer restarted (new OPEN with Restart State bit)' });
    } else if (existing) {
      this.log.info({ peer: this.name }, 'connection collision: closing the existing connection');
      this.sendNotification(existing, collision);
      this.retire(existing);
      existing.close();
    }
    this.primary = conn;
    this.fsm.reset({ state: 'OpenSent', autoRestart: true, delayOpenRunning: false, holdTime: OPEN_HOLD_TIME });
    this.noteState();
    const failure = this.acceptOpen(conn, msg);
    if (failure) {
      this.noticeDetail = failure.detail;
      this.fsm.handle({ type: 'BGPOpenMsgErr', notice: failure.notice });
      return;
    }
    this.fsm.handle({ type: 'BGPOpen', holdTime: conn.negotiated!.holdTime });
  }
}

/** RFC 4724 §3: the Restart State bit of the OPEN's graceful-restart capability. */
function peerRestarted(open: OpenMessage): boolean {
  for (const c of open.capabilities) if (c.name === 'graceful-restart' && c.restartState) return true;
  return false;
}

function zeroCounters(): PeerCounters {
  return { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, prefixesReceived: 0, withdrawnReceived: 0, prefixesAdvertised: 0 };
}

/** The negotiated capabilities as status words; add-path is the session's family's (IPv6 unicast on an IPv6 session). */
function summarize(n: import('../codec/index.js').Negotiated, gr: { restartTime: number } | null, afi: number): string[] {
  const out: string[] = [];
  if (n.as4) out.push('as4');
  if (n.routeRefresh) out.push('route-refresh');
  if (n.enhancedRouteRefresh) out.push('enhanced-route-refresh');
  if (n.extendedMessage) out.push('extended-message');
  const rx = n.addPathReceive?.has?.(familyKey(afi, 1));
  const tx = n.addPathSend?.has?.(familyKey(afi, 1));
  if (rx || tx) out.push(`add-path ${rx ? 'rx' : ''}${rx && tx ? '/' : ''}${tx ? 'tx' : ''}`);
  if (gr) out.push(`graceful-restart ${gr.restartTime}s`);
  if (n.remoteHostname) out.push(`hostname ${n.remoteHostname}`);
  return out;
}
