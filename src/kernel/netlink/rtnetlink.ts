/**
 * rtnetlink messages for IPv4 and IPv6 routes and link lookup, encoded and decoded by
 * hand (pure: bytes in, values out). Layouts from include/uapi/linux/netlink.h
 * and rtnetlink.h; host byte order (little-endian on x64/arm64) for header
 * fields, network order for addresses.
 *
 *   nlmsghdr { u32 len; u16 type; u16 flags; u32 seq; u32 pid }      16 bytes
 *   rtmsg    { u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags }  12 bytes
 *   rtattr   { u16 len; u16 type } + payload, padded to 4
 */
import type { KernelRoute, NextHop, RouteType } from '../route.js';
import { address6FromBytes, isPrefix6, prefix6FromBytes, prefix6Length, writePrefix6Address } from '../../bgp/prefix6.js';

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_CREATE = 0x400;

export const AF_INET = 2;
export const AF_INET6 = 10;
/**
 * The priority the kernel gives an IPv6 route added with none (or 0):
 * IP6_RT_PRIO_USER (include/net/ip6_route.h). The model's metric 0 stands
 * for it (src/kernel/route.ts); it is written out explicitly so a replace or
 * delete matches exactly that route (IPv6 keeps routes per metric).
 */
export const IP6_RT_PRIO_USER = 1024;
export const RT_TABLE_MAIN = 254;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_NOWHERE = 255;
export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_BLACKHOLE = 6;
export const RTN_UNREACHABLE = 7;
export const RTN_PROHIBIT = 8;
export const RTNH_F_ONLINK = 4;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
export const IFLA_IFNAME = 3;

const NLMSG_HDRLEN = 16;
const RTMSG_LEN = 12;
const IFINFOMSG_LEN = 16;

/** A route to encode: the model route with its device resolved to an interface index. */
export interface RouteRequest {
  route: KernelRoute;
  oif?: number;
  /** The interface index of each of `route.nexthops` (0: the kernel chooses). */
  oifs?: number[];
  protocol: number;
}

/** struct rtnexthop (8 bytes) + its RTA_GATEWAY (8 bytes), per IPv4 next hop. */
const RTNH_V4_LEN = 16;

/** Bytes a route request takes (for sizing batch buffers). */
export function routeMessageLength(req: RouteRequest, del: boolean): number {
  if (isPrefix6(req.route.prefix)) {
    let len6 = NLMSG_HDRLEN + RTMSG_LEN + 20 + 8; // RTA_DST (16 bytes), RTA_PRIORITY (always)
    if (!del && req.route.gateway !== undefined) len6 += 20;
    if (!del && req.oif !== undefined) len6 += 8;
    return len6;
  }
  let len = NLMSG_HDRLEN + RTMSG_LEN + 8; // RTA_DST
  if (!del && req.route.nexthops) len += 4 + RTNH_V4_LEN * req.route.nexthops.length;
  if (!del && req.route.gateway !== undefined) len += 8;
  if (!del && req.oif !== undefined) len += 8;
  if (req.route.metric !== 0) len += 8;
  return len;
}

function typeCode(type: RouteType): number {
  switch (type) {
    case 'unicast':
      return RTN_UNICAST;
    case 'blackhole':
      return RTN_BLACKHOLE;
    case 'unreachable':
      return RTN_UNREACHABLE;
    case 'prohibit':
      return RTN_PROHIBIT;
    case 'other':
      return RTN_UNSPEC;
  }
}

function putAttrU32(buf: Buffer, off: number, type: number, value: number, bigEndian = false): number {
  buf.writeUInt16LE(8, off);
  buf.writeUInt16LE(type, off + 2);
  if (bigEndian) buf.writeUInt32BE(value >>> 0, off + 4);
  else buf.writeUInt32LE(value >>> 0, off + 4);
  return off + 8;
}

