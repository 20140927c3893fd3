/**
 * The BFD socket layer (RFC 5881 §4, §5): control packets on UDP 3784, sent
 * from a source port in 49152..65535 with TTL 255, and only packets that
 * arrived with TTL 255 received.
 *
 * Node's dgram sets the outgoing TTL (setTTL) but cannot check the incoming
 * one: IP_MINTTL is accepted on a UDP socket by Linux but not enforced (it
 * is a TCP option; measured on this kernel: a TTL 254 datagram is delivered
 * with IP_MINTTL 255 set), and IP_RECVTTL needs recvmsg's control messages,
 * which dgram does not surface. So a classic BPF socket filter is attached
 * through koffi (SO_ATTACH_FILTER): it loads the IP header's TTL byte and
 * drops the datagram in the kernel unless it is 255. The event loop never
 * sees a packet that fails the rule; what reaches dgram's 'message' passed.
 */
import dgram from 'node:dgram';
import { BFD_CONTROL_PORT, BFD_SOURCE_PORT_MAX, BFD_SOURCE_PORT_MIN, BFD_TTL } from './packet.js';

export interface BfdSender {
  readonly localAddress: string;
  readonly port: number;
  send(bytes: Uint8Array, address: string): void;
  close(): void;
}

export interface BfdReceiver {
  readonly localAddress: string;
  close(): void;
}

/** What the manager needs of the network (a fake link in unit tests). */
export interface BfdTransport {
  /** Receive on localAddress:3784; only datagrams with TTL 255 reach `onPacket`. */
  listen(localAddress: string, onPacket: (bytes: Uint8Array, from: string) => void, onError: (err: Error) => void): Promise<BfdReceiver>;
  /** A sender bound to localAddress and a free source port in 49152..65535, TTL 255. */
  openSender(localAddress: string, onError: (err: Error) => void): Promise<BfdSender>;
}

// ------------------------------------------------------------ FFI (koffi)

const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;
/** linux/filter.h: offsets from here address the network (IP) header. */
const SKF_NET_OFF = -0x100000;
// Classic BPF opcodes (linux/bpf_common.h).
const BPF_LD_B_ABS = 0x30; // BPF_LD | BPF_B | BPF_ABS
const BPF_JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const BPF_RET_K = 0x06; // BPF_RET | BPF_K

/** The filter: A = ip[8] (TTL); accept the whole packet if A == 255, else drop. */
export const TTL_255_FILTER = [
  { code: BPF_LD_B_ABS, jt: 0, jf: 0, k: (SKF_NET_OFF + 8) >>> 0 },
  { code: BPF_JEQ_K, jt: 0, jf: 1, k: BFD_TTL },
  { code: BPF_RET_K, jt: 0, jf: 0, k: 0xffffffff },
  { code: BPF_RET_K, jt: 0, jf: 0, k: 0 },
];

type AttachFilter = (fd: number) => void;
/** Loaded once per process; a promise, so that concurrent first listens share it (koffi refuses a type defined twice). */
let attachFilter: Promise<AttachFilter> | undefined;

function loadAttachFilter(): Promise<AttachFilter> {
  attachFilter ??= (async () => {
    const koffi = (await import('koffi')).default;
    const libc = koffi.load('libc.so.6');
    const SockFilter = koffi.struct('bfd_sock_filter', { code: 'uint16', jt: 'uint8', jf: 'uint8', k: 'uint32' });
    const SockFprog = koffi.struct('bfd_sock_fprog', { len: 'uint16', filter: koffi.pointer(SockFilter) });
    const setsockopt = libc.func('setsockopt', 'int', ['int', 'int', 'int', koffi.pointer(SockFprog), 'uint32']);
    const errno = libc.func('int *__errno_location(void)');
    const size = koffi.sizeof(SockFprog);
    return (fd: number) => {
      const rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: TTL_255_FILTER.length, filter: TTL_255_FILTER }, size) as number;
      if (rc !== 0) {
        const code = koffi.decode(errno(), 'int') as number;
        throw new Error(`setsockopt(SO_ATTACH_FILTER) failed: errno ${code}`);
      }
    };
  })();
  return attachFilter;
}

/**
 * The file descriptor under a bound dgram socket. Node keeps it in the
 * socket's internal state (the public `_handle` accessor is deprecated,
 * DEP0112, and prints a warning); both lead to the same UDPWrap.
 */
export function dgramFd(socket: dgram.Socket): number {
  const o = socket as unknown as Record<symbol, { handle?: { fd?: number } }>;
  for (const s of Object.getOwnPropertySymbols(socket)) {
    const fd = o[s]?.handle?.fd;
    if (typeof fd === 'number' && fd >= 0) return fd;
  }
  throw new Error('cannot find the file descriptor of a dgram socket (node internals changed?)');
}

function bind(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port, address, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

/** The real thing: node dgram plus the TTL filter. */
export class UdpBfdTransport implements BfdTransport {
  constructor(private readonly random: () => number = Math.random) {}

  async listen(localAddress: string, onPacket: (bytes: Uint8Array, from: string) => void, onError: (err: Error) => void): Promise<BfdReceiver> {
    const attach = await loadAttachFilter();
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    try {
      await bind(socket, BFD_CONTROL_PORT, localAddress);
      // A datagram that arrived between bind and attach could slip by: none can
      // be ours yet (no session has sent), and the codec's checks still apply.
      attach(dgramFd(socket));
    } catch (err) {
      socket.close();
      throw err;
    }
    socket.on('message', (msg, rinfo) => onPacket(msg, rinfo.address));
    socket.on('error', onError);
    return {
      localAddress,
      close: () => {
        try {
          socket.close();
        } catch {
          /* already closed */
        }
      },
    };
  }

  async openSender(localAddress: string, onError: (err: Error) => void): Promise<BfdSender> {
    const span = BFD_SOURCE_PORT_MAX - BFD_SOURCE_PORT_MIN + 1;
    let lastErr: Error | undefined;
    // RFC 5881 §4: a source port in 49152..65535, chosen at random (and so
    // different per session, which the RFC asks for, in all likelihood).
    for (let attempt = 0; attempt < 32; attempt++) {
      const port = BFD_SOURCE_PORT_MIN + Math.floor(this.random() * span);
      const socket = dgram.createSocket({ type: 'udp4' });
      try {
        await bind(socket, port, localAddress);
      } catch (err) {
        socket.close();
        lastErr = err as Error;
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw err;
      }
      // RFC 5881 §5: sent with TTL 255. Nothing is read from this socket.
      socket.setTTL(BFD_TTL);
      socket.on('error', onError);
      socket.on('message', () => {});
      // Closing a dgram socket cancels the sends still queued in libuv: the
      // last AdminDown (RFC 5880 §6.8.16) would never leave. Close once they are out.
      let pending = 0;
      let closing = false;
      const closeNow = (): void => {
        try {
          socket.close();
        } catch {
          /* already closed */
        }
      };
      return {
        localAddress,
        port,
        send: (bytes, address) => {
          pending++;
          socket.send(bytes, BFD_CONTROL_PORT, address, (err) => {
            pending--;
            if (err) onError(err);
            if (closing && pending === 0) closeNow();
          });
        },
        close: () => {
          closing = true;
          if (pending === 0) closeNow();
        },
      };
    }
    throw lastErr ?? new Error('no free BFD source port');
  }
}
