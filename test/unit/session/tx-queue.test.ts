/** TxQueue: coalescing, grouping, backpressure, keepalives ahead, End-of-RIB order, slicing. */
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT, decodeMessage, encodeAttributes, packUpdates, type UpdateMessage } from '../../../src/bgp/codec/index.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import type { AttrSet, OutChange } from '../../../src/bgp/route.js';
import { DrainScheduler, TxQueue, type TxEncoder } from '../../../src/bgp/session/tx-queue.js';

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

function counting(): TxEncoder & { attrCalls: number; packCalls: number } {
  const enc = {
    attrCalls: 0,
    packCalls: 0,
    encodeAttributes(attrs: AttrSet['attrs'], ctx: typeof DEFAULT_CONTEXT) {
      enc.attrCalls++;
      return encodeAttributes(attrs, ctx);
    },
    packUpdates(...args: Parameters<TxEncoder['packUpdates']>) {
      enc.packCalls++;
      return packUpdates(...args);
    },
  };
  return enc;
}

/** A sink with cork/uncork, as net.Socket has: records which writes happened while corked. */
class CorkingSink extends FakeSink {
  corked = 0;
  writesWhileCorked = 0;
  corks = 0;
  override write(chunk: Buffer): boolean {
    if (this.corked > 0) this.writesWhileCorked++;
    return super.write(chunk);
  }
  cork(): void {
    this.corked++;
    this.corks++;
  }
  uncork(): void {
    this.corked--;
  }
}

/** What the peer holds after applying every UPDATE written, in order: prefix -> next hop. */
function peerView(sink: FakeSink, ctx = DEFAULT_CONTEXT): Map<string, string> {
  const held = new Map<string, string>();
  for (const b of sink.written) {
    const m = decodeMessage(b, ctx);
    if (m.type !== 'UPDATE') continue;
    m.withdrawn.keys.forEach((k, i) => held.delete(`${formatPrefix(k)}#${m.withdrawn.pathIds?.[i] ?? 0}`));
    m.nlri.keys.forEach((k, i) => held.set(`${formatPrefix(k)}#${m.nlri.pathIds?.[i] ?? 0}`, m.attributes.nextHop ?? '?'));
  }
  return held;
}

const set = (id: number, nextHop: string): AttrSet => ({ id, attrs: { origin: 0, asPath: [], nextHop, localPref: 100 } });
const A = set(1, '10.0.0.1');
const B = set(2, '10.0.0.2');
const p = (s: string) => parsePrefix(s);

function decoded(sink: FakeSink): UpdateMessage[] {
  return sink.written.map((b) => decodeMessage(b, DEFAULT_CONTEXT)).filter((m): m is UpdateMessage => m.type === 'UPDATE');
}