/**
 * Write RTM_NEWROUTE (NLM_F_CREATE|NLM_F_REPLACE) or RTM_DELROUTE at `off`;
 * returns the offset after it. No NLM_F_ACK: the kernel still answers a failed
 * request with NLMSG_ERROR carrying its sequence number (netlink_rcv_skb).
 *
 * A delete names prefix, table, protocol bird and (non-zero) metric only, with
 * scope NOWHERE and type UNSPEC, so fib_table_delete matches our route and
 * never one of another protocol.
 */
export function writeRouteMessage(buf: Buffer, off: number, req: RouteRequest, del: boolean, seq: number, flags = 0): number {
  const { route } = req;
  if (isPrefix6(route.prefix)) return writeRoute6Message(buf, off, req, del, seq, flags);
  const len = routeMessageLength(req, del);
  buf.writeUInt32LE(len, off);
  buf.writeUInt16LE(del ? RTM_DELROUTE : RTM_NEWROUTE, off + 4);
  buf.writeUInt16LE(NLM_F_REQUEST | flags | (del ? 0 : NLM_F_CREATE | NLM_F_REPLACE), off + 6);
  buf.writeUInt32LE(seq >>> 0, off + 8);
  buf.writeUInt32LE(0, off + 12);
  let p = off + NLMSG_HDRLEN;
  buf[p] = AF_INET;
  buf[p + 1] = route.prefix % 64; // dst_len
  buf[p + 2] = 0;
  buf[p + 3] = 0;
  buf[p + 4] = RT_TABLE_MAIN;
  buf[p + 5] = req.protocol;
  buf[p + 6] = del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
  buf[p + 7] = del ? RTN_UNSPEC : typeCode(route.type);
  buf.writeUInt32LE(!del && route.onlink ? RTNH_F_ONLINK : 0, p + 8);
  p += RTMSG_LEN;
  p = putAttrU32(buf, p, RTA_DST, Math.floor(route.prefix / 64), true);
  if (!del && route.nexthops) p = putMultipath(buf, p, route.nexthops, req.oifs);
  if (!del && route.gateway !== undefined) p = putAttrU32(buf, p, RTA_GATEWAY, route.gateway, true);
  if (!del && req.oif !== undefined) p = putAttrU32(buf, p, RTA_OIF, req.oif);
  if (route.metric !== 0) p = putAttrU32(buf, p, RTA_PRIORITY, route.metric);
  return p;
}

/**
 * RTA_MULTIPATH: one rtnexthop per next hop, each with its RTA_GATEWAY, its
 * RTNH_F_ONLINK and weight 1 (rtnh_hops 0): what BIRD 2 writes with the
 * kernel protocol's `merge paths on` (`nexthop via A dev tunl0 weight 1
 * onlink nexthop via B ...`, checked in a namespace).
 */
function putMultipath(buf: Buffer, off: number, hops: readonly NextHop[], oifs: number[] | undefined): number {
  buf.writeUInt16LE(4 + RTNH_V4_LEN * hops.length, off);
  buf.writeUInt16LE(RTA_MULTIPATH, off + 2);
  let p = off + 4;
  hops.forEach((nh, i) => {
    buf.writeUInt16LE(RTNH_V4_LEN, p);
    buf[p + 2] = nh.onlink ? RTNH_F_ONLINK : 0;
    buf[p + 3] = 0; // rtnh_hops: weight - 1
    buf.writeInt32LE(oifs?.[i] ?? 0, p + 4);
    p = putAttrU32(buf, p + 8, RTA_GATEWAY, nh.gateway, true);
  });
  return p;
}

