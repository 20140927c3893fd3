/**
 * Peer over fake sockets with an injected clock: OPEN checks answer with the
 * right NOTIFICATION, collision resolution (RFC 4271 §6.8), graceful-restart
 * signalling, MD5 refusal, keepalives while UPDATEs wait.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/clock.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { Peer, type LocalSpeaker } from '../../../src/bgp/session/peer.js';
import type { PeerConfig } from '../../../src/datastore/desired.js';
import { FakeSocket, fakeConnector, remoteOpen } from './fake-socket.js';

const config = (over: Partial<PeerConfig> = {}): PeerConfig => ({
  name: 'Mesh_10_0_0_2',
  type: 'node-to-node mesh',
  address: '10.0.0.2',
  port: 179,
  asNumber: 64512,
  passive: false,
  keepOriginalNextHop: false,
  restartTime: 120,
  ...over,
});

function harness(opts: { local?: Partial<LocalSpeaker>; config?: Partial<PeerConfig> } = {}) {
  const clock = new FakeClock();
  const events: SessionEvent[] = [];
  const { sockets: outgoing, connect } = fakeConnector();
  const peer = new Peer(
    config(opts.config),
    { asNumber: 64512, routerId: '10.0.0.1', restarting: false, forwardingPreserved: false, grNotification: false, ...opts.local },
    {
      clock,
      emit: (e) => events.push(e),
      connect,
      fsm: { connectDelayTime: 0 },
      tx: { defer: (fn) => queueMicrotask(fn) },
    },
  );
  return { clock, events, outgoing, peer };
}

/** Start, connect, and get to OpenSent on an outgoing fake socket. */
function toOpenSent(h: ReturnType<typeof harness>): FakeSocket {
  h.peer.start();
  const sock = h.outgoing[0];
  sock.emit('connect');
  expect(h.peer.state).toBe('OpenSent');
  expect(sock.types()).toEqual(['OPEN']);
  return sock;
}

describe('OPEN checks', () => {
  const rows: { name: string; open: ReturnType<typeof remoteOpen>; notice: string; lastError: RegExp }[] = [
    { name: 'unsupported version', open: remoteOpen({ version: 3 }), notice: 'NOTIFICATION 2/1', lastError: /version 3/ },
    {
      name: 'bad peer AS',
      open: remoteOpen({ myAs: 64513 }),
      notice: 'NOTIFICATION 2/2',
      lastError: /^Sent NOTIFICATION 2\/2 .*peer says AS 64513, configured 64512$/,
    },
    { name: 'BGP identifier 0.0.0.0', open: remoteOpen({ bgpId: '0.0.0.0' }), notice: 'NOTIFICATION 2/3', lastError: /^Sent NOTIFICATION 2\/3 \([^)]*\): [^:]*0\.0\.0\.0$/ },
    { name: 'iBGP identifier equal to ours', open: remoteOpen({ bgpId: '10.0.0.1' }), notice: 'NOTIFICATION 2/3', lastError: /equals ours/ },
    { name: 'hold time 1', open: remoteOpen({ holdTime: 1 }), notice: 'NOTIFICATION 2/6', lastError: /hold time 1/ },
    { name: 'hold time 2', open: remoteOpen({ holdTime: 2 }), notice: 'NOTIFICATION 2/6', lastError: /hold time 2/ },
  ];
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_n, row) => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(row.open);
    expect(sock.types()).toEqual(['OPEN', row.notice]);
    expect(sock.ended || sock.destroyed).toBe(true);
    expect(h.peer.state).toBe('Idle');
    expect(h.peer.status().lastError).toMatch(row.lastError);
    expect(h.peer.status().birdState).toBe('start'); // restarts after the error wait
  });

  it('unsupported version carries the version we support (4) as data', () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen({ version: 5 }));
    const n = sock.messages()[1];
    expect(n.type === 'NOTIFICATION' && [...n.data]).toEqual([0, 4]);
  });

  it('accepts hold time 0: no keepalives, Established on KEEPALIVE', () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen({ holdTime: 0 }));
    expect(sock.types()).toEqual(['OPEN', 'KEEPALIVE']);
    sock.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
    expect(h.peer.status()).toMatchObject({ holdTime: 0, keepaliveTime: 0, remoteRouterId: '10.0.0.2', peerRestartTime: 100 });
    h.clock.advance(600_000);
    expect(h.peer.state).toBe('Established');
    expect(sock.types().filter((t) => t === 'KEEPALIVE')).toHaveLength(1);
  });

  it('negotiates the smaller hold time and sends keepalives at a third of it', () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen({ holdTime: 9 }));
    sock.receive({ type: 'KEEPALIVE' });
    expect(h.events.map((e) => e.type)).toEqual(['established']);
    h.clock.advance(3000);
    expect(sock.types().filter((t) => t === 'KEEPALIVE')).toHaveLength(2);
    h.clock.advance(6000); // nothing from the peer for 9 s
    expect(h.peer.status().lastError).toBe('Hold timer expired');
    expect(sock.types()).toContain('NOTIFICATION 4/0');
    expect(h.events[1]).toMatchObject({ type: 'down', graceful: false, reason: 'Hold timer expired' });
  });
});

