/**
 * The one wiring of sessions, RIB and kernel (docs/ARCHITECTURE.md): session
 * events go into the RIB, the RIB's Adj-RIB-Out changes go to the sessions
 * and its best-path changes to the kernel programmer. `agent run`, the
 * benchmarks and the integration tests all route through this module, so
 * what they measure and test is what runs.
 *
 * It also keeps the graceful-restart bookkeeping of a restarting speaker
 * (RFC 4724 §4.1): while `restarting`, stale kernel routes are held until
 * every configured peer has sent End-of-RIB, then released, and later OPENs
 * stop setting the Restart State bit.
 *
 * Data flows one way: the RIB and the sessions do not know of each other or
 * of this module; they are handed to it.
 */
import type { LocalBlock, PeerConfig, Pool } from '../contracts.js';
import type { OutChange, SessionEvent } from '../bgp/route.js';
import type { LocalRoute, Rib, RibPeer } from '../bgp/rib/rib.js';
import type { PrefixKey } from '../bgp/prefix.js';
import { isPrefix6 } from '../bgp/prefix6.js';
import type { AlienRouteSource } from '../kernel/alien-routes.js';
import { borrowedAddresses } from '../calico/borrowed.js';
import type { BestPathChange as KernelBestPath, BestPathChange6 as KernelBestPath6 } from '../kernel/programmer.js';
import type { BestPathChange } from '../bgp/rib/rib.js';
import { learnedExportFilter } from '../bgp/rib/calico-policy.js';
import { originatedRoutes6 } from '../bgp/rib/calico-policy6.js';
import { CommunityRules } from '../bgp/rib/community-rules.js';
import { silentLog, type Log } from '../log.js';

/** What the wiring needs of the sessions (src/bgp/session's Speaker). */
export interface SessionsPort {
  on(event: 'event', fn: (e: SessionEvent) => void): unknown;
  off(event: 'event', fn: (e: SessionEvent) => void): unknown;
  setPeers(configs: readonly PeerConfig[]): void;
  enqueue(peer: string, changes: readonly OutChange[]): void;
  sendEndOfRib(peer: string): void;
  /** Send ROUTE-REFRESH (RFC 2918); false when the session is not Established or the peer lacks the capability. */
  requestRefresh(peer: string): boolean;
  peer(name: string): { negotiatedInfo(): { remoteRouterId: string; addPathSend: boolean; addPathReceive: boolean } | null } | undefined;
  restartComplete(forwardingPreserved?: boolean): void;
}

/** What the wiring needs of the kernel route programmer. */
export interface KernelPort {
  applyBestPaths(changes: Iterable<KernelBestPath>): void;
  /** IPv6 best paths (prefix6 ids); without it IPv6 routes are not programmed. */
  applyBestPaths6?(changes: Iterable<KernelBestPath6>): void;
  releaseStale(): void;
}

/** The agent's one logger interface (src/log.ts), the levels the wiring uses. */
export type RoutingLogger = Pick<Log, 'info' | 'warn'>;

export interface RoutingOptions {
  rib: Rib;
  sessions: SessionsPort;
  kernel?: KernelPort;
  logger?: RoutingLogger;
  /** This speaker restarted with its routes kept (RFC 4724 R bit set in its OPENs). */
  restarting?: boolean;
  /** Runs `fn` after the current event-loop turn (the RIB's flush has run by then). */
  defer?: (fn: () => void) => void;
  /**
   * The kernel's alien routes (BIRD's kernel `learn`): those that are borrowed
   * addresses (src/calico/borrowed.ts) are advertised as our own /32s and /128s.
   */
  alienRoutes?: AlienRouteSource;
}

/** This node's own IPv4 routes as the export policy made them, and what borrowed addresses are judged by. */
export interface OwnRoutes {
  routes: Map<PrefixKey, LocalRoute>;
  blocks: readonly LocalBlock[];
  pools: readonly Pool[];
  /** The route (communities) for a borrowed prefix: what prefixAdvertisements give it; none by default. */
  routeOf?: (key: PrefixKey) => LocalRoute;
}

const silent: RoutingLogger = silentLog;

