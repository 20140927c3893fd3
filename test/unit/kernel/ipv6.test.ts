/**
 * IPv6 in the kernel programmer (issue 19): interned prefix ids, desired
 * route forms as BIRD 2 installs them, the rtnetlink AF_INET6 wire form, the
 * `ip -6` batch lines, and reconcile / adoption / repair / foreign routes for
 * the IPv6 table with the memory backend.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import {
  address6FromBytes,
  canonicalCidr6,
  formatAddress6,
  formatPrefix6,
  isPrefix6,
  parseAddress6,
  parsePrefix6,
  prefix6Covers,
  prefix6FromNlri,
  prefix6Key,
  prefix6Length,
  prefix6Word,
} from '../../../src/bgp/prefix6.js';
import type { LocalBlock, NodeIdentity, Pool } from '../../../src/datastore/desired.js';
import { blockRoute, computeDesiredRoutes, RouteContext } from '../../../src/kernel/desired-routes.js';
import { ipBatchLine, parseIpRoute6Line } from '../../../src/kernel/ip-batch-backend.js';
import { MemoryBackend } from '../../../src/kernel/memory-backend.js';
import { AF_INET6, messages, parseRoute, routeMessageLength, RTM_DELROUTE, writeRouteMessage } from '../../../src/kernel/netlink/rtnetlink.js';
import { KernelProgrammer } from '../../../src/kernel/programmer.js';
import { blackholeRoute, formatRoute, gatewayRoute, type KernelRoute } from '../../../src/kernel/route.js';
import { ManualScheduler } from '../../../src/kernel/scheduler.js';

const P6 = parsePrefix6;
const A6 = parseAddress6;

describe('IPv6 prefix ids', () => {
  it('interns: the same prefix is the same negative id, host bits cleared, disjoint from IPv4 keys', () => {
    const a = P6('fd00:245::/122');
    expect(a).toBeLessThan(0);
    expect(isPrefix6(a)).toBe(true);
    expect(isPrefix6(parsePrefix('10.0.0.0/8'))).toBe(false);
    expect(P6('FD00:0245:0::/122')).toBe(a);
    expect(P6('fd00:245::3f/122', true)).toBe(a);
    expect(prefix6Key(0xfd000245, 0, 0, 0x3f, 122)).toBe(a);
    expect(P6('fd00:245::/121')).not.toBe(a);
    expect(() => P6('fd00:245::3f/122')).toThrow(/host bits/);
    expect(prefix6Length(a)).toBe(122);
    expect(prefix6Word(a, 0)).toBe(0xfd000245);
    expect(formatPrefix6(a)).toBe('fd00:245::/122');
    expect(formatAddress6(A6('fd00:199:0:0:0:0:0:2'))).toBe('fd00:199::2');
    expect(address6FromBytes(Buffer.from('fd000199000000000000000000000002', 'hex'))).toBe(A6('fd00:199::2'));
  });

  it('keeps ids apart across many prefixes (the table grows and rehashes)', () => {
    const ids = new Set<number>();
    for (let i = 0; i < 5000; i++) ids.add(prefix6Key(0xfd000999, i, 0, 0, 122));
    expect(ids.size).toBe(5000);
    for (let i = 0; i < 5000; i += 997) expect(formatPrefix6(prefix6Key(0xfd000999, i, 0, 0, 122))).toBe(canonicalCidr6(`fd00:999:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/122`));
  });

  it('reads an NLRI prefix from its ceil(len/8) bytes only (RFC 4760), junk bits past the length cleared', () => {
    // fd00:245::40/122 encoded as 16 bytes; /64 as 8 bytes followed by bytes of the next NLRI.
    const b = Buffer.from('fd000245000000000000000000000040', 'hex');
    expect(prefix6FromNlri(b, 0, 122)).toBe(P6('fd00:245::40/122'));
    expect(prefix6FromNlri(Buffer.from('fd000245000000017fffffff', 'hex'), 0, 64)).toBe(P6('fd00:245:0:1::/64'));
    expect(prefix6FromNlri(Buffer.from('ff', 'hex'), 0, 3)).toBe(P6('e000::/3'));
    expect(prefix6FromNlri(Buffer.alloc(0), 0, 0)).toBe(P6('::/0'));
  });

  it('covers: a pool holds its blocks, not its neighbours', () => {
    expect(prefix6Covers(P6('fd00:245::/64'), P6('fd00:245::40/122'))).toBe(true);
    expect(prefix6Covers(P6('fd00:245::/64'), P6('fd00:245:0:1::/122'))).toBe(false);
    expect(prefix6Covers(P6('fd00:245::40/122'), P6('fd00:245::/64'))).toBe(false);
    expect(prefix6Covers(P6('fd00:245::/64'), A6('fd00:245::1'))).toBe(true);
  });
});

const node: NodeIdentity = { name: 'a', ipv4: '10.10.20.5', ipv4PrefixLen: 24, ipv6: 'fd00:199::5', asNumber: 64512, routerId: '10.10.20.5' };
const pool = (name: string, cidr: string, over: Partial<Pool> = {}): Pool => ({
  name,
  cidr,
  ipipMode: 'Never',
  vxlanMode: 'Never',
  disabled: false,
  disableBGPExport: false,
  natOutgoing: false,
  blockSize: 122,
  ...over,
});
const POOLS4 = [pool('ipip', '192.168.0.0/16', { ipipMode: 'Always', blockSize: 26 })];
const POOLS6 = [pool('v6', 'fd00:245::/64'), pool('vx6', 'fd00:246::/64', { vxlanMode: 'Always' })];

describe('desired IPv6 kernel routes (the forms BIRD 2 installs)', () => {
  const ctx = new RouteContext({ node, pools: [...POOLS4, ...POOLS6] });
  it('a learned IPv6 block: via the peer\'s global IPv6 address, no tunnel, no onlink, the kernel picks the device', () => {
    expect(formatRoute(ctx.learnedRoute6(P6('fd00:245::40/122'), A6('fd00:199::2'))!)).toBe('fd00:245::40/122 via fd00:199::2 proto bird');
    // outside every pool: the same direct route
    expect(formatRoute(ctx.learnedRoute6(P6('fd00:777::/122'), A6('fd00:199::2'))!)).toBe('fd00:777::/122 via fd00:199::2 proto bird');
  });
  it('an IPv6 VXLAN pool is Felix\'s: no route', () => {
    expect(ctx.learnedRoute6(P6('fd00:246::/122'), A6('fd00:199::2'))).toBeNull();
  });
  it('own IPv6 blocks: blackhole, none for /128 or pending', () => {
    expect(formatRoute(blockRoute({ cidr: 'fd00:245::/122', state: 'confirmed' })!)).toBe('blackhole fd00:245::/122 proto bird');
    expect(blockRoute({ cidr: 'fd00:245::1/128', state: 'confirmed' })).toBeNull();
    expect(blockRoute({ cidr: 'fd00:245::/122', state: 'pending' })).toBeNull();
  });
  it('computeDesiredRoutes: both families, our block wins over a learned one', () => {
    const blocks: LocalBlock[] = [
      { cidr: 'fd00:245::/122', state: 'confirmed' },
      { cidr: '192.168.1.0/26', state: 'confirmed' },
    ];
    const learned6 = new Map([
      [P6('fd00:245::/122'), A6('fd00:199::9')],
      [P6('fd00:245::40/122'), A6('fd00:199::2')],
    ]);
    const routes = computeDesiredRoutes(ctx, new Map([[parsePrefix('192.168.2.0/26'), parseIpv4('10.10.20.2')]]), blocks, learned6);
    expect([...routes.values()].map(formatRoute).sort()).toEqual([
      '192.168.2.0/26 via 10.10.20.2 dev tunl0 proto bird onlink',
      'blackhole 192.168.1.0/26 proto bird',
      'blackhole fd00:245::/122 proto bird',
      'fd00:245::40/122 via fd00:199::2 proto bird',
    ]);
  });
});

describe('rtnetlink AF_INET6 route messages', () => {
  const learned = gatewayRoute(P6('fd00:245::40/122'), A6('fd00:199::2'));
  const hole = blackholeRoute(P6('fd00:245::/122'));
  it('RTM_NEWROUTE: 16-byte dst and gateway, priority 1024 for the model\'s 0, decodes back to the same route', () => {
    for (const [route, oif] of [[learned, 3], [learned, undefined], [hole, undefined], [{ ...learned, metric: 32 }, undefined]] as [KernelRoute, number | undefined][]) {
      const req = { route, oif, protocol: 12 };
      const buf = Buffer.alloc(routeMessageLength(req, false));
      expect(writeRouteMessage(buf, 0, req, false, 77)).toBe(buf.length);
      const [h] = [...messages(buf)];
      expect(buf[h.payload]).toBe(AF_INET6);
      expect(buf[h.payload + 1]).toBe(route === hole ? 122 : 122);
      expect(buf[h.payload + 5]).toBe(12); // rtm_protocol bird
      // RTA_PRIORITY is always there: 1024 (IP6_RT_PRIO_USER) or the metric asked for.
      const prio = buf.readUInt32LE(buf.length - 4);
      expect(prio).toBe(route.metric === 0 ? 1024 : route.metric);
      const back = parseRoute(buf, h)!;
      expect(back.protocol).toBe(12);
      expect(back.route).toEqual(route);
      if (oif !== undefined) expect(back.oif).toBe(oif);
    }
  });
  it('RTM_DELROUTE names prefix, proto bird and the metric only', () => {
    const req = { route: learned, protocol: 12 };
    const buf = Buffer.alloc(routeMessageLength(req, true));
    writeRouteMessage(buf, 0, req, true, 78);
    const [h] = [...messages(buf)];
    expect(h.type).toBe(RTM_DELROUTE);
    expect(buf.length).toBe(16 + 12 + 20 + 8); // header, rtmsg, RTA_DST, RTA_PRIORITY: no gateway, no device
    expect(buf[h.payload + 5]).toBe(12);
    expect(buf.readUInt32LE(buf.length - 4)).toBe(1024);
  });
});

describe('ip -6 batch lines and dumps', () => {
  it('writes replace / delete lines ip takes as IPv6', () => {
    expect(ipBatchLine({ op: 'replace', route: gatewayRoute(P6('fd00:245::40/122'), A6('fd00:199::2')) })).toBe('route replace fd00:245::40/122 via fd00:199::2 proto bird table main');
    expect(ipBatchLine({ op: 'replace', route: blackholeRoute(P6('fd00:245::/122')) })).toBe('route replace blackhole fd00:245::/122 proto bird table main');
    expect(ipBatchLine({ op: 'delete', route: blackholeRoute(P6('fd00:245::/122')) })).toBe('route del fd00:245::/122 proto bird table main metric 1024');
  });
  it('parses `ip -6 -o route` lines as BIRD 2 leaves them (metric 1024 = the model\'s 0)', () => {
    const hole = parseIpRoute6Line('blackhole fd00:245::/122 dev lo proto bird metric 1024 pref medium')!;
    expect(hole.protocol).toBe('bird');
    expect(hole.route).toEqual({ prefix: P6('fd00:245::/122'), type: 'blackhole', dev: 'lo', onlink: false, metric: 0 });
    const via = parseIpRoute6Line('fd00:245::40/122 via fd00:199::2 dev eth0 proto bird metric 1024 pref medium')!;
    expect(via.route).toEqual({ prefix: P6('fd00:245::40/122'), type: 'unicast', gateway: A6('fd00:199::2'), dev: 'eth0', onlink: false, metric: 0 });
    expect(parseIpRoute6Line('fe80::/64 dev eth0 proto kernel metric 256 pref medium')!.route.metric).toBe(256);
    expect(parseIpRoute6Line('default via fd00:199::1 dev eth0 proto static metric 1024 pref medium')!.route.prefix).toBe(P6('::/0'));
  });
});

const node6Links = () => ({ eth0: [parsePrefix('10.10.20.0/24'), P6('fd00:199::/64')], tunl0: [] });

function setup(opts: { backend?: MemoryBackend; initialHoldMs?: number } = {}) {
  const backend = opts.backend ?? new MemoryBackend({ links: node6Links() });
  const clock = new ManualScheduler();
  const programmer = new KernelProgrammer({ backend, scheduler: clock, initialHoldMs: opts.initialHoldMs ?? 0 });
  programmer.setNode(node);
  programmer.setPools(POOLS4);
  programmer.setPools6(POOLS6);
  return { backend, clock, programmer };
}

let current: KernelProgrammer | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('KernelProgrammer: the IPv6 table', () => {
  it('programs learned IPv6 blocks and own blackholes beside IPv4 ones; status counts IPv6 apart', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.setLocalBlocks([{ cidr: '192.168.160.192/26', state: 'confirmed' }]);
    programmer.setLocalBlocks6([{ cidr: 'fd00:245::/122', state: 'confirmed' }]);
    programmer.applyBestPaths6([
      { prefix: P6('fd00:245::40/122'), nextHop: A6('fd00:199::2') },
      { prefix: 'fd00:245::80/122', nextHop: 'fd00:199::3' },
      { prefix: 'fd00:246::/122', nextHop: 'fd00:199::3' }, // VXLAN pool: Felix's
    ]);
    await programmer.idle();
    expect(backend.show()).toEqual([
      'blackhole 192.168.160.192/26 proto bird',
      'blackhole fd00:245::/122 proto bird',
      'fd00:245::40/122 via fd00:199::2 dev eth0 proto bird',
      'fd00:245::80/122 via fd00:199::3 dev eth0 proto bird',
    ]);
    expect(programmer.status()).toMatchObject({ routes: 4, programmed: 4, ipv6: { routes: 3, programmed: 3, failed: 0, kernelRoutes: 3 } });
    // Withdraw one, move another: only those two change.
    backend.log.length = 0;
    programmer.applyBestPaths6([
      { prefix: 'fd00:245::40/122', nextHop: null },
      { prefix: 'fd00:245::80/122', nextHop: 'fd00:199::4' },
    ]);
    await programmer.idle();
    expect(backend.log.map((o) => `${o.op} ${formatRoute(o.route)}`)).toEqual([
      'delete fd00:245::40/122 via fd00:199::2 proto bird',
      'replace fd00:245::80/122 via fd00:199::4 proto bird',
    ]);
  });

  it('IPv4 and IPv6 blocks are set apart: setting one family never drops the other', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.setLocalBlocks6([{ cidr: 'fd00:245::/122', state: 'confirmed' }]);
    programmer.setLocalBlocks([{ cidr: '192.168.1.0/26', state: 'confirmed' }]);
    programmer.setLocalBlocks([]);
    await programmer.idle();
    expect(backend.show()).toEqual(['blackhole fd00:245::/122 proto bird']);
    programmer.setLocalBlocks6([]);
    programmer.setLocalBlocks([{ cidr: '192.168.1.0/26', state: 'confirmed' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['blackhole 192.168.1.0/26 proto bird']);
  });

  it('adopts IPv6 routes across a restart without touching them, and repairs tampering at the next scan', async () => {
    const backend = new MemoryBackend({ links: node6Links() });
    const first = setup({ backend });
    await first.programmer.start();
    first.programmer.setLocalBlocks6([{ cidr: 'fd00:245::/122', state: 'confirmed' }]);
    first.programmer.applyBestPaths6([{ prefix: 'fd00:245::40/122', nextHop: 'fd00:199::2' }]);
    await first.programmer.idle();
    await first.programmer.stop();
    const before = backend.show();
    backend.log.length = 0;

    const second = setup({ backend, initialHoldMs: 120_000 });
    current = second.programmer;
    second.programmer.setLocalBlocks6([{ cidr: 'fd00:245::/122', state: 'confirmed' }]);
    await second.programmer.start();
    expect(backend.log).toEqual([]); // the blackhole matches; the learned route is held as stale
    expect(backend.show()).toEqual(before);
    second.programmer.applyBestPaths6([{ prefix: 'fd00:245::40/122', nextHop: 'fd00:199::2' }]);
    await second.programmer.idle();
    expect(backend.log).toEqual([]);
    expect(second.programmer.status().counters).toMatchObject({ adopted: 2 });

    // Someone deletes our IPv6 route: the scan puts it back.
    backend.routes.delete(P6('fd00:245::40/122'));
    await second.programmer.scanNow();
    await second.programmer.idle();
    expect(backend.show()).toEqual(before);
    expect(second.programmer.status().counters.repaired).toBe(1);
  });

  it('never replaces another protocol\'s IPv6 route: reported as a conflict', async () => {
    const backend = new MemoryBackend({ links: node6Links() });
    const foreign = gatewayRoute(P6('fd00:245::c0/122'), A6('fd00:199::99'), 'eth0');
    backend.foreign.set(foreign.prefix, { route: foreign, protocol: 'static' });
    const { programmer } = setup({ backend });
    current = programmer;
    await programmer.start();
    programmer.applyBestPaths6([{ prefix: 'fd00:245::c0/122', nextHop: 'fd00:199::2' }]);
    await programmer.idle(); // the memory backend throws on a replace over a foreign route
    expect(backend.routes.has(foreign.prefix)).toBe(false);
    expect(programmer.status()).toMatchObject({ foreignConflicts: 1, ipv6: { failed: 1 } });
    expect(programmer.status().failed[0].error).toMatch(/fd00:245::c0\/122 is held by a proto static route/);
  });

  it('the IPv4 input path is unchanged: applyBestPaths with IPv4 keys still programs exactly the IPv4 forms', async () => {
    const { backend, programmer } = setup();
    current = programmer;
    await programmer.start();
    programmer.applyBestPaths([{ key: parsePrefix('192.168.163.0/26'), nextHop: '20.20.2.4' }]);
    await programmer.idle();
    expect(backend.show()).toEqual(['192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink']);
    expect(programmer.status().ipv6).toEqual({ routes: 0, programmed: 0, failed: 0, kernelRoutes: 0 });
  });
});
