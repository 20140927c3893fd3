/**
 * The kernel route programmer: keeps the main table's proto bird routes equal
 * to the desired routes, the way BIRD's kernel protocol does for calico-node.
 *
 * - Desired routes come from best paths (RIB), local blocks and pools
 *   (datastore), see desired-routes.ts.
 * - Reconcile = diff desired against the last known proto bird routes and send
 *   only the difference as one batch; changes made in one event-loop turn are
 *   coalesced into one batch.
 * - A periodic scan (every 2 s, as BIRD's `scan time`) dumps the proto bird
 *   routes and reconciles again, so a route someone deleted or changed comes
 *   back within one scan; when nothing changed a scan is a dump and a compare.
 * - Start adopts what is already there (no flush): routes that match the desired
 *   state are not touched, so a restart causes no churn; routes not (yet)
 *   desired are held as stale until `releaseStale()` (peers' End-of-RIB) or a
 *   timeout, as BIRD does under graceful-restart recovery (`bird -R`).
 * - Stop leaves routes in place (BIRD's `persist`).
 * - Only proto bird routes are ever replaced or deleted; a prefix held by a
 *   route of another protocol is reported, never forced.
 * - Per-route kernel errors are reported with the route and retried with
 *   exponential backoff; a missing tunnel device is one clear status error,
 *   retried when the device appears.
 * - IPv6 (issue 19) goes through the same maps and loop: IPv6 prefixes are
 *   interned ids (negative numbers, src/bgp/prefix6.ts), so reconcile,
 *   adoption, the 2 s repair and the foreign-route rule hold for the IPv6
 *   table unchanged. Its inputs are apart from IPv4's (`setLocalBlocks6`,
 *   `setPools6`, `applyBestPaths6`), so the IPv4 path does no extra work.
 */
import { parseIpv4, prefixKey, type PrefixKey } from '../bgp/prefix.js';
import { isPrefix6, parseAddress6, parsePrefix6, type Prefix6Key } from '../bgp/prefix6.js';
import type { BgpSettings, LocalBlock, NodeIdentity, Pool } from '../contracts.js';
import type { KernelBackend, RouteOp, RouteOpError } from './backend.js';
import { blockIsOurs, blockPrefix, blockRoute, RouteContext, type ClusterRoutesPolicy } from './desired-routes.js';
import { formatKey, formatRoute, gatewayRoute, routeSatisfies, type KernelRoute, type NextHop } from './route.js';
import { ACTUAL, ADOPTED, DESIRED, DIRTY, KeyQueue, LEARNED, NextHops, NONE, RouteTable, SEEN, shapeSatisfies, ShapeTable, type RouteList } from './route-table.js';
import { realScheduler, type Scheduler } from './scheduler.js';
import type { TimerHandle } from '../clock.js';

export interface ProgrammerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface KernelProgrammerOptions {
  backend: KernelBackend;
  scheduler?: Scheduler;
  /** Alias of `scheduler`. */
  clock?: Scheduler;
  logger?: ProgrammerLogger;
  /** BIRD's kernel protocol `scan time`: 2 s in calico-node. */
  scanIntervalMs?: number;
  tunnelDevice?: string;
  /**
   * How long routes found at start but not (yet) desired are kept before they
   * are removed, unless `holdStale` / `releaseStale` says otherwise. Default
   * 120 s, Calico's graceful-restart time; 0 removes them at the first reconcile.
   */
  initialHoldMs?: number;
  /** First retry delay after a per-route error; doubles per attempt up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  programClusterRoutes?: string;
  /** Ops per backend apply (default 8192) and dirty prefixes queued before the table walk takes over (default 65536); small in tests. */
  limits?: { opsPerApply?: number; dirtyQueue?: number };
}

export interface BestPathChange {
  key: PrefixKey;
  /** Next hop IPv4 (dotted quad or uint32), or null when the prefix was withdrawn. */
  nextHop: string | number | null;
  /**
   * ECMP (BIRD's kernel `merge paths on`): the next hops of every path that
   * ties with the best (src/bgp/rib/merge-paths.ts), when there are two or more.
   */
  nextHops?: readonly (string | number)[];
}

/**
 * An IPv6 best-path change from the RIB (issue 19). `prefix` is an interned
 * id (`prefix6Key(w0, w1, w2, w3, len)` / `prefix6FromBytes` in
 * src/bgp/prefix6.ts: no string per prefix) or, off the hot path, text.
 * `nextHop` is the global IPv6 next hop (RFC 2545: of a global + link-local
 * pair, the global one) as its /128 id (`address6FromBytes`) or text; null
 * when the prefix was withdrawn.
 */
export interface BestPathChange6 {
  prefix: Prefix6Key | string;
  nextHop: Prefix6Key | string | null;
}

export interface FailedRoute {
  route: string;
  error: string;
  /** ms since epoch (scheduler time) of the first failure of this route. */
  since: number;
  attempts: number;
  nextRetryAt?: number;
}

