/**
 * Feeder process for the RIB benchmark: opens `peers` iBGP sessions to the
 * speaker under test at once (source 127.0.0.11.., as route-reflector
 * clients), and on each session blasts its pre-encoded UPDATEs and End-of-RIB
 * as soon as it is Established. It then reads what the speaker reflects
 * back, counting the announced prefixes (a walk over the NLRI field, no
 * decoding), so the speaker's output never stalls on a full socket.
 *
 * Prints JSON lines: {"event":"first-connect","t":<epoch ms>},
 * {"event":"sent","peer":i,"t":...}, and {"event":"reflected","t":...} once
 * every session has been announced `reflectEach` prefixes (0 = never).
 * Runs until killed.
 * Usage: node feeder.js <target> <port> <peers> <perPeer> [reflectEach]
 */
import net from 'node:net';
import { DEFAULT_CONTEXT, encodeMessage } from '../../src/bgp/codec/index.js';
import { BENCH_AS, feederAddress, feederRouterId, feederUpdates } from './workload.js';

const [target, portText, peersText, perPeerText] = process.argv.slice(2);
const port = Number(portText);
const peers = Number(peersText);
const perPeer = Number(perPeerText);
const reflectEach = Number(process.argv[6] ?? 0);
const announced = new Array<number>(peers).fill(0);
let reflectedSessions = 0;

/** Announced NLRI in one UPDATE (IPv4, no ADD-PATH: what both speakers send these feeders). */
function nlriCount(m: Buffer): number {
  const withdrawnLength = m.readUInt16BE(19);
  const attrLength = m.readUInt16BE(21 + withdrawnLength);
  let p = 23 + withdrawnLength + attrLength;
  let n = 0;
  while (p < m.length) {
    p += 1 + ((m[p] + 7) >> 3);
    n++;
  }
  return n;
}

function countReflected(i: number, m: Buffer): void {
  if (m[18] !== 2 || reflectEach <= 0 || announced[i] >= reflectEach) return;
  announced[i] += nlriCount(m);
  if (announced[i] < reflectEach) return;
  if (++reflectedSessions === peers) console.log(JSON.stringify({ event: 'reflected', t: Date.now() }));
}

const updates = Array.from({ length: peers }, (_, i) => feederUpdates(i, perPeer));
const keepalive = encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT);
let firstConnect = false;

function session(i: number): void {
  const open = encodeMessage(
    {
      type: 'OPEN',
      version: 4,
      myAs: BENCH_AS,
      holdTime: 240,
      bgpId: feederRouterId(i),
      capabilities: [
        { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
        { code: 65, name: 'as4', asn: BENCH_AS },
      ],
    },
    DEFAULT_CONTEXT,
  );
  const sock = net.connect({ host: target, port, localAddress: feederAddress(i) });
  let buf: Buffer = Buffer.alloc(0);
  let established = false;
  let gotOpen = false;
  sock.on('connect', () => {
    if (!firstConnect) {
      firstConnect = true;
      console.log(JSON.stringify({ event: 'first-connect', t: Date.now() }));
    }
    sock.setNoDelay(true);
    sock.write(open);
  });
  sock.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    while (buf.length >= 19) {
      const len = buf.readUInt16BE(16);
      if (buf.length < len) break;
      const type = buf[18];
      const m = buf.subarray(0, len);
      buf = buf.subarray(len);
      if (established) {
        countReflected(i, m);
        continue;
      }
      if (type === 1) {
        gotOpen = true;
        sock.write(keepalive);
      } else if (type === 4 && gotOpen) {
        established = true;
        for (const m of updates[i]) sock.write(m);
        console.log(JSON.stringify({ event: 'sent', peer: i, t: Date.now() }));
        setInterval(() => sock.write(keepalive), 30_000).unref();
        continue;
      } else if (type === 3) {
        console.log(JSON.stringify({ event: 'notification', peer: i, code: buf[19] }));
      }
    }
  });
  sock.on('error', (err) => console.log(JSON.stringify({ event: 'error', peer: i, message: err.message })));
  sock.on('close', () => {
    if (!established) setTimeout(() => session(i), 200); // the speaker may not listen yet
  });
}

for (let i = 0; i < peers; i++) session(i);
