/**
 * Per-session send queue with backpressure (issue 4).
 *
 * The RIB's flush already coalesces: one `enqueue()` call holds at most one
 * change per (prefix, path id). So the queue keeps the arrays it is given, as
 * given (no per-prefix work at enqueue time), and sends them in order: a later
 * change for a prefix goes out after an earlier one, and the peer ends with
 * the later. Only when the changes waiting grow past a bound (a slow peer, a
 * flapping table) are they compacted: an unsent change that a later one for
 * the same (prefix, path id) replaces is dropped, so memory stays in
 * proportion to the table, and a flapping prefix costs one UPDATE, not one
 * per flap. The bound doubles with what is left after a compaction, so a
 * backlog of distinct prefixes is not scanned again and again.
 *
 * Draining takes one array at a time, groups its changes by AttrSet (in order
 * of first appearance) and packs each group, `sliceSize` prefixes per piece,
 * with the codec (attributes encoded once per AttrSet and send context); a
 * slice is written corked, so its UPDATEs leave in one writev, with
 * `setImmediate` between slices so one peer's million routes never starve the
 * event loop. A `write()` returning false pauses the drain until 'drain'.
 *
 * Encode once, send to many (DESIGN.md: "peers with identical export share the
 * bytes"): the RIB hands every peer with the same export the same OutChange
 * objects, so the same piece (same changes, same order) reaches several
 * queues. The packed UPDATEs of a piece are remembered, keyed weakly by its
 * first OutChange, per send context (4-octet AS, ADD-PATH send, extended
 * messages) and encoder; another queue whose piece holds the very same
 * OutChange objects writes those Buffers instead of packing again. The entry
 * goes when the OutChange objects do.
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

/** What the queue needs of a socket. `cork`/`uncork` batch a slice's writes when the sink has them. */
export interface TxSink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
  removeListener(event: 'drain', listener: () => void): unknown;
  cork?(): void;
  uncork?(): void;
}