export interface KernelStatus {
  backend: string;
  running: boolean;
  /** Desired routes. */
  routes: number;
  /** Desired routes that the kernel holds as desired. */
  programmed: number;
  failed: FailedRoute[];
  failedCount: number;
  /** Set when the tunnel device is missing; IPIP routes wait for it. */
  tunnelMissing?: string;
  waitingForTunnel: number;
  /** Desired routes whose prefix another protocol holds. */
  foreignConflicts: number;
  /** The IPv6 share of the counts above, and proto bird IPv6 routes in the kernel at the last scan. */
  ipv6: { routes: number; programmed: number; failed: number; kernelRoutes: number };
  programClusterRoutes: ClusterRoutesPolicy;
  /** Stale routes kept until this time (graceful restart), if holding. */
  holdingStaleUntil?: number;
  staleHeld: number;
  lastScan?: { at: number; durationMs: number; kernelRoutes: number; repaired: number; error?: string };
  /** When the reconcile loop last finished a run (scheduler ms); the scan timer runs it every scanIntervalMs. */
  lastLoopAt?: number;
  /** The loop's period: a live loop has run within a few of these. */
  scanIntervalMs: number;
  lastError?: string;
  counters: KernelCounters;
}

export interface KernelCounters {
  replaced: number;
  deleted: number;
  errors: number;
  batches: number;
  scans: number;
  /** Routes a scan found missing or changed behind our back, and put back. */
  repaired: number;
  /** proto bird routes found at start. */
  adopted: number;
  /** Adopted routes that already matched and were left alone. */
  adoptedUnchanged: number;
}

interface FailState {
  route: KernelRoute;
  error: string;
  code?: string;
  since: number;
  attempts: number;
  retryAt: number;
}

const STATUS_FAILED_LIMIT = 100;
/**
 * Ops per backend apply. A reconcile of 1M routes goes out in slices this
 * size, so the op objects alive at once stay bounded (a few MB, not 1M) and
 * the first routes reach the kernel while the RIB is still delivering the
 * rest; rtnetlink batching and its window work within each slice.
 */
const OPS_PER_APPLY = 8192;
/**
 * Dirty prefixes queued at most (0.5 MB); beyond that the DIRTY flags in the
 * table are the queue, walked in slot order, so a backlog of 1M changes costs
 * no 8-16 MB queue.
 */
const DIRTY_QUEUE_MAX = 65536;
/** Scan intervals a backlog may postpone the periodic scan by, at most (see backlogged()). */
const MAX_SCAN_POSTPONE = 15;

export class KernelProgrammer {
  readonly backend: KernelBackend;
  private readonly sched: Scheduler;
  private readonly log?: ProgrammerLogger;
  private readonly scanIntervalMs: number;
  private readonly tunnelDevice: string;
  private readonly initialHoldMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly opsPerApply: number;
  private readonly dirtyQueueMax: number;

  private node?: NodeIdentity;
  private pools: Pool[] = [];
  private pools6: Pool[] = [];
  private programClusterRoutes?: string;
  private serviceCidrs: readonly string[] = [];
  private ctx: RouteContext;

  /**
   * Per prefix, compact (src/kernel/route-table.ts; no object per route at
   * rest): LEARNED, the best path's next hop (an index into `nextHops`:
   * IPv4 uint32, or the IPv6 /128 id); DESIRED, the route wanted (a shape
   * id); ACTUAL, the last known proto bird route at metric 0 (from scans and
   * our own successful ops); flags DIRTY (to reconcile: queued in `dirty`, or
   * found by a walk of the table once the queue overflowed) and ADOPTED
   * (found at start, not desired yet: kept while holding).
   */
  private readonly table = new RouteTable();
  private readonly shapes = new ShapeTable();
  private readonly nextHops = new NextHops();
  /** The few IPv4 prefixes with several next hops (ECMP), beside their best's next hop in LEARNED. */
  private readonly multipath = new Map<PrefixKey, number[]>();
  /** Dotted-quad next hops as the RIB hands them, parsed once each. */
  private readonly nextHopText = new Map<string, number>();
  private adoptedCount = 0;
  /** BGPPeer reachableBy routes by peer /32 (setPeerRoutes). */
  private peerRoutes = new Map<PrefixKey, KernelRoute>();
  /** Local blocks by prefix (all affinity states). */
  private blocks = new Map<PrefixKey, LocalBlock>();
  /** proto bird routes at another metric: not ours to keep (we write metric 0), removed unless held. */
  private extras: KernelRoute[] = [];
  private foreign = new Map<PrefixKey, string>();
  private readonly failed = new Map<PrefixKey, FailState>();
  private readonly waitingTunnel = new Set<PrefixKey>();
  private readonly conflicts = new Set<PrefixKey>();
  private holdUntil = 0;
  private holdTimer: TimerHandle | undefined;
  private tunnelIndex: number | null | undefined;

