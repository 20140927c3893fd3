/**
 * Per-session send queue with backpressure (issue 4).
 *
 * Pending Adj-RIB-Out changes are coalesced per (prefix, path id): a later
 * change replaces an earlier one still waiting, so a flapping prefix costs one
 * UPDATE, not one per flap. Draining groups the waiting prefixes by AttrSet
 * and packs them with the codec (attributes encoded once per AttrSet and send
 * context), in slices with `setImmediate` between them, so one peer's million
 * routes never starve the event loop. A `write()` returning false pauses the
 * drain until the socket's 'drain'.
 *
 * KEEPALIVEs and NOTIFICATIONs bypass the queue (`sendNow`): only one slice's
 * worth of UPDATE bytes can ever be ahead of them, so a busy session does not
 * die of hold-timer expiry on the other side.
 *
 * End-of-RIB (RFC 4724 §2) is a marker in the queue: everything enqueued before
 * `endOfRib()` goes out before it.
 */
import type { DecodeContext } from '../codec/types.js';
import type { AttrSet, OutChange } from '../route.js';

/** What the queue needs of a socket. */
export interface TxSink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
}

/** The codec functions the queue packs with (injected so tests can count calls). */
export interface TxEncoder {
  encodeAttributes(attrs: AttrSet['attrs'], ctx: DecodeContext): Buffer;
  packUpdates(
    attrSection: Buffer | null,
    keys: number[],
    pathIds: number[] | null,
    ctx: DecodeContext,
    withdraw?: boolean,
  ): Buffer[];
}

export interface TxCounters {
  messagesOut: number;
  updatesOut: number;
  /** Announcements sent minus withdrawals sent: the size of what the peer holds from us. */
  prefixesAdvertised: number;
}

/** One segment of the queue: coalesced changes (pathId -> prefix key -> attrs | null), or raw messages. */
type Segment = { kind: 'changes'; byPath: Map<number, Map<number, AttrSet | null>>; size: number } | { kind: 'raw'; messages: Buffer[] };

export interface TxQueueOptions {
  /** Prefixes packed per slice before yielding to the event loop. */
  sliceSize?: number;
  /** Deferral between slices; setImmediate in production, injectable for tests. */
  defer?: (fn: () => void) => void;
  /** Called with every UPDATE-type message written (for counters); raw messages included. */
  onWrite?: (message: Buffer, kind: 'update' | 'raw') => void;
}

const MAX_CACHED_ATTR_SETS = 10_000;

export class TxQueue {
  private readonly segments: Segment[] = [];
  private readonly attrCache = new Map<number, Buffer>();
  private scheduled = false;
  private waitingDrain = false;
  private closed = false;
  private readonly sliceSize: number;
  private readonly defer: (fn: () => void) => void;
  readonly counters: TxCounters = { messagesOut: 0, updatesOut: 0, prefixesAdvertised: 0 };
  private readonly onDrain = () => {
    this.waitingDrain = false;
    this.schedule();
  };

  constructor(
    private readonly sink: TxSink,
    private readonly encoder: TxEncoder,
    private readonly ctx: DecodeContext,
    private readonly addPath: boolean,
    private readonly options: TxQueueOptions = {},
  ) {
    this.sliceSize = options.sliceSize ?? 4096;
    this.defer = options.defer ?? ((fn) => void setImmediate(fn));
  }

  /** Number of coalesced changes (and raw messages) still waiting. */
  get pending(): number {
    let n = 0;
    for (const s of this.segments) n += s.kind === 'changes' ? s.size : s.messages.length;
    return n;
  }

  /** True while draining is paused by socket backpressure. */
  get paused(): boolean {
    return this.waitingDrain;
  }

  enqueue(changes: readonly OutChange[]): void {
    if (this.closed || changes.length === 0) return;
    let last = this.segments[this.segments.length - 1];
    if (!last || last.kind !== 'changes') {
      last = { kind: 'changes', byPath: new Map(), size: 0 };
      this.segments.push(last);
    }
    for (const c of changes) {
      const pathId = this.addPath ? c.pathId : 0;
      let byKey = last.byPath.get(pathId);
      if (!byKey) {
        byKey = new Map();
        last.byPath.set(pathId, byKey);
      }
      const before = byKey.size;
      byKey.set(c.key, c.attrs);
      if (byKey.size !== before) last.size++;
    }
    this.schedule();
  }