describe('TxQueue', () => {
  it('compacts per prefix: a later change replaces an earlier one still waiting', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, compactAbove: 0 });
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

  it('without compaction sends every change in order, so the later one wins at the peer', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer });
    q.enqueue([{ key: p('10.9.0.0/26'), pathId: 0, attrs: A }]);
    q.enqueue([{ key: p('10.9.0.0/26'), pathId: 0, attrs: B }, { key: p('10.9.0.64/26'), pathId: 0, attrs: A }]);
    q.enqueue([{ key: p('10.9.0.64/26'), pathId: 0, attrs: null }]);
    expect(q.pending).toBe(4); // below the bound: kept as given
    d.run();
    expect([...peerView(sink)]).toEqual([['10.9.0.0/26#0', '10.0.0.2']]);
    expect(q.counters.prefixesAdvertised).toBe(2); // announcements sent (3) minus withdrawals sent (1)
  });

  it('a change enqueued while paused replaces the earlier unsent one once the bound is passed', () => {
    const sink = new FakeSink();
    sink.highWater = 1;
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, sliceSize: 2, compactAbove: 4 });
    const c = p('10.10.0.128/26');
    q.enqueue([
      { key: p('10.10.0.0/26'), pathId: 0, attrs: A },
      { key: p('10.10.0.64/26'), pathId: 0, attrs: A },
      { key: c, pathId: 0, attrs: A },
    ]);
    d.run();
    expect(q.paused).toBe(true);
    expect(q.pending).toBe(1); // c still unsent
    q.enqueue([{ key: c, pathId: 0, attrs: B }, { key: p('10.10.1.0/26'), pathId: 0, attrs: A }]);
    expect(q.pending).toBe(3);
    q.enqueue([{ key: c, pathId: 0, attrs: null }, { key: p('10.10.2.0/26'), pathId: 0, attrs: B }]);
    expect(q.pending).toBe(3); // c's two unsent changes replaced by its withdrawal
    for (let i = 0; i < 10 && q.pending > 0; i++) {
      sink.drain();
      d.run();
    }
    expect(q.pending).toBe(0);
    const announced = decoded(sink).flatMap((u) => u.nlri.keys.map(formatPrefix));
    expect(announced).not.toContain('10.10.0.128/26');
    expect(decoded(sink).flatMap((u) => u.withdrawn.keys.map(formatPrefix))).toEqual(['10.10.0.128/26']);
    expect([...peerView(sink).keys()].sort()).toEqual(['10.10.0.0/26#0', '10.10.0.64/26#0', '10.10.1.0/26#0', '10.10.2.0/26#0']);
  });

  it('compaction keeps End-of-RIB after what was enqueued before it', () => {
    const sink = new FakeSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, compactAbove: 0 });
    const k = p('10.11.0.0/26');
    q.enqueue([{ key: k, pathId: 0, attrs: A }]);
    const eor = Buffer.from('ffffffffffffffffffffffffffffffff00170200000000', 'hex');
    q.enqueueRaw([eor]);
    q.enqueue([{ key: k, pathId: 0, attrs: B }]);
    d.run();
    expect(sink.written).toHaveLength(3);
    expect(sink.written[1]).toBe(eor);
    expect((decodeMessage(sink.written[0], DEFAULT_CONTEXT) as UpdateMessage).attributes.nextHop).toBe('10.0.0.1');
  });

  it('peers given the same OutChange objects get byte-identical UPDATEs, packed once', () => {
    const enc = counting();
    const d = manualDefer();
    const shared: OutChange[] = [];
    for (let i = 0; i < 300; i++) shared.push({ key: p(`10.${12 + (i >> 8)}.${i & 255}.0/26`), pathId: 0, attrs: i < 200 ? A : B });
    const own: OutChange = { key: p('10.14.200.0/26'), pathId: 0, attrs: A };
    const ctx = { ...DEFAULT_CONTEXT, as4: true };
    const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
    const queues = sinks.map((sink) => new TxQueue(sink, enc, ctx, false, { defer: d.defer }));
    // As the RIB's flush hands them: separate arrays, the same change objects; peer 2 also gets one of its own.
    queues[0].enqueue([...shared]);
    queues[1].enqueue([...shared]);
    queues[2].enqueue([...shared.slice(0, 100), own, ...shared.slice(100)]);
    d.run();
    expect(sinks[1].written).toEqual(sinks[0].written);
    sinks[1].written.forEach((b, i) => expect(b).toBe(sinks[0].written[i])); // the same Buffers
    // Peer 2's A group differs (it holds `own`), its B group is the same.
    expect(enc.packCalls).toBe(3);
    expect(sinks[2].written[1]).toBe(sinks[0].written[1]);
    expect(peerView(sinks[2], ctx).size).toBe(301);
    expect(peerView(sinks[0], ctx).size).toBe(300);
  });

  it('ADD-PATH peers are not given bytes packed for peers without ADD-PATH (and the reverse)', () => {
    const enc = counting();
    const d = manualDefer();
    const changes: OutChange[] = [
      { key: p('10.14.0.0/26'), pathId: 7, attrs: A },
      { key: p('10.14.0.64/26'), pathId: 9, attrs: A },
    ];
    const apCtx = { ...DEFAULT_CONTEXT, addPath: new Set([257]) };
    const plain = new FakeSink();
    const ap = new FakeSink();
    new TxQueue(plain, enc, DEFAULT_CONTEXT, false, { defer: d.defer }).enqueue([...changes]);
    new TxQueue(ap, enc, apCtx, true, { defer: d.defer }).enqueue([...changes]);
    d.run();
    expect(enc.packCalls).toBe(2);
    expect(ap.written[0].equals(plain.written[0])).toBe(false);
    expect((decodeMessage(ap.written[0], apCtx) as UpdateMessage).nlri.pathIds).toEqual([7, 9]);
    expect((decodeMessage(plain.written[0], DEFAULT_CONTEXT) as UpdateMessage).nlri.pathIds ?? null).toBeNull();
  });

  it('does not share between queues with different encoders, or when sharing is off', () => {
    const d = manualDefer();
    const changes: OutChange[] = [{ key: p('10.15.0.0/26'), pathId: 0, attrs: A }];
    const e1 = counting();
    const e2 = counting();
    new TxQueue(new FakeSink(), e1, DEFAULT_CONTEXT, false, { defer: d.defer }).enqueue([...changes]);
    new TxQueue(new FakeSink(), e2, DEFAULT_CONTEXT, false, { defer: d.defer }).enqueue([...changes]);
    new TxQueue(new FakeSink(), e1, DEFAULT_CONTEXT, false, { defer: d.defer, shareEncoding: false }).enqueue([...changes]);
    d.run();
    expect(e1.packCalls + e2.packCalls).toBe(3);
  });

  it('writes a slice corked when the sink can cork', () => {
    const sink = new CorkingSink();
    const d = manualDefer();
    const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, sliceSize: 3000 });
    const changes: OutChange[] = [];
    for (let i = 0; i < 2000; i++) changes.push({ key: p(`10.${16 + (i >> 8)}.${i & 255}.0/26`), pathId: 0, attrs: A });
    q.enqueue(changes);
    d.run();
    expect(sink.written.length).toBeGreaterThan(1);
    expect(sink.writesWhileCorked).toBe(sink.written.length);
    expect(sink.corks).toBe(1);
    expect(sink.corked).toBe(0);
    q.sendNow(Buffer.from('ffffffffffffffffffffffffffffffff001304', 'hex'));
    expect(sink.writesWhileCorked).toBe(sink.written.length - 1); // KEEPALIVE not held back
  });

  it('property: whatever the enqueues, backpressure and bound, the peer ends with the last change per prefix', () => {
    const attrsOf = [A, B, null];
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 2 })), { maxLength: 12 }), { maxLength: 12 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        (batches, drains, bound, slice) => {
          const sink = new FakeSink();
          sink.highWater = 2;
          const d = manualDefer();
          const q = new TxQueue(sink, counting(), DEFAULT_CONTEXT, false, { defer: d.defer, compactAbove: bound, sliceSize: slice });
          const want = new Map<string, string>();
          let step = 0;
          for (const batch of batches) {
            // One change per prefix per call, as the RIB gives them.
            const byKey = new Map<number, number>();
            for (const [k, a] of batch) byKey.set(k, a);
            const changes: OutChange[] = [...byKey].map(([k, a]) => ({ key: p(`10.20.${k}.0/26`), pathId: 0, attrs: attrsOf[a] }));
            q.enqueue(changes);
            for (const c of changes) {
              const name = `${formatPrefix(c.key)}#0`;
              if (c.attrs) want.set(name, c.attrs.attrs.nextHop!);
              else want.delete(name);
            }
            if (drains[step++]) sink.drain();
            d.run(1);
          }
          for (let i = 0; i < 1000 && (q.pending > 0 || q.paused); i++) {
            sink.drain();
            d.run();
          }
          expect(q.pending).toBe(0);
          // Withdrawals of prefixes never announced are harmless; compare what is held.
          expect(new Map([...peerView(sink)].sort())).toEqual(new Map([...want].sort()));
        },
      ),
      { numRuns: 300 },
    );
  });

  // Shared encoding by content (issue 16: "a change for N peers with the same export is encoded once").
  describe('encoding shared by content', () => {
    const withPath: AttrSet = { id: 41, attrs: { origin: 0, asPath: [{ type: 2, asns: [65000, 4200000001] }], nextHop: '10.0.0.9', localPref: 100 } };
    const fresh = (): OutChange[] => [
      { key: p('10.30.0.0/26'), pathId: 3, attrs: withPath },
      { key: p('10.30.0.64/26'), pathId: 5, attrs: withPath },
      { key: p('10.30.1.0/26'), pathId: 3, attrs: null },
    ];
    const as4 = { ...DEFAULT_CONTEXT, as4: true };
    const as4ap = { ...as4, addPath: new Set([257]) };

    /** What one queue alone (no sharing) writes for `changes` in `ctx`. */
    function alone(ctx: typeof DEFAULT_CONTEXT, addPath: boolean, changes: OutChange[]): Buffer[] {
      const d = manualDefer();
      const sink = new FakeSink();
      new TxQueue(sink, counting(), ctx, addPath, { defer: d.defer, shareEncoding: false }).enqueue(changes);
      d.run();
      return sink.written;
    }

    it('ADD-PATH peers given equal but separate OutChange objects get the very same Buffers, packed once, identical to unshared packing', () => {
      const enc = counting();
      const d = manualDefer();
      const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
      // As the RIB's ADD-PATH diff hands them: new objects per peer, same content.
      sinks.forEach((sink) => new TxQueue(sink, enc, as4ap, true, { defer: d.defer }).enqueue(fresh()));
      d.run();
      expect(enc.packCalls).toBe(2); // announcements once, withdrawals once, for three peers
      expect(enc.attrCalls).toBe(1);
      for (const sink of sinks.slice(1)) sink.written.forEach((b, i) => expect(b).toBe(sinks[0].written[i]));
      const own = alone(as4ap, true, fresh());
      expect(sinks[0].written.map((b) => b.toString('hex'))).toEqual(own.map((b) => b.toString('hex')));
    });

    it('peers whose send context differs in AS4 or ADD-PATH get their own, different bytes', () => {
      const enc = counting();
      const d = manualDefer();
      const two = new FakeSink();
      const four = new FakeSink();
      const fourAp = new FakeSink();
      new TxQueue(two, enc, DEFAULT_CONTEXT, false, { defer: d.defer }).enqueue(fresh());
      new TxQueue(four, enc, as4, false, { defer: d.defer }).enqueue(fresh());
      new TxQueue(fourAp, enc, as4ap, true, { defer: d.defer }).enqueue(fresh());
      d.run();
      expect(enc.packCalls).toBe(6);
      expect(enc.attrCalls).toBe(3);
      // 2-octet AS_PATH with AS_TRANS and AS4_PATH (RFC 6793 §4.2.2) vs a 4-octet AS_PATH.
      expect(two.written[0].equals(four.written[0])).toBe(false);
      // Path ids on the wire only for the ADD-PATH peer (RFC 7911 §3).
      expect(fourAp.written[0].equals(four.written[0])).toBe(false);
      expect(fourAp.written[0].length).toBe(four.written[0].length + 8);
      for (const [sink, ctx, ap] of [[two, DEFAULT_CONTEXT, false], [four, as4, false], [fourAp, as4ap, true]] as const) {
        expect(sink.written.map((b) => b.toString('hex'))).toEqual(alone(ctx, ap, fresh()).map((b) => b.toString('hex')));
      }
      expect((decodeMessage(two.written[0], DEFAULT_CONTEXT) as UpdateMessage).attributes.asPath).toEqual(withPath.attrs.asPath);
    });

    it('a piece that differs in one path id or prefix is packed on its own', () => {
      const enc = counting();
      const d = manualDefer();
      const a = new FakeSink();
      const b = new FakeSink();
      const c = new FakeSink();
      new TxQueue(a, enc, as4ap, true, { defer: d.defer }).enqueue(fresh().slice(0, 2));
      const otherId = fresh().slice(0, 2);
      otherId[1] = { ...otherId[1], pathId: 6 };
      new TxQueue(b, enc, as4ap, true, { defer: d.defer }).enqueue(otherId);
      const otherKey = fresh().slice(0, 2);
      otherKey[1] = { ...otherKey[1], key: p('10.30.0.128/26') };
      new TxQueue(c, enc, as4ap, true, { defer: d.defer }).enqueue(otherKey);
      d.run();
      expect(enc.packCalls).toBe(3);
      expect((decodeMessage(b.written[0], as4ap) as UpdateMessage).nlri.pathIds).toEqual([3, 6]);
      expect((decodeMessage(c.written[0], as4ap) as UpdateMessage).nlri.keys.map(formatPrefix)).toEqual(['10.30.0.0/26', '10.30.0.128/26']);
    });
  });

  it('one-prefix pieces are shared only with the same prefix, path id and attributes', () => {
    const enc = counting();
    const d = manualDefer();
    const ap = { ...DEFAULT_CONTEXT, as4: true, addPath: new Set([257]) };
    const one = (pathId: number, attrs: AttrSet | null, key = p('10.31.0.0/26')): OutChange[] => [{ key, pathId, attrs }];
    const sinks = [new FakeSink(), new FakeSink(), new FakeSink(), new FakeSink(), new FakeSink()];
    const inputs = [one(3, A), one(3, A), one(4, A), one(3, B), one(3, A, p('10.31.0.64/26'))];
    sinks.forEach((sink, i) => new TxQueue(sink, enc, ap, true, { defer: d.defer }).enqueue(inputs[i]));
    d.run();
    expect(enc.packCalls).toBe(4);
    expect(sinks[1].written[0]).toBe(sinks[0].written[0]);
    for (const i of [2, 3, 4]) expect(sinks[i].written[0].equals(sinks[0].written[0])).toBe(false);
    expect((decodeMessage(sinks[2].written[0], ap) as UpdateMessage).nlri.pathIds).toEqual([4]);
  });

  describe('DrainScheduler', () => {
    it('drains queues round-robin, one slice each, and yields once the turn budget is used', () => {
      let now = 0;
      const turns: (() => void)[] = [];
      const sched = new DrainScheduler(5, (fn) => void turns.push(fn), () => now);
      const enc: TxEncoder & { packCalls: number; attrCalls: number } = counting();
      const slowEnc: TxEncoder = {
        encodeAttributes: enc.encodeAttributes,
        packUpdates: (...args) => {
          now += 1; // every piece costs 1 ms
          return enc.packUpdates(...args);
        },
      };
      const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
      const queues = sinks.map((sink) => new TxQueue(sink, slowEnc, DEFAULT_CONTEXT, false, { scheduler: sched, sliceSize: 1, shareEncoding: false }));
      for (const [i, q] of queues.entries()) {
        const changes: OutChange[] = [];
        for (let k = 0; k < 4; k++) changes.push({ key: p(`10.40.${i}.${k * 64}/26`), pathId: 0, attrs: A });
        q.enqueue(changes);
      }
      expect(turns).toHaveLength(1); // one callback for every queue, not one per queue
      turns.shift()!();
      // 5 slices in the first turn: queue 0, 1, 2, 0, 1.
      expect(sinks.map((s) => s.written.length)).toEqual([2, 2, 1]);
      expect(turns).toHaveLength(1);
      turns.shift()!();
      // Queue 2 goes first in the next turn (it was next in line).
      expect(sinks.map((s) => s.written.length)).toEqual([4, 3, 3]);
      while (turns.length > 0) turns.shift()!();
      expect(sinks.map((s) => s.written.length)).toEqual([4, 4, 4]);
      expect(queues.every((q) => q.pending === 0)).toBe(true);
    });

    it('gives a turn as long as the queues waited for it while other work ran, up to the cap', () => {
      let now = 0;
      const turns: (() => void)[] = [];
      const sched = new DrainScheduler(5, (fn) => void turns.push(fn), () => now, 20);
      const enc = counting();
      const slowEnc: TxEncoder = {
        encodeAttributes: enc.encodeAttributes,
        packUpdates: (...args) => {
          now += 1;
          return enc.packUpdates(...args);
        },
      };
      const sink = new FakeSink();
      const q = new TxQueue(sink, slowEnc, DEFAULT_CONTEXT, false, { scheduler: sched, sliceSize: 1, shareEncoding: false });
      const changes: OutChange[] = [];
      for (let k = 0; k < 100; k++) changes.push({ key: p(`10.41.${k}.0/26`), pathId: 0, attrs: A });
      q.enqueue(changes);
      now += 12; // the RIB, reads, ... held the loop for 12 ms while the queue waited
      turns.shift()!();
      expect(sink.written).toHaveLength(12);
      now += 500; // a long stall elsewhere: still at most the cap
      turns.shift()!();
      expect(sink.written).toHaveLength(32);
      turns.shift()!(); // no wait: the base budget
      expect(sink.written).toHaveLength(37);
    });
  });
});

