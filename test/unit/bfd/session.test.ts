/**
 * The BFD state machine (RFC 5880 §6.8.6): a state x event table, the
 * transmission rules (§6.8.3, §6.8.7), the Poll Sequence (§6.5), and a
 * property: two machines over a lossy fake link reach Up and detect a stop
 * within the detection time.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { controlPacket, decodeControl, encodeControl, type BfdState, type ControlPacket } from '../../../src/bfd/packet.js';
import { BfdSession, type BfdAction, type BfdEvent, type BfdTimers } from '../../../src/bfd/session.js';

const TIMERS: BfdTimers = { minTxMs: 100, minRxMs: 100, multiplier: 3 };

function machine(opts: { timers?: BfdTimers; random?: () => number; disc?: number } = {}) {
  let t = 1_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
  const s = new BfdSession({ localDiscriminator: opts.disc ?? 1, timers: opts.timers ?? TIMERS, now: clock.now, random: opts.random ?? (() => 0.5) });
  return { s, clock };
}

const sends = (a: BfdAction[]): ControlPacket[] => a.flatMap((x) => (x.type === 'send' ? [x.packet] : []));
const states = (a: BfdAction[]) => a.flatMap((x) => (x.type === 'state' ? [x] : []));

/** A packet from the peer (discriminator 99) in `state`, addressed to us. */
function from(state: BfdState, extra: Partial<ControlPacket> = {}): BfdEvent {
  return { type: 'packet', packet: controlPacket({ state, myDiscriminator: 99, yourDiscriminator: state === 'Down' || state === 'AdminDown' ? 0 : 1, desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000, ...extra }) };
}

/** Drive a machine into `state` with packets from the peer. */
function into(state: BfdState) {
  const m = machine();
  if (state === 'Init') m.s.handle(from('Down'));
  if (state === 'Up') {
    m.s.handle(from('Down'));
    m.s.handle(from('Up'));
  }
  if (state === 'AdminDown') m.s.handle({ type: 'admin-down' });
  expect(m.s.sessionState).toBe(state);
  return m;
}

describe('BFD state x event (RFC 5880 §6.8.6)', () => {
  // [local state, event, next state, diagnostic of the change (if any)]
  const table: [BfdState, string, BfdState, string?][] = [
    ['Down', 'rx Down', 'Init'],
    ['Down', 'rx Init', 'Up'],
    ['Down', 'rx Up', 'Down'],
    ['Down', 'rx AdminDown', 'Down'],
    ['Down', 'detection timeout', 'Down'],
    ['Down', 'admin down', 'AdminDown', 'administratively-down'],
    ['Init', 'rx Down', 'Init'],
    ['Init', 'rx Init', 'Up'],
    ['Init', 'rx Up', 'Up'],
    ['Init', 'rx AdminDown', 'Down', 'neighbor-signaled-session-down'],
    ['Init', 'detection timeout', 'Down', 'control-detection-time-expired'],
    ['Init', 'admin down', 'AdminDown', 'administratively-down'],
    ['Up', 'rx Down', 'Down', 'neighbor-signaled-session-down'],
    ['Up', 'rx Init', 'Up'],
    ['Up', 'rx Up', 'Up'],
    ['Up', 'rx AdminDown', 'Down', 'neighbor-signaled-session-down'],
    ['Up', 'detection timeout', 'Down', 'control-detection-time-expired'],
    ['Up', 'admin down', 'AdminDown', 'administratively-down'],
    ['AdminDown', 'rx Down', 'AdminDown'],
    ['AdminDown', 'rx Init', 'AdminDown'],
    ['AdminDown', 'rx Up', 'AdminDown'],
    ['AdminDown', 'rx AdminDown', 'AdminDown'],
    ['AdminDown', 'detection timeout', 'AdminDown'],
    ['AdminDown', 'admin up', 'Down', 'none'],
  ];
  for (const [start, ev, next, diag] of table) {
    it(`${start} + ${ev} -> ${next}`, () => {
      const { s, clock } = into(start);
      let actions: BfdAction[];
      if (ev.startsWith('rx ')) actions = s.handle(from(ev.slice(3) as BfdState));
      else if (ev === 'admin down') actions = s.handle({ type: 'admin-down' });
      else if (ev === 'admin up') actions = s.handle({ type: 'admin-up' });
      else {
        // Arm the detection timer with a packet that does not change the state.
        s.handle(from(start === 'Up' || start === 'AdminDown' ? 'Up' : start === 'Init' ? 'Down' : 'AdminDown'));
        expect(s.sessionState).toBe(start);
        clock.advance(10_000);
        actions = s.handle({ type: 'timer' });
      }
      expect(s.sessionState).toBe(next);
      const changes = states(actions);
      if (next === start) expect(changes).toEqual([]);
      else {
        expect(changes).toEqual([expect.objectContaining({ from: start, to: next, ...(diag ? { diag } : {}) })]);
        // A change of state is told to the peer at once.
        expect(sends(actions).at(-1)?.state).toBe(next);
      }
    });
  }

  it('marks a peer AdminDown as not a forwarding failure (RFC 5882 §3.2), a lost peer as one', () => {
    const a = into('Up');
    expect(states(a.s.handle(from('AdminDown')))[0].remoteAdminDown).toBe(true);
    const b = into('Up');
    expect(states(b.s.handle(from('Down')))[0].remoteAdminDown).toBe(false);
  });
});

