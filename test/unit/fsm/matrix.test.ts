/**
 * Every FSM state x every event (RFC 4271 §8.2.2), checked against rules
 * written from the RFC rather than from the code, so a case label dropped or
 * moved (the survivors mutation testing found) changes an answer here:
 * - which events a state ignores (same data, no actions),
 * - every way to Idle releases everything: all timers but IdleHold stopped,
 *   connection closed and released, a `down` telling whether the session was
 *   Established, ConnectRetryCounter incremented (§8.2.2 "increments the
 *   ConnectRetryCounter by 1"), IdleHold started with the error wait and the
 *   wait doubled up to its maximum (BIRD's `error wait time`),
 * - which NOTIFICATION each error sends (RFC 4271 §6, RFC 6608 subcodes),
 * - ManualStop: Cease only where a BGP connection exists, no restart.
 * Connect/Active use the agent's BIRD-like deviations (see transition.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  BIRD_DEFAULTS,
  initialFsm,
  transition,
  type FsmAction,
  type FsmConfig,
  type FsmData,
  type FsmEvent,
  type FsmEventType,
  type FsmStateName,
} from '../../../src/bgp/fsm/index.js';

const config: FsmConfig = { ...BIRD_DEFAULTS, errorWaitMin: 5, errorWaitMax: 30 };
const NOTICE = { code: 3, subcode: 1 };
const RECEIVED = { code: 6, subcode: 4 };

const EVENTS: Record<FsmEventType, FsmEvent> = {
  ManualStart: { type: 'ManualStart' },
  ManualStop: { type: 'ManualStop' },
  AutomaticStart: { type: 'AutomaticStart' },
  ManualStart_with_PassiveTcpEstablishment: { type: 'ManualStart_with_PassiveTcpEstablishment' },
  AutomaticStart_with_PassiveTcpEstablishment: { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
  ConnectRetryTimer_Expires: { type: 'ConnectRetryTimer_Expires' },
  HoldTimer_Expires: { type: 'HoldTimer_Expires' },
  KeepaliveTimer_Expires: { type: 'KeepaliveTimer_Expires' },
  DelayOpenTimer_Expires: { type: 'DelayOpenTimer_Expires' },
  IdleHoldTimer_Expires: { type: 'IdleHoldTimer_Expires' },
  Tcp_CR_Acked: { type: 'Tcp_CR_Acked' },
  TcpConnectionConfirmed: { type: 'TcpConnectionConfirmed' },
  TcpConnectionFails: { type: 'TcpConnectionFails', reason: 'reset' },
  BGPOpen: { type: 'BGPOpen', holdTime: 90 },
  BGPHeaderErr: { type: 'BGPHeaderErr', notice: NOTICE },
  BGPOpenMsgErr: { type: 'BGPOpenMsgErr', notice: NOTICE },
  OpenCollisionDump: { type: 'OpenCollisionDump' },
  NotifMsgVerErr: { type: 'NotifMsgVerErr', notice: RECEIVED },
  NotifMsg: { type: 'NotifMsg', notice: RECEIVED },
  KeepAliveMsg: { type: 'KeepAliveMsg' },
  UpdateMsg: { type: 'UpdateMsg' },
  UpdateMsgErr: { type: 'UpdateMsgErr', notice: NOTICE },
  RouteRefreshMsg: { type: 'RouteRefreshMsg' },
};

function at(state: FsmStateName): FsmData {
  const inSession = state === 'OpenConfirm' || state === 'Established';
  return {
    ...initialFsm(config),
    state,
    autoRestart: state !== 'Idle',
    connectRetryCounter: 2,
    errorWait: 20,
    holdTime: inSession ? 90 : 240,
    keepaliveTime: inSession ? 30 : 0,
  };
}

type Expect =
  | { kind: 'stay' }
  | { kind: 'idle'; notice?: { code: number; subcode: number }; cause: string }
  | { kind: 'stop'; cease: boolean }
  | { kind: 'other'; to: FsmStateName };

const STARTS: FsmEventType[] = ['ManualStart', 'AutomaticStart', 'ManualStart_with_PassiveTcpEstablishment', 'AutomaticStart_with_PassiveTcpEstablishment'];

/** The RFC's answer, as this agent implements it. */
function rule(state: FsmStateName, ev: FsmEventType): Expect {
  if (state === 'Idle') {
    if (STARTS.includes(ev)) return { kind: 'other', to: 'Active' }; // connect delay 2 s: Active first
    if (ev === 'ManualStop') return { kind: 'other', to: 'Idle' };
    return { kind: 'stay' }; // "any other event ... does not cause change in the state"; IdleHold needs autoRestart, off here
  }
  if (ev === 'ManualStop') return { kind: 'stop', cease: state === 'OpenSent' || state === 'OpenConfirm' || state === 'Established' };
  if (STARTS.includes(ev)) return { kind: 'stay' };
  if (ev === 'NotifMsg' || ev === 'NotifMsgVerErr') return { kind: 'idle', cause: 'notification-received' };
  if (ev === 'BGPHeaderErr' || ev === 'BGPOpenMsgErr') return { kind: 'idle', notice: NOTICE, cause: 'notification-sent' };
  if (state === 'Connect' || state === 'Active') {
    if (ev === 'ConnectRetryTimer_Expires') return { kind: 'other', to: 'Connect' };
    if (ev === 'DelayOpenTimer_Expires') return { kind: 'stay' }; // not running
    if (ev === 'Tcp_CR_Acked' || ev === 'TcpConnectionConfirmed') return { kind: 'other', to: 'OpenSent' };
    if (ev === 'TcpConnectionFails') return { kind: 'other', to: 'Active' };
    return { kind: 'idle', cause: 'connection-lost' }; // any other event: drop, release, Idle
  }
  if (ev === 'Tcp_CR_Acked' || ev === 'TcpConnectionConfirmed') return { kind: 'stay' }; // a second connection: collision handling (§6.8)
  if (ev === 'HoldTimer_Expires') return { kind: 'idle', notice: { code: 4, subcode: 0 }, cause: 'hold-timer' };
  if (ev === 'OpenCollisionDump') return { kind: 'idle', notice: { code: 6, subcode: 7 }, cause: 'collision' };
  const fsmError: Expect = { kind: 'idle', notice: { code: 5, subcode: { OpenSent: 1, OpenConfirm: 2, Established: 3 }[state] }, cause: 'notification-sent' };
  if (state === 'OpenSent') {
    if (ev === 'TcpConnectionFails') return { kind: 'other', to: 'Active' };
    if (ev === 'BGPOpen') return { kind: 'other', to: 'OpenConfirm' };
    return fsmError;
  }
  if (ev === 'TcpConnectionFails') return { kind: 'idle', cause: 'connection-lost' };
  if (ev === 'KeepaliveTimer_Expires') return { kind: 'other', to: state };
  if (state === 'OpenConfirm') {
    if (ev === 'KeepAliveMsg') return { kind: 'other', to: 'Established' };
    return fsmError;
  }
  // Established
  if (ev === 'KeepAliveMsg' || ev === 'UpdateMsg' || ev === 'RouteRefreshMsg') return { kind: 'other', to: 'Established' };
  if (ev === 'UpdateMsgErr') return { kind: 'idle', notice: NOTICE, cause: 'notification-sent' };
  return fsmError;
}