/** The codec functions the queue packs with (injected so tests can count calls). */
export interface TxEncoder {
  encodeAttributes(attrs: AttrSet['attrs'], ctx: DecodeContext): Buffer;
  packUpdates(
    attrSection: Buffer | null,
    keys: ArrayLike<number>,
    pathIds: ArrayLike<number> | null,
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

/**
 * One AttrSet's changes within one enqueued array (null attrs: withdrawals):
 * their positions in it, or all of it when `at` is null. Positions, not a
 * copied array of references: copying a large flush's references costs
 * write barriers and GC tracing, an Int32Array neither.
 */
interface Group {
  attrs: AttrSet | null;
  changes: readonly OutChange[];
  at: Int32Array | null;
  size: number;
}

/**
 * One enqueued array. `groups` is filled when draining reaches it; `gi`/`at`
 * point at the next unsent piece.
 */
interface ChangeSegment {
  kind: 'changes';
  changes: readonly OutChange[];
  groups: Group[] | null;
  gi: number;
  at: number;
}

type Segment = ChangeSegment | { kind: 'raw'; messages: Buffer[] };

export interface TxQueueOptions {
  /** Prefixes packed per piece and per slice before yielding to the event loop. */
  sliceSize?: number;
  /** Deferral between slices; setImmediate in production, injectable for tests. */
  defer?: (fn: () => void) => void;
  /** Called with every UPDATE-type message written (for counters); raw messages included. */
  onWrite?: (message: Buffer, kind: 'update' | 'raw') => void;
  /**
   * Compact (drop unsent changes replaced by later ones) once more than this
   * many changes wait; 0 = on every enqueue. Default 2^20.
   */
  compactAbove?: number;
  /** Reuse packed UPDATEs between queues that are given the same OutChange objects (default true). */
  shareEncoding?: boolean;
}

const MAX_CACHED_ATTR_SETS = 10_000;
/**
 * A backlog of distinct prefixes (a full table behind a slow reader) is
 * normal and compacting it finds nothing, so the default bound is about a
 * large table: 2^20 waiting changes, 8 MB of references when the OutChange
 * objects are shared with other peers' queues, ~50 MB when not.
 */
const DEFAULT_COMPACT_ABOVE = 1 << 20;

/** A packed piece, remembered for other queues with the same send context and encoder. */
interface Encoded {
  context: string;
  encoder: TxEncoder;
  group: Group;
  from: number;
  to: number;
  messages: Buffer[];
}

/** Keyed by a piece's first OutChange; a few entries (send contexts, or pieces starting alike) each. */
const sharedPieces = new WeakMap<OutChange, Encoded[]>();
const MAX_SHARED_PER_KEY = 4;

/** What about a send context changes the bytes of a packed UPDATE. */
function contextKey(ctx: DecodeContext, addPath: boolean): string {
  return `${ctx.as4 ? 1 : 0}${addPath ? 1 : 0}${ctx.extendedMessage ? 1 : 0}`;
}

export class TxQueue {
  private segments: Segment[] = [];
  private readonly attrCache = new Map<number, Buffer>();
  private scheduled = false;
  private waitingDrain = false;
  private closed = false;
  private waiting = 0;
  private compactAt: number;
  private readonly sliceSize: number;
  private readonly compactAbove: number;
  private readonly share: boolean;
  private readonly context: string;
  private readonly defer: (fn: () => void) => void;
  private keys = new Float64Array(0);
  private pathIds = new Uint32Array(0);
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
    this.sliceSize = Math.max(1, options.sliceSize ?? 4096);
    this.defer = options.defer ?? ((fn) => void setImmediate(fn));
    this.compactAbove = options.compactAbove ?? DEFAULT_COMPACT_ABOVE;
    this.compactAt = this.compactAbove;
    this.share = options.shareEncoding ?? true;
    this.context = contextKey(ctx, addPath);
  }

  /** Number of changes (and raw messages) still waiting. */
  get pending(): number {
    let raw = 0;
    for (const s of this.segments) if (s.kind === 'raw') raw += s.messages.length;
    return this.waiting + raw;
  }

  /** True while draining is paused by socket backpressure. */
  get paused(): boolean {
    return this.waitingDrain;
  }

  /**
   * Queue Adj-RIB-Out changes, at most one per (prefix, path id) in one call
   * (as the RIB's flush and exports give them); across calls the later wins.
   * The array is kept, not copied: the caller must not change it afterwards.
   */
  enqueue(changes: readonly OutChange[]): void {
    if (this.closed || changes.length === 0) return;
    this.segments.push({ kind: 'changes', changes, groups: null, gi: 0, at: 0 });
    this.waiting += changes.length;
    if (this.compactAbove === 0 || this.waiting > this.compactAt) this.compact();
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
    this.waiting = 0;
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

  /** Pack and write up to `sliceSize` prefixes (or one raw segment), corked. */
  private drainSlice(): void {
    if (this.closed || this.waitingDrain) return;
    let budget = this.sliceSize;
    let writable = true;
    const corked = typeof this.sink.cork === 'function' && typeof this.sink.uncork === 'function';
    if (corked) this.sink.cork!();
    try {
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
        const groups = (seg.groups ??= partition(seg.changes));
        while (budget > 0 && writable && seg.gi < groups.length) {
          const g = groups[seg.gi];
          const to = Math.min(g.size, seg.at + this.sliceSize);
          writable = this.writePiece(g, seg.at, to);
          budget -= to - seg.at;
          this.waiting -= to - seg.at;
          if (to === g.size) {
            seg.gi++;
            seg.at = 0;
          } else seg.at = to;
        }
        if (seg.gi === groups.length) this.segments.shift();
      }
    } finally {
      if (corked) this.sink.uncork!();
    }
    if (!writable) {
      this.waitingDrain = true;
      this.sink.once('drain', this.onDrain);
      return;
    }
    this.schedule();
  }

  /** Write group `g`'s changes [from, to) as packed UPDATEs; false when the sink asks us to wait. */
  private writePiece(g: Group, from: number, to: number): boolean {
    const messages = this.packed(g, from, to);
    const n = to - from;
    if (g.attrs) this.counters.prefixesAdvertised += n;
    else this.counters.prefixesAdvertised = Math.max(0, this.counters.prefixesAdvertised - n);
    let ok = true;
    for (const m of messages) {
      this.counters.messagesOut++;
      this.counters.updatesOut++;
      this.options.onWrite?.(m, 'update');
      ok = this.sink.write(m) && ok;
    }
    return ok;
  }

  /** The UPDATEs for a piece: another queue's, when it packed these very OutChanges for the same context. */
  private packed(g: Group, from: number, to: number): Buffer[] {
    const first = g.changes[g.at === null ? from : g.at[from]];
    const known = this.share ? sharedPieces.get(first) : undefined;
    if (known) {
      for (const e of known) {
        if (e.context === this.context && e.encoder === this.encoder && samePiece(e, g, from, to)) return e.messages;
      }
    }
    const n = to - from;
    if (this.keys.length < n) {
      this.keys = new Float64Array(n);
      this.pathIds = new Uint32Array(n);
    }
    const keys = this.keys.subarray(0, n);
    const pathIds = this.addPath ? this.pathIds.subarray(0, n) : null;
    const { changes, at } = g;
    for (let i = 0; i < n; i++) {
      const c = changes[at === null ? from + i : at[from + i]];
      keys[i] = c.key;
      if (pathIds !== null) pathIds[i] = c.pathId;
    }
    const messages = g.attrs
      ? this.encoder.packUpdates(this.attrSection(g.attrs), keys, pathIds, this.ctx, false)
      : this.encoder.packUpdates(null, keys, pathIds, this.ctx, true);
    if (this.share) {
      const entry: Encoded = { context: this.context, encoder: this.encoder, group: g, from, to, messages };
      if (!known) sharedPieces.set(first, [entry]);
      else if (known.length < MAX_SHARED_PER_KEY) known.push(entry);
      else known[known.length - 1] = entry;
    }
    return messages;
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

  /**
   * Drop every unsent change that a later one for the same (prefix, path id)
   * replaces, within each stretch between raw markers (End-of-RIB stays after
   * what was enqueued before it). Newest first, so the first seen is the one kept.
   */
  private compact(): void {
    const seen = new KeySet(this.waiting);
    const out: Segment[] = [];
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const seg = this.segments[s];
      if (seg.kind === 'raw') {
        seen.clear();
        out.push(seg);
        continue;
      }
      const kept: OutChange[] = [];
      const left = unsent(seg);
      for (let i = left.length - 1; i >= 0; i--) {
        const c = left[i];
        if (seen.add(c.key, this.addPath ? c.pathId : 0)) kept.push(c);
      }
      if (kept.length === 0) continue;
      kept.reverse();
      out.push({ kind: 'changes', changes: kept, groups: null, gi: 0, at: 0 });
    }
    out.reverse();
    this.segments = out;
    let n = 0;
    for (const seg of out) if (seg.kind === 'changes') n += seg.changes.length;
    this.waiting = n;
    this.compactAt = Math.max(this.compactAbove, 2 * n);
  }
}

/**
 * Split an array into AttrSet groups, in order of first appearance. The
 * group map is consulted only where the AttrSet changes (the RIB's flush
 * lists an UPDATE's prefixes together); an array with a single AttrSet is
 * one group over all of it.
 */
function partition(changes: readonly OutChange[]): Group[] {
  const n = changes.length;
  const firstAttrs = n > 0 ? changes[0].attrs : null;
  let i = 1;
  while (i < n && changes[i].attrs === firstAttrs) i++;
  if (i === n) return [{ attrs: firstAttrs, changes, at: null, size: n }];
  const groups: Group[] = [];
  const byAttrs = new Map<AttrSet | null, number>();
  const which = new Int32Array(n);
  let lastAttrs: AttrSet | null | undefined;
  let g = 0;
  for (let k = 0; k < n; k++) {
    const attrs = changes[k].attrs;
    if (attrs !== lastAttrs) {
      lastAttrs = attrs;
      const known = byAttrs.get(attrs);
      if (known === undefined) {
        g = groups.length;
        byAttrs.set(attrs, g);
        groups.push({ attrs, changes, at: null, size: 0 });
      } else g = known;
    }
    which[k] = g;
    groups[g].size++;
  }
  for (const group of groups) group.at = new Int32Array(group.size);
  const fill = new Int32Array(groups.length);
  for (let k = 0; k < n; k++) {
    const w = which[k];
    groups[w].at![fill[w]++] = k;
  }
  return groups;
}

/** A segment's changes not yet written (any order within a segment will do: it has one change per prefix). */
function unsent(seg: ChangeSegment): readonly OutChange[] {
  if (seg.groups === null) return seg.changes;
  const out: OutChange[] = [];
  for (let gi = seg.gi; gi < seg.groups.length; gi++) {
    const g = seg.groups[gi];
    for (let i = gi === seg.gi ? seg.at : 0; i < g.size; i++) out.push(g.changes[g.at === null ? i : g.at[i]]);
  }
  return out;
}

function samePiece(e: Encoded, g: Group, from: number, to: number): boolean {
  if (e.to - e.from !== to - from) return false;
  if (e.group === g && e.from === from) return true;
  const a = e.group;
  for (let i = from, j = e.from; i < to; i++, j++) {
    if (g.changes[g.at === null ? i : g.at[i]] !== a.changes[a.at === null ? j : a.at[j]]) return false;
  }
  return true;
}

/**
 * A set of (prefix key, path id) pairs by open addressing over typed arrays:
 * prefix keys pass 2^31, so a JS Set would box each as a heap number.
 */
class KeySet {
  private keys: Float64Array;
  private ids: Uint32Array;
  private mask: number;

  constructor(expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.ids = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  clear(): void {
    this.keys.fill(-1);
  }

  /** Add the pair; false when it was already there. */
  add(key: number, pathId: number): boolean {
    const lo = key >>> 0;
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi ^ pathId, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    let i = h & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === -1) {
        this.keys[i] = key;
        this.ids[i] = pathId;
        return true;
      }
      if (k === key && this.ids[i] === pathId >>> 0) return false;
      i = (i + 1) & this.mask;
    }
  }
}