describe('BFD transmission (RFC 5880 §6.8.3, §6.8.7)', () => {
  it('sends its first packet at once, in Down with Your Discriminator 0, then every 1 s while not Up', () => {
    const { s, clock } = machine({ random: () => 0.999 });
    const first = sends(s.handle({ type: 'timer' }));
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ state: 'Down', yourDiscriminator: 0, myDiscriminator: 1, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000, detectMult: 3 });
    expect(decodeControl(encodeControl(first[0])).ok).toBe(true);
    const next = s.nextDeadline()! - clock.now();
    expect(next).toBeGreaterThan(900);
    expect(next).toBeLessThanOrEqual(1000);
  });

  it('jitters each interval to 75-100% (75-90% with a multiplier of 1)', () => {
    for (const [mult, lo, hi] of [[3, 750, 1000], [1, 750, 900]] as const) {
      for (const r of [0, 0.5, 0.99999]) {
        const { s, clock } = machine({ random: () => r, timers: { ...TIMERS, multiplier: mult } });
        s.handle({ type: 'timer' });
        const gap = s.nextDeadline()! - clock.now();
        expect(gap).toBeGreaterThanOrEqual(lo);
        expect(gap).toBeLessThanOrEqual(hi);
      }
    }
  });

  it('goes to the configured 100 ms once Up, through a Poll Sequence, and answers a Poll with a Final', () => {
    const { s, clock } = into('Up');
    const snap = s.snapshot();
    expect(snap.polling).toBe(true);
    expect(snap.txIntervalMs).toBe(100); // a smaller TX applies at once
    const periodic = sends((clock.advance(200), s.handle({ type: 'timer' })));
    expect(periodic[0]).toMatchObject({ poll: true, final: false, desiredMinTxInterval: 100_000 });
    s.handle(from('Up', { final: true }));
    expect(s.snapshot().polling).toBe(false);
    const answer = sends(s.handle(from('Up', { poll: true })));
    expect(answer).toEqual([expect.objectContaining({ final: true, poll: false, state: 'Up' })]);
  });

  it('detects the peer after its Detect Mult x max(our RequiredMinRx, its DesiredMinTx)', () => {
    const { s, clock } = into('Up');
    s.handle(from('Up', { detectMult: 5, desiredMinTxInterval: 200_000 }));
    expect(s.snapshot().detectionTimeMs).toBe(1000);
    clock.advance(999);
    expect(states(s.handle({ type: 'timer' }))).toEqual([]);
    clock.advance(1);
    expect(states(s.handle({ type: 'timer' }))).toEqual([expect.objectContaining({ to: 'Down', diag: 'control-detection-time-expired' })]);
    // §6.8.1: the peer's discriminator is forgotten; §6.8.3: back to 1 s.
    expect(s.remoteDiscr).toBe(0);
    expect(s.desiredMinTxInterval).toBe(1_000_000);
  });

  it('sends no periodic packets while the peer asks for RequiredMinRx 0 (§6.8.7)', () => {
    const { s, clock } = machine();
    s.handle(from('Down', { requiredMinRxInterval: 0 }));
    clock.advance(250); // within the 300 ms detection time
    expect(sends(s.handle({ type: 'timer' }))).toEqual([]);
  });
});

describe('BFD Poll Sequence for timer changes (RFC 5880 §6.5, §6.8.3)', () => {
  function upAndSettled() {
    const m = into('Up');
    m.s.handle(from('Up', { final: true }));
    expect(m.s.snapshot().polling).toBe(false);
    return m;
  }

  it('a larger TX is advertised at once with P, used only after the Final', () => {
    const { s } = upAndSettled();
    const out = sends(s.handle({ type: 'set-timers', timers: { minTxMs: 300, minRxMs: 100, multiplier: 3 } }));
    expect(out[0]).toMatchObject({ poll: true, desiredMinTxInterval: 300_000 });
    expect(s.snapshot().txIntervalMs).toBe(100);
    s.handle(from('Up', { final: true }));
    expect(s.snapshot().txIntervalMs).toBe(300);
    expect(s.sessionState).toBe('Up');
  });

  it('a smaller RX keeps the old detection time until the Final', () => {
    const { s } = upAndSettled();
    s.handle(from('Up', { desiredMinTxInterval: 10_000 }));
    expect(s.snapshot().detectionTimeMs).toBe(300);
    s.handle({ type: 'set-timers', timers: { minTxMs: 100, minRxMs: 20, multiplier: 3 } });
    s.handle(from('Up', { desiredMinTxInterval: 10_000 }));
    expect(s.snapshot().detectionTimeMs).toBe(300);
    s.handle(from('Up', { desiredMinTxInterval: 10_000, final: true }));
    expect(s.snapshot().detectionTimeMs).toBe(60);
  });

  it('a change during a poll waits for it, then polls again; no change of state throughout', () => {
    const { s } = upAndSettled();
    const all: BfdAction[] = [];
    all.push(...s.handle({ type: 'set-timers', timers: { minTxMs: 200, minRxMs: 200, multiplier: 3 } }));
    all.push(...s.handle({ type: 'set-timers', timers: { minTxMs: 50, minRxMs: 50, multiplier: 4 } }));
    expect(s.desiredMinTxInterval).toBe(200_000);
    all.push(...s.handle(from('Up', { final: true })));
    expect(s.snapshot().polling).toBe(true);
    expect(s.desiredMinTxInterval).toBe(50_000);
    all.push(...s.handle(from('Up', { final: true })));
    expect(s.snapshot()).toMatchObject({ polling: false, txIntervalMs: 100, detectMult: 4 }); // 100: the peer's RequiredMinRx
    expect(states(all)).toEqual([]);
  });

  it('the same timers again start nothing', () => {
    const { s } = upAndSettled();
    expect(s.handle({ type: 'set-timers', timers: TIMERS })).toEqual([]);
  });
});