describe('collision detection (RFC 4271 §6.8)', () => {
  it('remote identifier higher: the connection the peer opened wins, ours gets Cease 7', () => {
    const h = harness({ local: { routerId: '10.0.0.1' } });
    const ours = toOpenSent(h);
    const theirs = new FakeSocket();
    h.peer.accept(theirs.asSocket());
    expect(theirs.types()).toEqual(['OPEN']);
    theirs.receive(remoteOpen({ bgpId: '10.0.0.2' }));
    expect(ours.types()).toEqual(['OPEN', 'NOTIFICATION 6/7']);
    expect(ours.ended).toBe(true);
    expect(theirs.types()).toEqual(['OPEN', 'KEEPALIVE']);
    expect(h.peer.state).toBe('OpenConfirm');
    theirs.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
  });

  it('local identifier higher: our connection wins, the new one gets Cease 7', () => {
    const h = harness({ local: { routerId: '10.0.0.3' } });
    const ours = toOpenSent(h);
    const theirs = new FakeSocket();
    h.peer.accept(theirs.asSocket());
    theirs.receive(remoteOpen({ bgpId: '10.0.0.2' }));
    expect(theirs.types()).toEqual(['OPEN', 'NOTIFICATION 6/7']);
    expect(ours.types()).toEqual(['OPEN']);
    expect(h.peer.state).toBe('OpenSent');
    ours.receive(remoteOpen({ bgpId: '10.0.0.2' }));
    ours.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
  });

  it('a new connection while Established without GR is closed with Cease 7', () => {
    const h = harness();
    const ours = toOpenSent(h);
    const open = remoteOpen();
    open.capabilities = open.capabilities.filter((c) => c.name !== 'graceful-restart');
    ours.receive(open);
    ours.receive({ type: 'KEEPALIVE' });
    const theirs = new FakeSocket();
    h.peer.accept(theirs.asSocket());
    theirs.receive(open);
    expect(theirs.types()).toEqual(['OPEN', 'NOTIFICATION 6/7']);
    expect(h.peer.state).toBe('Established');
  });

  it('a new connection from a GR peer while Established means it restarted: down graceful, new session', () => {
    const h = harness();
    const ours = toOpenSent(h);
    ours.receive(remoteOpen());
    ours.receive({ type: 'KEEPALIVE' });
    const theirs = new FakeSocket();
    h.peer.accept(theirs.asSocket());
    theirs.receive(remoteOpen({ capabilities: remoteOpen().capabilities.map((c) => (c.name === 'graceful-restart' ? { ...c, restartState: true } : c)) }));
    expect(h.events.map((e) => e.type)).toEqual(['established', 'down']);
    expect(h.events[1]).toMatchObject({ graceful: true, restartTime: 100 });
    expect(ours.types()).not.toContain('NOTIFICATION 6/7');
    expect(theirs.types()).toEqual(['OPEN', 'KEEPALIVE']);
    theirs.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
  });

  it('a GR peer dialling while Established without the Restart State bit is a collision: Cease 7, no flap (issue 17)', () => {
    const h = harness();
    const ours = toOpenSent(h);
    ours.receive(remoteOpen());
    ours.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
    // Both sides dialled at start; the peer's own connection is accepted only now.
    const theirs = new FakeSocket();
    h.peer.accept(theirs.asSocket());
    theirs.receive(remoteOpen());
    expect(theirs.types()).toEqual(['OPEN', 'NOTIFICATION 6/7']);
    expect(theirs.ended || theirs.destroyed).toBe(true);
    expect(h.peer.state).toBe('Established');
    expect(h.events.map((e) => e.type)).toEqual(['established']);
    // The old connection is probed once, so a peer that lost it answers with a reset.
    expect(ours.types().slice(-1)).toEqual(['KEEPALIVE']);
    const again = new FakeSocket();
    h.peer.accept(again.asSocket());
    again.receive(remoteOpen());
    expect(again.types()).toEqual(['OPEN', 'NOTIFICATION 6/7']);
    expect(ours.types().filter((t) => t === 'KEEPALIVE')).toHaveLength(2); // the session's own, one probe (1/s at most)
    expect(h.peer.status().flaps).toBe(0); // the metric's flap counter agrees: the session never went down
  });

  it('counts a flap for each lost session (Established -> any other state), none for the way up (metrics, issue 23)', () => {
    const h = harness();
    const ours = toOpenSent(h);
    expect(h.peer.status().flaps).toBe(0);
    ours.receive(remoteOpen());
    ours.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
    expect(h.peer.status().flaps).toBe(0);
    ours.receive({ type: 'NOTIFICATION', code: 6, subcode: 2, data: Buffer.alloc(0) });
    expect(h.peer.state).not.toBe('Established');
    expect(h.peer.status().flaps).toBe(1);
    // Back up through the peer's next connection after the error wait, then lost again: two.
    h.clock.advance(5000);
    const next = new FakeSocket();
    h.peer.accept(next.asSocket());
    next.receive(remoteOpen());
    next.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
    expect(h.peer.status().flaps).toBe(1);
    next.destroy();
    expect(h.peer.status().flaps).toBe(2);
  });

  it('an old connection that answers the probe with a reset ends the session; the peer\'s next connection is accepted', () => {
    const h = harness();
    const ours = toOpenSent(h);
    ours.receive(remoteOpen());
    ours.receive({ type: 'KEEPALIVE' });
    const theirs = new FakeSocket();
    h.peer.accept(theirs.asSocket());
    theirs.receive(remoteOpen());
    expect(theirs.types()).toEqual(['OPEN', 'NOTIFICATION 6/7']);
    // The peer had rebooted: its kernel resets the probed connection.
    ours.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    ours.destroy();
    expect(h.events.map((e) => e.type)).toEqual(['established', 'down']);
    expect(h.events[1]).toMatchObject({ graceful: true });
    // BIRD's error wait (5 s) before the session is started again, then the peer's retry is taken.
    h.clock.advance(5000);
    const next = new FakeSocket();
    h.peer.accept(next.asSocket());
    next.receive(remoteOpen());
    expect(next.types()).toEqual(['OPEN', 'KEEPALIVE']);
    next.receive({ type: 'KEEPALIVE' });
    expect(h.peer.state).toBe('Established');
  });

  it('an incoming connection in Active replaces the outgoing attempt', () => {
    const h = harness();
    h.peer.start();
    const out = h.outgoing[0];
    const theirs = new FakeSocket();
    h.peer.accept(theirs.asSocket());
    expect(out.destroyed).toBe(true);
    expect(h.peer.state).toBe('OpenSent');
    expect(theirs.types()).toEqual(['OPEN']);
  });
});

