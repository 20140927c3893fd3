/**
 * The route programmer's state at rest, compact (issue 16: 1M routes into the
 * kernel at no more than twice BIRD's memory; docs/PERFORMANCE.md).
 *
 * A kernel route is a prefix key and a *shape*: everything else about it
 * (type, next hop, device, onlink, metric). Shapes are few (one or two per
 * next hop), so they are interned once (`ShapeTable`) and a route at rest is
 * a prefix in a typed-array hash table with a 32-bit shape id per column
 * (`RouteTable`): no KernelRoute object, no Map entry, no boxed number per
 * route. A learned next hop is interned the same way (`NextHops`).
 */
import type { PrefixKey } from '../bgp/prefix.js';
import { routeSatisfies, type KernelRoute, type NextHop, type RouteType } from './route.js';

/** No value in a column (no learned next hop, no desired or actual route). */
export const NONE = -1;

/** A kernel route without its prefix; interned, never mutated. */
export type RouteShape = Readonly<Omit<KernelRoute, 'prefix'>>;

/** True when a route of shape `actual` already is what `desired` asks for (routeSatisfies without the prefix). */
export function shapeSatisfies(actual: RouteShape, desired: RouteShape): boolean {
  // Multipath (ECMP) shapes are few: the route-level rule compares their next hops.
  if (actual.nexthops || desired.nexthops) return routeSatisfies({ prefix: 0, ...actual }, { prefix: 0, ...desired });
  if (actual.type !== desired.type || actual.metric !== desired.metric) return false;
  if (desired.type !== 'unicast') return true;
  if (actual.gateway !== desired.gateway || actual.onlink !== desired.onlink) return false;
  return desired.dev === undefined || actual.dev === desired.dev;
}

/** Interned route shapes: the same fields give the same id. Ids are never reused (shapes are few). */
export class ShapeTable {
  private readonly list: RouteShape[] = [];
  /** Ids by gateway; shapes without a gateway under NaN (SameValueZero finds it). */
  private readonly byGateway = new Map<number, number[]>();

  get size(): number {
    return this.list.length;
  }

  intern(type: RouteType, gateway: number | undefined, dev: string | undefined, onlink: boolean, metric: number): number {
    const gk = gateway ?? NaN;
    let ids = this.byGateway.get(gk);
    if (ids === undefined) this.byGateway.set(gk, (ids = []));
    for (const id of ids) {
      const s = this.list[id];
      if (s.type === type && s.dev === dev && s.onlink === onlink && s.metric === metric) return id;
    }
    const shape: Omit<KernelRoute, 'prefix'> = { type, onlink, metric };
    if (gateway !== undefined) shape.gateway = gateway;
    if (dev !== undefined) shape.dev = dev;
    const id = this.list.length;
    this.list.push(Object.freeze(shape));
    ids.push(id);
    return id;
  }

  /** The shape id of a route (its prefix ignored). */
  of(route: RouteShape): number {
    if (route.nexthops) return this.internMultipath(route.nexthops, route.metric);
    return this.intern(route.type, route.gateway, route.dev, route.onlink, route.metric);
  }

  /** Multipath shapes (ECMP) by their next hops in order: few, so a text key is fine. */
  private readonly multipath = new Map<string, number>();

  /** A unicast shape over `hops` (two or more, in the order the route lists them). */
  internMultipath(hops: readonly NextHop[], metric: number): number {
    const key = `${metric}|${hops.map((h) => `${h.gateway}/${h.dev ?? ''}/${h.onlink ? 1 : 0}`).join(',')}`;
    let id = this.multipath.get(key);
    if (id === undefined) {
      id = this.list.length;
      const nexthops = hops.map((h) => Object.freeze({ ...h }));
      this.list.push(Object.freeze({ type: 'unicast', onlink: false, metric, nexthops }));
      this.multipath.set(key, id);
    }
    return id;
  }

  get(id: number): RouteShape {
    return this.list[id];
  }

  /** A fresh KernelRoute (for a backend op, status or a log line). */
  route(prefix: PrefixKey, id: number): KernelRoute {
    const s = this.list[id];
    const r: KernelRoute = { prefix, type: s.type, onlink: s.onlink, metric: s.metric };
    if (s.gateway !== undefined) r.gateway = s.gateway;
    if (s.dev !== undefined) r.dev = s.dev;
    if (s.nexthops !== undefined) r.nexthops = s.nexthops.map((h) => ({ ...h }));
    return r;
  }

  /** Shape `have` satisfies shape `want` (routeSatisfies on ids; equal ids always do). */
  satisfies(have: number, want: number): boolean {
    if (have === NONE || want === NONE) return false;
    return have === want || shapeSatisfies(this.list[have], this.list[want]);
  }
}

/** Interned next hops (IPv4 uint32 or IPv6 /128 ids): a learned route stores a 32-bit index. */
export class NextHops {
  private readonly values: number[] = [];
  private readonly ids = new Map<number, number>();

