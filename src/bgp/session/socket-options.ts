/**
 * Socket options node `net` cannot set: TCP MD5 signatures (RFC 2385) and
 * the Generalized TTL Security Mechanism (GTSM, RFC 5082), through libc's
 * setsockopt called with koffi (an FFI whose npm package carries prebuilt
 * binaries, so nothing is compiled on the node).
 *
 * koffi is loaded on first use only: a speaker whose sessions have neither a
 * password nor ttlSecurity never loads it and keeps node's own sockets.
 *
 * Linux layouts (include/uapi/linux/tcp.h, in.h, in6.h):
 *   struct tcp_md5sig { sockaddr_storage tcpm_addr (128 bytes); u8 tcpm_flags;
 *     u8 tcpm_prefixlen; u16 tcpm_keylen; int tcpm_ifindex; u8 tcpm_key[80]; }  // 216 bytes
 *   sockaddr_in  { u16 family; u16 port (BE); u8 addr[4]; ... }
 *   sockaddr_in6 { u16 family; u16 port (BE); u32 flowinfo; u8 addr[16]; u32 scope_id; }
 * Family and lengths are in host byte order (little-endian on every target
 * this agent runs on: x86-64, arm64).
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { constants } from 'node:os';

export const AF_INET = 2;
export const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_IP = 0;
const IPPROTO_TCP = 6;
const IPPROTO_IPV6 = 41;
const TCP_MD5SIG = 14;
const IP_TTL = 2;
const IP_MINTTL = 21;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MINHOPCOUNT = 73;

export const TCP_MD5SIG_SIZE = 216;
/** RFC 2385 gives no limit; Linux keeps at most 80 bytes of key (TCP_MD5SIG_MAXKEYLEN). */
export const TCP_MD5SIG_MAXKEYLEN = 80;
const KEY_OFFSET = 136;
const KEYLEN_OFFSET = 130;

/** The hop count GTSM sends with and the floor it accepts (RFC 5082 §3: TTL 255, accept >= 256 - hops). */
export const GTSM_TTL = 255;
export function gtsmMinTtl(hops: number): number {
  return 256 - Math.min(255, Math.max(1, hops));
}

export class SocketOptionError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    readonly code: string,
  ) {
    super(`${call}: ${code} (errno ${errno})`);
  }
}

/** Address family of an address literal (4 for IPv4, 6 for IPv6). */
export function addressFamily(address: string): 4 | 6 {
  const f = net.isIP(address);
  if (f === 0) throw new Error(`"${address}" is not an IP address`);
  return f as 4 | 6;
}

/** sockaddr_in / sockaddr_in6 for `address` written at `offset` of `out`; IPv4 on an IPv6 socket as ::ffff:a.b.c.d. */
export function writeSockaddr(out: Buffer, offset: number, address: string, socketFamily: 4 | 6, port = 0): void {
  const family = addressFamily(address);
  if (family === 4 && socketFamily === 4) {
    out.writeUInt16LE(AF_INET, offset);
    out.writeUInt16BE(port, offset + 2);
    out.set(address.split('.').map(Number), offset + 4);
    return;
  }
  if (family === 6 && socketFamily === 4) throw new Error(`IPv6 address ${address} on an IPv4 socket`);
  out.writeUInt16LE(AF_INET6, offset);
  out.writeUInt16BE(port, offset + 2);
  const addr = family === 4 ? `::ffff:${address}` : address;
  out.set(ipv6Bytes(addr), offset + 8);
}

