/**
 * The programmer's compact state (src/kernel/route-table.ts) against plain
 * Map models: the same operations give the same entries, through growth,
 * backward-shift removals, sweeps and shrinking, for IPv4 keys (address*64+len,
 * up to 2^38), the default route's key 0 and IPv6's negative ids.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTUAL, ADOPTED, DESIRED, DIRTY, KeyQueue, LEARNED, NextHops, NONE, RouteList, RouteTable, ShapeTable } from '../../../src/kernel/route-table.js';
import { prefixKey } from '../../../src/bgp/prefix.js';
import { gatewayRoute, blackholeRoute, routeSatisfies } from '../../../src/kernel/route.js';

type Entry = { cols: [number, number, number]; flags: number };

/** Keys from a small pool so that operations hit the same keys and probe chains collide. */
const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 300 }).map((i) => prefixKey((0xc0a80000 + i * 64) >>> 0, 26)),
  fc.integer({ min: 0, max: 40 }).map((i) => prefixKey((0x0a000000 + i * 256) >>> 0, 24)),
  fc.constant(0),
  fc.integer({ min: 1, max: 60 }).map((i) => -i),
);
/** Few keys: the table stays at 16-26 slots, highly loaded, so probe chains wrap around its end. */
const fewKeysArb = fc.integer({ min: 0, max: 17 }).map((i) => (i < 9 ? prefixKey((0x0a000000 + i * 64) >>> 0, 26) : -i));
/** Mostly small ids (16-bit columns), sometimes one that widens its column to 32 bits. */
const valueArb = fc.oneof({ weight: 2, arbitrary: fc.constant(NONE) }, { weight: 8, arbitrary: fc.integer({ min: 0, max: 1000 }) }, { weight: 1, arbitrary: fc.integer({ min: 65530, max: 2 ** 31 - 2 }) });
const opsArb = (key: fc.Arbitrary<number>) => fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key, col: fc.constantFrom(LEARNED, DESIRED, ACTUAL), value: valueArb }),
  fc.record({ kind: fc.constant('flags' as const), key, flags: fc.constantFrom(0, DIRTY, ADOPTED, DIRTY | ADOPTED) }),
  fc.record({ kind: fc.constant('sweep' as const) }),
  fc.record({ kind: fc.constant('clearAll' as const), col: fc.constantFrom(LEARNED, DESIRED, ACTUAL) }),
);

function contents(t: RouteTable): Map<number, Entry> {
  const out = new Map<number, Entry>();
  for (let s = 0; s < t.capacity; s++) {
    const k = t.keyAt(s);
    if (k !== k) continue;
    expect(out.has(k)).toBe(false); // one slot per key
    out.set(k, { cols: [t.at(s, LEARNED), t.at(s, DESIRED), t.at(s, ACTUAL)], flags: t.flagsAt(s) });
  }
  return out;
}

const empty = (e: Entry): boolean => e.flags === 0 && e.cols.every((v) => v === NONE);