describe('two BFD machines over a lossy link (property)', () => {
  /**
   * A discrete-event simulation: each side's packets are lost with
   * probability `loss` and delayed 0-5 ms. Both sides must reach Up; then
   * one side stops sending and the other must declare Down within its
   * detection time of the last packet it received. Loss may take the
   * session down before the stop (three packets lost in a row): it must
   * come back Up by itself.
   */
  it('reach Up and detect a stop within the detection time', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.constantFrom<BfdTimers>(TIMERS, { minTxMs: 50, minRxMs: 150, multiplier: 5 }, { minTxMs: 300, minRxMs: 10, multiplier: 2 }),
        (loss, seed, timers) => {
          let rnd = seed;
          const random = (): number => ((rnd = (rnd * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
          let now = 0;
          const clock = () => now;
          const a = new BfdSession({ localDiscriminator: 11, timers, now: clock, random });
          const b = new BfdSession({ localDiscriminator: 22, timers: TIMERS, now: clock, random });
          const inflight: { at: number; to: BfdSession; bytes: Uint8Array }[] = [];
          let aStopped = false;
          let lastAtB = -1;
          let bDownAt: number | undefined;
          const lastArrival = new Map<BfdSession, number>();
          const run = (self: BfdSession, other: BfdSession, actions: BfdAction[]) => {
            for (const x of actions) {
              if (x.type === 'state' && self === b && x.from === 'Up' && aStopped) bDownAt ??= now;
              if (x.type !== 'send') continue;
              if (self === a && aStopped) continue;
              if (random() < loss) continue;
              // Delayed 0-5 ms but in order (one link: no reordering, which BFD does not expect).
              const at = Math.max(now + random() * 5, lastArrival.get(other) ?? 0);
              lastArrival.set(other, at);
              inflight.push({ at, to: other, bytes: encodeControl(x.packet) });
            }
          };
          run(a, b, a.handle({ type: 'timer' }));
          run(b, a, b.handle({ type: 'timer' }));
          let upAt: number | undefined;
          /** Both Up with no Poll running: the configured intervals are in force both ways. */
          const settled = () => a.sessionState === 'Up' && b.sessionState === 'Up' && !a.snapshot().polling && !b.snapshot().polling;
          while (now < 120_000) {
            const next = Math.min(a.nextDeadline() ?? Infinity, b.nextDeadline() ?? Infinity, ...inflight.map((p) => p.at));
            now = next;
            for (const p of inflight.filter((p) => p.at <= now)) {
              inflight.splice(inflight.indexOf(p), 1);
              const d = decodeControl(p.bytes, { ttl: 255 });
              expect(d.ok).toBe(true);
              if (!d.ok) continue;
              if (p.to === b) lastAtB = now;
              run(p.to, p.to === a ? b : a, p.to.handle({ type: 'packet', packet: d.packet }));
            }
            if ((a.nextDeadline() ?? Infinity) <= now) run(a, b, a.handle({ type: 'timer' }));
            if ((b.nextDeadline() ?? Infinity) <= now) run(b, a, b.handle({ type: 'timer' }));
            if (upAt === undefined && settled()) {
              upAt = now;
            }
            // Stay Up for 2 s of lossy traffic, then stop a.
            // (Loss may take the session down before that: it comes back Up by itself.)
            if (upAt !== undefined && !aStopped && now > upAt + 2000 && settled()) {
              aStopped = true;
            }
            if (bDownAt !== undefined) break;
          }
          expect(upAt).toBeDefined();
          expect(aStopped).toBe(true);
          expect(bDownAt).toBeDefined();
          const detect = b.snapshot();
          // b's detection time from a's values: a's mult x max(b's RequiredMinRx, a's DesiredMinTx).
          const bound = timers.multiplier * Math.max(TIMERS.minRxMs, timers.minTxMs);
          expect(bDownAt! - lastAtB).toBeLessThanOrEqual(bound + 0.001);
          expect(detect.state).toBe('Down');
        },
      ),
      { numRuns: 200 },
    );
  });
});