/** The 16 bytes of an IPv6 address (with an embedded dotted quad allowed). */
export function ipv6Bytes(address: string): Uint8Array {
  let text = address.replace(/%.*$/, '');
  if (!net.isIPv6(text)) throw new Error(`"${address}" is not an IPv6 address`);
  const bytes = new Uint8Array(16);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (v4) {
    const q = v4[1].split('.').map(Number);
    tail = [(q[0] << 8) | q[1], (q[2] << 8) | q[3]];
    text = text.slice(0, -v4[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string | undefined): number[] => (s ? s.split(':').filter((x) => x !== '').map((h) => parseInt(h, 16)) : []);
  const left = parse(head);
  const right = [...parse(rest), ...tail];
  const groups = rest === undefined && !text.includes('::') ? [...left, ...tail] : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) throw new Error(`"${address}" is not an IPv6 address`);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * struct tcp_md5sig for one peer address (a /32 or /128: no prefix flag).
 * `key` null or empty deletes the address's key (RFC 2385 has no key id:
 * the kernel keeps one key per address per socket).
 */
export function encodeTcpMd5Sig(address: string, key: Uint8Array | null, socketFamily: 4 | 6): Buffer {
  if (key && key.length > TCP_MD5SIG_MAXKEYLEN) throw new Error(`TCP MD5 key of ${key.length} bytes: Linux takes at most ${TCP_MD5SIG_MAXKEYLEN}`);
  const out = Buffer.alloc(TCP_MD5SIG_SIZE);
  writeSockaddr(out, 0, address, socketFamily);
  const len = key?.length ?? 0;
  out.writeUInt16LE(len, KEYLEN_OFFSET);
  if (key) out.set(key, KEY_OFFSET);
  return out;
}

// ---------------------------------------------------------------- libc

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  close(fd: number): number;
  errno(): number;
}

let libc: Libc | null = null;

/** Load koffi and bind the few libc calls needed (first use only). */
function sys(): Libc {
  if (libc) return libc;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const socket = lib.func('int socket(int, int, int)');
  const setsockopt = lib.func('int setsockopt(int, int, int, const void *, uint32_t)');
  const close = lib.func('int close(int)');
  libc = {
    socket: (d, t, p) => socket(d, t, p) as number,
    setsockopt: (fd, level, name, value, len) => setsockopt(fd, level, name, value, len) as number,
    close: (fd) => close(fd) as number,
    // koffi saves errno right after each call, before anything else can overwrite it.
    errno: () => koffi.errno(),
  };
  return libc;
}

/** Whether koffi has been loaded (the no-password path must leave it unloaded). */
export function ffiLoaded(): boolean {
  return libc !== null;
}

function check(call: string, rc: number, c: Libc): number {
  if (rc >= 0) return rc;
  const errno = c.errno();
  throw new SocketOptionError(call, errno, errnoName(errno));
}

function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === errno) return name;
  return `errno ${errno}`;
}

function setInt(c: Libc, fd: number, level: number, name: number, value: number, what: string): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  check(`setsockopt(${what})`, c.setsockopt(fd, level, name, b, 4), c);
}

/** Set (or with a null key delete) the TCP MD5 key for `peer` on socket `fd` of family `socketFamily`. */
export function setTcpMd5Key(fd: number, peer: string, key: Uint8Array | null, socketFamily: 4 | 6): void {
  const c = sys();
  const sig = encodeTcpMd5Sig(peer, key, socketFamily);
  check('setsockopt(TCP_MD5SIG)', c.setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, sig, sig.length), c);
}

/**
 * GTSM on a socket towards `peer` (RFC 5082 §3): send with TTL 255, accept
 * only TTL >= 256 - hops. An IPv4 peer on an IPv6 (dual-stack) socket is
 * reached over IPv4, where the IPv4 options rule.
 */
export function setTtlSecurity(fd: number, peer: string, hops: number): void {
  const c = sys();
  if (addressFamily(peer) === 4) {
    setInt(c, fd, IPPROTO_IP, IP_TTL, GTSM_TTL, 'IP_TTL');
    setInt(c, fd, IPPROTO_IP, IP_MINTTL, gtsmMinTtl(hops), 'IP_MINTTL');
  } else {
    setInt(c, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, GTSM_TTL, 'IPV6_UNICAST_HOPS');
    setInt(c, fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, gtsmMinTtl(hops), 'IPV6_MINHOPCOUNT');
  }
}

/** Outgoing TTL only (the listening socket: its SYN-ACKs, and the sockets it accepts, inherit it). */
export function setSendTtl(fd: number, ttl: number, socketFamily: 4 | 6): void {
  const c = sys();
  setInt(c, fd, IPPROTO_IP, IP_TTL, ttl, 'IP_TTL');
  if (socketFamily === 6) setInt(c, fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, 'IPV6_UNICAST_HOPS');
}

/** A new non-blocking, close-on-exec TCP socket of the peer's family (not bound, not connected). */
export function tcpSocket(family: 4 | 6): number {
  const c = sys();
  return check('socket', c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), c);
}

export function closeFd(fd: number): void {
  sys().close(fd);
}

/** The file descriptor behind a node socket or server (libuv's handle), if it has one yet. */
export function fdOf(s: net.Socket | net.Server): number | undefined {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
