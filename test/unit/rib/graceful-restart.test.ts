/** RFC 4724 receiving-speaker behaviour with an injected clock. */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { announce, ibgpAttrs, OutRecorder, peer } from './helpers.js';

const AS = 64512;

/** A fake scheduler: timers fire only when the test advances the clock. */
class FakeClock {
  now = 0;
  private timers: { at: number; fn: () => void; live: boolean }[] = [];
  schedule = (ms: number, fn: () => void): (() => void) => {
    const t = { at: this.now + ms, fn, live: true };
    this.timers.push(t);
    return () => {
      t.live = false;
    };
  };
  advance(ms: number): void {
    this.now += ms;
    for (const t of this.timers.filter((x) => x.live && x.at <= this.now)) {
      t.live = false;
      t.fn();
    }
  }
  pending(): number {
    return this.timers.filter((t) => t.live).length;
  }
}

function setup() {
  const clock = new FakeClock();
  const rib = new Rib({ localAs: AS, routerId: '10.0.0.1', localAddress: '10.0.0.1', clusterId: '1.1.1.1', now: () => clock.now, schedule: clock.schedule });
  const rec = new OutRecorder().attach(rib);
  rib.addPeer(peer('a', '10.0.0.2', AS, { rrClient: true }));
  rib.addPeer(peer('b', '10.0.0.3', AS, { rrClient: true }));
  const info = { addPathSend: false, addPathReceive: false };
  rec.reset('a', rib.peerUp('a', { remoteRouterId: '10.0.0.2', ...info }));
  rec.reset('b', rib.peerUp('b', { remoteRouterId: '10.0.0.3', ...info }));
  rib.applyUpdate('a', announce(['172.16.1.0/26', '172.16.2.0/26', '172.16.3.0/26'], ibgpAttrs('10.0.0.2')));
  rib.flush();
  return { clock, rib, rec, info };
}

const P = (s: string) => parsePrefix(s);

describe('graceful restart: stale paths', () => {
  it('keeps the paths on a graceful down and marks them stale', () => {
    const { rib, rec } = setup();
    rib.peerDown('a', { graceful: true, restartTime: 120 });
    rib.flush();
    expect(rib.size()).toBe(3);
    expect(rib.lookup(P('172.16.1.0/26')).paths[0].stale).toBe(true);
    expect(rib.counters('a')).toEqual({ received: 3, accepted: 3, advertised: 0 });
    expect(Object.keys(rec.table('b'))).toHaveLength(3); // b keeps them
  });

  it('refreshed paths are unmarked; the rest go at End-of-RIB', () => {
    const { rib, rec, info } = setup();
    rib.peerDown('a', { graceful: true, restartTime: 120 });
    rib.peerUp('a', { remoteRouterId: '10.0.0.2', ...info });
    rib.applyUpdate('a', announce(['172.16.1.0/26'], ibgpAttrs('10.0.0.2'))); // same attributes
    rib.applyUpdate('a', announce(['172.16.2.0/26'], ibgpAttrs('10.0.0.2', { med: 5 }))); // changed
    rib.flush();
    expect(rib.lookup(P('172.16.1.0/26')).paths[0].stale).toBe(false);
    expect(rib.lookup(P('172.16.2.0/26')).paths[0].stale).toBe(false);
    expect(rib.lookup(P('172.16.3.0/26')).paths[0].stale).toBe(true);
    const batches = rec.batches.length;
    rib.endOfRib('a');
    rib.flush();
    expect(rib.size()).toBe(2);
    expect(rib.lookup(P('172.16.3.0/26')).paths).toEqual([]);
    expect(Object.keys(rec.table('b')).sort()).toEqual(['172.16.1.0/26', '172.16.2.0/26']);
    expect(rec.batches.length).toBe(batches + 1);
    expect(rib.counters('a')).toMatchObject({ received: 2, accepted: 2 });
  });

  it('drops stale paths when the restart time passes without the peer', () => {
    const { rib, rec, clock } = setup();
    rib.peerDown('a', { graceful: true, restartTime: 120 });
    clock.advance(119_000);
    expect(rib.size()).toBe(3);
    clock.advance(1_000);
    expect(rib.size()).toBe(0);
    expect(rec.table('b')).toEqual({}); // the timer flushes its own withdrawals
    expect(rib.counters('a')).toMatchObject({ received: 0, accepted: 0 });
  });

  it('a peer back up gets the restart time again to send End-of-RIB', () => {
    const { rib, clock, info } = setup();
    rib.peerDown('a', { graceful: true, restartTime: 120 });
    clock.advance(100_000);
    rib.peerUp('a', { remoteRouterId: '10.0.0.2', ...info });
    clock.advance(100_000);
    expect(rib.size()).toBe(3);
    clock.advance(20_000);
    expect(rib.size()).toBe(0);
  });

  it('a non-graceful down removes at once and cancels the stale timer', () => {
    const { rib, clock } = setup();
    rib.peerDown('a', { graceful: true, restartTime: 120 });
    expect(clock.pending()).toBe(1);
    rib.peerUp('a', { remoteRouterId: '10.0.0.2', addPathSend: false, addPathReceive: false });
    rib.peerDown('a', { graceful: false, restartTime: 0 });
    expect(rib.size()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('all stale paths refreshed ends the restart without waiting', () => {
    const { rib, clock, info } = setup();
    rib.peerDown('a', { graceful: true, restartTime: 120 });
    rib.peerUp('a', { remoteRouterId: '10.0.0.2', ...info });
    rib.applyUpdate('a', announce(['172.16.1.0/26', '172.16.2.0/26', '172.16.3.0/26'], ibgpAttrs('10.0.0.2')));
    expect(clock.pending()).toBe(0);
    clock.advance(200_000);
    expect(rib.size()).toBe(3);
  });
});
