/**
 * The BGP finite state machine's vocabulary (RFC 4271 §8): states, events,
 * timers and the actions a transition asks the session to perform.
 *
 * Closed unions: a `switch` over any of them is checked for exhaustiveness.
 */

/** RFC 4271 §8.2.2 states. */
export type FsmStateName = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** The timers of RFC 4271 §8 (+ IdleHoldTimer of §8.1.1, used for BIRD's "error wait" back-off). */
export type TimerName = 'ConnectRetry' | 'Hold' | 'Keepalive' | 'DelayOpen' | 'IdleHold';

/** A NOTIFICATION to send or that was received (RFC 4271 §4.5). */
export interface Notice {
  code: number;
  subcode: number;
  data?: Uint8Array;
}

/**
 * Events (RFC 4271 §8.1). Names follow the RFC; the optional ones the agent
 * does not use (DampPeerOscillations, SendNOTIFICATIONwithoutOPEN, ...) are left out.
 */
export type FsmEvent =
  | { type: 'ManualStart' } // 1
  /** 2: ManualStop. `cease` is the RFC 4486 subcode (2 shutdown, 3 de-configured, 4 reset, 6 config change); data = RFC 8203 message. */
  | { type: 'ManualStop'; cease?: Notice }
  | { type: 'AutomaticStart' } // 3
  | { type: 'ManualStart_with_PassiveTcpEstablishment' } // 4
  | { type: 'AutomaticStart_with_PassiveTcpEstablishment' } // 5
  | { type: 'ConnectRetryTimer_Expires' } // 9
  | { type: 'HoldTimer_Expires' } // 10
  | { type: 'KeepaliveTimer_Expires' } // 11
  | { type: 'DelayOpenTimer_Expires' } // 12
  | { type: 'IdleHoldTimer_Expires' } // 13
  | { type: 'Tcp_CR_Acked' } // 16: our outgoing connect completed
  | { type: 'TcpConnectionConfirmed' } // 17: an incoming connection was accepted
  | { type: 'TcpConnectionFails'; reason?: string } // 18
  /** 19/20: a valid OPEN was received; `holdTime` is the negotiated one (min of both, already checked). */
  | { type: 'BGPOpen'; holdTime: number }
  | { type: 'BGPHeaderErr'; notice: Notice } // 21
  | { type: 'BGPOpenMsgErr'; notice: Notice } // 22
  | { type: 'OpenCollisionDump' } // 23
  | { type: 'NotifMsgVerErr'; notice: Notice } // 24
  | { type: 'NotifMsg'; notice: Notice } // 25
  | { type: 'KeepAliveMsg' } // 26
  | { type: 'UpdateMsg' } // 27
  | { type: 'UpdateMsgErr'; notice: Notice } // 28
  /** ROUTE-REFRESH (RFC 2918) received: like an UPDATE it proves the peer alive; before Established it is an FSM error. */
  | { type: 'RouteRefreshMsg' };

export type FsmEventType = FsmEvent['type'];

/** Why a session left Established (or failed before), so the session layer can word it and decide on graceful restart. */
export type DownCause =
  | { kind: 'stopped'; notice: Notice } // we sent a Cease on ManualStop
  | { kind: 'hold-timer' } // we sent 4/0
  | { kind: 'notification-sent'; notice: Notice } // we found an error and said so
  | { kind: 'notification-received'; notice: Notice }
  | { kind: 'connection-lost'; reason?: string } // TCP dropped, no NOTIFICATION
  | { kind: 'collision' }; // we dumped this connection with Cease 7

export type FsmAction =
  | { type: 'connect' } // initiate a TCP connection to the peer
  | { type: 'close' } // drop the TCP connection
  | { type: 'release' } // release BGP resources of the connection (tx queue, negotiated context)
  | { type: 'send-open' }
  | { type: 'send-keepalive' }
  | { type: 'send-notification'; notice: Notice }
  | { type: 'start-timer'; timer: TimerName; seconds: number }
  | { type: 'stop-timer'; timer: TimerName }
  | { type: 'established' }
  /** The session failed or stopped; `wasEstablished` says whether a 'down' must be reported upward. */
  | { type: 'down'; cause: DownCause; wasEstablished: boolean };

/** Configuration the transitions depend on; seconds. Defaults are BIRD's as confd renders them (docs/ARCHITECTURE.md "Calico facts"). */
export interface FsmConfig {
  /** Calico `passive on`: never initiate a connection, only accept. */
  passive: boolean;
  /** Hold time we offer in OPEN; also the "large value" used in OpenSent (RFC 4271 §8.2.2 suggests 4 minutes). */
  holdTime: number;
  connectRetryTime: number;
  /** BIRD's `connect delay time`: wait before the first outgoing connect. 0 = connect at once (RFC behaviour). */
  connectDelayTime: number;
  /** RFC 4271 §8.1.1 DelayOpen; 0 = off (BIRD's default). */
  delayOpenTime: number;
  /** BIRD's `error wait time` min,max: IdleHold back-off after an error, doubling. */
  errorWaitMin: number;
  errorWaitMax: number;
}

export const BIRD_DEFAULTS: FsmConfig = Object.freeze({
  passive: false,
  holdTime: 240,
  connectRetryTime: 5,
  connectDelayTime: 2,
  delayOpenTime: 0,
  errorWaitMin: 5,
  errorWaitMax: 30,
});

/** The FSM's own variables (RFC 4271 §8 "session attributes" the FSM owns). */
export interface FsmData {
  state: FsmStateName;
  connectRetryCounter: number;
  /** Next IdleHold duration (seconds); doubles after each error up to errorWaitMax, reset on Established. */
  errorWait: number;
  /** Hold time in use (negotiated once an OPEN was received; the large value in OpenSent). */
  holdTime: number;
  /** Keepalive interval in use; 0 = none (hold time 0). */
  keepaliveTime: number;
  /** Whether the FSM restarts itself after an error (set by the start events, cleared by ManualStop). */
  autoRestart: boolean;
  /** Whether DelayOpenTimer is running (changes TcpConnectionFails / BGPOpen handling in Connect/Active). */
  delayOpenRunning: boolean;
}

export interface Transition {
  data: FsmData;
  actions: FsmAction[];
}
