/**
 * The BGP side of BFD (RFC 5882 §4.1, RFC 9384) on two real Speakers over
 * loopback: resetForForwardingFailure sends Cease 10 "BFD Down", the down
 * is not graceful on either side (routes must leave now, not as stale), and
 * the session comes back by itself; a change of BFD timers alone does not
 * touch the BGP session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerConfig } from '../../../src/contracts.js';
import { Speaker } from '../../../src/bgp/session/index.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import { until } from '../../helpers/wait.js';

function cfg(name: string, address: string, port: number, source: string, passive: boolean, bfd?: PeerConfig['bfd']): PeerConfig {
  return { name, type: 'global', address, port, asNumber: 64512, passive, sourceAddress: source, keepOriginalNextHop: false, restartTime: 120, ...(bfd ? { bfd } : {}) };
}

const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop({ graceful: false });
});

describe('BGP reset for a BFD forwarding failure', () => {
  it('Cease 10 BFD Down, non-graceful on both sides, then Established again; timer changes do not reset', async () => {
    const fsm = { connectDelayTime: 0, connectRetryTime: 1, errorWaitMin: 0.2, errorWaitMax: 0.5 };
    const a = new Speaker({ asNumber: 64512, routerId: '127.0.0.1', listenAddress: '127.0.0.1', listenPort: 0, fsm });
    const b = new Speaker({ asNumber: 64512, routerId: '127.0.0.2', listenAddress: '127.0.0.2', listenPort: 0, fsm });
    speakers.push(a, b);
    const portA = (await a.start())!;
    const portB = (await b.start())!;
    const ea: SessionEvent[] = [];
    const eb: SessionEvent[] = [];
    a.on('event', (e) => ea.push(e));
    b.on('event', (e) => eb.push(e));
    const timers = { minTxMs: 100, minRxMs: 100, multiplier: 3 };
    a.setPeers([cfg('Global_127_0_0_2', '127.0.0.2', portB, '127.0.0.1', false, timers)]);
    b.setPeers([cfg('Global_127_0_0_1', '127.0.0.1', portA, '127.0.0.2', true)]);
    const established = (ev: SessionEvent[]) => ev.filter((e) => e.type === 'established').length;
    await until('established', () => established(ea) === 1 && established(eb) === 1);
    expect(a.status()[0].capabilities).toEqual(expect.arrayContaining(['graceful-restart 120s']));

    // New BFD timers only: same session.
    a.setPeers([cfg('Global_127_0_0_2', '127.0.0.2', portB, '127.0.0.1', false, { minTxMs: 300, minRxMs: 300, multiplier: 5 })]);
    await new Promise((r) => setTimeout(r, 300));
    expect(ea.filter((e) => e.type === 'down')).toEqual([]);

    expect(a.resetForForwardingFailure('Global_127_0_0_2')).toBe(true);
    expect(a.resetForForwardingFailure('nobody')).toBe(false);
    await until('down on both sides', () => ea.some((e) => e.type === 'down') && eb.some((e) => e.type === 'down'));
    expect(ea.find((e) => e.type === 'down')).toMatchObject({ graceful: false });
    const downB = eb.find((e) => e.type === 'down');
    expect(downB).toMatchObject({ graceful: false });
    expect(downB?.type === 'down' && downB.reason).toMatch(/^Received NOTIFICATION 6\/10 .*BFD Down/);
    await until('established again', () => established(ea) === 2 && established(eb) === 2, 15_000);
  });
});
