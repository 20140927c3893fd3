/**
 * Keeps a sink in step with etcd: an initial list of Calico's resource and
 * IPAM prefixes at one revision (paged, pinned to that revision), then one
 * watch from revision+1 over the key range covering both prefixes.
 *
 * When the watch is lost (etcd gone, stream broken) or cancelled because its
 * revision was compacted ("mvcc: required revision has been compacted"), the
 * syncer lists again and hands the sink the whole listing; the sink keeps
 * per-key mod revisions and applies only the difference, so nothing is missed
 * or duplicated. During an outage the sink keeps its last state, the status
 * says "disconnected since", and listing is retried with exponential backoff
 * capped at 5 s (calico-node's syncer behaves the same way).
 *
 * The etcd3 library's own watch reconnection is not used: it resumes from the
 * create response's header revision, which can skip events that were still in
 * flight when the stream broke.
 */
import type { Etcd3, Watcher } from 'etcd3';
import { IPAM_PREFIX, RESOURCES_PREFIX } from './keys.js';
import type { KvChange } from './cache.js';
import { systemClock, type Clock } from '../clock.js';
import { silentLog, type Log } from '../log.js';

/** The agent's one logger interface (src/log.ts). */
export type Logger = Log;
export const silentLogger: Logger = silentLog;

export interface ListedKv {
  value: string;
  modRevision: number;
}

export interface SyncSink {
  /** A complete listing of both prefixes at `revision`. */
  onList(listed: Map<string, ListedKv>, revision: number): void;
  /** Watch events in revision order (one etcd watch response). */
  onEvents(changes: KvChange[], revision: number): void;
  /** Connection state changed. */
  onStatus?(status: SyncStatus): void;
}

export interface SyncStatus {
  connected: boolean;
  /** When `connected` last changed (ms since epoch). */
  since: number;
  /** A full list has been applied at least once. */
  synced: boolean;
  revision: number;
  lastError?: string;
  /** How many full lists (initial + re-lists) were done. */
  lists: number;
  /**
   * The etcd member serving the watch (the member_id in the header of its
   * create response), with its name and client URL from the member list:
   * with several ETCD_ENDPOINTS, which one the agent follows.
   */
  member?: EtcdMember;
}

export interface EtcdMember {
  /** etcd's member id (uint64, hex as etcdctl prints it). */
  id: string;
  name?: string;
  clientURL?: string;
}

export interface SyncerOptions {
  client: Etcd3;
  sink: SyncSink;
  clock?: Clock;
  logger?: Logger;
  backoff?: { initialMs: number; maxMs: number };
  pageSize?: number;
  prefixes?: string[];
  /**
   * Test seam: runs after each list, before its watch is created, with the
   * listed revision. Integration tests use it to write and compact while the
   * syncer is behind, so the watch meets a real "compacted" cancellation.
   */
  beforeWatch?: (revision: number) => Promise<void>;
}

/** The end of a prefix range: the prefix with its last byte incremented. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/**
 * gRPC's wording for an unreachable etcd is "14 UNAVAILABLE: No connection
 * established. Last error: Error: connect ECONNREFUSED 127.0.0.1:2379.
 * Resolution note: "; an operator wants the cause, not the transport's prose.
 */
export function etcdErrorWords(message: string): string {
  const last = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(message);
  if (/^14 UNAVAILABLE/.test(message)) return `etcd unreachable: ${last ? last[1] : message.replace(/^14 UNAVAILABLE: /, '')}`;
  if (/^4 DEADLINE_EXCEEDED/.test(message)) return 'etcd did not answer in time (deadline exceeded)';
  return message;
}

export function isCompactionError(err: unknown): boolean {
  return /compacted/i.test(String((err as Error)?.message ?? err));
}

export class DatastoreSyncer {
  private readonly client: Etcd3;
  private readonly sink: SyncSink;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly pageSize: number;
  private readonly prefixes: string[];
  private stopped = false;
  private watcher?: Watcher;
  private wake?: () => void;
  private running?: Promise<void>;
  private readonly st: SyncStatus;
  private readonly beforeWatch?: (revision: number) => Promise<void>;

