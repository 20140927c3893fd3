/**
 * IPv6 sessions (issue 19): a peer whose address is IPv6 carries IPv6
 * unicast only (RFC 4760 multiprotocol AFI 2 SAFI 1, add-path and graceful
 * restart for the same family), sends its changes as MP_REACH_NLRI /
 * MP_UNREACH_NLRI and its End-of-RIB as an empty MP_UNREACH_NLRI (RFC 4724
 * §2). What it sends decodes back to the routes it was given.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/clock.js';
import type { OutChange, SessionEvent } from '../../../src/bgp/route.js';
import { Peer } from '../../../src/bgp/session/peer.js';
import type { PeerConfig } from '../../../src/datastore/desired.js';
import { decodeMessage, encodeAttributes6, packUpdates6, type BgpMessage, type OpenMessage } from '../../../src/bgp/codec/index.js';
import { familyKey, type DecodeContext, type UpdateMessage } from '../../../src/bgp/codec/types.js';
import { AttrTable } from '../../../src/bgp/rib/attr-set.js';
import { formatPrefix6, parsePrefix6 } from '../../../src/bgp/prefix6.js';
import { FakeSocket, fakeConnector, remoteOpen } from './fake-socket.js';

const V6 = familyKey(2, 1);

const config: PeerConfig = {
  name: 'Mesh_fd00_1__2',
  type: 'node-to-node mesh',
  address: 'fd00:1::2',
  port: 179,
  asNumber: 64512,
  passive: false,
  keepOriginalNextHop: false,
  restartTime: 120,
};

/** BIRD's bird6-style OPEN: IPv6 unicast only, add-path both ways, graceful restart for IPv6. */
function birdOpen6(): OpenMessage {
  const base = remoteOpen();
  return {
    ...base,
    capabilities: [
      { code: 1, name: 'multiprotocol', afi: 2, safi: 1 },
      ...base.capabilities.filter((c) => c.name !== 'multiprotocol' && c.name !== 'graceful-restart'),
      { code: 64, name: 'graceful-restart', restartState: false, notification: false, restartTime: 100, families: [{ afi: 2, safi: 1, forwardingState: true }] },
      { code: 69, name: 'add-path', families: [{ afi: 2, safi: 1, sendReceive: 3 }] },
    ],
  };
}

function established(addPath = true) {
  const clock = new FakeClock();
  const events: SessionEvent[] = [];
  const { sockets: outgoing, connect } = fakeConnector();
  const peer = new Peer(
    config,
    { asNumber: 64512, routerId: '10.0.0.1', restarting: false, forwardingPreserved: false, grNotification: false },
    {
      clock,
      emit: (e) => events.push(e),
      connect,
      fsm: { connectDelayTime: 0 },
      tx: { defer: (fn) => queueMicrotask(fn) },
    },
  );
  peer.start();
  const sock = outgoing[0];
  sock.emit('connect');
  const open = birdOpen6();
  if (!addPath) open.capabilities = open.capabilities.filter((c) => c.name !== 'add-path');
  sock.receive(open);
  sock.receive({ type: 'KEEPALIVE' });
  expect(peer.state).toBe('Established');
  return { peer, sock, events };
}

