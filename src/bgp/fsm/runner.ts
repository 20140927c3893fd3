/**
 * Binds the pure transition function to a clock: keeps the FSM variables,
 * runs the timer actions itself (one handle per RFC timer name) and hands
 * every other action to the session's executor, in order.
 *
 * Events raised while actions run (a timer firing synchronously in a test,
 * a send failing) are queued and processed after the current transition, so
 * transitions never interleave.
 */
import type { Clock, TimerHandle } from '../../clock.js';
import { initialFsm, transition } from './transition.js';
import type { FsmAction, FsmConfig, FsmData, FsmEvent, FsmStateName, TimerName } from './types.js';

const TIMER_EVENT: Record<TimerName, FsmEvent['type']> = {
  ConnectRetry: 'ConnectRetryTimer_Expires',
  Hold: 'HoldTimer_Expires',
  Keepalive: 'KeepaliveTimer_Expires',
  DelayOpen: 'DelayOpenTimer_Expires',
  IdleHold: 'IdleHoldTimer_Expires',
};

export type ActionExecutor = (action: Exclude<FsmAction, { type: 'start-timer' | 'stop-timer' }>, event: FsmEvent) => void;

export class FsmRunner {
  private fsm: FsmData;
  private readonly timers = new Map<TimerName, TimerHandle>();
  private readonly queue: FsmEvent[] = [];
  private running = false;

  constructor(
    private config: FsmConfig,
    private readonly clock: Clock,
    private readonly execute: ActionExecutor,
    private readonly onStateChange: (from: FsmStateName, to: FsmStateName, event: FsmEvent) => void = () => {},
  ) {
    this.fsm = initialFsm(config);
  }

  get state(): FsmStateName {
    return this.fsm.state;
  }

  get data(): Readonly<FsmData> {
    return this.fsm;
  }

  setConfig(config: FsmConfig): void {
    this.config = config;
  }

  /** Replace the FSM variables (collision resolution adopts another connection's progress). */
  reset(data: Partial<FsmData>): void {
    this.cancelTimers();
    this.fsm = { ...this.fsm, ...data };
  }

  isTimerRunning(timer: TimerName): boolean {
    return this.timers.has(timer);
  }

  cancelTimers(): void {
    for (const handle of this.timers.values()) handle.cancel();
    this.timers.clear();
  }

  handle(event: FsmEvent): void {
    this.queue.push(event);
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const next = this.queue.shift()!;
        const before = this.fsm.state;
        const { data, actions } = transition(this.fsm, next, this.config);
        this.fsm = data;
        for (const action of actions) this.run(action, next);
        if (data.state !== before) this.onStateChange(before, data.state, next);
      }
    } finally {
      this.running = false;
    }
  }

  private run(action: FsmAction, event: FsmEvent): void {
    if (action.type === 'start-timer') {
      this.timers.get(action.timer)?.cancel();
      const name = action.timer;
      const handle = this.clock.setTimer(action.seconds * 1000, () => {
        if (this.timers.get(name) !== handle) return;
        this.timers.delete(name);
        this.handle({ type: TIMER_EVENT[name] } as FsmEvent);
      });
      this.timers.set(name, handle);
    } else if (action.type === 'stop-timer') {
      this.timers.get(action.timer)?.cancel();
      this.timers.delete(action.timer);
    } else {
      this.execute(action, event);
    }
  }
}