  constructor(opts: SyncerOptions) {
    this.client = opts.client;
    this.sink = opts.sink;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger ?? silentLogger;
    this.backoff = opts.backoff ?? { initialMs: 100, maxMs: 5000 };
    this.pageSize = opts.pageSize ?? 5000;
    this.prefixes = opts.prefixes ?? [IPAM_PREFIX, RESOURCES_PREFIX];
    this.beforeWatch = opts.beforeWatch;
    this.st = { connected: false, since: this.clock.now(), synced: false, revision: 0, lists: 0 };
  }

  status(): SyncStatus {
    return { ...this.st, ...(this.st.member ? { member: { ...this.st.member } } : {}) };
  }

  /** Record which member answered; its name is looked up once per change of member. */
  private noteMember(memberId: string | undefined): void {
    if (!memberId || memberId === '0') return;
    const id = BigInt(memberId).toString(16);
    if (this.st.member?.id === id) return;
    const member: EtcdMember = { id };
    this.st.member = member;
    // Each call goes to a host of the library's choosing, possibly the dead
    // one that made us move: a few tries, then the id alone stands.
    const lookup = (tries: number): void => {
      this.client.cluster.memberList({}).then(
        (res) => {
          const m = res.members.find((x) => BigInt(x.ID).toString(16) === id);
          if (m && this.st.member === member) {
            member.name = m.name;
            member.clientURL = m.clientURLs[0];
            this.log.info({ member: m.name, id, url: member.clientURL }, 'datastore using etcd member');
          }
        },
        () => {
          if (tries > 1 && this.st.member === member && !this.stopped) this.clock.setTimer(200, () => lookup(tries - 1));
        },
      );
    };
    lookup(5);
  }

  start(): void {
    if (!this.running) this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.cancelWatch();
    await this.running?.catch(() => undefined);
  }

