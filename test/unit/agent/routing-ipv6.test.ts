/**
 * The wiring's IPv6 side (issue 19): IPv6 peers go to a second RIB of the
 * same kind, their MP_REACH routes reach the kernel through
 * applyBestPaths6 via the global next hop, this node's IPv6 blocks go to
 * IPv6 peers with its IPv6 address as next hop, and IPv4 is not disturbed.
 */
import { describe, expect, it } from 'vitest';
import { Routing, type KernelPort } from '../../../src/agent/routing.js';
import { FakeSessions } from '../../helpers/fake-sessions.js';
import { Rib } from '../../../src/bgp/rib/rib.js';
import { formatPrefix } from '../../../src/bgp/prefix.js';
import { formatAddress6, formatPrefix6, isPrefix6 } from '../../../src/bgp/prefix6.js';
import type { UpdateMessage } from '../../../src/bgp/codec/types.js';
import type { PeerConfig, Pool } from '../../../src/contracts.js';
import type { BestPathChange, BestPathChange6 } from '../../../src/kernel/programmer.js';

class FakeKernel implements KernelPort {
  best = new Map<string, string | null>();
  best6 = new Map<string, string | null>();
  applyBestPaths(changes: Iterable<BestPathChange>): void {
    for (const c of changes) this.best.set(formatPrefix(c.key), c.nextHop === null ? null : String(c.nextHop));
  }
  applyBestPaths6(changes: Iterable<BestPathChange6>): void {
    for (const c of changes) {
      expect(typeof c.prefix === 'number' && isPrefix6(c.prefix)).toBe(true);
      const nh = c.nextHop === null ? null : typeof c.nextHop === 'number' ? formatAddress6(c.nextHop) : c.nextHop;
      this.best6.set(formatPrefix6(c.prefix as number), nh);
    }
  }
  releaseStale(): void {}
}

const peer = (address: string, extra: Partial<PeerConfig> = {}): PeerConfig => ({
  name: `Mesh_${address.replaceAll('.', '_').replaceAll(':', '_')}`,
  type: 'node-to-node mesh',
  address,
  port: 179,
  asNumber: 64512,
  passive: false,
  keepOriginalNextHop: false,
  restartTime: 120,
  ...extra,
});

function reach6(prefixes: string[], pathIds: number[] | null = null): UpdateMessage {
  return {
    type: 'UPDATE',
    withdrawn: { keys: [], pathIds: null },
    attributes: { origin: 0, asPath: [], localPref: 100, mpReach: { afi: 2, safi: 1, nextHops: ['fd00:1::2', 'fe80::2'], nlri: { prefixes, pathIds } } },
    nlri: { keys: [], pathIds: null },
  };
}

const pool6: Pool = { name: 'v6', cidr: 'fd00:245::/64', ipipMode: 'Never', vxlanMode: 'Never', disableBGPExport: false, disabled: false, blockSize: 122 } as Pool;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup() {
  const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1', requestFlush: (f) => setImmediate(f) });
  const sessions = new FakeSessions(true);
  const kernel = new FakeKernel();
  const routing = new Routing({ rib, sessions, kernel });
  return { rib, sessions, kernel, routing };
}

