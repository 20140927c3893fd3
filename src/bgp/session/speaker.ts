/**
 * The BGP speaker: the listener plus every configured peer.
 *
 * `setPeers` reconciles towards the desired peer list (docs/ARCHITECTURE.md,
 * "Data flow": every part reconciles idempotently): unchanged peers are not touched, changed ones are
 * reset with Cease 6 "other configuration change", removed ones get Cease 3
 * "peer de-configured" (RFC 4486), each with an RFC 8203 message.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { PeerConfig } from '../../datastore/desired.js';
import { systemClock, type Clock } from '../../clock.js';
import type { FsmConfig } from '../fsm/types.js';
import type { OutChange, SessionEvent } from '../route.js';
import { Listener } from './listener.js';
import { ListenerSecurity } from './session-security.js';
import { Peer, silentLogger, type LocalSpeaker, type Logger, type PeerStatus } from './peer.js';
import type { TxEncoder, TxQueueOptions } from './tx-queue.js';
import { shutdownMessage } from './words.js';

export interface SpeakerOptions {
  asNumber: number;
  routerId: string;
  listenAddress?: string;
  /** Calico BGPConfiguration listenPort (default 179); 0 = any free port (tests). */
  listenPort?: number;
  clock?: Clock;
  logger?: Logger;
  /** RFC 4724 R bit: we are restarting, peers should keep our routes until our End-of-RIB. */
  restarting?: boolean;
  /** RFC 4724 F bit: the kernel kept our forwarding state across the restart. */
  forwardingPreserved?: boolean;
  /** RFC 8538 N bit. */
  grNotification?: boolean;
  hostname?: string;
  /** Timer overrides for every peer (tests). */
  fsm?: Partial<FsmConfig>;
  /** Socket factory for outgoing connections (tests). */
  connect?: (opts: net.NetConnectOpts) => net.Socket;
  encoder?: TxEncoder;
  tx?: TxQueueOptions;
  /** Do not listen at all (e.g. every peer is active-only). */
  noListen?: boolean;
  /**
   * Names of the sessions the operator disabled (`agent peers disable`). The
   * owner passes its own set so that a disabled session stays down across
   * datastore changes that re-create the peer or the whole speaker; it lives
   * in memory only (a restart of the process enables every session again).
   */
  disabled?: Set<string>;
}

export interface SpeakerEvents {
  event: [SessionEvent];
}

/** Fields whose change does not require a session reset (BFD timers go to the BFD session, src/bfd). */
function sessionKey(c: PeerConfig): string {
  // Filters are the RIB's (re-evaluated in place, as BIRD reconfigures filters without a restart).
  // reachableBy is a route in BIRD's static protocol, not the BGP protocol's: a change restarts no session.
  const { name: _n, type: _t, nodeName: _nn, bfd: _bfd, filters: _f, bgpPeer: _bp, reachableBy: _rb, ...rest } = c;
  return canonicalJson(rest);
}

/**
 * JSON with every object's keys sorted, at every depth, so equal settings
 * give equal text whatever order they were built in. (A replacer array in
 * JSON.stringify would filter nested objects' keys too, hiding a change of
 * routeReflectorClient.clusterId or passwordSecret.key.)
 */
function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : x,
  );
}

export class Speaker extends EventEmitter<SpeakerEvents> {
  private readonly peers = new Map<string, Peer>();
  private readonly byAddress = new Map<string, Peer>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  readonly listener: Listener | null;
  private stopped = false;
  /** Shared by every peer, so clearing the R bit reaches the next OPEN of each. */
  private readonly local: LocalSpeaker;
  /** TCP MD5 keys (and GTSM's TTL) on the listening socket, one key per peer address (RFC 2385). */
  private listenerSecurity: ListenerSecurity | null = null;
  private readonly disabled: Set<string>;

  constructor(private readonly options: SpeakerOptions) {
    super();
    this.disabled = options.disabled ?? new Set();
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.local = {
      asNumber: options.asNumber,
      routerId: options.routerId,
      hostname: options.hostname,
      restarting: options.restarting ?? false,
      forwardingPreserved: options.forwardingPreserved ?? false,
      grNotification: options.grNotification ?? false,
    };
    this.listener = options.noListen
      ? null
      : new Listener({
          port: options.listenPort ?? 179,
          address: options.listenAddress,
          clock: this.clock,
          logger: this.logger,
          lookup: (address) => this.byAddress.get(address),
        });
  }

  /** Start listening; resolves with the bound port. */
  async start(): Promise<number | undefined> {
    if (!this.listener) return undefined;
    const port = await this.listener.listen(Math.max(1024, this.peers.size));
    const server = this.listener.netServer;
    this.listenerSecurity = server ? ListenerSecurity.forServer(server, this.logger) : null;
    this.listenerSecurity?.sync([...this.peers.values()].map((p) => p.config));
    return port;
  }

  get port(): number | undefined {
    return this.listener?.port;
  }

  setPeers(configs: readonly PeerConfig[]): void {
    if (this.stopped) return;
    const wanted = new Map(configs.map((c) => [c.name, c]));
    for (const [name, peer] of this.peers) {
      const next = wanted.get(name);
      if (!next) {
        this.removePeer(peer, { code: 6, subcode: 3, data: shutdownMessage('peer removed from configuration') });
      } else if (sessionKey(next) !== sessionKey(peer.config)) {
        this.removePeer(peer, { code: 6, subcode: 6, data: shutdownMessage('peer configuration changed') });
      }
    }
    // Keys on the listener before any new peer can connect (RFC 2385: unsigned SYNs are dropped).
    this.listenerSecurity?.sync(configs);
    for (const config of configs) {
      if (this.peers.has(config.name)) continue;
      const peer = new Peer(
        config,
        this.local,
        {
          clock: this.clock,
          logger: this.logger,
          emit: (e) => this.emit('event', e),
          connect: this.options.connect,
          fsm: this.options.fsm,
          encoder: this.options.encoder,
          tx: this.options.tx,
        },
      );
      this.peers.set(config.name, peer);
      this.byAddress.set(config.address, peer);
      if (this.disabled.has(config.name)) peer.disable();
      else peer.start();
    }
  }

