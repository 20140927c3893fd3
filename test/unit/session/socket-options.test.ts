/**
 * struct tcp_md5sig as Linux lays it out (include/uapi/linux/tcp.h), and the
 * kernel counters that witness a password mismatch (RFC 2385 §2 drops).
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeTcpMd5Sig, ffiLoaded, gtsmMinTtl, ipv6Bytes, TCP_MD5SIG_SIZE } from '../../../src/bgp/session/socket-options.js';
import { connectorFor, md5Delta, md5Explanation, needsSocketOptions, parseMd5Counters } from '../../../src/bgp/session/session-security.js';

describe('struct tcp_md5sig', () => {
  it('IPv4 peer on an IPv4 socket: sockaddr_in, key length, key at offset 136', () => {
    const b = encodeTcpMd5Sig('192.0.2.7', Buffer.from('s3cret'), 4);
    expect(b.length).toBe(TCP_MD5SIG_SIZE);
    expect(b.readUInt16LE(0)).toBe(2); // AF_INET
    expect(b.readUInt16BE(2)).toBe(0); // port: any
    expect([...b.subarray(4, 8)]).toEqual([192, 0, 2, 7]);
    expect(b.subarray(8, 128).every((x) => x === 0)).toBe(true);
    expect(b[128]).toBe(0); // tcpm_flags: no prefix, no ifindex
    expect(b[129]).toBe(0); // tcpm_prefixlen
    expect(b.readUInt16LE(130)).toBe(6); // tcpm_keylen
    expect(b.readUInt32LE(132)).toBe(0); // tcpm_ifindex
    expect(b.subarray(136, 142).toString()).toBe('s3cret');
    expect(b.subarray(142).every((x) => x === 0)).toBe(true);
  });

  it('IPv4 peer on a dual-stack (IPv6) listener: sockaddr_in6 with ::ffff:a.b.c.d', () => {
    const b = encodeTcpMd5Sig('10.0.0.2', Buffer.from('k'), 6);
    expect(b.readUInt16LE(0)).toBe(10); // AF_INET6
    expect(b.readUInt32LE(4)).toBe(0); // flowinfo
    expect([...b.subarray(8, 24)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 2]);
    expect(b.readUInt32LE(24)).toBe(0); // scope id
    expect(b.readUInt16LE(130)).toBe(1);
  });

  it('IPv6 peer: the 16 address bytes; an IPv6 peer on an IPv4 socket is an error', () => {
    const b = encodeTcpMd5Sig('fd00::1:2', Buffer.from('k'), 6);
    expect([...b.subarray(8, 24)]).toEqual([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
    expect(() => encodeTcpMd5Sig('fd00::1', Buffer.from('k'), 4)).toThrow(/IPv6 address/);
  });

  it('a null key deletes (key length 0); keys over 80 bytes are refused', () => {
    const b = encodeTcpMd5Sig('192.0.2.7', null, 4);
    expect(b.readUInt16LE(130)).toBe(0);
    expect(b.subarray(136).every((x) => x === 0)).toBe(true);
    expect(encodeTcpMd5Sig('192.0.2.7', Buffer.alloc(80, 1), 4).readUInt16LE(130)).toBe(80);
    expect(() => encodeTcpMd5Sig('192.0.2.7', Buffer.alloc(81, 1), 4)).toThrow(/at most 80/);
  });

  it('IPv6 text forms', () => {
    expect([...ipv6Bytes('::')]).toEqual(new Array(16).fill(0));
    expect([...ipv6Bytes('2001:db8::')].slice(0, 4)).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect([...ipv6Bytes('1:2:3:4:5:6:7:8')]).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect([...ipv6Bytes('::ffff:1.2.3.4')].slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(() => ipv6Bytes('1::2::3')).toThrow();
  });
});

describe('GTSM (RFC 5082 §3)', () => {
  it('minimum TTL is 256 - hops, hops clamped to 1..255', () => {
    expect(gtsmMinTtl(1)).toBe(255);
    expect(gtsmMinTtl(2)).toBe(254);
    expect(gtsmMinTtl(255)).toBe(1);
    expect(gtsmMinTtl(0)).toBe(255);
  });
  it('only sessions with a password or ttlSecurity need the FFI socket', () => {
    expect(needsSocketOptions({})).toBe(false);
    expect(needsSocketOptions({ ttlSecurity: 0 })).toBe(false);
    expect(needsSocketOptions({ ttlSecurity: 1 })).toBe(true);
    expect(needsSocketOptions({ password: 'x' })).toBe(true);
  });
  it('a session with neither gets node\'s own net.connect, and the FFI stays unloaded', () => {
    const plain = { name: 'Mesh_10_0_0_2', type: 'node-to-node mesh' as const, address: '10.0.0.2', port: 179, asNumber: 64512, passive: false, keepOriginalNextHop: false, restartTime: 120 };
    expect(connectorFor(plain)).toBe(net.connect);
    expect(connectorFor({ ...plain, password: 'x' })).not.toBe(net.connect);
    expect(ffiLoaded()).toBe(false);
  });
});

describe('TCP MD5 counters (/proc/net/netstat TcpExt)', () => {
  const netstat = (notFound: number, unexpected: number, failure: number) =>
    `TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPSackShifted\nTcpExt: 0 ${notFound} ${unexpected} ${failure} 9\nIpExt: InNoRoutes\nIpExt: 0\n`;
  it('parses the three counters by name', () => {
    expect(parseMd5Counters(netstat(1, 2, 3))).toEqual({ TCPMD5NotFound: 1, TCPMD5Unexpected: 2, TCPMD5Failure: 3 });
    expect(parseMd5Counters('IpExt: a\nIpExt: 1\n')).toBeNull();
  });
  it('a rise is explained in operator words; silence to our SYN too; passive silence says nothing', () => {
    const base = parseMd5Counters(netstat(0, 0, 5))!;
    const now = parseMd5Counters(netstat(2, 0, 9))!;
    const words = md5Explanation(md5Delta(now, base), 'Active')!;
    expect(words).toMatch(/4 segments failed the TCP MD5 check \(TCPMD5Failure\): the password differs/);
    expect(words).toMatch(/TCPMD5NotFound\): the peer has no password/);
    expect(md5Explanation(md5Delta(base, base), 'Connect')).toMatch(/no answer to our signed SYN/);
    expect(md5Explanation(md5Delta(base, base), 'passive')).toBeUndefined();
  });
});
