/**
 * The datastore component: etcd -> validated resource cache -> desired state
 * -> diffs for the agent (docs/ARCHITECTURE.md, "Data flow").
 *
 * Per event only the sections an event touches are recomputed: an affinity
 * write for another host costs a map update; one for this host recomputes
 * this host's blocks; a Node or BGPPeer change recomputes the peer set (linear
 * in nodes). Unchanged sections keep their Map by reference, so the diff
 * skips them. A diff is emitted only when something changed.
 */
import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { ResourceCache, type KvChange, type SkippedResource } from './cache.js';
import type { DesiredState, DesiredStateDiff } from './desired.js';
import {
  computeBgpSettings,
  computeBlocks,
  computeIdentity,
  computePeers,
  computePools,
  diffDesired,
  isEmptyDiff,
  sameRecord,
  type DesiredOverrides,
  type DesiredProblem,
} from './desired-state.js';
import { computeBlocks6, computePools6 } from './desired-state6.js';
import { createEtcdClient, type EtcdConfig } from './etcd-config.js';
import { affinityPrefix, IPAM_PREFIX, RESOURCES_PREFIX } from './keys.js';
import { registerNode, type NodeRegistration } from './registration.js';
import { DatastoreSyncer, silentLogger, type ListedKv, type Logger, type SyncStatus } from './syncer.js';
import { systemClock, type Clock } from '../clock.js';

export interface DatastoreOptions {
  /** An etcd3 client (the Datastore does not close it) or a config to build one from. */
  client?: Etcd3;
  etcd?: EtcdConfig;
  nodeName: string;
  overrides?: DesiredOverrides;
  clock?: Clock;
  logger?: Logger;
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Which IPAM keys to read. 'own-affinities' (default): only
   * /calico/ipam/v2/host/<this node>/, as confd does (it never reads block
   * values or other hosts' affinities); 'all': every key under
   * /calico/ipam/v2/ (blocks and all affinities are cached and validated too).
   */
  ipam?: 'own-affinities' | 'all';
  /** Test seam, passed to the syncer (see SyncerOptions.beforeWatch). */
  beforeWatch?: (revision: number) => Promise<void>;
}

export interface DatastoreStatus {
  connected: boolean;
  /** When `connected` last changed (ms since epoch): "datastore disconnected since <time>". */
  since: number;
  synced: boolean;
  revision: number;
  lastError?: string;
  /** Resources skipped as invalid (the last good version of each, if any, stays in force). */
  skipped: SkippedResource[];
  /** Things the desired state could not honour (missing own node, secret passwords, ...). */
  problems: DesiredProblem[];
  /** "datastore disconnected since 2024-01-01T00:00:00.000Z" or "datastore connected". */
  summary: string;
  /** The etcd member answering (syncer.ts SyncStatus.member): which of several ETCD_ENDPOINTS is in use. */
  member?: SyncStatus['member'];
}

interface Dirty {
  identity: boolean;
  bgp: boolean;
  peers: boolean;
  blocks: boolean;
  pools: boolean;
}

export declare interface Datastore {
  on(event: 'diff', listener: (diff: DesiredStateDiff, state: DesiredState) => void): this;
  on(event: 'status', listener: (status: DatastoreStatus) => void): this;
}

export class Datastore extends EventEmitter {
  readonly cache = new ResourceCache();
  private readonly client: Etcd3;
  private readonly ownsClient: boolean;
  private readonly nodeName: string;
  private readonly overrides: DesiredOverrides;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly syncer: DatastoreSyncer;
  private state?: DesiredState;
  private identityProblem?: DesiredProblem;
  private peerProblems: DesiredProblem[] = [];
  /** IPv6 pools used other than as written (ipipMode on an IPv6 pool). */
  private poolProblems: DesiredProblem[] = [];
  /** BGPConfiguration entries left out (communities, prefixAdvertisements). */
  private bgpProblems: DesiredProblem[] = [];
  private firstSync?: () => void;
  /** performance.now() when the batch being applied arrived (for 'diff' listeners measuring our own cost). */
  batchStartedAt = 0;
  /** Time spent applying the last batch of etcd changes and emitting its diff (ms). */
  lastApplyMs = 0;