  /** Prefixes to reconcile, each once (the DIRTY flag), in the order they changed. */
  private readonly dirty = new KeyQueue();
  /** DIRTY entries that did not fit in `dirty`: a walk of the table (from `dirtyCursor`) refills it. */
  private dirtyOverflow = false;
  private dirtyCursor = 0;
  private allDirty = false;
  private scanWanted = false;
  /** The wanted scan is the timer's (which a backlog may postpone), not an explicit scanNow(). */
  private scanPeriodic = false;
  /** Scheduler time of the last dump (start's adoption included). */
  private lastScanAt = 0;
  private deferred = false;
  private running: Promise<void> | null = null;
  /** Scheduler time at which the reconcile loop last finished a run (liveness). */
  private lastLoopAt: number | undefined;
  private started = false;
  private stopped = false;
  private scanTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private retryAt = Infinity;
  private lastScan?: KernelStatus['lastScan'];
  private lastError?: string;
  private readonly counters: KernelCounters = {
    replaced: 0,
    deleted: 0,
    errors: 0,
    batches: 0,
    scans: 0,
    repaired: 0,
    adopted: 0,
    adoptedUnchanged: 0,
  };

  constructor(opts: KernelProgrammerOptions) {
    this.backend = opts.backend;
    this.sched = opts.scheduler ?? opts.clock ?? realScheduler;
    this.log = opts.logger;
    this.scanIntervalMs = opts.scanIntervalMs ?? 2000;
    this.tunnelDevice = opts.tunnelDevice ?? 'tunl0';
    this.initialHoldMs = opts.initialHoldMs ?? 120_000;
    this.retryBaseMs = opts.retryBaseMs ?? 1000;
    this.retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.programClusterRoutes = opts.programClusterRoutes;
    this.opsPerApply = Math.max(1, opts.limits?.opsPerApply ?? OPS_PER_APPLY);
    this.dirtyQueueMax = Math.max(1, opts.limits?.dirtyQueue ?? DIRTY_QUEUE_MAX);
    this.ctx = this.makeContext();
  }

  // ---- inputs -------------------------------------------------------------

  setNode(identity: NodeIdentity): void {
    this.node = identity;
    this.rebuild();
  }

  setPools(pools: Iterable<Pool>): void {
    this.pools = [...pools];
    this.rebuild();
  }

  /** BGPConfiguration.programClusterRoutes (or the whole BgpSettings). */
  setProgramClusterRoutes(value: string | undefined | BgpSettings): void {
    const settings = typeof value === 'object' && value !== null ? value : undefined;
    this.programClusterRoutes = settings ? settings.programClusterRoutes : (value as string | undefined);
    // The whole BgpSettings also carries the service CIDRs, which are never programmed.
    if (settings) this.serviceCidrs = settings.serviceCidrs ?? [];
    this.rebuild();
  }

  /** The complete set of IPv4 blocks affine to this node (any affinity state). */
  setLocalBlocks(blocks: Iterable<LocalBlock>): void {
    this.replaceBlocks(blocks, false);
  }

  /** The complete set of IPv6 blocks affine to this node (DesiredState.blocks6); IPv4 blocks are left alone. */
  setLocalBlocks6(blocks: Iterable<LocalBlock>): void {
    this.replaceBlocks(blocks, true);
  }

  /** The IPv6 pools (DesiredState.pools6): VXLAN ones leave their prefixes to Felix. */
  setPools6(pools: Iterable<Pool>): void {
    this.pools6 = [...pools];
    this.rebuild();
  }

  /** Replace one family's blocks; the other family's stay as they are. */
  private replaceBlocks(blocks: Iterable<LocalBlock>, v6: boolean): void {
    const next = new Map<PrefixKey, LocalBlock>();
    const touched = new Set<PrefixKey>();
    for (const [prefix, block] of this.blocks) {
      if (isPrefix6(prefix) === v6) touched.add(prefix);
      else next.set(prefix, block);
    }
    for (const block of blocks) {
      const prefix = blockPrefix(block);
      if (prefix === null || isPrefix6(prefix) !== v6) continue;
      next.set(prefix, block);
      touched.add(prefix);
    }
    this.blocks = next;
    for (const prefix of touched) this.recompute(prefix);
    this.schedule();
  }

  /**
   * BGPPeer reachableBy: confd renders `route <peerIP>/32 via <gateway>` in
   * BIRD's static protocol and BIRD's kernel protocol writes it (static
   * routes outrank BGP in BIRD, preference 200 over 100), so the route to the
   * peer never depends on what BGP learns. The complete set, IPv4 only.
   */
  setPeerRoutes(routes: Iterable<{ address: string; via: string }>): void {
    const next = new Map<PrefixKey, KernelRoute>();
    for (const r of routes) {
      if (r.address.includes(':') || r.via.includes(':')) continue;
      const prefix = prefixKey(parseIpv4(r.address), 32);
      next.set(prefix, gatewayRoute(prefix, parseIpv4(r.via)));
    }
    const touched = new Set([...this.peerRoutes.keys(), ...next.keys()]);
    this.peerRoutes = next;
    for (const prefix of touched) this.recompute(prefix);
    this.schedule();
  }

  /** Best-path changes from the Loc-RIB: a next hop, or null when the prefix is gone. */
  applyBestPaths(changes: Iterable<BestPathChange>): void {
    for (const change of changes) {
      const nh = change.nextHop;
      const many = change.nextHops;
      if (nh !== null && many && many.length > 1) this.multipath.set(change.key, many.map((n) => (typeof n === 'number' ? n : this.parseNextHop(n))));
      else if (this.multipath.size > 0) this.multipath.delete(change.key);
      this.learn(change.key, nh === null ? NONE : this.nextHops.intern(typeof nh === 'number' ? nh : this.parseNextHop(nh)));
    }
    this.schedule();
  }

