/**
 * Two Speakers peer over loopback (127.0.0.1 <-> 127.0.0.2, random ports)
 * and exchange routes both ways; an unknown source is refused.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerConfig } from '../../../src/datastore/desired.js';
import { Speaker } from '../../../src/bgp/session/index.js';
import type { SessionEvent } from '../../../src/bgp/route.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import { until } from '../../helpers/wait.js';

function peerConfig(name: string, address: string, port: number, source: string, passive: boolean): PeerConfig {
  return {
    name,
    type: 'node-to-node mesh',
    address,
    port,
    asNumber: 64512,
    passive,
    sourceAddress: source,
    keepOriginalNextHop: false,
    restartTime: 120,
  };
}


const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop({ graceful: false });
});

describe('two speakers over loopback', () => {
  it('establish (one passive, one active) and exchange routes both ways', async () => {
    const a = new Speaker({ asNumber: 64512, routerId: '127.0.0.1', listenAddress: '127.0.0.1', listenPort: 0, fsm: { connectDelayTime: 0 } });
    const b = new Speaker({ asNumber: 64512, routerId: '127.0.0.2', listenAddress: '127.0.0.2', listenPort: 0, fsm: { connectDelayTime: 0 } });
    speakers.push(a, b);
    const portA = (await a.start())!;
    const portB = (await b.start())!;
    const eventsA: SessionEvent[] = [];
    const eventsB: SessionEvent[] = [];
    a.on('event', (e) => eventsA.push(e));
    b.on('event', (e) => eventsB.push(e));
    // Calico's rule: the greater IP connects, the smaller is passive towards it.
    a.setPeers([peerConfig('Mesh_127_0_0_2', '127.0.0.2', portB, '127.0.0.1', true)]);
    b.setPeers([peerConfig('Mesh_127_0_0_1', '127.0.0.1', portA, '127.0.0.2', false)]);
    await until('established', () => eventsA.some((e) => e.type === 'established') && eventsB.some((e) => e.type === 'established'));

    const sa = a.status()[0];
    expect(sa.state).toBe('Established');
    expect(sa.birdState).toBe('up');
    expect(sa.remoteRouterId).toBe('127.0.0.2');
    expect(sa.holdTime).toBe(240);
    expect(sa.keepaliveTime).toBe(80);
    expect(sa.capabilities).toEqual(expect.arrayContaining(['as4', 'route-refresh', 'graceful-restart 120s']));
    expect(sa.localAddress).toBe('127.0.0.1');

    const attrsA = { id: 1, attrs: { origin: 0 as const, asPath: [], nextHop: '127.0.0.1', localPref: 100 } };
    const attrsB = { id: 7, attrs: { origin: 0 as const, asPath: [], nextHop: '127.0.0.2', localPref: 100 } };
    const fromA = [parsePrefix('10.1.0.0/26'), parsePrefix('10.1.0.64/26')];
    const fromB = [parsePrefix('10.2.0.0/26')];
    a.enqueue('Mesh_127_0_0_2', fromA.map((key) => ({ key, pathId: 0, attrs: attrsA })));
    a.sendEndOfRib('Mesh_127_0_0_2');
    b.enqueue('Mesh_127_0_0_1', fromB.map((key) => ({ key, pathId: 0, attrs: attrsB })));
    b.sendEndOfRib('Mesh_127_0_0_1');

    const received = (events: SessionEvent[]) =>
      events.flatMap((e) => (e.type === 'update' ? e.update.nlri.keys.map(formatPrefix) : []));
    await until('routes at b', () => eventsB.some((e) => e.type === 'end-of-rib'));
    await until('routes at a', () => eventsA.some((e) => e.type === 'end-of-rib'));
    expect(received(eventsB).sort()).toEqual(['10.1.0.0/26', '10.1.0.64/26']);
    expect(received(eventsA)).toEqual(['10.2.0.0/26']);
    const nh = eventsB.find((e) => e.type === 'update');
    expect(nh?.type === 'update' && nh.update.attributes.nextHop).toBe('127.0.0.1');
    expect(a.status()[0].counters.prefixesAdvertised).toBe(2);
    expect(b.status()[0].counters.prefixesReceived).toBe(2);

    // Withdraw one and see it arrive.
    a.enqueue('Mesh_127_0_0_2', [{ key: fromA[0], pathId: 0, attrs: null }]);
    await until('withdrawal at b', () =>
      eventsB.some((e) => e.type === 'update' && e.update.withdrawn.keys.includes(fromA[0])),
    );
    expect(b.status()[0].counters.withdrawnReceived).toBe(1);

    // Route refresh: b asks, a reports it.
    b.requestRefresh('Mesh_127_0_0_1');
    await until('route-refresh at a', () => eventsA.some((e) => e.type === 'route-refresh'));

    // Removing the peer at a sends Cease 3; b reports it in words.
    a.setPeers([]);
    await until('down at b', () => eventsB.some((e) => e.type === 'down'));
    const down = eventsB.find((e) => e.type === 'down');
    expect(down?.type === 'down' && down.graceful).toBe(false);
    expect(b.status()[0].lastError).toMatch(/^Received NOTIFICATION 6\/3 .*"peer removed from configuration"/);
  });

  it('says "Connect: connection refused" when nothing listens at the peer', async () => {
    const a = new Speaker({ asNumber: 64512, routerId: '127.0.0.1', noListen: true, fsm: { connectDelayTime: 0 } });
    speakers.push(a);
    const probe = net.createServer();
    const freePort = await new Promise<number>((r) => probe.listen(0, '127.0.0.4', () => r((probe.address() as net.AddressInfo).port)));
    await new Promise((r) => probe.close(r));
    a.setPeers([peerConfig('Mesh_127_0_0_4', '127.0.0.4', freePort, '127.0.0.1', false)]);
    await until('refusal', () => a.status()[0].lastError);
    expect(a.status()[0]).toMatchObject({ lastError: 'Connect: connection refused', state: 'Active', birdState: 'start' });
  });

  it('refuses a connection from an address that is not a configured peer', async () => {
    const a = new Speaker({ asNumber: 64512, routerId: '127.0.0.1', listenAddress: '127.0.0.1', listenPort: 0 });
    speakers.push(a);
    const port = (await a.start())!;
    a.setPeers([peerConfig('Mesh_127_0_0_9', '127.0.0.9', 179, '127.0.0.1', true)]);
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
      s.on('error', () => {});
      s.on('close', () => resolve(true));
      s.on('data', () => resolve(false));
    });
    expect(closed).toBe(true);
    expect(a.rejectedSources().get('127.0.0.3')).toBe(1);
  });
});