  private removePeer(peer: Peer, cease: { code: number; subcode: number; data: Uint8Array }): void {
    peer.stop(cease);
    this.peers.delete(peer.name);
    if (this.byAddress.get(peer.config.address) === peer) this.byAddress.delete(peer.config.address);
  }

  /**
   * The restart is over (every peer's End-of-RIB seen, our table sent): later
   * OPENs no longer set the R bit (RFC 4724 §3), and the F bit follows
   * `forwardingPreserved` as given.
   */
  restartComplete(forwardingPreserved = this.local.forwardingPreserved): void {
    this.local.restarting = false;
    this.local.forwardingPreserved = forwardingPreserved;
  }

  peer(name: string): Peer | undefined {
    return this.peers.get(name);
  }

  enqueue(peerName: string, changes: readonly OutChange[]): void {
    this.peers.get(peerName)?.enqueue(changes);
  }

  sendEndOfRib(peerName: string): void {
    this.peers.get(peerName)?.sendEndOfRib();
  }

  /**
   * Ask a peer (or every peer) to re-send its routes, e.g. when import policy
   * changed. For one peer: whether the ROUTE-REFRESH went out (RFC 2918: only
   * to an Established peer that advertised the capability).
   */
  requestRefresh(peerName?: string): boolean {
    if (peerName) return this.peers.get(peerName)?.requestRefresh() ?? false;
    for (const p of this.peers.values()) p.requestRefresh();
    return true;
  }

  /**
   * BFD says the forwarding path to this peer failed (RFC 5882 §4.1): close
   * the session at once with Cease 10 "BFD Down" (RFC 9384), not gracefully,
   * so the RIB drops its routes now rather than keeping them as stale; then
   * start it again, to come back as soon as the peer answers. False when
   * there is no such peer.
   */
  resetForForwardingFailure(peerName: string): boolean {
    const peer = this.peers.get(peerName);
    if (!peer) return false;
    peer.stop({ code: 6, subcode: 10 });
    peer.start();
    return true;
  }

  /**
   * Administrative reset of one peer (`agent peers reset`, birdc `restart`):
   * NOTIFICATION Cease 4 "Administrative Reset" (RFC 4486 §4) with an RFC 8203
   * message, then started again by the normal FSM (connect retry, or waiting
   * for a passive peer to dial). A disabled peer is not started (false), nor
   * an unknown one.
   */
  reset(peerName: string, message = 'administrative reset'): boolean {
    const peer = this.peers.get(peerName);
    if (!peer || peer.isDisabled) return false;
    peer.stop({ code: 6, subcode: 4, data: shutdownMessage(message) });
    peer.start();
    return true;
  }

  /**
   * The operator's `disable` (birdc `disable <name>`): Cease 2 "Administrative
   * Shutdown" (RFC 4486 §4, RFC 8203 message), and the session stays Idle
   * until `enable`, also when the datastore re-creates it.
   */
  disable(peerName: string, message = 'disabled by the operator'): boolean {
    const peer = this.peers.get(peerName);
    if (!peer) return false;
    this.disabled.add(peerName);
    peer.disable({ code: 6, subcode: 2, data: shutdownMessage(message) });
    return true;
  }

  /** The operator's `enable`: the session starts again as at configuration. */
  enable(peerName: string): boolean {
    const peer = this.peers.get(peerName);
    this.disabled.delete(peerName);
    if (!peer) return false;
    peer.enable();
    return true;
  }

  status(): PeerStatus[] {
    return [...this.peers.values()].map((p) => p.status());
  }

  /** Why the TCP MD5 key for a peer address could not be set on the listener, if it could not. */
  listenerKeyError(address: string): string | undefined {
    return this.listenerSecurity?.errors.get(address);
  }

  /** Rejected connections from unknown sources, per address. */
  rejectedSources(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [a, e] of this.listener?.rejected ?? []) out.set(a, e.count);
    return out;
  }

  /**
   * Stop every session. graceful: drop TCP without NOTIFICATION so peers that
   * negotiated graceful restart keep our routes (RFC 4724 §4); otherwise Cease 2
   * "administrative shutdown" with a message (RFC 4486, RFC 8203).
   */
  async stop(opts: { graceful: boolean; message?: string } = { graceful: false }): Promise<void> {
    this.stopped = true;
    // net.Server.close waits for accepted sockets to end: start it, stop the peers, then wait (bounded).
    const closing = this.listener?.close();
    for (const peer of this.peers.values()) {
      if (opts.graceful) peer.drop();
      else peer.stop({ code: 6, subcode: 2, data: shutdownMessage(opts.message ?? 'agent shutting down') });
    }
    this.peers.clear();
    this.byAddress.clear();
    // Give the NOTIFICATIONs a moment to leave before the process goes.
    if (!opts.graceful) await new Promise((r) => setTimeout(r, 50));
    if (closing) await Promise.race([closing, new Promise((r) => setTimeout(r, 3000).unref())]);
  }
}
