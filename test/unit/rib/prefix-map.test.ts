import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixMap } from '../../../src/bgp/rib/prefix-map.js';

// Keys like real prefix keys (address * 64 + length, up to 2^38), drawn from a small pool so that
// sets, overwrites and deletes of the same key happen often.
// A few shared value objects, as in a RIB where many prefixes point at one Path.
const VALUES = Array.from({ length: 6 }, (_, i) => ({ v: i }));
const keyArb = fc.integer({ min: 0, max: 40 }).map((i) => (0xc0a80000 + i * 64) * 64 + 26 + (i % 3));
const opArb = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key: keyArb, value: fc.integer({ min: 0, max: 5 }).map((i) => VALUES[i]) }),
  fc.record({ op: fc.constant('delete' as const), key: keyArb }),
  fc.record({ op: fc.constant('add' as const), key: keyArb, value: fc.integer({ min: 0, max: 5 }).map((i) => VALUES[i]) }),
);

describe('PrefixMap', () => {
  it('behaves like a Map under random set/delete/addIfAbsent (with growth and tombstones)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        const m = new PrefixMap<{ v: number }>();
        const model = new Map<number, { v: number }>();
        for (const o of ops) {
          if (o.op === 'set') {
            m.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === 'delete') {
            expect(m.delete(o.key)).toBe(model.delete(o.key));
          } else {
            const added = m.addIfAbsent(o.key, o.value);
            expect(added).toBe(!model.has(o.key));
            if (added) model.set(o.key, o.value);
          }
          expect(m.size).toBe(model.size);
          expect(m.get(o.key)).toBe(model.get(o.key));
        }
        expect(new Map([...m])).toEqual(model);
        const visited = new Map<number, { v: number }>();
        m.forEach((v, k) => visited.set(k, v));
        expect(visited).toEqual(model);
      }),
      { numRuns: 200 },
    );
  });

  it('holds many keys and forgets cleared ones', () => {
    const m = new PrefixMap<{ v: string }>();
    const vals = Array.from({ length: 50_000 }, (_, i) => ({ v: `v${i}` }));
    for (let i = 0; i < 50_000; i++) m.set((0x0a000000 + i * 64) * 64 + 26, vals[i]);
    expect(m.size).toBe(50_000);
    expect(m.get((0x0a000000 + 49_999 * 64) * 64 + 26)?.v).toBe('v49999');
    expect(m.get(0x0a000000 * 64 + 25)).toBeUndefined();
    m.clear(true);
    expect(m.size).toBe(0);
    expect(m.get(0x0a000000 * 64 + 26)).toBeUndefined();
  });

  it('takeAll returns the values of its keys and empties the table, in a large table or a small one', () => {
    const batchArb = fc.uniqueArray(keyArb, { maxLength: 41 });
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 6 }), fc.boolean(), (batches, grown) => {
        const m = new PrefixMap<{ v: number }>();
        if (grown) {
          // A table that once held many keys (capacity kept), so takeAll clears slot by slot.
          for (let i = 0; i < 1000; i++) m.addIfAbsent(i * 4096 + 26, VALUES[0]);
          m.clear(true);
        }
        for (const batch of batches) {
          batch.forEach((k, i) => expect(m.addIfAbsent(k, VALUES[i % 6])).toBe(true));
          const out: { v: number }[] = [];
          m.takeAll(batch, out);
          expect(out).toEqual(batch.map((_, i) => VALUES[i % 6]));
          expect(m.size).toBe(0);
          for (const k of batch) expect(m.get(k)).toBeUndefined();
          expect([...m]).toEqual([]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
