/**
 * The one wiring (src/agent/routing.ts) with a real Rib, fake sessions and a
 * fake kernel: session events reach the RIB, the RIB's output reaches the
 * sessions and the kernel, and a restarting speaker releases its stale
 * kernel routes only after every peer's End-of-RIB (RFC 4724 §4.1).
 */
import { describe, expect, it } from 'vitest';
import { Routing, type KernelPort } from '../../../src/agent/routing.js';
import { FakeSessions } from '../../helpers/fake-sessions.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import type { UpdateMessage } from '../../../src/bgp/codec/types.js';
import type { PeerConfig, Pool } from '../../../src/contracts.js';
import type { AlienRouteSource } from '../../../src/kernel/alien-routes.js';
import type { BestPathChange } from '../../../src/kernel/programmer.js';

class FakeKernel implements KernelPort {
  best = new Map<string, number | string | null>();
  released = 0;
  applyBestPaths(changes: Iterable<BestPathChange>): void {
    for (const c of changes) this.best.set(formatPrefix(c.key), c.nextHop);
  }
  releaseStale(): void {
    this.released++;
  }
}

const peer = (address: string): PeerConfig => ({
  name: `Mesh_${address.replaceAll('.', '_')}`,
  type: 'node-to-node mesh',
  address,
  port: 179,
  asNumber: 64512,
  passive: false,
  keepOriginalNextHop: false,
  restartTime: 120,
});