  /** IPv6 best-path changes from the Loc-RIB (see BestPathChange6). */
  applyBestPaths6(changes: Iterable<BestPathChange6>): void {
    for (const change of changes) {
      const prefix = typeof change.prefix === 'number' ? change.prefix : parsePrefix6(change.prefix, true);
      if (!isPrefix6(prefix)) throw new Error(`applyBestPaths6: ${prefix} is not an IPv6 prefix id`);
      const nh = change.nextHop;
      this.learn(prefix, nh === null ? NONE : this.nextHops.intern(typeof nh === 'number' ? nh : parseAddress6(nh)));
    }
    this.schedule();
  }

  /** A best path's next hop (interned) or NONE; then the prefix's desired route follows. */
  private learn(prefix: PrefixKey, nextHop: number): void {
    const slot = this.table.upsert(prefix);
    this.table.setAt(slot, LEARNED, nextHop);
    this.recomputeAt(prefix, slot);
  }

  /** The RIB hands next hops as the (interned) text of their attribute set: parse each text once. */
  private parseNextHop(text: string): number {
    let nh = this.nextHopText.get(text);
    if (nh === undefined) {
      nh = parseIpv4(text);
      if (this.nextHopText.size > 65536) this.nextHopText.clear();
      this.nextHopText.set(text, nh);
    }
    return nh;
  }

  // ---- lifecycle ----------------------------------------------------------

  /** Adopt existing proto bird routes (no flush), reconcile, and start the periodic scan. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    this.lastScanAt = this.sched.now();
    const scan = await this.backend.scan(this.shapes);
    this.absorbScan(scan.routes, scan.foreign, false);
    this.counters.adopted = scan.routes.length;
    for (let i = 0; i < scan.routes.length; i++) {
      const prefix = scan.routes.prefixAt(i);
      if (this.shapes.satisfies(scan.routes.shapeAt(i), this.table.get(prefix, DESIRED))) this.counters.adoptedUnchanged++;
      else this.adopt(prefix);
    }
    if (this.initialHoldMs > 0 && this.holdUntil === 0 && this.adoptedCount + this.extras.length > 0) {
      this.holdStale(this.sched.now() + this.initialHoldMs);
    }
    this.tunnelIndex = await this.backend.linkIndex(this.tunnelDevice);
    this.log?.info(
      { adopted: scan.routes.length, unchanged: this.counters.adoptedUnchanged, backend: this.backend.name },
      'kernel: adopted existing proto bird routes',
    );
    this.allDirty = true;
    await this.runLoop();
    this.armScan();
  }

  /** Stop scanning and programming; routes stay in the kernel (BIRD's `persist`). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.started = false;
    for (const t of [this.scanTimer, this.retryTimer, this.holdTimer]) t?.cancel();
    this.scanTimer = this.retryTimer = this.holdTimer = undefined;
    if (this.running) await this.running.catch(() => undefined);
  }

  /** Keep adopted routes that are not desired until `untilMs` (graceful restart). */
  holdStale(untilMs: number): void {
    this.holdUntil = untilMs;
    this.holdTimer?.cancel();
    const delay = untilMs - this.sched.now();
    this.holdTimer = this.sched.setTimer(Math.max(0, delay), () => {
      this.holdTimer = undefined;
      this.log?.info({ stale: this.adoptedCount }, 'kernel: stale-route hold timed out');
      this.releaseStale();
    });
  }

  /** End of the hold (every peer sent End-of-RIB): stale routes that are still not desired go. */
  releaseStale(): void {
    this.holdUntil = 0;
    this.holdTimer?.cancel();
    this.holdTimer = undefined;
    const t = this.table;
    if (this.adoptedCount > 0) {
      for (let s = 0; s < t.capacity; s++) {
        const f = t.flagsAt(s);
        if (f & ADOPTED) {
          t.setFlagsAt(s, f & ~ADOPTED);
          this.markDirtyAt(t.keyAt(s), s);
        }
      }
      this.adoptedCount = 0;
    }
    if (this.extras.length) this.allDirty = true;
    this.schedule();
  }

  /** Resolves once no reconcile is pending or running (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      if (this.running) {
        await this.running;
        continue;
      }
      if (this.deferred) {
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      return;
    }
  }

  /** Run one scan now (what the timer does every scanIntervalMs). */
  async scanNow(): Promise<void> {
    this.scanWanted = true;
    this.scanPeriodic = false;
    await this.runLoop();
  }

  // ---- status -------------------------------------------------------------