/** The next hops of an IPv4 RTA_MULTIPATH payload [v, end), with their interface indexes (empty if none parse). */
export function parseMultipath(buf: Buffer, v: number, end: number): { hops: NextHop[]; oifs: number[] } {
  const hops: NextHop[] = [];
  const oifs: number[] = [];
  let p = v;
  while (p + 8 <= end) {
    const len = buf.readUInt16LE(p);
    if (len < 8 || p + len > end) break;
    let gateway: number | undefined;
    for (let a = p + 8; a + 4 <= p + len; ) {
      const alen = buf.readUInt16LE(a);
      if (alen < 4) break;
      if ((buf.readUInt16LE(a + 2) & 0x3fff) === RTA_GATEWAY && alen >= 8) gateway = buf.readUInt32BE(a + 4);
      a += (alen + 3) & ~3;
    }
    if (gateway === undefined) return { hops: [], oifs: [] };
    hops.push({ gateway, onlink: (buf[p + 2] & RTNH_F_ONLINK) !== 0 });
    oifs.push(buf.readInt32LE(p + 4));
    p += (len + 3) & ~3;
  }
  return { hops, oifs };
}

function putAttr16(buf: Buffer, off: number, type: number, key: number): number {
  buf.writeUInt16LE(20, off);
  buf.writeUInt16LE(type, off + 2);
  writePrefix6Address(key, buf, off + 4);
  return off + 20;
}

/**
 * The IPv6 form of writeRouteMessage: AF_INET6, 16-byte RTA_DST and
 * RTA_GATEWAY, and RTA_PRIORITY always (1024 for the model's 0), since IPv6
 * matches a replace or a delete on the metric. A delete still names protocol
 * bird (ip6_route_del skips routes of another protocol when it is set).
 */
function writeRoute6Message(buf: Buffer, off: number, req: RouteRequest, del: boolean, seq: number, flags: number): number {
  const { route } = req;
  const len = routeMessageLength(req, del);
  buf.writeUInt32LE(len, off);
  buf.writeUInt16LE(del ? RTM_DELROUTE : RTM_NEWROUTE, off + 4);
  buf.writeUInt16LE(NLM_F_REQUEST | flags | (del ? 0 : NLM_F_CREATE | NLM_F_REPLACE), off + 6);
  buf.writeUInt32LE(seq >>> 0, off + 8);
  buf.writeUInt32LE(0, off + 12);
  let p = off + NLMSG_HDRLEN;
  buf[p] = AF_INET6;
  buf[p + 1] = prefix6Length(route.prefix);
  buf[p + 2] = 0;
  buf[p + 3] = 0;
  buf[p + 4] = RT_TABLE_MAIN;
  buf[p + 5] = req.protocol;
  buf[p + 6] = del ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
  buf[p + 7] = del ? RTN_UNSPEC : typeCode(route.type);
  buf.writeUInt32LE(!del && route.onlink ? RTNH_F_ONLINK : 0, p + 8);
  p += RTMSG_LEN;
  p = putAttr16(buf, p, RTA_DST, route.prefix);
  if (!del && route.gateway !== undefined) p = putAttr16(buf, p, RTA_GATEWAY, route.gateway);
  if (!del && req.oif !== undefined) p = putAttrU32(buf, p, RTA_OIF, req.oif);
  p = putAttrU32(buf, p, RTA_PRIORITY, route.metric === 0 ? IP6_RT_PRIO_USER : route.metric);
  return p;
}

/** NLMSG_NOOP with NLM_F_ACK: the kernel acks it in order after everything sent before it (a barrier). */
export function writeBarrier(buf: Buffer, off: number, seq: number): number {
  buf.writeUInt32LE(NLMSG_HDRLEN, off);
  buf.writeUInt16LE(NLMSG_NOOP, off + 4);
  buf.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK, off + 6);
  buf.writeUInt32LE(seq >>> 0, off + 8);
  buf.writeUInt32LE(0, off + 12);
  return off + NLMSG_HDRLEN;
}

export function routeDumpRequest(seq: number, family: number = AF_INET): Buffer {
  const buf = Buffer.alloc(NLMSG_HDRLEN + RTMSG_LEN);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt16LE(RTM_GETROUTE, 4);
  buf.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf[NLMSG_HDRLEN] = family;
  return buf;
}

