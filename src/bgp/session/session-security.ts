/**
 * TCP MD5 (RFC 2385) and GTSM (RFC 5082) applied to a speaker's sockets.
 *
 * - Outgoing: RFC 2385 §2 signs every segment, the SYN included, so the key
 *   must be on the socket before connect(); RFC 5082 §3 sends every packet
 *   with TTL 255, the SYN included. Node creates its socket inside
 *   connect(), so such a socket is made here (socket(2) through the FFI,
 *   options set), handed to `new net.Socket({ fd })`, and connected by node
 *   itself: libuv does the non-blocking connect, its 'connect' and errors
 *   are node's own, and the rest of the session code sees a plain net.Socket.
 * - Incoming: one key per peer address on the listening socket, set before
 *   the peer connects; the kernel copies the matching key into each socket
 *   it accepts (so a key changed later leaves live sessions on the old one,
 *   until their reset). GTSM's minimum TTL is set on the accepted socket
 *   (the listener is shared with peers without GTSM), as BIRD does; the
 *   listener sends with TTL 255 once any peer uses GTSM, so the SYN-ACK
 *   passes the peer's check.
 * - Sessions with neither a password nor ttlSecurity use `net.connect` and
 *   never load the FFI.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import type { PeerConfig } from '../../contracts.js';
import {
  addressFamily,
  closeFd,
  fdOf,
  GTSM_TTL,
  setSendTtl,
  setTcpMd5Key,
  setTtlSecurity,
  SocketOptionError,
  tcpSocket,
} from './socket-options.js';

type Log = { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };

/** True when a session's sockets need options node cannot set. */
export function needsSocketOptions(config: Pick<PeerConfig, 'password' | 'ttlSecurity'>): boolean {
  return config.password !== undefined || !!config.ttlSecurity;
}

/** The key bytes of a password: its UTF-8 encoding (the secret file's exact bytes, see src/agent/secrets.ts). */
export function md5Key(password: string): Buffer {
  return Buffer.from(password, 'utf8');
}

function asErrno(err: unknown, what: string): NodeJS.ErrnoException {
  const e = new Error(`${what}: ${(err as Error).message}`) as NodeJS.ErrnoException;
  if (err instanceof SocketOptionError) e.code = err.code;
  return e;
}

/**
 * net.connect for a session with a password or GTSM. A failure to set an
 * option is reported like a connect error (the socket errors and closes on
 * the next tick), so the FSM retries and the status says why.
 */
export function connectWithOptions(config: Pick<PeerConfig, 'address' | 'password' | 'ttlSecurity'>, opts: net.NetConnectOpts): net.Socket {
  let fd = -1;
  try {
    const family = addressFamily(config.address);
    fd = tcpSocket(family);
    if (config.password !== undefined) setTcpMd5Key(fd, config.address, md5Key(config.password), family);
    if (config.ttlSecurity) setTtlSecurity(fd, config.address, config.ttlSecurity);
  } catch (err) {
    if (fd >= 0) closeFd(fd);
    const failed = new net.Socket();
    const e = asErrno(err, config.password !== undefined ? 'cannot set the TCP MD5 password on the socket' : 'cannot set TTL security on the socket');
    process.nextTick(() => failed.destroy(e));
    return failed;
  }
  const socket = new net.Socket({ fd });
  socket.connect(opts as net.TcpSocketConnectOpts);
  return socket;
}

/** The connect factory for one peer: node's own unless the session needs socket options. */
export function connectorFor(
  config: PeerConfig,
  fallback: (opts: net.NetConnectOpts) => net.Socket = net.connect,
): (opts: net.NetConnectOpts) => net.Socket {
  return needsSocketOptions(config) ? (opts) => connectWithOptions(config, opts) : fallback;
}

/**
 * GTSM on an accepted socket (RFC 5082 §3). Returns an error in words, or
 * undefined; the caller closes the connection on error, since a GTSM peer
 * must not be served without its TTL check.
 */
export function secureAccepted(socket: net.Socket, config: Pick<PeerConfig, 'address' | 'ttlSecurity'>): string | undefined {
  if (!config.ttlSecurity) return undefined;
  const fd = fdOf(socket);
  if (fd === undefined) return 'TTL security: accepted socket has no file descriptor';
  try {
    setTtlSecurity(fd, config.address, config.ttlSecurity);
    return undefined;
  } catch (err) {
    return `TTL security: ${(err as Error).message}`;
  }
}

/**
 * The listening socket's TCP MD5 keys, one per peer address, kept equal to
 * the configured peers' passwords: added before a new peer can connect,
 * replaced when a password changes, deleted (key length 0) when the peer or
 * its password goes.
 */
export class ListenerSecurity {
  /** Peer address -> password installed on the listener. */
  private readonly installed = new Map<string, string>();
  /** Peer address -> why its key could not be set. */
  readonly errors = new Map<string, string>();
  private sendTtl255 = false;

  constructor(
    private readonly fd: number,
    private readonly family: 4 | 6,
    private readonly log?: Log,
  ) {}