describe('graceful restart signalling and session events', () => {
  it('a TCP drop of a GR peer is a graceful down with its restart time', () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen());
    sock.receive({ type: 'KEEPALIVE' });
    sock.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    sock.destroy();
    expect(h.events[1]).toMatchObject({ type: 'down', graceful: true, restartTime: 100, reason: 'Socket: connection reset by peer' });
  });

  it('a NOTIFICATION from a GR peer is not graceful (no N bit)', () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen());
    sock.receive({ type: 'KEEPALIVE' });
    sock.receive({ type: 'NOTIFICATION', code: 6, subcode: 4, data: new Uint8Array(0) });
    expect(h.events[1]).toMatchObject({ type: 'down', graceful: false });
    expect(h.peer.status().lastError).toMatch(/^Received NOTIFICATION 6\/4/);
  });

  it('our OPEN carries R and F bits when restarting with preserved forwarding', () => {
    const h = harness({ local: { restarting: true, forwardingPreserved: true } });
    const sock = toOpenSent(h);
    const open = sock.messages()[0];
    const gr = open.type === 'OPEN' ? open.capabilities.find((c) => c.name === 'graceful-restart') : undefined;
    expect(gr).toMatchObject({ restartState: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwardingState: true }] });
  });

  it('reports UPDATEs, End-of-RIB and ROUTE-REFRESH requests', async () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen());
    sock.receive({ type: 'KEEPALIVE' });
    sock.emit('data', Buffer.from('ffffffffffffffffffffffffffffffff00170200000000', 'hex')); // End-of-RIB
    sock.receive({ type: 'ROUTE-REFRESH', afi: 1, subtype: 0, safi: 1 });
    expect(h.events.map((e) => e.type)).toEqual(['established', 'end-of-rib', 'route-refresh']);
    expect(h.peer.requestRefresh()).toBe(true);
    expect(sock.types()).toContain('ROUTE-REFRESH');
  });

  it('an RFC 7606 treat-as-withdraw UPDATE is passed up, the session stays', () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen());
    sock.receive({ type: 'KEEPALIVE' });
    const attrs = [0x40, 1, 1, 5, 0x40, 2, 0, 0x40, 3, 4, 10, 0, 0, 2, 0x40, 5, 4, 0, 0, 0, 100]; // ORIGIN 5 is invalid
    const nlri = [26, 10, 1, 0, 0];
    const body = [0, 0, 0, attrs.length, ...attrs, ...nlri];
    const msg = Buffer.from([...new Array(16).fill(0xff), 0, 19 + body.length, 2, ...body]);
    sock.emit('data', msg);
    expect(h.peer.state).toBe('Established');
    const update = h.events.find((e) => e.type === 'update');
    expect(update?.type === 'update' && update.update.treatAsWithdraw?.code).toBe(3);
    expect(sock.types().some((t) => t.startsWith('NOTIFICATION'))).toBe(false);
  });

  it('a malformed UPDATE (session reset) sends the codec\'s NOTIFICATION', () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen());
    sock.receive({ type: 'KEEPALIVE' });
    // Withdrawn Routes Length larger than the message: 3/1 Malformed Attribute List.
    const body = [0, 200, 0, 0];
    sock.emit('data', Buffer.from([...new Array(16).fill(0xff), 0, 19 + body.length, 2, ...body]));
    expect(h.peer.state).toBe('Idle');
    expect(sock.types().at(-1)).toBe('NOTIFICATION 3/1');
    expect(h.events.at(-1)).toMatchObject({ type: 'down', graceful: false });
    expect(h.peer.status().lastError).toMatch(/^Sent NOTIFICATION 3\/1/);
  });

  it('KEEPALIVEs go out while UPDATEs wait for the socket to drain', async () => {
    const h = harness();
    const sock = toOpenSent(h);
    sock.receive(remoteOpen({ holdTime: 9 }));
    sock.receive({ type: 'KEEPALIVE' });
    sock.write = (b: Buffer) => {
      sock.written.push(Buffer.from(b));
      return false; // the kernel buffer is full from now on
    };
    const attrs = { id: 1, attrs: { origin: 0 as const, asPath: [], nextHop: '10.0.0.1', localPref: 100 } };
    const changes = [];
    for (let i = 0; i < 20_000; i++) changes.push({ key: parsePrefix(`10.${100 + (i >> 8)}.${i & 255}.0/26`), pathId: 0, attrs });
    h.peer.enqueue(changes);
    await new Promise((r) => setTimeout(r, 10));
    const updatesBefore = sock.types().filter((t) => t === 'UPDATE').length;
    expect(updatesBefore).toBeGreaterThan(0);
    h.clock.advance(3000);
    expect(sock.types().at(-1)).toBe('KEEPALIVE');
    expect(sock.types().filter((t) => t === 'UPDATE').length).toBe(updatesBefore); // still paused
    sock.emit('drain');
    await new Promise((r) => setTimeout(r, 10));
    expect(sock.types().filter((t) => t === 'UPDATE').length).toBeGreaterThan(updatesBefore);
  });
});

