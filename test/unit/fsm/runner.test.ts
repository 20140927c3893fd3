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
