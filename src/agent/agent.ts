/**
 * The per-node agent: wires datastore -> sessions / RIB / kernel programmer
 * and serves the control socket. Each arrow of docs/ARCHITECTURE.md's
 * "Data flow" is one listener here; nothing downstream reaches back upstream except by events.
 *
 * Every component reconciles towards its desired state, so a datastore diff
 * is applied by handing each part its new desired state: sessions that did
 * not change are not touched (the speaker diffs), the RIB re-originates only
 * what changed, the kernel programmer reconciles only what differs.
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { Speaker } from '../bgp/session/speaker.js';
import { Rib } from '../bgp/rib/rib.js';
import { learnedExportFilter, localRoute, originatedFromDesired } from '../bgp/rib/calico-policy.js';
import type { AlienRouteSource } from '../kernel/alien-routes.js';
import { formatKey } from '../kernel/route.js';
import { CommunityRules } from '../bgp/rib/community-rules.js';
import { KernelProgrammer } from '../kernel/programmer.js';
import { ensureTunnel, ipCommand, type IpRunner } from '../kernel/tunnel.js';
import type { KernelBackend } from '../kernel/backend.js';
import type { DesiredState, DesiredStateDiff, PeerConfig } from '../contracts.js';
import { ControlServer } from './control.js';
import type { AgentConfig } from './config.js';
import { AgentMetrics } from './metrics.js';
import { kernelLoopCheck, readiness, type Check } from './readiness.js';
import type { DatastoreSnapshot, KernelSnapshot, PeerSnapshot, StatusSnapshot } from './snapshot.js';
import { inspectRoutes, type RoutesQuery } from './inspect.js';
import { matchPeers, noSuchPeer } from './peer-match.js';
import { Routing } from './routing.js';
import { BgpPasswords } from './bgp-passwords.js';
import { BfdManager } from '../bfd/manager.js';
import { VERSION } from '../version.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';

/** What the agent needs of the datastore (src/datastore's Datastore; a fake in unit tests). */
export interface DatastorePort {
  start(): Promise<void>;
  stop(): Promise<void>;
  onDiff(fn: (diff: DesiredStateDiff, state: DesiredState) => void): void;
  status(): DatastoreSnapshot;
  /** Create or update this node's Node resource (compare-and-swap). */
  registerNode?(node: { name: string; ipv4Cidr: string; ipv4IPIPTunnelAddr?: string; ipv6Cidr?: string; asNumber?: number }): Promise<void>;
}

export interface AgentDeps {
  logger: Logger;
  datastore: DatastorePort;
  /** Opens the kernel backend; not called when config.programRoutes is false. */
  kernelBackend?: () => Promise<KernelBackend>;
  /** Time for everything the agent schedules (default the system clock); the event-loop stall watch alone uses real timers, since a stall is real time lost. */
  clock?: Clock;
  /** Runs `ip` for --manage-tunnel (tests inject a fake). */
  ipRunner?: IpRunner;
  /** The event-loop stall that fails `agent live` (10 s; tests use less so they need not stall for 10 s). */
  liveStallLimitMs?: number;
  /**
   * Opens the watch of the kernel's alien routes (BIRD's kernel `learn`), whose
   * borrowed addresses are advertised; none: no borrowed addresses.
   */
  alienRoutes?: () => Promise<AlienRouteSource & { close(): void }>;
}

/** Identity fields whose change means new sessions (new OPEN contents). */
function speakerKey(state: DesiredState, listenPort: number): string {
  const n = state.node;
  return `${n.asNumber}|${n.routerId}|${n.routeReflectorClusterID ?? ''}|${n.ipv4}|${listenPort}`;
}


/** A configured peer that was not started: listed like the others (status, peers, metrics), down, with the reason. */
function refusedPeerSnapshot(c: PeerConfig, reason: string, since: number): PeerSnapshot {
  return {
    name: c.name,
    address: c.address,
    port: c.port,
    type: c.type,
    asNumber: c.asNumber,
    bgpState: 'Idle',
    birdState: 'down',
    since,
    lastError: reason,
    passive: c.passive,
    capabilities: [],
    counters: { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, received: 0, accepted: 0, advertised: 0 },
  };
}