describe('RouteTable', () => {
  it.each([
    ['many keys (growth)', keyArb],
    ['few keys (a full small table, wrapping probe chains)', fewKeysArb],
  ])('behaves as a Map model under random sets, flags, column clears and sweeps: %s', (_name, key) => {
    fc.assert(
      fc.property(fc.array(opsArb(key), { maxLength: 400 }), (ops) => {
        const t = new RouteTable();
        const model = new Map<number, Entry>();
        for (const op of ops) {
          if (op.kind === 'set') {
            t.set(op.key, op.col, op.value);
            const e = model.get(op.key) ?? { cols: [NONE, NONE, NONE], flags: 0 };
            if (op.value === NONE && !model.has(op.key)) continue;
            e.cols[op.col] = op.value;
            if (empty(e)) model.delete(op.key);
            else model.set(op.key, e);
          } else if (op.kind === 'flags') {
            t.setFlagsAt(t.upsert(op.key), op.flags);
            const e = model.get(op.key) ?? { cols: [NONE, NONE, NONE], flags: 0 };
            e.flags = op.flags;
            model.set(op.key, e); // kept (even when empty) until a sweep
          } else if (op.kind === 'clearAll') {
            // What a caller does over slots: change values in place, then sweep.
            for (let s = 0; s < t.capacity; s++) if (t.keyAt(s) === t.keyAt(s)) t.setAt(s, op.col, NONE);
            for (const e of model.values()) e.cols[op.col] = NONE;
          } else {
            t.sweep();
            for (const [k, e] of model) if (empty(e)) model.delete(k);
          }
          // Point lookups agree with the model after every step.
          for (const [k, e] of model) {
            expect(t.get(k, LEARNED)).toBe(e.cols[0]);
            expect(t.get(k, DESIRED)).toBe(e.cols[1]);
            expect(t.get(k, ACTUAL)).toBe(e.cols[2]);
          }
        }
        expect(contents(t)).toEqual(model);
        expect(t.size).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });

  it('holds 100k routes, finds each, and shrinks back when they go', () => {
    const t = new RouteTable();
    const n = 100_000;
    for (let i = 0; i < n; i++) t.set(prefixKey((0x0a000000 + i * 64) >>> 0, 26), DESIRED, i % 7);
    expect(t.size).toBe(n);
    expect(t.capacity).toBeLessThan((n / 0.8) * 1.5 + 16);
    for (let i = 0; i < n; i += 997) expect(t.get(prefixKey((0x0a000000 + i * 64) >>> 0, 26), DESIRED)).toBe(i % 7);
    expect(t.get(prefixKey(0x0b000000, 26), DESIRED)).toBe(NONE);
    for (let s = 0; s < t.capacity; s++) if (t.keyAt(s) === t.keyAt(s)) t.setAt(s, DESIRED, NONE);
    t.sweep();
    expect(t.size).toBe(0);
    expect(t.capacity).toBeLessThan(100);
  });

  it('refuses NaN as a key (it marks empty slots)', () => {
    expect(() => new RouteTable().upsert(NaN)).toThrow(/NaN/);
  });
});

describe('ShapeTable', () => {
  it('gives equal routes one id and satisfies() agrees with routeSatisfies', () => {
    const shapes = new ShapeTable();
    const p = prefixKey(0x0a000000, 26);
    const routes = [
      gatewayRoute(p, 0x0a4d0001, 'tunl0', true),
      gatewayRoute(p, 0x0a4d0001),
      gatewayRoute(p, 0x0a4d0001, 'eth0'),
      gatewayRoute(p, 0xc0a80001, 'tunl0', true),
      blackholeRoute(p),
      { ...blackholeRoute(p), metric: 5 },
    ];
    const ids = routes.map((r) => shapes.of(r));
    expect(new Set(ids).size).toBe(routes.length);
    expect(routes.map((r) => shapes.of({ ...r }))).toEqual(ids);
    for (let i = 0; i < routes.length; i++) {
      expect(shapes.route(p, ids[i])).toEqual(routes[i]);
      for (let j = 0; j < routes.length; j++) expect(shapes.satisfies(ids[i], ids[j])).toBe(routeSatisfies(routes[i], routes[j]));
      expect(shapes.satisfies(NONE, ids[i])).toBe(false);
    }
  });

  it('NextHops interns numbers of either family', () => {
    const nh = new NextHops();
    const a = nh.intern(0xc0a80001);
    expect(nh.intern(-42)).not.toBe(a);
    expect(nh.intern(0xc0a80001)).toBe(a);
    expect(nh.get(a)).toBe(0xc0a80001);
  });
});

describe('KeyQueue and RouteList', () => {
  it('KeyQueue is a FIFO through growth and slides', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -5, max: 2 ** 38 }), fc.constant(null)), { maxLength: 3000 }), (steps) => {
        const q = new KeyQueue();
        const model: number[] = [];
        for (const s of steps) {
          if (s === null) {
            if (model.length) expect(q.shift()).toBe(model.shift());
          } else {
            q.push(s);
            model.push(s);
          }
          expect(q.length).toBe(model.length);
        }
        while (model.length) expect(q.shift()).toBe(model.shift());
      }),
    );
  });

  it('RouteList gives back the routes it was given', () => {
    const shapes = new ShapeTable();
    const routes = Array.from({ length: 1000 }, (_, i) => (i % 3 ? gatewayRoute(prefixKey((0x0a000000 + i * 64) >>> 0, 26), 0x0a4d0000 + (i % 10), 'tunl0', true) : blackholeRoute(-1 - i)));
    const list = RouteList.of(routes, shapes);
    expect(list.length).toBe(1000);
    expect(list.toArray()).toEqual(routes);
    expect(shapes.size).toBe(11);
  });
});
