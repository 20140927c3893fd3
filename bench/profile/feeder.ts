/**
 * Feeder for the socket runs of bench/profile/socket.ts: `peers` iBGP
 * sessions (source 127.0.0.11.., AS 64512, router id 10.0.1.(1+i)) to the
 * speaker; each blasts its pre-encoded UPDATEs and End-of-RIB as one write as
 * soon as it is Established, then only answers with KEEPALIVEs and discards
 * what it reads (so the speaker's output never stalls). The UPDATEs are
 * encoded before the first connect, so encoding is outside the timed span.
 * Prints {"event":"first-connect","t":<ms>} and {"event":"sent","peer":i,"t":<ms>}.
 * Usage: node feeder.js <target> <port> <shape one|distinct|same> <peers> <perPeer>
 */
import net from 'node:net';
import { DEFAULT_CONTEXT, encodeMessage } from '../../src/bgp/codec/index.js';
import { updates } from './ingest.js';

const [target, portText, shape, peersText, perPeerText] = process.argv.slice(2);
const port = Number(portText);
const peers = Number(peersText);
const perPeer = Number(perPeerText);
const AS = 64512;
const blobs = Array.from({ length: peers }, (_, i) => Buffer.concat(updates(shape, i, perPeer)));
const keepalive = encodeMessage({ type: 'KEEPALIVE' }, DEFAULT_CONTEXT);
let firstConnect = false;

function session(i: number): void {
  const open = encodeMessage(
    {
      type: 'OPEN',
      version: 4,
      myAs: AS,
      holdTime: 240,
      bgpId: `10.0.1.${1 + i}`,
      capabilities: [
        { code: 1, name: 'multiprotocol', afi: 1, safi: 1 },
        { code: 65, name: 'as4', asn: AS },
      ],
    },
    DEFAULT_CONTEXT,
  );
  const sock = net.connect({ host: target, port, localAddress: `127.0.0.${11 + i}` });
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
    if (established) return;
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    while (buf.length >= 19 && !established) {
      const len = buf.readUInt16BE(16);
      if (buf.length < len) break;
      const type = buf[18];
      buf = buf.subarray(len);
      if (type === 1) {
        gotOpen = true;
        sock.write(keepalive);
      } else if (type === 4 && gotOpen) {
        established = true;
        sock.write(blobs[i]);
        console.log(JSON.stringify({ event: 'sent', peer: i, t: Date.now() }));
        setInterval(() => sock.write(keepalive), 30_000).unref();
      } else if (type === 3) {
        console.log(JSON.stringify({ event: 'notification', peer: i }));
      }
    }
  });
  sock.on('error', () => undefined);
  sock.on('close', () => {
    if (!established) setTimeout(() => session(i), 100); // the speaker may not listen yet
  });
}

for (let i = 0; i < peers; i++) session(i);