  private setConnected(connected: boolean, error?: string): void {
    if (error !== undefined) this.st.lastError = error;
    if (this.st.connected === connected) return;
    this.st.connected = connected;
    this.st.since = this.clock.now();
    if (connected) this.log.info({ revision: this.st.revision }, 'datastore connected');
    else this.log.warn({ err: error }, 'datastore disconnected');
    this.sink.onStatus?.(this.status());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const h = this.clock.setTimer(ms, () => {
        this.wake = undefined;
        resolve();
      });
      this.wake = () => {
        h.cancel();
        this.wake = undefined;
        resolve();
      };
    });
  }

  private async loop(): Promise<void> {
    let delay = this.backoff.initialMs;
    let cancels = 0;
    while (!this.stopped) {
      try {
        await this.list();
        this.setConnected(true);
        if (cancels <= 1) delay = this.backoff.initialMs;
        if (this.beforeWatch) await this.beforeWatch(this.st.revision);
        const end = await this.watch();
        if (this.stopped) return;
        if (end.compacted) {
          // Our revision is gone from etcd's history: list again right away,
          // unless watches keep being cancelled with nothing received (then back off).
          this.log.warn({ revision: this.st.revision, err: end.error }, 'watch cancelled; re-listing');
          this.st.lastError = end.error;
          cancels = end.receivedAny ? 0 : cancels + 1;
          if (cancels > 1) {
            await this.sleep(delay);
            delay = Math.min(delay * 2, this.backoff.maxMs);
          }
          continue;
        }
        cancels = 0;
        this.setConnected(false, end.error);
        if (!end.receivedAny) {
          await this.sleep(delay);
          delay = Math.min(delay * 2, this.backoff.maxMs);
        }
      } catch (err) {
        if (this.stopped) return;
        const msg = etcdErrorWords((err as Error).message ?? String(err));
        if (isCompactionError(err)) {
          this.st.lastError = msg; // compacted between list pages: just list again
          continue;
        }
        this.setConnected(false, msg);
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.backoff.maxMs);
      }
    }
  }

  /** Paged list of every prefix at one revision. */
  private async list(): Promise<void> {
    const listed = new Map<string, ListedKv>();
    let revision: number | undefined;
    for (const prefix of this.prefixes) {
      const end = prefixEnd(prefix);
      let start = prefix;
      for (;;) {
        let b = this.client.getAll().inRange({ start, end }).limit(this.pageSize);
        if (revision !== undefined) b = b.revision(revision);
        const res = await b.exec();
        if (revision === undefined) revision = Number(res.header.revision);
        for (const kv of res.kvs) listed.set(kv.key.toString(), { value: kv.value.toString(), modRevision: Number(kv.mod_revision) });
        if (!res.more || res.kvs.length === 0) break;
        start = res.kvs[res.kvs.length - 1].key.toString() + '\0';
      }
    }
    if (this.stopped) return;
    this.st.revision = revision ?? 0;
    this.st.lists++;
    this.sink.onList(listed, this.st.revision);
    if (!this.st.synced) {
      this.st.synced = true;
      this.sink.onStatus?.(this.status());
    }
  }

  /**
   * Drop the current watcher. `detached`: etcd already cancelled it (the
   * library has forgotten it, and a second cancel would wait forever for an
   * 'end' that never comes). Bounded in time either way.
   */
  private async cancelWatch(detached = false): Promise<void> {
    const w = this.watcher;
    this.watcher = undefined;
    if (!w) return;
    w.removeAllListeners();
    w.on('error', () => undefined);
    if (detached) return;
    await Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
  }

  /** Watch from revision+1 until the watch fails; resolves with why. */
  private watch(): Promise<{ compacted: boolean; error: string; receivedAny: boolean }> {
    const start = this.prefixes.reduce((a, b) => (a < b ? a : b));
    const end = this.prefixes.map(prefixEnd).reduce((a, b) => (a > b ? a : b));
    return new Promise((resolve) => {
      if (this.stopped) return resolve({ compacted: false, error: 'stopped', receivedAny: false });
      let receivedAny = false;
      let done = false;
      const finish = (compacted: boolean, error: string, detached = false): void => {
        if (done) return;
        done = true;
        this.wake = undefined;
        void this.cancelWatch(detached).then(() => resolve({ compacted, error, receivedAny }));
      };
      const w = this.client
        .watch()
        .inRange({ start, end })
        .startRevision(String(this.st.revision + 1))
        .watcher();
      this.watcher = w;
      this.wake = () => finish(false, 'stopped');
      w.on('data', (res) => {
        if (done) return;
        receivedAny = true;
        if (Number(res.compact_revision) > 0) return finish(true, `required revision has been compacted (compact revision ${res.compact_revision})`);
        // A catching-up watcher gets at most ~1000 revisions per response with
        // the header at the *current* revision, so progress is tracked by the
        // events' own mod revisions; only an empty (progress) response moves
        // the revision by its header.
        let rev = res.events.length ? 0 : Number(res.header.revision);
        const changes: KvChange[] = [];
        for (const ev of res.events) {
          const modRevision = Number(ev.kv.mod_revision);
          if (modRevision > rev) rev = modRevision;
          const key = ev.kv.key.toString();
          if (!this.prefixes.some((p) => key.startsWith(p))) continue;
          if (ev.type === 'Put') changes.push({ type: 'put', key, value: ev.kv.value.toString(), modRevision });
          else changes.push({ type: 'delete', key, modRevision });
        }
        if (rev > this.st.revision) this.st.revision = rev;
        if (changes.length) this.sink.onEvents(changes, this.st.revision);
      });
      // 'error' = etcd cancelled the watch (compaction, permissions): the library already dropped it.
      // etcd 3.4 cancels a compacted watch with compact_revision set and an
      // empty cancel_reason, which the library reports as "Watcher canceled: ".
      // Either way a cancelled watch is recovered by listing again.
      w.on('error', (err) => {
        const msg = /Watcher canceled:\s*$/.test(err.message)
          ? `watch from revision ${this.st.revision + 1} cancelled by etcd: required revision has been compacted`
          : err.message;
        finish(true, msg, true);
      });
      // The watch's member is the one that matters: the library sends each call to the next host, so a list may be served elsewhere.
      w.on('connected', (res) => this.noteMember(res.header?.member_id));
      w.on('disconnected', (err) => finish(false, `watch lost: ${err.message}`));
      w.on('end', () => finish(false, 'watch ended'));
    });
  }
}