function update(prefix: string, nextHop: string): UpdateMessage {
  return {
    type: 'UPDATE',
    withdrawn: { keys: [], pathIds: null },
    attributes: { origin: 0, asPath: [], nextHop, localPref: 100 },
    nlri: { keys: [parsePrefix(prefix)], pathIds: null },
  } as unknown as UpdateMessage;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(restarting: boolean) {
  const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1', requestFlush: (f) => setImmediate(f) });
  const sessions = new FakeSessions();
  const kernel = new FakeKernel();
  const routing = new Routing({ rib, sessions, kernel, restarting });
  return { rib, sessions, kernel, routing };
}

describe('Routing: sessions -> RIB -> sessions and kernel', () => {
  it('a learned path reaches the kernel; our own route reaches a peer that comes up, then End-of-RIB', async () => {
    const { rib, sessions, kernel, routing } = setup(false);
    routing.setPeers([peer('10.0.0.2'), peer('10.0.0.3')]);
    expect(sessions.configured).toEqual(['Mesh_10_0_0_2', 'Mesh_10_0_0_3']);
    rib.setLocalRoutes(new Map([[parsePrefix('10.244.1.0/26'), {}]]));
    sessions.fire({ type: 'established', peer: 'Mesh_10_0_0_2' });
    expect(sessions.sent.at(-1)?.changes.map((c) => formatPrefix(c.key))).toEqual(['10.244.1.0/26']);
    expect(sessions.endOfRib).toEqual(['Mesh_10_0_0_2']);
    sessions.fire({ type: 'update', peer: 'Mesh_10_0_0_2', update: update('10.244.2.0/26', '10.0.0.2') });
    await turn();
    expect(kernel.best.get('10.244.2.0/26')).toBe('10.0.0.2');
    // A session that goes down without graceful restart withdraws its routes.
    sessions.fire({ type: 'down', peer: 'Mesh_10_0_0_2', graceful: false, restartTime: 0, reason: 'test' });
    await turn();
    expect(kernel.best.get('10.244.2.0/26')).toBeNull();
  });

  it('a soft reset (agent peers reset --soft) asks the peer for its routes and sends it our Adj-RIB-Out again, then End-of-RIB (RFC 2918)', async () => {
    const { rib, sessions, routing } = setup(false);
    routing.setPeers([peer('10.0.0.2'), peer('10.0.0.3')]);
    rib.setLocalRoutes(new Map([[parsePrefix('10.244.1.0/26'), {}]]));
    sessions.fire({ type: 'established', peer: 'Mesh_10_0_0_2' });
    sessions.fire({ type: 'established', peer: 'Mesh_10_0_0_3' });
    sessions.refreshCapable.add('Mesh_10_0_0_2');
    const sentBefore = sessions.sent.length;
    expect(routing.softReset('Mesh_10_0_0_2')).toEqual({ readvertised: 1 });
    expect(sessions.refreshRequested).toEqual(['Mesh_10_0_0_2']);
    expect(sessions.sent.slice(sentBefore).map((s) => [s.peer, s.changes.map((c) => formatPrefix(c.key))])).toEqual([['Mesh_10_0_0_2', ['10.244.1.0/26']]]);
    expect(sessions.endOfRib.at(-1)).toBe('Mesh_10_0_0_2');
    // Without the peer's Route Refresh capability nothing goes out at all.
    const eor = sessions.endOfRib.length;
    expect(routing.softReset('Mesh_10_0_0_3')).toBeNull();
    expect(sessions.sent.length).toBe(sentBefore + 1);
    expect(sessions.endOfRib.length).toBe(eor);
    expect(routing.softReset('Mesh_10_0_0_9')).toBeNull();
  });

  it('a restarting speaker releases stale routes only after every peer\'s End-of-RIB', async () => {
    const { sessions, kernel, routing } = setup(true);
    routing.setPeers([peer('10.0.0.2'), peer('10.0.0.3')]);
    sessions.fire({ type: 'established', peer: 'Mesh_10_0_0_2' });
    sessions.fire({ type: 'end-of-rib', peer: 'Mesh_10_0_0_2', afi: 1, safi: 1 });
    await turn();
    expect(kernel.released).toBe(0);
    expect(routing.restarting).toBe(true);
    sessions.fire({ type: 'end-of-rib', peer: 'Mesh_10_0_0_3', afi: 2, safi: 1 }); // IPv6's does not count
    await turn();
    expect(kernel.released).toBe(0);
    sessions.fire({ type: 'end-of-rib', peer: 'Mesh_10_0_0_3', afi: 1, safi: 1 });
    await turn();
    expect(kernel.released).toBe(1);
    expect(sessions.restartCompleted).toBe(1);
    expect(routing.restarting).toBe(false);
  });

  it('a peer removed while others are awaited no longer holds the release', async () => {
    const { sessions, kernel, routing } = setup(true);
    routing.setPeers([peer('10.0.0.2'), peer('10.0.0.3')]);
    sessions.fire({ type: 'end-of-rib', peer: 'Mesh_10_0_0_2', afi: 1, safi: 1 });
    routing.setPeers([peer('10.0.0.2')]);
    await turn();
    expect(kernel.released).toBe(1);
  });

  it('once detached (agent stopping), session downs do not reach the RIB: routes stay in the kernel', async () => {
    const { sessions, kernel, routing } = setup(false);
    routing.setPeers([peer('10.0.0.2')]);
    sessions.fire({ type: 'established', peer: 'Mesh_10_0_0_2' });
    sessions.fire({ type: 'update', peer: 'Mesh_10_0_0_2', update: update('10.244.2.0/26', '10.0.0.2') });
    await turn();
    routing.detach();
    sessions.fire({ type: 'down', peer: 'Mesh_10_0_0_2', graceful: false, restartTime: 0, reason: 'agent stopping' });
    await turn();
    expect(kernel.best.get('10.244.2.0/26')).toBe('10.0.0.2');
  });
});

describe('Routing logs what a datastore change did to the peers', () => {
  it('names the peers added and removed', () => {
    const lines: { msg: string; obj: Record<string, unknown> }[] = [];
    const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1' });
    const sessions = new FakeSessions();
    const routing = new Routing({ rib, sessions, logger: { info: (obj, msg) => lines.push({ msg: msg ?? "", obj: obj as Record<string, unknown> }), warn: () => undefined } });
    routing.setPeers([peer('10.0.0.2'), peer('10.0.0.3')]);
    routing.setPeers([peer('10.0.0.3'), peer('10.0.0.4')]);
    expect(lines.map((l) => [l.msg, l.obj.peers])).toEqual([
      ['peers added', ['Mesh_10_0_0_2', 'Mesh_10_0_0_3']],
      ['peers added', ['Mesh_10_0_0_4']],
      ['peers removed', ['Mesh_10_0_0_2']],
    ]);
  });
});

/** A stand-in for the kernel's alien routes (src/kernel/netlink-alien-routes.ts): set them, and subscribers hear. */
class FakeAlienRoutes implements AlienRouteSource {
  private current = new Set<number>();
  private readonly fns = new Set<(p: ReadonlySet<number>) => void>();
  prefixes(): ReadonlySet<number> {
    return this.current;
  }
  subscribe(fn: (p: ReadonlySet<number>) => void): () => void {
    this.fns.add(fn);
    return () => this.fns.delete(fn);
  }
  set(...cidrs: string[]): void {
    this.current = new Set(cidrs.map((c) => parsePrefix(c)));
    for (const fn of this.fns) fn(this.current);
  }
}

describe('Routing: borrowed addresses (BIRD kernel learn + confd calico_aggr)', () => {
  const block = { cidr: '10.244.1.0/26', state: 'confirmed' as const };
  const pool = { name: 'default-ipv4-ippool', cidr: '10.244.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 } as Pool;
  const own = { routes: new Map([[parsePrefix('10.244.1.0/26'), {}]]), blocks: [block], pools: [pool] };
  const advertised = (sessions: FakeSessions): Map<string, boolean> => {
    const out = new Map<string, boolean>();
    for (const s of sessions.sent) for (const c of s.changes) out.set(formatPrefix(c.key), c.attrs !== null);
    return out;
  };

  it('an alien /32 in a pool outside our blocks is announced and withdrawn with the kernel route; one inside our block or outside every pool is not', async () => {
    const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1', requestFlush: (f) => setImmediate(f) });
    const sessions = new FakeSessions();
    const alien = new FakeAlienRoutes();
    alien.set('10.244.9.5/32'); // there before the wiring (added before the agent started)
    const routing = new Routing({ rib, sessions, alienRoutes: alien });
    routing.setPeers([peer('10.0.0.2')]);
    routing.setLocalRoutes(own);
    sessions.fire({ type: 'established', peer: 'Mesh_10_0_0_2' });
    expect([...advertised(sessions).keys()].sort()).toEqual(['10.244.1.0/26', '10.244.9.5/32']);
    expect(rib.lookup(parsePrefix('10.244.9.5/32')).best?.peer).toBeNull(); // our own route: next hop self
    alien.set('10.244.9.5/32', '10.244.1.7/32', '192.168.7.1/32', '10.244.9.6/32');
    await turn();
    const a = advertised(sessions);
    expect(a.get('10.244.9.6/32')).toBe(true);
    expect(a.has('10.244.1.7/32')).toBe(false); // covered by our block
    expect(a.has('192.168.7.1/32')).toBe(false); // in no pool
    expect(routing.borrowed().map(formatPrefix).sort()).toEqual(['10.244.9.5/32', '10.244.9.6/32']);
    alien.set('10.244.9.6/32');
    await turn();
    expect(advertised(sessions).get('10.244.9.5/32')).toBe(false); // withdrawn
    expect(rib.lookup(parsePrefix('10.244.9.5/32')).best).toBeNull();
  });

  it('follows the blocks: a block that becomes ours covers the address; a disableBGPExport pool exports none; communities come from routeOf', async () => {
    const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1', requestFlush: (f) => setImmediate(f) });
    const sessions = new FakeSessions();
    const alien = new FakeAlienRoutes();
    const routing = new Routing({ rib, sessions, alienRoutes: alien });
    routing.setLocalRoutes({ ...own, routeOf: () => ({ communities: [0xfde80001] }) });
    alien.set('10.244.9.5/32');
    expect(rib.lookup(parsePrefix('10.244.9.5/32')).best?.attrs.attrs.communities).toEqual([0xfde80001]);
    routing.setLocalRoutes({ ...own, blocks: [block, { cidr: '10.244.9.0/26', state: 'confirmed' }] });
    expect(rib.lookup(parsePrefix('10.244.9.5/32')).best).toBeNull();
    routing.setLocalRoutes({ ...own, blocks: [block, { cidr: '10.244.9.0/26', state: 'pending' }] });
    expect(rib.lookup(parsePrefix('10.244.9.5/32')).best?.peer).toBeNull(); // a pending block covers nothing
    routing.setLocalRoutes({ ...own, pools: [{ ...pool, disableBGPExport: true }] });
    expect(rib.lookup(parsePrefix('10.244.9.5/32')).best).toBeNull();
    routing.detach();
    routing.setLocalRoutes(own);
    alien.set('10.244.9.5/32', '10.244.9.9/32');
    expect(rib.lookup(parsePrefix('10.244.9.9/32')).best).toBeNull(); // a detached wiring no longer listens
  });
});