describe('routing: IPv6', () => {
  it('without an IPv6 address of this node an IPv6 peer is refused with the reason, the IPv4 ones run', () => {
    const { sessions, routing } = setup();
    routing.setPeers([peer('10.0.0.2'), peer('fd00:1::2')]);
    expect(sessions.configured).toEqual(['Mesh_10_0_0_2']);
    expect(routing.refusedPeers().map((r) => r.reason)).toEqual([expect.stringMatching(/^IPv6 peer not started: this node has no IPv6 address/)]);
    expect(routing.rib6).toBeNull();
  });

  it('IPv6 peers use the IPv6 RIB: their routes reach the kernel via the global next hop, own blocks go out with our IPv6 address', async () => {
    const { rib, sessions, kernel, routing } = setup();
    routing.setIpv6({ localAddress: 'fd00:1::1', blocks: [{ cidr: 'fd00:245::1:0/122', state: 'confirmed' }], pools: [pool6] });
    routing.setPeers([peer('10.0.0.2'), peer('fd00:1::2'), peer('fd00:1::3')]);
    expect(sessions.configured).toEqual(['Mesh_10_0_0_2', 'Mesh_fd00_1__2', 'Mesh_fd00_1__3']);
    expect(routing.refusedPeers()).toEqual([]);
    sessions.fire({ type: 'established', peer: 'Mesh_fd00_1__2' });
    const initial = sessions.sent.find((s) => s.peer === 'Mesh_fd00_1__2')!.changes;
    expect(initial.map((c) => [formatPrefix6(c.key), c.attrs?.attrs.nextHop])).toEqual([['fd00:245::1:0/122', 'fd00:1::1']]);
    expect(sessions.endOfRib).toEqual(['Mesh_fd00_1__2']);
    sessions.fire({ type: 'established', peer: 'Mesh_fd00_1__3' });
    sessions.fire({ type: 'update', peer: 'Mesh_fd00_1__2', update: reach6(['fd00:245::40/122'], [1]) });
    await turn();
    expect(kernel.best6.get('fd00:245::40/122')).toBe('fd00:1::2');
    expect(kernel.best.size).toBe(0);
    expect([...rib.prefixes()]).toEqual([]); // the IPv4 RIB holds none of it
    // Reflected? No: iBGP to iBGP is not passed on without RR; the RR case is the RIB's (test/unit/rib/ipv6.test.ts).
    sessions.fire({ type: 'down', peer: 'Mesh_fd00_1__2', graceful: false, restartTime: 0, reason: 'test' });
    await turn();
    expect(kernel.best6.get('fd00:245::40/122')).toBeNull();
  });

  it('End-of-RIB and route refresh of an IPv6 session are AFI 2', async () => {
    const { sessions, routing } = setup();
    routing.setIpv6({ localAddress: 'fd00:1::1', blocks: [{ cidr: 'fd00:245::1:0/122', state: 'confirmed' }], pools: [pool6] });
    routing.setPeers([peer('fd00:1::2')]);
    sessions.fire({ type: 'established', peer: 'Mesh_fd00_1__2' });
    sessions.sent.length = 0;
    sessions.fire({ type: 'route-refresh', peer: 'Mesh_fd00_1__2', afi: 1, safi: 1 });
    expect(sessions.sent).toEqual([]);
    sessions.fire({ type: 'route-refresh', peer: 'Mesh_fd00_1__2', afi: 2, safi: 1 });
    expect(sessions.sent.map((s) => s.changes.map((c) => formatPrefix6(c.key)))).toEqual([['fd00:245::1:0/122']]);
  });

  it('a new IPv6 block is announced and a released one withdrawn; blocks change without touching IPv4', async () => {
    const { sessions, routing } = setup();
    routing.setIpv6({ localAddress: 'fd00:1::1', blocks: [], pools: [pool6] });
    routing.setPeers([peer('fd00:1::2'), peer('10.0.0.2')]);
    sessions.fire({ type: 'established', peer: 'Mesh_fd00_1__2' });
    sessions.fire({ type: 'established', peer: 'Mesh_10_0_0_2' });
    sessions.sent.length = 0;
    routing.setIpv6({ localAddress: 'fd00:1::1', blocks: [{ cidr: 'fd00:245::2:0/122', state: 'confirmed' }], pools: [pool6] });
    await turn();
    expect(sessions.sent.map((s) => [s.peer, s.changes.map((c) => [formatPrefix6(c.key), c.attrs !== null])])).toEqual([['Mesh_fd00_1__2', [['fd00:245::2:0/122', true]]]]);
    sessions.sent.length = 0;
    routing.setIpv6({ localAddress: 'fd00:1::1', blocks: [], pools: [pool6] });
    await turn();
    expect(sessions.sent.map((s) => [s.peer, s.changes.map((c) => [formatPrefix6(c.key), c.attrs !== null])])).toEqual([['Mesh_fd00_1__2', [['fd00:245::2:0/122', false]]]]);
  });

  it('IPv6 peers refused before the node IPv6 address was known start once it is, IPv4 sessions untouched', () => {
    const { sessions, routing } = setup();
    routing.setPeers([peer('10.0.0.2'), peer('fd00:1::2')]);
    expect(sessions.configured).toEqual(['Mesh_10_0_0_2']);
    routing.setIpv6({ localAddress: 'fd00:1::1', blocks: [], pools: [pool6] });
    expect(sessions.configured).toEqual(['Mesh_10_0_0_2', 'Mesh_fd00_1__2']);
    expect(routing.refusedPeers()).toEqual([]);
  });

  it('a new node IPv6 address while running: our IPv6 routes and next-hop-self exports carry it once the IPv6 sessions are back, IPv4 untouched', async () => {
    const { sessions, routing } = setup();
    const block = { cidr: 'fd00:245::1:0/122', state: 'confirmed' as const };
    routing.setIpv6({ localAddress: 'fd00:1::1', blocks: [block], pools: [pool6] });
    const ebgp6 = peer('fd00:1::9', { name: 'Global_fd00_1__9', type: 'global', asNumber: 65009, sourceAddress: 'fd00:1::1' });
    const v4 = peer('10.0.0.2', { sourceAddress: '10.0.0.1' });
    routing.setPeers([v4, peer('fd00:1::2', { sourceAddress: 'fd00:1::1' }), ebgp6]);
    for (const name of ['Mesh_10_0_0_2', 'Mesh_fd00_1__2', 'Global_fd00_1__9']) sessions.fire({ type: 'established', peer: name });
    // A route learned over iBGP goes out to the eBGP peer with next hop self.
    sessions.fire({ type: 'update', peer: 'Mesh_fd00_1__2', update: reach6(['fd00:245::40/122']) });
    await turn();
    const toEbgp = (): string[] => sessions.sent.filter((x) => x.peer === 'Global_fd00_1__9').flatMap((x) => x.changes.map((c) => `${formatPrefix6(c.key)} ${c.attrs?.attrs.nextHop}`)).sort();
    expect(toEbgp()).toEqual(['fd00:245::1:0/122 fd00:1::1', 'fd00:245::40/122 fd00:1::1']);
    // The agent's order on a Node change: the peers (their source address) first, then the local state.
    routing.setPeers([v4, peer('fd00:1::2', { sourceAddress: 'fd00:2::1' }), { ...ebgp6, sourceAddress: 'fd00:2::1' }]);
    routing.setIpv6({ localAddress: 'fd00:2::1', blocks: [block], pools: [pool6] });
    expect(routing.rib6?.me.localAddress).toBe('fd00:2::1');
    for (const name of ['Mesh_fd00_1__2', 'Global_fd00_1__9']) sessions.fire({ type: 'down', peer: name, graceful: false, restartTime: 0, reason: 'Cease 6: source address changed' });
    await turn();
    sessions.sent.length = 0;
    for (const name of ['Mesh_fd00_1__2', 'Global_fd00_1__9']) sessions.fire({ type: 'established', peer: name });
    sessions.fire({ type: 'update', peer: 'Mesh_fd00_1__2', update: reach6(['fd00:245::40/122']) });
    await turn();
    expect(toEbgp()).toEqual(['fd00:245::1:0/122 fd00:2::1', 'fd00:245::40/122 fd00:2::1']);
    const toMesh6 = sessions.sent.filter((x) => x.peer === 'Mesh_fd00_1__2').flatMap((x) => x.changes.map((c) => c.attrs?.attrs.nextHop));
    expect(toMesh6).toEqual(['fd00:2::1']);
    // IPv4: nothing was sent to the IPv4 peer and its RIB still says 10.0.0.1.
    expect(sessions.sent.filter((x) => x.peer === 'Mesh_10_0_0_2')).toEqual([]);
    expect(routing.rib.me.localAddress).toBe('10.0.0.1');
  });

  it('an IPv6 peer with a source address but no node IPv6 address uses it as next hop', () => {
    const { sessions, routing } = setup();
    routing.setPeers([peer('fd00:1::2', { sourceAddress: 'fd00:1::1' })]);
    expect(sessions.configured).toEqual(['Mesh_fd00_1__2']);
    expect(routing.rib6?.me.localAddress).toBe('fd00:1::1');
  });
});
