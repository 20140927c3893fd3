#!/usr/bin/env node
// Cut a pcap of BGP sessions into BGP messages, one JSON line each.
//
//   node split.mjs lab.pcapng > messages.jsonl
//
// tshark prints every TCP segment's payload; we reassemble each direction of each
// TCP stream by sequence number (dropping retransmitted bytes, holding segments
// that arrive early), then cut the byte stream at BGP message boundaries: a
// 16-byte all-ones marker and a 2-byte length (RFC 4271 §4.1). Nothing here
// interprets a message beyond its type octet.
import { execFileSync } from 'node:child_process';

const TYPES = { 1: 'OPEN', 2: 'UPDATE', 3: 'NOTIFICATION', 4: 'KEEPALIVE', 5: 'ROUTE-REFRESH' };
const MARKER = Buffer.alloc(16, 0xff);

const pcap = process.argv[2];
if (!pcap) {
  process.stderr.write('usage: split.mjs <file.pcap>\n');
  process.exit(2);
}

const fields = [
  'frame.number', 'frame.time_epoch', 'tcp.stream',
  'ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport',
  'tcp.seq', 'tcp.len', 'tcp.payload',
];
const out = execFileSync(
  'tshark',
  ['-r', pcap, '-n', '-Y', 'tcp.len > 0', '-T', 'fields', '-E', 'separator=\t',
    '-o', 'tcp.relative_sequence_numbers:TRUE', ...fields.flatMap((f) => ['-e', f])],
  { encoding: 'utf8', maxBuffer: 1 << 30 },
);

/** One direction of one TCP stream being reassembled. */
class Direction {
  constructor(key, src, sport, dst, dport, stream) {
    Object.assign(this, { key, src, sport, dst, dport, stream });
    this.next = null; // next expected relative sequence number
    this.pending = new Map(); // seq -> {data, frame, time} that arrived early
    this.buf = Buffer.alloc(0);
    this.index = 0; // message index within this direction
  }
}

const dirs = new Map();
const messages = [];

function emit(d, frame, time) {
  for (;;) {
    if (d.buf.length < 19) return;
    if (!d.buf.subarray(0, 16).equals(MARKER)) {
      throw new Error(`stream ${d.stream} ${d.key}: lost BGP framing at frame ${frame}`);
    }
    const len = d.buf.readUInt16BE(16);
    if (len < 19) throw new Error(`stream ${d.stream} ${d.key}: bad length ${len} at frame ${frame}`);
    if (d.buf.length < len) return;
    const msg = d.buf.subarray(0, len);
    d.buf = d.buf.subarray(len);
    messages.push({
      stream: d.stream, index: d.index++, frame, time,
      src: d.src, sport: d.sport, dst: d.dst, dport: d.dport,
      type: TYPES[msg[18]] ?? `TYPE${msg[18]}`, length: len, hex: msg.toString('hex'),
    });
  }
}

function accept(d, seq, data, frame, time) {
  if (d.next === null) d.next = seq;
  if (seq > d.next) { // early: hold until the gap is filled
    d.pending.set(seq, { data, frame, time });
    return;
  }
  const skip = d.next - seq; // retransmitted bytes already seen
  if (skip >= data.length) return;
  d.buf = Buffer.concat([d.buf, data.subarray(skip)]);
  d.next = seq + data.length;
  emit(d, frame, time);
  for (const [s, p] of d.pending) {
    if (s <= d.next) {
      d.pending.delete(s);
      accept(d, s, p.data, p.frame, p.time);
      return;
    }
  }
}

for (const line of out.split('\n')) {
  if (!line) continue;
  const [frame, time, stream, ip4s, ip6s, sport, ip4d, ip6d, dport, seq, , payload] = line.split('\t');
  const src = ip4s || ip6s;
  const dst = ip4d || ip6d;
  const key = `${src}:${sport}>${dst}:${dport}`;
  let d = dirs.get(`${stream}/${key}`);
  if (!d) {
    d = new Direction(key, src, Number(sport), dst, Number(dport), Number(stream));
    dirs.set(`${stream}/${key}`, d);
  }
  accept(d, Number(seq), Buffer.from(payload.replaceAll(':', ''), 'hex'), Number(frame), Number(time));
}

for (const d of dirs.values()) {
  if (d.buf.length || d.pending.size) {
    process.stderr.write(`split: ${d.key} stream ${d.stream}: ${d.buf.length} trailing bytes, ${d.pending.size} unfilled segments\n`);
  }
}
messages.sort((a, b) => a.frame - b.frame || a.index - b.index);
for (const m of messages) process.stdout.write(JSON.stringify(m) + '\n');