  status(): KernelStatus {
    const t = this.table;
    let programmed = 0;
    let desiredCount = 0;
    const v6 = { routes: 0, programmed: 0, failed: 0, kernelRoutes: 0 };
    for (let s = 0; s < t.capacity; s++) {
      const prefix = t.keyAt(s);
      if (prefix !== prefix) continue;
      const want = t.at(s, DESIRED);
      const ok = this.shapes.satisfies(t.at(s, ACTUAL), want);
      if (want !== NONE) desiredCount++;
      if (ok) programmed++;
      if (!isPrefix6(prefix)) continue;
      if (want !== NONE) v6.routes++;
      if (ok) v6.programmed++;
      if (t.at(s, ACTUAL) !== NONE) v6.kernelRoutes++;
    }
    const failed: FailedRoute[] = [];
    for (const f of this.failed.values()) {
      if (failed.length >= STATUS_FAILED_LIMIT) break;
      failed.push({
        route: formatRoute(f.route),
        error: f.error,
        since: f.since,
        attempts: f.attempts,
        nextRetryAt: f.retryAt,
      });
    }
    for (const prefix of this.failed.keys()) if (isPrefix6(prefix)) v6.failed++;
    const holding = this.holdUntil > 0;
    const status: KernelStatus = {
      backend: this.backend.name,
      running: this.started && !this.stopped,
      routes: desiredCount,
      programmed,
      failed,
      failedCount: this.failed.size,
      waitingForTunnel: this.waitingTunnel.size,
      foreignConflicts: this.conflicts.size,
      ipv6: v6,
      programClusterRoutes: this.ctx.policy,
      staleHeld: holding ? this.adoptedCount : 0,
      scanIntervalMs: this.scanIntervalMs,
      counters: { ...this.counters },
    };
    if (this.tunnelIndex === null) {
      status.tunnelMissing = `tunnel device ${this.tunnelDevice} not found: ${this.waitingTunnel.size} IPIP route(s) wait for it (rechecked every scan)`;
    }
    if (holding) status.holdingStaleUntil = this.holdUntil;
    if (this.lastScan) status.lastScan = { ...this.lastScan };
    if (this.lastLoopAt !== undefined) status.lastLoopAt = this.lastLoopAt;
    if (this.lastError) status.lastError = this.lastError;
    return status;
  }

  /** The desired routes as `ip route` lines (for `agent` debugging commands and tests). */
  desiredRoutes(): KernelRoute[] {
    const out: KernelRoute[] = [];
    const t = this.table;
    for (let s = 0; s < t.capacity; s++) {
      const prefix = t.keyAt(s);
      if (prefix === prefix && t.at(s, DESIRED) !== NONE) out.push(this.shapes.route(prefix, t.at(s, DESIRED)));
    }
    return out;
  }

  // ---- desired state ------------------------------------------------------

  private makeContext(): RouteContext {
    return new RouteContext({
      node: this.node,
      pools: this.pools6.length ? [...this.pools, ...this.pools6] : this.pools,
      programClusterRoutes: this.programClusterRoutes,
      tunnelDevice: this.tunnelDevice,
      serviceCidrs: this.serviceCidrs,
    });
  }

  /** Pools, node or policy changed: every learned route's shape may change. */
  private rebuild(): void {
    this.ctx = this.makeContext();
    // Every entry with a learned or desired route (recomputing one neither adds nor removes entries).
    const t = this.table;
    for (let s = 0; s < t.capacity; s++) {
      const prefix = t.keyAt(s);
      if (prefix === prefix && (t.at(s, LEARNED) !== NONE || t.at(s, DESIRED) !== NONE)) this.recomputeAt(prefix, s);
    }
    this.schedule();
  }

  private recompute(prefix: PrefixKey): void {
    this.recomputeAt(prefix, this.table.upsert(prefix));
  }

  /** The desired route of the entry at `slot` (which holds `prefix`) from its block or learned next hop. */
  private recomputeAt(prefix: PrefixKey, slot: number): void {
    const t = this.table;
    let shape = NONE;
    const block = this.blocks.size > 0 ? this.blocks.get(prefix) : undefined;
    const peerRoute = this.peerRoutes.size > 0 ? this.peerRoutes.get(prefix) : undefined;
    if (block && blockIsOurs(block)) {
      const route = blockRoute(block); // our own block wins over a learned route (none for /32)
      if (route) shape = this.shapes.of(route);
    } else if (peerRoute) {
      shape = this.shapes.of(peerRoute); // a reachableBy static route wins over BGP, as in BIRD
    } else {
      const nh = t.at(slot, LEARNED);
      const many = this.multipath.size > 0 ? this.multipath.get(prefix) : undefined;
      if (many) shape = this.multipathShape(prefix, many);
      else if (nh !== NONE) {
        const gateway = this.nextHops.get(nh);
        shape = isPrefix6(prefix) ? this.ctx.learnedShape6(prefix, gateway, this.shapes) : this.ctx.learnedShape(prefix, gateway, this.shapes);
      }
    }
    const before = t.at(slot, DESIRED);
    t.setAt(slot, DESIRED, shape);
    // Desired now: no longer a stale candidate; withdrawn explicitly: goes even while holding.
    if (shape !== NONE || before !== NONE) this.unadoptAt(slot);
    this.markDirtyAt(prefix, slot);
  }

