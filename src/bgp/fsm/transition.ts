/**
 * RFC 4271 §8.2.2 as a pure transition function:
 * `transition(data, event, config) -> { data, actions }`.
 *
 * No sockets, no clocks: the session executes the returned actions (connect,
 * send, start/stop timers through its injected scheduler) and feeds back the
 * resulting events. Every state handles every event type (exhaustive switch).
 *
 * Where this deliberately follows BIRD rather than the letter of the RFC (so a
 * peer behaves like calico-node's BIRD):
 * - Connect delay: a non-passive start waits `connectDelayTime` in Active
 *   before the first connect (BIRD `connect delay time 2`).
 * - A failed connect (Connect/Active + TcpConnectionFails) goes back to Active
 *   and retries after `connectRetryTime` instead of through Idle, so "connection
 *   refused" retries every 5 s as BIRD does.
 * - After an error the FSM rests in Idle for the IdleHold time (RFC 4271
 *   §8.1.1 "DampPeerOscillations" made concrete as BIRD's `error wait time
 *   5,30`: doubling from 5 s to 30 s, back to 5 s once Established), then
 *   restarts itself; ManualStop turns that off.
 * - A NOTIFICATION received is never answered with another NOTIFICATION.
 * - Passive (Calico's `passive on`): no ConnectRetryTimer at all, never connect.
 */
import type { DownCause, FsmAction, FsmConfig, FsmData, FsmEvent, Notice, Transition } from './types.js';
import {
  CEASE_ADMIN_RESET,
  CEASE_ADMIN_SHUTDOWN,
  CEASE_CONNECTION_COLLISION,
  CEASE_HARD_RESET,
  CEASE_OTHER_CONFIG_CHANGE,
  CEASE_PEER_DECONFIGURED,
  ERR_CEASE,
  ERR_FSM,
  ERR_HOLD_TIMER,
} from '../codec/constants.js';

/** RFC 4271 §6 error codes and RFC 4486 Cease subcodes used by the FSM (named once, in the codec). */
export const HOLD_TIMER_EXPIRED: Notice = { code: ERR_HOLD_TIMER, subcode: 0 };
export const CEASE = ERR_CEASE;
export { CEASE_ADMIN_SHUTDOWN, CEASE_PEER_DECONFIGURED, CEASE_ADMIN_RESET, CEASE_OTHER_CONFIG_CHANGE, CEASE_CONNECTION_COLLISION, CEASE_HARD_RESET };
/** RFC 6608 FSM error subcodes: unexpected message in OpenSent / OpenConfirm / Established. */
const FSM_ERROR = ERR_FSM;
const FSM_SUBCODE = { OpenSent: 1, OpenConfirm: 2, Established: 3 } as const;

/** The "large value" for the HoldTimer while waiting for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 minutes). */
export const OPEN_HOLD_TIME = 240;

export function initialFsm(config: FsmConfig): FsmData {
  return {
    state: 'Idle',
    connectRetryCounter: 0,
    errorWait: config.errorWaitMin,
    holdTime: config.holdTime,
    keepaliveTime: 0,
    autoRestart: false,
    delayOpenRunning: false,
  };
}

/** Keepalive interval for a negotiated hold time: a third of it (RFC 4271 §10), none when it is 0. */
export function keepaliveFor(holdTime: number): number {
  return holdTime === 0 ? 0 : Math.max(1, Math.floor(holdTime / 3));
}

const ALL_TIMERS_BUT_IDLE_HOLD = ['ConnectRetry', 'DelayOpen', 'Hold', 'Keepalive'] as const;

export function transition(data: FsmData, event: FsmEvent, config: FsmConfig): Transition {
  switch (data.state) {
    case 'Idle':
      return idle(data, event, config);
    case 'Connect':
    case 'Active':
      return connectOrActive(data, event, config);
    case 'OpenSent':
      return openSent(data, event, config);
    case 'OpenConfirm':
      return openConfirm(data, event, config);
    case 'Established':
      return established(data, event, config);
  }
}

// ---------------------------------------------------------------------------

function idle(data: FsmData, event: FsmEvent, config: FsmConfig): Transition {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
      return start({ ...data, connectRetryCounter: 0, autoRestart: true }, config.passive, config);
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return start({ ...data, connectRetryCounter: 0, autoRestart: true }, true, config);
    case 'IdleHoldTimer_Expires':
      // The automatic restart after an error (RFC 4271 §8.1.1 IdleHoldTimer).
      if (!data.autoRestart) return stay(data);
      return start(data, config.passive, config);
    case 'ManualStop':
      return { data: { ...data, autoRestart: false, connectRetryCounter: 0 }, actions: [{ type: 'stop-timer', timer: 'IdleHold' }] };
    case 'ConnectRetryTimer_Expires':
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
    case 'TcpConnectionFails':
    case 'BGPOpen':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
    case 'OpenCollisionDump':
    case 'NotifMsgVerErr':
    case 'NotifMsg':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      // RFC 4271 §8.2.2 Idle: "any other event ... does not cause change in the state".
      return stay(data);
  }
}

