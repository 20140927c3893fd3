/**
 * The operator's verbs on a session (issue 23), over fake sockets with an
 * injected clock: reset (Cease 4, RFC 4486 §4, then the normal FSM
 * reconnects), disable (Cease 2, held Idle until enable, also when the
 * desired peers re-create the session) and the ROUTE-REFRESH a soft reset
 * sends (RFC 2918: only to a peer that advertised the capability).
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/clock.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import { Speaker } from '../../../src/bgp/session/speaker.js';
import { decodeShutdownMessage } from '../../../src/bgp/session/words.js';
import type { PeerConfig } from '../../../src/contracts.js';
import { FakeSocket, fakeConnector, remoteOpen } from './fake-socket.js';

const NAME = 'Global_10_0_0_2';
const config = (over: Partial<PeerConfig> = {}): PeerConfig => ({
  name: NAME,
  type: 'global',
  address: '10.0.0.2',
  port: 179,
  asNumber: 64512,
  passive: false,
  keepOriginalNextHop: false,
  restartTime: 120,
  bgpPeer: 'tor-a',
  ...over,
});

function bed(disabled = new Set<string>()) {
  const clock = new FakeClock();
  const events: SessionEvent[] = [];
  const { sockets, connect } = fakeConnector();
  const speaker = new Speaker({
    asNumber: 64512,
    routerId: '10.0.0.1',
    noListen: true,
    clock,
    disabled,
    connect,
    fsm: { connectDelayTime: 0 },
    tx: { defer: (fn) => queueMicrotask(fn) },
  });
  speaker.on('event', (e) => events.push(e));
  /** Play the peer on the newest outgoing connection up to Established. */
  const establish = (open = remoteOpen()): FakeSocket => {
    const sock = sockets.at(-1)!;
    sock.emit('connect');
    sock.receive(open);
    sock.receive({ type: 'KEEPALIVE' });
    expect(speaker.peer(NAME)?.state).toBe('Established');
    return sock;
  };
  const notification = (sock: FakeSocket) => {
    const n = sock.messages().find((m) => m.type === 'NOTIFICATION');
    return n?.type === 'NOTIFICATION' ? { code: n.code, subcode: n.subcode, message: decodeShutdownMessage(n.data) } : undefined;
  };
  return { clock, events, sockets, speaker, establish, notification };
}

describe('agent peers reset (hard): Cease 4 and the normal FSM', () => {
  it('sends Cease 4 Administrative Reset with the message, reports the session down, and dials again', () => {
    const b = bed();
    b.speaker.setPeers([config()]);
    const first = b.establish();
    expect(b.speaker.reset(NAME, 'administrative reset by the operator')).toBe(true);
    expect(b.notification(first)).toEqual({ code: 6, subcode: 4, message: 'administrative reset by the operator' });
    expect(b.events.map((e) => e.type)).toEqual(['established', 'down']);
    expect(b.events[1]).toMatchObject({ graceful: false });
    // AutomaticStart again: a new connection, and the session comes back on it.
    expect(b.sockets).toHaveLength(2);
    b.establish();
    expect(b.events.map((e) => e.type)).toEqual(['established', 'down', 'established']);
  });

  it('refuses an unknown or a disabled peer', () => {
    const b = bed();
    b.speaker.setPeers([config()]);
    expect(b.speaker.reset('Global_10_0_0_9')).toBe(false);
    b.speaker.disable(NAME);
    expect(b.speaker.reset(NAME)).toBe(false);
    expect(b.speaker.peer(NAME)?.state).toBe('Idle');
  });
});

