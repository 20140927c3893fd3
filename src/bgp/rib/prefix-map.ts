/**
 * A hash map from IPv4 prefix keys (address * 64 + length, < 2^38) to
 * object values, by open addressing over typed arrays.
 *
 * Why not `Map<number, V>`: prefix keys exceed the small-integer range, so a
 * JS Map boxes every key as a heap number the garbage collector must trace,
 * and its entries cost ~40 bytes. Here a slot is 8 bytes: the prefix address
 * in a Uint32Array, and its length (6 bits) with a value id (26 bits) in an
 * Int32Array. (It was 12, the key as a double: on this VM first touching
 * fresh memory costs ~3 ms/MB, and growing the tables of a 1M-path RIB was
 * the largest single cost of ingest.) Values are few
 * distinct objects in a RIB (Path objects are shared by every prefix of an
 * UPDATE), so they sit once in a small registry, reference counted by the
 * slots that hold them; typed arrays also grow several times faster than JS
 * arrays of the same length, and the collector has nothing to trace in them.
 *
 * Linear probing; deletions leave tombstones, swept when the table is rebuilt.
 * Iteration order is table order (not insertion order).
 */
/** Slot word: value id * 64 + prefix length. Id 0 is never a value, so these two mark free slots. */
const EMPTY = 0;
const DELETED = 63;
const MIN_CAPACITY = 16;
const GROUP_BITS = 3;
const GROUP_MASK = (1 << GROUP_BITS) - 1;
/** Value ids live in 26 bits of the slot word. */
const MAX_ID = (1 << 25) - 1;