const TIMERS_BUT_IDLE_HOLD = ['ConnectRetry', 'DelayOpen', 'Hold', 'Keepalive'];
const stopped = (actions: FsmAction[]) => actions.flatMap((a) => (a.type === 'stop-timer' ? [a.timer] : []));
const types = (actions: FsmAction[]) => actions.map((a) => a.type);

const STATES: FsmStateName[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
const cases = STATES.flatMap((s) => (Object.keys(EVENTS) as FsmEventType[]).map((e) => [s, e] as const));

describe('FSM: every state x every event (RFC 4271 §8.2.2)', () => {
  it('covers the whole event set', () => {
    expect(cases).toHaveLength(6 * 23);
  });

  it.each(cases)('%s + %s', (state, ev) => {
    const from = at(state);
    const t = transition(from, EVENTS[ev], config);
    const want = rule(state, ev);
    switch (want.kind) {
      case 'stay':
        expect(t.data).toEqual(from);
        expect(t.actions).toEqual([]);
        break;
      case 'other':
        expect(t.data.state).toBe(want.to);
        expect(types(t.actions)).not.toContain('send-notification');
        break;
      case 'idle': {
        expect(t.data).toMatchObject({ state: 'Idle', connectRetryCounter: 3, keepaliveTime: 0, delayOpenRunning: false, autoRestart: true });
        const notices = t.actions.filter((a) => a.type === 'send-notification');
        expect(notices).toEqual(want.notice ? [{ type: 'send-notification', notice: want.notice }] : []);
        // The NOTIFICATION goes before the connection is closed.
        if (want.notice) expect(types(t.actions).indexOf('send-notification')).toBeLessThan(types(t.actions).indexOf('close'));
        expect(new Set(stopped(t.actions))).toEqual(new Set(TIMERS_BUT_IDLE_HOLD));
        expect(types(t.actions)).toEqual(expect.arrayContaining(['close', 'release']));
        const down = t.actions.find((a) => a.type === 'down');
        expect(down).toMatchObject({ wasEstablished: state === 'Established', cause: { kind: want.cause } });
        if (want.cause === 'notification-received') expect(down).toMatchObject({ cause: { notice: RECEIVED } });
        if (want.cause === 'notification-sent') expect(down).toMatchObject({ cause: { notice: want.notice } });
        // Back-off: IdleHold with the current wait, the next one doubled and capped.
        expect(t.actions).toContainEqual({ type: 'start-timer', timer: 'IdleHold', seconds: 20 });
        expect(t.data.errorWait).toBe(30);
        break;
      }
      case 'stop': {
        expect(t.data).toMatchObject({ state: 'Idle', connectRetryCounter: 0, autoRestart: false, delayOpenRunning: false });
        const notices = t.actions.filter((a) => a.type === 'send-notification');
        expect(notices).toEqual(want.cease ? [{ type: 'send-notification', notice: { code: 6, subcode: 2 } }] : []);
        expect(new Set(stopped(t.actions))).toEqual(new Set([...TIMERS_BUT_IDLE_HOLD, 'IdleHold']));
        expect(types(t.actions)).toEqual(expect.arrayContaining(['close', 'release']));
        expect(t.actions).toContainEqual({ type: 'down', cause: { kind: 'stopped', notice: { code: 6, subcode: 2 } }, wasEstablished: state === 'Established' });
        expect(t.actions.some((a) => a.type === 'start-timer')).toBe(false);
        break;
      }
    }
  });

  it('Idle: IdleHold expiry restarts only after an automatic stop; ManualStop cancels the restart', () => {
    const waiting = { ...at('Idle'), autoRestart: true };
    expect(transition(waiting, EVENTS.IdleHoldTimer_Expires, config).data.state).toBe('Active');
    expect(transition(at('Idle'), EVENTS.IdleHoldTimer_Expires, config)).toEqual({ data: at('Idle'), actions: [] });
    const stopped = transition(waiting, EVENTS.ManualStop, config);
    expect(stopped.data).toMatchObject({ state: 'Idle', autoRestart: false, connectRetryCounter: 0 });
    expect(stopped.actions).toEqual([{ type: 'stop-timer', timer: 'IdleHold' }]);
    // Passive starts listen without a ConnectRetryTimer; the passive start events are passive whatever the config.
    for (const ev of ['ManualStart_with_PassiveTcpEstablishment', 'AutomaticStart_with_PassiveTcpEstablishment'] as const) {
      const t = transition(at('Idle'), EVENTS[ev], config);
      expect(t).toMatchObject({ data: { state: 'Active', autoRestart: true, connectRetryCounter: 0 }, actions: [] });
    }
    for (const ev of ['ManualStart', 'AutomaticStart'] as const) {
      const t = transition(at('Idle'), EVENTS[ev], config);
      expect(t).toMatchObject({ data: { state: 'Active', autoRestart: true, connectRetryCounter: 0, delayOpenRunning: false, keepaliveTime: 0 } });
      expect(t.actions).toEqual([{ type: 'start-timer', timer: 'ConnectRetry', seconds: 2 }]);
    }
  });

  it('a fresh FSM is Idle, not restarting, no DelayOpen, keepalives off', () => {
    expect(initialFsm(config)).toEqual({ state: 'Idle', connectRetryCounter: 0, errorWait: 5, holdTime: 240, keepaliveTime: 0, autoRestart: false, delayOpenRunning: false });
  });

  it('Connect/Active TcpConnectionFails: back to Active, counter +1, retry timer unless passive, a down that was not Established', () => {
    for (const state of ['Connect', 'Active'] as const) {
      const t = transition({ ...at(state), delayOpenRunning: true }, EVENTS.TcpConnectionFails, config);
      expect(t.data).toMatchObject({ state: 'Active', connectRetryCounter: 3, delayOpenRunning: false });
      expect(t.actions).toEqual([
        { type: 'stop-timer', timer: 'DelayOpen' },
        { type: 'close' },
        { type: 'release' },
        { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 },
        { type: 'down', cause: { kind: 'connection-lost', reason: 'reset' }, wasEstablished: false },
      ]);
      const p = transition(at(state), EVENTS.TcpConnectionFails, { ...config, passive: true });
      expect(p.actions.some((a) => a.type === 'start-timer')).toBe(false);
    }
    const os = transition(at('OpenSent'), EVENTS.TcpConnectionFails, config);
    expect(os.data.state).toBe('Active');
    expect(os.actions).toEqual([
      { type: 'stop-timer', timer: 'Hold' },
      { type: 'close' },
      { type: 'release' },
      { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 },
      { type: 'down', cause: { kind: 'connection-lost', reason: 'reset' }, wasEstablished: false },
    ]);
    expect(transition(at('OpenSent'), EVENTS.TcpConnectionFails, { ...config, passive: true }).actions.some((a) => a.type === 'start-timer')).toBe(false);
  });

  it('Connect/Active ConnectRetry expiry: close a pending connect, stop DelayOpen, retry; passive stays', () => {
    const c = transition({ ...at('Connect'), delayOpenRunning: true }, EVENTS.ConnectRetryTimer_Expires, config);
    expect(c.data).toMatchObject({ state: 'Connect', delayOpenRunning: false });
    expect(c.actions).toEqual([{ type: 'close' }, { type: 'stop-timer', timer: 'DelayOpen' }, { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 }, { type: 'connect' }]);
    const a = transition(at('Active'), EVENTS.ConnectRetryTimer_Expires, config);
    expect(a.actions).toEqual([{ type: 'stop-timer', timer: 'DelayOpen' }, { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 }, { type: 'connect' }]);
    expect(transition(at('Active'), EVENTS.ConnectRetryTimer_Expires, { ...config, passive: true })).toEqual({ data: at('Active'), actions: [] });
  });

  it('DelayOpen (RFC 4271 §8.1.1): connection up starts it; its expiry or an OPEN moves on', () => {
    const cfg = { ...config, delayOpenTime: 3 };
    const up = transition(at('Active'), EVENTS.TcpConnectionConfirmed, cfg);
    expect(up.data).toMatchObject({ state: 'Active', delayOpenRunning: true });
    expect(up.actions).toEqual([{ type: 'stop-timer', timer: 'ConnectRetry' }, { type: 'start-timer', timer: 'DelayOpen', seconds: 3 }]);
    const exp = transition(up.data, EVENTS.DelayOpenTimer_Expires, cfg);
    expect(exp.data).toMatchObject({ state: 'OpenSent', delayOpenRunning: false, holdTime: 240 });
    expect(exp.actions).toEqual([{ type: 'stop-timer', timer: 'ConnectRetry' }, { type: 'send-open' }, { type: 'start-timer', timer: 'Hold', seconds: 240 }]);
    const open = transition(up.data, EVENTS.BGPOpen, cfg);
    expect(open.data).toMatchObject({ state: 'OpenConfirm', delayOpenRunning: false, holdTime: 90, keepaliveTime: 30 });
    expect(open.actions).toEqual([
      { type: 'stop-timer', timer: 'ConnectRetry' },
      { type: 'stop-timer', timer: 'DelayOpen' },
      { type: 'send-open' },
      { type: 'send-keepalive' },
      { type: 'start-timer', timer: 'Keepalive', seconds: 30 },
      { type: 'start-timer', timer: 'Hold', seconds: 90 },
    ]);
    // Without DelayOpen an OPEN in Connect/Active came before ours: drop it.
    expect(transition(at('Connect'), EVENTS.BGPOpen, config).data.state).toBe('Idle');
  });

  it('Established and OpenConfirm: keepalives and hold restarts, none with hold time 0', () => {
    const est = at('Established');
    expect(transition(est, EVENTS.KeepaliveTimer_Expires, config).actions).toEqual([{ type: 'send-keepalive' }, { type: 'start-timer', timer: 'Keepalive', seconds: 30 }]);
    for (const ev of ['KeepAliveMsg', 'UpdateMsg', 'RouteRefreshMsg'] as const) {
      expect(transition(est, EVENTS[ev], config)).toEqual({ data: est, actions: [{ type: 'start-timer', timer: 'Hold', seconds: 90 }] });
      expect(transition({ ...est, holdTime: 0 }, EVENTS[ev], config).actions).toEqual([]);
    }
    expect(transition({ ...est, keepaliveTime: 0 }, EVENTS.KeepaliveTimer_Expires, config)).toEqual({ data: { ...est, keepaliveTime: 0 }, actions: [] });
    const oc = transition(at('OpenConfirm'), EVENTS.KeepAliveMsg, config);
    expect(oc.data).toMatchObject({ state: 'Established', errorWait: 5, connectRetryCounter: 0 });
    expect(oc.actions).toEqual([{ type: 'start-timer', timer: 'Hold', seconds: 90 }, { type: 'established' }]);
    const os = transition(at('OpenSent'), { type: 'BGPOpen', holdTime: 0 }, config);
    expect(os.actions).toEqual([{ type: 'stop-timer', timer: 'DelayOpen' }, { type: 'stop-timer', timer: 'ConnectRetry' }, { type: 'send-keepalive' }, { type: 'stop-timer', timer: 'Hold' }]);
    expect(os.data).toMatchObject({ state: 'OpenConfirm', holdTime: 0, keepaliveTime: 0 });
  });

  it('exact action lists: nothing extra is sent or started', () => {
    expect(transition(at('Established'), EVENTS.ManualStop, config).actions).toEqual([
      { type: 'send-notification', notice: { code: 6, subcode: 2 } },
      ...TIMERS_BUT_IDLE_HOLD.map((timer) => ({ type: 'stop-timer', timer })),
      { type: 'stop-timer', timer: 'IdleHold' },
      { type: 'close' },
      { type: 'release' },
      { type: 'down', cause: { kind: 'stopped', notice: { code: 6, subcode: 2 } }, wasEstablished: true },
    ]);
    expect(transition(at('Established'), EVENTS.TcpConnectionFails, config).actions).toEqual([
      ...TIMERS_BUT_IDLE_HOLD.map((timer) => ({ type: 'stop-timer', timer })),
      { type: 'close' },
      { type: 'release' },
      { type: 'down', cause: { kind: 'connection-lost', reason: 'reset' }, wasEstablished: true },
      { type: 'start-timer', timer: 'IdleHold', seconds: 20 },
    ]);
    const passive = { ...config, passive: true };
    expect(transition(at('Active'), EVENTS.TcpConnectionFails, passive).actions).toEqual([
      { type: 'stop-timer', timer: 'DelayOpen' },
      { type: 'close' },
      { type: 'release' },
      { type: 'down', cause: { kind: 'connection-lost', reason: 'reset' }, wasEstablished: false },
    ]);
    expect(transition(at('OpenSent'), EVENTS.TcpConnectionFails, passive).actions).toEqual([
      { type: 'stop-timer', timer: 'Hold' },
      { type: 'close' },
      { type: 'release' },
      { type: 'down', cause: { kind: 'connection-lost', reason: 'reset' }, wasEstablished: false },
    ]);
    // The reasons status shows for a connection dropped in Connect/Active.
    expect(transition(at('Connect'), EVENTS.BGPOpen, config).actions).toContainEqual({ type: 'down', cause: { kind: 'connection-lost', reason: 'OPEN received before ours was sent' }, wasEstablished: false });
    expect(transition(at('Active'), EVENTS.UpdateMsg, config).actions).toContainEqual({ type: 'down', cause: { kind: 'connection-lost', reason: 'unexpected UpdateMsg in Active' }, wasEstablished: false });
  });

  it('without automatic restart an error leaves no IdleHold timer and the wait as it was', () => {
    const t = transition({ ...at('Established'), autoRestart: false }, EVENTS.HoldTimer_Expires, config);
    expect(t.actions.some((a) => a.type === 'start-timer')).toBe(false);
    expect(t.data.errorWait).toBe(20);
  });
});
