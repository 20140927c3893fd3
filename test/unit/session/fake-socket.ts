/** A stand-in for net.Socket: records writes, lets the test play the peer. */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { DEFAULT_CONTEXT, decodeMessage, encodeMessage, type BgpMessage, type OpenMessage } from '../../../src/bgp/codec/index.js';

export class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  ended = false;
  destroyed = false;
  localAddress = '10.0.0.1';
  localPort = 40000;
  constructor(public remoteAddress = '10.0.0.2') {
    super();
  }
  setNoDelay(): this {
    return this;
  }
  write(b: Buffer): boolean {
    this.written.push(Buffer.from(b));
    return true;
  }
  end(): this {
    this.ended = true;
    return this;
  }
  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.emit('close');
    }
    return this;
  }
  /** Messages we sent, decoded with the default context. */
  messages(): BgpMessage[] {
    return this.written.map((b) => decodeMessage(b, DEFAULT_CONTEXT));
  }
  types(): string[] {
    return this.messages().map((m) => (m.type === 'NOTIFICATION' ? `NOTIFICATION ${m.code}/${m.subcode}` : m.type));
  }
  /** The peer sends us a message. */
  receive(msg: BgpMessage): void {
    this.emit('data', encodeMessage(msg, DEFAULT_CONTEXT));
  }
  asSocket(): net.Socket {
    return this as unknown as net.Socket;
  }
}

export function remoteOpen(over: Partial<OpenMessage> = {}): OpenMessage {
  return {
    type: 'OPEN',
    version: 4,
    myAs: 64512,
    holdTime: 90,
    bgpId: '10.0.0.2',
    capabilities: [
      { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
      { code: 2, name: 'route-refresh' },
      { code: 65, name: 'as4', asn: over.myAs ?? 64512 },
      {
        code: 64,
        name: 'graceful-restart',
        restartState: false,
        notification: false,
        restartTime: 100,
        families: [{ afi: 1, safi: 1, forwardingState: true }],
      },
    ],
    ...over,
  };
}

/** A `connect` for a Peer or Speaker that hands out fake sockets, each kept in `sockets` (newest last). */
export function fakeConnector(): { sockets: FakeSocket[]; connect: () => net.Socket } {
  const sockets: FakeSocket[] = [];
  return {
    sockets,
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s.asSocket();
    },
  };
}