export class PrefixMap<V extends object> {
  private addrs: Uint32Array;
  private words: Int32Array;
  private mask: number;
  /** 32 - log2(capacity): a slot is the hash's top bits (see `rebuild`). */
  private shift: number;
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
    this.addrs = new Uint32Array(cap);
    this.words = new Int32Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.count;
  }

  /**
   * The first slot to probe for a prefix. Prefixes of one length are numbered
   * (n = address >>> (32 - length)); runs of GROUP consecutive numbers hash
   * together and sit in adjacent slots. An UPDATE carries mostly consecutive
   * prefixes (Calico blocks, packed by the sender in order), so its keys touch
   * a cache line per run instead of one per prefix, in each table.
   */
  private static home(addr: number, len: number, shift: number, mask: number): number {
    const n = len === 0 ? 0 : addr >>> (32 - len);
    let h = Math.imul((n >>> GROUP_BITS) ^ Math.imul(len, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return ((h >>> shift) + (n & GROUP_MASK)) & mask;
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
        if (id > MAX_ID) throw new Error('PrefixMap: too many distinct values');
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

  /** The slot holding `key`, or -1. */
  private find(key: number): number {
    const addr = (key / 64) >>> 0;
    const len = key - addr * 64;
    const addrs = this.addrs;
    const words = this.words;
    const mask = this.mask;
    let i = PrefixMap.home(addr, len, this.shift, mask);
    for (;;) {
      const w = words[i];
      if (w === EMPTY) return -1;
      if (addrs[i] === addr && (w & 63) === len && w !== DELETED) return i;
      i = (i + 1) & mask;
    }
  }

  get(key: number): V | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.reg[this.words[i] >>> 6];
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  set(key: number, value: V): void {
    this.put(key, value, true);
  }

  /** Insert when absent; returns false (and changes nothing) when `key` is present. One probe. */
  addIfAbsent(key: number, value: V): boolean {
    return this.put(key, value, false);
  }

  private put(key: number, value: V, overwrite: boolean): boolean {
    const addr = (key / 64) >>> 0;
    const len = key - addr * 64;
    const addrs = this.addrs;
    const words = this.words;
    const mask = this.mask;
    let i = PrefixMap.home(addr, len, this.shift, mask);
    let tomb = -1;
    for (;;) {
      const w = words[i];
      if (w === EMPTY) break;
      if (w === DELETED) {
        if (tomb < 0) tomb = i;
      } else if (addrs[i] === addr && (w & 63) === len) {
        if (!overwrite) return false;
        const old = w >>> 6;
        if (this.reg[old] !== value) {
          words[i] = this.retain(value) * 64 + len;
          this.release(old);
        }
        return true;
      }
      i = (i + 1) & mask;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    addrs[i] = addr;
    words[i] = this.retain(value) * 64 + len;
    this.count++;
    if (this.used * 4 >= words.length * 3) this.rebuild(this.count * 2 >= words.length / 2 ? words.length * 2 : words.length);
    return true;
  }

  delete(key: number): boolean {
    const i = this.find(key);
    if (i < 0) return false;
    this.release(this.words[i] >>> 6);
    this.words[i] = DELETED;
    this.count--;
    return true;
  }

  /**
   * The values of `keys` (each present, no duplicates) into `out`, then remove
   * everything. Costs in proportion to `keys`, not to the capacity: a table
   * refilled every event-loop turn keeps the capacity of its largest turn, and
   * clearing all of it each turn cost more than the turn's work.
   */
  takeAll(keys: readonly number[], out: V[]): void {
    if (keys.length * 4 >= this.words.length || this.used !== this.count) {
      for (let j = 0; j < keys.length; j++) out[j] = this.get(keys[j])!;
      this.clear(true);
      return;
    }
    // Find every slot first: clearing one could cut another key's probe run.
    const slots = new Int32Array(keys.length);
    for (let j = 0; j < keys.length; j++) {
      const i = this.find(keys[j]);
      slots[j] = i;
      out[j] = i < 0 ? (undefined as unknown as V) : this.reg[this.words[i] >>> 6]!;
    }
    let cleared = 0;
    for (let j = 0; j < slots.length; j++) {
      if (slots[j] < 0) continue;
      this.words[slots[j]] = EMPTY;
      cleared++;
    }
    if (cleared !== this.count) {
      // Some key was not in `keys`: clear the rest the slow way.
      this.clear(true);
      return;
    }
    this.resetValues();
  }

  /** Remove everything; keeps the capacity when `keepCapacity` (a table refilled every turn). */
  clear(keepCapacity = false): void {
    if (keepCapacity) {
      this.words.fill(EMPTY);
    } else {
      this.addrs = new Uint32Array(MIN_CAPACITY);
      this.words = new Int32Array(MIN_CAPACITY);
      this.mask = MIN_CAPACITY - 1;
      this.shift = 32 - Math.log2(MIN_CAPACITY);
    }
    this.resetValues();
  }

  private resetValues(): void {
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
    const oldAddrs = this.addrs;
    const oldWords = this.words;
    const addrs = (this.addrs = new Uint32Array(capacity));
    const words = (this.words = new Int32Array(capacity));
    const mask = (this.mask = capacity - 1);
    const shift = (this.shift = 32 - Math.log2(capacity));
    // Keys are unique and the new table has no tombstones: probe to the first empty slot.
    // A slot is the hash's top bits, so the old table is (up to probe runs) in hash
    // order and doubling sends old slot j to about 2j: the copy streams through
    // memory instead of missing the cache once per key.
    let n = 0;
    for (let j = 0; j < oldWords.length; j++) {
      const w = oldWords[j];
      if (w === EMPTY || w === DELETED) continue;
      const a = oldAddrs[j];
      let i = PrefixMap.home(a, w & 63, shift, mask);
      while (words[i] !== EMPTY) i = (i + 1) & mask;
      addrs[i] = a;
      words[i] = w;
      n++;
    }
    this.count = n;
    this.used = n;
  }

  /** Visit every entry; the callback must not add or delete. */
  forEach(fn: (value: V, key: number) => void): void {
    const addrs = this.addrs;
    const words = this.words;
    const reg = this.reg;
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (w !== EMPTY && w !== DELETED) fn(reg[w >>> 6]!, addrs[i] * 64 + (w & 63));
    }
  }

  keyList(): number[] {
    const out: number[] = [];
    this.forEach((_, k) => out.push(k));
    return out;
  }

  *[Symbol.iterator](): Generator<[number, V]> {
    const addrs = this.addrs;
    const words = this.words;
    for (let i = 0; i < words.length; i++) {
      const w = words[i];
      if (w !== EMPTY && w !== DELETED) yield [addrs[i] * 64 + (w & 63), this.reg[w >>> 6]!];
    }
  }
}