/** The RIB's view of a configured peer. */
export function ribPeerFromConfig(c: PeerConfig): RibPeer {
  return {
    name: c.name,
    address: c.address,
    asNumber: c.asNumber,
    rrClient: c.routeReflectorClient !== undefined,
    keepOriginalNextHop: c.keepOriginalNextHop,
    ...(c.nextHopSelf ? { nextHopSelf: true } : {}),
    ...(c.localAsNumber !== undefined ? { localAs: c.localAsNumber } : {}),
    ...(c.allowLocalAs ? { allowLocalAs: c.allowLocalAs } : {}),
    addPathSend: true, // Calico renders `add paths on` for every session
    ...(c.filters?.length ? { filters: c.filters } : {}),
  };
}

function sameRibPeer(a: RibPeer, b: RibPeer): boolean {
  return (
    a.address === b.address &&
    a.asNumber === b.asNumber &&
    a.rrClient === b.rrClient &&
    a.keepOriginalNextHop === b.keepOriginalNextHop &&
    a.nextHopSelf === b.nextHopSelf &&
    a.localAs === b.localAs &&
    a.allowLocalAs === b.allowLocalAs &&
    a.addPathSend === b.addPathSend &&
    // A BGPFilter edit: the RIB re-evaluates in place (Rib.updatePeer), the session stays.
    JSON.stringify(a.filters ?? []) === JSON.stringify(b.filters ?? [])
  );
}

export class Routing {
  readonly rib: Rib;
  /**
   * IPv6 unicast (issue 19): a second RIB of the same kind, made when this
   * node's IPv6 address is known; IPv6 peers (address with a colon) live
   * there and in IPv6-only sessions, as calico-node's bird6 beside bird.
   */
  private ribV6: Rib | null = null;
  private ipv6Local: { blocks: LocalBlock[]; pools: Pool[]; communities: CommunityRules } = { blocks: [], pools: [], communities: CommunityRules.none };
  private own4: OwnRoutes | null = null;
  private own6: Map<PrefixKey, LocalRoute> | null = null;
  private alien: ReadonlySet<PrefixKey> = new Set();
  private borrowedNow: PrefixKey[] = [];
  private unsubscribeAlien: (() => void) | null = null;
  private lastConfigs: readonly PeerConfig[] = [];
  private readonly sessions: SessionsPort;
  private readonly kernel?: KernelPort;
  private readonly log: RoutingLogger;
  private readonly defer: (fn: () => void) => void;
  private readonly peers = new Map<string, PeerConfig>();
  /** Peers that must send End-of-RIB before stale kernel routes from before a restart go. */
  private readonly awaitingEndOfRib = new Set<string>();
  private restartPending: boolean;
  private detached = false;
  private configured = false;
  /** Configured peers left out, with the reason (status names each). */
  private readonly refused = new Map<string, { config: PeerConfig; reason: string }>();
  private readonly listener = (e: SessionEvent): void => this.onSessionEvent(e);

  constructor(opts: RoutingOptions) {
    this.rib = opts.rib;
    this.sessions = opts.sessions;
    this.kernel = opts.kernel;
    this.log = opts.logger ?? silent;
    this.restartPending = opts.restarting ?? false;
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
    this.sessions.on('event', this.listener);
    this.rib.onAdjRibOut((peer, changes) => this.sessions.enqueue(peer, changes));
    if (opts.alienRoutes) {
      this.alien = opts.alienRoutes.prefixes();
      this.unsubscribeAlien = opts.alienRoutes.subscribe((prefixes) => {
        if (this.detached) return;
        this.alien = prefixes;
        this.applyOwn4();
        this.applyOwn6();
      });
    }
    const kernel = this.kernel;
    if (kernel) {
      this.rib.onBestPathChange((changes) =>
        kernel.applyBestPaths(
          changes.map((c) => {
            const nextHop = c.best && c.best.peer !== null ? c.best.nextHop : null;
            // ECMP (the RIB's mergePaths): every next hop of the tying paths, for one multipath route.
            return c.nextHops && nextHop !== null ? { key: c.key, nextHop, nextHops: c.nextHops } : { key: c.key, nextHop };
          }),
        ),
      );
    }
  }

  /**
   * This node's own IPv4 routes (the export policy's blocks, service CIDRs)
   * and the blocks and pools that decide which alien kernel routes are
   * borrowed addresses; those are added as own routes too.
   */
  setLocalRoutes(own: OwnRoutes): void {
    if (this.detached) return;
    this.own4 = own;
    this.applyOwn4();
  }

