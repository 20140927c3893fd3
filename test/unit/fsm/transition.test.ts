/**
 * RFC 4271 §8.2.2 transitions the agent uses, table-driven: from a state, an
 * event gives a next state and (at least) the listed actions, in order.
 */
import { describe, expect, it } from 'vitest';
import {
  BIRD_DEFAULTS,
  initialFsm,
  keepaliveFor,
  transition,
  type FsmAction,
  type FsmConfig,
  type FsmData,
  type FsmEvent,
  type FsmStateName,
} from '../../../src/bgp/fsm/index.js';

const active: FsmConfig = { ...BIRD_DEFAULTS };
const passive: FsmConfig = { ...BIRD_DEFAULTS, passive: true };
const noDelay: FsmConfig = { ...BIRD_DEFAULTS, connectDelayTime: 0 };
const delayOpen: FsmConfig = { ...BIRD_DEFAULTS, delayOpenTime: 3 };

function at(state: FsmStateName, extra: Partial<FsmData> = {}): FsmData {
  const base = initialFsm(BIRD_DEFAULTS);
  const inSession = state === 'OpenConfirm' || state === 'Established';
  return {
    ...base,
    state,
    autoRestart: true,
    holdTime: inSession ? 90 : state === 'OpenSent' ? 240 : base.holdTime,
    keepaliveTime: inSession ? 30 : 0,
    ...extra,
  };
}

const notice = (code: number, subcode: number) => ({ code, subcode });

interface Row {
  name: string;
  from: FsmData;
  event: FsmEvent;
  config?: FsmConfig;
  to: FsmStateName;
  /** Actions that must appear, in this relative order. */
  actions: FsmAction[];
  /** Action types that must not appear. */
  absent?: FsmAction['type'][];
}

