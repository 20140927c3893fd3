#!/usr/bin/env node
/**
 * A tiny packet capture for the integration tests, with no tool beyond node
 * and koffi (tshark/tcpdump are not in CI): an AF_PACKET socket on one
 * interface (run it inside the namespace), one JSON line per IPv4 or IPv6
 * TCP segment to or from one of the given ports (default 179): addresses,
 * ports, IP TTL (IPv6: hop limit), TCP flags and the kinds of its TCP
 * options (19 = MD5 signature, RFC 2385 §3.0). With `--payload`, also the
 * sequence number and the segment's payload in hex, for reassembling the
 * streams (proto-fixtures/capture/bird6.mjs cuts BGP messages out of them).
 * IPv6 extension headers are not followed (BGP over TCP carries none here).
 *
 *   node tcp-capture.mjs <interface> <seconds> [port,port...] [--payload]
 */
import koffi from 'koffi';
import { readFileSync } from 'node:fs';

const [ifname, seconds] = [process.argv[2], Number(process.argv[3] ?? 10)];
const withPayload = process.argv.includes('--payload');
const portArg = process.argv[4] && !process.argv[4].startsWith('--') ? process.argv[4] : '179';
const ports = new Set(portArg.split(',').map(Number));
const libc = koffi.load('libc.so.6');
const socket = libc.func('int socket(int, int, int)');
const bind = libc.func('int bind(int, const void *, uint32_t)');
const setsockopt = libc.func('int setsockopt(int, int, int, const void *, uint32_t)');
const recv = libc.func('long recv(int, void *, size_t, int)');

const AF_PACKET = 17;
const SOCK_RAW = 3;
const ETH_P_ALL_BE = 0x0300; // htons(0x0003)
const fd = socket(AF_PACKET, SOCK_RAW, ETH_P_ALL_BE);
if (fd < 0) throw new Error('AF_PACKET socket failed (root?)');
const ifindex = Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8'));
const sll = Buffer.alloc(20);
sll.writeUInt16LE(AF_PACKET, 0);
sll.writeUInt16BE(0x0003, 2);
sll.writeInt32LE(ifindex, 4);
if (bind(fd, sll, 20) < 0) throw new Error(`bind to ${ifname} failed`);
const tv = Buffer.alloc(16);
tv.writeBigInt64LE(0n, 0);
tv.writeBigInt64LE(200_000n, 8);
setsockopt(fd, 1, 20, tv, 16); // SO_RCVTIMEO: wake up to check the deadline
process.stdout.write(JSON.stringify({ ready: true }) + '\n');

const buf = Buffer.alloc(65536);
const deadline = Date.now() + seconds * 1000;
while (Date.now() < deadline) {
  const n = Number(recv(fd, buf, buf.length, 0));
  if (n < 34) continue;
  const v6 = buf.readUInt16BE(12) === 0x86dd;
  if (v6 ? n < 74 || buf[20] !== 6 : buf.readUInt16BE(12) !== 0x0800 || buf[23] !== 6) continue;
  const t = v6 ? 54 : 14 + (buf[14] & 15) * 4;
  // An outgoing frame may be shorter than the IP length says only if truncated: take the IP length.
  const ipEnd = v6 ? 54 + buf.readUInt16BE(18) : 14 + buf.readUInt16BE(16);
  const sport = buf.readUInt16BE(t);
  const dport = buf.readUInt16BE(t + 2);
  if (!ports.has(sport) && !ports.has(dport)) continue;
  const dataOffset = (buf[t + 12] >> 4) * 4;
  const options = [];
  for (let i = t + 20; i < t + dataOffset && i < n; ) {
    const kind = buf[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    options.push(kind);
    i += Math.max(2, buf[i + 1]);
  }
  const addr = (o) => [...buf.subarray(o, o + 4)].join('.');
  // RFC 5952 text, by way of the WHATWG URL parser's IPv6 serializer.
  const addr6 = (o) => new URL(`http://[${Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(o + 2 * i).toString(16)).join(':')}]`).hostname.slice(1, -1);
  const line = v6
    ? { src: addr6(22), dst: addr6(38), sport, dport, ttl: buf[21], flags: buf[t + 13], options }
    : { src: addr(26), dst: addr(30), sport, dport, ttl: buf[22], flags: buf[t + 13], options };
  if (withPayload) {
    line.seq = buf.readUInt32BE(t + 4);
    line.payload = buf.subarray(t + dataOffset, Math.min(ipEnd, n)).toString('hex');
  }
  process.stdout.write(JSON.stringify(line) + '\n');
}