describe('agent peers disable / enable: Cease 2, held down until enabled', () => {
  it('sends Cease 2, stays Idle (no retry, incoming refused) and shows disabled until enable', () => {
    const b = bed();
    b.speaker.setPeers([config()]);
    const sock = b.establish();
    expect(b.speaker.disable(NAME, 'disabled by the operator')).toBe(true);
    expect(b.notification(sock)).toEqual({ code: 6, subcode: 2, message: 'disabled by the operator' });
    expect(b.events.at(-1)).toMatchObject({ type: 'down', graceful: false });
    b.clock.advance(600_000); // far past connect retry and error wait
    expect(b.sockets).toHaveLength(1);
    const incoming = new FakeSocket();
    b.speaker.peer(NAME)!.accept(incoming.asSocket());
    expect(incoming.destroyed).toBe(true);
    expect(b.speaker.status()[0]).toMatchObject({ state: 'Idle', birdState: 'down', disabled: true, bgpPeer: 'tor-a' });

    expect(b.speaker.enable(NAME)).toBe(true);
    expect(b.speaker.status()[0].disabled).toBeUndefined();
    expect(b.sockets).toHaveLength(2);
    b.establish();
  });

  it('stays disabled when the desired peers re-create the session (changed, removed and added again) and in a new speaker sharing the set', () => {
    const disabled = new Set<string>();
    const b = bed(disabled);
    b.speaker.setPeers([config()]);
    b.speaker.disable(NAME);
    b.speaker.setPeers([config({ keepaliveTime: 30 })]); // a changed peer is a new Peer (Cease 6/6 to the old)
    b.speaker.setPeers([]);
    b.speaker.setPeers([config()]);
    b.clock.advance(600_000);
    expect(b.sockets).toHaveLength(1); // only the first, from before the disable
    expect(b.speaker.status()[0]).toMatchObject({ state: 'Idle', disabled: true });

    const rebuilt = bed(disabled); // the agent's speaker rebuild hands over the same set
    rebuilt.speaker.setPeers([config()]);
    expect(rebuilt.sockets).toHaveLength(0);
    rebuilt.speaker.enable(NAME);
    expect(rebuilt.sockets).toHaveLength(1);
    expect(disabled.size).toBe(0);
  });

  it('a BFD-down reset (stop, then start) does not start a disabled session', () => {
    const b = bed();
    b.speaker.setPeers([config()]);
    b.speaker.disable(NAME);
    expect(b.speaker.resetForForwardingFailure(NAME)).toBe(true);
    b.clock.advance(600_000);
    expect(b.sockets).toHaveLength(1);
    expect(b.speaker.peer(NAME)?.state).toBe('Idle');
  });

  it('a BGPPeer rename alone does not reset the session', () => {
    const b = bed();
    b.speaker.setPeers([config()]);
    const sock = b.establish();
    b.speaker.setPeers([config({ bgpPeer: 'tor-a-renamed' })]);
    expect(b.notification(sock)).toBeUndefined();
    expect(b.speaker.peer(NAME)?.state).toBe('Established');
  });
});

describe('soft reset: ROUTE-REFRESH only to a peer that advertised the capability (RFC 2918)', () => {
  it('sends ROUTE-REFRESH for IPv4 unicast without touching the session', () => {
    const b = bed();
    b.speaker.setPeers([config()]);
    const sock = b.establish();
    expect(b.speaker.requestRefresh(NAME)).toBe(true);
    const rr = sock.messages().find((m) => m.type === 'ROUTE-REFRESH');
    expect(rr).toMatchObject({ afi: 1, safi: 1, subtype: 0 });
    expect(b.speaker.peer(NAME)?.state).toBe('Established');
    expect(b.events.map((e) => e.type)).toEqual(['established']);
  });

  it('sends nothing to a peer without the capability, nor to one not Established', () => {
    const b = bed();
    b.speaker.setPeers([config()]);
    expect(b.speaker.requestRefresh(NAME)).toBe(false); // Connect
    const open = remoteOpen();
    const sock = b.establish({ ...open, capabilities: open.capabilities.filter((c) => c.name !== 'route-refresh') });
    expect(b.speaker.requestRefresh(NAME)).toBe(false);
    expect(sock.types()).not.toContain('ROUTE-REFRESH');
  });
});

describe('a configuration change inside a nested setting', () => {
  // BIRD restarts a protocol whose options change; a changed route-reflector
  // cluster id or password Secret is such a change even though it sits one
  // level down in the peer's configuration.
  it.each([
    ['the route-reflector cluster id', { routeReflectorClient: { clusterId: '1.1.1.1' } }, { routeReflectorClient: { clusterId: '2.2.2.2' } }],
    ['the password Secret key', { passwordSecret: { name: 'bgp', key: 'a' } }, { passwordSecret: { name: 'bgp', key: 'b' } }],
  ])('%s resets the session with Cease 6/6', (_what, before: Partial<PeerConfig>, after: Partial<PeerConfig>) => {
    const b = bed();
    b.speaker.setPeers([config(before)]);
    const sock = b.establish();
    b.speaker.setPeers([config(before)]); // the same again: nothing happens
    expect(b.notification(sock)).toBeUndefined();
    b.speaker.setPeers([config(after)]);
    expect(b.notification(sock)).toMatchObject({ code: 6, subcode: 6 });
  });
});