const rows: Row[] = [
  // Idle
  {
    name: 'Idle + AutomaticStart: connect delay in Active (BIRD connect delay 2 s)',
    from: at('Idle', { autoRestart: false }),
    event: { type: 'AutomaticStart' },
    to: 'Active',
    actions: [{ type: 'start-timer', timer: 'ConnectRetry', seconds: 2 }],
    absent: ['connect'],
  },
  {
    name: 'Idle + ManualStart without connect delay: Connect, ConnectRetryTimer, connect',
    from: at('Idle', { autoRestart: false }),
    event: { type: 'ManualStart' },
    config: noDelay,
    to: 'Connect',
    actions: [{ type: 'start-timer', timer: 'ConnectRetry', seconds: 5 }, { type: 'connect' }],
  },
  {
    name: 'Idle + AutomaticStart, passive: Active, no timer, never connect',
    from: at('Idle', { autoRestart: false }),
    event: { type: 'AutomaticStart' },
    config: passive,
    to: 'Active',
    actions: [],
    absent: ['connect', 'start-timer'],
  },
  {
    name: 'Idle + AutomaticStart_with_PassiveTcpEstablishment: Active, no connect',
    from: at('Idle', { autoRestart: false }),
    event: { type: 'AutomaticStart_with_PassiveTcpEstablishment' },
    to: 'Active',
    actions: [],
    absent: ['connect'],
  },
  {
    name: 'Idle + IdleHoldTimer_Expires restarts automatically',
    from: at('Idle'),
    event: { type: 'IdleHoldTimer_Expires' },
    to: 'Active',
    actions: [{ type: 'start-timer', timer: 'ConnectRetry', seconds: 2 }],
  },
  {
    name: 'Idle + IdleHoldTimer_Expires after ManualStop stays Idle',
    from: at('Idle', { autoRestart: false }),
    event: { type: 'IdleHoldTimer_Expires' },
    to: 'Idle',
    actions: [],
    absent: ['connect', 'start-timer'],
  },
  {
    name: 'Idle ignores an incoming connection',
    from: at('Idle'),
    event: { type: 'TcpConnectionConfirmed' },
    to: 'Idle',
    actions: [],
    absent: ['send-open'],
  },
  {
    name: 'Idle ignores a stray KEEPALIVE',
    from: at('Idle'),
    event: { type: 'KeepAliveMsg' },
    to: 'Idle',
    actions: [],
    absent: ['send-notification'],
  },
  // Connect
  {
    name: 'Connect + Tcp_CR_Acked: send OPEN, large hold, OpenSent',
    from: at('Connect'),
    event: { type: 'Tcp_CR_Acked' },
    to: 'OpenSent',
    actions: [
      { type: 'stop-timer', timer: 'ConnectRetry' },
      { type: 'send-open' },
      { type: 'start-timer', timer: 'Hold', seconds: 240 },
    ],
  },
  {
    name: 'Connect + Tcp_CR_Acked with DelayOpen: DelayOpenTimer, stay',
    from: at('Connect'),
    event: { type: 'Tcp_CR_Acked' },
    config: delayOpen,
    to: 'Connect',
    actions: [{ type: 'stop-timer', timer: 'ConnectRetry' }, { type: 'start-timer', timer: 'DelayOpen', seconds: 3 }],
    absent: ['send-open'],
  },
  {
    name: 'Connect + DelayOpenTimer_Expires: send OPEN, OpenSent',
    from: at('Connect', { delayOpenRunning: true }),
    event: { type: 'DelayOpenTimer_Expires' },
    config: delayOpen,
    to: 'OpenSent',
    actions: [{ type: 'send-open' }, { type: 'start-timer', timer: 'Hold', seconds: 240 }],
  },
  {
    name: 'Connect + BGPOpen while DelayOpen runs: OPEN + KEEPALIVE, OpenConfirm',
    from: at('Connect', { delayOpenRunning: true }),
    event: { type: 'BGPOpen', holdTime: 90 },
    config: delayOpen,
    to: 'OpenConfirm',
    actions: [
      { type: 'stop-timer', timer: 'DelayOpen' },
      { type: 'send-open' },
      { type: 'send-keepalive' },
      { type: 'start-timer', timer: 'Keepalive', seconds: 30 },
      { type: 'start-timer', timer: 'Hold', seconds: 90 },
    ],
  },
  {
    name: 'Connect + ConnectRetryTimer_Expires: drop, restart timer, connect again',
    from: at('Connect'),
    event: { type: 'ConnectRetryTimer_Expires' },
    to: 'Connect',
    actions: [{ type: 'close' }, { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 }, { type: 'connect' }],
  },
  {
    name: 'Connect + TcpConnectionFails: Active, retry after connect retry time (BIRD)',
    from: at('Connect'),
    event: { type: 'TcpConnectionFails', reason: 'connection refused' },
    to: 'Active',
    actions: [
      { type: 'close' },
      { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 },
      { type: 'down', cause: { kind: 'connection-lost', reason: 'connection refused' }, wasEstablished: false },
    ],
    absent: ['send-notification'],
  },
  {
    name: 'Connect + ManualStop: drop, Idle, no restart',
    from: at('Connect'),
    event: { type: 'ManualStop' },
    to: 'Idle',
    actions: [{ type: 'stop-timer', timer: 'ConnectRetry' }, { type: 'close' }, { type: 'release' }],
    absent: ['send-notification', 'connect'],
  },
  // Active
  {
    name: 'Active + ConnectRetryTimer_Expires: connect, Connect',
    from: at('Active'),
    event: { type: 'ConnectRetryTimer_Expires' },
    to: 'Connect',
    actions: [{ type: 'start-timer', timer: 'ConnectRetry', seconds: 5 }, { type: 'connect' }],
    absent: ['close'],
  },
  {
    name: 'Active (passive) + ConnectRetryTimer_Expires: still never connect',
    from: at('Active'),
    event: { type: 'ConnectRetryTimer_Expires' },
    config: passive,
    to: 'Active',
    actions: [],
    absent: ['connect'],
  },
  {
    name: 'Active + TcpConnectionConfirmed: send OPEN, OpenSent',
    from: at('Active'),
    event: { type: 'TcpConnectionConfirmed' },
    config: passive,
    to: 'OpenSent',
    actions: [{ type: 'send-open' }, { type: 'start-timer', timer: 'Hold', seconds: 240 }],
  },
  {
    name: 'Active (passive) + TcpConnectionFails: stays Active, no retry timer',
    from: at('Active'),
    event: { type: 'TcpConnectionFails' },
    config: passive,
    to: 'Active',
    actions: [{ type: 'close' }],
    absent: ['start-timer', 'connect'],
  },
  {
    name: 'Active + ManualStop: Idle',
    from: at('Active'),
    event: { type: 'ManualStop' },
    to: 'Idle',
    actions: [{ type: 'release' }],
    absent: ['send-notification', 'start-timer'],
  },
  {
    name: 'Active + NotifMsgVerErr: Idle, no NOTIFICATION back',
    from: at('Active', { delayOpenRunning: true }),
    event: { type: 'NotifMsgVerErr', notice: notice(2, 1) },
    to: 'Idle',
    actions: [{ type: 'close' }],
    absent: ['send-notification'],
  },
  // OpenSent
  {
    name: 'OpenSent + BGPOpen: KEEPALIVE, negotiated hold/keepalive, OpenConfirm',
    from: at('OpenSent'),
    event: { type: 'BGPOpen', holdTime: 9 },
    to: 'OpenConfirm',
    actions: [
      { type: 'send-keepalive' },
      { type: 'start-timer', timer: 'Keepalive', seconds: 3 },
      { type: 'start-timer', timer: 'Hold', seconds: 9 },
    ],
  },
  {
    name: 'OpenSent + BGPOpen with hold time 0: no keepalive timer, hold stopped',
    from: at('OpenSent'),
    event: { type: 'BGPOpen', holdTime: 0 },
    to: 'OpenConfirm',
    actions: [{ type: 'send-keepalive' }, { type: 'stop-timer', timer: 'Hold' }],
    absent: ['start-timer'],
  },
  {
    name: 'OpenSent + BGPOpenMsgErr: send its NOTIFICATION, Idle with error wait 5 s',
    from: at('OpenSent'),
    event: { type: 'BGPOpenMsgErr', notice: notice(2, 2) },
    to: 'Idle',
    actions: [
      { type: 'send-notification', notice: notice(2, 2) },
      { type: 'close' },
      { type: 'release' },
      { type: 'start-timer', timer: 'IdleHold', seconds: 5 },
    ],
  },
  {
    name: 'OpenSent + BGPHeaderErr: send its NOTIFICATION, Idle',
    from: at('OpenSent'),
    event: { type: 'BGPHeaderErr', notice: notice(1, 2) },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(1, 2) }, { type: 'close' }],
  },
  {
    name: 'OpenSent + HoldTimer_Expires: 4/0, Idle',
    from: at('OpenSent'),
    event: { type: 'HoldTimer_Expires' },
    to: 'Idle',
    actions: [
      { type: 'send-notification', notice: notice(4, 0) },
      { type: 'close' },
      { type: 'down', cause: { kind: 'hold-timer' }, wasEstablished: false },
    ],
  },
  {
    name: 'OpenSent + TcpConnectionFails: close, restart ConnectRetryTimer, Active',
    from: at('OpenSent'),
    event: { type: 'TcpConnectionFails' },
    to: 'Active',
    actions: [{ type: 'close' }, { type: 'start-timer', timer: 'ConnectRetry', seconds: 5 }],
    absent: ['send-notification'],
  },
  {
    name: 'OpenSent + OpenCollisionDump: Cease 7, Idle',
    from: at('OpenSent'),
    event: { type: 'OpenCollisionDump' },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(6, 7) }, { type: 'close' }],
  },
  {
    name: 'OpenSent + NotifMsg: Idle, no NOTIFICATION back',
    from: at('OpenSent'),
    event: { type: 'NotifMsg', notice: notice(6, 2) },
    to: 'Idle',
    actions: [
      { type: 'close' },
      { type: 'down', cause: { kind: 'notification-received', notice: notice(6, 2) }, wasEstablished: false },
    ],
    absent: ['send-notification'],
  },
  {
    name: 'OpenSent + KeepAliveMsg: FSM error 5/1 (RFC 6608)',
    from: at('OpenSent'),
    event: { type: 'KeepAliveMsg' },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(5, 1) }],
  },
  {
    name: 'OpenSent + ManualStop with Cease 3 and message: sends it, no restart',
    from: at('OpenSent'),
    event: { type: 'ManualStop', cease: { code: 6, subcode: 3, data: new Uint8Array([3, 98, 121, 101]) } },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: { code: 6, subcode: 3, data: new Uint8Array([3, 98, 121, 101]) } }],
    absent: ['start-timer'],
  },
  // OpenConfirm
  {
    name: 'OpenConfirm + KeepAliveMsg: restart hold, Established',
    from: at('OpenConfirm'),
    event: { type: 'KeepAliveMsg' },
    to: 'Established',
    actions: [{ type: 'start-timer', timer: 'Hold', seconds: 90 }, { type: 'established' }],
  },
  {
    name: 'OpenConfirm + KeepaliveTimer_Expires: send KEEPALIVE, restart timer',
    from: at('OpenConfirm'),
    event: { type: 'KeepaliveTimer_Expires' },
    to: 'OpenConfirm',
    actions: [{ type: 'send-keepalive' }, { type: 'start-timer', timer: 'Keepalive', seconds: 30 }],
  },
  {
    name: 'OpenConfirm + HoldTimer_Expires: 4/0',
    from: at('OpenConfirm'),
    event: { type: 'HoldTimer_Expires' },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(4, 0) }],
  },
  {
    name: 'OpenConfirm + NotifMsg: Idle',
    from: at('OpenConfirm'),
    event: { type: 'NotifMsg', notice: notice(2, 2) },
    to: 'Idle',
    actions: [{ type: 'close' }],
    absent: ['send-notification'],
  },
  {
    name: 'OpenConfirm + TcpConnectionFails: Idle',
    from: at('OpenConfirm'),
    event: { type: 'TcpConnectionFails' },
    to: 'Idle',
    actions: [{ type: 'close' }, { type: 'release' }],
  },
  {
    name: 'OpenConfirm + OpenCollisionDump: Cease 7',
    from: at('OpenConfirm'),
    event: { type: 'OpenCollisionDump' },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(6, 7) }],
  },
  {
    name: 'OpenConfirm + UpdateMsg: FSM error 5/2',
    from: at('OpenConfirm'),
    event: { type: 'UpdateMsg' },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(5, 2) }],
  },
  {
    name: 'OpenConfirm + ManualStop: Cease 2 by default',
    from: at('OpenConfirm'),
    event: { type: 'ManualStop' },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(6, 2) }, { type: 'close' }],
  },
  // Established
  {
    name: 'Established + KeepaliveTimer_Expires: send KEEPALIVE',
    from: at('Established'),
    event: { type: 'KeepaliveTimer_Expires' },
    to: 'Established',
    actions: [{ type: 'send-keepalive' }, { type: 'start-timer', timer: 'Keepalive', seconds: 30 }],
  },
  {
    name: 'Established + KeepAliveMsg: restart hold timer',
    from: at('Established'),
    event: { type: 'KeepAliveMsg' },
    to: 'Established',
    actions: [{ type: 'start-timer', timer: 'Hold', seconds: 90 }],
  },
  {
    name: 'Established + UpdateMsg: restart hold timer',
    from: at('Established'),
    event: { type: 'UpdateMsg' },
    to: 'Established',
    actions: [{ type: 'start-timer', timer: 'Hold', seconds: 90 }],
  },
  {
    name: 'Established + RouteRefreshMsg: restart hold timer',
    from: at('Established'),
    event: { type: 'RouteRefreshMsg' },
    to: 'Established',
    actions: [{ type: 'start-timer', timer: 'Hold', seconds: 90 }],
  },
  {
    name: 'Established + UpdateMsg with hold time 0: no hold timer',
    from: at('Established', { holdTime: 0, keepaliveTime: 0 }),
    event: { type: 'UpdateMsg' },
    to: 'Established',
    actions: [],
    absent: ['start-timer'],
  },
  {
    name: 'Established + HoldTimer_Expires: 4/0, down',
    from: at('Established'),
    event: { type: 'HoldTimer_Expires' },
    to: 'Idle',
    actions: [
      { type: 'send-notification', notice: notice(4, 0) },
      { type: 'down', cause: { kind: 'hold-timer' }, wasEstablished: true },
    ],
  },
  {
    name: 'Established + UpdateMsgErr: its NOTIFICATION, down',
    from: at('Established'),
    event: { type: 'UpdateMsgErr', notice: notice(3, 1) },
    to: 'Idle',
    actions: [
      { type: 'send-notification', notice: notice(3, 1) },
      { type: 'down', cause: { kind: 'notification-sent', notice: notice(3, 1) }, wasEstablished: true },
    ],
  },
  {
    name: 'Established + TcpConnectionFails: down without NOTIFICATION',
    from: at('Established'),
    event: { type: 'TcpConnectionFails', reason: 'reset' },
    to: 'Idle',
    actions: [{ type: 'down', cause: { kind: 'connection-lost', reason: 'reset' }, wasEstablished: true }],
    absent: ['send-notification'],
  },
  {
    name: 'Established + NotifMsg: down',
    from: at('Established'),
    event: { type: 'NotifMsg', notice: notice(6, 4) },
    to: 'Idle',
    actions: [{ type: 'down', cause: { kind: 'notification-received', notice: notice(6, 4) }, wasEstablished: true }],
    absent: ['send-notification'],
  },
  {
    name: 'Established + ManualStop(Cease 3): send it, down, no restart',
    from: at('Established'),
    event: { type: 'ManualStop', cease: notice(6, 3) },
    to: 'Idle',
    actions: [
      { type: 'send-notification', notice: notice(6, 3) },
      { type: 'close' },
      { type: 'down', cause: { kind: 'stopped', notice: notice(6, 3) }, wasEstablished: true },
    ],
    absent: ['start-timer'],
  },
  {
    name: 'Established + BGPOpen: FSM error 5/3',
    from: at('Established'),
    event: { type: 'BGPOpen', holdTime: 90 },
    to: 'Idle',
    actions: [{ type: 'send-notification', notice: notice(5, 3) }],
  },
  {
    name: 'Established + TcpConnectionConfirmed: unchanged (collision handled by the session)',
    from: at('Established'),
    event: { type: 'TcpConnectionConfirmed' },
    to: 'Established',
    actions: [],
  },
];

