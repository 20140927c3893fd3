/**
 * The few BGP messages the benchmark's feeders and simulated nodes speak,
 * encoded here rather than with the agent's codec, so that a change to the
 * codec under test can never change the load (and the feeder costs as little
 * CPU as possible): OPEN (multiprotocol IPv4 unicast, route refresh, 4-octet
 * AS), KEEPALIVE, UPDATEs packed to 4096 bytes (ORIGIN IGP, empty AS_PATH,
 * NEXT_HOP, LOCAL_PREF 100), End-of-RIB, and a walk over a received UPDATE's
 * withdrawn and announced IPv4 prefixes (no ADD-PATH: the feeders never offer it).
 *
 * Prefixes are numbers: address * 64 + length.
 */

export const MAX_MESSAGE = 4096;

export function ipv4(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
export const formatIpv4 = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
export const pkey = (address: number, length: number): number => address * 64 + length;
export function parsePrefix(text: string): number {
  const [a, l] = text.split('/');
  return pkey(ipv4(a), Number(l));
}
export const formatPrefix = (k: number): string => `${formatIpv4(Math.floor(k / 64))}/${k % 64}`;

function header(body: number, type: number): Buffer {
  const b = Buffer.alloc(19 + body);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(19 + body, 16);
  b[18] = type;
  return b;
}

export function open(as: number, routerId: string, holdTime = 240): Buffer {
  const caps = Buffer.from([
    2, 6, 1, 4, 0, 1, 0, 1, // multiprotocol IPv4 unicast
    2, 2, 2, 0, // route refresh
    2, 6, 65, 4, 0, 0, 0, 0, // 4-octet AS
  ]);
  caps.writeUInt32BE(as, 16);
  const m = header(10 + caps.length, 1);
  m[19] = 4;
  m.writeUInt16BE(as > 65535 ? 23456 : as, 20);
  m.writeUInt16BE(holdTime, 22);
  m.writeUInt32BE(ipv4(routerId), 24);
  m[28] = caps.length;
  caps.copy(m, 29);
  return m;
}

export const KEEPALIVE = header(0, 4);
export const END_OF_RIB = (() => {
  const m = header(4, 2);
  return m; // withdrawn length 0, attributes length 0
})();

function attributes(nextHop: string): Buffer {
  const a = Buffer.alloc(4 + 3 + 7 + 7);
  let p = 0;
  a.set([0x40, 1, 1, 0], p); // ORIGIN IGP
  p += 4;
  a.set([0x40, 2, 0], p); // AS_PATH empty (iBGP)
  p += 3;
  a.set([0x40, 3, 4], p); // NEXT_HOP
  a.writeUInt32BE(ipv4(nextHop), p + 3);
  p += 7;
  a.set([0x40, 5, 4], p); // LOCAL_PREF
  a.writeUInt32BE(100, p + 3);
  return a;
}

function prefixBytes(k: number): number {
  return 1 + (((k % 64) + 7) >> 3);
}

function writePrefix(buf: Buffer, p: number, k: number): number {
  const len = k % 64;
  const addr = Math.floor(k / 64);
  buf[p++] = len;
  const n = (len + 7) >> 3;
  for (let i = 0; i < n; i++) buf[p++] = (addr >>> (24 - 8 * i)) & 255;
  return p;
}

/** UPDATEs announcing `keys` with `nextHop`, each as full as 4096 bytes allow. */
export function announce(nextHop: string, keys: ArrayLike<number>): Buffer[] {
  const attrs = attributes(nextHop);
  const out: Buffer[] = [];
  let i = 0;
  while (i < keys.length) {
    const room = MAX_MESSAGE - 19 - 4 - attrs.length;
    let size = 0;
    let j = i;
    while (j < keys.length && size + prefixBytes(keys[j]) <= room) size += prefixBytes(keys[j++]);
    const m = header(4 + attrs.length + size, 2);
    m.writeUInt16BE(0, 19);
    m.writeUInt16BE(attrs.length, 21);
    attrs.copy(m, 23);
    let p = 23 + attrs.length;
    for (let x = i; x < j; x++) p = writePrefix(m, p, keys[x]);
    out.push(m);
    i = j;
  }
  return out;
}

/** One UPDATE withdrawing `keys` (they must fit one message). */
export function withdraw(keys: ArrayLike<number>): Buffer {
  let size = 0;
  for (let i = 0; i < keys.length; i++) size += prefixBytes(keys[i]);
  const m = header(4 + size, 2);
  m.writeUInt16BE(size, 19);
  let p = 21;
  for (let i = 0; i < keys.length; i++) p = writePrefix(m, p, keys[i]);
  m.writeUInt16BE(0, p);
  return m;
}

/** Calls `onAnnounce` / `onWithdraw` for each IPv4 prefix of an UPDATE (no ADD-PATH). */
export function walkUpdate(m: Buffer, onWithdraw: ((k: number) => void) | null, onAnnounce: ((k: number) => void) | null): void {
  const wl = m.readUInt16BE(19);
  let p = 21;
  const wEnd = 21 + wl;
  while (p < wEnd) {
    const len = m[p];
    const n = (len + 7) >> 3;
    if (onWithdraw) {
      let a = 0;
      for (let i = 0; i < 4; i++) a = a * 256 + (i < n ? m[p + 1 + i] : 0);
      onWithdraw(a * 64 + len);
    }
    p += 1 + n;
  }
  const al = m.readUInt16BE(wEnd);
  p = wEnd + 2 + al;
  while (p < m.length) {
    const len = m[p];
    const n = (len + 7) >> 3;
    if (onAnnounce) {
      let a = 0;
      for (let i = 0; i < 4; i++) a = a * 256 + (i < n ? m[p + 1 + i] : 0);
      onAnnounce(a * 64 + len);
    }
    p += 1 + n;
  }
}

/** Announced NLRI count of an UPDATE without decoding the prefixes. */
export function announcedCount(m: Buffer): number {
  const wl = m.readUInt16BE(19);
  const al = m.readUInt16BE(21 + wl);
  let p = 23 + wl + al;
  let n = 0;
  while (p < m.length) {
    p += 1 + ((m[p] + 7) >> 3);
    n++;
  }
  return n;
}

// ---------------------------------------------------------------- IPv6 unicast (RFC 4760, as bird6 sessions carry it)

/** "fd77::1:2" -> its 16 bytes (no embedded IPv4 form: the bench never writes one). */
export function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const groups = [...hs, ...new Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** OPEN for an IPv6 session: multiprotocol IPv6 unicast only (AFI 2, SAFI 1), route refresh, 4-octet AS. */
export function open6(as: number, routerId: string, holdTime = 240): Buffer {
  const m = open(as, routerId, holdTime);
  m[29 + 5] = 2; // the MP capability's AFI low octet: 1 (IPv4) -> 2 (IPv6)
  return m;
}

/** IPv6 End-of-RIB (RFC 4724 §2): an UPDATE whose only attribute is an empty MP_UNREACH_NLRI for IPv6 unicast. */
export const END_OF_RIB6 = (() => {
  const m = header(4 + 6, 2);
  m.writeUInt16BE(0, 19);
  m.writeUInt16BE(6, 21);
  m.set([0x80, 15, 3, 0, 2, 1], 23);
  return m;
})();

/**
 * UPDATEs announcing the IPv6 prefixes in `nlri` (their wire form back to back:
 * length octet + address octets) with `nextHop` (16-octet global, RFC 2545 §3),
 * each as full as 4096 bytes allow: ORIGIN IGP, empty AS_PATH, LOCAL_PREF 100,
 * MP_REACH_NLRI (extended length) and no NEXT_HOP attribute (RFC 4760 §3).
 */
export function announce6(nextHop: string, nlri: Buffer): Buffer[] {
  const fixed = Buffer.from([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 5, 4, 0, 0, 0, 100]);
  const nh = ipv6Bytes(nextHop);
  const mpHead = 4 + 5 + 16; // flags, code, 2-octet length; AFI, SAFI, NH length, next hop, reserved
  const out: Buffer[] = [];
  let i = 0;
  while (i < nlri.length) {
    const room = MAX_MESSAGE - 19 - 4 - fixed.length - mpHead;
    let j = i;
    while (j < nlri.length) {
      const size = 1 + ((nlri[j] + 7) >> 3);
      if (j + size - i > room) break;
      j += size;
    }
    const mpLen = 5 + 16 + (j - i);
    const m = header(4 + fixed.length + 4 + mpLen, 2);
    m.writeUInt16BE(0, 19);
    m.writeUInt16BE(fixed.length + 4 + mpLen, 21);
    fixed.copy(m, 23);
    let p = 23 + fixed.length;
    m.set([0x90, 14], p);
    m.writeUInt16BE(mpLen, p + 2);
    m.set([0, 2, 1, 16], p + 4);
    nh.copy(m, p + 8);
    m[p + 24] = 0; // reserved
    nlri.copy(m, p + 25, i, j);
    out.push(m);
    i = j;
  }
  return out;
}

/** Splits a byte stream into BGP messages. */
export class Frames {
  private buf: Buffer = Buffer.alloc(0);
  push(d: Buffer, each: (m: Buffer) => void): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let off = 0;
    while (this.buf.length - off >= 19) {
      const len = this.buf.readUInt16BE(off + 16);
      if (len < 19) throw new Error(`bad BGP length ${len}`);
      if (this.buf.length - off < len) break;
      each(this.buf.subarray(off, off + len));
      off += len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
  }
}

export const mono = (): number => Number(process.hrtime.bigint()) / 1e6;

export function cpuSeconds(since?: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}
