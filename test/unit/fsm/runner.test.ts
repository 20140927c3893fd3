/** The FSM driven through a fake clock: timers fire in order without waiting. */
import { describe, expect, it } from 'vitest';
import { BIRD_DEFAULTS, FakeClock, FsmRunner, type FsmAction } from '../../../src/bgp/fsm/index.js';

function harness(config = BIRD_DEFAULTS) {
  const clock = new FakeClock();
  const log: string[] = [];
  const runner = new FsmRunner(config, clock, (action: FsmAction) => {
    log.push(action.type === 'send-notification' ? `notify ${action.notice.code}/${action.notice.subcode}` : action.type);
  });
  return { clock, log, runner };
}

describe('FsmRunner with an injected clock', () => {
  it('waits the connect delay, then connects, and retries every connect retry time after refusal', () => {
    const { clock, log, runner } = harness();
    runner.handle({ type: 'AutomaticStart' });
    expect(runner.state).toBe('Active');
    clock.advance(1999);
    expect(log).not.toContain('connect');
    clock.advance(1);
    expect(log.filter((l) => l === 'connect')).toHaveLength(1);
    expect(runner.state).toBe('Connect');
    runner.handle({ type: 'TcpConnectionFails', reason: 'connection refused' });
    expect(runner.state).toBe('Active');
    clock.advance(4999);
    expect(log.filter((l) => l === 'connect')).toHaveLength(1);
    clock.advance(1);
    expect(log.filter((l) => l === 'connect')).toHaveLength(2);
  });

  it('expires the negotiated hold time with 4/0 and restarts after the error wait', () => {
    const { clock, log, runner } = harness({ ...BIRD_DEFAULTS, connectDelayTime: 0 });
    runner.handle({ type: 'AutomaticStart' });
    runner.handle({ type: 'Tcp_CR_Acked' });
    runner.handle({ type: 'BGPOpen', holdTime: 3 });
    runner.handle({ type: 'KeepAliveMsg' });
    expect(runner.state).toBe('Established');
    clock.advance(1000); // keepalive every second (3 / 3)
    expect(log.filter((l) => l === 'send-keepalive').length).toBe(2); // one at OPEN, one from the timer
    runner.handle({ type: 'KeepAliveMsg' }); // restarts the hold timer at t=1 s
    clock.advance(2999);
    expect(runner.state).toBe('Established');
    clock.advance(1);
    expect(runner.state).toBe('Idle');
    expect(log).toContain('notify 4/0');
    clock.advance(5000); // error wait 5 s, then AutomaticStart again: Connect at once
    expect(runner.state).toBe('Connect');
  });

  it('ManualStop cancels every timer', () => {
    const { clock, runner } = harness();
    runner.handle({ type: 'AutomaticStart' });
    runner.handle({ type: 'ManualStop' });
    expect(runner.state).toBe('Idle');
    clock.advance(60_000);
    expect(runner.state).toBe('Idle');
    expect(clock.pending).toBe(0);
  });
});

describe('FsmRunner: timers and re-entrancy (mutation-testing survivors)', () => {
  it('the DelayOpen timer fires DelayOpenTimer_Expires: OPEN goes out after the delay', () => {
    const { clock, log, runner } = harness({ ...BIRD_DEFAULTS, connectDelayTime: 0, delayOpenTime: 2 });
    runner.handle({ type: 'AutomaticStart' });
    runner.handle({ type: 'Tcp_CR_Acked' });
    expect(runner.isTimerRunning('DelayOpen')).toBe(true);
    clock.advance(1999);
    expect(log).not.toContain('send-open');
    clock.advance(1);
    expect(log).toContain('send-open');
    expect(runner.state).toBe('OpenSent');
  });

  it('a restarted timer fires once, at its new time; a cancelled one never', () => {
    const { clock, log, runner } = harness({ ...BIRD_DEFAULTS, connectDelayTime: 0 });
    runner.handle({ type: 'AutomaticStart' });
    runner.handle({ type: 'Tcp_CR_Acked' });
    runner.handle({ type: 'BGPOpen', holdTime: 9 });
    runner.handle({ type: 'KeepAliveMsg' });
    clock.advance(8000);
    runner.handle({ type: 'UpdateMsg' }); // hold restarted at 8 s: expires at 17 s, not 9 s
    clock.advance(8999);
    expect(runner.state).toBe('Established');
    clock.advance(1);
    expect(runner.state).toBe('Idle');
    expect(log.filter((l) => l === 'notify 4/0')).toHaveLength(1);
  });

  it('a timer handle that was replaced does nothing when the clock fires it anyway', () => {
    // A clock that cannot cancel: every callback fires, as a late timer in an event loop might.
    const fired: (() => void)[] = [];
    const clock = { now: () => 0, setTimer: (_ms: number, fn: () => void) => (fired.push(fn), { cancel: () => {} }) };
    const log: string[] = [];
    const runner = new FsmRunner({ ...BIRD_DEFAULTS, connectDelayTime: 0 }, clock, (a) => log.push(a.type));
    runner.handle({ type: 'AutomaticStart' }); // ConnectRetry #1
    runner.handle({ type: 'TcpConnectionFails' }); // ConnectRetry #2 replaces #1
    const connects = log.filter((l) => l === 'connect').length;
    fired[0](); // the replaced one: must be ignored
    expect(log.filter((l) => l === 'connect').length).toBe(connects);
    fired[fired.length - 1](); // the live one
    expect(log.filter((l) => l === 'connect').length).toBe(connects + 1);
  });

  it('events raised by an action are handled after the current transition, in order; state changes reported once each', () => {
    const clock = new FakeClock();
    const changes: string[] = [];
    let runner!: FsmRunner;
    const order: string[] = [];
    runner = new FsmRunner({ ...BIRD_DEFAULTS, connectDelayTime: 0 }, clock, (a) => {
      order.push(`${a.type}@${runner.state}`);
      // The connect "fails" synchronously, inside the transition that asked for it.
      if (a.type === 'connect' && order.length === 1) runner.handle({ type: 'TcpConnectionFails', reason: 'refused' });
    }, (from, to) => changes.push(`${from}->${to}`));
    runner.handle({ type: 'AutomaticStart' });
    expect(order[0]).toBe('connect@Connect');
    // The failure was processed after AutomaticStart's transition finished, leaving Active.
    expect(runner.state).toBe('Active');
    expect(changes).toEqual(['Idle->Connect', 'Connect->Active']);
    runner.handle({ type: 'ManualStart' }); // ignored in Active: no state change reported
    expect(changes).toHaveLength(2);
  });

  it('reset() cancels every running timer', () => {
    const { clock, runner } = harness();
    runner.handle({ type: 'AutomaticStart' });
    expect(clock.pending).toBe(1);
    runner.reset({ state: 'Idle' });
    expect(clock.pending).toBe(0);
    expect(runner.isTimerRunning('ConnectRetry')).toBe(false);
    runner.setConfig({ ...BIRD_DEFAULTS, connectDelayTime: 7 });
    runner.handle({ type: 'AutomaticStart' });
    clock.advance(6999);
    expect(runner.state).toBe('Active');
    clock.advance(1);
    expect(runner.state).toBe('Connect');
  });
});
