/**
 * ShapeTable rules the mutation run of src/kernel/route-table.ts showed no
 * test held (docs/RELIABILITY.md "Mutation testing"): interning keeps apart
 * shapes that share a gateway, a fresh route carries no undefined fields,
 * and "already satisfied" compares what BIRD's kernel protocol compares.
 */
import { describe, expect, it } from 'vitest';
import { KeyQueue, ShapeTable, shapeSatisfies } from '../../../src/kernel/route-table.js';

const GW = 0x0a000002;

describe('ShapeTable', () => {
  it('keeps apart shapes with one gateway and another type, device, onlink or metric', () => {
    const t = new ShapeTable();
    const base = t.intern('unicast', GW, 'eth0', false, 0);
    const ids = [
      base,
      t.intern('blackhole', GW, 'eth0', false, 0),
      t.intern('unicast', GW, 'tunl0', false, 0),
      t.intern('unicast', GW, undefined, false, 0),
      t.intern('unicast', GW, 'eth0', true, 0),
      t.intern('unicast', GW, 'eth0', false, 1024),
    ];
    expect(new Set(ids).size).toBe(6);
    expect(t.intern('unicast', GW, 'eth0', false, 0)).toBe(base);
  });

  it('gives a route without the gateway or device it has none of', () => {
    const t = new ShapeTable();
    expect(t.route(7, t.intern('blackhole', undefined, undefined, false, 0))).toStrictEqual({ prefix: 7, type: 'blackhole', onlink: false, metric: 0 });
    expect(t.route(7, t.intern('unicast', GW, 'eth0', true, 0))).toStrictEqual({ prefix: 7, type: 'unicast', gateway: GW, dev: 'eth0', onlink: true, metric: 0 });
  });

  it('tells multipath shapes apart by their next hops', () => {
    const t = new ShapeTable();
    const a = t.internMultipath([{ gateway: 1, dev: 'eth0', onlink: true }, { gateway: 2, onlink: false }], 0);
    expect(t.internMultipath([{ gateway: 1, dev: 'eth0', onlink: true }, { gateway: 2, onlink: false }], 0)).toBe(a);
    expect(t.internMultipath([{ gateway: 1, dev: 'eth1', onlink: true }, { gateway: 2, onlink: false }], 0)).not.toBe(a);
    expect(t.internMultipath([{ gateway: 1, dev: 'eth0', onlink: false }, { gateway: 2, onlink: false }], 0)).not.toBe(a);
    expect(t.internMultipath([{ gateway: 1, dev: 'eth0', onlink: true }, { gateway: 3, onlink: false }], 0)).not.toBe(a);
  });
});

describe('shapeSatisfies', () => {
  const uni = (dev: string | undefined, gateway = GW) => ({ type: 'unicast' as const, gateway, dev, onlink: false, metric: 0 });
  it('takes any device when none is asked for, and only that device when one is', () => {
    expect(shapeSatisfies(uni('eth0'), uni(undefined))).toBe(true);
    expect(shapeSatisfies(uni('eth0'), uni('eth0'))).toBe(true);
    expect(shapeSatisfies(uni('eth1'), uni('eth0'))).toBe(false);
  });
  it('ignores next hops for a blackhole but not for a unicast route', () => {
    const bh = (gateway?: number) => ({ type: 'blackhole' as const, gateway, onlink: false, metric: 0 });
    expect(shapeSatisfies(bh(1), bh(undefined))).toBe(true);
    expect(shapeSatisfies(uni('eth0', 1), uni('eth0', 2))).toBe(false);
  });
  it('never takes a single-path route for a multipath one, or the reverse', () => {
    const multi = { type: 'unicast' as const, onlink: false, metric: 0, nexthops: [{ gateway: GW, dev: 'eth0', onlink: false }, { gateway: GW + 1, dev: 'eth0', onlink: false }] };
    expect(shapeSatisfies(multi, multi)).toBe(true);
    expect(shapeSatisfies(uni('eth0'), multi)).toBe(false);
    expect(shapeSatisfies(multi, uni('eth0'))).toBe(false);
    // A device route (no gateway) is not a multipath one, and two multipath shapes compare their hops.
    expect(shapeSatisfies({ type: 'unicast', dev: 'eth0', onlink: false, metric: 0 }, multi)).toBe(false);
    const other = { ...multi, nexthops: [multi.nexthops[0], { gateway: GW + 2, dev: 'eth0', onlink: false }] };
    expect(shapeSatisfies(other, multi)).toBe(false);
  });
});

describe('KeyQueue (the dirty prefixes, in order)', () => {
  it('keeps every key in order while it grows past its first buffer', () => {
    const q = new KeyQueue();
    for (let i = 0; i < 1000; i++) q.push(i * 256);
    expect(q.length).toBe(1000);
    const out: number[] = [];
    while (q.length > 0) out.push(q.shift());
    expect(out).toEqual(Array.from({ length: 1000 }, (_, i) => i * 256));
  });

  it('keeps the order when a mostly consumed buffer slides down and when a half-consumed one doubles', () => {
    const q = new KeyQueue();
    const want: number[] = [];
    const out: number[] = [];
    let next = 1;
    for (const [pushes, shifts] of [[64, 40], [100, 10], [30, 100], [200, 0]]) {
      for (let i = 0; i < pushes; i++) {
        q.push(next);
        want.push(next++);
      }
      for (let i = 0; i < shifts; i++) out.push(q.shift());
    }
    while (q.length > 0) out.push(q.shift());
    expect(out).toEqual(want);
  });
});
