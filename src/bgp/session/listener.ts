/**
 * The BGP listener (TCP 179 or Calico's `listenPort`): accepts connections
 * only from configured peers. Any other source is destroyed before a single
 * byte is read (so before an OPEN), counted, and logged at most once a minute
 * per address.
 *
 * The backlog is sized for a mesh (BIRD's backlog of 8 turns a
 * 1000-node connect storm into minutes): 4096 by default, as many as the
 * kernel allows (it clamps to net.core.somaxconn, 4096 on current kernels),
 * since peers are configured after the listener opens.
 */
import net from 'node:net';
import { systemClock, type Clock } from '../../clock.js';
import type { Logger } from './peer.js';

export interface ListenerOptions {
  port: number;
  /** Bind address; undefined = all addresses. */
  address?: string;
  backlog?: number;
  clock?: Clock;
  logger?: Logger;
  /** Find the peer that owns a source address; undefined = not configured. */
  lookup: (address: string) => { accept(socket: net.Socket): void } | undefined;
}

const LOG_INTERVAL_MS = 60_000;

/** Strip the IPv4-mapped IPv6 prefix node reports on dual-stack sockets. */
export function normalizeAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

export class Listener {
  private server: net.Server | null = null;
  private readonly clock: Clock;
  /** Rejected connections per source address, and when each was last logged. */
  readonly rejected = new Map<string, { count: number; lastLogged: number }>();
  rejectedTotal = 0;

  constructor(private readonly options: ListenerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Handle one accepted socket (exported for tests without a real server). */
  onConnection(socket: net.Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    const peer = this.options.lookup(address);
    if (peer) {
      peer.accept(socket);
      return;
    }
    socket.destroy();
    this.rejectedTotal++;
    const entry = this.rejected.get(address) ?? { count: 0, lastLogged: -Infinity };
    entry.count++;
    const now = this.clock.now();
    if (now - entry.lastLogged >= LOG_INTERVAL_MS) {
      entry.lastLogged = now;
      this.options.logger?.warn(
        { address, rejected: entry.count },
        'BGP connection from an address that is not a configured peer: closed',
      );
    }
    this.rejected.set(address, entry);
  }

  /** Bind and listen; resolves with the bound port (useful with port 0). */
  listen(backlog = 4096): Promise<number> {
    const server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(
        { port: this.options.port, host: this.options.address, backlog: Math.max(1024, backlog, this.options.backlog ?? 0) },
        () => {
          server.removeListener('error', reject);
          server.on('error', (err) => this.options.logger?.warn({ err: String(err) }, 'BGP listener error'));
          resolve((server.address() as net.AddressInfo).port);
        },
      );
    });
  }

  /** The listening server, for socket options node cannot set (TCP MD5 keys: session-security.ts). */
  get netServer(): net.Server | null {
    return this.server;
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
