#!/usr/bin/env node
/**
 * A tiny packet capture for the integration tests, with no tool beyond node
 * and koffi (tshark/tcpdump are not in CI): an AF_PACKET socket on one
 * interface (run it inside the namespace), one JSON line per IPv4 TCP
 * segment to or from one of the given ports (default 179): addresses, ports,
 * IP TTL, TCP flags and the kinds of its TCP options (19 = MD5 signature,
 * RFC 2385 §3.0).
 *
 *   node tcp-capture.mjs <interface> <seconds> [port,port...]
 */
import koffi from 'koffi';
import { readFileSync } from 'node:fs';

const [ifname, seconds] = [process.argv[2], Number(process.argv[3] ?? 10)];
const ports = new Set((process.argv[4] ?? '179').split(',').map(Number));
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
  if (n < 34 || buf.readUInt16BE(12) !== 0x0800 || buf[23] !== 6) continue;
  const ihl = (buf[14] & 15) * 4;
  const t = 14 + ihl;
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
  const line = { src: addr(26), dst: addr(30), sport, dport, ttl: buf[22], flags: buf[t + 13], options };
  process.stdout.write(JSON.stringify(line) + '\n');
}