describe('TCP MD5', () => {
  it('a peer whose password could not be read stays down with that reason, never connected or accepted, still listed', () => {
    const problem = 'TCP MD5 password: secret bgp-pw key "peer" not found';
    const h = harness({ config: { passwordSecret: { name: 'bgp-pw', key: 'peer' }, passwordProblem: problem } });
    h.peer.start();
    expect(h.outgoing).toHaveLength(0);
    const s = new FakeSocket();
    h.peer.accept(s.asSocket());
    expect(s.destroyed).toBe(true);
    expect(h.peer.status()).toMatchObject({ state: 'Idle', birdState: 'down', lastError: problem });
  });

  it('a peer with a password starts like any other (the injected connect factory is used)', () => {
    const h = harness({ config: { password: 'secret' } });
    h.peer.start();
    expect(h.outgoing).toHaveLength(1);
    expect(h.peer.status().lastError).toBeUndefined();
    expect(h.peer.state).toBe('Connect');
  });
});

describe('status and log in operator words (issue 23)', () => {
  it('SINCE is when BIRD\'s state last changed, not reset by each connect retry; the reason is logged at info once per change', () => {
    const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
    const logger = {
      info: (obj: object, msg: string) => lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> }),
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', msg, obj: obj as Record<string, unknown> }),
      debug: (obj: object, msg: string) => lines.push({ level: 'debug', msg, obj: obj as Record<string, unknown> }),
    };
    const clock = new FakeClock();
    const { sockets, connect } = fakeConnector();
    const peer = new Peer(config(), { asNumber: 64512, routerId: '10.0.0.1', restarting: false, forwardingPreserved: false, grNotification: false }, {
      clock,
      logger,
      emit: () => undefined,
      connect,
      fsm: { connectDelayTime: 0 },
    });
    peer.start();
    const since = peer.status().since;
    const refused = () => sockets.at(-1)!.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    for (let i = 0; i < 5; i++) {
      refused();
      sockets.at(-1)!.destroy();
      clock.advance(5000); // connect retry
    }
    expect(sockets.length).toBeGreaterThanOrEqual(5);
    expect(peer.status()).toMatchObject({ birdState: 'start', since });
    const info = lines.filter((l) => l.level === 'info' && l.msg === 'BGP state change');
    // The first change (start) and the first with the refusal's reason at info; the repeats at debug only.
    expect(info.map((l) => l.obj.reason ?? null)).toEqual([null, expect.stringMatching(/connection refused/i)]);
    expect(lines.filter((l) => l.level === 'debug' && l.msg === 'BGP state change').length).toBeGreaterThan(3);
  });
});
