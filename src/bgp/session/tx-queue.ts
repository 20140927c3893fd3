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
 * with the codec; a slice is written corked, so its UPDATEs leave in one
 * writev. A `write()` returning false pauses the drain until 'drain'.
 *
 * Bounded work per event-loop turn (issue 17: a reflector bringing up 1000
 * clients stalled its loop for seconds): queues do not each schedule their
 * own callback. They wait in one round-robin `DrainScheduler`, which drains
 * one slice of each ready queue in turn until TURN_BUDGET_MS is used, then
 * yields with setImmediate, so accepts, reads, timers and the RIB run
 * between turns whatever the number of peers and the size of their backlog.
 *
 * Encode once, send to many (issue 16: "a change for N peers with the same
 * export is encoded once and the same bytes written to every peer's
 * queue"): the bytes of a packed piece depend only on its content (AttrSet,
 * prefix keys, path ids, in order) and on the send context that changes
 * encoding (4-octet AS, RFC 6793; ADD-PATH send, RFC 7911 §3; extended
 * messages, RFC 8654). So packed pieces are remembered by content, per
 * encoder and send context, for the rest of the turn: every other queue
 * whose piece has the same content writes the same Buffers. Content, not
 * object identity: with ADD-PATH (which Calico negotiates on every session)
 * the RIB builds each peer's OutChange objects separately, and they are
 * still equal. Attribute sections are likewise encoded once per AttrSet and
 * context for all queues (held weakly by the AttrSet), not cached per queue:
 * a per-queue cache grows with the number of attribute sets the table has,
 * times the number of peers.
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
 * their positions in it, or, when `at` is null, the `size` changes from
 * `base` on. Positions, not a copied array of references: copying a large
 * flush's references costs write barriers and GC tracing, an Int32Array
 * neither. A group of one change (a reflector's table: every client's route
 * has its own attributes) keeps its position in `base`: a typed array per
 * route and client was most of a reflector's memory at bring-up.
 */
interface Group {
  attrs: AttrSet | null;
  changes: readonly OutChange[];
  at: Int32Array | null;
  base: number;
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
  /**
   * Deferral between slices, per queue (tests). Without it the queue drains
   * through `scheduler` (default: the process-wide round-robin one).
   */
  defer?: (fn: () => void) => void;
  scheduler?: DrainScheduler;
  /** Called with every UPDATE-type message written (for counters); raw messages included. */
  onWrite?: (message: Buffer, kind: 'update' | 'raw') => void;
  /**
   * Compact (drop unsent changes replaced by later ones) once more than this
   * many changes wait; 0 = on every enqueue. Default 2^20.
   */
  compactAbove?: number;
  /** Reuse packed UPDATEs and attribute sections between queues with the same send context (default true). */
  shareEncoding?: boolean;
}

/**
 * A backlog of distinct prefixes (a full table behind a slow reader) is
 * normal and compacting it finds nothing, so the default bound is about a
 * large table: 2^20 waiting changes, 8 MB of references when the OutChange
 * objects are shared with other peers' queues, ~50 MB when not.
 */
const DEFAULT_COMPACT_ABOVE = 1 << 20;

/** What about a send context changes the bytes of a packed UPDATE. */
function contextKey(ctx: DecodeContext, addPath: boolean): string {
  return `${ctx.as4 ? 1 : 0}${addPath ? 1 : 0}${ctx.extendedMessage ? 1 : 0}`;
}

/**
 * A packed piece, remembered for the other queues of the same encoder and
 * send context. A one-prefix piece (most of a reflector's: each client's
 * route has its own attributes) keeps its key and path id inline, so
 * remembering it allocates no arrays.
 */
interface Encoded {
  attrs: AttrSet | null;
  n: number;
  key0: number;
  id0: number;
  /** Keys and path ids as sent (path ids only with ADD-PATH), when n > 1. */
  keys: Float64Array | null;
  pathIds: Uint32Array | null;
  messages: Buffer[];
}

