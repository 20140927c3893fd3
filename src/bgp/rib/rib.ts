/**
 * The routing core: Adj-RIB-In per peer -> import -> Loc-RIB (best path) ->
 * Adj-RIB-Out per peer (RFC 4271 §3.2, §9), with the iBGP and route
 * reflection rules of `propagation.ts` and RFC 4724 stale handling.
 *
 * Pure: no sockets, no timers of its own (a scheduler is injected for the
 * graceful-restart timeout). Sessions feed it decoded UPDATEs; it hands back
 * per-peer `OutChange`s and best-path changes for the kernel programmer.
 *
 * Cost model (docs/ARCHITECTURE.md "Where the speed comes from"):
 * - An UPDATE is interned once; every prefix of it shares one `Path` per
 *   source and path id. Each prefix then costs one probe of the destination
 *   table (`dest-table.ts`: every source's paths for a destination in one
 *   slot, the best accepted path first) and no allocation.
 * - Best path is incremental: a new path is compared with the current best
 *   only; the destination is re-selected over all its paths only when the
 *   best itself is withdrawn or replaced, or when its paths come from more
 *   than one neighbour AS (where MED is not transitive, RFC 4271 §9.1.2.2 c).
 * - Touched prefixes are marked dirty in their slot, with the best path as it
 *   was before the first touch since the last `flush()`; `flush()` compares
 *   old and new for those prefixes only, so several changes in one event-loop
 *   turn collapse into one OutChange per peer (or none).
 * - Adj-RIB-Out is not stored: what a peer holds is a pure function of the
 *   Loc-RIB entry and the peer's export profile (as BIRD does without an
 *   export table). Export results are cached per attribute set, so a prefix
 *   costs one cache lookup per up peer, and peers with equal exports share
 *   one OutChange object.
 */
import type { PathAttributes, UpdateMessage } from '../codec/types.js';
import type { AttrSet, OutChange } from '../route.js';
import { parseIpv4, type PrefixKey } from '../prefix.js';
import { ipv6Count, ipv6Keys } from '../codec/nlri.js';
import { AttrTable, type InternedAttrs } from './attr-set.js';
import { bestPath, better, selectBest } from './best-path.js';
import { mergedNextHops } from './merge-paths.js';
import { Ipv4Table, Ipv6Table, LIST_FLAG, listOffset, listPayload, MAX_ELEMENT, MIXED, PathLists } from './dest-table.js';
import { addressNumber, Path, PeerState, type BestInfo, type RibPeer } from './path.js';
import { exportAttributes, importRejection, type LocalSpeaker } from './propagation.js';
import { applyOperations, evaluateFilters, hasRules, type BgpFilter, type FilterOperation, type FilterVerdict } from '../../calico/bgp-filter.js';
import { CommunityRules, withCommunities, type CommunityAdd } from './community-rules.js';

export type { RibPeer } from './path.js';

export interface RibOptions {
  localAs: number;
  routerId: string;
  clusterId?: string;
  localAddress: string;
  now?: () => number;
  /** Run `fn` after `ms` milliseconds; returns a cancel function. Default: an unref'd setTimeout. */
  schedule?: (ms: number, fn: () => void) => () => void;
  /**
   * Called once when the first change after a flush is made, so the owner can
   * arrange a `flush()` (e.g. `(f) => setImmediate(f)`). Without it the owner
   * calls `flush()` itself once per event-loop turn.
   */
  requestFlush?: (flush: () => void) => void;
  /**
   * 6: this RIB holds IPv6 unicast (keys are src/bgp/prefix6.ts ids, paths
   * come from MP_REACH_NLRI AFI 2, `localAddress` is the node's IPv6
   * address). calico-node runs bird6 beside bird; the agent keeps a second
   * Rib the same way, so the IPv4 one does not change. Default 4.
   */
  family?: 4 | 6;
  /**
   * Full exports (a session coming up, ROUTE-REFRESH) are shared by the
   * peers of one export group once it has this many up peers (default 8):
   * below that, a destination's shared entry would cost more than it saves.
   */
  shareFullExportsFrom?: number;
  /**
   * BIRD's kernel `merge paths on` (confd renders it for every calico-node):
   * best-path changes carry the next hops of every path mergable with the best
   * (merge-paths.ts), for one ECMP kernel route. IPv4 only for now.
   */
  mergePaths?: boolean;
}

/**
 * Export groups share full exports only while the Loc-RIB has at most this
 * many destinations, and keep at most this many entries (~130 bytes each,
 * ~8.5 MB per group). A reflector of 1000 clients holds 1000 destinations.
 */
const GROUP_DESTS_MAX = 65536;

/** One destination's full export for an export group: the changes, and the source of each (split horizon). */
interface GroupDest {
  changes: OutChange[];
  srcs: PeerState[];
}

/**
 * The Adj-RIB-Out of one export group (equal profile and ADD-PATH), computed
 * once per destination for the group and handed to each peer minus the
 * paths it is the source of. `phantom` is a member that is the source of no
 * path, so exports computed for it hold for every member.
 */
interface GroupExport {
  phantom: PeerState;
  dests: Map<PrefixKey, GroupDest>;
}

export interface PeerUpInfo {
  remoteRouterId: string;
  /** RFC 7911 negotiated: we may send path ids to this peer. */
  addPathSend: boolean;
  /** RFC 7911 negotiated: the peer sends us path ids. */
  addPathReceive: boolean;
}

export interface BestPathChange {
  key: PrefixKey;
  best: { nextHop: string; peer: string | null; attrs: AttrSet } | null;
  /** With mergePaths: two or more distinct next hops (the best's first) when paths tie up to the tie-breaks. */
  nextHops?: string[];
}

/** Our own route, per prefix: the communities Calico attaches (prefixAdvertisements). */
export interface LocalRoute {
  communities?: number[];
  largeCommunities?: [number, number, number][];
}

export interface PathView {
  peer: string | null;
  pathId: number;
  attrs: AttrSet;
  best: boolean;
  stale: boolean;
}

export interface LookupResult {
  paths: PathView[];
  best: PathView | null;
  reason: string;
}

export interface PeerCounters {
  received: number;
  accepted: number;
  advertised: number;
}

/** What changed in a destination's path list, for the incremental best-path rules. */
const ADD = 0;
const REPLACE = 1;
const REMOVE = 2;

export class Rib {
  readonly me: LocalSpeaker;
  private readonly attrTable = new AttrTable();
  private readonly peers = new Map<string, PeerState>();
  private readonly local: PeerState;
  /** Up peers, in a dense array for the flush loop. */
  private upPeers: PeerState[] = [];
  /** Up peers with ADD-PATH send: dirty destinations then remember all their old paths, not only the best. */
  private addPathUp = 0;
  /** Every source's paths per destination (Adj-RIB-In of each peer and Loc-RIB in one table). */
  private readonly table: Ipv4Table;
  /** 4 or 6 (RibOptions.family). */
  readonly family: 4 | 6;
  /** The options this RIB was made with (the IPv6 sibling reuses them). */
  private readonly options: RibOptions;
  private readonly lists = new PathLists();
  /** Path registry: id -> Path for the elements of the table, reference counted by them. */
  private pathById: (Path | undefined)[] = [undefined];
  private pathRefs = new Int32Array(64);
  private freeIds: number[] = [];
  /** Destinations with an accepted path (the Loc-RIB's size). */
  private prefixCount = 0;
  /** Dirty destinations since the last flush, in touch order, with their best (and, for ADD-PATH, all accepted paths) before. */
  private dirtyKeys: PrefixKey[] = [];
  private dirtyOld: (Path | undefined)[] = [];
  /** Only while an ADD-PATH peer is up: index in dirtyKeys -> every accepted path before. */
  private dirtyOldAll = new Map<number, Path[]>();
  /** The slot each dirty destination had when touched (the flush checks it still holds the key: a growth moves slots). */
  private dirtySlots: number[] = [];
  /** Our own routes' prefixes (setLocalRoutes diffs against it; iBGP full exports start from it). */
  private readonly localKeys = new Set<PrefixKey>();
  private pathCount = 0;
  private nextPeerIndex = 1;
  private readonly profiles = new Map<string, number>();
  /** Bumped when something export results depend on changes (a source's router id); caches check it. */
  private exportEpoch = 0;
  /** Full exports per export group (`groupExport`); valid for `groupFullEpoch`, entries dropped as their destinations change. */
  private readonly groupFull = new Map<number, GroupExport>();
  private groupFullEpoch = -1;
  private readonly shareFullFrom: number;
  private readonly schedule: (ms: number, fn: () => void) => () => void;
  private readonly now: () => number;
  private readonly requestFlush?: (flush: () => void) => void;
  private flushRequested = false;
  private readonly outListeners: ((peer: string, changes: OutChange[]) => void)[] = [];
  /** Which learned prefixes may be passed on to peers (our own routes are always offered). */
  private exportAllowed: (key: PrefixKey) => boolean = () => true;
  /** Calico prefixAdvertisements: the communities a learned route passed on takes (our own carry theirs already). */
  private communityRules: CommunityRules = CommunityRules.none;
  private readonly bestListeners: ((changes: BestPathChange[]) => void)[] = [];
  private readonly mergePaths: boolean;
  /** Destinations whose last best-path change carried several next hops, with them (sorted, joined). */
  private readonly merged = new Map<PrefixKey, string>();

