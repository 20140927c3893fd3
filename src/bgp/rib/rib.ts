/**
 * The routing core: Adj-RIB-In per peer -> import -> Loc-RIB (best path) ->
 * Adj-RIB-Out per peer (RFC 4271 §3.2, §9), with the iBGP and route
 * reflection rules of `propagation.ts` and RFC 4724 stale handling.
 *
 * Pure: no sockets, no timers of its own (a scheduler is injected for the
 * graceful-restart timeout). Sessions feed it decoded UPDATEs; it hands back
 * per-peer `OutChange`s and best-path changes for the kernel programmer.
 *
 * Cost model (DESIGN.md "Where the speed comes from"):
 * - An UPDATE is interned once; each of its prefixes costs a few Map
 *   operations and one small `Path` object.
 * - Touched prefixes are remembered with their Loc-RIB entry as it was before
 *   the first touch since the last `flush()`; `flush()` compares old and new
 *   for those prefixes only, so several changes in one event-loop turn
 *   collapse into one OutChange per peer (or none).
 * - Adj-RIB-Out is not stored: what a peer holds is a pure function of the
 *   Loc-RIB entry and the peer's export profile (as BIRD does without an
 *   export table). Export results are cached per attribute set, so a prefix
 *   costs one cache lookup per up peer, and peers with equal exports share
 *   one OutChange object.
 */
import type { PathAttributes, UpdateMessage } from '../codec/types.js';
import type { AttrSet, OutChange } from '../route.js';
import { parseIpv4, type PrefixKey } from '../prefix.js';
import { AttrTable, type InternedAttrs } from './attr-set.js';
import { bestIndex, bestPath } from './best-path.js';
import { Path, PeerState, type RibPeer } from './path.js';
import { PrefixMap } from './prefix-map.js';
import { exportAttributes, importRejection, type LocalSpeaker } from './propagation.js';

export type { RibPeer } from './path.js';

/** A Loc-RIB entry: one path, or several with the best first. */
type Entry = Path | Path[];

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

/** Marks "no entry before" in the dirty map (undefined means "not dirty"). */
const NONE: Path[] = [];

export class Rib {
  readonly me: LocalSpeaker;
  private readonly attrTable = new AttrTable();
  private readonly peers = new Map<string, PeerState>();
  private readonly local: PeerState;
  /** Up peers, in a dense array for the flush loop. */
  private upPeers: PeerState[] = [];
  private readonly loc = new PrefixMap<Entry>();
  /** Loc-RIB entries as they were before the first change since the last flush, and the order they were touched in. */
  private readonly dirty = new PrefixMap<Entry>();
  private dirtyKeys: PrefixKey[] = [];
  private pathCount = 0;
  private nextPeerIndex = 1;
  private readonly profiles = new Map<string, number>();
  /** Bumped when something export results depend on changes (a source's router id); caches check it. */
  private exportEpoch = 0;
  private readonly schedule: (ms: number, fn: () => void) => () => void;
  private readonly now: () => number;
  private readonly requestFlush?: (flush: () => void) => void;
  private flushRequested = false;
  private readonly outListeners: ((peer: string, changes: OutChange[]) => void)[] = [];
  /** Which learned prefixes may be passed on to peers (our own routes are always offered). */
  private exportAllowed: (key: PrefixKey) => boolean = () => true;
  private readonly bestListeners: ((changes: BestPathChange[]) => void)[] = [];

  constructor(opts: RibOptions) {
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
    this.local = new PeerState('', 0, true);
    this.local.address = opts.localAddress;
    this.local.addressNum = parseIpv4(opts.localAddress);
    this.local.asNumber = opts.localAs;
    this.local.routerId = opts.routerId;
    this.local.routerIdNum = parseIpv4(opts.routerId);
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
    st.profile = this.profileOf(st);
    this.peers.set(p.name, st);
  }

