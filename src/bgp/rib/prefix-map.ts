/**
 * A hash map from IPv4 prefix keys (address * 64 + length, < 2^38) to
 * object values, by open addressing over typed arrays.
 *
 * Why not `Map<number, V>`: prefix keys exceed the small-integer range, so a
 * JS Map boxes every key as a heap number the garbage collector must trace,
 * and its entries cost ~40 bytes. Here a slot is 12 bytes: the key unboxed in
 * a Float64Array and a 32-bit value id in an Int32Array. Values are few
 * distinct objects in a RIB (Path objects are shared by every prefix of an
 * UPDATE), so they sit once in a small registry, reference counted by the
 * slots that hold them; typed arrays also grow several times faster than JS
 * arrays of the same length, and the collector has nothing to trace in them.
 *
 * Linear probing; deletions leave tombstones, swept when the table is rebuilt.
 * Iteration order is table order (not insertion order).
 */
const EMPTY = -1;
const DELETED = -2;
const MIN_CAPACITY = 16;

export class PrefixMap<V extends object> {
  private keys: Float64Array;
  private ids: Int32Array;
  private mask: number;
  private count = 0;
  private used = 0; // live + tombstones

  // Value registry: id -> value (id 0 unused), reference counts, free ids, value -> id.
  private reg: (V | undefined)[] = [undefined];
  private refs = new Int32Array(16);
  private free: number[] = [];
  private idOf = new Map<V, number>();
  private lastValue: V | undefined;
  private lastId = 0;

  constructor(capacity = MIN_CAPACITY) {
    let cap = MIN_CAPACITY;
    while (cap < capacity * 2) cap *= 2;
    this.keys = new Float64Array(cap).fill(EMPTY);
    this.ids = new Int32Array(cap);
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

  /** The registry id for `value`, one more reference taken. */
  private retain(value: V): number {
    let id: number;
    if (value === this.lastValue) id = this.lastId;
    else {
      const known = this.idOf.get(value);
      if (known !== undefined) id = known;
      else {
        id = this.free.length > 0 ? this.free.pop()! : this.reg.length;
        if (id === this.reg.length) this.reg.push(value);
        else this.reg[id] = value;
        if (id >= this.refs.length) {
          const r = new Int32Array(this.refs.length * 2);
          r.set(this.refs);
          this.refs = r;
        }
        this.idOf.set(value, id);
      }
      this.lastValue = value;
      this.lastId = id;
    }
    this.refs[id]++;
    return id;
  }

  private release(id: number): void {
    if (--this.refs[id] > 0) return;
    const value = this.reg[id]!;
    this.idOf.delete(value);
    this.reg[id] = undefined;
    this.free.push(id);
    if (this.lastId === id) {
      this.lastValue = undefined;
      this.lastId = 0;
    }
  }

  get(key: number): V | undefined {
    const keys = this.keys;
    const mask = this.mask;
    let i = PrefixMap.hash(key) & mask;
    for (;;) {
      const k = keys[i];
      if (k === key) return this.reg[this.ids[i]];
      if (k === EMPTY) return undefined;
      i = (i + 1) & mask;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): void {
    this.put(key, value, true);
  }

  /** Insert when absent; returns false (and changes nothing) when `key` is present. One probe. */
  addIfAbsent(key: number, value: V): boolean {
    return this.put(key, value, false);
  }

  private put(key: number, value: V, overwrite: boolean): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = PrefixMap.hash(key) & mask;
    let tomb = -1;
    for (;;) {
      const k = keys[i];
      if (k === key) {
        if (!overwrite) return false;
        const old = this.ids[i];
        if (this.reg[old] !== value) {
          this.ids[i] = this.retain(value);
          this.release(old);
        }
        return true;
      }
      if (k === EMPTY) break;
      if (k === DELETED && tomb < 0) tomb = i;
      i = (i + 1) & mask;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    keys[i] = key;
    this.ids[i] = this.retain(value);
    this.count++;
    if (this.used * 4 >= keys.length * 3) this.rebuild(this.count * 2 >= keys.length / 2 ? keys.length * 2 : keys.length);
    return true;
  }

  delete(key: number): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = PrefixMap.hash(key) & mask;
    for (;;) {
      const k = keys[i];
      if (k === key) {
        keys[i] = DELETED;
        this.release(this.ids[i]);
        this.ids[i] = 0;
        this.count--;
        return true;
      }
      if (k === EMPTY) return false;
      i = (i + 1) & mask;
    }
  }

  /** Remove everything; keeps the capacity when `keepCapacity` (a table refilled every turn). */
  clear(keepCapacity = false): void {
    if (keepCapacity) {
      this.keys.fill(EMPTY);
      this.ids.fill(0);
    } else {
      this.keys = new Float64Array(MIN_CAPACITY).fill(EMPTY);
      this.ids = new Int32Array(MIN_CAPACITY);
      this.mask = MIN_CAPACITY - 1;
    }
    this.reg = [undefined];
    this.refs = new Int32Array(16);
    this.free = [];
    this.idOf = new Map();
    this.lastValue = undefined;
    this.lastId = 0;
    this.count = 0;
    this.used = 0;
  }

  private rebuild(capacity: number): void {
    const oldKeys = this.keys;
    const oldIds = this.ids;
    const keys = (this.keys = new Float64Array(capacity).fill(EMPTY));
    const ids = (this.ids = new Int32Array(capacity));
    const mask = (this.mask = capacity - 1);
    // Keys are unique and the new table has no tombstones: probe to the first empty slot.
    let n = 0;
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j];
      if (k < 0) continue;
      let i = PrefixMap.hash(k) & mask;
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = k;
      ids[i] = oldIds[j];
      n++;
    }
    this.count = n;
    this.used = n;
  }

  /** Visit every entry; the callback must not add or delete. */
  forEach(fn: (value: V, key: number) => void): void {
    const keys = this.keys;
    const ids = this.ids;
    const reg = this.reg;
    for (let i = 0; i < keys.length; i++) if (keys[i] >= 0) fn(reg[ids[i]]!, keys[i]);
  }

  keyList(): number[] {
    const out: number[] = [];
    this.forEach((_, k) => out.push(k));
    return out;
  }

  *[Symbol.iterator](): Generator<[number, V]> {
    const keys = this.keys;
    const ids = this.ids;
    for (let i = 0; i < keys.length; i++) if (keys[i] >= 0) yield [keys[i], this.reg[ids[i]]!];
  }
}