/**
 * Per encoder and send context: attribute sections (per AttrSet, held
 * weakly, so they go with the set) and this turn's packed pieces by content.
 */
class SharedEncoding {
  readonly attrSections = new WeakMap<AttrSet, Buffer>();
  /** This turn's pieces, by content hash; a few per hash. */
  pieces = new Map<number, Encoded[]>();
  pieceBytes = 0;
  clearArmed = false;
}

/** Pieces remembered at most this long: a turn, or until this many bytes (whichever first). */
const MAX_SHARED_PIECE_BYTES = 8 << 20;
const sharedByEncoder = new WeakMap<TxEncoder, Map<string, SharedEncoding>>();

function sharedFor(encoder: TxEncoder, context: string): SharedEncoding {
  let byContext = sharedByEncoder.get(encoder);
  if (!byContext) sharedByEncoder.set(encoder, (byContext = new Map()));
  let shared = byContext.get(context);
  if (!shared) byContext.set(context, (shared = new SharedEncoding()));
  return shared;
}

/**
 * Scratch arrays for one piece's keys and path ids, one pair for the process
 * (packing is synchronous), so a queue holds no buffer sized to what it once sent.
 */
let scratchKeys = new Float64Array(256);
let scratchIds = new Uint32Array(256);

/** FNV-style mix of a piece's content; equal content gives equal hashes. */
function pieceHash(attrs: AttrSet | null, keys: Float64Array, pathIds: Uint32Array | null): number {
  let h = Math.imul((attrs === null ? -1 : attrs.id) ^ 0x811c9dc5, 0x01000193);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    h = Math.imul(h ^ (k >>> 0), 0x01000193);
    h = Math.imul(h ^ ((k / 4294967296) >>> 0), 0x01000193);
    if (pathIds !== null) h = Math.imul(h ^ pathIds[i], 0x01000193);
  }
  return (h ^ keys.length) >>> 0;
}

function sameContent(e: Encoded, attrs: AttrSet | null, keys: Float64Array, pathIds: Uint32Array | null): boolean {
  const n = keys.length;
  if (e.attrs !== attrs || e.n !== n) return false;
  if (n === 1) return e.key0 === keys[0] && e.id0 === (pathIds === null ? -1 : pathIds[0]);
  if ((e.pathIds === null) !== (pathIds === null)) return false;
  const ek = e.keys!;
  for (let i = 0; i < n; i++) if (ek[i] !== keys[i]) return false;
  if (pathIds !== null) {
    const ei = e.pathIds!;
    for (let i = 0; i < n; i++) if (ei[i] !== pathIds[i]) return false;
  }
  return true;
}

/** Work per event-loop turn for all queues together (issue 17: stalls under 50 ms). */
export const TURN_BUDGET_MS = 5;
/**
 * When other work held the loop while queues waited, a turn may take as
 * long as they waited, up to this: sending keeps pace with what the RIB
 * produces (else backlogs, and the memory they hold, grow under load), and
 * no turn of ours stalls the loop for longer than this.
 */
export const MAX_TURN_BUDGET_MS = 20;
/** At most this long for one queue's slice, checked every 32 pieces. */
const SLICE_MS = 2;

/**
 * Drains ready queues round-robin, one slice each per visit, until the
 * turn's budget is used; the rest waits for the next turn (setImmediate, so
 * the poll phase, where accepts and reads happen, runs in between). The
 * budget is TURN_BUDGET_MS, or as long as the queues waited for this turn
 * while other work ran, up to MAX_TURN_BUDGET_MS.
 */
export class DrainScheduler {
  private ready: TxQueue[] = [];
  private next: TxQueue[] = [];
  private armed = false;
  private armedAt = 0;

  constructor(
    private readonly budgetMs = TURN_BUDGET_MS,
    private readonly defer: (fn: () => void) => void = (fn) => void setImmediate(fn),
    private readonly now: () => number = () => performance.now(),
    private readonly maxBudgetMs = MAX_TURN_BUDGET_MS,
  ) {}