export class Agent {
  readonly control: ControlServer;
  readonly metrics: AgentMetrics;
  private speaker?: Speaker;
  private speakerIdentity = '';
  private rib?: Rib;
  /** Sessions <-> RIB -> kernel, for the current speaker (src/agent/routing.ts). */
  private routing?: Routing;
  private kernel?: KernelProgrammer;
  /** The kernel's alien routes (AgentDeps.alienRoutes), shared by every wiring this agent makes. */
  private alienRoutes?: AlienRouteSource & { close(): void };
  private state?: DesiredState;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly now: () => number;
  /** The BGP listener's port and, when it could not listen, why (status, readiness). */
  private listener?: { port?: number; error?: string };
  /** The pending node-registration retry, cancelled on stop so it holds nothing open. */
  private registerRetry?: TimerHandle;
  private readonly startedAt: number;
  private stopping = false;
  /** Our routes were in the kernel at start: we are restarting (RFC 4724 R bit until every End-of-RIB). */
  private restarting = false;
  private rebuilding?: Promise<void>;
  private maxLoopLagMs = 0;
  private lagTimer?: NodeJS.Timeout;
  /** When a datastore diff touching local blocks arrived, for the datastore-to-kernel histogram. */
  private pendingBlockChangeAt?: number;
  /**
   * Sessions the operator disabled (`agent peers disable`), by name: held by
   * the agent, not the speaker, so they stay down across datastore changes,
   * a speaker rebuild included. In memory only: a restart enables them all,
   * as BIRD forgets `disable` when it restarts.
   */
  private readonly disabledPeers = new Set<string>();
  /** TCP MD5 passwords from mounted Secrets (issue 20); a change re-applies the peers. */
  private readonly passwords: BgpPasswords;

  constructor(
    readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = deps.logger;
    this.clock = deps.clock ?? systemClock;
    this.now = () => this.clock.now();
    this.startedAt = this.now();
    this.control = new ControlServer(config.controlSocket);
    this.metrics = new AgentMetrics(() => this.snapshot());
    this.passwords = new BgpPasswords({
      dir: config.secretsDir,
      onChange: () => {
        // Only sessions whose password changed are reset: the speaker diffs each peer's config.
        if (this.state && !this.stopping) this.routing?.setPeers(this.passwords.apply([...this.state.peers.values()]));
      },
    });
  }

  async start(): Promise<void> {
    // The control socket first: a second agent must refuse before touching anything.
    this.registerControlHandlers();
    await this.control.listen();
    if (this.config.pidFile) {
      mkdirSync(dirname(this.config.pidFile), { recursive: true });
      writeFileSync(this.config.pidFile, `${process.pid}\n`);
    }
    if (this.config.metricsPort !== undefined) {
      const port = await this.metrics.listen(this.config.metricsPort, this.config.metricsHost);
      this.log.info({ address: this.config.metricsHost, port }, 'metrics listening');
    }
    this.watchEventLoop();
    this.passwords.start();
    this.startBfd();

    if (this.config.programRoutes) {
      if (!this.deps.kernelBackend) throw new Error('no kernel backend configured');
      const backend = await this.deps.kernelBackend();
      this.kernel = new KernelProgrammer({
        backend,
        logger: this.log.child({ component: 'kernel' }),
        initialHoldMs: this.config.restartHoldTime * 1000,
      });
      await this.kernel.start();
      // Routes of ours already in the kernel mean we are restarting: ask peers
      // to keep our routes (RFC 4724 R bit) and keep theirs until End-of-RIB.
      this.restarting = this.kernel.status().counters.adopted > 0;
      this.log.info({ backend: backend.name, adopted: this.kernel.status().counters.adopted }, 'kernel programmer started');
    }

    if (this.deps.alienRoutes) {
      try {
        this.alienRoutes = await this.deps.alienRoutes();
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'cannot watch kernel routes: borrowed addresses are not advertised');
      }
    }