function containsInOrder(actual: FsmAction[], expected: FsmAction[]): boolean {
  let i = 0;
  for (const a of actual) {
    if (i < expected.length && JSON.stringify(a) === JSON.stringify(expected[i])) i++;
  }
  return i === expected.length;
}

describe('RFC 4271 §8.2.2 transitions', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const { data, actions } = transition(row.from, row.event, row.config ?? active);
    expect(data.state).toBe(row.to);
    expect(containsInOrder(actions, row.actions), JSON.stringify(actions)).toBe(true);
    for (const type of row.absent ?? []) expect(actions.map((a) => a.type)).not.toContain(type);
  });
});

describe('error wait back-off (BIRD error wait time 5,30)', () => {
  it('doubles 5, 10, 20, 30, 30 over repeated failures and resets once Established', () => {
    let data = at('OpenSent');
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = transition({ ...data, state: 'OpenSent' }, { type: 'HoldTimer_Expires' }, active);
      const idleHold = t.actions.find((a) => a.type === 'start-timer' && a.timer === 'IdleHold');
      waits.push(idleHold && idleHold.type === 'start-timer' ? idleHold.seconds : -1);
      data = t.data;
    }
    expect(waits).toEqual([5, 10, 20, 30, 30]);
    const up = transition({ ...data, state: 'OpenConfirm' }, { type: 'KeepAliveMsg' }, active);
    expect(up.data.errorWait).toBe(5);
  });

  it('a stopped FSM does not schedule a restart on error', () => {
    const t = transition(at('OpenSent', { autoRestart: false }), { type: 'HoldTimer_Expires' }, active);
    expect(t.actions.map((a) => a.type)).not.toContain('start-timer');
  });
});

describe('keepalive interval', () => {
  it('is a third of the hold time, none for 0', () => {
    expect(keepaliveFor(240)).toBe(80);
    expect(keepaliveFor(3)).toBe(1);
    expect(keepaliveFor(0)).toBe(0);
  });
});