  /** The borrowed addresses advertised now, both families (status). */
  borrowed(): readonly PrefixKey[] {
    return this.borrowedNow;
  }

  private applyOwn4(): void {
    const own = this.own4;
    if (!own) return;
    const routes = new Map(own.routes);
    const v4 = borrowedAddresses([...this.alien].filter((k) => !isPrefix6(k)), own.blocks, own.pools);
    for (const key of v4) if (!routes.has(key)) routes.set(key, own.routeOf?.(key) ?? {});
    this.borrowedNow = [...v4, ...this.borrowedNow.filter(isPrefix6)];
    this.rib.setLocalRoutes(routes);
  }

  private applyOwn6(): void {
    const rib6 = this.ribV6;
    if (!rib6 || !this.own6) return;
    const routes = new Map(this.own6);
    const v6 = borrowedAddresses([...this.alien].filter(isPrefix6), this.ipv6Local.blocks, this.ipv6Local.pools);
    for (const key of v6) if (!routes.has(key)) routes.set(key, {});
    this.borrowedNow = [...this.borrowedNow.filter((k) => !isPrefix6(k)), ...v6];
    rib6.setLocalRoutes(routes);
  }

  /** The IPv6 RIB, once this node has an IPv6 address. */
  get rib6(): Rib | null {
    return this.ribV6;
  }

  /**
   * This node's IPv6 side: its IPv6 address (the next hop of its own IPv6
   * routes, RFC 2545 §3), its IPv6 blocks and the IPv6 pools
   * (DesiredState.blocks6 / pools6), under the same Calico rules as IPv4.
   */
  setIpv6(opts: { localAddress?: string; blocks: Iterable<LocalBlock>; pools: Iterable<Pool>; communities?: CommunityRules }): void {
    if (this.detached) return;
    this.ipv6Local = { blocks: [...opts.blocks], pools: [...opts.pools], communities: opts.communities ?? this.ipv6Local.communities };
    const created = !this.ribV6 && !!opts.localAddress;
    const rib6 = opts.localAddress ? this.ensureRib6(opts.localAddress) : this.ribV6;
    if (!rib6) return;
    // IPv6 peers refused for want of this address start now (the agent sets peers before its local state).
    if (created && [...this.refused.values()].some((r) => r.config.address.includes(':'))) this.setPeers(this.lastConfigs);
    const communities = this.ipv6Local.communities;
    const originated = originatedRoutes6(this.ipv6Local.blocks, this.ipv6Local.pools, communities);
    for (const problem of [...communities.problems, ...(originated.problems ?? [])]) this.log.warn({ problem }, 'IPv6 export policy');
    this.own6 = originated.routes;
    this.applyOwn6();
    rib6.setExportFilter(learnedExportFilter(this.ipv6Local.pools));
    rib6.setCommunityRules(communities);
  }

  private ensureRib6(localAddress: string): Rib {
    // The Node's IPv6 address changed while running: the same RIB, the new next hop for
    // our routes (setIpv6 re-announces them next); the IPv6 sessions move to the new
    // source address through their changed PeerConfig (Cease 6), IPv4 is not involved.
    if (this.ribV6) {
      if (this.ribV6.me.localAddress !== localAddress) this.log.info({ from: this.ribV6.me.localAddress, to: localAddress }, 'node IPv6 address changed');
      this.ribV6.setLocalAddress(localAddress);
      return this.ribV6;
    }
    const rib6 = this.rib.ipv6Sibling(localAddress);
    this.ribV6 = rib6;
    rib6.onAdjRibOut((peer, changes) => this.sessions.enqueue(peer, changes));
    const kernel = this.kernel;
    if (kernel?.applyBestPaths6) {
      const apply = kernel.applyBestPaths6.bind(kernel);
      rib6.onBestPathChange((changes) => apply(changes.map(kernel6)));
    }
    rib6.setExportFilter(learnedExportFilter(this.ipv6Local.pools));
    return rib6;
  }

