/**
 * The pure parts of the alien-route watch (BIRD's kernel `learn`): which
 * routes count, the table's prefix set under dumps and notifications, the
 * kernel filter program on real message bytes, and finding the socket's inode.
 */
import { describe, expect, it } from 'vitest';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { AlienRouteTable, ignoredProtocols } from '../../../src/kernel/alien-routes.js';
import { alienRouteFilter, runFilter } from '../../../src/kernel/netlink/alien-filter.js';
import { netlinkDrops, netlinkInode } from '../../../src/kernel/netlink/monitor-socket.js';
import { messages, parseRoute, writeRouteMessage, type DumpedRoute } from '../../../src/kernel/netlink/rtnetlink.js';
import { gatewayRoute, RTPROT_BIRD } from '../../../src/kernel/route.js';

const route = (cidr: string, protocol: number, metric = 0): DumpedRoute => ({ route: { ...gatewayRoute(parsePrefix(cidr), 0), gateway: undefined, metric }, protocol });

describe('AlienRouteTable', () => {
  it('learns every protocol but the kernel\'s, redirects and its own (BIRD learn without all)', () => {
    expect(ignoredProtocols()).toEqual([1, 2, RTPROT_BIRD]);
    const t = new AlienRouteTable();
    expect(t.replaceAll([route('10.244.9.5/32', 3), route('10.244.9.6/32', 2), route('10.244.9.7/32', 12), route('10.244.9.8/32', 4), route('10.244.9.9/32', 1)])).toBe(true);
    expect([...t.prefixes()].sort()).toEqual([parsePrefix('10.244.9.5/32'), parsePrefix('10.244.9.8/32')].sort());
  });

  it('notifications add and remove; two metrics of one prefix are two routes; a bird route replacing an alien one removes it', () => {
    const t = new AlienRouteTable();
    expect(t.apply(true, route('10.244.9.5/32', 3))).toBe(true);
    expect(t.apply(true, route('10.244.9.5/32', 3))).toBe(false); // same route again
    expect(t.apply(true, route('10.244.9.5/32', 3, 1024))).toBe(false); // the prefix was there already
    expect(t.apply(false, route('10.244.9.5/32', 3))).toBe(false); // the metric-1024 one remains
    expect(t.prefixes().has(parsePrefix('10.244.9.5/32'))).toBe(true);
    expect(t.apply(false, route('10.244.9.5/32', 3, 1024))).toBe(true);
    expect(t.prefixes().size).toBe(0);
    expect(t.apply(false, route('10.244.9.5/32', 3))).toBe(false); // deleting what is not there
    t.apply(true, route('10.244.9.6/32', 80));
    expect(t.apply(true, route('10.244.9.6/32', RTPROT_BIRD))).toBe(true); // NLM_F_REPLACE by an ignored protocol
    expect(t.prefixes().size).toBe(0);
  });

  it('a dump replaces the table (a route lost while notifications were dropped goes)', () => {
    const t = new AlienRouteTable();
    t.apply(true, route('10.244.9.5/32', 3));
    expect(t.replaceAll([route('10.244.9.6/32', 3)])).toBe(true);
    expect([...t.prefixes()]).toEqual([parsePrefix('10.244.9.6/32')]);
    expect(t.replaceAll([route('10.244.9.6/32', 3)])).toBe(false);
  });
});

describe('alienRouteFilter (classic BPF on the monitor socket)', () => {
  const bytes = (protocol: number, del: boolean): Buffer => {
    const buf = Buffer.alloc(128);
    const end = writeRouteMessage(buf, 0, { route: gatewayRoute(parsePrefix('10.244.9.5/32'), 0x0a000002), protocol }, del, 7);
    const out = buf.subarray(0, end);
    const h = [...messages(out)][0];
    expect(parseRoute(out, h)?.protocol ?? protocol).toBe(protocol); // the bytes are a real route message
    return out;
  };
  const prog = alienRouteFilter(ignoredProtocols());

  it('drops new and deleted routes of ignored protocols, passes the rest', () => {
    for (const del of [false, true]) {
      for (const p of [1, 2, 12]) expect(runFilter(prog, bytes(p, del)), `proto ${p} del ${del}`).toBe(0);
      for (const p of [3, 4, 80, 186]) expect(runFilter(prog, bytes(p, del)), `proto ${p} del ${del}`).toBe(0xffffffff);
    }
  });

  it('passes messages that are not routes (their protocol byte means something else)', () => {
    const done = Buffer.alloc(20);
    done.writeUInt32LE(20, 0);
    done.writeUInt16LE(3, 4); // NLMSG_DONE
    done[21 - 16] = 12;
    expect(runFilter(prog, done)).toBe(0xffffffff);
  });
});

describe('netlinkInode', () => {
  const text = [
    'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode',
    '00000000ab5fd5ec 0   0          00000000 0        0        0     2        0        4',
    '00000000a35b4f59 0   134241549  00000440 0        0        0     2        17       93021',
    '00000000a35b4f60 4   134241549  00000000 0        0        0     2        0        93022',
  ].join('\n');
  it('finds the NETLINK_ROUTE socket of a port id, and none for an unknown one', () => {
    expect(netlinkInode(text, 134241549)).toBe(93021);
    expect(netlinkInode(text, 134241549, 4)).toBe(93022);
    expect(netlinkInode(text, 5)).toBeNull();
  });
  it('reads its Drops column (notifications lost to a full buffer: the watcher then dumps again)', () => {
    expect(netlinkDrops(text, 134241549)).toBe(17);
    expect(netlinkDrops(text, 134241549, 4)).toBe(0);
    expect(netlinkDrops(text, 5)).toBeNull();
  });
});
