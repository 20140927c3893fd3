/**
 * 100 session flaps against a live peer over loopback TCP, then a look for
 * leaks: heap, file descriptors, timers, TCP handles and event listeners
 * measured after a warm-up and again after the flaps (with a tolerance), and
 * the routes on both sides as they must be after the last flap.
 *
 * The peer is a scripted BGP speaker made of the project's codec (so the
 * test chooses how each session dies): it dials our passive Speaker from
 * 127.0.0.2, answers keepalives, advertises a set of routes that changes
 * every round (so a route of an earlier round that survived a flap shows),
 * and records what we advertise. Flap kinds, interleaved:
 * - hard reset by NOTIFICATION (Cease 6/4 "administrative reset") then close
 * - hard reset by TCP RST (socket destroyed, no NOTIFICATION)
 * - hold-timer expiry: the peer offers hold time 3 s and goes silent; we
 *   must send NOTIFICATION 4/0 and close
 * - collision replacing the session: a second connection whose OPEN has the
 *   graceful-restart Restart State bit (RFC 4724 §4.2)
 * - collision refused: a second connection without it gets Cease 7 and the
 *   session stays (RFC 4271 §6.8); counted apart, it is not a flap
 */
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT, Framer, decodeMessage, encodeMessage, type BgpMessage, type DecodeContext, type OpenMessage } from '../../../src/bgp/codec/index.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import { Speaker } from '../../../src/bgp/session/index.js';
import type { PeerConfig } from '../../../src/datastore/desired.js';
import { until } from '../../helpers/wait.js';

const PEER_ADDRESS = '127.0.0.2';
const PEER_NAME = 'Mesh_127_0_0_2';
/** Both sides AS4 only: no ADD-PATH, no extended messages. */
const CTX: DecodeContext = { as4: true, addPath: new Set(), extendedMessage: false };

function peerOpen(holdTime: number, restarting: boolean): OpenMessage {
  return {
    type: 'OPEN', version: 4, myAs: 64512, holdTime, bgpId: PEER_ADDRESS,
    capabilities: [
      { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
      { code: 2, name: 'route-refresh' },
      { code: 64, name: 'graceful-restart', restartState: restarting, notification: false, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: restarting }] },
      { code: 65, name: 'as4', asn: 64512 },
    ],
  };
}

/** One TCP connection of the scripted peer. */
class PeerConnection {
  readonly received: BgpMessage[] = [];
  closed = false;
  established = false;
  /** Silent: no keepalives at all (to let our hold timer expire). */
  silent = false;
  private readonly framer = new Framer();
  private keepalive?: NodeJS.Timeout;
  readonly socket: net.Socket;

  constructor(port: number, open: OpenMessage, private readonly routes: string[]) {
    this.socket = net.connect({ host: '127.0.0.1', port, localAddress: PEER_ADDRESS });
    this.socket.on('connect', () => this.send(open));
    this.socket.on('data', (chunk: Buffer) => {
      for (const m of this.framer.push(chunk)) {
        const msg = decodeMessage(m, this.established ? CTX : DEFAULT_CONTEXT);
        this.received.push(msg);
        if (msg.type === 'OPEN') this.send({ type: 'KEEPALIVE' });
        if (msg.type === 'KEEPALIVE' && !this.established) this.onEstablished(open.holdTime);
      }
    });
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      clearInterval(this.keepalive);
    });
  }

  private onEstablished(holdTime: number): void {
    this.established = true;
    this.keepalive = setInterval(() => !this.silent && this.send({ type: 'KEEPALIVE' }), Math.max(1, holdTime / 3) * 1000 - 200);
    const nextHop = PEER_ADDRESS;
    this.send({
      type: 'UPDATE', withdrawn: { keys: [], pathIds: null },
      attributes: { origin: 0, asPath: [], nextHop, localPref: 100 },
      nlri: { keys: this.routes.map((p) => parsePrefix(p)), pathIds: null },
    });
    this.send({ type: 'UPDATE', withdrawn: { keys: [], pathIds: null }, attributes: {}, nlri: { keys: [], pathIds: null } }); // End-of-RIB
  }

  send(m: BgpMessage): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(m, this.established ? CTX : DEFAULT_CONTEXT));
  }

  /** Prefixes we advertised on this connection, less those we withdrew. */
  advertised(): Set<string> {
    const out = new Set<string>();
    for (const m of this.received) {
      if (m.type !== 'UPDATE') continue;
      for (const k of m.withdrawn.keys) out.delete(formatPrefix(k));
      for (const k of m.nlri.keys) out.add(formatPrefix(k));
    }
    return out;
  }

  types(): string[] {
    return this.received.map((m) => (m.type === 'NOTIFICATION' ? `NOTIFICATION ${m.code}/${m.subcode}` : m.type));
  }

  close(): void {
    clearInterval(this.keepalive);
    this.socket.destroy();
  }
}

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

