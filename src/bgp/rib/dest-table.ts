/**
 * The IPv4 unicast destination table: one slot per destination, holding
 * every path any source has for it (Adj-RIB-In of every peer and the
 * Loc-RIB in one place, as BIRD keeps one table of nets with their routes).
 *
 * Why one table rather than an Adj-RIB-In per peer plus a Loc-RIB: each
 * path then costs one probe and, for a destination with one path, no memory
 * beyond the slot; with ten paths (ten peers announcing the same blocks) it
 * costs one 32-bit element in a per-destination list. Per-peer operations
 * (session down, stale marking and sweep, a peer's received routes) walk the
 * table instead, which is what they cost in BIRD too, and they are rare.
 *
 * Slot layout (8 bytes, no per-destination object the collector traces):
 * the prefix address in a Uint32Array, and in an Int32Array word
 *   bits 0-5   prefix length (0..32; 63 marks a tombstone)
 *   bit  6     dirty: changed since the last flush (the Rib keeps the old best)
 *   bits 7-31  payload: 0 no path; < LIST_FLAG one element; else a list
 * An element is `path registry id * 2 + stale` (RFC 4724 stale bit per
 * destination, since Path objects are shared by many destinations).
 * A list is a block in the `PathLists` arena; the best accepted path is
 * kept first, so reading the Loc-RIB best costs no comparison.
 *
 * IPv6 later: a second table of this shape with a wider key (four address
 * words or an interned prefix id) and the same payload and list arena; the
 * Rib talks to it through the same slot/payload operations.
 */

const EMPTY = 0;
const DELETED = 63;
export const DIRTY = 64;
const LEN_MASK = 63;
const FLAG_MASK = 127;
const MIN_CAPACITY = 16;
const GROUP_BITS = 3;
const GROUP_MASK = (1 << GROUP_BITS) - 1;

/** Payloads at or above this are lists (offset / 4 + LIST_FLAG); below, one element. */
export const LIST_FLAG = 1 << 24;
/** Elements (registry id * 2 + stale) must stay below LIST_FLAG. */
export const MAX_ELEMENT = LIST_FLAG - 1;

export class Ipv4Table {
  private addrs: Uint32Array;
  private words: Int32Array;
  private mask: number;
  private shift: number;
  private count = 0;
  private used = 0;

  constructor() {
    this.addrs = new Uint32Array(MIN_CAPACITY);
    this.words = new Int32Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.shift = 32 - Math.log2(MIN_CAPACITY);
  }

  /** Destinations held (dirty empty ones included until flushed). */
  get size(): number {
    return this.count;
  }

  /** Slots to walk with `live`/`keyAt`/`payload` (table order). */
  get capacity(): number {
    return this.words.length;
  }