  /** The RIB of a configured peer's family. */
  private ribOf(c: PeerConfig): Rib {
    if (!c.address.includes(':')) return this.rib;
    // Without spec.bgp.ipv6Address the session's source address is the next hop we can give (confd's bird6 uses the same).
    if (!this.ribV6 && c.sourceAddress?.includes(':')) this.setIpv6({ localAddress: c.sourceAddress, ...this.ipv6Local });
    if (!this.ribV6) throw new Error('IPv6 peer not started: this node has no IPv6 address (spec.bgp.ipv6Address) to be the next hop');
    return this.ribV6;
  }

  /** Still waiting for End-of-RIB from the peers of a restart (RFC 4724 §4.1). */
  get restarting(): boolean {
    return this.restartPending;
  }

  /** Configured peers that were not started, and why. */
  refusedPeers(): { config: PeerConfig; reason: string }[] {
    return [...this.refused.values()];
  }

  /** Reconcile the RIB's peers and the sessions to `configs` (the datastore's desired peers). */
  setPeers(configs: readonly PeerConfig[]): void {
    if (this.detached) return;
    this.lastConfigs = configs;
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const removed: string[] = [];
    const added: string[] = [];
    for (const [name, c] of [...this.peers]) {
      const w = wanted.get(name);
      // A peer whose family changed (its address did) moves RIBs: out of the old one first.
      if (w && w.address.includes(':') === c.address.includes(':')) continue;
      this.ribOf(c).removePeer(name);
      this.peers.delete(name);
      this.awaitingEndOfRib.delete(name);
      removed.push(name);
    }
    // The peers configured when a restarting speaker comes up are the ones
    // whose End-of-RIB releases its stale routes; later ones do not hold it
    // (the kernel's hold time bounds the wait either way).
    const first = this.peers.size === 0 && !this.configured;
    this.configured = true;
    const accepted: PeerConfig[] = [];
    this.refused.clear();
    for (const c of configs) {
      const before = this.peers.get(c.name);
      const next = ribPeerFromConfig(c);
      try {
        const rib = this.ribOf(c);
        if (!this.peers.has(c.name)) {
          rib.addPeer(next);
          added.push(c.name);
          if (this.restartPending && first) this.awaitingEndOfRib.add(c.name);
        } else if (before && !sameRibPeer(ribPeerFromConfig(before), next)) rib.updatePeer(next);
      } catch (err) {
        // One peer the RIB cannot take (an address family it does not hold)
        // must not stop the others: it is left out and named in the status.
        this.refused.set(c.name, { config: c, reason: (err as Error).message });
        if (this.peers.has(c.name)) {
          this.ribOf(this.peers.get(c.name)!).removePeer(c.name);
          this.peers.delete(c.name);
        }
        this.awaitingEndOfRib.delete(c.name);
        continue;
      }
      this.peers.set(c.name, c);
      accepted.push(c);
    }
    // Operators follow the datastore's effect on sessions by name (at most a few names per line).
    if (added.length) this.log.info({ peers: added.slice(0, 20), count: added.length }, 'peers added');
    if (removed.length) this.log.info({ peers: removed.slice(0, 20), count: removed.length }, 'peers removed');
    for (const [name, r] of this.refused) this.log.warn({ peer: name, address: r.config.address, reason: r.reason }, 'peer not started');
    this.sessions.setPeers(accepted);
    this.checkStaleRelease();
  }

  /**
   * Stop routing: session events are ignored from now on. Used when the
   * agent stops (routes stay in the kernel, BIRD's `persist`) and when the
   * node's identity changes and a new RIB and speaker take over.
   */
  detach(): void {
    this.detached = true;
    this.sessions.off('event', this.listener);
    this.unsubscribeAlien?.();
  }

  /** Learned prefixes leave the kernel (our own blocks stay): the RIB they came from is being replaced. */
  withdrawLearned(): void {
    const rib = this.rib;
    const learned = [...rib.prefixes()].filter((k) => rib.lookup(k).best?.peer != null);
    this.kernel?.applyBestPaths(learned.map((k) => ({ key: k, nextHop: null })));
    const rib6 = this.ribV6;
    if (rib6 && this.kernel?.applyBestPaths6) {
      const learned6 = [...rib6.prefixes()].filter((k) => rib6.lookup(k).best?.peer != null);
      this.kernel.applyBestPaths6(learned6.map((k) => ({ prefix: k, nextHop: null })));
    }
  }

