/**
 * The ingest feeder: `peers` iBGP sessions to the speaker under test, from
 * 10.77.x.y (Calico nodes of the lab's cluster, see lab.ts), all dialled at
 * once; on each, as soon as it is Established, the pre-encoded UPDATEs (full
 * 4096-byte messages, ~810 /26 each) and End-of-RIB. It reads everything the
 * speaker sends, counting announced prefixes per session (a walk over the NLRI
 * field), so the speaker never stalls on a full socket; with `reflectEach` > 0
 * it reports when every session was announced that many (route reflection).
 *
 * Prefix sets: `distinct` (feeder i from 32.0.0.0 + i * 2^23) or `same` (every
 * feeder the same prefixes from 32.0.0.0: many paths per prefix).
 *
 * JSON lines on stdout, times CLOCK_MONOTONIC ms:
 *   ready {encodeMs}            messages built, about to dial
 *   first-connect {t}
 *   established {peer, t}
 *   drained {t, cpuSeconds}     every session's UPDATEs are written to the kernel (socket buffers drained)
 *   reflected {t, cpuSeconds}   every session was announced reflectEach prefixes
 *   notification {peer, code, subcode}, closed {peer, established}
 *   stats {cpuSeconds, ...}     on the line "stats" on stdin
 * Usage: node ingest.js <target> <port> <peers> <perPeer> <distinct|same> [reflectEach=0] [family=4]
 *
 * family 6: IPv6 sessions from fd77::x:y (feederAddress6) to an IPv6 target,
 * OPEN with IPv6 unicast only and MP_REACH_NLRI UPDATEs of distinct /122s
 * (feederNlri6), then the IPv6 End-of-RIB: what a bird6 session carries.
 */
import net from 'node:net';
import { AS_NUMBER, feederAddress, feederAddress6, feederKeys, feederNlri6 } from './workload.js';
import { Frames, KEEPALIVE, END_OF_RIB, END_OF_RIB6, announce, announce6, announcedCount, cpuSeconds, mono, open, open6 } from './wire.js';

const [target, portText, peersText, perPeerText, kind, reflectText, familyText] = process.argv.slice(2);
const v6 = familyText === '6';
if (v6 && (kind !== 'distinct' || Number(reflectText ?? 0) > 0)) throw new Error('family 6: distinct prefixes only, no reflection count');
/** The session's source address: the feeder's IPv4 or IPv6 address. */
const source = (i: number): string => (v6 ? feederAddress6(i) : feederAddress(i));
const port = Number(portText);
const peers = Number(peersText);
const perPeer = Number(perPeerText);
const reflectEach = Number(reflectText ?? 0);
const cpu0 = process.cpuUsage();
const say = (o: Record<string, unknown>): void => void process.stdout.write(JSON.stringify(o) + '\n');

const t0 = mono();
const messages = Array.from({ length: peers }, (_, i) => {
  if (v6) return Buffer.concat([...announce6(feederAddress6(i), feederNlri6(i, perPeer)), END_OF_RIB6]);
  const m = announce(feederAddress(i), feederKeys(kind === 'same' ? 0 : i, perPeer));
  m.push(END_OF_RIB);
  return Buffer.concat(m);
});
say({ event: 'ready', encodeMs: mono() - t0, bytes: messages.reduce((a, m) => a + m.length, 0) });

const announced = new Array<number>(peers).fill(0);
let reflectedSessions = 0;
let drained = 0;
let firstConnect = false;
let establishedCount = 0;
let bytesIn = 0;

function session(i: number): void {
  const sock = net.connect({ host: target, port, localAddress: source(i) });
  const frames = new Frames();
  let gotOpen = false;
  let established = false;
  sock.setNoDelay(true);
  sock.on('connect', () => {
    if (!firstConnect) {
      firstConnect = true;
      say({ event: 'first-connect', t: mono() });
    }
    sock.write(v6 ? open6(AS_NUMBER, feederAddress(i)) : open(AS_NUMBER, feederAddress(i))); // BGP id: the IPv4 address either way
  });
  sock.on('data', (d: Buffer) => {
    bytesIn += d.length;
    frames.push(d, (m) => {
      const type = m[18];
      if (established) {
        if (type === 2 && reflectEach > 0 && announced[i] < reflectEach) {
          announced[i] += announcedCount(m);
          if (announced[i] >= reflectEach && ++reflectedSessions === peers) say({ event: 'reflected', t: mono(), cpuSeconds: cpuSeconds(cpu0) });
        } else if (type === 4) sock.write(KEEPALIVE);
        else if (type === 3) say({ event: 'notification', peer: i, code: m[19], subcode: m[20] });
        return;
      }
      if (type === 1) {
        gotOpen = true;
        sock.write(KEEPALIVE);
      } else if (type === 4 && gotOpen) {
        established = true;
        establishedCount++;
        say({ event: 'established', peer: i, t: mono() });
        const flushed = sock.write(messages[i]);
        const done = (): void => {
          if (++drained === peers) say({ event: 'drained', t: mono(), cpuSeconds: cpuSeconds(cpu0) });
        };
        if (flushed) done();
        else sock.once('drain', done);
      } else if (type === 3) {
        say({ event: 'notification', peer: i, code: m[19], subcode: m[20] });
      }
    });
  });
  sock.on('error', () => {
    /* reported by close */
  });
  sock.on('close', () => {
    say({ event: 'closed', peer: i, established });
    if (established) return; // a session that was up and went down is a failure of the run, not retried
    setTimeout(() => session(i), 200); // the speaker refused: retry soon
  });
}

process.stdin.on('data', (d) => {
  if (d.toString().includes('stats')) say({ event: 'stats', cpuSeconds: cpuSeconds(cpu0), established: establishedCount, bytesIn, announced: announced.reduce((a, b) => a + b, 0) });
});
for (let i = 0; i < peers; i++) session(i);