  /**
   * One ECMP route over `gateways`, each next hop shaped as its single-path
   * route would be (tunl0 onlink or direct, src/kernel/desired-routes.ts),
   * in ascending address order as BIRD writes them; NONE when any of them is
   * not programmed (a VXLAN pool, a service CIDR).
   */
  private multipathShape(prefix: PrefixKey, gateways: readonly number[]): number {
    const hops: NextHop[] = [];
    for (const gw of [...new Set(gateways)].sort((a, b) => a - b)) {
      const id = this.ctx.learnedShape(prefix, gw, this.shapes);
      if (id === NONE) return NONE;
      const s = this.shapes.get(id);
      hops.push(s.dev === undefined ? { gateway: gw, onlink: s.onlink } : { gateway: gw, dev: s.dev, onlink: s.onlink });
    }
    return hops.length === 1 ? this.ctx.learnedShape(prefix, hops[0].gateway, this.shapes) : this.shapes.internMultipath(hops, 0);
  }

  private markDirtyAt(prefix: PrefixKey, slot: number): void {
    const f = this.table.flagsAt(slot);
    if (f & DIRTY) return;
    this.table.setFlagsAt(slot, f | DIRTY);
    if (this.dirty.length < this.dirtyQueueMax) this.dirty.push(prefix);
    else this.dirtyOverflow = true;
  }

  private dirtyPending(): boolean {
    return this.dirty.length > 0 || this.dirtyOverflow;
  }

  /**
   * The queue ran dry after an overflow: every DIRTY entry is unqueued now, so
   * walk the table (on from where the last walk stopped) queueing them until
   * the queue is full; a walk that gets round without filling it found them all.
   */
  private refillDirty(): void {
    const t = this.table;
    const cap = t.capacity;
    let s = this.dirtyCursor < cap ? this.dirtyCursor : 0;
    for (let seen = 0; seen < cap; seen++) {
      if (t.flagsAt(s) & DIRTY) {
        this.dirty.push(t.keyAt(s));
        if (this.dirty.length >= this.dirtyQueueMax) {
          this.dirtyCursor = s + 1;
          return;
        }
      }
      if (++s === cap) s = 0;
    }
    this.dirtyOverflow = false;
  }

  private markDirty(prefix: PrefixKey): void {
    this.markDirtyAt(prefix, this.table.upsert(prefix));
  }

  private adopt(prefix: PrefixKey): void {
    const s = this.table.upsert(prefix);
    const f = this.table.flagsAt(s);
    if (f & ADOPTED) return;
    this.table.setFlagsAt(s, f | ADOPTED);
    this.adoptedCount++;
  }

  private unadoptAt(slot: number): void {
    const f = this.table.flagsAt(slot);
    if (!(f & ADOPTED)) return;
    this.table.setFlagsAt(slot, f & ~ADOPTED);
    this.adoptedCount--;
  }

  // ---- reconcile loop -----------------------------------------------------

  private schedule(): void {
    if (!this.started || this.stopped || this.deferred) return;
    this.deferred = true;
    this.sched.defer(() => {
      this.deferred = false;
      void this.runLoop();
    });
  }

  /**
   * Single-flight reconcile: at most one loop runs; a request while it runs is
   * picked up by that loop's next round, or by a rerun when it ends.
   *
   * The guard is stored before any of the loop's code runs, and cleared only
   * by the promise's settlement (always a later microtask). Assigning an
   * async IIFE's result to the guard instead, as this once did, left it dead:
   * with nothing to do on its first pass the body finished synchronously, its
   * `finally` cleared the guard before the assignment set it, and every later
   * call returned that settled promise, so a node that started without a
   * block of its own never programmed a route.
   */
  private runLoop(): Promise<void> {
    if (this.running) return this.running;
    const run = this.rounds().then((ok) => {
      if (this.running === run) this.running = null;
      this.lastLoopAt = this.sched.now();
      // Work that arrived after the last round looked (a caller that saw the
      // loop as busy) is not left waiting for the next scan. After a failure
      // the next scan retries instead, so a broken backend is not spun on.
      if (ok && !this.stopped && (this.scanWanted || this.allDirty || this.dirtyPending())) this.schedule();
    });
    this.running = run;
    return run;
  }

  /** Reconcile rounds until nothing is dirty; false when a round failed (logged, kept in lastError). */
  private async rounds(): Promise<boolean> {
    try {
      for (let round = 0; round < 100 && !this.stopped; round++) {
        if (this.scanWanted && !(this.scanPeriodic && this.backlogged())) {
          this.scanWanted = false;
          this.scanPeriodic = false;
          await this.scan();
        }
        if (!this.allDirty && !this.dirtyPending()) break;
        await this.reconcileOnce();
      }
      return true;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.log?.error({ err }, 'kernel: reconcile failed; retrying at the next scan');
      return false;
    }
  }

  /**
   * More than one slice of changes still to send, and the last dump recent
   * enough: the periodic scan waits until the backlog is sent. A dump of the
   * table mid-backlog costs the kernel and us a pass over every route (1M in
   * the kernel bench, every 2 s) only to find what we are about to write;
   * BIRD's scan likewise runs late while its loop is busy exporting. A route
   * changed behind our back meanwhile is repaired by the scan right after the
   * backlog, and at most MAX_SCAN_POSTPONE intervals late.
   */
  private backlogged(): boolean {
    if (this.dirty.length < this.opsPerApply && !this.dirtyOverflow) return false;
    return this.sched.now() - this.lastScanAt < this.scanIntervalMs * MAX_SCAN_POSTPONE;
  }

