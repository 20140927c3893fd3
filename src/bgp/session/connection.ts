/**
 * One TCP connection of a peer: the socket, the framer, decoding with the
 * negotiated receive context, and (once OPENs were exchanged) the send queue.
 *
 * Received messages are handled in order, many per call (no tick per
 * message); the handler may close the connection midway, after which the
 * rest is ignored.
 *
 * At most TURN_BYTES of messages are handled per event-loop turn, then the
 * socket is paused and the rest waits for the next turn. Without this, libuv
 * reads up to 32 chunks (2 MB) from one socket per turn, which for a peer
 * sending its full table is ~0.3 s of decoding and RIB work before any other
 * socket is looked at: other peers' OPENs and KEEPALIVEs, hold timers and
 * send queues wait behind it, sessions come up one after another instead of
 * together, and the RIB's once-per-turn flush gets batches so large that
 * its tables fall out of cache (bench/rib: ~25 % more CPU per path).
 * Sockets without pause/resume (test fakes) are read synchronously.
 */
import type { Socket } from 'node:net';
import { BgpError, decodeMessage, Framer, type Negotiated } from '../codec/index.js';
import { DEFAULT_CONTEXT, type BgpMessage, type OpenMessage } from '../codec/types.js';
import type { Clock, TimerHandle } from '../../clock.js';
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
/** Bytes of messages handled per connection per event-loop turn (two full UPDATEs). */
export const TURN_BYTES = 8 * 1024;

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
  /** Framed messages not yet handled (the socket is paused while there are any), from `next`. */
  private backlog: Buffer[] = [];
  private next = 0;
  private paused = false;
  private readonly canPause: boolean;
  private readonly continueReading = () => {
    if (this.detached) return;
    if (this.handleFrames(TURN_BYTES)) {
      this.paused = false;
      this.socket.resume();
    } else setImmediate(this.continueReading);
  };

  constructor(
    readonly socket: Socket,
    readonly direction: Direction,
    private readonly handlers: ConnectionHandlers,
    private readonly clock: Clock,
  ) {
    this.connected = direction === 'in';
    this.canPause = typeof socket.pause === 'function' && typeof socket.resume === 'function';
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
      // Messages that arrived before the close (a NOTIFICATION) are handled before it is reported.
      this.handleFrames(Infinity);
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
    this.backlog = [];
    this.next = 0;
    // Paused mid-table: read on (into nothing) so the peer's FIN is seen and the socket closes promptly.
    if (this.paused) this.socket.resume();
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
    if (this.next < this.backlog.length) {
      for (const f of frames) this.backlog.push(f);
    } else {
      this.backlog = frames;
      this.next = 0;
    }
    if (this.paused) return;
    if (!this.canPause) {
      this.handleFrames(Infinity);
      return;
    }
    if (!this.handleFrames(TURN_BYTES) || chunk.length >= TURN_BYTES) {
      // More waits (in the backlog, or likely in the socket): let other sockets and timers have this turn.
      this.paused = true;
      this.socket.pause();
      setImmediate(this.continueReading);
    }
  }

  /**
   * Handle backlog messages until `budget` bytes are done; true when the
   * backlog is empty (or the connection went away).
   */
  private handleFrames(budget: number): boolean {
    const frames = this.backlog;
    let used = 0;
    while (this.next < frames.length) {
      if (this.detached) return true;
      if (used >= budget) return false;
      const frame = frames[this.next++];
      used += frame.length;
      const type = frame[18];
      let msg: BgpMessage;
      try {
        msg = decodeMessage(frame, this.negotiated?.receiveContext ?? DEFAULT_CONTEXT);
      } catch (err) {
        if (err instanceof BgpError) {
          this.backlog = [];
          this.next = 0;
          this.handlers.onDecodeError(this, err, type);
          return true;
        }
        throw err;
      }
      this.handlers.onMessage(this, msg, frame);
    }
    this.backlog = [];
    this.next = 0;
    return true;
  }
}