function start(data: FsmData, passive: boolean, config: FsmConfig): Transition {
  const base: FsmData = { ...data, delayOpenRunning: false, holdTime: config.holdTime, keepaliveTime: 0 };
  if (passive) {
    // Listen only: no ConnectRetryTimer, since its expiry would only lead to a connect we must not make.
    return { data: { ...base, state: 'Active' }, actions: [] };
  }
  if (config.connectDelayTime > 0) {
    return {
      data: { ...base, state: 'Active' },
      actions: [{ type: 'start-timer', timer: 'ConnectRetry', seconds: config.connectDelayTime }],
    };
  }
  return {
    data: { ...base, state: 'Connect' },
    actions: [{ type: 'start-timer', timer: 'ConnectRetry', seconds: config.connectRetryTime }, { type: 'connect' }],
  };
}

function connectOrActive(data: FsmData, event: FsmEvent, config: FsmConfig): Transition {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
      return stay(data);
    case 'ManualStop':
      return stop(data, event.cease, false);
    case 'ConnectRetryTimer_Expires':
      if (config.passive) return stay(data);
      return {
        data: { ...data, state: 'Connect', delayOpenRunning: false },
        actions: [
          ...(data.state === 'Connect' ? [{ type: 'close' } as FsmAction] : []),
          { type: 'stop-timer', timer: 'DelayOpen' },
          { type: 'start-timer', timer: 'ConnectRetry', seconds: config.connectRetryTime },
          { type: 'connect' },
        ],
      };
    case 'DelayOpenTimer_Expires':
      if (!data.delayOpenRunning) return stay(data);
      return {
        data: { ...data, state: 'OpenSent', delayOpenRunning: false, holdTime: OPEN_HOLD_TIME },
        actions: [
          { type: 'stop-timer', timer: 'ConnectRetry' },
          { type: 'send-open' },
          { type: 'start-timer', timer: 'Hold', seconds: OPEN_HOLD_TIME },
        ],
      };
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      if (config.delayOpenTime > 0) {
        return {
          data: { ...data, delayOpenRunning: true },
          actions: [
            { type: 'stop-timer', timer: 'ConnectRetry' },
            { type: 'start-timer', timer: 'DelayOpen', seconds: config.delayOpenTime },
          ],
        };
      }
      return {
        data: { ...data, state: 'OpenSent', holdTime: OPEN_HOLD_TIME },
        actions: [
          { type: 'stop-timer', timer: 'ConnectRetry' },
          { type: 'send-open' },
          { type: 'start-timer', timer: 'Hold', seconds: OPEN_HOLD_TIME },
        ],
      };
    case 'TcpConnectionFails':
      // BIRD-like: back to Active and retry after connectRetryTime (see header).
      return {
        data: { ...data, state: 'Active', delayOpenRunning: false, connectRetryCounter: data.connectRetryCounter + 1 },
        actions: [
          { type: 'stop-timer', timer: 'DelayOpen' },
          { type: 'close' },
          { type: 'release' },
          ...(config.passive
            ? []
            : [{ type: 'start-timer', timer: 'ConnectRetry', seconds: config.connectRetryTime } as FsmAction]),
          { type: 'down', cause: { kind: 'connection-lost', reason: event.reason }, wasEstablished: false },
        ],
      };
    case 'BGPOpen':
      if (data.delayOpenRunning) {
        // RFC 4271 §8.2.2 Connect/Active, Event 20: OPEN while DelayOpenTimer runs.
        return openReceived({ ...data, delayOpenRunning: false }, event.holdTime, [
          { type: 'stop-timer', timer: 'ConnectRetry' },
          { type: 'stop-timer', timer: 'DelayOpen' },
          { type: 'send-open' },
        ]);
      }
      return toIdle(data, config, { kind: 'connection-lost', reason: 'OPEN received before ours was sent' }, undefined);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle(data, config, { kind: 'notification-sent', notice: event.notice }, event.notice);
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return toIdle(data, config, { kind: 'notification-received', notice: event.notice }, undefined);
    case 'HoldTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'OpenCollisionDump':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      // "Any other event": drop the connection, release, Idle (RFC 4271 §8.2.2 Connect/Active).
      return toIdle(data, config, { kind: 'connection-lost', reason: `unexpected ${event.type} in ${data.state}` }, undefined);
  }
}

