/**
 * `agent peers reset --soft` end to end on loopback (issue 23): a real agent
 * session to a minimal scripted BGP peer (the codec's messages over TCP). A
 * peer that advertised Route Refresh gets a ROUTE-REFRESH, then our routes
 * again and End-of-RIB, on the same connection; one that did not is refused
 * with a reason and sent nothing (RFC 2918 §4).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from '../../../src/agent/control.js';
import { DEFAULT_CONTEXT, Framer, decodeMessage, encodeMessage, type BgpMessage, type Capability } from '../../../src/bgp/codec/index.js';
import type { DesiredState, PeerConfig } from '../../../src/contracts.js';
import { FakeDatastore, startAgent, stopAgents } from '../../helpers/agent.js';
import { until } from '../../helpers/wait.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await stopAgents();
  for (const s of servers.splice(0)) s.close();
});

/** A BGP peer on 127.0.0.2 that answers OPEN with its own (these capabilities) and KEEPALIVEs, and records what it gets. */
async function scriptedPeer(capabilities: Capability[]): Promise<{ port: number; got: BgpMessage[]; connections: number }> {
  const state = { port: 0, got: [] as BgpMessage[], connections: 0 };
  const server = net.createServer((socket) => {
    state.connections++;
    const framer = new Framer();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const raw of framer.push(chunk)) {
        const msg = decodeMessage(raw, { ...DEFAULT_CONTEXT, as4: true });
        state.got.push(msg);
        if (msg.type === 'OPEN') {
          socket.write(encodeMessage({ type: 'OPEN', version: 4, myAs: 64512, holdTime: 90, bgpId: '127.0.0.2', capabilities }, DEFAULT_CONTEXT));
          socket.write(encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT));
        } else if (msg.type === 'KEEPALIVE') socket.write(encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT));
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

const base: Capability[] = [
  { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
  { code: 65, name: 'as4', asn: 64512 },
];

async function bed(capabilities: Capability[]) {
  const peer = await scriptedPeer(capabilities);
  const config: PeerConfig = { name: 'Global_127_0_0_2', type: 'global', address: '127.0.0.2', port: peer.port, asNumber: 64512, passive: false, keepOriginalNextHop: false, restartTime: 120 };
  const state: DesiredState = {
    node: { name: 'node-a', ipv4: '127.0.0.1', ipv4PrefixLen: 8, asNumber: 64512, routerId: '127.0.0.1' },
    bgp: { nodeToNodeMeshEnabled: false, listenPort: 179, prefixAdvertisements: [] },
    peers: new Map([[`127.0.0.2:${peer.port}`, config]]),
    blocks: new Map([['10.244.9.0/26', { cidr: '10.244.9.0/26', state: 'confirmed', blackhole: true, exported: true }]]),
    pools: new Map(),
  };
  const ds = new FakeDatastore();
  const { agent, socket } = await startAgent(ds);
  ds.emit(state);
  await until('session Established', () => agent.snapshot().peers[0]?.bgpState === 'Established', 15_000);
  await until('our block and End-of-RIB sent', () => peer.got.filter((m) => m.type === 'UPDATE').length >= 2, 5000);
  return { agent, peer, ask: (extra: Record<string, unknown>) => controlRequest(socket, { cmd: 'peer-reset', ...extra }) };
}

const updates = (got: BgpMessage[]) => got.filter((m) => m.type === 'UPDATE').length;

describe('agent peers reset --soft against a live session', () => {
  it('sends ROUTE-REFRESH, then our route and End-of-RIB again, on the same connection', async () => {
    const b = await bed([...base, { code: 2, name: 'route-refresh' }]);
    const since = b.agent.snapshot().peers[0].since;
    const before = updates(b.peer.got);
    expect(await b.ask({ peer: '127.0.0.2', soft: true })).toEqual({
      peers: [{ name: 'Global_127_0_0_2', done: 'ROUTE-REFRESH sent; 1 route(s) re-advertised; session kept' }],
    });
    await until('the re-advertisement', () => updates(b.peer.got) >= before + 2, 5000);
    const refresh = b.peer.got.find((m) => m.type === 'ROUTE-REFRESH');
    expect(refresh).toMatchObject({ afi: 1, safi: 1, subtype: 0 });
    expect(updates(b.peer.got.slice(0, b.peer.got.indexOf(refresh!)))).toBe(before); // it precedes the re-sent UPDATEs
    expect(b.peer.connections).toBe(1);
    expect(b.agent.snapshot().peers[0]).toMatchObject({ bgpState: 'Established', since });
    expect(b.peer.got.some((m) => m.type === 'NOTIFICATION')).toBe(false);
  }, 30_000);

  it('refuses when the peer did not advertise Route Refresh, and sends nothing', async () => {
    const b = await bed(base);
    const count = b.peer.got.length;
    await expect(b.ask({ peer: 'Global_127_0_0_2', soft: true })).rejects.toThrow(
      'Global_127_0_0_2 did not advertise the Route Refresh capability (RFC 2918): no soft reset possible; `agent peers reset Global_127_0_0_2` resets the session',
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(b.peer.got.slice(count).filter((m) => m.type !== 'KEEPALIVE')).toEqual([]);
    expect(b.agent.snapshot().peers[0].bgpState).toBe('Established');
  }, 30_000);
});