  intern(nextHop: number): number {
    let id = this.ids.get(nextHop);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(nextHop);
      this.ids.set(nextHop, id);
    }
    return id;
  }

  get(id: number): number {
    return this.values[id];
  }
}

/** The columns of a RouteTable entry. */
export const LEARNED = 0;
export const DESIRED = 1;
export const ACTUAL = 2;
const COLUMNS = 3;

/** Entry flags. */
export const DIRTY = 1;
export const ADOPTED = 2;
/** Seen in the scan being absorbed (cleared when it is done). */
export const SEEN = 4;

const MIN_CAPACITY = 16;
/** Linear probing stays short at this load (probe runs are scanned within cache lines). */
const MAX_LOAD = 0.8;
const GROWTH = 1.5;

/** murmur3's finaliser over the two 32-bit halves of a prefix key (IPv4 keys reach 2^38; IPv6 ids are negative). */
function hashKey(key: number): number {
  let h = (key >>> 0) ^ Math.imul((key / 4294967296) | 0, 0x27d4eb2d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), keyed by prefix key (a double: NaN marks an empty slot, so the
 * default route's key 0 is a key like any other). Capacity is not a power of
 * two (growth x1.5, load <= 0.8) so that 1M routes take 1.25M-1.9M slots of
 * 15 bytes, never 2M+ as doubling would make them.
 *
 * Slot numbers are valid until the next `upsert` or removal; callers that
 * hold one across such a call look the prefix up again.
 */
export class RouteTable {
  private keys: Float64Array;
  /**
   * Column values are stored plus one, so 0 (a fresh array's content) is
   * NONE; 16 bits each while the ids fit (shapes and next hops are a few per
   * node of the cluster), widened to 32 bits the first time one does not.
   */
  private cols: (Uint16Array | Int32Array)[];
  private flagBytes: Uint8Array;
  private cap: number;
  private count = 0;

  constructor(capacity = MIN_CAPACITY) {
    this.cap = Math.max(MIN_CAPACITY, capacity);
    this.keys = new Float64Array(this.cap).fill(NaN);
    this.cols = Array.from({ length: COLUMNS }, () => new Uint16Array(this.cap));
    this.flagBytes = new Uint8Array(this.cap);
  }

  /** Entries held. */
  get size(): number {
    return this.count;
  }

  /** Slots (for iteration with keyAt: an empty slot's key is NaN). */
  get capacity(): number {
    return this.cap;
  }

  /** Bytes of the typed arrays (for docs and status). */
  get bytes(): number {
    let perSlot = 8 + 1;
    for (const col of this.cols) perSlot += col.BYTES_PER_ELEMENT;
    return this.cap * perSlot;
  }

  /** The slot holding `prefix`, or -1. */
  slot(prefix: PrefixKey): number {
    const keys = this.keys;
    let i = hashKey(prefix) % this.cap;
    for (;;) {
      const k = keys[i];
      if (k === prefix) return i;
      if (k !== k) return -1;
      if (++i === this.cap) i = 0;
    }
  }

  /** The slot holding `prefix`, made (all columns NONE, no flags) when absent. */
  upsert(prefix: PrefixKey): number {
    if (prefix !== prefix) throw new Error('RouteTable: NaN is not a prefix key');
    if (this.count + 1 > this.cap * MAX_LOAD) this.resize(Math.ceil(this.cap * GROWTH));
    // One probe run: the key is found before the first empty slot, or goes there.
    const keys = this.keys;
    const cap = this.cap;
    let i = hashKey(prefix) % cap;
    for (;;) {
      const k = keys[i];
      if (k === prefix) return i;
      if (k !== k) break;
      if (++i === cap) i = 0;
    }
    keys[i] = prefix;
    this.count++;
    return i;
  }

  keyAt(slot: number): number {
    return this.keys[slot];
  }

  at(slot: number, column: number): number {
    return this.cols[column][slot] - 1;
  }

  setAt(slot: number, column: number, value: number): void {
    const v = value + 1;
    if (v > 0xffff) this.widen(column);
    this.cols[column][slot] = v;
  }

  private widen(column: number): void {
    const col = this.cols[column];
    if (col instanceof Int32Array) return;
    this.cols[column] = Int32Array.from(col);
  }

  flagsAt(slot: number): number {
    return this.flagBytes[slot];
  }

  setFlagsAt(slot: number, flags: number): void {
    this.flagBytes[slot] = flags;
  }

  /** A column's value for `prefix` (NONE when absent). */
  get(prefix: PrefixKey, column: number): number {
    const s = this.slot(prefix);
    return s < 0 ? NONE : this.cols[column][s] - 1;
  }

  /** Set a column; NONE on an entry left with nothing removes it. */
  set(prefix: PrefixKey, column: number, value: number): void {
    if (value === NONE) {
      const s = this.slot(prefix);
      if (s < 0) return;
      this.cols[column][s] = 0;
      this.removeIfEmpty(s);
      return;
    }
    this.setAt(this.upsert(prefix), column, value);
  }

  /** True when the slot's entry holds nothing: no column set, no flag. */
  isEmptyAt(slot: number): boolean {
    if (this.flagBytes[slot] !== 0) return false;
    for (let c = 0; c < COLUMNS; c++) if (this.cols[c][slot] !== 0) return false;
    return true;
  }

  /** Remove the slot's entry if it holds nothing; true when removed. */
  removeIfEmpty(slot: number): boolean {
    if (!this.isEmptyAt(slot)) return false;
    this.removeAt(slot);
    return true;
  }

  /** Remove every empty entry; shrink when mostly empty. Not during an iteration over slots. */
  sweep(): void {
    for (let i = 0; i < this.cap; ) {
      const k = this.keys[i];
      // A removal shifts a later entry into slot i: look at i again.
      if (k === k && this.isEmptyAt(i)) this.removeAt(i);
      else i++;
    }
    if (this.cap > MIN_CAPACITY && this.count < this.cap * MAX_LOAD * 0.25) this.resize(Math.max(MIN_CAPACITY, Math.ceil(this.count / (MAX_LOAD * 0.5))));
  }

  private removeAt(slot: number): void {
    const keys = this.keys;
    const cap = this.cap;
    let hole = slot;
    let j = slot;
    for (;;) {
      if (++j === cap) j = 0;
      const k = keys[j];
      if (k !== k) break;
      const home = hashKey(k) % cap;
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      keys[hole] = k;
      for (const col of this.cols) col[hole] = col[j];
      this.flagBytes[hole] = this.flagBytes[j];
      hole = j;
    }
    keys[hole] = NaN;
    for (const col of this.cols) col[hole] = 0;
    this.flagBytes[hole] = 0;
    this.count--;
  }

  private resize(capacity: number): void {
    const oldKeys = this.keys;
    const oldCols = this.cols;
    const oldFlags = this.flagBytes;
    this.cap = capacity;
    this.keys = new Float64Array(capacity).fill(NaN);
    this.cols = oldCols.map((col) => (col instanceof Int32Array ? new Int32Array(capacity) : new Uint16Array(capacity)));
    this.flagBytes = new Uint8Array(capacity);
    for (let s = 0; s < oldKeys.length; s++) {
      const k = oldKeys[s];
      if (k !== k) continue;
      let i = hashKey(k) % capacity;
      while (this.keys[i] === this.keys[i]) if (++i === capacity) i = 0;
      this.keys[i] = k;
      for (let c = 0; c < COLUMNS; c++) this.cols[c][i] = oldCols[c][s];
      this.flagBytes[i] = oldFlags[s];
    }
  }
}

/**
 * A growable FIFO of prefix keys (the programmer's dirty prefixes): 8 bytes
 * a prefix instead of a Set entry and a boxed number.
 */
export class KeyQueue {
  private buf = new Float64Array(64);
  private head = 0;
  private tail = 0;

  get length(): number {
    return this.tail - this.head;
  }

  push(key: number): void {
    if (this.tail === this.buf.length) {
      const live = this.tail - this.head;
      // Mostly consumed: slide the live part down; otherwise double.
      if (this.head >= this.buf.length / 2) this.buf.copyWithin(0, this.head, this.tail);
      else {
        const next = new Float64Array(this.buf.length * 2);
        next.set(this.buf.subarray(this.head, this.tail));
        this.buf = next;
      }
      this.head = 0;
      this.tail = live;
    }
    this.buf[this.tail++] = key;
  }

  shift(): number {
    const k = this.buf[this.head++];
    if (this.head === this.tail) {
      this.head = this.tail = 0;
      if (this.buf.length > 1 << 16) this.buf = new Float64Array(64);
    }
    return k;
  }
}

/**
 * Routes as a dump returned them, compact: prefix keys and shape ids in
 * growable typed arrays (a 1M-route dump is 12 MB, not 1M objects).
 */
export class RouteList {
  private prefixes = new Float64Array(256);
  private ids = new Int32Array(256);
  private n = 0;

  constructor(readonly shapes: ShapeTable) {}

  static of(routes: Iterable<KernelRoute>, shapes: ShapeTable): RouteList {
    const list = new RouteList(shapes);
    for (const r of routes) list.push(r.prefix, shapes.of(r));
    return list;
  }

  get length(): number {
    return this.n;
  }

  push(prefix: PrefixKey, shape: number): void {
    if (this.n === this.prefixes.length) {
      const p = new Float64Array(this.n * 2);
      p.set(this.prefixes);
      this.prefixes = p;
      const s = new Int32Array(this.n * 2);
      s.set(this.ids);
      this.ids = s;
    }
    this.prefixes[this.n] = prefix;
    this.ids[this.n++] = shape;
  }

  prefixAt(i: number): PrefixKey {
    return this.prefixes[i];
  }

  shapeAt(i: number): number {
    return this.ids[i];
  }

  route(i: number): KernelRoute {
    return this.shapes.route(this.prefixes[i], this.ids[i]);
  }

  toArray(): KernelRoute[] {
    const out: KernelRoute[] = [];
    for (let i = 0; i < this.n; i++) out.push(this.route(i));
    return out;
  }
}
