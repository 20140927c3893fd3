/** TxQueue: coalescing, grouping, backpressure, keepalives ahead, End-of-RIB order, slicing. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT, decodeMessage, encodeAttributes, packUpdates, type UpdateMessage } from '../../../src/bgp/codec/index.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import type { AttrSet } from '../../../src/bgp/route.js';
import { TxQueue, type TxEncoder } from '../../../src/bgp/session/tx-queue.js';

class FakeSink extends EventEmitter {
  written: Buffer[] = [];
  /** write() returns false once this many messages are buffered (until drain()). */
  highWater = Infinity;
  private buffered = 0;
  write(chunk: Buffer): boolean {
    this.written.push(chunk);
    this.buffered++;
    return this.buffered < this.highWater;
  }
  drain(): void {
    this.buffered = 0;
    this.emit('drain');
  }
}

function manualDefer() {
  const jobs: (() => void)[] = [];
  return {
    defer: (fn: () => void) => void jobs.push(fn),
    /** Run queued deferrals (and what they queue) up to `max` steps. */
    run(max = 1000) {
      let n = 0;
      while (jobs.length > 0 && n++ < max) jobs.shift()!();
      return n;
    },
    get queued() {
      return jobs.length;
    },
  };
}

function counting(): TxEncoder & { attrCalls: number } {
  const enc = {
    attrCalls: 0,
    encodeAttributes(attrs: AttrSet['attrs'], ctx: typeof DEFAULT_CONTEXT) {
      enc.attrCalls++;
      return encodeAttributes(attrs, ctx);
    },
    packUpdates,
  };
  return enc;
}

const set = (id: number, nextHop: string): AttrSet => ({ id, attrs: { origin: 0, asPath: [], nextHop, localPref: 100 } });
const A = set(1, '10.0.0.1');
const B = set(2, '10.0.0.2');
const p = (s: string) => parsePrefix(s);

function decoded(sink: FakeSink): UpdateMessage[] {
  return sink.written.map((b) => decodeMessage(b, DEFAULT_CONTEXT)).filter((m): m is UpdateMessage => m.type === 'UPDATE');
}

describe('TxQueue', () => {
  it('coalesces per prefix: a later change replaces an earlier one still waiting', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer });
    q.enqueue([{ key: p('10.1.0.0/26'), pathId: 0, attrs: A }]);
    q.enqueue([{ key: p('10.1.0.0/26'), pathId: 0, attrs: B }]);
    q.enqueue([{ key: p('10.1.0.64/26'), pathId: 0, attrs: A }]);
    q.enqueue([{ key: p('10.1.0.64/26'), pathId: 0, attrs: null }]);
    expect(q.pending).toBe(2);
    d.run();
    const updates = decoded(sink);
    const announced = updates.flatMap((u) => u.nlri.keys.map((k) => [formatPrefix(k), u.attributes.nextHop]));
    const withdrawn = updates.flatMap((u) => u.withdrawn.keys.map(formatPrefix));
    expect(announced).toEqual([['10.1.0.0/26', '10.0.0.2']]);
    expect(withdrawn).toEqual(['10.1.0.64/26']);
  });

  it('groups prefixes by AttrSet and encodes each set once', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const enc = counting();
    const q = new TxQueue(sink, enc, DEFAULT_CONTEXT, false, { defer: d.defer });
    const changes = [];
    for (let i = 0; i < 100; i++) changes.push({ key: p(`10.2.${i}.0/26`), pathId: 0, attrs: i % 2 ? A : B });
    q.enqueue(changes);
    d.run();
    expect(sink.written).toHaveLength(2); // one UPDATE per attribute set
    expect(enc.attrCalls).toBe(2);
    q.enqueue([{ key: p('10.3.0.0/26'), pathId: 0, attrs: A }]);
    d.run();
    expect(enc.attrCalls).toBe(2); // cached per AttrSet id
    expect(q.counters.prefixesAdvertised).toBe(101);
    expect(q.counters.updatesOut).toBe(3);
  });

  it('pauses on write() === false until drain, while KEEPALIVEs still go out at once', () => {
    const sink = new FakeSink();
    sink.highWater = 1;
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, sliceSize: 10 });
    const changes = [];
    for (let i = 0; i < 50; i++) changes.push({ key: p(`10.4.${i}.0/26`), pathId: 0, attrs: A });
    q.enqueue(changes);
    d.run();
    expect(q.paused).toBe(true);
    const before = sink.written.length;
    expect(q.pending).toBe(40);
    d.run(); // nothing happens while paused
    expect(sink.written.length).toBe(before);
    const keepalive = Buffer.from('ffffffffffffffffffffffffffffffff001304', 'hex');
    q.sendNow(keepalive);
    expect(sink.written[sink.written.length - 1]).toBe(keepalive); // ahead of the 40 queued prefixes
    sink.drain();
    d.run();
    sink.drain();
    d.run();
    sink.drain();
    d.run();
    sink.drain();
    d.run();
    expect(q.pending).toBe(0);
    const keys = decoded(sink).flatMap((u) => u.nlri.keys);
    expect(keys).toHaveLength(50);
  });

  it('drains in slices, yielding between them', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, sliceSize: 100 });
    const changes = [];
    for (let i = 0; i < 1000; i++) changes.push({ key: p(`10.${5 + (i >> 8)}.${i & 255}.0/26`), pathId: 0, attrs: A });
    q.enqueue(changes);
    const steps = d.run();
    expect(steps).toBe(10);
    expect(decoded(sink).reduce((n, u) => n + u.nlri.keys.length, 0)).toBe(1000);
  });

  it('sends End-of-RIB after everything enqueued before it', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, sliceSize: 1 });
    q.enqueue([{ key: p('10.6.0.0/26'), pathId: 0, attrs: A }, { key: p('10.6.0.64/26'), pathId: 0, attrs: A }]);
    const eor = Buffer.from('ffffffffffffffffffffffffffffffff00170200000000', 'hex');
    q.enqueueRaw([eor]);
    q.enqueue([{ key: p('10.6.0.128/26'), pathId: 0, attrs: B }]);
    d.run();
    expect(sink.written.indexOf(eor)).toBe(2);
    expect(sink.written).toHaveLength(4);
  });

  it('keeps ADD-PATH path ids apart and sends them', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const ctx = { ...DEFAULT_CONTEXT, addPath: new Set([257]) };
    const q = new TxQueue(sink, counting(), ctx, true, { defer: d.defer });
    q.enqueue([
      { key: p('10.7.0.0/26'), pathId: 1, attrs: A },
      { key: p('10.7.0.0/26'), pathId: 2, attrs: A },
    ]);
    d.run();
    const u = decodeMessage(sink.written[0], ctx) as UpdateMessage;
    expect(u.nlri.pathIds).toEqual([1, 2]);
  });

  it('close() drops everything waiting', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer });
    q.enqueue([{ key: p('10.8.0.0/26'), pathId: 0, attrs: A }]);
    q.close();
    d.run();
    expect(sink.written).toHaveLength(0);
    expect(q.pending).toBe(0);
  });
});