  /** Queue raw messages behind everything enqueued so far (End-of-RIB). */
  enqueueRaw(messages: Buffer[]): void {
    if (this.closed) return;
    this.segments.push({ kind: 'raw', messages: [...messages] });
    this.schedule();
  }

  /** Write a message ahead of every queued UPDATE (KEEPALIVE, NOTIFICATION, ROUTE-REFRESH); the caller counts it. */
  sendNow(message: Buffer): void {
    if (this.closed) return;
    this.options.onWrite?.(message, 'raw');
    this.sink.write(message);
  }

  /** Drop everything waiting (session released). */
  close(): void {
    this.closed = true;
    this.segments.length = 0;
    this.attrCache.clear();
    this.sink.removeListener('drain', this.onDrain);
  }

  private schedule(): void {
    if (this.scheduled || this.waitingDrain || this.closed || this.segments.length === 0) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.drainSlice();
    });
  }

  /** Pack and write up to `sliceSize` prefixes (or one raw segment). */
  private drainSlice(): void {
    if (this.closed || this.waitingDrain) return;
    let budget = this.sliceSize;
    let writable = true;
    while (budget > 0 && writable && this.segments.length > 0) {
      const seg = this.segments[0];
      if (seg.kind === 'raw') {
        this.segments.shift();
        for (const m of seg.messages) {
          this.counters.messagesOut++;
          this.options.onWrite?.(m, 'raw');
          writable = this.sink.write(m) && writable;
        }
        continue;
      }
      const taken = this.takeGroups(seg, budget);
      budget -= taken.count;
      for (const group of taken.groups) writable = this.writeGroup(group) && writable;
      if (seg.size === 0) this.segments.shift();
    }
    if (!writable) {
      this.waitingDrain = true;
      this.sink.once('drain', this.onDrain);
      return;
    }
    this.schedule();
  }

  /** Remove up to `budget` changes from a segment, grouped by (pathId-ness, AttrSet). */
  private takeGroups(seg: Extract<Segment, { kind: 'changes' }>, budget: number) {
    const groups = new Map<number, { attrs: AttrSet | null; keys: number[]; pathIds: number[] | null }>();
    let count = 0;
    for (const [pathId, byKey] of seg.byPath) {
      for (const [key, attrs] of byKey) {
        if (count >= budget) break;
        byKey.delete(key);
        seg.size--;
        count++;
        const gid = attrs ? attrs.id : -1;
        let g = groups.get(gid);
        if (!g) {
          g = { attrs, keys: [], pathIds: this.addPath ? [] : null };
          groups.set(gid, g);
        }
        g.keys.push(key);
        g.pathIds?.push(pathId);
      }
      if (byKey.size === 0) seg.byPath.delete(pathId);
      if (count >= budget) break;
    }
    return { groups: groups.values(), count };
  }

  private writeGroup(g: { attrs: AttrSet | null; keys: number[]; pathIds: number[] | null }): boolean {
    let messages: Buffer[];
    if (g.attrs) {
      messages = this.encoder.packUpdates(this.attrSection(g.attrs), g.keys, g.pathIds, this.ctx, false);
      this.counters.prefixesAdvertised += g.keys.length;
    } else {
      messages = this.encoder.packUpdates(null, g.keys, g.pathIds, this.ctx, true);
      this.counters.prefixesAdvertised = Math.max(0, this.counters.prefixesAdvertised - g.keys.length);
    }
    let ok = true;
    for (const m of messages) {
      this.counters.messagesOut++;
      this.counters.updatesOut++;
      this.options.onWrite?.(m, 'update');
      ok = this.sink.write(m) && ok;
    }
    return ok;
  }

  private attrSection(set: AttrSet): Buffer {
    let bytes = this.attrCache.get(set.id);
    if (!bytes) {
      if (this.attrCache.size >= MAX_CACHED_ATTR_SETS) this.attrCache.clear();
      bytes = this.encoder.encodeAttributes(set.attrs, this.ctx);
      this.attrCache.set(set.id, bytes);
    }
    return bytes;
  }
}