const ctx = (addPath: boolean): DecodeContext => ({ as4: true, addPath: new Set(addPath ? [V6] : []), extendedMessage: false });
const sent = (sock: FakeSocket, addPath: boolean): BgpMessage[] => sock.written.map((b) => decodeMessage(b, ctx(addPath)));
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('IPv6 session', () => {
  it('an IPv6 peer OPENs with IPv6 unicast only: multiprotocol, add-path and graceful restart for AFI 2', () => {
    const { sock } = established();
    const open = sock.messages()[0];
    if (open.type !== 'OPEN') throw new Error('no OPEN');
    expect(open.capabilities.filter((c) => c.name === 'multiprotocol')).toEqual([{ code: 1, name: 'multiprotocol', afi: 2, safi: 1 }]);
    expect(open.capabilities.find((c) => c.name === 'add-path')).toMatchObject({ families: [{ afi: 2, safi: 1, sendReceive: 3 }] });
    expect(open.capabilities.find((c) => c.name === 'graceful-restart')).toMatchObject({ families: [{ afi: 2, safi: 1 }] });
  });

  it("the status names the IPv6 family's add-path as negotiated, and the RIB is told path ids flow both ways", () => {
    const { peer } = established();
    expect(peer.status().capabilities).toContain('add-path rx/tx');
    expect(peer.negotiatedInfo()).toMatchObject({ addPathSend: true, addPathReceive: true });
  });

  it('End-of-RIB for IPv6 is an UPDATE whose only attribute is an empty MP_UNREACH_NLRI AFI 2 (RFC 4724 §2)', async () => {
    const { peer, sock } = established();
    peer.sendEndOfRib();
    await tick();
    const last = sock.written[sock.written.length - 1];
    expect(Buffer.from(last).toString('hex')).toBe('ffffffffffffffffffffffffffffffff001d0200000006800f03000201');
  });

  it('an End-of-RIB for AFI 2 from the peer is reported as such', () => {
    const { sock, events } = established();
    sock.emit('data', Buffer.from('ffffffffffffffffffffffffffffffff001d0200000006800f03000201', 'hex'));
    expect(events.find((e) => e.type === 'end-of-rib')).toMatchObject({ afi: 2, safi: 1 });
  });

  it.each([true, false])('changes go out as MP_REACH / MP_UNREACH that decode back to the same routes (add-path %s)', async (addPath) => {
    const { peer, sock } = established(addPath);
    const table = new AttrTable();
    const set = table.intern({ origin: 0, asPath: [], nextHop: 'fd00:1::1', localPref: 100, communities: [0xfde80001] });
    const prefixes = Array.from({ length: 400 }, (_, i) => `fd00:245::${i.toString(16)}:0/122`);
    const changes: OutChange[] = prefixes.map((p, i) => ({ key: parsePrefix6(p), pathId: i + 1, attrs: set }));
    const gone: OutChange[] = [{ key: parsePrefix6('fd00:999::/122'), pathId: 7, attrs: null }];
    const before = sock.written.length;
    peer.enqueue(changes);
    peer.enqueue(gone);
    await tick();
    const msgs = sent(sock, addPath).slice(before) as UpdateMessage[];
    expect(msgs.length).toBeGreaterThan(1); // 400 prefixes do not fit in one 4096-octet UPDATE
    // A /122 is 17 octets of NLRI (21 with a path id): packed as many as fit, plus the one withdrawal.
    expect(msgs.length - 1).toBe(Math.ceil((400 * (addPath ? 21 : 17)) / (4096 - 19 - 4 - 60)));
    const got: string[] = [];
    const ids: number[] = [];
    for (const m of msgs.slice(0, -1)) {
      expect(m.type).toBe('UPDATE');
      expect(m.nlri.keys).toEqual([]);
      expect(m.attributes.nextHop).toBeUndefined(); // NEXT_HOP is IPv4's (RFC 4271 §5.1.3)
      expect(m.attributes).toMatchObject({ origin: 0, localPref: 100, communities: [0xfde80001] });
      const mp = m.attributes.mpReach!;
      if (!('nlri' in mp) || mp.afi !== 2) throw new Error('no IPv6 MP_REACH');
      expect(mp.nextHops).toEqual(['fd00:1::1']);
      got.push(...mp.nlri.prefixes);
      ids.push(...(mp.nlri.pathIds ?? []));
    }
    expect(got).toEqual(prefixes.map((p) => formatPrefix6(parsePrefix6(p))));
    if (addPath) expect(ids).toEqual(changes.map((c) => c.pathId));
    const w = msgs[msgs.length - 1];
    const un = w.attributes.mpUnreach!;
    if (!('withdrawn' in un) || un.afi !== 2) throw new Error('no IPv6 MP_UNREACH');
    expect(un.withdrawn.prefixes).toEqual(['fd00:999::/122']);
    expect(un.withdrawn.pathIds).toEqual(addPath ? [7] : null);
    expect(Object.keys(w.attributes).filter((k) => (w.attributes as Record<string, unknown>)[k] !== undefined)).toEqual(['mpUnreach']);
  });

  it('packUpdates6 fills each message up to the limit and keeps MP_REACH_NLRI first (RFC 7606 §5.1)', () => {
    const section = encodeAttributes6({ origin: 0, asPath: [], nextHop: 'fd00:1::1', localPref: 100 }, ctx(false));
    expect(section[1]).toBe(14);
    const keys = Array.from({ length: 1000 }, (_, i) => parsePrefix6(`fd00:245::${i.toString(16)}:0/122`));
    const msgs = packUpdates6(section, keys, null, ctx(false));
    for (const m of msgs.slice(0, -1)) {
      expect(m.length).toBeLessThanOrEqual(4096);
      expect(m.length).toBeGreaterThan(4096 - 17);
    }
    const back = msgs.flatMap((m) => {
      const u = decodeMessage(m, ctx(false)) as UpdateMessage;
      const mp = u.attributes.mpReach!;
      return 'nlri' in mp && mp.afi === 2 ? mp.nlri.prefixes : [];
    });
    expect(back).toHaveLength(1000);
    expect(() => encodeAttributes6({ origin: 0, nextHop: '10.0.0.1' }, ctx(false))).toThrow(/IPv6 next hop/);
  });
});
