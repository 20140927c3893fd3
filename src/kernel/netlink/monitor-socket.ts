/**
 * The socket options a multicast rtnetlink listener needs and the `netlink`
 * package does not offer, set through koffi on the package's socket:
 *
 * - NETLINK_NO_ENOBUFS: an overrun drops notifications silently instead of
 *   failing the next recvmsg with ENOBUFS, which the package turns into an
 *   abort of the whole process inside its native callback (measured here with
 *   an 'error' listener attached). A lost notification is repaired by the
 *   watcher's periodic dump, as BIRD's kernel scan repairs its own.
 * - SO_ATTACH_FILTER with alienRouteFilter (alien-filter.ts): the agent's own
 *   route writes never reach the socket.
 *
 * The package keeps its file descriptor to itself, so the descriptor is found
 * the way `ss` would: the socket's inode from /proc/net/netlink (matched by
 * its port id) and the fd in /proc/self/fd that links to `socket:[inode]`.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NETLINK_NO_ENOBUFS, SOL_NETLINK, type SockFilter } from './alien-filter.js';

const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;

/** The /proc/net/netlink columns (sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode) of the socket bound to `port`. */
function netlinkRow(procNetNetlink: string, port: number, protocol: number): string[] | null {
  for (const line of procNetNetlink.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && Number(f[1]) === protocol && Number(f[2]) === port >>> 0) return f;
  }
  return null;
}

/** The inode of the netlink socket (NETLINK_ROUTE unless `protocol`) bound to `port`. */
export function netlinkInode(procNetNetlink: string, port: number, protocol = 0): number | null {
  const f = netlinkRow(procNetNetlink, port, protocol);
  return f ? Number(f[9]) : null;
}

/** Its Drops column (sk_drops: notifications lost to a full receive buffer). */
export function netlinkDrops(procNetNetlink: string, port: number, protocol = 0): number | null {
  const f = netlinkRow(procNetNetlink, port, protocol);
  return f ? Number(f[8]) : null;
}

/** This process's /proc/net/netlink (its namespace's sockets). */
export function readProcNetlink(): string {
  return readFileSync('/proc/self/net/netlink', 'utf8');
}

/** The file descriptor of this process's netlink socket bound to `port`. */
export function netlinkFd(port: number): number {
  const inode = netlinkInode(readProcNetlink(), port);
  if (inode === null) throw new Error(`no netlink socket with port id ${port} in /proc/self/net/netlink`);
  const want = `socket:[${inode}]`;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === want) return Number(name);
    } catch {
      // closed meanwhile (the readdir's own descriptor, for one)
    }
  }
  throw new Error(`netlink socket inode ${inode} is not among this process's descriptors`);
}

interface Sys {
  setInt(fd: number, level: number, name: number, value: number): void;
  attach(fd: number, prog: readonly SockFilter[]): void;
}

let sys: Sys | null = null;

function libc(): Sys {
  if (sys) return sys;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  const setsockoptBuf = lib.func('int setsockopt(int, int, int, const void *, uint32_t)');
  const Filter = koffi.struct('nl_alien_sock_filter', { code: 'uint16', jt: 'uint8', jf: 'uint8', k: 'uint32' });
  const Fprog = koffi.struct('nl_alien_sock_fprog', { len: 'uint16', filter: koffi.pointer(Filter) });
  const setsockoptProg = lib.func('setsockopt', 'int', ['int', 'int', 'int', koffi.pointer(Fprog), 'uint32']);
  const errno = lib.func('int *__errno_location(void)');
  const fail = (what: string): never => {
    throw new Error(`setsockopt(${what}) failed: errno ${koffi.decode(errno(), 'int') as number}`);
  };
  sys = {
    setInt(fd, level, name, value) {
      const b = Buffer.alloc(4);
      b.writeInt32LE(value);
      if ((setsockoptBuf(fd, level, name, b, 4) as number) !== 0) fail(`level ${level} option ${name}`);
    },
    attach(fd, prog) {
      if ((setsockoptProg(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: prog.length, filter: prog }, koffi.sizeof(Fprog)) as number) !== 0) fail('SO_ATTACH_FILTER');
    },
  };
  return sys;
}

/** NETLINK_NO_ENOBUFS on, then the filter, on the socket bound to `port`. */
export function prepareMonitorSocket(port: number, filter: readonly SockFilter[]): void {
  const fd = netlinkFd(port);
  const s = libc();
  s.setInt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, 1);
  s.attach(fd, filter);
}