function openSent(data: FsmData, event: FsmEvent, config: FsmConfig): Transition {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // A second connection is collision handling (§6.8), done by the session.
      return stay(data);
    case 'ManualStop':
      return stop(data, event.cease, false);
    case 'HoldTimer_Expires':
      return toIdle(data, config, { kind: 'hold-timer' }, HOLD_TIMER_EXPIRED);
    case 'TcpConnectionFails':
      // RFC 4271 §8.2.2 OpenSent, Event 18: close, restart ConnectRetryTimer, Active.
      return {
        data: { ...data, state: 'Active' },
        actions: [
          { type: 'stop-timer', timer: 'Hold' },
          { type: 'close' },
          { type: 'release' },
          ...(config.passive
            ? []
            : [{ type: 'start-timer', timer: 'ConnectRetry', seconds: config.connectRetryTime } as FsmAction]),
          { type: 'down', cause: { kind: 'connection-lost', reason: event.reason }, wasEstablished: false },
        ],
      };
    case 'BGPOpen':
      return openReceived(data, event.holdTime, [
        { type: 'stop-timer', timer: 'DelayOpen' },
        { type: 'stop-timer', timer: 'ConnectRetry' },
      ]);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle(data, config, { kind: 'notification-sent', notice: event.notice }, event.notice);
    case 'OpenCollisionDump':
      return collisionDump(data, config);
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return toIdle(data, config, { kind: 'notification-received', notice: event.notice }, undefined);
    case 'ConnectRetryTimer_Expires':
    case 'KeepaliveTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return fsmError(data, config, FSM_SUBCODE.OpenSent);
  }
}

function openConfirm(data: FsmData, event: FsmEvent, config: FsmConfig): Transition {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      return stay(data);
    case 'ManualStop':
      return stop(data, event.cease, false);
    case 'HoldTimer_Expires':
      return toIdle(data, config, { kind: 'hold-timer' }, HOLD_TIMER_EXPIRED);
    case 'KeepaliveTimer_Expires':
      return keepalive(data);
    case 'TcpConnectionFails':
      return toIdle(data, config, { kind: 'connection-lost', reason: event.reason }, undefined);
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return toIdle(data, config, { kind: 'notification-received', notice: event.notice }, undefined);
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle(data, config, { kind: 'notification-sent', notice: event.notice }, event.notice);
    case 'OpenCollisionDump':
      return collisionDump(data, config);
    case 'KeepAliveMsg':
      // RFC 4271 §8.2.2 OpenConfirm, Event 26: restart HoldTimer, Established.
      // The error-wait back-off starts again from its minimum (BIRD forgets errors of a working session).
      return {
        data: { ...data, state: 'Established', errorWait: config.errorWaitMin, connectRetryCounter: 0 },
        actions: [...restartHold(data), { type: 'established' }],
      };
    case 'ConnectRetryTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen':
    case 'UpdateMsg':
    case 'UpdateMsgErr':
    case 'RouteRefreshMsg':
      return fsmError(data, config, FSM_SUBCODE.OpenConfirm);
  }
}

function established(data: FsmData, event: FsmEvent, config: FsmConfig): Transition {
  switch (event.type) {
    case 'ManualStart':
    case 'AutomaticStart':
    case 'ManualStart_with_PassiveTcpEstablishment':
    case 'AutomaticStart_with_PassiveTcpEstablishment':
    case 'Tcp_CR_Acked':
    case 'TcpConnectionConfirmed':
      // §6.8: a new connection colliding with an Established one is closed by the session.
      return stay(data);
    case 'ManualStop':
      return stop(data, event.cease, true);
    case 'HoldTimer_Expires':
      return toIdle(data, config, { kind: 'hold-timer' }, HOLD_TIMER_EXPIRED);
    case 'KeepaliveTimer_Expires':
      return keepalive(data);
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'RouteRefreshMsg':
      return { data, actions: restartHold(data) };
    case 'UpdateMsgErr':
    case 'BGPHeaderErr':
    case 'BGPOpenMsgErr':
      return toIdle(data, config, { kind: 'notification-sent', notice: event.notice }, event.notice);
    case 'TcpConnectionFails':
      return toIdle(data, config, { kind: 'connection-lost', reason: event.reason }, undefined);
    case 'NotifMsgVerErr':
    case 'NotifMsg':
      return toIdle(data, config, { kind: 'notification-received', notice: event.notice }, undefined);
    case 'OpenCollisionDump':
      return collisionDump(data, config);
    case 'ConnectRetryTimer_Expires':
    case 'DelayOpenTimer_Expires':
    case 'IdleHoldTimer_Expires':
    case 'BGPOpen':
      return fsmError(data, config, FSM_SUBCODE.Established);
  }
}

