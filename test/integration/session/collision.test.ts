/**
 * Connection collisions with many peers at once (issue 17), over loopback.
 *
 * Calico renders no `passive` for route-reflector clients, so at start both
 * sides dial; a client's own connection can be accepted after our outgoing
 * session to it is already Established (the listener is busy with a
 * thousand others). RFC 4271 §6.8: that connection is a collision and is
 * closed with Cease 7; the live session stays. Only a new OPEN with the
 * graceful-restart Restart State bit (RFC 4724 §4.2) replaces it.
 *
 * Each simulated client is a few lines of the project's codec on its own
 * loopback address (127.1.0.x): it accepts our connection and completes the
 * session, then dials us from the same address, as a BIRD client whose
 * connect retry fires late would.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT, Framer, decodeMessage, encodeMessage, type BgpMessage, type OpenMessage } from '../../../src/bgp/codec/index.js';
import { Speaker } from '../../../src/bgp/session/index.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import type { PeerConfig } from '../../../src/datastore/desired.js';
import { until } from '../../helpers/wait.js';

const N = 64;
const CLIENT_PORT = 17_900;

function clientOpen(address: string, restarting: boolean): OpenMessage {
  return {
    type: 'OPEN',
    version: 4,
    myAs: 64512,
    holdTime: 240,
    bgpId: address,
    capabilities: [
      { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
      { code: 2, name: 'route-refresh' },
      { code: 64, name: 'graceful-restart', restartState: restarting, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: restarting }] },
      { code: 65, name: 'as4', asn: 64512 },
    ],
  };
}

/** One connection of a simulated client: sends its OPEN at once, answers OPEN with KEEPALIVE, records what it gets. */
class ClientConnection {
  readonly received: BgpMessage[] = [];
  closed = false;
  private readonly framer = new Framer();

  constructor(
    readonly socket: net.Socket,
    open: OpenMessage,
  ) {
    socket.on('data', (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) {
        const msg = decodeMessage(m, DEFAULT_CONTEXT);
        this.received.push(msg);
        if (msg.type === 'OPEN') socket.write(encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closed = true));
    socket.write(encodeMessage(open, DEFAULT_CONTEXT));
  }

  types(): string[] {
    return this.received.map((m) => (m.type === 'NOTIFICATION' ? `NOTIFICATION ${m.code}/${m.subcode}` : m.type));
  }
}

class Client {
  server!: net.Server;
  accepted?: ClientConnection;
  dialled?: ClientConnection;

  constructor(readonly address: string) {}

  listen(): Promise<void> {
    this.server = net.createServer((s) => (this.accepted = new ClientConnection(s, clientOpen(this.address, false))));
    return new Promise((r) => this.server.listen(CLIENT_PORT, this.address, () => r()));
  }

  dial(port: number, restarting: boolean): void {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: this.address });
    this.dialled = new ClientConnection(s, clientOpen(this.address, restarting));
  }

  close(): void {
    this.accepted?.socket.destroy();
    this.dialled?.socket.destroy();
    this.server.close();
  }
}

function peerConfig(address: string): PeerConfig {
  return {
    name: `Node_${address.replaceAll('.', '_')}`,
    type: 'node specific',
    address,
    port: CLIENT_PORT,
    asNumber: 64512,
    passive: false,
    sourceAddress: '127.0.0.1',
    keepOriginalNextHop: false,
    restartTime: 120,
  };
}

let speaker: Speaker | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await speaker?.stop({ graceful: false });
  speaker = undefined;
  for (const c of clients.splice(0)) c.close();
});

describe(`${N} clients dialling a speaker whose sessions to them are Established (RFC 4271 §6.8)`, () => {
  it('closes every new connection with Cease 7 and keeps every session: no flap; the R bit replaces a session', async () => {
    for (let i = 1; i <= N; i++) clients.push(new Client(`127.1.0.${i}`));
    await Promise.all(clients.map((c) => c.listen()));
    speaker = new Speaker({ asNumber: 64512, routerId: '127.0.0.1', listenAddress: '127.0.0.1', listenPort: 0, fsm: { connectDelayTime: 0 } });
    const port = (await speaker.start())!;
    const events: SessionEvent[] = [];
    speaker.on('event', (e) => events.push(e));
    speaker.setPeers(clients.map((c) => peerConfig(c.address)));
    await until('every session Established', () => speaker!.status().every((p) => p.state === 'Established'), 20_000);
    const since = new Map(speaker.status().map((p) => [p.name, p.since]));

    // Every client's own connection arrives at once, long after the session came up.
    for (const c of clients) c.dial(port, false);
    await until('every new connection answered', () => clients.every((c) => c.dialled!.closed), 10_000);
    for (const c of clients) expect(c.dialled!.types()).toEqual(['OPEN', 'NOTIFICATION 6/7']);
    await new Promise((r) => setTimeout(r, 300));
    expect(events.filter((e) => e.type === 'down')).toEqual([]);
    for (const p of speaker.status()) {
      expect(p.state).toBe('Established');
      expect(p.since).toBe(since.get(p.name));
    }
    for (const c of clients) expect(c.accepted!.closed).toBe(false);

    // A client that really restarted says so (Restart State bit): its new connection wins.
    const restarted = clients.slice(0, 4);
    for (const c of restarted) c.dial(port, true);
    await until('restarted sessions re-established', () => events.filter((e) => e.type === 'established').length === N + restarted.length, 10_000);
    const downs = events.filter((e): e is Extract<SessionEvent, { type: 'down' }> => e.type === 'down');
    expect(downs.map((d) => d.peer).sort()).toEqual(restarted.map((c) => peerConfig(c.address).name).sort());
    for (const d of downs) expect(d.graceful).toBe(true); // routes kept as stale (RFC 4724 §4.2)
    for (const c of restarted) {
      expect(c.dialled!.types()).toEqual(['OPEN', 'KEEPALIVE']);
      await until('old connection closed', () => c.accepted!.closed, 5000);
    }
    expect(speaker.status().every((p) => p.state === 'Established')).toBe(true);
  }, 60_000);
});