  // The destination being edited: its elements in a scratch array (at most a
  // few, so copying in and out is cheaper than editing the arena in place
  // across the single/list shapes), its list block, and its MIXED flag.
  private E = new Int32Array(16);
  private curOff = -1;
  private curMixed = false;
  private readonly atE = (i: number): Path => this.pathById[this.E[i] >>> 1]!;

  constructor(opts: RibOptions) {
    this.mergePaths = (opts.mergePaths ?? false) && (opts.family ?? 4) === 4;
    this.me = {
      localAs: opts.localAs,
      routerId: opts.routerId,
      clusterId: opts.clusterId,
      localAddress: opts.localAddress,
    };
    this.now = opts.now ?? Date.now;
    this.schedule =
      opts.schedule ??
      ((ms, fn) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return () => clearTimeout(t);
      });
    this.requestFlush = opts.requestFlush;
    this.shareFullFrom = Math.max(1, opts.shareFullExportsFrom ?? 8);
    this.options = opts;
    this.family = opts.family ?? 4;
    this.table = this.family === 6 ? new Ipv6Table() : new Ipv4Table();
    this.local = new PeerState('', 0, true);
    this.local.address = opts.localAddress;
    this.local.addressNum = addressNumber(opts.localAddress);
    this.local.asNumber = opts.localAs;
    this.local.routerId = opts.routerId;
    this.local.routerIdNum = parseIpv4(opts.routerId);
  }

  /**
   * A new, empty IPv6 unicast RIB with this one's AS, router id, cluster id,
   * clock and flush scheduling, whose own routes carry `localAddress6` as
   * next hop (RFC 2545 §3: the global address; a link-local one is not sent).
   */
  ipv6Sibling(localAddress6: string): Rib {
    return new Rib({ ...this.options, localAddress: localAddress6, family: 6 });
  }

  /**
   * This speaker's address changed (the Node's spec.bgp.ipv6Address while the
   * agent runs, issue 19): exports computed from now on carry it as next hop
   * self (RFC 4271 §5.1.3, RFC 2545 §3). Our own routes keep the old one until
   * the caller's next setLocalRoutes, which re-announces them with this one.
   */
  setLocalAddress(address: string): void {
    if (address === this.me.localAddress) return;
    this.me.localAddress = address;
    this.local.address = address;
    this.local.addressNum = addressNumber(address);
  }

  // ---------------------------------------------------------------- listeners

  /** Per flush, once per peer with changes: the coalesced Adj-RIB-Out changes to send. */
  onAdjRibOut(fn: (peer: string, changes: OutChange[]) => void): void {
    this.outListeners.push(fn);
  }

  /** Per flush: prefixes whose best path changed (for the kernel programmer). */
  onBestPathChange(fn: (changes: BestPathChange[]) => void): void {
    this.bestListeners.push(fn);
  }

  // -------------------------------------------------------------------- peers

  addPeer(p: RibPeer): void {
    if (this.peers.has(p.name)) throw new Error(`RIB: peer ${p.name} already present`);
    const st = new PeerState(p.name, this.nextPeerIndex++, false);
    st.configure(p, this.me.localAs);
    this.setFilters(st, p.filters ?? []);
    st.profile = this.profileOf(st);
    this.peers.set(p.name, st);
  }

  /**
   * Change a peer's settings. Export changes (rrClient, keepOriginalNextHop)
   * take effect at once: every up peer gets the difference (a peer turning
   * into a route-reflector client changes where its own routes go, too).
   * Nothing is done when nothing that matters to the RIB changed. A change
   * of AS changes the session type; the owner resets the session for that.
   *
   * A change of the peer's BGPFilters alone is applied in place, as BIRD
   * reconfigures a protocol whose filters changed without restarting it:
   * this peer's Adj-RIB-Out is diffed against the new export filters, and
   * its Adj-RIB-In (which keeps the paths import rejected, as BIRD's
   * `import keep filtered`) is evaluated again, so a path a filter no longer
   * rejects comes back without a ROUTE-REFRESH.
   */
  updatePeer(p: RibPeer): void {
    const st = this.peer(p.name);
    const filters = p.filters ?? [];
    const filtersChanged = !sameFilters(st.filters, filters);
    const sessionSame =
      st.address === p.address &&
      st.asNumber === p.asNumber &&
      st.rrClient === p.rrClient &&
      st.keepOriginalNextHop === p.keepOriginalNextHop &&
      st.nextHopSelf === (p.nextHopSelf ?? false) &&
      st.localAs === (p.localAs ?? this.me.localAs) &&
      st.allowLocalAs === (p.allowLocalAs ?? 0) &&
      st.addPathSendConfigured === p.addPathSend;
    if (sessionSame && !filtersChanged) return;
    this.flush();
    // Only this peer's own export depends on its filters; every up peer's may depend on the rest.
    this.reexport(sessionSame ? (st.up ? [st] : []) : this.upPeers, () => {
      if (!sessionSame) {
        st.configure(p, this.me.localAs);
        this.exportEpoch++; // cached exports of this peer's routes followed the old rules
      }
      this.setFilters(st, filters);
      st.profile = this.profileOf(st);
    });
    if (filtersChanged) {
      this.reimport(st);
      this.flush();
    }
  }

  /**
   * Make a change export results depend on (`change`), then send each of
   * `peers` (up ones) the difference between its full Adj-RIB-Out before and
   * after: a re-export, no session reset.
   */
  private reexport(peers: readonly PeerState[], change: () => void): void {
    const before = peers.map((to) => this.fullExport(to));
    change();
    peers.forEach((to, i) => {
      const after = this.fullExport(to);
      const changes = diffOut(before[i], after);
      to.advertised = after.length;
      if (changes.length > 0) for (const fn of this.outListeners) fn(to.name, changes);
    });
  }

  /** The peer's filters; its export profile must be recomputed after (peers share exports only with equal export filters). */
  private setFilters(st: PeerState, filters: readonly BgpFilter[]): void {
    st.filters = filters;
    st.importFilters = hasRules(filters, 'import', this.family) ? filters : null;
    st.exportFilters = hasRules(filters, 'export', this.family) ? filters : null;
    st.exportFiltersKey = st.exportFilters === null ? '' : JSON.stringify(st.exportFilters);
  }

  /**
   * Export filter for learned routes. calico-node's BIRD exports to its peers
   * only prefixes inside its IP pools (confd's `calico_export_to_bgp_peers`:
   * `if (net ~ <pool>) then accept; reject;`), so a default route learned from
   * a ToR does not leak into the mesh. Every up peer gets the difference.
   */
  setExportFilter(allowed: (key: PrefixKey) => boolean): void {
    this.flush();
    this.reexport(this.upPeers, () => {
      this.exportAllowed = allowed;
      this.groupFull.clear();
    });
  }

  /**
   * The communities learned routes take when passed on (confd's
   * apply_communities() runs in every peer's export filter). A change is a
   * re-export: every up peer gets the difference, no session is reset.
   */
  setCommunityRules(rules: CommunityRules): void {
    this.flush();
    this.reexport(this.upPeers, () => {
      this.communityRules = rules;
      this.exportEpoch++; // cached exports carry the old communities (and group ids)
    });
  }

  removePeer(name: string): void {
    const st = this.peer(name);
    this.dropAll(st);
    this.setUp(st, false);
    this.peers.delete(name);
  }

  /**
   * The session is Established. Returns the peer's full Adj-RIB-Out; the
   * caller sends it, then End-of-RIB (RFC 4724 §2). Pending changes are
   * flushed first so the table and later flushes agree.
   */
  peerUp(name: string, info: PeerUpInfo): OutChange[] {
    const st = this.peer(name);
    this.flush();
    if (st.routerId !== info.remoteRouterId) {
      const hadSession = st.routerId !== '0.0.0.0';
      st.routerId = info.remoteRouterId;
      st.routerIdNum = parseIpv4(info.remoteRouterId);
      // ORIGINATOR_ID of reflected routes from this peer follows its router id,
      // so cached exports of its paths are stale. A peer's first session
      // cannot have any cached (its paths only ever arrive in a session):
      // throwing every cache away for it, 1000 times over at a reflector's
      // bring-up, made each session's table a fresh set of attribute
      // objects that no two peers could share in the TX path.
      if (hadSession || st.received > 0) this.exportEpoch++;
    }
    st.addPathSend = info.addPathSend;
    st.addPathReceive = info.addPathReceive;
    this.setUp(st, true);
    // RFC 4724 §4.2: the peer is back; its stale paths wait for End-of-RIB,
    // bounded by the restart time again.
    if (st.staleCount > 0) this.armStaleTimer(st);
    const out = this.fullExport(st);
    st.advertised = out.length;
    return out;
  }

  /** RFC 2918 ROUTE-REFRESH: the whole Adj-RIB-Out again (caller sends End-of-RIB after, RFC 7313 if enhanced). */
  routeRefresh(name: string): OutChange[] {
    const st = this.peer(name);
    this.flush();
    if (!st.up) return [];
    const out = this.fullExport(st);
    st.advertised = out.length;
    return out;
  }

  /**
   * The session went down. Graceful (RFC 4724 §4.2): keep the peer's paths,
   * marked stale, until refreshed, its End-of-RIB, or `restartTime` seconds.
   * Otherwise remove them now.
   */
  peerDown(name: string, opts: { graceful: boolean; restartTime: number }): void {
    const st = this.peer(name);
    this.setUp(st, false);
    st.advertised = 0;
    if (!opts.graceful || opts.restartTime <= 0) {
      this.dropAll(st);
      return;
    }
    // Everything held becomes stale; what was stale from an earlier restart stays so.
    this.markStale(st);
    st.restartTime = opts.restartTime;
    if (st.staleCount > 0) this.armStaleTimer(st);
  }

  /** End-of-RIB from the peer (RFC 4724 §2): what is still stale was not re-announced. */
  endOfRib(name: string): void {
    const st = this.peer(name);
    if (st.staleCount > 0) this.dropStale(st);
  }

  // ------------------------------------------------------------------ updates

  /** Apply one decoded UPDATE from `name`. Costs in proportion to its prefixes. */
  applyUpdate(name: string, update: UpdateMessage): void {
    if (this.family === 6) return this.applyUpdate6(name, update);
    const st = this.peer(name);
    const a = update.attributes;
    // Withdrawals first (RFC 4271 §9: a prefix both withdrawn and announced ends announced).
    this.withdrawList(st, update.withdrawn.keys, update.withdrawn.pathIds);
    const unreach = a.mpUnreach;
    if (unreach && unreach.afi === 1 && 'withdrawn' in unreach) {
      this.withdrawList(st, unreach.withdrawn.keys, unreach.withdrawn.pathIds);
    }
    const reach = a.mpReach;
    const mpNlri = reach && reach.afi === 1 && 'nlri' in reach ? reach.nlri : null;
    if (update.treatAsWithdraw) {
      // RFC 7606 §2: every NLRI of the UPDATE is withdrawn, the session goes on.
      this.withdrawList(st, update.nlri.keys, update.nlri.pathIds);
      if (mpNlri) this.withdrawList(st, mpNlri.keys, mpNlri.pathIds);
      return;
    }
    if (update.nlri.keys.length === 0 && (mpNlri === null || mpNlri.keys.length === 0)) return;
    const set = this.attrTable.internReceived(a, update.attrBytes);
    const accepted = importRejection(set.attrs, st, this.me) === null;
    this.announceList(st, update.nlri.keys, update.nlri.pathIds, set, accepted);
    if (mpNlri) this.announceList(st, mpNlri.keys, mpNlri.pathIds, set, accepted);
    // A set no path took (e.g. every prefix was a duplicate) leaves the table again.
    if (set.refs === 0) {
      this.attrTable.retain(set);
      this.attrTable.release(set);
    }
  }

  /**
   * IPv6 unicast from MP_REACH_NLRI / MP_UNREACH_NLRI AFI 2 SAFI 1 (RFC 4760
   * §3, §4); anything else in the UPDATE is not this RIB's family. The next
   * hop is the global address (RFC 2545 §3: BIRD sends global + link-local,
   * 32 octets; routes are installed via the global one).
   */
  private applyUpdate6(name: string, update: UpdateMessage): void {
    const st = this.peer(name);
    const { mpReach: reach, mpUnreach: unreach, ...rest } = update.attributes;
    if (unreach && unreach.afi === 2 && unreach.safi === 1 && 'withdrawn' in unreach) {
      this.withdrawList(st, ipv6Keys(unreach.withdrawn), unreach.withdrawn.pathIds);
    }
    if (!reach || reach.afi !== 2 || reach.safi !== 1 || !('nlri' in reach) || ipv6Count(reach.nlri) === 0) return;
    const keys = ipv6Keys(reach.nlri);
    if (update.treatAsWithdraw) {
      // RFC 7606 §2: every NLRI of the UPDATE is withdrawn, the session goes on.
      this.withdrawList(st, keys, reach.nlri.pathIds);
      return;
    }
    // RFC 4271 §5.1.3's NEXT_HOP is IPv4 only; for IPv6 the MP_REACH one is the path's next hop.
    const set = this.attrTable.intern({ ...rest, nextHop: reach.nextHops[0] });
    const accepted = importRejection(set.attrs, st, this.me) === null;
    this.announceList(st, keys, reach.nlri.pathIds, set, accepted);
    if (set.refs === 0) {
      this.attrTable.retain(set);
      this.attrTable.release(set);
    }
  }

  /**
   * Our own routes (Calico blocks to export), diffed against the previous
   * call: ORIGIN IGP, empty AS_PATH, LOCAL_PREF 100, NEXT_HOP = localAddress.
   */
  setLocalRoutes(routes: Map<PrefixKey, LocalRoute>): void {
    const st = this.local;
    for (const key of [...this.localKeys]) {
      if (!routes.has(key)) {
        this.withdrawOne(st, key, 0);
        this.localKeys.delete(key);
      }
    }
    for (const [key, r] of routes) {
      const attrs: PathAttributes = {
        origin: 0,
        asPath: [],
        nextHop: this.me.localAddress,
        localPref: 100,
      };
      if (r.communities && r.communities.length > 0) attrs.communities = [...r.communities];
      if (r.largeCommunities && r.largeCommunities.length > 0) attrs.largeCommunities = r.largeCommunities.map((t) => [...t] as [number, number, number]);
      const set = this.attrTable.intern(attrs);
      this.announceOne(st, key, 0, set, true);
      this.localKeys.add(key);
      if (set.refs === 0) {
        this.attrTable.retain(set);
        this.attrTable.release(set);
      }
    }
  }

  // -------------------------------------------------------------------- flush

  /**
   * Hand out what changed since the last flush: per up peer its Adj-RIB-Out
   * changes, and the best-path changes. Several changes to one prefix in
   * between give at most one OutChange per peer and path id.
   */
  flush(): void {
    this.flushRequested = false;
    if (this.dirtyKeys.length === 0) return;
    const dirtyKeys = this.dirtyKeys;
    const dirtyOld = this.dirtyOld;
    const dirtyOldAll = this.dirtyOldAll;
    const dirtySlots = this.dirtySlots;
    this.dirtyKeys = [];
    this.dirtyOld = [];
    this.dirtyOldAll = new Map();
    this.dirtySlots = [];
    const peers = this.upPeers;
    const outs: OutChange[][] = peers.map(() => []);
    const best: BestPathChange[] | null = this.bestListeners.length > 0 ? [] : null;
    this.memoOld = null;
    this.memoNew = null;
    this.memoAdd = null;
    this.oldEx = new Array(peers.length).fill(null);
    this.newEx = new Array(peers.length).fill(null);
    this.exportsEqual = true;
    // No peer's export differs between memoOld and memoNew (e.g. plain iBGP: an
    // iBGP-learned path goes to no iBGP peer), so the per-peer loop has nothing
    // to do unless an ADD-PATH peer needs its own diff.
    let anyAddPath = false;
    for (const to of peers) if (to.addPathSend) anyAddPath = true;
    // Equal exports of the old and new best can still differ in a BGPFilter's verdict (source, communities).
    this.filtersUp = false;
    for (const to of peers) if (to.exportFilters !== null) this.filtersUp = true;
    this.flushDirty(dirtyKeys, dirtySlots, dirtyOld, dirtyOldAll, anyAddPath, peers, outs, best);
    this.oldEx = [];
    this.newEx = [];
    for (let i = 0; i < peers.length; i++) {
      if (outs[i].length === 0) continue;
      for (const fn of this.outListeners) fn(peers[i].name, outs[i]);
    }
    if (best !== null && best.length > 0) for (const fn of this.bestListeners) fn(best);
  }

  /**
   * The per-prefix part of `flush`, in a function of its own with nothing
   * after the loop: a flush of 16k prefixes is compiled while it runs
   * (on-stack replacement), and code after the loop that had never run left
   * the optimised loop for the interpreter at every flush (--trace-deopt,
   * "insufficient type feedback", 8 times in a 100k ingest). The rare parts
   * of the body are methods for the same reason.
   */
  private flushDirty(
    dirtyKeys: PrefixKey[],
    dirtySlots: number[],
    dirtyOld: (Path | undefined)[],
    dirtyOldAll: Map<number, Path[]>,
    anyAddPath: boolean,
    peers: PeerState[],
    outs: OutChange[][],
    best: BestPathChange[] | null,
  ): void {
    const table = this.table;
    const groups = this.groupFull.size > 0 ? this.groupFull : null;
    for (let d = 0; d < dirtyKeys.length; d++) {
      const key = dirtyKeys[d];
      if (groups !== null) for (const g of groups.values()) g.dests.delete(key);
      // One probe saved per prefix: the slot from the touch, unless the table grew since.
      let slot = dirtySlots[d];
      if (slot < 0 || !table.holds(slot, key)) slot = table.find(key);
      let pl = 0;
      if (slot >= 0) {
        table.clearDirty(slot);
        pl = table.payload(slot);
        // A destination emptied since the last flush stayed as a dirty slot (so it was listed once).
        if (pl === 0) table.remove(slot);
      }
      const oldBest = dirtyOld[d];
      const newBest = this.bestOf(pl);
      // ECMP: a path that ties with the best changes the kernel route even when the best stays.
      const merged = best !== null && this.mergePaths && (pl >= LIST_FLAG || this.merged.size > 0) && this.noteMerged(best, key, pl, newBest);
      if (oldBest === newBest && !anyAddPath) continue;
      if (best !== null && oldBest !== newBest && !merged) this.noteBest(best, key, oldBest, newBest);
      // Consecutive prefixes mostly share their Path objects: export each once per flush run.
      // ... and, for learned routes, the same prefix-advertisement communities (community-rules.ts).
      const add = this.communityRules.empty ? null : this.communityRules.forPrefix(key);
      if (oldBest !== this.memoOld || newBest !== this.memoNew || add !== this.memoAdd) this.memoExports(oldBest, newBest, peers, key, add);
      if (this.exportsEqual && !anyAddPath && !this.filtersUp) continue;
      this.flushPeers(key, pl, anyAddPath ? (dirtyOldAll.get(d) ?? (oldBest ? [oldBest] : [])) : null, peers, outs);
    }
  }

  // Flush state for runs of prefixes with the same old and new best (see flush).
  private memoOld: Path | undefined | null = null;
  private memoNew: Path | undefined | null = null;
  private oldEx: (InternedAttrs | null)[] = [];
  private newEx: (InternedAttrs | null)[] = [];
  private exportsEqual = true;
  // Per-prefix ADD-PATH diffs shared by export profile (flushPeers): valid while apGroupStamp[profile] === apStamp.
  private apStamp = 0;
  private readonly apGroupStamp: number[] = [];
  private readonly apGroupChanges: (OutChange[] | undefined)[] = [];
  private readonly apGroupDelta: number[] = [];
  private filtersUp = false;
  private memoAdd: CommunityAdd | null = null;

  /**
   * With mergePaths: note the destination's change if it has, or had, several
   * next hops (then it is handled here: true); false leaves it to noteBest.
   */
  private noteMerged(best: BestPathChange[], key: PrefixKey, pl: number, newBest: Path | undefined): boolean {
    const hops = newBest !== undefined && pl >= LIST_FLAG ? mergedNextHops(newBest, this.acceptedPaths(pl), (p) => this.bestInfo(p).nextHop) : null;
    const sig = hops !== null && hops.length > 1 ? [...hops].sort().join(' ') : undefined;
    const prev = this.merged.get(key);
    if (sig === undefined) {
      if (prev === undefined) return false;
      this.merged.delete(key);
      best.push({ key, best: newBest ? this.bestInfo(newBest) : null });
      return true;
    }
    if (sig !== prev) {
      this.merged.set(key, sig);
      best.push({ key, best: this.bestInfo(newBest!), nextHops: hops! });
    }
    return true;
  }

  private noteBest(best: BestPathChange[], key: PrefixKey, oldBest: Path | undefined, newBest: Path | undefined): void {
    // The kernel needs nothing when only the path object changed (same attributes from the same source).
    if (oldBest && newBest && oldBest.attrs === newBest.attrs && oldBest.src === newBest.src) return;
    best.push({ key, best: newBest ? this.bestInfo(newBest) : null });
  }

  private memoExports(oldBest: Path | undefined, newBest: Path | undefined, peers: PeerState[], key: PrefixKey, add: CommunityAdd | null): void {
    const oldEx = this.oldEx;
    const newEx = this.newEx;
    const addChanged = add !== this.memoAdd;
    this.memoAdd = add;
    if (oldBest !== this.memoOld || addChanged) {
      this.memoOld = oldBest;
      for (let i = 0; i < peers.length; i++) oldEx[i] = oldBest === undefined ? null : this.exportOf(oldBest, peers[i], key);
    }
    if (newBest !== this.memoNew || addChanged) {
      this.memoNew = newBest;
      for (let i = 0; i < peers.length; i++) newEx[i] = newBest === undefined ? null : this.exportOf(newBest, peers[i], key);
    }
    let equal = true;
    for (let i = 0; i < peers.length; i++) {
      const a = oldEx[i];
      const b = newEx[i];
      if (!(a === b || (a !== null && b !== null && a.internKey === b.internKey))) equal = false;
    }
    this.exportsEqual = equal;
  }

  /** One dirty prefix's Adj-RIB-Out changes for every up peer; `oldAll` (ADD-PATH peers up) is every accepted path before. */
  private flushPeers(key: PrefixKey, pl: number, oldAll: Path[] | null, peers: PeerState[], outs: OutChange[][]): void {
    const curAll = oldAll !== null ? this.acceptedPaths(pl) : null;
    const oldEx = this.oldEx;
    const newEx = this.newEx;
    // Learned routes pass Calico's export filter (confd's calico_export_to_bgp_peers)
    // here too, not only in full-table exports: the memoised exports are per
    // path, the filter is per prefix. Our own routes are always offered.
    const learnedOk = this.exportAllowed(key);
    const oldGone = !learnedOk && this.memoOld !== undefined && this.memoOld !== null && !this.memoOld.src.local;
    const newGone = !learnedOk && this.memoNew !== undefined && this.memoNew !== null && !this.memoNew.src.local;
    // One OutChange object per distinct export for this prefix, shared by the peers that get it.
    let lastSet: InternedAttrs | null | undefined;
    let lastChange: OutChange | undefined;
    // ADD-PATH peers: one diff per export profile for this prefix, shared by every
    // peer of that profile that is not a source of one of the paths (split
    // horizon makes a source's own diff differ). A mesh or reflector of 1000
    // ADD-PATH peers made 1000 diffs (and 1000 sets of OutChange objects) per
    // dirty prefix; now one.
    const stamp = ++this.apStamp;
    for (let i = 0; i < peers.length; i++) {
      const to = peers[i];
      if (to.addPathSend) {
        if (isSourceOf(to, oldAll!) || isSourceOf(to, curAll!)) {
          to.advertised += this.diffAddPath(to, key, oldAll!, curAll!, outs[i]);
          continue;
        }
        const g = to.profile;
        if (this.apGroupStamp[g] !== stamp) {
          const changes: OutChange[] = [];
          this.apGroupDelta[g] = this.diffAddPath(to, key, oldAll!, curAll!, changes);
          this.apGroupChanges[g] = changes;
          this.apGroupStamp[g] = stamp;
        }
        const changes = this.apGroupChanges[g]!;
        const out = outs[i];
        for (let c = 0; c < changes.length; c++) out.push(changes[c]);
        to.advertised += this.apGroupDelta[g];
        continue;
      }
      let a = oldGone ? null : oldEx[i];
      let b = newGone ? null : newEx[i];
      if (to.exportFilters !== null) {
        // The peer's BGPFilters decide per prefix, before (and instead of) Calico's default.
        a = oldEx[i] !== null ? this.exportVia(to, key, this.memoOld!) : null;
        b = newEx[i] !== null ? this.exportVia(to, key, this.memoNew!) : null;
      }
      if (a === b || (a !== null && b !== null && a.internKey === b.internKey)) continue;
      if (b !== lastSet || lastChange === undefined) {
        lastSet = b;
        lastChange = { key, pathId: 0, attrs: b };
      }
      outs[i].push(lastChange);
      if (a === null) to.advertised++;
      else if (b === null) to.advertised--;
    }
  }

  // ------------------------------------------------------------------ queries

  counters(name: string): PeerCounters {
    const st = this.peer(name);
    return { received: st.received, accepted: st.accepted, advertised: st.advertised };
  }

  /** Prefixes in the Loc-RIB. */
  size(): number {
    return this.prefixCount;
  }

  /** Accepted paths in the Loc-RIB (our own included). */
  paths(): number {
    return this.pathCount;
  }

  /** Interned attribute sets alive (for status and memory checks). */
  attributeSets(): number {
    return this.attrTable.size;
  }

  peerNames(): string[] {
    return [...this.peers.keys()];
  }

  /** Prefixes in the Loc-RIB (for `agent routes`). */
  *prefixes(): Generator<PrefixKey> {
    const t = this.table;
    for (let s = 0; s < t.capacity; s++) {
      if (t.live(s) && this.bestOf(t.payload(s)) !== undefined) yield t.keyAt(s);
    }
  }

  /** Every path for `key` (accepted ones, from the Loc-RIB), the best, and the step that chose it. */
  lookup(key: PrefixKey): LookupResult {
    const slot = this.table.find(key);
    const n = slot < 0 ? 0 : this.load(slot);
    const paths: Path[] = [];
    const stale: boolean[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.atE(i);
      if (!p.accepted) continue;
      paths.push(p);
      stale.push((this.E[i] & 1) === 1);
    }
    const r = bestPath(paths);
    const views = paths.map((p, i): PathView => ({ peer: p.src.local ? null : p.src.name, pathId: p.pathId, attrs: p.attrs, best: p === r.best, stale: stale[i] }));
    return { paths: views, best: r.best ? views[paths.indexOf(r.best)] : null, reason: r.reason };
  }

  /** The peer's Adj-RIB-In as received (rejected and stale paths included). */
  *received(name: string): Generator<{ key: PrefixKey; pathId: number; attrs: AttrSet; accepted: boolean; stale: boolean }> {
    const st = this.peer(name);
    const t = this.table;
    const out: { key: PrefixKey; pathId: number; attrs: AttrSet; accepted: boolean; stale: boolean }[] = [];
    for (let s = 0; s < t.capacity; s++) {
      if (!t.live(s) || st.received === 0) continue;
      const n = this.load(s);
      for (let i = 0; i < n; i++) {
        const p = this.atE(i);
        if (p.src === st) out.push({ key: t.keyAt(s), pathId: p.pathId, attrs: p.attrs, accepted: p.accepted, stale: (this.E[i] & 1) === 1 });
      }
      // Yield between slots only (the scratch array is shared with edits a consumer might make).
      if (out.length > 0) {
        yield* out;
        out.length = 0;
      }
    }
  }

  /**
   * Why import took or refused a path of `name` for `key` (for `agent
   * routes`): the BGPFilter rule that decided, a loop check's reason, or
   * null when Calico's default (accept) applied.
   */
  importDecision(name: string, key: PrefixKey, attrs: AttrSet): { verdict: FilterVerdict } | { rejected: string } | null {
    const st = this.peer(name);
    const loop = importRejection(attrs.attrs, st, this.me);
    if (loop !== null) return { rejected: loop };
    const v = this.importVerdict(st, key, attrs as InternedAttrs);
    return v === null ? null : { verdict: v };
  }

  /** For each peer with export BGPFilters, the rule that decides the best path of `key` (no entry: none matched, Calico's default). */
  exportDecisions(key: PrefixKey): { peer: string; verdict: FilterVerdict }[] {
    const slot = this.table.find(key);
    const best = slot < 0 ? undefined : this.bestOf(this.table.payload(slot));
    if (best === undefined) return [];
    const out: { peer: string; verdict: FilterVerdict }[] = [];
    for (const to of this.peers.values()) {
      if (to.exportFilters === null || to === best.src) continue;
      const v = evaluateFilters(to.exportFilters, 'export', this.family, { key, source: best.src.local ? 'own-block' : 'bgp', attrs: best.attrs.attrs }, to.ibgp);
      if (v !== null) out.push({ peer: to.name, verdict: v });
    }
    return out;
  }

  /** The peer's Adj-RIB-Out, computed from the Loc-RIB (nothing while the peer is down). */
  *advertised(name: string): Generator<OutChange> {
    const st = this.peer(name);
    if (!st.up) return;
    const out: OutChange[] = [];
    const t = this.table;
    for (let s = 0; s < t.capacity; s++) {
      if (!t.live(s)) continue;
      out.length = 0;
      this.exportDest(st, t.keyAt(s), t.payload(s), out);
      yield* out;
    }
  }

  // ---------------------------------------------------------------- internals

  private peer(name: string): PeerState {
    const st = this.peers.get(name);
    if (st === undefined) throw new Error(`RIB: unknown peer ${name}`);
    return st;
  }

  private profileOf(st: PeerState): number {
    // What an export depends on: iBGP (reflection client or not) or eBGP (the AS we prepend), and the next-hop rule.
    const nh = st.nextHopSelf ? 's' : st.keepOriginalNextHop ? 'k' : '';
    const base = st.ibgp ? `i${st.rrClient ? 'c' : ''}${nh}` : `e${st.asNumber}/${st.localAs}${nh}`;
    // Export BGPFilters are part of what a peer is sent: only peers with equal ones share exports.
    const key = st.exportFiltersKey === '' ? base : `${base}|${st.exportFiltersKey}`;
    let id = this.profiles.get(key);
    if (id === undefined) {
      id = this.profiles.size + 1;
      this.profiles.set(key, id);
    }
    return id;
  }

  private setUp(st: PeerState, up: boolean): void {
    st.up = up;
    this.upPeers = [...this.peers.values()].filter((p) => p.up);
    this.addPathUp = this.upPeers.filter((p) => p.addPathSend).length;
    // With no ADD-PATH peer up a change of a path that is not the best marks
    // nothing dirty, so the ADD-PATH groups' exports could not follow it.
    if (this.addPathUp === 0) this.groupFull.clear();
  }

  private bestInfo(p: Path): BestInfo {
    return (p.bestInfo ??= { nextHop: p.src.local ? this.me.localAddress : p.attrs.nextHop, peer: p.src.local ? null : p.src.name, attrs: p.attrs });
  }

  // --- the path registry: elements are `id * 2 + stale`

  /** The element for `p` (stale bit clear), one more reference taken; a path's first reference holds its attribute set. */
  private ref(p: Path): number {
    let id = p.rid;
    if (id === 0) {
      id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.pathById.length;
      if (id * 2 + 1 > MAX_ELEMENT) throw new Error('RIB: too many distinct paths');
      if (id === this.pathById.length) this.pathById.push(p);
      else this.pathById[id] = p;
      if (id >= this.pathRefs.length) {
        const r = new Int32Array(this.pathRefs.length * 2);
        r.set(this.pathRefs);
        this.pathRefs = r;
      }
      p.rid = id;
      this.attrTable.retain(p.attrs);
    }
    this.pathRefs[id]++;
    return id * 2;
  }

  private unref(e: number): void {
    const id = e >>> 1;
    if (--this.pathRefs[id] > 0) return;
    const p = this.pathById[id]!;
    p.rid = 0;
    this.pathById[id] = undefined;
    this.freeIds.push(id);
    this.attrTable.release(p.attrs);
  }

  // --- destination entries

  /** The best accepted path of a destination payload, if any. */
  private bestOf(pl: number): Path | undefined {
    if (pl === 0) return undefined;
    const e = pl < LIST_FLAG ? pl : this.lists.get(listOffset(pl), 0);
    const p = this.pathById[e >>> 1]!;
    return p.accepted ? p : undefined;
  }

  /** Accepted paths of a destination payload, the best first. */
  private acceptedPaths(pl: number): Path[] {
    if (pl === 0) return [];
    if (pl < LIST_FLAG) {
      const p = this.pathById[pl >>> 1]!;
      return p.accepted ? [p] : [];
    }
    const off = listOffset(pl);
    const out: Path[] = [];
    for (let i = 0, n = this.lists.count(off); i < n; i++) {
      const p = this.pathById[this.lists.get(off, i) >>> 1]!;
      if (p.accepted) out.push(p);
    }
    return out;
  }

  /** Copy a destination's elements into `E`; returns how many. */
  private load(slot: number): number {
    const pl = this.table.payload(slot);
    if (pl < LIST_FLAG) {
      this.curOff = -1;
      this.curMixed = false;
      if (pl === 0) return 0;
      this.E[0] = pl;
      return 1;
    }
    const lists = this.lists;
    const off = listOffset(pl);
    const n = lists.count(off);
    if (n + 1 > this.E.length) this.growScratch(n + 1);
    const a = lists.a;
    const E = this.E;
    for (let i = 0; i < n; i++) E[i] = a[off + 1 + i];
    this.curOff = off;
    this.curMixed = lists.mixed(off);
    return n;
  }

  private growScratch(n: number): void {
    let len = this.E.length;
    while (len < n) len *= 2;
    const E = new Int32Array(len);
    E.set(this.E);
    this.E = E;
  }

  /**
   * Write `E[0, n)` back to the destination at `slot` (or a new one for `key`
   * when `slot` < 0). An emptied destination that is dirty stays, empty,
   * until the flush that lists it.
   */
  private store(slot: number, key: PrefixKey, n: number, dirty: boolean): void {
    const t = this.table;
    const lists = this.lists;
    let pl: number;
    if (n <= 1) {
      if (this.curOff >= 0) lists.release(this.curOff);
      pl = n === 0 ? 0 : this.E[0];
    } else {
      let off = this.curOff;
      if (off < 0 || lists.capacityOf(off) < n) {
        if (off >= 0) lists.release(off);
        off = lists.alloc(n);
      }
      const a = lists.a;
      const E = this.E;
      for (let i = 0; i < n; i++) a[off + 1 + i] = E[i];
      a[off] = (a[off] & ~0xffff) | n;
      lists.setMixed(off, this.curMixed);
      pl = listPayload(off);
    }
    this.curOff = -1;
    if (slot < 0) {
      if (n > 0) {
        const at = t.insert(key, pl, dirty);
        if (dirty) this.dirtySlots[this.dirtySlots.length - 1] = at;
      }
      return;
    }
    if (dirty) t.setDirty(slot);
    if (n === 0 && !t.dirty(slot)) t.remove(slot);
    else t.setPayload(slot, pl);
  }

  /**
   * First change to the Loc-RIB entry of `key` since the last flush that
   * matters to it: remember its best as it was (`oldBest`). Returns false
   * when the destination is already dirty.
   *
   * Without ADD-PATH peers up, a flush looks at the best path only, so a
   * change that leaves the best alone (a new path that does not win, a
   * non-best path withdrawn: most of them with many paths per prefix) marks
   * nothing; the caller decides after re-selecting. With ADD-PATH peers up,
   * `touch` is called before the change and keeps every accepted path too.
   */
  private markDirty(slot: number, key: PrefixKey, oldBest: Path | undefined): boolean {
    if (slot >= 0 && this.table.dirty(slot)) return false;
    this.dirtyKeys.push(key);
    this.dirtySlots.push(slot);
    this.dirtyOld.push(oldBest);
    if (this.requestFlush && !this.flushRequested) {
      this.flushRequested = true;
      this.requestFlush(() => this.flush());
    }
    return true;
  }

  /** `markDirty` before a change while ADD-PATH peers are up: `E[0, n)` (or the arena list at `arenaOff`) is the destination as it was. */
  private touch(slot: number, key: PrefixKey, n: number, arenaOff = -1): boolean {
    // The elements are in E, or (arenaOff >= 0) in the arena list at arenaOff.
    const src = arenaOff >= 0 ? this.lists.a : this.E;
    const base = arenaOff >= 0 ? arenaOff + 1 : 0;
    const reg = this.pathById;
    const first = n > 0 ? reg[src[base] >>> 1]! : undefined;
    if (!this.markDirty(slot, key, first !== undefined && first.accepted ? first : undefined)) return false;
    if (this.addPathUp > 0) {
      const all: Path[] = [];
      for (let i = 0; i < n; i++) {
        const p = reg[src[base + i] >>> 1]!;
        if (p.accepted) all.push(p);
      }
      this.dirtyOldAll.set(this.dirtyKeys.length - 1, all);
    }
    return true;
  }

  /** After a change of `E[0, n)` without ADD-PATH peers: mark dirty when the best is no longer `oldBest`. */
  private markIfBestChanged(slot: number, key: PrefixKey, n: number, oldBest: Path | undefined): boolean {
    const nb = n > 0 && this.atE(0).accepted ? this.atE(0) : undefined;
    // With mergePaths a path beside the best may change the kernel's ECMP route: flush looks at it.
    return (nb !== oldBest || this.mergePaths) && this.markDirty(slot, key, oldBest);
  }

  /**
   * Keep the best accepted path first after a change at index `i` of
   * `E[0, n)` (RFC 4271 §9.1.2). `hadBest`: `E[0]` was the best accepted
   * path before the change. Only the changed path is compared with the
   * best, unless the best itself went or was replaced, or the paths span
   * several neighbour ASes: then every path is looked at.
   */
  private reselect(n: number, kind: number, i: number, hadBest: boolean): void {
    if (n === 0) {
      this.curMixed = false;
      return;
    }
    if (!hadBest) {
      // Nothing accepted before: the changed path, if accepted, is the only accepted one.
      if (kind !== REMOVE && this.atE(i).accepted) this.swap(0, i);
      this.curMixed = false;
      return;
    }
    // The best went or changed, or MED makes the order non-transitive: look at every path.
    if (this.curMixed || (i === 0 && kind !== ADD)) {
      this.fullSelect(n);
      return;
    }
    if (kind === REMOVE) return; // a path that was not the best: the best stays
    const q = this.atE(i);
    if (!q.accepted) return;
    const b = this.atE(0);
    if (q.attrs.neighbourAs !== b.attrs.neighbourAs) {
      this.curMixed = true;
      this.fullSelect(n);
      return;
    }
    if (better(q, b)) this.swap(0, i);
  }

  private swap(i: number, j: number): void {
    const E = this.E;
    const x = E[i];
    E[i] = E[j];
    E[j] = x;
  }

  /** Select over every accepted path of `E[0, n)` and put the best first; recompute MIXED. */
  private fullSelect(n: number): void {
    // Accepted paths to the front (order among them kept), so selection sees only those.
    let m = 0;
    for (let i = 0; i < n; i++) {
      if (this.atE(i).accepted) {
        if (i !== m) this.swap(i, m);
        m++;
      }
    }
    if (m === 0) {
      this.curMixed = false;
      return;
    }
    const as = this.atE(0).attrs.neighbourAs;
    let mixed = false;
    for (let i = 1; i < m; i++) if (this.atE(i).attrs.neighbourAs !== as) mixed = true;
    this.curMixed = mixed;
    const b = selectBest(m, this.atE, mixed);
    if (b > 0) this.swap(0, b);
  }

  /**
   * What `to` gets for path `p` of destination `key`: an interned export, or
   * null. Cached per (attrs, source, to's profile, the communities a learned
   * route takes at `key`: one small id per distinct set).
   */
  private exportOf(p: Path, to: PeerState, key: PrefixKey): InternedAttrs | null {
    const src = p.src;
    if (src === to) return null; // never back to where it came from
    const set = p.attrs;
    const add = src.local ? null : this.communityRules.forPrefix(key);
    let cache = set.exports;
    // Group ids beyond 4095 would overflow the numeric key: such exports are not cached.
    const ck = add === null ? to.profile * 1048576 + src.index : add.id < 4096 ? (add.id * 2097152 + to.profile) * 1048576 + src.index : -1;
    if (set.refs === 0 || ck < 0) {
      // The path is gone (a flush asking what it was exported as): answer without caching.
      const hit = ck < 0 ? undefined : cache?.get(ck);
      if (hit !== undefined) return hit;
      const attrs = this.exportAttributesAt(set, src, to, add);
      return attrs === null ? null : attrs === set.attrs ? set : this.attrTable.peek(attrs);
    }
    if (cache === null || set.exportsEpoch !== this.exportEpoch) {
      if (cache !== null) for (const out of cache.values()) if (out !== null) this.attrTable.release(out);
      cache = set.exports = new Map();
      set.exportsEpoch = this.exportEpoch;
    }
    const hit = cache.get(ck);
    if (hit !== undefined) return hit;
    const attrs = this.exportAttributesAt(set, src, to, add);
    const out = attrs === null ? null : attrs === set.attrs ? set : this.attrTable.intern(attrs);
    if (out !== null) this.attrTable.retain(out);
    cache.set(ck, out);
    return out;
  }

  /** The export rules (propagation.ts), then the prefix's communities (community-rules.ts). */
  private exportAttributesAt(set: InternedAttrs, src: PeerState, to: PeerState, add: CommunityAdd | null): PathAttributes | null {
    const attrs = exportAttributes(set, src, to, this.me);
    return attrs === null || add === null ? attrs : withCommunities(attrs, add);
  }

  /** Append `to`'s Adj-RIB-Out for one destination's accepted paths (best first). */
  private exportPaths(to: PeerState, key: PrefixKey, paths: readonly Path[], out: OutChange[]): void {
    if (paths.length === 0) return;
    // Learned routes pass the export filter; our own are always offered (both after the peer's BGPFilters).
    if (!to.addPathSend) {
      const x = this.exportVia(to, key, paths[0]);
      if (x !== null) out.push({ key, pathId: 0, attrs: x });
      return;
    }
    // RFC 7911 with Calico's `add paths on`: every path the rules allow, each under its own id.
    for (const p of paths) {
      const x = this.exportVia(to, key, p);
      if (x !== null) out.push({ key, pathId: p.outId, attrs: x });
    }
  }

  private exportDest(to: PeerState, key: PrefixKey, pl: number, out: OutChange[]): void {
    if (!to.addPathSend) {
      const b = this.bestOf(pl);
      if (b === undefined) return;
      const x = this.exportVia(to, key, b);
      if (x !== null) out.push({ key, pathId: 0, attrs: x });
      return;
    }
    this.exportPaths(to, key, this.acceptedPaths(pl), out);
  }

  private fullExport(to: PeerState): OutChange[] {
    const out: OutChange[] = [];
    const t = this.table;
    if (to.ibgp && this.me.clusterId === undefined) {
      // Without reflection an iBGP peer can only be sent our own routes and
      // eBGP-learned ones (RFC 4271 §9.2). With no eBGP-learned path held,
      // visit our own prefixes only, so each session of a mesh coming up
      // costs O(own routes), not O(table).
      let ebgp = false;
      for (const st of this.peers.values()) if (!st.ibgp && st.received > 0) ebgp = true;
      if (!ebgp) {
        for (const key of this.localKeys) {
          const s = t.find(key);
          if (s >= 0) this.exportDest(to, key, t.payload(s), out);
        }
        return out;
      }
    }
    const g = this.groupExport(to);
    if (g === null) {
      for (let s = 0; s < t.capacity; s++) if (t.live(s)) this.exportDest(to, t.keyAt(s), t.payload(s), out);
      return out;
    }
    // A reflector's clients, a mesh's peers: one export per destination for the
    // group, its OutChange objects shared by every member's queue.
    for (let s = 0; s < t.capacity; s++) {
      if (!t.live(s)) continue;
      const key = t.keyAt(s);
      let d = g.dests.get(key);
      if (d === undefined) {
        d = this.groupDest(g.phantom, key, t.payload(s));
        // Bounded: a large table's entries would outweigh what sharing saves.
        if (g.dests.size < GROUP_DESTS_MAX) g.dests.set(key, d);
      }
      const { changes, srcs } = d;
      for (let i = 0; i < changes.length; i++) if (srcs[i] !== to) out.push(changes[i]);
    }
    return out;
  }

  /** `to`'s export group, when it has enough up peers to share full exports (RibOptions.shareFullExportsFrom). */
  private groupExport(to: PeerState): GroupExport | null {
    if (this.groupFullEpoch !== this.exportEpoch) {
      this.groupFull.clear();
      this.groupFullEpoch = this.exportEpoch;
    }
    // A large table: a shared entry per destination costs more (a Map entry, two arrays) than
    // exporting it for each member; 300k routes to 10 clients held 4x the heap and CPU.
    if (this.prefixCount > GROUP_DESTS_MAX) return null;
    const gk = to.profile * 2 + (to.addPathSend ? 1 : 0);
    let g = this.groupFull.get(gk);
    if (g !== undefined) return g;
    let members = 0;
    for (const p of this.upPeers) if (p.profile === to.profile && p.addPathSend === to.addPathSend) members++;
    if (members < this.shareFullFrom) return null;
    // Exports depend on the receiver only through its profile's settings and split horizon:
    // an object that reads every setting from `to` (its prototype) but is not `to`, so
    // it is the source of no path. Settings added to PeerState later follow by themselves.
    const phantom = Object.create(to) as PeerState;
    g = { phantom, dests: new Map() };
    this.groupFull.set(gk, g);
    return g;
  }

  /** One destination's export for a group (through its phantom member), with each change's source. */
  private groupDest(phantom: PeerState, key: PrefixKey, pl: number): GroupDest {
    const paths = phantom.addPathSend ? this.acceptedPaths(pl) : pl === 0 ? [] : [this.bestOf(pl)].filter((p): p is Path => p !== undefined);
    const changes: OutChange[] = [];
    const srcs: PeerState[] = [];
    for (const p of paths) {
      const x = this.exportVia(phantom, key, p);
      if (x === null) continue;
      changes.push({ key, pathId: phantom.addPathSend ? p.outId : 0, attrs: x });
      srcs.push(p.src);
    }
    return { changes, srcs };
  }

  /**
   * ADD-PATH send: compare the exported (path id -> attrs) of the old and new
   * paths, append the differences to `out`; returns the change in how many
   * (prefix, path id) pairs `to` holds.
   */
  private diffAddPath(to: PeerState, key: PrefixKey, old: readonly Path[], cur: readonly Path[], out: OutChange[]): number {
    const before: OutChange[] = [];
    const after: OutChange[] = [];
    this.exportPaths(to, key, old, before);
    this.exportPaths(to, key, cur, after);
    let delta = 0;
    for (const b of before) {
      if (!after.some((x) => x.pathId === b.pathId)) {
        out.push({ key, pathId: b.pathId, attrs: null });
        delta--;
      }
    }
    for (const x of after) {
      const b = before.find((y) => y.pathId === x.pathId);
      if (b === undefined) delta++;
      if (b === undefined || !sameSet(b.attrs, x.attrs)) out.push(x);
    }
    return delta;
  }

  private announceList(st: PeerState, keys: number[], pathIds: number[] | null, set: InternedAttrs, accepted: boolean): void {
    const n = keys.length;
    if (st.importFilters !== null && accepted) {
      // A BGPFilter decides per prefix (a path it rejects stays in the Adj-RIB-In, not accepted).
      for (let i = 0; i < n; i++) this.announceOne(st, keys[i], pathIds === null ? 0 : pathIds[i], set, this.importVerdict(st, keys[i], set)?.action !== 'Reject');
      return;
    }
    if (pathIds === null) for (let i = 0; i < n; i++) this.announceOne(st, keys[i], 0, set, accepted);
    else for (let i = 0; i < n; i++) this.announceOne(st, keys[i], pathIds[i], set, accepted);
  }

  /** The import BGPFilter rule that decides `st`'s path for `key`, or null (none matched: import accepts). */
  private importVerdict(st: PeerState, key: PrefixKey, set: InternedAttrs): FilterVerdict | null {
    if (st.importFilters === null) return null;
    return evaluateFilters(st.importFilters, 'import', this.family, { key, source: 'bgp', attrs: set.attrs }, st.ibgp);
  }

  /**
   * What `to` is sent of path `p` for `key`, by policy: the first matching
   * export BGPFilter rule (Reject: nothing; Accept: the export, with the
   * rule's operations), else Calico's default (our own routes always,
   * learned ones inside an exported pool), as confd's export filter calls
   * the BGPFilter functions before `calico_export_to_bgp_peers`. The BGP
   * rules (split horizon, iBGP, reflection) still apply after an Accept.
   */
  private exportVia(to: PeerState, key: PrefixKey, p: Path): InternedAttrs | null {
    if (to.exportFilters !== null) {
      const v = evaluateFilters(to.exportFilters, 'export', this.family, { key, source: p.src.local ? 'own-block' : 'bgp', attrs: p.attrs.attrs }, to.ibgp);
      if (v !== null) {
        if (v.action === 'Reject') return null;
        const x = this.exportOf(p, to, key);
        return x !== null && v.operations ? this.withOperations(x, v.operations, !to.ibgp) : x;
      }
    }
    return p.src.local || this.exportAllowed(key) ? this.exportOf(p, to, key) : null;
  }

  /** Interned exports with an export rule's operations applied, retained while cached (bounded). */
  private readonly operated = new Map<string, InternedAttrs>();
  private readonly opsKeys = new WeakMap<readonly FilterOperation[], string>();

  private withOperations(x: InternedAttrs, ops: readonly FilterOperation[], afterFirstAs: boolean): InternedAttrs {
    let ok = this.opsKeys.get(ops);
    if (ok === undefined) this.opsKeys.set(ops, (ok = JSON.stringify(ops)));
    const ck = `${x.internKey}\u0000${ok}\u0000${afterFirstAs ? 1 : 0}`;
    let out = this.operated.get(ck);
    if (out === undefined) {
      if (this.operated.size >= 65_536) {
        for (const set of this.operated.values()) this.attrTable.release(set);
        this.operated.clear();
      }
      out = this.attrTable.intern(applyOperations(x.attrs, ops, afterFirstAs));
      this.attrTable.retain(out);
      this.operated.set(ck, out);
    }
    return out;
  }

  /**
   * Evaluate `st`'s Adj-RIB-In against its import filters again (they
   * changed): each path whose verdict changed is replaced by the same path
   * accepted or not, its stale bit kept; best path and Adj-RIB-Outs follow
   * at the next flush.
   */
  private reimport(st: PeerState): void {
    this.forEachOf(st, (slot, key, n) => {
      // Re-selection reorders the elements: scan again after each change (a few paths per destination).
      for (let changed = true; changed; ) {
        changed = false;
        for (let i = 0; i < n; i++) {
          const old = this.atE(i);
          if (old.src !== st) continue;
          const accepted = importRejection(old.attrs.attrs, st, this.me) === null && this.importVerdict(st, key, old.attrs)?.action !== 'Reject';
          if (accepted === old.accepted) continue;
          this.replaceAcceptance(slot, key, n, i, accepted);
          changed = true;
          break;
        }
      }
      return n;
    });
  }

  /** Element `i` of the loaded destination becomes the same path with `accepted` (announceOne's replace, keeping the stale bit). */
  private replaceAcceptance(slot: number, key: PrefixKey, n: number, i: number, accepted: boolean): void {
    const E = this.E;
    const old = this.atE(i);
    const st = old.src;
    const first = this.atE(0);
    const hadBest = first.accepted;
    const pre = this.addPathUp > 0;
    let dirty = pre && this.touch(slot, key, n);
    const d = accepted ? 1 : -1;
    st.accepted += d;
    this.pathCount += d;
    const e = this.ref(st.pathFor(old.attrs, old.pathId, accepted)) | (E[i] & 1);
    this.unref(E[i]);
    E[i] = e;
    this.reselect(n, REPLACE, i, hadBest);
    if (!pre) dirty = this.markIfBestChanged(slot, key, n, hadBest ? first : undefined);
    this.countBest(hadBest, n);
    if (dirty) this.table.setDirty(slot);
  }

  private withdrawList(st: PeerState, keys: number[], pathIds: number[] | null): void {
    const n = keys.length;
    if (pathIds === null) for (let i = 0; i < n; i++) this.withdrawOne(st, keys[i], 0);
    else for (let i = 0; i < n; i++) this.withdrawOne(st, keys[i], pathIds[i]);
  }

  /** Index in `E[0, n)` of `st`'s path `pathId`, or -1. */
  private indexOf(n: number, st: PeerState, pathId: number): number {
    const E = this.E;
    const reg = this.pathById;
    for (let i = 0; i < n; i++) {
      const p = reg[E[i] >>> 1]!;
      if (p.src === st && p.pathId === pathId) return i;
    }
    return -1;
  }

  /** The hot path: one prefix of an UPDATE. */
  private announceOne(st: PeerState, key: PrefixKey, pathId: number, set: InternedAttrs, accepted: boolean): void {
    const slot = this.table.probe(key);
    if (slot < 0) {
      // A new destination: no comparison, and the probe already found its slot.
      const at = -slot - 1;
      const path = st.pathFor(set, pathId, accepted);
      st.received++;
      if (accepted) {
        st.accepted++;
        this.pathCount++;
        this.prefixCount++;
        this.markDirty(at, key, undefined);
      }
      this.table.insertAt(at, key, this.ref(path), accepted);
      return;
    }
    const pl = this.table.payload(slot);
    if (pl >= LIST_FLAG && this.appendToList(slot, key, pl, st, pathId, set, accepted)) return;
    let n = this.load(slot);
    const i = this.indexOf(n, st, pathId);
    const E = this.E;
    const first = n > 0 ? this.atE(0) : undefined;
    const hadBest = first !== undefined && first.accepted;
    if (i >= 0) {
      const old = this.atE(i);
      if (old.attrs === set) {
        // Duplicate; a stale path announced again is fresh again (RFC 4724 §4.2).
        if (E[i] & 1) {
          E[i] &= ~1;
          if (this.curOff < 0) this.table.setPayload(slot, E[i]);
          else this.lists.set(this.curOff, i, E[i]);
          this.curOff = -1;
          if (--st.staleCount === 0) this.stopStale(st);
        }
        this.curOff = -1;
        return;
      }
      const path = st.pathFor(set, pathId, accepted);
      const pre = this.addPathUp > 0;
      let dirty = pre && (old.accepted || accepted) && this.touch(slot, key, n);
      if (E[i] & 1 && --st.staleCount === 0) this.stopStale(st);
      st.accepted += (accepted ? 1 : 0) - (old.accepted ? 1 : 0);
      this.pathCount += (accepted ? 1 : 0) - (old.accepted ? 1 : 0);
      const e = this.ref(path);
      this.unref(E[i]);
      E[i] = e;
      this.reselect(n, REPLACE, i, hadBest);
      if (!pre) dirty = this.markIfBestChanged(slot, key, n, hadBest ? first : undefined);
      this.countBest(hadBest, n);
      this.store(slot, key, n, dirty);
      return;
    }
    {
      const path = st.pathFor(set, pathId, accepted);
      const pre = this.addPathUp > 0;
      let dirty = pre && accepted && this.touch(slot, key, n);
      st.received++;
      if (accepted) {
        st.accepted++;
        this.pathCount++;
      }
      if (n + 1 > E.length) this.growScratch(n + 1);
      this.E[n] = this.ref(path);
      n++;
      this.reselect(n, ADD, n - 1, hadBest);
      if (!pre) dirty = this.markIfBestChanged(slot, key, n, hadBest ? first : undefined);
      this.countBest(hadBest, n);
      this.store(slot, key, n, dirty);
    }
  }

  /**
   * The common case of many paths per destination, done in the arena without
   * copying the list: a new path from a source not yet there, room in the
   * block, one neighbour AS, a best in place. Compared with the best only.
   * Returns false (nothing changed) for anything else.
   */
  private appendToList(slot: number, key: PrefixKey, pl: number, st: PeerState, pathId: number, set: InternedAttrs, accepted: boolean): boolean {
    const lists = this.lists;
    const off = listOffset(pl);
    const a = lists.a;
    const hdr = a[off];
    const n = hdr & 0xffff;
    if ((hdr & MIXED) !== 0 || n >= lists.capacityOf(off)) return false;
    const reg = this.pathById;
    for (let j = 0; j < n; j++) {
      const p = reg[a[off + 1 + j] >>> 1]!;
      if (p.src === st && p.pathId === pathId) return false;
    }
    const b = reg[a[off + 1] >>> 1]!;
    if (!b.accepted || (accepted && set.neighbourAs !== b.attrs.neighbourAs)) return false;
    const path = st.pathFor(set, pathId, accepted);
    const wins = accepted && better(path, b);
    // A losing path can still join the ECMP route (mergePaths): then it is looked at too.
    const dirty = (this.addPathUp > 0 || this.mergePaths ? accepted : wins) && this.touch(slot, key, n, off);
    st.received++;
    if (accepted) {
      st.accepted++;
      this.pathCount++;
    }
    const e = this.ref(path);
    if (wins) {
      a[off + 1 + n] = a[off + 1];
      a[off + 1] = e;
    } else a[off + 1 + n] = e;
    a[off] = hdr + 1;
    if (dirty) this.table.setDirty(slot);
    return true;
  }

  /** Keep the Loc-RIB's prefix count after a change of `E[0, n)`. */
  private countBest(hadBest: boolean, n: number): void {
    const has = n > 0 && this.atE(0).accepted;
    if (has !== hadBest) this.prefixCount += has ? 1 : -1;
  }

  private withdrawOne(st: PeerState, key: PrefixKey, pathId: number): void {
    const slot = this.table.find(key);
    if (slot < 0) return; // RFC 4271: withdrawing an unknown route is not an error
    let n = this.load(slot);
    const i = this.indexOf(n, st, pathId);
    if (i < 0) {
      this.curOff = -1;
      return;
    }
    n = this.removeAt(slot, key, n, i, st);
    this.store(slot, key, n, false);
  }

  /** Index in `E[0, n)` of a path of `st` (a stale one when `staleOnly`), or -1. */
  private indexOfSource(n: number, st: PeerState, staleOnly: boolean): number {
    for (let i = 0; i < n; i++) if (this.atE(i).src === st && (!staleOnly || (this.E[i] & 1) === 1)) return i;
    return -1;
  }

  /** Remove element `i` of the loaded destination (from `st`); returns the new count. Marks dirty as needed. */
  private removeAt(slot: number, key: PrefixKey, n: number, i: number, st: PeerState): number {
    const E = this.E;
    const old = this.atE(i);
    const first = this.atE(0);
    const hadBest = first.accepted;
    const pre = this.addPathUp > 0;
    if (pre && old.accepted && this.touch(slot, key, n)) this.table.setDirty(slot);
    st.received--;
    if (old.accepted) {
      st.accepted--;
      this.pathCount--;
    }
    if (E[i] & 1 && --st.staleCount === 0) this.stopStale(st);
    this.unref(E[i]);
    n--;
    E[i] = E[n];
    // The last element moved into `i`; when `i` was the best, reselect sees REMOVE at 0.
    this.reselect(n, REMOVE, i, hadBest);
    if (!pre && this.markIfBestChanged(slot, key, n, hadBest ? first : undefined)) this.table.setDirty(slot);
    this.countBest(hadBest, n);
    return n;
  }

  /** Visit every destination holding a path of `st` (a walk of the table: session down, stale sweep). */
  private forEachOf(st: PeerState, fn: (slot: number, key: PrefixKey, n: number) => number): void {
    const t = this.table;
    const reg = this.pathById;
    for (let s = 0; s < t.capacity && st.received > 0; s++) {
      if (!t.live(s)) continue;
      // Look in place first: most destinations hold nothing of `st`.
      const pl = t.payload(s);
      let mine = false;
      if (pl < LIST_FLAG) mine = pl !== 0 && reg[pl >>> 1]!.src === st;
      else {
        const off = listOffset(pl);
        const a = this.lists.a;
        for (let i = 0, n = this.lists.count(off); i < n && !mine; i++) if (reg[a[off + 1 + i] >>> 1]!.src === st) mine = true;
      }
      if (!mine) continue;
      const key = t.keyAt(s);
      this.store(s, key, fn(s, key, this.load(s)), false);
    }
  }

  /** Remove every path of a peer (session down without graceful restart, or peer removed). */
  private dropAll(st: PeerState): void {
    this.stopStale(st);
    this.forEachOf(st, (slot, key, n) => {
      // Re-find after each removal: re-selection reorders the elements.
      for (let i = this.indexOfSource(n, st, false); i >= 0; i = this.indexOfSource(n, st, false)) n = this.removeAt(slot, key, n, i, st);
      return n;
    });
    st.staleCount = 0;
  }

  /** RFC 4724 §4.2: a graceful down keeps the peer's paths, each marked stale. */
  private markStale(st: PeerState): void {
    this.forEachOf(st, (_slot, _key, n) => {
      const E = this.E;
      for (let i = 0; i < n; i++) {
        if (this.atE(i).src === st && (E[i] & 1) === 0) {
          E[i] |= 1;
          st.staleCount++;
        }
      }
      return n;
    });
  }

  private dropStale(st: PeerState): void {
    this.stopStale(st);
    if (st.staleCount === 0) return;
    this.forEachOf(st, (slot, key, n) => {
      for (let i = this.indexOfSource(n, st, true); i >= 0; i = this.indexOfSource(n, st, true)) n = this.removeAt(slot, key, n, i, st);
      return n;
    });
    st.staleCount = 0;
  }

  private armStaleTimer(st: PeerState): void {
    st.cancelStaleTimer?.();
    st.cancelStaleTimer = this.schedule(st.restartTime * 1000, () => {
      st.cancelStaleTimer = null;
      if (st.staleCount === 0) return;
      this.dropStale(st);
      this.flush();
    });
  }

  private stopStale(st: PeerState): void {
    st.cancelStaleTimer?.();
    st.cancelStaleTimer = null;
  }
}

