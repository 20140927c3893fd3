/**
 * The listening socket's TCP MD5 keys over loopback (no namespace, no root):
 * ListenerSecurity adds a key before the peer connects, replaces it when the
 * password changes, and deletes it (key length 0, RFC 2385 has no key id)
 * when the peer goes; outgoing sockets from connectWithOptions sign their SYN.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { connectWithOptions, ListenerSecurity } from '../../../src/bgp/session/session-security.js';

const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listener(host: string): Promise<{ server: net.Server; port: number; accepted: string[] }> {
  const accepted: string[] = [];
  const server = net.createServer((s) => {
    accepted.push(s.remoteAddress ?? '');
    s.destroy();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as net.AddressInfo).port, accepted };
}

/** Connect from 127.0.0.2 with or without a key: 'connected', or 'dropped' when no SYN-ACK came within `ms`. */
function attempt(port: number, password: string | undefined, ms = 700): Promise<'connected' | 'dropped'> {
  const opts = { host: '127.0.0.1', port, localAddress: '127.0.0.2' };
  const s = password === undefined ? net.connect(opts) : connectWithOptions({ address: '127.0.0.1', password }, opts);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.destroy();
      resolve('dropped');
    }, ms);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve('connected');
    });
    s.once('error', () => {});
  });
}

describe.each(['127.0.0.1', '::'])('ListenerSecurity on a listener bound to %s', (host) => {
  it('key added before the peer connects, replaced, deleted with the peer', async () => {
    const { server, port } = await listener(host);
    const sec = ListenerSecurity.forServer(server)!;
    expect(await attempt(port, undefined)).toBe('connected');

    sec.sync([{ address: '127.0.0.2', password: 'one' }]);
    expect(sec.errors.size).toBe(0);
    expect(sec.addresses()).toEqual(['127.0.0.2']);
    expect(await attempt(port, undefined)).toBe('dropped'); // TCPMD5NotFound on our side
    expect(await attempt(port, 'two')).toBe('dropped'); // TCPMD5Failure
    expect(await attempt(port, 'one')).toBe('connected');

    sec.sync([{ address: '127.0.0.2', password: 'two' }]);
    expect(await attempt(port, 'one')).toBe('dropped');
    expect(await attempt(port, 'two')).toBe('connected');

    sec.sync([]);
    expect(sec.addresses()).toEqual([]);
    expect(await attempt(port, undefined)).toBe('connected');
  });
});