  private onSessionEvent(e: SessionEvent): void {
    const config = this.peers.get(e.peer);
    if (this.detached || !config) return;
    const v6 = config.address.includes(':');
    const rib = v6 && this.ribV6 ? this.ribV6 : this.rib;
    // The session carries one family (IPv6 unicast for an IPv6 peer, RFC 4760), as its OPEN said.
    const afi = v6 ? 2 : 1;
    switch (e.type) {
      case 'established': {
        // O(1) per session (a status() walk per session made a mesh bring-up O(N^2)).
        const info = this.sessions.peer(e.peer)?.negotiatedInfo();
        const table = rib.peerUp(e.peer, {
          remoteRouterId: info?.remoteRouterId ?? '0.0.0.0',
          addPathSend: info?.addPathSend ?? false,
          addPathReceive: info?.addPathReceive ?? false,
        });
        this.sessions.enqueue(e.peer, table);
        this.sessions.sendEndOfRib(e.peer); // RFC 4724 §2: after the initial table
        this.log.info({ peer: e.peer, routes: table.length }, 'session established; full table sent');
        return;
      }
      case 'update':
        rib.applyUpdate(e.peer, e.update);
        if (e.update.treatAsWithdraw) {
          this.log.warn({ peer: e.peer, reason: e.update.treatAsWithdraw.reason }, 'RFC 7606 treat-as-withdraw');
        }
        return;
      case 'end-of-rib':
        if (e.afi !== afi || e.safi !== 1) return; // each RIB holds its family's unicast only
        rib.endOfRib(e.peer);
        this.awaitingEndOfRib.delete(e.peer);
        this.checkStaleRelease();
        return;
      case 'route-refresh':
        if (e.afi !== afi || e.safi !== 1) return;
        this.sessions.enqueue(e.peer, rib.routeRefresh(e.peer));
        this.sessions.sendEndOfRib(e.peer);
        return;
      case 'down':
        rib.peerDown(e.peer, { graceful: e.graceful, restartTime: e.restartTime });
        this.log.warn({ peer: e.peer, graceful: e.graceful, reason: e.reason }, 'session down');
        return;
      default: {
        const never: never = e;
        throw new Error(`unhandled session event ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Soft reset of one session (`agent peers reset --soft`, birdc `reload`):
   * ask the peer for its routes again with ROUTE-REFRESH (RFC 2918 §3; its
   * re-sent UPDATEs replace what Adj-RIB-In holds, RFC 4271 §9) and send it
   * our Adj-RIB-Out again, then End-of-RIB, as we answer its own
   * ROUTE-REFRESH. The session stays up. Null when the ROUTE-REFRESH could not
   * be sent (not Established, or no Route Refresh capability from the peer):
   * then nothing is re-sent either.
   */
  softReset(name: string): { readvertised: number } | null {
    const config = this.peers.get(name);
    if (this.detached || !config) return null;
    if (!this.sessions.requestRefresh(name)) return null;
    const rib = config.address.includes(':') && this.ribV6 ? this.ribV6 : this.rib;
    const table = rib.routeRefresh(name);
    this.sessions.enqueue(name, table);
    this.sessions.sendEndOfRib(name);
    this.log.info({ peer: name, routes: table.length }, 'soft reset: ROUTE-REFRESH sent, Adj-RIB-Out re-advertised');
    return { readvertised: table.length };
  }

  /** RFC 4724 §4.1 receiving side: stale kernel routes go once every peer sent End-of-RIB. */
  private checkStaleRelease(): void {
    if (!this.restartPending || this.awaitingEndOfRib.size > 0) return;
    this.restartPending = false;
    this.rib.flush();
    this.ribV6?.flush();
    // Let the RIB's best-path changes reach the kernel programmer first.
    this.defer(() => {
      if (this.detached) return;
      // RFC 4724 §4.1: later OPENs no longer carry the Restart State bit.
      this.sessions.restartComplete(true);
      this.kernel?.releaseStale();
      this.log.info({}, 'every peer sent End-of-RIB: stale routes from before the restart released');
    });
  }
}

/** An IPv6 best-path change as the kernel programmer takes it: the next hop is the global address the path carries. */
function kernel6(c: BestPathChange): KernelBestPath6 {
  return { prefix: c.key, nextHop: c.best && c.best.peer !== null ? c.best.nextHop : null };
}