// ------------------------------------------------------------------ helpers

/** `to` is the source of one of `paths` (split horizon: its ADD-PATH diff is its own). */
function isSourceOf(to: PeerState, paths: readonly Path[]): boolean {
  for (let i = 0; i < paths.length; i++) if (paths[i].src === to) return true;
  return false;
}

/** Equal exports: the same interned set, or an equal one interned again after the first was let go. */
function sameSet(a: AttrSet | null, b: AttrSet | null): boolean {
  return a === b || (a !== null && b !== null && (a as InternedAttrs).internKey === (b as InternedAttrs).internKey);
}

/** The same filters in the same order (they are small: compared by value, as the datastore hands new objects). */
function sameFilters(a: readonly BgpFilter[], b: readonly BgpFilter[]): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** Net difference between two full Adj-RIB-Outs of one peer. */
function diffOut(before: OutChange[], after: OutChange[]): OutChange[] {
  const id = (c: OutChange): string => `${c.key}/${c.pathId}`;
  const a = new Map(after.map((c) => [id(c), c]));
  const out: OutChange[] = [];
  for (const b of before) {
    const x = a.get(id(b));
    if (x === undefined) out.push({ key: b.key, pathId: b.pathId, attrs: null });
    else if (x.attrs !== b.attrs) out.push(x);
    a.delete(id(b));
  }
  for (const x of a.values()) out.push(x);
  return out;
}

/** IPv6 prefixes as received ("fd00:245::/122") -> interned ids (host bits cleared, as BIRD does). */

