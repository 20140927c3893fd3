/**
 * The FFI calls themselves (koffi -> libc), no root needed: errors carry the
 * errno name, options set on a real socket, and a socket whose options fail
 * errors and closes like a failed connect (the FSM retries, status says why).
 */
import { describe, expect, it } from 'vitest';
import { connectWithOptions } from '../../../src/bgp/session/session-security.js';
import { closeFd, ffiLoaded, setTcpMd5Key, setTtlSecurity, SocketOptionError, tcpSocket } from '../../../src/bgp/session/socket-options.js';

describe('socket options through the FFI', () => {
  it('sets TCP_MD5SIG and GTSM on a fresh socket; a bad fd is EBADF by name', () => {
    const fd = tcpSocket(4);
    try {
      expect(ffiLoaded()).toBe(true);
      setTcpMd5Key(fd, '192.0.2.1', Buffer.from('k'), 4);
      setTcpMd5Key(fd, '192.0.2.1', null, 4);
      setTtlSecurity(fd, '192.0.2.1', 1);
    } finally {
      closeFd(fd);
    }
    const fd6 = tcpSocket(6);
    try {
      setTcpMd5Key(fd6, '2001:db8::1', Buffer.from('k'), 6);
      setTcpMd5Key(fd6, '192.0.2.1', Buffer.from('k'), 6); // v4-mapped on a dual-stack socket
      setTtlSecurity(fd6, '2001:db8::1', 2);
    } finally {
      closeFd(fd6);
    }
    let err: unknown;
    try {
      setTcpMd5Key(fd, '192.0.2.1', Buffer.from('k'), 4); // closed above
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SocketOptionError);
    expect((err as SocketOptionError).code).toBe('EBADF');
    expect((err as Error).message).toBe('setsockopt(TCP_MD5SIG): EBADF (errno 9)');
  });

  it('a password the kernel cannot take makes the socket error and close, naming the cause', async () => {
    const s = connectWithOptions({ address: '127.0.0.1', password: 'x'.repeat(81) }, { host: '127.0.0.1', port: 9 });
    const err = new Promise<Error>((resolve) => s.once('error', resolve));
    const closed = new Promise((r) => s.once('close', r));
    expect((await err).message).toMatch(/^cannot set the TCP MD5 password on the socket: TCP MD5 key of 81 bytes/);
    await closed;
  });
});
