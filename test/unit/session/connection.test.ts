/** Connection: messages handled in order, at most TURN_BYTES per event-loop turn on pausable sockets. */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT, encodeAttributes, encodeMessage, packUpdates, type BgpError, type BgpMessage } from '../../../src/bgp/codec/index.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { systemClock } from '../../../src/clock.js';
import { Connection, TURN_BYTES, type ConnectionHandlers } from '../../../src/bgp/session/connection.js';

/** A socket stand-in with pause/resume, as net.Socket has. */
class PausableSocket extends EventEmitter {
  paused = false;
  pauses = 0;
  resumes = 0;
  destroyed = false;
  setNoDelay(): this {
    return this;
  }
  write(): boolean {
    return true;
  }
  pause(): this {
    this.paused = true;
    this.pauses++;
    return this;
  }
  resume(): this {
    this.paused = false;
    this.resumes++;
    return this;
  }
  destroy(): this {
    return this;
  }
}

function recorder() {
  const seen: string[] = [];
  const handlers: ConnectionHandlers = {
    onConnect() {},
    onMessage(_c, msg: BgpMessage) {
      seen.push(msg.type === 'UPDATE' ? `UPDATE ${msg.nlri.keys.length}` : msg.type);
    },
    onDecodeError(_c, err: BgpError) {
      seen.push(`error ${err.code}/${err.subcode}`);
    },
    onClosed() {
      seen.push('closed');
    },
  };
  return { seen, handlers };
}

/** Full 4096-octet UPDATEs, `n` of them. */
function fullUpdates(n: number): Buffer[] {
  const keys: number[] = [];
  for (let i = 0; i < n * 900; i++) keys.push(parsePrefix(`10.${i >> 14}.${(i >> 6) & 255}.${(i & 63) * 4}/30`));
  const attrs = encodeAttributes({ origin: 0, asPath: [], nextHop: '10.0.0.1', localPref: 100 }, DEFAULT_CONTEXT);
  return packUpdates(attrs, keys, null, DEFAULT_CONTEXT).slice(0, n);
}

const turn = () => new Promise<void>((r) => setImmediate(r));
const keepalive = encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT);

describe('Connection', () => {
  it('handles a large chunk over several turns, in order, paused meanwhile', async () => {
    const sock = new PausableSocket();
    const { seen, handlers } = recorder();
    new Connection(sock as unknown as net.Socket, 'in', handlers, systemClock);
    const updates = fullUpdates(6);
    expect(updates[0].length).toBeGreaterThan(4000);
    sock.emit('data', Buffer.concat([...updates, keepalive]));
    let perTurn = 0;
    for (let used = 0; used < TURN_BYTES; perTurn++) used += updates[perTurn].length;
    expect(perTurn).toBeLessThan(6);
    expect(seen).toHaveLength(perTurn);
    expect(sock.paused).toBe(true);
    for (let i = 0; i < 10 && sock.paused; i++) await turn();
    expect(sock.paused).toBe(false);
    expect(seen.slice(0, 6).every((s) => s.startsWith('UPDATE '))).toBe(true);
    expect(seen[6]).toBe('KEEPALIVE');
    expect(seen).toHaveLength(7);
    expect(sock.resumes).toBe(1);
  });

  it('small chunks are handled at once without pausing', () => {
    const sock = new PausableSocket();
    const { seen, handlers } = recorder();
    new Connection(sock as unknown as net.Socket, 'in', handlers, systemClock);
    sock.emit('data', Buffer.concat([keepalive, keepalive]));
    expect(seen).toEqual(['KEEPALIVE', 'KEEPALIVE']);
    expect(sock.pauses).toBe(0);
  });

  it('messages waiting when the socket closes are handled before the close is reported', () => {
    const sock = new PausableSocket();
    const { seen, handlers } = recorder();
    new Connection(sock as unknown as net.Socket, 'in', handlers, systemClock);
    const notification = encodeMessage({ type: 'NOTIFICATION', code: 6, subcode: 2, data: new Uint8Array(0) }, DEFAULT_CONTEXT);
    sock.emit('data', Buffer.concat([...fullUpdates(4), notification]));
    expect(seen).not.toContain('NOTIFICATION');
    sock.emit('close');
    expect(seen.slice(-2)).toEqual(['NOTIFICATION', 'closed']);
  });

  it('a message that fails to decode in the backlog stops handling there', async () => {
    const sock = new PausableSocket();
    const { seen, handlers } = recorder();
    new Connection(sock as unknown as net.Socket, 'in', handlers, systemClock);
    const badOpen = encodeMessage({ type: 'OPEN', version: 3, myAs: 64512, holdTime: 90, bgpId: '10.0.0.2', capabilities: [] }, DEFAULT_CONTEXT);
    sock.emit('data', Buffer.concat([...fullUpdates(4), badOpen, keepalive]));
    for (let i = 0; i < 10 && sock.paused; i++) await turn();
    expect(seen.slice(4)).toEqual(['error 2/1']);
  });

  it('a bad header fails the chunk at once, as before', () => {
    const sock = new PausableSocket();
    const { seen, handlers } = recorder();
    new Connection(sock as unknown as net.Socket, 'in', handlers, systemClock);
    const bad = Buffer.from(keepalive);
    bad[18] = 9; // unknown message type
    sock.emit('data', Buffer.concat([keepalive, bad]));
    expect(seen).toEqual(['error 1/3']);
  });

  it('without pause/resume (a plain stream) every message of a chunk is handled at once', () => {
    const sock = new PausableSocket();
    // A plain stream has neither method: shadow the prototype's with undefined.
    Object.assign(sock, { pause: undefined, resume: undefined });
    const { seen, handlers } = recorder();
    new Connection(sock as unknown as net.Socket, 'in', handlers, systemClock);
    sock.emit('data', Buffer.concat(fullUpdates(5)));
    expect(seen).toHaveLength(5);
  });

  it('close() while paused mid-backlog drops the rest and reads on, so the FIN is seen', () => {
    const sock = new PausableSocket() as PausableSocket & { end(): void };
    sock.end = () => undefined;
    const { seen, handlers } = recorder();
    const conn = new Connection(sock as unknown as net.Socket, 'in', handlers, systemClock);
    sock.emit('data', Buffer.concat(fullUpdates(5)));
    const handled = seen.length;
    expect(sock.paused).toBe(true);
    conn.close();
    expect(sock.paused).toBe(false);
    sock.emit('close');
    expect(seen).toHaveLength(handled); // neither the rest of the backlog nor a 'closed' report
  });
});