    this.deps.datastore.onDiff((diff, state) => this.applyDesired(diff, state));
    // Not awaited: with etcd down the agent still runs and says so in its status.
    this.deps.datastore.start().then(
      () => this.log.info('datastore synced'),
      (err: Error) => this.log.error({ err }, 'datastore failed to start'),
    );
    if (this.config.registerNode && this.config.ipv4) void this.registerNode();
  }

  /**
   * Create or update our Node resource, as calico-node does at start. With
   * etcd unreachable it is retried with back-off (1 s doubling to 30 s) until
   * it lands, while the rest of the agent runs on the last known state.
   */
  private async registerNode(): Promise<void> {
    const register = this.deps.datastore.registerNode;
    const { ipv4, ipv6, ipv6PrefixLen } = this.config;
    if (!register || !ipv4) return;
    // calico-node writes spec.bgp.ipv6Address from IP6 (an address, or autodetected) with its prefix length.
    const ipv6Cidr = ipv6 ? { ipv6Cidr: `${ipv6}/${ipv6PrefixLen ?? 128}` } : {};
    for (let delay = 1000; !this.stopping; delay = Math.min(delay * 2, 30_000)) {
      try {
        await register({ name: this.config.nodeName, ipv4Cidr: `${ipv4.address}/${ipv4.prefixLen ?? 32}`, ...ipv6Cidr, asNumber: this.config.asNumber });
        this.log.info({ node: this.config.nodeName }, 'node registered');
        return;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, retryInMs: delay }, 'node registration failed; retrying');
        await new Promise<void>((r) => (this.registerRetry = this.clock.setTimer(delay, r)));
      }
    }
  }

  // ------------------------------------------------------------ desired state

  private applyDesired(diff: DesiredStateDiff, state: DesiredState): void {
    if (this.stopping) return;
    this.state = state;
    // A rebuild in progress applies the newest state when it is done.
    if (this.rebuilding) return;
    try {
      const listenPort = this.config.listenPort ?? state.bgp.listenPort;
      if (speakerKey(state, listenPort) !== this.speakerIdentity) {
        this.rebuilding = this.rebuildUntilCurrent().finally(() => (this.rebuilding = undefined));
        return;
      }
      this.applyPeers(diff, state);
      this.applyLocal(state, diff);
    } catch (err) {
      // One bad change must not stop the agent: log it; the next diff or scan reconciles.
      this.log.error({ err }, 'applying a datastore change failed');
    }
  }

  /** Rebuild the speaker and RIB until they match the newest desired identity. */
  private async rebuildUntilCurrent(): Promise<void> {
    for (;;) {
      const state = this.state!;
      const listenPort = this.config.listenPort ?? state.bgp.listenPort;
      const key = speakerKey(state, listenPort);
      if (key === this.speakerIdentity || this.stopping) return;
      try {
        await this.rebuildSpeaker(listenPort, key);
      } catch (err) {
        this.log.error({ err }, 'starting the BGP speaker failed');
        return;
      }
    }
  }

  private async rebuildSpeaker(listenPort: number, key: string): Promise<void> {
    const old = this.speaker;
    const oldRouting = this.routing;
    this.speakerIdentity = key;
    if (old) {
      this.log.warn('node identity changed (AS, router id, cluster id, address or port): restarting every session');
      this.speaker = undefined;
      this.rib = undefined;
      this.routing = undefined;
      oldRouting?.detach();
      if (oldRouting && !oldRouting.restarting) this.restarting = false;
      await old.stop({ graceful: false, message: 'node identity changed' });
      // The new RIB starts empty: what the old one learned leaves the kernel (our own blocks stay).
      oldRouting?.withdrawLearned();
    }
    let state = this.state!;
    const n = state.node;
    const rib = new Rib({
      localAs: n.asNumber,
      routerId: n.routerId,
      clusterId: n.routeReflectorClusterID,
      localAddress: n.ipv4,
      requestFlush: (flush) => setImmediate(flush),
      // confd renders `merge paths on` in calico-node's kernel protocol: ECMP routes (issue 21).
      mergePaths: true,
    });
    this.rib = rib;
    const speaker = new Speaker({
      asNumber: n.asNumber,
      routerId: n.routerId,
      listenPort,
      logger: this.log.child({ component: 'bgp' }),
      restarting: this.restarting,
      forwardingPreserved: this.restarting,
      hostname: this.config.nodeName,
      disabled: this.disabledPeers,
    });
    this.speaker = speaker;
    const routing = new Routing({ rib, sessions: speaker, kernel: this.kernel, logger: this.log, restarting: this.restarting, alienRoutes: this.alienRoutes });
    this.routing = routing;
    this.listener = { port: listenPort };
    try {
      await speaker.start();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'address already in use (another BGP daemon, BIRD?)' : e.code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : e.message;
      this.listener = { port: listenPort, error: `cannot listen on port ${listenPort}: ${why}` };
      this.log.error({ err: e.message, port: listenPort }, 'cannot listen for BGP; only active sessions will work');
    }
    if (this.speaker !== speaker) return;
    state = this.state!; // diffs that arrived while the listener was starting
    routing.setPeers(this.passwords.apply([...state.peers.values()]));
    this.applyPeerRoutes(state);
    this.applyLocal(state);
    this.log.info({ as: n.asNumber, routerId: n.routerId, port: listenPort, peers: state.peers.size }, 'BGP speaker started');
    this.syncBfd(state);
  }

  private applyPeers(diff: DesiredStateDiff, state: DesiredState): void {
    if (diff.peersAdded.length || diff.peersChanged.length || diff.peersRemoved.length) this.syncBfd(state);
    if (diff.peersAdded.length || diff.peersChanged.length || diff.peersRemoved.length) {
      this.routing?.setPeers(this.passwords.apply([...state.peers.values()]));
      this.applyPeerRoutes(state);
    }
  }

  /** BGPPeer reachableBy: the static route to each such peer (confd's bird_aggr.cfg `route <ip>/32 via <gw>`). */
  private applyPeerRoutes(state: DesiredState): void {
    const routes: { address: string; via: string }[] = [];
    for (const p of state.peers.values()) if (p.reachableBy) routes.push({ address: p.address, via: p.reachableBy });
    this.kernel?.setPeerRoutes(routes);
  }

  private applyLocal(state: DesiredState, diff?: DesiredStateDiff): void {
    const blocksChanged = !diff || diff.blocksAdded.length + diff.blocksChanged.length + diff.blocksRemoved.length > 0;
    const poolsChanged = !diff || diff.poolsChanged.length + diff.poolsRemoved.length > 0;
    // Calico prefixAdvertisements (confd's apply_communities()): on our own routes and on the learned ones we pass on.
    const communities = !diff || diff.bgp ? new CommunityRules(state.bgp.prefixAdvertisements, 4) : null;
    if (blocksChanged || poolsChanged || communities) {
      const originated = originatedFromDesired(state);
      for (const problem of originated.problems ?? []) this.log.warn({ problem }, 'export policy');
      // Through the wiring: the borrowed addresses among the kernel's alien routes join our own
      // routes, with the communities prefixAdvertisements give their /32 (as BIRD's apply_communities).
      const rules = communities ?? new CommunityRules(state.bgp.prefixAdvertisements, 4);
      this.routing?.setLocalRoutes({
        routes: originated.routes,
        blocks: [...state.blocks.values()],
        pools: [...state.pools.values()],
        routeOf: (key) => localRoute(rules.forPrefix(key)),
      });
    }
    if (poolsChanged) this.rib?.setExportFilter(learnedExportFilter(state.pools.values()));
    if (communities) this.rib?.setCommunityRules(communities);
    // IPv6 (issue 19): this node's IPv6 address, blocks6 and pools6 to the IPv6 RIB (next hop self, RFC 2545 §3).
    if (!diff || diff.node || diff.bgp || diff.blocks6Added.length + diff.blocks6Changed.length + diff.blocks6Removed.length + diff.pools6Changed.length + diff.pools6Removed.length > 0) {
      this.routing?.setIpv6({
        localAddress: state.node.ipv6,
        blocks: state.blocks6?.values() ?? [],
        pools: state.pools6?.values() ?? [],
        communities: new CommunityRules(state.bgp.prefixAdvertisements, 6),
      });
    }
    const kernel = this.kernel;
    if (!kernel) return;
    if (!diff || diff.node) {
      kernel.setNode(state.node);
      if (this.config.manageTunnel) void this.manageTunnel(state);
    }
    if (!diff || diff.bgp) kernel.setProgramClusterRoutes(state.bgp);
    if (poolsChanged) kernel.setPools(state.pools.values());
    if (blocksChanged) {
      this.pendingBlockChangeAt = this.now();
      kernel.setLocalBlocks(state.blocks.values());
      const at = this.pendingBlockChangeAt;
      void kernel.idle().then(() => {
        if (this.pendingBlockChangeAt === at) this.metrics.datastoreToKernel.observe((this.now() - at) / 1000);
      });
    }
    // ---- IPv6 (issue 19): own IPv6 blocks and the IPv6 pools to the kernel; learned IPv6 routes come from the RIB (applyBestPaths6).
    if (!diff || diff.pools6Changed.length + diff.pools6Removed.length > 0) kernel.setPools6(state.pools6?.values() ?? []);
    if (!diff || diff.blocks6Added.length + diff.blocks6Changed.length + diff.blocks6Removed.length > 0) kernel.setLocalBlocks6(state.blocks6?.values() ?? []);
    // ---- end IPv6
  }

  private tunnelError?: string;

  private async manageTunnel(state: DesiredState): Promise<void> {
    const run: IpRunner = this.deps.ipRunner ?? ipCommand;
    try {
      const r = await ensureTunnel(run, { device: 'tunl0', address: state.node.ipv4IPIPTunnelAddr, mtu: this.config.tunnelMtu });
      this.tunnelError = undefined;
      if (r.changed.length) this.log.info({ changed: r.changed }, 'tunl0 configured');
    } catch (err) {
      this.tunnelError = `cannot configure tunl0: ${(err as Error).message}`;
      this.log.error({ err: (err as Error).message }, 'tunl0 not configured');
    }
  }

  // ------------------------------------------------------------ BFD (issue 22)
  // BFD runs in this process beside the sessions (src/bfd). A BFD Up -> Down
  // is a forwarding failure (RFC 5882 §4.1): the BGP session is reset at
  // once with Cease 10 "BFD Down" (RFC 9384), not gracefully, so the RIB
  // drops the peer's routes and the kernel loses them now; the session is
  // started again and comes back when the peer answers.

  private bfd?: BfdManager;

  private startBfd(): void {
    const bfd = new BfdManager({ logger: this.log.child({ component: 'bfd' }) });
    bfd.on('change', (c) => {
      if (!c.forwardingFailure) return;
      const reset = this.speaker?.resetForForwardingFailure(c.peer) ?? false;
      this.log.warn({ peer: c.peer, address: c.address, reason: c.reason, reset }, 'BFD down: BGP session reset (Cease 10) and its routes withdrawn');
    });
    this.bfd = bfd;
  }

  /** BFD sessions for the desired peers that have `bfd` (the manager diffs; unchanged sessions are untouched). */
  private syncBfd(state: DesiredState): void {
    this.bfd?.setPeers([...state.peers.values()], state.node.ipv4);
  }

  // ------------------------------------------------------------ status

  snapshot(): StatusSnapshot {
    const now = this.now();
    const rib = this.rib;
    // BGPFilters per session name (only peers with filters; the mesh has none).
    const filtersOf = new Map<string, string[]>();
    for (const c of this.state?.peers.values() ?? []) if (c.filters?.length) filtersOf.set(c.name, c.filters.map((f) => f.name));
    const peers: PeerSnapshot[] = (this.speaker?.status() ?? []).map((s) => {
      let received = 0;
      let accepted = 0;
      let advertised = 0;
      // An IPv6 peer's paths are in the IPv6 RIB (it carries IPv6 unicast only, issue 19).
      const of = s.address.includes(':') ? this.routing?.rib6 : rib;
      if (of) {
        try {
          ({ received, accepted, advertised } = of.counters(s.name));
        } catch {
          /* peer not in the RIB yet */
        }
      }
      return {
        name: s.name,
        address: s.address,
        port: s.port,
        type: s.type,
        asNumber: s.asNumber,
        bgpState: s.state,
        birdState: s.birdState,
        since: s.since,
        flaps: s.flaps,
        lastError: s.lastError,
        passive: s.passive,
        localAddress: s.localAddress,
        remoteRouterId: s.remoteRouterId,
        holdTime: s.holdTime,
        keepaliveTime: s.keepaliveTime,
        capabilities: s.capabilities,
        ...(s.bgpPeer ? { bgpPeer: s.bgpPeer } : {}),
        ...(s.localAs !== undefined ? { localAs: s.localAs } : {}),
        ...(filtersOf.has(s.name) ? { filters: filtersOf.get(s.name) } : {}),
        ...(s.disabled ? { disabled: true } : {}),
        bfd: this.bfd?.status(s.name),
        counters: {
          messagesIn: s.counters.messagesIn,
          messagesOut: s.counters.messagesOut,
          updatesIn: s.counters.updatesIn,
          updatesOut: s.counters.updatesOut,
          received,
          accepted,
          advertised,
        },
      };
    });
    for (const r of this.routing?.refusedPeers() ?? []) peers.push(refusedPeerSnapshot(r.config, r.reason, this.startedAt));
    const n = this.state?.node;
    const datastore = this.deps.datastore.status();
    const secretProblems = this.passwords.problems();
    if (secretProblems.length) datastore.problems = [...(datastore.problems ?? []), ...secretProblems];
    return {
      version: VERSION,
      pid: process.pid,
      startedAt: this.startedAt,
      now,
      node: {
        name: this.config.nodeName,
        ipv4: n?.ipv4 ?? this.config.ipv4?.address,
        ipv6: n?.ipv6,
        asNumber: n?.asNumber,
        routerId: n?.routerId,
        clusterId: n?.routeReflectorClusterID,
        ...(n ? {} : { problem: this.identityProblem(datastore) }),
      },
      ...(this.listener ? { listener: { ...this.listener } } : {}),
      peers: this.passwords.explain(peers, (address) => this.speaker?.listenerKeyError(address)),
      datastore,
      kernel: this.kernelSnapshot(),
      rib: { prefixes: rib?.size() ?? 0, paths: rib?.paths() ?? 0, borrowed: (this.routing?.borrowed() ?? []).map(formatKey) },
    };
  }

  /** Why there is no node identity yet: the datastore's problem for our Node resource, or not synced yet. */
  private identityProblem(ds: DatastoreSnapshot): string {
    const own = (ds.problems ?? []).find((p) => p.key.endsWith(`/nodes/${this.config.nodeName}`));
    if (own) return own.message;
    return ds.synced ? `no usable Node resource for this node "${this.config.nodeName}"` : 'waiting for the datastore to sync';
  }

  private kernelSnapshot(): KernelSnapshot {
    if (!this.kernel) {
      return { enabled: false, note: 'started with --no-program-routes (pure BGP speaker)', routes: 0, failed: [] };
    }
    const k = this.kernel.status();
    return {
      enabled: true,
      note: k.programClusterRoutes.programIpip ? undefined : k.programClusterRoutes.note,
      routes: k.programmed,
      failed: k.failed.map((f) => ({ route: f.route, error: f.error, since: f.since, attempts: f.attempts })),
      failedCount: k.failedCount,
      errors: k.counters.errors,
      tunnelMissing: k.tunnelMissing,
      tunnelError: this.tunnelError,
      lastScan: k.lastScan?.at,
      lastLoopAt: k.lastLoopAt,
      scanIntervalMs: k.scanIntervalMs,
      ipv6: k.ipv6, // issue 19
    };
  }

  private registerControlHandlers(): void {
    this.control
      .handle('status', () => this.snapshot())
      .handle('peers', () => ({ now: this.now(), peers: this.snapshot().peers }))
      .handle('ready', () => readiness(this.snapshot(), { gracePeriod: this.config.readyGracePeriod }))
      .handle('live', () => this.liveness())
      .handle('routes', (args) =>
        this.rib ? inspectRoutes(this.rib, this.kernel, args as RoutesQuery, (name) => this.speaker?.peer(name)?.config.address, this.routing?.rib6) : [],
      )
      .handle('peer-reset', (args) => this.peerAdmin(String(args.peer), args.soft === true ? 'soft-reset' : 'reset'))
      .handle('peer-disable', (args) => this.peerAdmin(String(args.peer), 'disable'))
      .handle('peer-enable', (args) => this.peerAdmin(String(args.peer), 'enable'))
      .handle('log-level', (args) => {
        const level = String(args.level);
        const previous = this.log.level;
        if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(level)) {
          throw new Error(`"${level}" is not a log level (fatal, error, warn, info, debug, trace)`);
        }
        this.log.level = level;
        // Not `level`: pino writes its own "level" key, and a second one made the line ambiguous JSON.
        this.log.info({ from: previous, to: level }, 'log level changed');
        return { previous, level };
      });
  }

  /**
   * The birdc / gobgp verbs on sessions (`agent peers reset|disable|enable`),
   * for every session the name picks (session name, address or BGPPeer name).
   * All are checked before any is touched, so a refusal changes nothing.
   */
  private peerAdmin(query: string, verb: 'reset' | 'soft-reset' | 'disable' | 'enable'): { peers: { name: string; done: string }[] } {
    const speaker = this.speaker;
    const routing = this.routing;
    const all = speaker?.status() ?? [];
    const chosen = matchPeers(all, query);
    if (!speaker || !routing || chosen.length === 0) throw new Error(noSuchPeer(all, query));
    for (const p of chosen) {
      if (verb === 'reset' && p.disabled) throw new Error(`${p.name} is disabled by the operator; \`agent peers enable ${p.name}\` starts it`);
      if (verb !== 'soft-reset') continue;
      if (p.state !== 'Established') throw new Error(`${p.name} is ${p.state}: a soft reset needs an Established session (\`agent peers reset ${p.name}\` resets it)`);
      if (!p.capabilities.includes('route-refresh')) {
        throw new Error(`${p.name} did not advertise the Route Refresh capability (RFC 2918): no soft reset possible; \`agent peers reset ${p.name}\` resets the session`);
      }
    }
    const done = chosen.map((p) => {
      switch (verb) {
        case 'reset':
          speaker.reset(p.name, 'administrative reset by the operator');
          return { name: p.name, done: 'reset (Cease 4, Administrative Reset); reconnecting' };
        case 'soft-reset': {
          const r = routing.softReset(p.name);
          if (!r) throw new Error(`${p.name}: ROUTE-REFRESH could not be sent (the session changed meanwhile)`);
          return { name: p.name, done: `ROUTE-REFRESH sent; ${r.readvertised} route(s) re-advertised; session kept` };
        }
        case 'disable':
          if (p.disabled) return { name: p.name, done: 'already disabled' };
          speaker.disable(p.name, 'disabled by the operator');
          return { name: p.name, done: 'disabled (Cease 2, Administrative Shutdown); stays down until `agent peers enable`' };
        case 'enable':
          if (!p.disabled) return { name: p.name, done: 'already enabled' };
          speaker.enable(p.name);
          return { name: p.name, done: 'enabled; connecting' };
      }
    });
    this.log.info({ verb, peers: done.map((d) => d.name) }, `operator: peers ${verb}`);
    return { peers: done };
  }

  private liveness(): Check[] {
    const lag = this.maxLoopLagMs;
    this.maxLoopLagMs = 0;
    const control = this.control.reachable();
    const limit = this.deps.liveStallLimitMs ?? 10_000;
    const checks: Check[] = [
      { name: 'control', ok: control.ok, detail: `${control.detail} (pid ${process.pid})` },
      {
        name: 'event-loop',
        ok: lag < limit,
        detail: `longest stall since last probe ${lag} ms` + (lag < limit ? '' : ` (limit ${limit} ms): the agent stopped answering peers and timers for that long`),
      },
    ];
    const kernel = kernelLoopCheck(this.snapshot());
    if (kernel) checks.push(kernel);
    return checks;
  }

  private watchEventLoop(): void {
    let last = Date.now();
    this.lagTimer = setInterval(() => {
      const t = Date.now();
      this.maxLoopLagMs = Math.max(this.maxLoopLagMs, t - last - 500);
      last = t;
    }, 500);
    this.lagTimer.unref();
  }

  /**
   * Stop: with graceful restart (the default, as calico-node restarts) peers
   * keep our routes and the kernel keeps its routes (BIRD's `persist`);
   * without, peers get Cease 2 "administrative shutdown" (RFC 4486, RFC 8203).
   */
  async stop(opts: { graceful: boolean } = { graceful: true }): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.registerRetry?.cancel();
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.passwords.stop();
    // Kernel first: whatever the sessions do while closing, routes stay as they are
    // (BIRD's `persist`); the RIB is not told of the sessions going down.
    this.routing?.detach();
    this.alienRoutes?.close();
    await this.kernel?.stop();
    // BFD first: peers are told AdminDown, which RFC 5882 §3.2 says is not a forwarding failure.
    await this.bfd?.stop();
    await this.speaker?.stop({ graceful: opts.graceful, message: 'agent stopping' });
    await this.deps.datastore.stop();
    await this.metrics.close();
    await this.control.close();
    if (this.config.pidFile) {
      try {
        unlinkSync(this.config.pidFile);
      } catch {
        /* already gone */
      }
    }
  }
}