  /** Queues are waiting for a slice. */
  get busy(): boolean {
    return this.ready.length > 0;
  }

  /** Queue `q` for a slice (it is not listed twice: TxQueue keeps `scheduled`). */
  add(q: TxQueue): void {
    this.ready.push(q);
    if (!this.armed) this.arm();
  }

  private arm(): void {
    this.armed = true;
    this.armedAt = this.now();
    this.defer(this.run);
  }

  private readonly run = (): void => {
    // `armed` stays set while running: queues that add themselves again meanwhile wait for the next turn.
    const start = this.now();
    const budgetMs = Math.min(this.maxBudgetMs, Math.max(this.budgetMs, start - this.armedAt));
    try {
      // Queues added while running (the one just drained, with more to send) go to the next round.
      while (this.ready.length > 0) {
        const round = this.ready;
        this.ready = this.next;
        this.next = round;
        let i = 0;
        for (; i < round.length; i++) {
          round[i].runSlice();
          if (this.now() - start >= budgetMs) {
            i++;
            break;
          }
        }
        if (i < round.length) {
          // Budget used mid-round: the rest of this round goes first next turn.
          const rest = round.slice(i);
          for (const q of this.ready) rest.push(q);
          this.ready = rest;
          round.length = 0;
          break;
        }
        round.length = 0;
        if (this.now() - start >= budgetMs) break;
      }
    } finally {
      // Also after a throw from one queue: the others must not wait forever.
      this.armed = false;
      if (this.ready.length > 0) this.arm();
    }
  };
}

const defaultScheduler = new DrainScheduler();

