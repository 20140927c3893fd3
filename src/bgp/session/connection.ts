/**
 * One TCP connection of a peer: the socket, the framer, decoding with the
 * negotiated receive context, and (once OPENs were exchanged) the send queue.
 *
 * A socket chunk's messages are handled in one go (no tick per message); the
 * handler sees every message in order and may close the connection midway,
 * after which the rest of the chunk is ignored.
 */
import type { Socket } from 'node:net';
import { BgpError, decodeMessage, Framer, type Negotiated } from '../codec/index.js';
import { DEFAULT_CONTEXT, type BgpMessage, type OpenMessage } from '../codec/types.js';
import type { Clock, TimerHandle } from '../fsm/clock.js';
import type { TxQueue } from './tx-queue.js';

export type Direction = 'out' | 'in';

export interface ConnectionHandlers {
  onConnect(conn: Connection): void;
  onMessage(conn: Connection, msg: BgpMessage, bytes: Buffer): void;
  /** A decode or framing error (its NOTIFICATION is in the error); `type` = wire type code when known. */
  onDecodeError(conn: Connection, err: BgpError, type: number | undefined): void;
  /** The socket closed; `err` is the socket error that closed it, if any. `connected` = the TCP handshake had completed. */
  onClosed(conn: Connection, err: NodeJS.ErrnoException | undefined, connected: boolean): void;
}

const LINGER_MS = 2000;

export class Connection {
  readonly framer = new Framer();
  negotiated: Negotiated | null = null;
  localOpen: OpenMessage | null = null;
  remoteOpen: OpenMessage | null = null;
  tx: TxQueue | null = null;
  connected: boolean;
  private detached = false;
  private lastError: NodeJS.ErrnoException | undefined;
  private lingerTimer: TimerHandle | null = null;

  constructor(
    readonly socket: Socket,
    readonly direction: Direction,
    private readonly handlers: ConnectionHandlers,
    private readonly clock: Clock,
  ) {
    this.connected = direction === 'in';
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.connected = true;
      if (!this.detached) handlers.onConnect(this);
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.lastError = err;
    });
    socket.on('close', () => {
      this.lingerTimer?.cancel();
      if (this.detached) return;
      this.detached = true;
      this.tx?.close();
      handlers.onClosed(this, this.lastError, this.connected);
    });
  }

  get open(): boolean {
    return !this.detached;
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress?.replace(/^::ffff:/, '');
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /** Write a message now, ahead of anything queued (KEEPALIVE, NOTIFICATION, OPEN). */
  write(bytes: Buffer): void {
    if (this.detached || this.socket.destroyed) return;
    if (this.tx) this.tx.sendNow(bytes);
    else this.socket.write(bytes);
  }

  /**
   * Close without reporting: pending writes (a NOTIFICATION) are flushed with
   * a FIN, and the socket is destroyed after a short linger in case the peer
   * never reads.
   */
  close(): void {
    if (this.detached) {
      return;
    }
    this.detached = true;
    this.tx?.close();
    this.socket.removeAllListeners('data');
    this.socket.on('error', () => {});
    if (!this.connected || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.socket.end();
    this.lingerTimer = this.clock.setTimer(LINGER_MS, () => this.socket.destroy());
    this.socket.once('close', () => this.lingerTimer?.cancel());
  }

  private onData(chunk: Buffer): void {
    if (this.detached) return;
    let frames: Buffer[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      if (err instanceof BgpError) this.handlers.onDecodeError(this, err, undefined);
      else throw err;
      return;
    }
    for (const frame of frames) {
      if (this.detached) return;
      const type = frame[18];
      let msg: BgpMessage;
      try {
        msg = decodeMessage(frame, this.negotiated?.receiveContext ?? DEFAULT_CONTEXT);
      } catch (err) {
        if (err instanceof BgpError) {
          this.handlers.onDecodeError(this, err, type);
          return;
        }
        throw err;
      }
      this.handlers.onMessage(this, msg, frame);
    }
  }
}