  /**
   * Change a peer's settings. Export changes (rrClient, keepOriginalNextHop)
   * take effect at once: every up peer gets the difference (a peer turning
   * into a route-reflector client changes where its own routes go, too).
   * Nothing is done when nothing that matters to the RIB changed. A change
   * of AS changes the session type; the owner resets the session for that.
   */
  updatePeer(p: RibPeer): void {
    const st = this.peer(p.name);
    if (
      st.address === p.address &&
      st.asNumber === p.asNumber &&
      st.rrClient === p.rrClient &&
      st.keepOriginalNextHop === p.keepOriginalNextHop &&
      st.addPathSendConfigured === p.addPathSend
    ) {
      return;
    }
    this.flush();
    const up = this.upPeers;
    const before = up.map((to) => this.fullExport(to));
    st.configure(p, this.me.localAs);
    st.profile = this.profileOf(st);
    this.exportEpoch++; // cached exports of this peer's routes followed the old rules
    up.forEach((to, i) => {
      const after = this.fullExport(to);
      const changes = diffOut(before[i], after);
      to.advertised = after.length;
      if (changes.length > 0) for (const fn of this.outListeners) fn(to.name, changes);
    });
  }

  /**
   * Export filter for learned routes. calico-node's BIRD exports to its peers
   * only prefixes inside its IP pools (confd's `calico_export_to_bgp_peers`:
   * `if (net ~ <pool>) then accept; reject;`), so a default route learned from
   * a ToR does not leak into the mesh. Every up peer gets the difference.
   */
  setExportFilter(allowed: (key: PrefixKey) => boolean): void {
    this.flush();
    const up = this.upPeers;
    const before = up.map((to) => this.fullExport(to));
    this.exportAllowed = allowed;
    up.forEach((to, i) => {
      const after = this.fullExport(to);
      const changes = diffOut(before[i], after);
      to.advertised = after.length;
      if (changes.length > 0) for (const fn of this.outListeners) fn(to.name, changes);
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
      st.routerId = info.remoteRouterId;
      st.routerIdNum = parseIpv4(info.remoteRouterId);
      this.exportEpoch++; // ORIGINATOR_ID of reflected routes from this peer
    }
    st.addPathSend = info.addPathSend;
    st.addPathReceive = info.addPathReceive;
    this.setUp(st, true);
    // RFC 4724 §4.2: the peer is back; its stale paths wait for End-of-RIB,
    // bounded by the restart time again.
    if (st.stale !== null) this.armStaleTimer(st);
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
    if (st.stale === null) st.stale = st.adjIn;
    else for (const [k, v] of st.adjIn) mergeInto(st.stale, k, v);
    st.adjIn = new PrefixMap();
    st.restartTime = opts.restartTime;
    if (st.stale.size === 0) st.stale = null;
    else this.armStaleTimer(st);
  }

  /** End-of-RIB from the peer (RFC 4724 §2): what is still stale was not re-announced. */
  endOfRib(name: string): void {
    const st = this.peer(name);
    if (st.stale !== null) this.dropStale(st);
  }

  // ------------------------------------------------------------------ updates

  /** Apply one decoded UPDATE from `name`. Costs in proportion to its prefixes. */
  applyUpdate(name: string, update: UpdateMessage): void {
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
   * Our own routes (Calico blocks to export), diffed against the previous
   * call: ORIGIN IGP, empty AS_PATH, LOCAL_PREF 100, NEXT_HOP = localAddress.
   */
  setLocalRoutes(routes: Map<PrefixKey, LocalRoute>): void {
    const st = this.local;
    for (const key of st.adjIn.keyList()) if (!routes.has(key)) this.withdrawOne(st, key, 0);
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
    this.dirtyKeys = [];
    const snaps: Entry[] = new Array(dirtyKeys.length);
    this.dirty.takeAll(dirtyKeys, snaps);
    const peers = this.upPeers;
    const outs: OutChange[][] = peers.map(() => []);
    const best: BestPathChange[] | null = this.bestListeners.length > 0 ? [] : null;
    let memoOld: Path | undefined | null = null;
    let memoNew: Path | undefined | null = null;
    const oldEx: (InternedAttrs | null)[] = new Array(peers.length).fill(null);
    const newEx: (InternedAttrs | null)[] = new Array(peers.length).fill(null);
    // No peer's export differs between memoOld and memoNew (e.g. plain iBGP: an
    // iBGP-learned path goes to no iBGP peer), so the per-peer loop has nothing
    // to do unless an ADD-PATH peer needs its own diff.
    let anyAddPath = false;
    for (const to of peers) if (to.addPathSend) anyAddPath = true;
    let exportsEqual = true;
    for (let d = 0; d < dirtyKeys.length; d++) {
      const key = dirtyKeys[d];
      const snap = snaps[d];
      const old = snap === NONE ? undefined : snap;
      const cur = this.loc.get(key);
      if (old === cur) continue;
      const oldBest = old === undefined ? undefined : old instanceof Path ? old : old[0];
      const newBest = cur === undefined ? undefined : cur instanceof Path ? cur : cur[0];
      if (best !== null && oldBest !== newBest && !(oldBest && newBest && oldBest.attrs === newBest.attrs && oldBest.src === newBest.src)) {
        best.push({
          key,
          best: newBest
            ? { nextHop: newBest.src.local ? this.me.localAddress : newBest.attrs.nextHop, peer: newBest.src.local ? null : newBest.src.name, attrs: newBest.attrs }
            : null,
        });
      }
      // Consecutive prefixes mostly share their Path objects: export each once per flush run.
      if (oldBest !== memoOld || newBest !== memoNew) {
        if (oldBest !== memoOld) {
          memoOld = oldBest;
          for (let i = 0; i < peers.length; i++) oldEx[i] = oldBest === undefined ? null : this.exportOf(oldBest, peers[i]);
        }
        if (newBest !== memoNew) {
          memoNew = newBest;
          for (let i = 0; i < peers.length; i++) newEx[i] = newBest === undefined ? null : this.exportOf(newBest, peers[i]);
        }
        exportsEqual = true;
        for (let i = 0; i < peers.length; i++) {
          const a = oldEx[i];
          const b = newEx[i];
          if (!(a === b || (a !== null && b !== null && a.internKey === b.internKey))) exportsEqual = false;
        }
      }
      if (exportsEqual && !anyAddPath) continue;
      // One OutChange object per distinct export for this prefix, shared by the peers that get it.
      let lastSet: InternedAttrs | null | undefined;
      let lastChange: OutChange | undefined;
      for (let i = 0; i < peers.length; i++) {
        const to = peers[i];
        if (to.addPathSend) {
          this.diffAddPath(to, key, old, cur, outs[i]);
          continue;
        }
        const a = oldEx[i];
        const b = newEx[i];
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
    for (let i = 0; i < peers.length; i++) {
      if (outs[i].length === 0) continue;
      for (const fn of this.outListeners) fn(peers[i].name, outs[i]);
    }
    if (best !== null && best.length > 0) for (const fn of this.bestListeners) fn(best);
  }

  // ------------------------------------------------------------------ queries

  counters(name: string): PeerCounters {
    const st = this.peer(name);
    return { received: st.received, accepted: st.accepted, advertised: st.advertised };
  }

  /** Prefixes in the Loc-RIB. */
  size(): number {
    return this.loc.size;
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
    for (const [key] of this.loc) yield key;
  }

  /** Every path for `key` (accepted ones, from the Loc-RIB), the best, and the step that chose it. */
  lookup(key: PrefixKey): LookupResult {
    const e = this.loc.get(key);
    const paths = e === undefined ? [] : e instanceof Path ? [e] : e;
    const r = bestPath(paths);
    const views = paths.map((p) => this.view(key, p, p === r.best));
    return { paths: views, best: r.best ? views[paths.indexOf(r.best)] : null, reason: r.reason };
  }

  /** The peer's Adj-RIB-In as received (rejected and stale paths included). */
  *received(name: string): Generator<{ key: PrefixKey; pathId: number; attrs: AttrSet; accepted: boolean; stale: boolean }> {
    const st = this.peer(name);
    for (const [m, stale] of [[st.adjIn, false], [st.stale, true]] as const) {
      if (m === null) continue;
      for (const [key, v] of m) {
        for (const p of v instanceof Path ? [v] : v) yield { key, pathId: p.pathId, attrs: p.attrs, accepted: p.accepted, stale };
      }
    }
  }

  /** The peer's Adj-RIB-Out, computed from the Loc-RIB (nothing while the peer is down). */
  *advertised(name: string): Generator<OutChange> {
    const st = this.peer(name);
    if (!st.up) return;
    const out: OutChange[] = [];
    for (const [key, e] of this.loc) {
      out.length = 0;
      this.exportEntry(st, key, e, out);
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
    const key = st.ibgp ? `i${st.rrClient ? 'c' : ''}` : `e${st.asNumber}${st.keepOriginalNextHop ? 'k' : ''}`;
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
  }

  private view(key: PrefixKey, p: Path, best: boolean): PathView {
    const s = p.src.stale?.get(key);
    const stale = s !== undefined && (s === p || (Array.isArray(s) && s.includes(p)));
    return { peer: p.src.local ? null : p.src.name, pathId: p.pathId, attrs: p.attrs, best, stale };
  }

  /** What `to` gets for path `p`: an interned export, or null. Cached per (attrs, source, to's profile). */
  private exportOf(p: Path, to: PeerState): InternedAttrs | null {
    const src = p.src;
    if (src === to) return null; // never back to where it came from
    const set = p.attrs;
    let cache = set.exports;
    if (set.refs === 0) {
      // The path is gone (a flush asking what it was exported as): answer without caching.
      const hit = cache?.get(to.profile * 1048576 + src.index);
      if (hit !== undefined) return hit;
      const attrs = exportAttributes(set, src, to, this.me);
      return attrs === null ? null : attrs === set.attrs ? set : this.attrTable.peek(attrs);
    }
    if (cache === null || set.exportsEpoch !== this.exportEpoch) {
      if (cache !== null) for (const out of cache.values()) if (out !== null) this.attrTable.release(out);
      cache = set.exports = new Map();
      set.exportsEpoch = this.exportEpoch;
    }
    const ck = to.profile * 1048576 + src.index;
    const hit = cache.get(ck);
    if (hit !== undefined) return hit;
    const attrs = exportAttributes(set, src, to, this.me);
    const out = attrs === null ? null : attrs === set.attrs ? set : this.attrTable.intern(attrs);
    if (out !== null) this.attrTable.retain(out);
    cache.set(ck, out);
    return out;
  }

  /** Append `to`'s Adj-RIB-Out for one Loc-RIB entry. */
  private exportEntry(to: PeerState, key: PrefixKey, e: Entry, out: OutChange[]): void {
    // Learned routes pass the export filter; our own are always offered.
    const learnedOk = this.exportAllowed(key);
    if (e instanceof Path) {
      const x = e.src.local || learnedOk ? this.exportOf(e, to) : null;
      if (x !== null) out.push({ key, pathId: to.addPathSend ? e.outId : 0, attrs: x });
      return;
    }
    if (!to.addPathSend) {
      const x = e[0].src.local || learnedOk ? this.exportOf(e[0], to) : null;
      if (x !== null) out.push({ key, pathId: 0, attrs: x });
      return;
    }
    // RFC 7911 with Calico's `add paths on`: every path the rules allow, each under its own id.
    for (const p of e) {
      const x = p.src.local || learnedOk ? this.exportOf(p, to) : null;
      if (x !== null) out.push({ key, pathId: p.outId, attrs: x });
    }
  }

  private fullExport(to: PeerState): OutChange[] {
    const out: OutChange[] = [];
    if (to.ibgp && this.me.clusterId === undefined) {
      // Without reflection an iBGP peer can only be sent our own routes and
      // eBGP-learned ones (RFC 4271 §9.2): walk those sources' tables, not the
      // whole Loc-RIB, so each session of a mesh coming up costs O(own routes).
      const seen = new Set<PrefixKey>();
      const visit = (table: PrefixMap<Path | Path[]> | null): void =>
        table?.forEach((_, key) => {
          if (seen.has(key)) return;
          seen.add(key);
          const e = this.loc.get(key);
          if (e !== undefined) this.exportEntry(to, key, e, out);
        });
      visit(this.local.adjIn);
      for (const st of this.peers.values()) {
        if (st.ibgp) continue;
        visit(st.adjIn);
        visit(st.stale);
      }
      return out;
    }
    this.loc.forEach((e, key) => this.exportEntry(to, key, e, out));
    return out;
  }

  /** ADD-PATH send: compare the exported (path id -> attrs) of the old and new entry. */
  private diffAddPath(to: PeerState, key: PrefixKey, old: Entry | undefined, cur: Entry | undefined, out: OutChange[]): void {
    const before: OutChange[] = [];
    const after: OutChange[] = [];
    if (old !== undefined) this.exportEntry(to, key, old, before);
    if (cur !== undefined) this.exportEntry(to, key, cur, after);
    for (const b of before) {
      if (!after.some((x) => x.pathId === b.pathId)) {
        out.push({ key, pathId: b.pathId, attrs: null });
        to.advertised--;
      }
    }
    for (const x of after) {
      const b = before.find((y) => y.pathId === x.pathId);
      if (b === undefined) to.advertised++;
      if (b === undefined || !sameSet(b.attrs, x.attrs)) out.push(x);
    }
  }

  private markDirty(key: PrefixKey, cur: Entry | undefined): void {
    if (this.dirty.addIfAbsent(key, cur === undefined ? NONE : cur)) {
      this.dirtyKeys.push(key);
      if (this.requestFlush && !this.flushRequested) {
        this.flushRequested = true;
        this.requestFlush(() => this.flush());
      }
    }
  }

  private announceList(st: PeerState, keys: number[], pathIds: number[] | null, set: InternedAttrs, accepted: boolean): void {
    const n = keys.length;
    if (pathIds === null) for (let i = 0; i < n; i++) this.announceOne(st, keys[i], 0, set, accepted);
    else for (let i = 0; i < n; i++) this.announceOne(st, keys[i], pathIds[i], set, accepted);
  }

  private withdrawList(st: PeerState, keys: number[], pathIds: number[] | null): void {
    const n = keys.length;
    if (pathIds === null) for (let i = 0; i < n; i++) this.withdrawOne(st, keys[i], 0);
    else for (let i = 0; i < n; i++) this.withdrawOne(st, keys[i], pathIds[i]);
  }

  /** The hot path: one prefix of an UPDATE. */
  private announceOne(st: PeerState, key: PrefixKey, pathId: number, set: InternedAttrs, accepted: boolean): void {
    const adj = st.adjIn;
    const cur = adj.get(key);
    let old: Path | undefined;
    if (cur !== undefined) {
      old = cur instanceof Path ? (cur.pathId === pathId ? cur : undefined) : cur.find((p) => p.pathId === pathId);
      if (old !== undefined) {
        if (old.attrs === set) return; // duplicate announcement
        if (cur instanceof Path) adj.set(key, this.placePath(st, key, pathId, old, set, accepted));
        else cur[cur.indexOf(old)] = this.placePath(st, key, pathId, old, set, accepted);
        return;
      }
    }
    if (st.stale !== null) {
      // RFC 4724 §4.2: a stale path announced again is fresh again.
      old = takeFrom(st.stale, key, pathId);
      if (old !== undefined) {
        if (st.stale.size === 0) this.stopStale(st);
        putInto(adj, key, old.attrs === set ? old : this.placePath(st, key, pathId, old, set, accepted));
        return;
      }
    }
    const path = this.placePath(st, key, pathId, undefined, set, accepted);
    if (cur === undefined) adj.set(key, path);
    else putInto(adj, key, path);
  }

  /**
   * Make the path for (key, pathId) with `set`, replacing `old` (already out
   * of, or about to be overwritten in, the Adj-RIB-In by the caller), and
   * carry the change into the Loc-RIB and the counters.
   */
  private placePath(
    st: PeerState,
    key: PrefixKey,
    pathId: number,
    old: Path | undefined,
    set: InternedAttrs,
    accepted: boolean,
  ): Path {
    const path = st.pathFor(set, pathId, accepted);
    this.attrTable.retain(set);
    if (old === undefined) st.received++;
    st.accepted += (accepted ? 1 : 0) - (old !== undefined && old.accepted ? 1 : 0);
    if (old !== undefined && old.accepted) {
      if (accepted) this.locReplace(key, old, path);
      else this.locRemove(key, old);
    } else if (accepted) this.locAdd(key, path);
    if (old !== undefined) this.attrTable.release(old.attrs);
    return path;
  }

  private withdrawOne(st: PeerState, key: PrefixKey, pathId: number): void {
    let old = takeFrom(st.adjIn, key, pathId);
    if (old === undefined && st.stale !== null) {
      old = takeFrom(st.stale, key, pathId);
      if (st.stale.size === 0) this.stopStale(st);
    }
    if (old === undefined) return; // RFC 4271: withdrawing an unknown route is not an error
    this.removePath(st, key, old);
  }

  private removePath(st: PeerState, key: PrefixKey, old: Path): void {
    st.received--;
    if (old.accepted) {
      st.accepted--;
      this.locRemove(key, old);
    }
    this.attrTable.release(old.attrs);
  }

  private locAdd(key: PrefixKey, path: Path): void {
    const cur = this.loc.get(key);
    this.markDirty(key, cur);
    this.pathCount++;
    if (cur === undefined) this.loc.set(key, path);
    else if (cur instanceof Path) this.loc.set(key, bestIndex([cur, path]) === 0 ? [cur, path] : [path, cur]);
    else this.loc.set(key, bestFirst([...cur, path]));
  }

  private locReplace(key: PrefixKey, old: Path, path: Path): void {
    const cur = this.loc.get(key);
    this.markDirty(key, cur);
    if (cur === old) this.loc.set(key, path);
    else if (Array.isArray(cur)) this.loc.set(key, bestFirst(cur.map((p) => (p === old ? path : p))));
  }

  private locRemove(key: PrefixKey, old: Path): void {
    const cur = this.loc.get(key);
    this.markDirty(key, cur);
    this.pathCount--;
    if (cur === old) this.loc.delete(key);
    else if (Array.isArray(cur)) {
      const rest = cur.filter((p) => p !== old);
      this.loc.set(key, rest.length === 1 ? rest[0] : bestFirst(rest));
    }
  }

  /** Remove every path of a peer (session down without graceful restart, or peer removed). */
  private dropAll(st: PeerState): void {
    this.stopStale(st);
    const tables = [st.adjIn, st.stale];
    st.adjIn = new PrefixMap();
    st.stale = null;
    for (const m of tables) {
      if (m === null) continue;
      for (const [key, v] of m) {
        if (v instanceof Path) this.removePath(st, key, v);
        else for (const p of v) this.removePath(st, key, p);
      }
    }
  }

  private armStaleTimer(st: PeerState): void {
    st.cancelStaleTimer?.();
    st.cancelStaleTimer = this.schedule(st.restartTime * 1000, () => {
      st.cancelStaleTimer = null;
      if (st.stale === null) return;
      this.dropStale(st);
      this.flush();
    });
  }

  private stopStale(st: PeerState): void {
    st.cancelStaleTimer?.();
    st.cancelStaleTimer = null;
    if (st.stale !== null && st.stale.size === 0) st.stale = null;
  }

  private dropStale(st: PeerState): void {
    const stale = st.stale;
    st.stale = null;
    this.stopStale(st);
    if (stale === null) return;
    for (const [key, v] of stale) {
      if (v instanceof Path) this.removePath(st, key, v);
      else for (const p of v) this.removePath(st, key, p);
    }
  }
}

// ------------------------------------------------------------------ helpers

/** Equal exports: the same interned set, or an equal one interned again after the first was let go. */
function sameSet(a: AttrSet | null, b: AttrSet | null): boolean {
  return a === b || (a !== null && b !== null && (a as InternedAttrs).internKey === (b as InternedAttrs).internKey);
}

function bestFirst(paths: Path[]): Path[] {
  const i = bestIndex(paths);
  if (i !== 0) {
    const b = paths[i];
    paths[i] = paths[0];
    paths[0] = b;
  }
  return paths;
}

/** Remove and return the path with `pathId` for `key` from an Adj-RIB-In table. */
function takeFrom(m: PrefixMap<Path | Path[]>, key: PrefixKey, pathId: number): Path | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  if (v instanceof Path) {
    if (v.pathId !== pathId) return undefined;
    m.delete(key);
    return v;
  }
  const i = v.findIndex((p) => p.pathId === pathId);
  if (i < 0) return undefined;
  const p = v[i];
  v.splice(i, 1);
  if (v.length === 1) m.set(key, v[0]);
  return p;
}

/** Add a path for `key` (its path id not yet present) to an Adj-RIB-In table. */
function putInto(m: PrefixMap<Path | Path[]>, key: PrefixKey, p: Path): void {
  const v = m.get(key);
  if (v === undefined) m.set(key, p);
  else if (v instanceof Path) m.set(key, [v, p]);
  else v.push(p);
}

function mergeInto(m: PrefixMap<Path | Path[]>, key: PrefixKey, v: Path | Path[]): void {
  if (v instanceof Path) putInto(m, key, v);
  else for (const p of v) putInto(m, key, p);
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
