/**
 * ECMP kernel routes (BIRD's kernel `merge paths on`, as confd renders it):
 * one multipath route over every next hop, each next hop in the form its
 * single-path route has (tunl0 onlink for an IPIP pool), in ascending address
 * order, weight 1; one replace per change (no delete in between); the
 * rtnetlink bytes round-trip and `ip route`'s text form parses back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import type { NodeIdentity, Pool } from '../../../src/contracts.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { formatRoute, routeSatisfies, type KernelRoute } from '../../../src/kernel/route.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';
import { messages, parseRoute, routeMessageLength, writeRouteMessage } from '../../../src/kernel/netlink/rtnetlink.js';
import { ipBatchLine, parseIpRouteLine } from '../../../src/kernel/ip-batch-backend.js';

const P = parsePrefix;
const node: NodeIdentity = { name: 'node-a', ipv4: '10.10.20.5', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.10.20.5' };
const pools: Pool[] = [
  { name: 'ipip', cidr: '192.168.0.0/16', ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 },
  { name: 'vx', cidr: '10.9.0.0/16', ipipMode: 'Never', vxlanMode: 'Always', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 },
];
const ecmp: KernelRoute = {
  prefix: P('192.168.30.0/26'),
  type: 'unicast',
  onlink: false,
  metric: 0,
  nexthops: [
    { gateway: parseIpv4('10.10.20.3'), dev: 'tunl0', onlink: true },
    { gateway: parseIpv4('10.10.20.4'), dev: 'tunl0', onlink: true },
  ],
};
const BIRD_FORM = '192.168.30.0/26 proto bird nexthop via 10.10.20.3 dev tunl0 weight 1 onlink nexthop via 10.10.20.4 dev tunl0 weight 1 onlink';

let current: KernelProgrammer | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

/** A started programmer on the memory backend (eth0 in 10.10.20.0/24, tunl0), node-a and the pools above. */
async function started(): Promise<{ backend: MemoryBackend; programmer: KernelProgrammer }> {
  const backend = new MemoryBackend({ links: { eth0: [P('10.10.20.0/24')], tunl0: [] } });
  const programmer = new KernelProgrammer({ backend, scheduler: new ManualScheduler(), initialHoldMs: 0 });
  current = programmer;
  programmer.setNode(node);
  programmer.setPools(pools);
  await programmer.start();
  return { backend, programmer };
}

describe('ECMP routes in the programmer', () => {
  it('programs one multipath route in BIRD\'s form, then a single route by one replace when a next hop goes', async () => {
    const { backend, programmer } = await started();
    // Next hops arrive in any order; the route lists them ascending, as BIRD does.
    programmer.applyBestPaths([{ key: P('192.168.30.0/26'), nextHop: '10.10.20.4', nextHops: ['10.10.20.4', '10.10.20.3'] }]);
    await programmer.idle();
    expect(backend.show()).toEqual([BIRD_FORM]);
    backend.log.length = 0;
    programmer.applyBestPaths([{ key: P('192.168.30.0/26'), nextHop: '10.10.20.4' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['192.168.30.0/26 via 10.10.20.4 dev tunl0 proto bird onlink']);
    expect(backend.log.map((o) => o.op)).toEqual(['replace']);
    // And back: a second path joins, again one replace.
    backend.log.length = 0;
    programmer.applyBestPaths([{ key: P('192.168.30.0/26'), nextHop: '10.10.20.4', nextHops: ['10.10.20.3', '10.10.20.4'] }]);
    await programmer.idle();
    expect(backend.show()).toEqual([BIRD_FORM]);
    expect(backend.log.map((o) => o.op)).toEqual(['replace']);
    // A rescan finds it as it should be: nothing to do.
    backend.log.length = 0;
    await programmer.scanNow();
    await programmer.idle();
    expect(backend.log).toEqual([]);
  });

  it('programs nothing for a multipath prefix in a VXLAN pool (Felix\'s), and forgets the next hops on a withdraw', async () => {
    const { backend, programmer } = await started();
    programmer.applyBestPaths([{ key: P('10.9.1.0/26'), nextHop: '10.10.20.4', nextHops: ['10.10.20.3', '10.10.20.4'] }]);
    programmer.applyBestPaths([{ key: P('192.168.30.0/26'), nextHop: '10.10.20.4', nextHops: ['10.10.20.3', '10.10.20.4'] }]);
    programmer.applyBestPaths([{ key: P('192.168.30.0/26'), nextHop: null }]);
    await programmer.idle();
    expect(backend.show()).toEqual([]);
  });
});

describe('ECMP routes on the wire and in text', () => {
  it('RTA_MULTIPATH round-trips: rtnexthop per hop with RTNH_F_ONLINK and its interface index', () => {
    const req = { route: ecmp, protocol: 12, oifs: [7, 7] };
    const buf = Buffer.alloc(routeMessageLength(req, false));
    const end = writeRouteMessage(buf, 0, req, false, 1);
    expect(end).toBe(buf.length);
    const d = parseRoute(buf, [...messages(buf)][0])!;
    expect(d.route.type).toBe('unicast');
    expect(d.route.nexthops).toEqual([
      { gateway: parseIpv4('10.10.20.3'), onlink: true },
      { gateway: parseIpv4('10.10.20.4'), onlink: true },
    ]);
    expect(d.oifs).toEqual([7, 7]);
    // A delete names no next hops (the prefix and protocol pick our route).
    expect(routeMessageLength(req, true)).toBeLessThan(routeMessageLength(req, false));
  });

  it('formats as ip route prints it, and ip -batch writes and parses the same form', () => {
    expect(formatRoute(ecmp)).toBe(BIRD_FORM);
    expect(ipBatchLine({ op: 'replace', route: ecmp })).toBe('route replace 192.168.30.0/26 proto bird table main nexthop via 10.10.20.3 dev tunl0 weight 1 onlink nexthop via 10.10.20.4 dev tunl0 weight 1 onlink');
    const parsed = parseIpRouteLine('192.168.30.0/26 proto bird \tnexthop via 10.10.20.3 dev tunl0 weight 1 onlink \tnexthop via 10.10.20.4 dev tunl0 weight 1 onlink')!;
    expect(routeSatisfies(parsed.route, ecmp)).toBe(true);
  });

  it('a multipath route satisfies only the same next hops in the same order; a single route never satisfies it', () => {
    const swapped = { ...ecmp, nexthops: [ecmp.nexthops![1], ecmp.nexthops![0]] };
    expect(routeSatisfies(ecmp, ecmp)).toBe(true);
    expect(routeSatisfies(swapped, ecmp)).toBe(false);
    expect(routeSatisfies({ ...ecmp, nexthops: [ecmp.nexthops![0]] }, ecmp)).toBe(false);
    const single: KernelRoute = { prefix: ecmp.prefix, type: 'unicast', gateway: parseIpv4('10.10.20.3'), dev: 'tunl0', onlink: true, metric: 0 };
    expect(routeSatisfies(single, ecmp)).toBe(false);
    expect(routeSatisfies(ecmp, single)).toBe(false);
    expect(routeSatisfies({ ...ecmp, nexthops: [{ ...ecmp.nexthops![0], onlink: false }, ecmp.nexthops![1]] }, ecmp)).toBe(false);
  });
});