  /**
   * Home slot: prefixes of one length numbered n = address >>> (32 - length);
   * runs of 8 consecutive numbers hash together into adjacent slots, so an
   * UPDATE's mostly consecutive prefixes share cache lines.
   */
  private static home(addr: number, len: number, shift: number, mask: number): number {
    const n = len === 0 ? 0 : addr >>> (32 - len);
    let h = Math.imul((n >>> GROUP_BITS) ^ Math.imul(len, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return ((h >>> shift) + (n & GROUP_MASK)) & mask;
  }

  /** The slot of `key`, or -1. */
  find(key: number): number {
    const addr = (key / 64) >>> 0;
    const len = key - addr * 64;
    const addrs = this.addrs;
    const words = this.words;
    const mask = this.mask;
    let i = Ipv4Table.home(addr, len, this.shift, mask);
    for (;;) {
      const w = words[i];
      if (w === EMPTY) return -1;
      if (addrs[i] === addr && (w & LEN_MASK) === len && w !== DELETED) return i;
      i = (i + 1) & mask;
    }
  }

  /**
   * The slot of `key`, or `-(p + 1)` where `p` is the free slot `insertAt`
   * would fill: one probe for "look up, add when absent" (every prefix of an
   * UPDATE of new destinations). Room for one more is made first, so `p`
   * stays valid until the next insert.
   */
  probe(key: number): number {
    if (this.used + 1 > (this.words.length * 3) >>> 2) {
      this.rebuild(this.count * 2 >= this.words.length >>> 1 ? this.words.length * 2 : this.words.length);
    }
    const addr = (key / 64) >>> 0;
    const len = key - addr * 64;
    const addrs = this.addrs;
    const words = this.words;
    const mask = this.mask;
    let i = Ipv4Table.home(addr, len, this.shift, mask);
    let tomb = -1;
    for (;;) {
      const w = words[i];
      if (w === EMPTY) return -((tomb >= 0 ? tomb : i) + 1);
      if (w === DELETED) {
        if (tomb < 0) tomb = i;
      } else if (addrs[i] === addr && (w & LEN_MASK) === len) return i;
      i = (i + 1) & mask;
    }
  }

  /** Fill the free slot `p` that `probe(key)` returned (no insert in between). */
  insertAt(p: number, key: number, payload: number, dirty: boolean): void {
    const addr = (key / 64) >>> 0;
    const len = key - addr * 64;
    if (this.words[p] === EMPTY) this.used++;
    this.addrs[p] = addr;
    this.words[p] = (payload << 7) | (dirty ? DIRTY : 0) | len;
    this.count++;
  }

  /** Add `key` (absent) with `payload`, dirty when `dirty`; returns its slot. Slots move when the table grows. */
  insert(key: number, payload: number, dirty: boolean): number {
    const addr = (key / 64) >>> 0;
    const len = key - addr * 64;
    if (this.used + 1 > (this.words.length * 3) >>> 2) {
      this.rebuild(this.count * 2 >= this.words.length >>> 1 ? this.words.length * 2 : this.words.length);
    }
    const addrs = this.addrs;
    const words = this.words;
    const mask = this.mask;
    let i = Ipv4Table.home(addr, len, this.shift, mask);
    let tomb = -1;
    for (;;) {
      const w = words[i];
      if (w === EMPTY) break;
      if (w === DELETED && tomb < 0) tomb = i;
      i = (i + 1) & mask;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    addrs[i] = addr;
    words[i] = (payload << 7) | (dirty ? DIRTY : 0) | len;
    this.count++;
    return i;
  }

  live(slot: number): boolean {
    const w = this.words[slot];
    return w !== EMPTY && w !== DELETED;
  }

  /** `slot` holds `key` (a live slot; any slot index is allowed). */
  holds(slot: number, key: number): boolean {
    const w = this.words[slot];
    return w !== DELETED && w !== EMPTY && this.addrs[slot] * 64 + (w & LEN_MASK) === key;
  }

  keyAt(slot: number): number {
    return this.addrs[slot] * 64 + (this.words[slot] & LEN_MASK);
  }

  payload(slot: number): number {
    return this.words[slot] >>> 7;
  }

  setPayload(slot: number, payload: number): void {
    this.words[slot] = (payload << 7) | (this.words[slot] & FLAG_MASK);
  }

  dirty(slot: number): boolean {
    return (this.words[slot] & DIRTY) !== 0;
  }

  setDirty(slot: number): void {
    this.words[slot] |= DIRTY;
  }

  clearDirty(slot: number): void {
    this.words[slot] &= ~DIRTY;
  }

  remove(slot: number): void {
    this.words[slot] = DELETED;
    this.count--;
  }

  private rebuild(capacity: number): void {
    const oldAddrs = this.addrs;
    const oldWords = this.words;
    const addrs = (this.addrs = new Uint32Array(capacity));
    const words = (this.words = new Int32Array(capacity));
    const mask = (this.mask = capacity - 1);
    const shift = (this.shift = 32 - Math.log2(capacity));
    // Slots are the hash's top bits, so doubling sends old slot j to about 2j: the copy streams.
    let n = 0;
    for (let j = 0; j < oldWords.length; j++) {
      const w = oldWords[j];
      if (w === EMPTY || w === DELETED) continue;
      const a = oldAddrs[j];
      let i = Ipv4Table.home(a, w & LEN_MASK, shift, mask);
      while (words[i] !== EMPTY) i = (i + 1) & mask;
      addrs[i] = a;
      words[i] = w;
      n++;
    }
    this.count = n;
    this.used = n;
  }
}

/**
 * Per-destination element lists in one Int32Array. A block is 2^(c+2) ints
 * for size class c: a header (count in bits 0-15, class in bits 16-20, the
 * `MIXED` flag) and up to 2^(c+2) - 1 elements. Freed blocks are reused per
 * class. Ten paths take a 16-int block: 6.4 bytes per path.
 */
const COUNT_MASK = 0xffff;
const CLASS_SHIFT = 16;
/** Set when the list's accepted paths may come from more than one neighbour AS (best path must then look at every path). */
export const MIXED = 1 << 21;

export class PathLists {
  a: Int32Array = new Int32Array(1024);
  /** Next unused offset; blocks are multiples of 4 ints, so a list payload is offset / 4 + LIST_FLAG. */
  private top = 0;
  private readonly free: number[][] = [];

  /** A new list of capacity >= n; returns its offset. */
  alloc(n: number): number {
    let c = 0;
    while ((4 << c) - 1 < n) c++;
    const fl = this.free[c];
    let off: number;
    if (fl !== undefined && fl.length > 0) off = fl.pop()!;
    else {
      const size = 4 << c;
      off = this.top;
      if (off + size > this.a.length) {
        let len = this.a.length * 2;
        while (off + size > len) len *= 2;
        if (len > LIST_FLAG * 4) throw new Error('RIB: path list arena full');
        const b = new Int32Array(len);
        b.set(this.a);
        this.a = b;
      }
      this.top += size;
    }
    this.a[off] = c << CLASS_SHIFT;
    return off;
  }

  release(off: number): void {
    const c = (this.a[off] >>> CLASS_SHIFT) & 31;
    (this.free[c] ??= []).push(off);
  }

  count(off: number): number {
    return this.a[off] & COUNT_MASK;
  }

  capacityOf(off: number): number {
    return (4 << ((this.a[off] >>> CLASS_SHIFT) & 31)) - 1;
  }

  get(off: number, i: number): number {
    return this.a[off + 1 + i];
  }

  set(off: number, i: number, e: number): void {
    this.a[off + 1 + i] = e;
  }

  mixed(off: number): boolean {
    return (this.a[off] & MIXED) !== 0;
  }

  setMixed(off: number, on: boolean): void {
    if (on) this.a[off] |= MIXED;
    else this.a[off] &= ~MIXED;
  }

  /** Bytes held by the arena (for memory accounting). */
  get bytes(): number {
    return this.a.byteLength;
  }
}

export const listPayload = (off: number): number => LIST_FLAG + (off >>> 2);
export const listOffset = (payload: number): number => (payload - LIST_FLAG) * 4;

/**
 * The IPv6 unicast destination table: the same slots, payloads and list
 * arena as IPv4's, keyed by interned prefix ids (src/bgp/prefix6.ts,
 * negative integers). An id -n is held as the IPv4-shaped key n * 64 + 32:
 * the table never mixes families, so the "/32" is only a tag, and ids
 * interned together (one UPDATE's prefixes) hash into adjacent slots as
 * consecutive IPv4 /32s do. The IPv4 table's code is untouched, so IPv4
 * costs what it did.
 */
const toSlotKey = (id: number): number => -id * 64 + 32;
const fromSlotKey = (key: number): number => -((key - 32) / 64);

export class Ipv6Table extends Ipv4Table {
  override find(key: number): number {
    return super.find(toSlotKey(key));
  }
  override probe(key: number): number {
    return super.probe(toSlotKey(key));
  }
  override insertAt(p: number, key: number, payload: number, dirty: boolean): void {
    super.insertAt(p, toSlotKey(key), payload, dirty);
  }
  override insert(key: number, payload: number, dirty: boolean): number {
    return super.insert(toSlotKey(key), payload, dirty);
  }
  override holds(slot: number, key: number): boolean {
    return super.holds(slot, toSlotKey(key));
  }
  override keyAt(slot: number): number {
    return fromSlotKey(super.keyAt(slot));
  }
}