  static forServer(server: net.Server, log?: Log): ListenerSecurity | null {
    const fd = fdOf(server);
    const addr = server.address();
    if (fd === undefined || !addr || typeof addr !== 'object') return null;
    return new ListenerSecurity(fd, addr.family === 'IPv6' ? 6 : 4, log);
  }

  sync(configs: readonly Pick<PeerConfig, 'address' | 'password' | 'ttlSecurity'>[]): void {
    const wanted = new Map<string, string>();
    let gtsm = false;
    for (const c of configs) {
      if (c.password !== undefined && !wanted.has(c.address)) wanted.set(c.address, c.password);
      if (c.ttlSecurity) gtsm = true;
    }
    for (const [address, password] of this.installed) {
      if (wanted.get(address) === password) continue;
      if (!wanted.has(address)) this.apply(address, null);
    }
    for (const [address, password] of wanted) {
      if (this.installed.get(address) === password) continue;
      this.apply(address, password);
    }
    if (gtsm && !this.sendTtl255) {
      try {
        setSendTtl(this.fd, GTSM_TTL, this.family);
        this.sendTtl255 = true;
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'cannot set TTL 255 on the BGP listener: GTSM peers connecting to us will fail');
      }
    }
  }

  /** Addresses with a key on the listener (tests, status). */
  addresses(): string[] {
    return [...this.installed.keys()];
  }

  private apply(address: string, password: string | null): void {
    try {
      setTcpMd5Key(this.fd, address, password === null ? null : md5Key(password), this.family);
      this.errors.delete(address);
      if (password === null) this.installed.delete(address);
      else this.installed.set(address, password);
      this.log?.info({ peer: address, key: password === null ? 'removed' : 'set' }, 'TCP MD5 key on the BGP listener');
    } catch (err) {
      const words = `cannot set the TCP MD5 password for ${address} on the listening socket: ${(err as Error).message}`;
      this.errors.set(address, words);
      if (password === null) this.installed.delete(address);
      this.log?.warn({ peer: address }, words);
    }
  }
}

// ---------------------------------------------------------------- diagnostics

/** The kernel's TCP MD5 drop counters (TcpExt in /proc/net/netstat, per network namespace). */
export interface Md5Counters {
  /** A signed segment was expected and an unsigned one came: the peer has no password for us. */
  TCPMD5NotFound: number;
  /** A signed segment came where no key is set: the peer has a password, we have none for it. */
  TCPMD5Unexpected: number;
  /** The signature did not verify: the two passwords differ. */
  TCPMD5Failure: number;
}

export function parseMd5Counters(netstat: string): Md5Counters | null {
  const lines = netstat.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].startsWith('TcpExt:') || !lines[i + 1].startsWith('TcpExt:')) continue;
    const names = lines[i].trim().split(/\s+/);
    const values = lines[i + 1].trim().split(/\s+/);
    const get = (n: string): number => {
      const at = names.indexOf(n);
      return at > 0 ? Number(values[at]) || 0 : 0;
    };
    return { TCPMD5NotFound: get('TCPMD5NotFound'), TCPMD5Unexpected: get('TCPMD5Unexpected'), TCPMD5Failure: get('TCPMD5Failure') };
  }
  return null;
}

export function readMd5Counters(path = '/proc/net/netstat'): Md5Counters | null {
  try {
    return parseMd5Counters(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Why a session with a password is not up, from the counters' rise since it
 * was last up (or configured). The counters are per namespace, not per peer,
 * so the words say "on this node".
 */
export function md5Explanation(delta: Md5Counters, state: string): string | undefined {
  const parts: string[] = [];
  if (delta.TCPMD5Failure > 0) parts.push(`${delta.TCPMD5Failure} segments failed the TCP MD5 check (TCPMD5Failure): the password differs from the peer's`);
  if (delta.TCPMD5NotFound > 0) parts.push(`${delta.TCPMD5NotFound} unsigned segments dropped (TCPMD5NotFound): the peer has no password for this node`);
  if (delta.TCPMD5Unexpected > 0) parts.push(`${delta.TCPMD5Unexpected} signed segments dropped (TCPMD5Unexpected): a peer has a password this node lacks`);
  if (parts.length) return `TCP MD5 on this node: ${parts.join('; ')}`;
  if (state === 'Connect' || state === 'Active') {
    return 'TCP MD5 password set: no answer to our signed SYN, so the peer drops it (a different password, or none for this node?)';
  }
  return undefined;
}

export function md5Delta(now: Md5Counters, base: Md5Counters): Md5Counters {
  return {
    TCPMD5NotFound: Math.max(0, now.TCPMD5NotFound - base.TCPMD5NotFound),
    TCPMD5Unexpected: Math.max(0, now.TCPMD5Unexpected - base.TCPMD5Unexpected),
    TCPMD5Failure: Math.max(0, now.TCPMD5Failure - base.TCPMD5Failure),
  };
}