export function linkDumpRequest(seq: number): Buffer {
  const buf = Buffer.alloc(NLMSG_HDRLEN + IFINFOMSG_LEN);
  buf.writeUInt32LE(buf.length, 0);
  buf.writeUInt16LE(RTM_GETLINK, 4);
  buf.writeUInt16LE(NLM_F_REQUEST | NLM_F_DUMP, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  return buf;
}

export interface NetlinkHeader {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Offset of the payload in the datagram. */
  payload: number;
}

/** Walk the messages of one datagram. Stops at a truncated tail. */
export function* messages(buf: Buffer): Generator<NetlinkHeader> {
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) return;
    yield {
      len,
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: off + NLMSG_HDRLEN,
    };
    off += (len + 3) & ~3;
  }
}

/** NLMSG_ERROR payload: negative errno (0 = ACK) and the seq of the request it answers. */
export function parseError(buf: Buffer, h: NetlinkHeader): { errno: number; seq: number } {
  const errno = -buf.readInt32LE(h.payload);
  // The embedded original header follows the error code; its seq equals h.seq for kernel replies.
  const seq = h.len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN ? buf.readUInt32LE(h.payload + 4 + 8) : h.seq;
  return { errno, seq };
}

export interface DumpedRoute {
  route: KernelRoute;
  protocol: number;
  oif?: number;
  /** The interface index of each of `route.nexthops`. */
  oifs?: number[];
}

/**
 * One decoded RTM_NEWROUTE, in a record the caller reuses: a scan of 1M
 * routes reads them all into one of these and interns the shape, so it makes
 * no object per route (src/kernel/route-table.ts).
 */
export interface RouteFields {
  prefix: number;
  type: RouteType;
  gateway: number | undefined;
  onlink: boolean;
  /** The model's metric: IPv6's default 1024 reads as 0. */
  metric: number;
  protocol: number;
  oif: number | undefined;
  /** An IPv4 multipath route's next hops and their interface indexes (ECMP); undefined for the rest. */
  nexthops: NextHop[] | undefined;
  oifs: number[] | undefined;
}

export function newRouteFields(): RouteFields {
  return { prefix: 0, type: 'other', gateway: undefined, onlink: false, metric: 0, protocol: 0, oif: undefined, nexthops: undefined, oifs: undefined };
}

/**
 * Decode RTM_NEWROUTE from a dump. Returns null for what the programmer never
 * manages: other families, other tables, tos != 0, source-specific, multipath
 * is kept (as type 'other') so a proto bird multipath route gets replaced.
 */
export function parseRoute(buf: Buffer, h: NetlinkHeader): DumpedRoute | null {
  const f = newRouteFields();
  if (!readRoute(buf, h, f)) return null;
  const route: KernelRoute = { prefix: f.prefix, type: f.type, onlink: f.onlink, metric: f.metric };
  if (f.gateway !== undefined) route.gateway = f.gateway;
  if (f.nexthops) route.nexthops = f.nexthops;
  const out: DumpedRoute = { route, protocol: f.protocol };
  if (f.oif !== undefined) out.oif = f.oif;
  if (f.oifs) out.oifs = f.oifs;
  return out;
}

