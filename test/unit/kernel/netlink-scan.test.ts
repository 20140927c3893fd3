/**
 * The netlink backend's scan over a scripted NETLINK_ROUTE socket: routes are
 * read into one reused record (a blackhole after a gateway route must not
 * inherit its gateway or device), interned into the caller's ShapeTable, and
 * a dump the kernel flags NLM_F_DUMP_INTR is taken again from the start
 * rather than appended to (which read every route of it twice).
 */
import { describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import { NetlinkBackend } from '../../../src/kernel/netlink-backend.js';
import { AF_INET, messages, NLM_F_DUMP_INTR, NLM_F_MULTI, RTM_GETLINK, RTM_GETROUTE, writeRouteMessage } from '../../../src/kernel/netlink/rtnetlink.js';
import { ShapeTable } from '../../../src/kernel/route-table.js';
import { blackholeRoute, formatRoute, gatewayRoute, type KernelRoute } from '../../../src/kernel/route.js';

const TUNL0 = 7;

function done(seq: number, flags: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(20, 0);
  b.writeUInt16LE(3, 4); // NLMSG_DONE
  b.writeUInt16LE(NLM_F_MULTI | flags, 6);
  b.writeUInt32LE(seq, 8);
  return b;
}

function link(seq: number, index: number, name: string): Buffer {
  const attrLen = 4 + name.length + 1;
  const len = 16 + 16 + ((attrLen + 3) & ~3);
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(16, 4); // RTM_NEWLINK
  b.writeUInt16LE(NLM_F_MULTI, 6);
  b.writeUInt32LE(seq, 8);
  b.writeInt32LE(index, 16 + 4);
  b.writeUInt16LE(attrLen, 32);
  b.writeUInt16LE(3, 34); // IFLA_IFNAME
  b.write(name, 36);
  return b;
}

function routes(seq: number, list: { route: KernelRoute; oif?: number; protocol: number }[], flags: number): Buffer {
  const parts = list.map(({ route, oif, protocol }) => {
    const b = Buffer.alloc(128);
    const end = writeRouteMessage(b, 0, { route, oif, protocol }, false, seq, NLM_F_MULTI | flags);
    b.writeUInt16LE(24, 4); // a dump reply is RTM_NEWROUTE like the request
    return b.subarray(0, end);
  });
  return Buffer.concat(parts);
}

/** Answers link and route dumps; the first IPv4 route dump is flagged interrupted. */
class ScriptedSocket {
  private onMessage: (msg: Buffer) => void = () => undefined;
  routeDumps = 0;
  constructor(private readonly table: { route: KernelRoute; oif?: number; protocol: number }[]) {}
  on(event: string, fn: (msg: Buffer) => void): this {
    if (event === 'message') this.onMessage = fn;
    return this;
  }
  send(msg: Uint8Array, _opts: unknown, cb?: (err?: Error) => void): void {
    const buf = Buffer.from(msg);
    const [h] = [...messages(buf)];
    setImmediate(() => {
      cb?.();
      if (h.type === RTM_GETLINK) this.onMessage(Buffer.concat([link(h.seq, 1, 'lo'), link(h.seq, TUNL0, 'tunl0'), done(h.seq, 0)]));
      else if (h.type === RTM_GETROUTE && buf[16] === AF_INET) {
        const intr = this.routeDumps++ === 0 ? NLM_F_DUMP_INTR : 0;
        // Two datagrams, as a dump of a large table arrives.
        this.onMessage(routes(h.seq, this.table.slice(0, 2), intr));
        this.onMessage(Buffer.concat([routes(h.seq, this.table.slice(2), intr), done(h.seq, intr)]));
      } else if (h.type === RTM_GETROUTE) this.onMessage(done(h.seq, 0));
    });
  }
  close(): void {}
  ref(): void {}
  unref(): void {}
  setRecvBufferSize(): void {}
  getRecvBufferSize(): number {
    return 8 << 20;
  }
}

describe('NetlinkBackend scan', () => {
  it('reads each route once, fields not carried over, and restarts an interrupted dump', async () => {
    const onlink = gatewayRoute(parsePrefix('192.168.163.0/26'), parseIpv4('20.20.2.4'), 'tunl0', true);
    const hole = blackholeRoute(parsePrefix('192.168.160.192/26'));
    const other = gatewayRoute(parsePrefix('10.9.0.0/24'), parseIpv4('10.10.20.1'));
    const sock = new ScriptedSocket([
      { route: onlink, oif: TUNL0, protocol: 12 },
      { route: hole, protocol: 12 },
      { route: other, oif: 1, protocol: 4 }, // static: foreign, never ours
    ]);
    const backend = new (NetlinkBackend as unknown as new (s: ScriptedSocket, o: object) => NetlinkBackend)(sock, {});
    const shapes = new ShapeTable();
    const scan = await backend.scan(shapes);
    expect(sock.routeDumps).toBe(2);
    expect(scan.routes.toArray().map(formatRoute)).toEqual([formatRoute(onlink), formatRoute(hole)]);
    expect(scan.routes.route(1)).toEqual(hole); // no gateway or device left over from the route before it
    expect([...scan.foreign]).toEqual([[other.prefix, 'static']]);
    expect(shapes.size).toBe(2);
  });
});
