/**
 * Time for the route programmer: the agent's `Clock` (src/clock.ts) plus
 * `defer`, which coalesces one event-loop turn's changes into one batch.
 * Injected so unit tests drive scans, retry back-off and stale-route
 * timeouts without waiting.
 */
import { FakeClock, type Clock } from '../clock.js';

export interface Scheduler extends Clock {
  /** Run `fn` after the current event-loop turn. */
  defer(fn: () => void): void;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    // Unref'd: a pending scan or retry never keeps a finished process alive.
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
  defer: (fn) => void setImmediate(fn),
};

/** The fake clock for tests; `defer` still uses setImmediate (turns are real). */
export class ManualScheduler extends FakeClock implements Scheduler {
  constructor(start = 1_000_000) {
    super(start);
  }

  defer(fn: () => void): void {
    setImmediate(fn);
  }
}