/** parseRoute into `out`; false (out unspecified) for a route the programmer never manages. */
export function readRoute(buf: Buffer, h: NetlinkHeader, out: RouteFields): boolean {
  const p = h.payload;
  const family = buf[p];
  if (family !== AF_INET && family !== AF_INET6) return false;
  const v6 = family === AF_INET6;
  const dstLen = buf[p + 1];
  const srcLen = buf[p + 2];
  const tos = buf[p + 3];
  let table = buf[p + 4];
  const rtype = buf[p + 7];
  const rflags = buf.readUInt32LE(p + 8);
  let dst = 0;
  let dstAt = -1;
  let gwAt = -1;
  out.gateway = undefined;
  out.oif = undefined;
  out.nexthops = undefined;
  out.oifs = undefined;
  let metric = 0;
  let multipath = false;
  let a = p + RTMSG_LEN;
  const end = h.payload - NLMSG_HDRLEN + h.len;
  while (a + 4 <= end) {
    const alen = buf.readUInt16LE(a);
    const atype = buf.readUInt16LE(a + 2) & 0x3fff;
    if (alen < 4) break;
    const v = a + 4;
    switch (atype) {
      case RTA_DST:
        if (!v6) dst = buf.readUInt32BE(v);
        else if (alen >= 20) dstAt = v;
        break;
      case RTA_GATEWAY:
        if (!v6) out.gateway = buf.readUInt32BE(v);
        else if (alen >= 20) gwAt = v;
        break;
      case RTA_OIF:
        out.oif = buf.readUInt32LE(v);
        break;
      case RTA_PRIORITY:
        metric = buf.readUInt32LE(v);
        break;
      case RTA_TABLE:
        table = buf.readUInt32LE(v);
        break;
      case RTA_MULTIPATH:
        multipath = true;
        // IPv4 ECMP is modelled (a multipath route of ours is compared, not blindly replaced); IPv6 stays 'other'.
        if (!v6) {
          const m = parseMultipath(buf, v, Math.min(end, a + alen));
          if (m.hops.length > 0) {
            out.nexthops = m.hops;
            out.oifs = m.oifs;
          }
        }
        break;
    }
    a += (alen + 3) & ~3;
  }
  if (table !== RT_TABLE_MAIN || tos !== 0 || srcLen !== 0) return false;
  out.protocol = buf[p + 5];
  out.type = routeType(rtype, multipath && out.nexthops === undefined);
  out.onlink = (rflags & RTNH_F_ONLINK) !== 0;
  if (v6) {
    // IPv6 prefix and gateway become interned ids (no string per route), and
    // the kernel's default priority 1024 becomes the model's 0. Local-table and
    // multicast routes are in other tables and are left out as for IPv4;
    // RTA_PREF, RTA_CACHEINFO and the rest are ignored.
    if (dstLen > 128) return false;
    out.prefix = dstAt < 0 ? prefix6FromBytes(ZERO16, 0, 0) : prefix6FromBytes(buf, dstAt, dstLen);
    out.metric = metric === IP6_RT_PRIO_USER ? 0 : metric;
    if (gwAt >= 0) out.gateway = address6FromBytes(buf, gwAt);
    return true;
  }
  out.prefix = ((dst & (dstLen === 0 ? 0 : (0xffffffff << (32 - dstLen)) >>> 0)) >>> 0) * 64 + dstLen;
  out.metric = metric;
  return true;
}

function routeType(rtype: number, multipath: boolean): RouteType {
  switch (rtype) {
    case RTN_UNICAST:
      return multipath ? 'other' : 'unicast';
    case RTN_BLACKHOLE:
      return 'blackhole';
    case RTN_UNREACHABLE:
      return 'unreachable';
    case RTN_PROHIBIT:
      return 'prohibit';
    default:
      return 'other';
  }
}

const ZERO16 = new Uint8Array(16);

/** Decode RTM_NEWLINK: interface index and name. */
export function parseLink(buf: Buffer, h: NetlinkHeader): { index: number; name?: string } {
  const p = h.payload;
  const index = buf.readInt32LE(p + 4);
  let a = p + IFINFOMSG_LEN;
  const end = h.payload - NLMSG_HDRLEN + h.len;
  let name: string | undefined;
  while (a + 4 <= end) {
    const alen = buf.readUInt16LE(a);
    const atype = buf.readUInt16LE(a + 2) & 0x3fff;
    if (alen < 4) break;
    if (atype === IFLA_IFNAME) {
      let z = a + 4;
      while (z < a + alen && buf[z] !== 0) z++;
      name = buf.toString('utf8', a + 4, z);
    }
    a += (alen + 3) & ~3;
  }
  return name === undefined ? { index } : { index, name };
}
