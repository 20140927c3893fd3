/** Pure session rules: collision winner, graceful-down decision, listener filtering. */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/clock.js';
import { collisionWinner, resolveCollision } from '../../../src/bgp/session/collision.js';
import { isGracefulDown } from '../../../src/bgp/session/graceful.js';
import { Listener } from '../../../src/bgp/session/listener.js';
import { decodeShutdownMessage, shutdownMessage } from '../../../src/bgp/session/words.js';
import { FakeSocket } from './fake-socket.js';

describe('collision resolution', () => {
  it('compares identifiers as unsigned 32-bit integers', () => {
    expect(collisionWinner('10.0.0.1', '10.0.0.2')).toBe('remote');
    expect(collisionWinner('10.0.0.3', '10.0.0.2')).toBe('local');
    expect(collisionWinner('200.0.0.1', '9.255.255.255')).toBe('local'); // not a string comparison
  });
  it.each([
    [{ existing: 'local', existingEstablished: false, replaceEstablished: false, localId: '1.1.1.1', remoteId: '2.2.2.2' }, 'close-existing'],
    [{ existing: 'local', existingEstablished: false, replaceEstablished: false, localId: '3.3.3.3', remoteId: '2.2.2.2' }, 'close-new'],
    [{ existing: 'remote', existingEstablished: false, replaceEstablished: false, localId: '3.3.3.3', remoteId: '2.2.2.2' }, 'close-existing'],
    [{ existing: 'local', existingEstablished: true, replaceEstablished: false, localId: '1.1.1.1', remoteId: '2.2.2.2' }, 'close-new'],
    [{ existing: 'local', existingEstablished: true, replaceEstablished: true, localId: '3.3.3.3', remoteId: '2.2.2.2' }, 'close-existing'],
  ] as const)('%o -> %s', (opts, expected) => {
    expect(resolveCollision(opts)).toBe(expected);
  });
});

describe('graceful down (RFC 4724, RFC 8538)', () => {
  const gr = { remote: { restartTime: 120, notification: false }, localNotification: false };
  const grN = { remote: { restartTime: 120, notification: true }, localNotification: true };
  it.each([
    ['no GR negotiated, TCP drop', { remote: null, localNotification: false }, undefined, false],
    ['GR, TCP drop', gr, undefined, true],
    ['GR, NOTIFICATION', gr, { code: 6, subcode: 4 }, false],
    ['GR + N bit, NOTIFICATION', grN, { code: 4, subcode: 0 }, true],
    ['GR + N bit, Hard Reset', grN, { code: 6, subcode: 9 }, false],
  ] as const)('%s', (_n, state, notice, expected) => {
    expect(isGracefulDown(state, notice)).toBe(expected);
  });
});

describe('shutdown communication (RFC 8203)', () => {
  it('round-trips a message with its length octet', () => {
    const m = shutdownMessage('peer removed');
    expect(m[0]).toBe(12);
    expect(decodeShutdownMessage(m)).toBe('peer removed');
    expect(decodeShutdownMessage(new Uint8Array([5, 1]))).toBeUndefined();
  });
});

describe('listener', () => {
  it('hands configured sources to their peer and destroys others, logging each address at most once a minute', () => {
    const clock = new FakeClock();
    const warnings: object[] = [];
    const accepted: string[] = [];
    const listener = new Listener({
      port: 0,
      clock,
      logger: { info() {}, debug() {}, warn: (o) => void warnings.push(o) },
      lookup: (a) => (a === '10.0.0.2' ? { accept: () => void accepted.push(a) } : undefined),
    });
    const known = new FakeSocket('::ffff:10.0.0.2');
    listener.onConnection(known.asSocket());
    expect(accepted).toEqual(['10.0.0.2']);
    expect(known.destroyed).toBe(false);

    for (let i = 0; i < 3; i++) {
      const s = new FakeSocket('10.0.0.66');
      listener.onConnection(s.asSocket());
      expect(s.destroyed).toBe(true);
      expect(s.written).toHaveLength(0);
      clock.advance(10_000);
    }
    expect(warnings).toHaveLength(1);
    clock.advance(60_000);
    listener.onConnection(new FakeSocket('10.0.0.66').asSocket());
    listener.onConnection(new FakeSocket('10.0.0.67').asSocket());
    expect(warnings).toHaveLength(3);
    expect(listener.rejected.get('10.0.0.66')?.count).toBe(4);
    expect(listener.rejectedTotal).toBe(5);
  });
});
