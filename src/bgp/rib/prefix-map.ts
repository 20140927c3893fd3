/**
 * A hash map from IPv4 prefix keys (address * 64 + length, < 2^38) to values,
 * by open addressing over a Float64Array.
 *
 * Why not `Map<number, V>`: prefix keys exceed the small-integer range, so a
 * JS Map boxes every key as a heap number the garbage collector must trace,
 * and its entries cost ~40 bytes. Here a slot costs 16 bytes (the key, unboxed,
 * and one value reference), there are no per-entry objects, and at a million
 * routes the collector has one key array and one value array to look at.
 *
 * Linear probing; deletions leave tombstones, swept when the table is rebuilt.
 * Iteration order is table order (not insertion order).
 */
const EMPTY = -1;
const DELETED = -2;
const MIN_CAPACITY = 16;

export class PrefixMap<V> {
  private keys: Float64Array;
  private vals: (V | undefined)[];
  private mask: number;
  private count = 0;
  private used = 0; // live + tombstones

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.vals = packedArray<V>(cap);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.count;
  }

  private static hash(key: number): number {
    const lo = key >>> 0; // ToUint32: the low 32 bits of an integer below 2^53
    const hi = (key / 4294967296) >>> 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  get(key: number): V | undefined {
    const keys = this.keys;
    const mask = this.mask;
    let i = PrefixMap.hash(key) & mask;
    for (;;) {
      const k = keys[i];
      if (k === key) return this.vals[i];
      if (k === EMPTY) return undefined;
      i = (i + 1) & mask;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  /** `value` must not be undefined. */
  set(key: number, value: V): void {
    const keys = this.keys;
    const mask = this.mask;
    let i = PrefixMap.hash(key) & mask;
    let tomb = -1;
    for (;;) {
      const k = keys[i];
      if (k === key) {
        this.vals[i] = value;
        return;
      }
      if (k === EMPTY) break;
      if (k === DELETED && tomb < 0) tomb = i;
      i = (i + 1) & mask;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    keys[i] = key;
    this.vals[i] = value;
    this.count++;
    if (this.used * 4 >= keys.length * 3) this.rebuild(this.count * 2 >= keys.length / 2 ? keys.length * 2 : keys.length);
  }

  delete(key: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = PrefixMap.hash(key) & mask;
    for (;;) {
      const k = keys[i];
      if (k === key) {
        keys[i] = DELETED;
        this.vals[i] = undefined;
        this.count--;
        return true;
      }
      if (k === EMPTY) return false;
      i = (i + 1) & mask;
    }
  }

  /** Insert when absent; returns false (and changes nothing) when `key` is present. One probe. */
  addIfAbsent(key: number, value: V): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = PrefixMap.hash(key) & mask;
    let tomb = -1;
    for (;;) {
      const k = keys[i];
      if (k === key) return false;
      if (k === EMPTY) break;
      if (k === DELETED && tomb < 0) tomb = i;
      i = (i + 1) & mask;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    keys[i] = key;
    this.vals[i] = value;
    this.count++;
    if (this.used * 4 >= keys.length * 3) this.rebuild(this.count * 2 >= keys.length / 2 ? keys.length * 2 : keys.length);
    return true;
  }

  /** Remove everything; keeps the capacity when `keepCapacity` (a table refilled every turn). */
  clear(keepCapacity = false): void {
    if (keepCapacity) {
      this.keys.fill(EMPTY);
      this.vals.fill(undefined);
    } else {
      this.keys = new Float64Array(MIN_CAPACITY).fill(EMPTY);
      this.vals = packedArray<V>(MIN_CAPACITY);
      this.mask = MIN_CAPACITY - 1;
    }
    this.count = 0;
    this.used = 0;
  }

  private rebuild(capacity: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.keys = new Float64Array(capacity).fill(EMPTY);
    this.vals = packedArray<V>(capacity);
    this.mask = capacity - 1;
    this.used = 0;
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i];
      if (k >= 0) this.set(k, oldVals[i] as V);
    }
  }

  /** Visit every entry; the callback must not add or delete. */
  forEach(fn: (value: V, key: number) => void): void {
    const keys = this.keys;
    const vals = this.vals;
    for (let i = 0; i < keys.length; i++) if (keys[i] >= 0) fn(vals[i] as V, keys[i]);
  }

  keyList(): number[] {
    const out: number[] = [];
    this.forEach((_, k) => out.push(k));
    return out;
  }

  *[Symbol.iterator](): Generator<[number, V]> {
    const keys = this.keys;
    const vals = this.vals;
    for (let i = 0; i < keys.length; i++) if (keys[i] >= 0) yield [keys[i], vals[i] as V];
  }
}

/** An array of `n` empty slots (holey, but fast elements: V8 keeps them fast at these sizes). */
function packedArray<V>(n: number): (V | undefined)[] {
  return new Array<V | undefined>(n);
}