  constructor(opts: DatastoreOptions) {
    super();
    if (!opts.client && !opts.etcd) throw new Error('Datastore needs a client or an etcd config');
    this.client = opts.client ?? createEtcdClient(opts.etcd!);
    this.ownsClient = !opts.client;
    this.nodeName = opts.nodeName;
    this.overrides = opts.overrides ?? {};
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.syncer = new DatastoreSyncer({
      client: this.client,
      clock: this.clock,
      logger: this.log,
      backoff: opts.backoff,
      prefixes: opts.ipam === 'all' ? [IPAM_PREFIX, RESOURCES_PREFIX] : [affinityPrefix(opts.nodeName), RESOURCES_PREFIX],
      beforeWatch: opts.beforeWatch,
      sink: {
        onList: (listed, rev) => this.onList(listed, rev),
        onEvents: (changes) => this.applyChanges(changes),
        onStatus: () => this.emit('status', this.status()),
      },
    });
  }

  /** Starts syncing; resolves once the first full list has been applied. */
  start(): Promise<void> {
    const p = new Promise<void>((resolve) => (this.firstSync = resolve));
    this.syncer.start();
    return p;
  }

  async stop(): Promise<void> {
    await this.syncer.stop();
    if (this.ownsClient) this.client.close();
  }

  current(): DesiredState | undefined {
    return this.state;
  }

  status(): DatastoreStatus {
    const s: SyncStatus = this.syncer.status();
    const problems = [...(this.identityProblem ? [this.identityProblem] : []), ...this.bgpProblems, ...this.peerProblems, ...this.poolProblems];
    const out: DatastoreStatus = {
      connected: s.connected,
      since: s.since,
      synced: s.synced,
      revision: s.revision,
      skipped: [...this.cache.skipped.values()],
      problems,
      summary: s.connected ? 'datastore connected' : `datastore disconnected since ${new Date(s.since).toISOString()}`,
    };
    if (s.lastError !== undefined) out.lastError = s.lastError;
    if (s.member) out.member = s.member;
    return out;
  }

  /** Create or update this node's Node resource (see registration.ts). */
  registerNode(reg: Omit<NodeRegistration, 'name'> & { name?: string }): Promise<{ created: boolean; changed: boolean; revision: number }> {
    return registerNode(this.client, { ...reg, name: reg.name ?? this.nodeName });
  }

  private onList(listed: Map<string, ListedKv>, _revision: number): void {
    const changes = this.cache.differenceFrom(listed);
    this.log.info({ keys: listed.size, changes: changes.length }, 'datastore listed');
    this.applyChanges(changes, !this.state);
    if (this.firstSync) {
      const f = this.firstSync;
      this.firstSync = undefined;
      f();
    }
  }

  /** Apply etcd changes to the cache, recompute touched sections, emit a diff if anything changed. */
  applyChanges(changes: KvChange[], forceAll = false): void {
    const t0 = performance.now();
    this.batchStartedAt = t0;
    try {
      this.applyChangesNow(changes, forceAll);
    } finally {
      this.lastApplyMs = performance.now() - t0;
    }
  }

  private applyChangesNow(changes: KvChange[], forceAll: boolean): void {
    const dirty: Dirty = { identity: forceAll, bgp: forceAll, peers: forceAll, blocks: forceAll, pools: forceAll };
    const skippedBefore = this.cache.skipped.size;
    for (const c of changes) {
      const t = this.cache.apply(c);
      if (!t) {
        const s = this.cache.skipped.get(c.key);
        if (s) this.log.warn({ key: c.key, err: s.error }, 'skipping invalid resource');
        continue;
      }
      switch (t.kind) {
        case 'Node':
          dirty.peers = true;
          if (t.name === this.nodeName) dirty.identity = true;
          break;
        case 'BGPConfiguration':
          dirty.identity = dirty.bgp = dirty.peers = true;
          break;
        case 'BGPPeer':
        case 'BGPFilter': // peers carry their resolved filters
          dirty.peers = true;
          break;
        case 'IPPool':
          dirty.pools = dirty.blocks = true;
          break;
        case 'BlockAffinity':
          if (t.node === this.nodeName) dirty.blocks = true;
          break;
        case 'IPAMBlock':
          break; // confd never reads block values for export
      }
    }
    this.recompute(dirty);
    if (this.cache.skipped.size !== skippedBefore) this.emit('status', this.status());
  }

