/** The destination table and the path-list arena against plain Maps, through growth, tombstones and block reuse. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ipv4Table, LIST_FLAG, PathLists } from '../../../src/bgp/rib/dest-table.js';
import { prefixKey } from '../../../src/bgp/prefix.js';

describe('Ipv4Table', () => {
  it('finds what was inserted, through growth, removal and reuse of tombstones', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ op: fc.constantFrom('put', 'del', 'set'), n: fc.integer({ min: 0, max: 3000 }), len: fc.constantFrom(0, 8, 24, 26, 32) }), { maxLength: 3000 }),
        (ops) => {
          const t = new Ipv4Table();
          const model = new Map<number, number>();
          for (const o of ops) {
            const addr = o.len === 0 ? 0 : ((o.n << (32 - o.len)) >>> 0) % 2 ** 32;
            const key = prefixKey(o.len === 0 ? 0 : addr, o.len);
            const slot = t.find(key);
            expect(slot >= 0).toBe(model.has(key));
            if (o.op === 'put' && slot < 0) {
              const payload = (o.n % (LIST_FLAG - 1)) + 1;
              let at: number;
              if (o.n % 3 === 0) {
                at = t.insert(key, payload, o.n % 2 === 0);
              } else {
                const p = t.probe(key);
                expect(p).toBeLessThan(0);
                at = -p - 1;
                t.insertAt(at, key, payload, o.n % 2 === 0);
              }
              expect(t.holds(at, key)).toBe(true);
              expect(t.probe(key)).toBeGreaterThanOrEqual(0); // found (it may have moved: probe makes room first)
              model.set(key, payload);
            } else if (o.op === 'del' && slot >= 0) {
              t.remove(slot);
              model.delete(key);
            } else if (o.op === 'set' && slot >= 0) {
              const payload = LIST_FLAG + o.n;
              t.setPayload(slot, payload);
              t.setDirty(slot);
              expect(t.dirty(slot)).toBe(true);
              t.clearDirty(slot);
              model.set(key, payload);
            }
          }
          expect(t.size).toBe(model.size);
          const seen = new Map<number, number>();
          for (let s = 0; s < t.capacity; s++) if (t.live(s)) seen.set(t.keyAt(s), t.payload(s));
          expect(seen).toEqual(model);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('PathLists', () => {
  it('keeps each list apart while blocks are allocated, grown and reused', () => {
    const lists = new PathLists();
    const model = new Map<number, number[]>();
    let next = 1;
    for (let round = 0; round < 2000; round++) {
      const n = 1 + (round % 20);
      const off = lists.alloc(n);
      expect(off % 4).toBe(0);
      const els = Array.from({ length: n }, () => next++);
      els.forEach((e, i) => lists.set(off, i, e));
      lists.a[off] = (lists.a[off] & ~0xffff) | n;
      expect(lists.capacityOf(off)).toBeGreaterThanOrEqual(n);
      model.set(off, els);
      if (round % 3 === 0) {
        const victim = [...model.keys()][round % model.size];
        lists.release(victim);
        model.delete(victim);
      }
    }
    for (const [off, els] of model) {
      expect(lists.count(off)).toBe(els.length);
      expect(els.map((_, i) => lists.get(off, i))).toEqual(els);
    }
  });
});