interface Resources {
  heapMb: number;
  fds: number;
  timers: number;
  tcp: number;
  listeners: number;
}

function measure(speaker: Speaker): Resources {
  for (let i = 0; i < 3; i++) gc();
  const active = process.getActiveResourcesInfo();
  return {
    heapMb: process.memoryUsage().heapUsed / 1e6,
    fds: readdirSync('/proc/self/fd').length,
    timers: active.filter((r) => r === 'Timeout').length,
    tcp: active.filter((r) => r.startsWith('TCP')).length,
    listeners: speaker.eventNames().reduce((n, e) => n + speaker.listenerCount(e), 0),
  };
}

const OUR_ROUTES = ['10.9.0.0/26', '10.9.0.64/26'];
const OUR_ATTRS = { id: 1, attrs: { origin: 0 as const, asPath: [], nextHop: '127.0.0.1', localPref: 100 } };
const conns: PeerConnection[] = [];
let speaker: Speaker | undefined;
afterAll(async () => {
  for (const c of conns) c.close();
  await speaker?.stop({ graceful: false });
});

describe('100 session flaps against a live peer', () => {
  it('leave heap, fds, timers, TCP handles and listeners flat, and the routes right', async () => {
    speaker = new Speaker({
      asNumber: 64512, routerId: '127.0.0.1', listenAddress: '127.0.0.1', listenPort: 0,
      // No back-off between flaps: the test is about what a flap leaves behind, not about BIRD's error wait.
      fsm: { connectDelayTime: 0, errorWaitMin: 0, errorWaitMax: 0 },
    });
    const sp = speaker;
    const port = (await sp.start())!;
    // Our side of the routes, as the RIB would hold them: this peer's current paths.
    const learned = new Set<string>();
    const events: SessionEvent[] = [];
    const onEvent = (e: SessionEvent) => {
      events.push(e);
      if (e.type === 'established') {
        sp.enqueue(PEER_NAME, OUR_ROUTES.map((p) => ({ key: parsePrefix(p), pathId: 0, attrs: OUR_ATTRS })));
        sp.sendEndOfRib(PEER_NAME);
      } else if (e.type === 'update') {
        for (const k of e.update.withdrawn.keys) learned.delete(formatPrefix(k));
        for (const k of e.update.nlri.keys) learned.add(formatPrefix(k));
      } else if (e.type === 'down') {
        // Not graceful here would lose routes; graceful keeps them until End-of-RIB (the RIB's job), modelled by the next full table.
        learned.clear();
      }
    };
    sp.on('event', onEvent);
    const config: PeerConfig = {
      name: PEER_NAME, type: 'node-to-node mesh', address: PEER_ADDRESS, port: 179, asNumber: 64512,
      passive: true, keepOriginalNextHop: false, restartTime: 120,
    };
    sp.setPeers([config]);

    const routesOfRound = (i: number) => ['10.2.0.0/26', `10.3.${i}.0/26`];
    const established = (n: number) => events.filter((e) => e.type === 'established').length >= n;
    let current: PeerConnection | undefined;
    let ups = 0;
    const connect = async (round: number, holdTime = 90, restarting = false): Promise<PeerConnection> => {
      const c = new PeerConnection(port, peerOpen(holdTime, restarting), routesOfRound(round));
      conns.push(c);
      ups++;
      await until(`session ${ups} Established (round ${round})`, () => established(ups) && c.established && sp.status()[0]?.state === 'Established', 15_000);
      await until(`round ${round}'s routes learned and ours advertised`, () =>
        learned.has(`10.3.${round}.0/26`) && learned.size === 2 && c.advertised().size === OUR_ROUTES.length, 15_000);
      return c;
    };
    const downs = () => events.filter((e) => e.type === 'down').length;

    // The plan: 40 NOTIFICATION resets, 40 TCP resets, 10 hold-timer expiries, 10 R-bit collisions.
    const plan = Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? 2 : i % 10 === 5 ? 3 : i % 2));
    const warmUp = [0, 1, 0, 1, 0];
    const all = [...warmUp, ...plan];
    let round = 0;
    /** Flap number `n` of `all`; the session it brings up gets hold time 3 when the next flap is a hold-timer one. */
    const flap = async (n: number): Promise<void> => {
      const kind = all[n];
      const old = current!;
      const before = downs();
      round++;
      const holdNext = all[n + 1] === 2 ? 3 : 90;
      if (kind === 0) {
        old.send({ type: 'NOTIFICATION', code: 6, subcode: 4, data: new Uint8Array() });
        old.socket.end();
      } else if (kind === 1) {
        old.socket.resetAndDestroy();
      } else if (kind === 2) {
        old.silent = true; // hold time 3 s: we must notice the silence and send 4/0
        await until('our hold timer to expire', () => old.closed, 10_000);
        expect(old.types()).toContain('NOTIFICATION 4/0');
      }
      if (kind === 3) {
        current = await connect(round, holdNext, true);
        await until('the replaced connection closed', () => old.closed, 5000);
      } else {
        await until('our side to see the session go', () => downs() > before, 10_000);
        current = await connect(round, holdNext);
      }
      old.close();
    };

    current = await connect(round);
    // Warm-up: the first flaps allocate what stays (JIT, pools, caches).
    for (let n = 0; n < warmUp.length; n++) await flap(n);
    const before = measure(sp);

    let refused = 0;
    const kinds = { notification: 0, reset: 0, holdTimer: 0, restartCollision: 0 };
    for (let i = 0; i < plan.length; i++) {
      await flap(warmUp.length + i);
      kinds[(['notification', 'reset', 'holdTimer', 'restartCollision'] as const)[plan[i]]]++;
      if (i % 10 === 7) {
        // A second connection without the R bit while Established: Cease 7 to it, the session stays.
        const since = sp.status()[0].since;
        const extra = new PeerConnection(port, peerOpen(90, false), []);
        conns.push(extra);
        await until('the colliding connection refused', () => extra.closed, 5000);
        expect(extra.types()).toContain('NOTIFICATION 6/7');
        expect(sp.status()[0]).toMatchObject({ state: 'Established', since });
        extra.close();
        refused++;
      }
    }
    // Old connections' sockets are gone: closed on both ends before measuring.
    await until('every old connection closed', () => conns.every((c) => c === current || c.closed), 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const after = measure(sp);

    expect(kinds).toEqual({ notification: 40, reset: 40, holdTimer: 10, restartCollision: 10 });
    expect(refused).toBe(10);
    // Routes: exactly this round's from the peer (no survivor of an earlier round), ours advertised once each.
    expect([...learned].sort()).toEqual(routesOfRound(round).sort());
    expect([...current.advertised()].sort()).toEqual(OUR_ROUTES);
    expect(sp.status()[0].state).toBe('Established');

    const report = `before ${JSON.stringify(before)}\nafter  ${JSON.stringify(after)}`;
    expect(after.fds, report).toBeLessThanOrEqual(before.fds + 2);
    expect(after.tcp, report).toBeLessThanOrEqual(before.tcp);
    expect(after.timers, report).toBeLessThanOrEqual(before.timers + 2);
    expect(after.listeners, report).toBe(before.listeners);
    expect(after.heapMb - before.heapMb, report).toBeLessThan(4);
  }, 300_000);
});