  private recompute(dirty: Dirty): void {
    if (!dirty.identity && !dirty.bgp && !dirty.peers && !dirty.blocks && !dirty.pools) return;
    const prev = this.state;
    let node = prev?.node;
    if (dirty.identity || !prev) {
      const id = computeIdentity(this.cache, this.nodeName, this.overrides);
      if ('ipv4' in id) {
        this.identityProblem = undefined;
        node = id;
      } else {
        // Keep the last known identity (and everything built on it) rather than tear sessions down.
        this.identityProblem = id;
        if (!prev) return;
        this.log.warn({ key: id.key, err: id.message }, 'own node unusable; keeping last desired state');
      }
    }
    if (!node) return;
    const idChanged = !prev || !sameRecord(prev.node, node);
    let bgp = prev?.bgp;
    if (dirty.bgp || !bgp) {
      const problems: DesiredProblem[] = [];
      bgp = computeBgpSettings(this.cache, this.nodeName, problems);
      this.bgpProblems = problems;
    }
    const bgpChanged = !prev || !sameRecord(prev.bgp, bgp);
    let peers = prev?.peers;
    if (!peers || dirty.peers || idChanged || bgpChanged) {
      const problems: DesiredProblem[] = [];
      peers = computePeers(this.cache, node, bgp, this.overrides, problems);
      this.peerProblems = problems;
    }
    const blocks = !prev || dirty.blocks ? computeBlocks(this.cache, this.nodeName) : prev.blocks;
    const pools = !prev || dirty.pools ? computePools(this.cache) : prev.pools;
    // IPv6 (issue 19): the same sections, in maps of their own (src/contracts.ts DesiredState).
    // Without an IPv6 address calico-node runs no bird6: no IPv6 blocks of ours then.
    const v6Changed = prev?.node.ipv6 !== node.ipv6;
    let blocks6 = prev?.blocks6;
    if (!blocks6 || dirty.blocks || v6Changed) blocks6 = node.ipv6 ? computeBlocks6(this.cache, this.nodeName) : new Map();
    let pools6 = prev?.pools6;
    if (!pools6 || dirty.pools) {
      const problems: DesiredProblem[] = [];
      pools6 = computePools6(this.cache, problems);
      this.poolProblems = problems;
    }
    const next: DesiredState = { node: idChanged ? node : prev!.node, bgp: bgpChanged ? bgp : prev!.bgp, peers, blocks, pools, blocks6, pools6 };
    const diff = diffDesired(prev, next);
    if (prev && isEmptyDiff(diff)) return;
    // Keep unchanged maps by reference so the next diff can skip them.
    if (prev) {
      if (!diff.peersAdded.length && !diff.peersChanged.length && !diff.peersRemoved.length) next.peers = prev.peers;
      if (!diff.blocksAdded.length && !diff.blocksChanged.length && !diff.blocksRemoved.length) next.blocks = prev.blocks;
      if (!diff.poolsChanged.length && !diff.poolsRemoved.length) next.pools = prev.pools;
      if (!diff.blocks6Added.length && !diff.blocks6Changed.length && !diff.blocks6Removed.length && prev.blocks6) next.blocks6 = prev.blocks6;
      if (!diff.pools6Changed.length && !diff.pools6Removed.length && prev.pools6) next.pools6 = prev.pools6;
    }
    this.state = next;
    this.emit('diff', diff, next);
  }
}