export class TxQueue {
  private segments: Segment[] = [];
  private scheduled = false;
  private waitingDrain = false;
  private closed = false;
  private waiting = 0;
  private compactAt: number;
  private readonly sliceSize: number;
  private readonly compactAbove: number;
  private readonly share: boolean;
  private readonly shared: SharedEncoding | null;
  private readonly defer: ((fn: () => void) => void) | null;
  private readonly scheduler: DrainScheduler;
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
    this.defer = options.defer ?? null;
    this.scheduler = options.scheduler ?? defaultScheduler;
    this.compactAbove = options.compactAbove ?? DEFAULT_COMPACT_ABOVE;
    this.compactAt = this.compactAbove;
    this.share = options.shareEncoding ?? true;
    this.shared = this.share ? sharedFor(encoder, contextKey(ctx, addPath)) : null;
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
    this.sink.removeListener('drain', this.onDrain);
  }

  private schedule(): void {
    if (this.scheduled || this.waitingDrain || this.closed || this.segments.length === 0) return;
    this.scheduled = true;
    if (this.defer) this.defer(() => this.runSlice());
    else this.scheduler.add(this);
  }

  /** One slice, then back in line if more waits (called by the scheduler or the injected deferral). */
  runSlice(): void {
    this.scheduled = false;
    this.drainSlice();
  }

  /** Pack and write up to `sliceSize` prefixes (or one raw segment), corked. */
  private drainSlice(): void {
    if (this.closed || this.waitingDrain) return;
    let budget = this.sliceSize;
    let writable = true;
    // A slice of many one-prefix pieces (a reflector: every route has its own
    // attributes) costs far more than one of a few large pieces: bound it in time too.
    const started = performance.now();
    let pieces = 0;
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
          if ((++pieces & 31) === 0 && performance.now() - started >= SLICE_MS) {
            budget = 0;
            break;
          }
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

  /** The UPDATEs for a piece: the very Buffers another queue packed this turn when the content and send context are the same. */
  private packed(g: Group, from: number, to: number): Buffer[] {
    const n = to - from;
    if (scratchKeys.length < n) {
      let cap = scratchKeys.length;
      while (cap < n) cap *= 2;
      scratchKeys = new Float64Array(cap);
      scratchIds = new Uint32Array(cap);
    }
    const keys = scratchKeys.subarray(0, n);
    const pathIds = this.addPath ? scratchIds.subarray(0, n) : null;
    const { changes, at } = g;
    for (let i = 0; i < n; i++) {
      const c = changes[at === null ? g.base + from + i : at[from + i]];
      keys[i] = c.key;
      if (pathIds !== null) pathIds[i] = c.pathId;
    }
    const shared = this.shared;
    let hash = 0;
    let known: Encoded[] | undefined;
    if (shared !== null) {
      hash = pieceHash(g.attrs, keys, pathIds);
      known = shared.pieces.get(hash);
      if (known) for (const e of known) if (sameContent(e, g.attrs, keys, pathIds)) return e.messages;
    }
    const messages = g.attrs
      ? this.encoder.packUpdates(this.attrSection(g.attrs), keys, pathIds, this.ctx, false)
      : this.encoder.packUpdates(null, keys, pathIds, this.ctx, true);
    if (shared !== null) this.remember(shared, hash, known, g.attrs, keys, pathIds, messages);
    return messages;
  }

  private remember(
    shared: SharedEncoding,
    hash: number,
    known: Encoded[] | undefined,
    attrs: AttrSet | null,
    keys: Float64Array,
    pathIds: Uint32Array | null,
    messages: Buffer[],
  ): void {
    // Message bytes plus what the entry itself holds, so many small entries are bounded too.
    let bytes = 64 + (keys.length > 1 ? 12 * keys.length : 0);
    for (const m of messages) bytes += m.length;
    if (shared.pieceBytes + bytes > MAX_SHARED_PIECE_BYTES) {
      shared.pieces = new Map();
      shared.pieceBytes = 0;
      known = undefined;
    }
    const one = keys.length === 1;
    const entry: Encoded = {
      attrs,
      n: keys.length,
      key0: keys[0],
      id0: pathIds === null ? -1 : pathIds[0],
      keys: one ? null : keys.slice(),
      pathIds: one || pathIds === null ? null : pathIds.slice(),
      messages,
    };
    if (known) known.push(entry);
    else shared.pieces.set(hash, [entry]);
    shared.pieceBytes += bytes;
    if (!shared.clearArmed) {
      // Forget this turn's pieces once the queues drained in it have had them:
      // what is shared is one change going to many peers at once.
      shared.clearArmed = true;
      const clear = (): void => {
        // A fan-out that outlasts one turn's budget keeps its pieces until the scheduler has visited every queue.
        if (defaultScheduler.busy) {
          setImmediate(clear);
          return;
        }
        shared.clearArmed = false;
        shared.pieces = new Map();
        shared.pieceBytes = 0;
      };
      setImmediate(clear);
    }
  }

  private attrSection(set: AttrSet): Buffer {
    const cache = this.shared?.attrSections;
    let bytes = cache?.get(set);
    if (!bytes) {
      bytes = this.encoder.encodeAttributes(set.attrs, this.ctx);
      cache?.set(set, bytes);
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
  if (i === n) return [{ attrs: firstAttrs, changes, at: null, base: 0, size: n }];
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
        groups.push({ attrs, changes, at: null, base: k, size: 0 });
      } else g = known;
    }
    which[k] = g;
    groups[g].size++;
  }
  for (const group of groups) if (group.size > 1) group.at = new Int32Array(group.size);
  const fill = new Int32Array(groups.length);
  for (let k = 0; k < n; k++) {
    const at = groups[which[k]].at;
    if (at !== null) at[fill[which[k]]++] = k;
  }
  return groups;
}

/** A segment's changes not yet written (any order within a segment will do: it has one change per prefix). */
function unsent(seg: ChangeSegment): readonly OutChange[] {
  if (seg.groups === null) return seg.changes;
  const out: OutChange[] = [];
  for (let gi = seg.gi; gi < seg.groups.length; gi++) {
    const g = seg.groups[gi];
    for (let i = gi === seg.gi ? seg.at : 0; i < g.size; i++) out.push(g.changes[g.at === null ? g.base + i : g.at[i]]);
  }
  return out;
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