  private armScan(): void {
    if (this.stopped || this.scanIntervalMs <= 0) return;
    this.scanTimer = this.sched.setTimer(this.scanIntervalMs, () => {
      this.scanTimer = undefined;
      this.scanWanted = true;
      this.scanPeriodic = true;
      void this.runLoop().then(() => this.armScan());
    });
  }

  private async scan(): Promise<void> {
    const at = this.sched.now();
    this.lastScanAt = at;
    const t0 = at;
    try {
      const scan = await this.backend.scan(this.shapes);
      const index = await this.backend.linkIndex(this.tunnelDevice);
      if (index !== null && this.tunnelIndex === null) {
        this.log?.info({ device: this.tunnelDevice }, 'kernel: tunnel device appeared; programming waiting routes');
        for (const prefix of this.waitingTunnel) this.markDirty(prefix);
        this.waitingTunnel.clear();
      }
      this.tunnelIndex = index;
      const repaired = this.absorbScan(scan.routes, scan.foreign, true);
      this.counters.scans++;
      this.lastScan = { at, durationMs: this.sched.now() - t0, kernelRoutes: scan.routes.length, repaired };
      if (repaired > 0) this.log?.warn({ repaired }, 'kernel: scan found proto bird routes changed behind our back');
    } catch (err) {
      this.lastScan = { at, durationMs: this.sched.now() - t0, kernelRoutes: -1, repaired: 0, error: (err as Error).message };
      throw err;
    }
  }

  /** Take a dump as the truth; returns how many desired routes it shows missing or different from what we had. */
  private absorbScan(routes: RouteList, foreign: Map<PrefixKey, string>, compare: boolean): number {
    const t = this.table;
    const sh = this.shapes;
    const extras: KernelRoute[] = [];
    let repaired = 0;
    for (let i = 0; i < routes.length; i++) {
      const prefix = routes.prefixAt(i);
      const shape = routes.shapeAt(i);
      const slot = t.upsert(prefix);
      const f = t.flagsAt(slot);
      // Not ours to keep (we write metric 0), or a second route for the prefix.
      if (sh.get(shape).metric !== 0 || f & SEEN) {
        extras.push(routes.route(i));
        continue;
      }
      t.setFlagsAt(slot, f | SEEN);
      const want = t.at(slot, DESIRED);
      if (compare && want !== NONE && sh.satisfies(t.at(slot, ACTUAL), want) && !sh.satisfies(shape, want)) repaired++;
      t.setAt(slot, ACTUAL, shape);
    }
    // What the dump did not show is not there (any more).
    for (let s = 0; s < t.capacity; s++) {
      if (t.keyAt(s) !== t.keyAt(s)) continue;
      const f = t.flagsAt(s);
      if (f & SEEN) {
        t.setFlagsAt(s, f & ~SEEN);
        continue;
      }
      const have = t.at(s, ACTUAL);
      if (have === NONE) continue;
      if (compare && sh.satisfies(have, t.at(s, DESIRED))) repaired++;
      t.setAt(s, ACTUAL, NONE);
    }
    t.sweep(); // prefixes the kernel no longer holds and nothing wants
    this.extras = extras;
    this.foreign = foreign;
    this.allDirty = true;
    this.counters.repaired += repaired;
    return repaired;
  }

  private async reconcileOnce(): Promise<void> {
    const now = this.sched.now();
    const holding = this.holdUntil > now;
    const all = this.allDirty;
    this.allDirty = false;
    if (all) {
      // Everything we want, have, failed on or were refused: queued like any change.
      const t = this.table;
      for (let s = 0; s < t.capacity; s++) {
        const prefix = t.keyAt(s);
        if (prefix === prefix) this.markDirtyAt(prefix, s);
      }
      for (const prefix of this.failed.keys()) this.markDirty(prefix);
      for (const prefix of this.conflicts) this.markDirty(prefix);
    }

    const ops: RouteOp[] = [];
    const shapes: number[] = [];
    for (;;) {
      if (this.dirty.length === 0 && this.dirtyOverflow) this.refillDirty();
      if (this.dirty.length === 0 || ops.length >= this.opsPerApply) break;
      const prefix = this.dirty.shift();
      const slot = this.table.slot(prefix);
      if (slot >= 0) this.table.setFlagsAt(slot, this.table.flagsAt(slot) & ~DIRTY);
      this.plan(prefix, slot, now, holding, ops, shapes);
      if (slot >= 0) this.table.removeIfEmpty(slot);
    }
    if (all && !holding) for (const route of this.extras) ops.push({ op: 'delete', route });
    if (ops.length === 0) return;

    this.counters.batches++;
    const errors = await this.backend.apply(ops);
    this.absorbResults(ops, shapes, errors);
  }