// ---------------------------------------------------------------------------

function stay(data: FsmData): Transition {
  return { data, actions: [] };
}

/** OPEN accepted (OpenSent, or Connect/Active with DelayOpen): KEEPALIVE, negotiated timers, OpenConfirm. */
function openReceived(data: FsmData, holdTime: number, before: FsmAction[]): Transition {
  const keepaliveTime = keepaliveFor(holdTime);
  const actions: FsmAction[] = [...before, { type: 'send-keepalive' }];
  if (holdTime > 0) {
    actions.push({ type: 'start-timer', timer: 'Keepalive', seconds: keepaliveTime });
    actions.push({ type: 'start-timer', timer: 'Hold', seconds: holdTime });
  } else {
    // RFC 4271 §4.4: hold time 0 means no KEEPALIVEs and no hold timer.
    actions.push({ type: 'stop-timer', timer: 'Hold' });
  }
  return { data: { ...data, state: 'OpenConfirm', holdTime, keepaliveTime }, actions };
}

function restartHold(data: FsmData): FsmAction[] {
  return data.holdTime > 0 ? [{ type: 'start-timer', timer: 'Hold', seconds: data.holdTime }] : [];
}

function keepalive(data: FsmData): Transition {
  if (data.keepaliveTime === 0) return stay(data);
  return {
    data,
    actions: [{ type: 'send-keepalive' }, { type: 'start-timer', timer: 'Keepalive', seconds: data.keepaliveTime }],
  };
}

/** ManualStop: Cease (when a BGP connection exists), drop, release, Idle, no automatic restart. */
function stop(data: FsmData, cease: Notice | undefined, wasEstablished: boolean): Transition {
  const hasBgpConnection = data.state === 'OpenSent' || data.state === 'OpenConfirm' || data.state === 'Established';
  const notice = cease ?? { code: CEASE, subcode: CEASE_ADMIN_SHUTDOWN };
  const actions: FsmAction[] = [];
  if (hasBgpConnection) actions.push({ type: 'send-notification', notice });
  for (const timer of ALL_TIMERS_BUT_IDLE_HOLD) actions.push({ type: 'stop-timer', timer });
  actions.push({ type: 'stop-timer', timer: 'IdleHold' }, { type: 'close' }, { type: 'release' });
  actions.push({ type: 'down', cause: { kind: 'stopped', notice }, wasEstablished });
  return {
    data: { ...data, state: 'Idle', connectRetryCounter: 0, autoRestart: false, delayOpenRunning: false },
    actions,
  };
}

/** Error exit to Idle: optional NOTIFICATION, drop, release, then IdleHold with back-off when restarting automatically. */
function toIdle(data: FsmData, config: FsmConfig, cause: DownCause, notice: Notice | undefined): Transition {
  const actions: FsmAction[] = [];
  if (notice) actions.push({ type: 'send-notification', notice });
  for (const timer of ALL_TIMERS_BUT_IDLE_HOLD) actions.push({ type: 'stop-timer', timer });
  actions.push({ type: 'close' }, { type: 'release' });
  actions.push({ type: 'down', cause, wasEstablished: data.state === 'Established' });
  let errorWait = data.errorWait;
  if (data.autoRestart) {
    actions.push({ type: 'start-timer', timer: 'IdleHold', seconds: data.errorWait });
    errorWait = Math.min(data.errorWait * 2, config.errorWaitMax);
  }
  return {
    data: {
      ...data,
      state: 'Idle',
      connectRetryCounter: data.connectRetryCounter + 1,
      errorWait,
      delayOpenRunning: false,
      keepaliveTime: 0,
    },
    actions,
  };
}

function collisionDump(data: FsmData, config: FsmConfig): Transition {
  const notice = { code: CEASE, subcode: CEASE_CONNECTION_COLLISION };
  return toIdle(data, config, { kind: 'collision' }, notice);
}

/** RFC 4271 §8.2.2 "any other event" in OpenSent/OpenConfirm/Established: FSM Error (subcodes RFC 6608). */
function fsmError(data: FsmData, config: FsmConfig, subcode: number): Transition {
  const notice = { code: FSM_ERROR, subcode };
  return toIdle(data, config, { kind: 'notification-sent', notice }, notice);
}