  /** The op (if any) that brings `prefix` to its desired state; `shapes` gets the op's shape id. */
  private plan(prefix: PrefixKey, slot: number, now: number, holding: boolean, ops: RouteOp[], shapes: number[]): void {
    const t = this.table;
    const want = slot < 0 ? NONE : t.at(slot, DESIRED);
    const have = slot < 0 ? NONE : t.at(slot, ACTUAL);
    if (this.waitingTunnel.size > 0) this.waitingTunnel.delete(prefix);
    if (this.conflicts.size > 0) this.conflicts.delete(prefix);
    if (want !== NONE) {
      if (this.shapes.satisfies(have, want)) {
        if (this.failed.size > 0) this.failed.delete(prefix);
        return;
      }
      const owner = this.foreign.size > 0 ? this.foreign.get(prefix) : undefined;
      if (have === NONE && owner !== undefined) {
        // NLM_F_REPLACE would overwrite the other protocol's route: report it, never force it.
        this.conflicts.add(prefix);
        this.noteFailure(prefix, this.shapes.route(prefix, want), `prefix ${formatKey(prefix)} is held by a proto ${owner} route; not replaced`, 'EEXIST', now, false);
        return;
      }
      const wantShape = this.shapes.get(want);
      if (wantShape.dev === this.tunnelDevice && this.tunnelIndex === null) {
        this.waitingTunnel.add(prefix);
        this.failed.delete(prefix);
        return;
      }
      const fail = this.failed.size > 0 ? this.failed.get(prefix) : undefined;
      if (fail && shapeSatisfies(fail.route, wantShape) && fail.retryAt > now) return; // backing off
      ops.push({ op: 'replace', route: this.shapes.route(prefix, want) });
      shapes.push(want);
      return;
    }
    if (this.failed.size > 0) this.failed.delete(prefix);
    if (have !== NONE) {
      if (holding && t.flagsAt(slot) & ADOPTED) return; // stale, kept until End-of-RIB or timeout
      ops.push({ op: 'delete', route: this.shapes.route(prefix, have) });
      shapes.push(have);
    }
  }

  private absorbResults(ops: RouteOp[], shapes: number[], errors: RouteOpError[]): void {
    const now = this.sched.now();
    const failedOps = new Map<PrefixKey, RouteOpError>();
    for (const e of errors) failedOps.set(e.route.prefix, e);
    let tunnelGone = false;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const prefix = op.route.prefix;
      const err = failedOps.size > 0 ? failedOps.get(prefix) : undefined;
      if (op.op === 'replace') {
        if (!err) {
          this.counters.replaced++;
          this.table.set(prefix, ACTUAL, shapes[i]);
          if (this.failed.size > 0) this.failed.delete(prefix);
          continue;
        }
        this.counters.errors++;
        if (err.code === 'ENODEV' && op.route.dev === this.tunnelDevice) tunnelGone = true;
        this.noteFailure(prefix, op.route, err.error, err.code, now, true);
      } else {
        if (op.route.metric !== 0) {
          if (!err) this.counters.deleted++;
          continue; // extras are re-read at the next scan
        }
        if (!err || err.code === 'ESRCH') {
          if (!err) this.counters.deleted++;
          this.table.set(prefix, ACTUAL, NONE);
          if (this.failed.size > 0) this.failed.delete(prefix);
          continue;
        }
        this.counters.errors++;
        this.noteFailure(prefix, op.route, err.error, err.code, now, true);
      }
    }
    if (errors.length) {
      this.log?.warn(
        { failed: errors.length, first: `${formatRoute(errors[0].route)}: ${errors[0].error}` },
        'kernel: some routes were refused; retrying with backoff',
      );
    }
    if (tunnelGone) {
      this.tunnelIndex = null;
      for (const [prefix, f] of this.failed) {
        if (f.route.dev === this.tunnelDevice && f.code === 'ENODEV') {
          this.failed.delete(prefix);
          this.waitingTunnel.add(prefix);
        }
      }
    }
    this.armRetry();
  }

  private noteFailure(prefix: PrefixKey, route: KernelRoute, error: string, code: string | undefined, now: number, attempted: boolean): void {
    const prev = this.failed.get(prefix);
    const same = prev !== undefined && routeSatisfies(prev.route, route) && prev.route.type === route.type;
    const attempts = (same ? prev.attempts : 0) + (attempted ? 1 : 0);
    const delay = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    const state: FailState = {
      route,
      error,
      since: same ? prev.since : now,
      attempts,
      retryAt: attempted ? now + delay : now + this.scanIntervalMs,
    };
    if (code !== undefined) state.code = code;
    this.failed.set(prefix, state);
  }

  /** One timer for the earliest retry; the prefixes that are due get reconciled. */
  private armRetry(): void {
    let earliest = Infinity;
    for (const f of this.failed.values()) if (f.retryAt < earliest) earliest = f.retryAt;
    if (earliest === Infinity || this.stopped) return;
    if (this.retryTimer !== undefined && this.retryAt <= earliest) return;
    this.retryTimer?.cancel();
    this.retryAt = earliest;
    this.retryTimer = this.sched.setTimer(Math.max(0, earliest - this.sched.now()), () => {
      this.retryTimer = undefined;
      this.retryAt = Infinity;
      const now = this.sched.now();
      for (const [prefix, f] of this.failed) if (f.retryAt <= now) this.markDirty(prefix);
      if (this.dirtyPending()) void this.runLoop().then(() => this.armRetry());
      else this.armRetry();
    });
  }
}
