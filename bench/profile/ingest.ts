/**
 * In-process ingest driver for profiling the RIB on the shapes of issue 16:
 * pre-encoded UPDATE buffers -> the codec's decodeMessage -> Rib.applyUpdate,
 * flushing every `flushEvery` messages (about one socket read's worth per
 * event-loop turn, as `agent run` does with requestFlush = setImmediate).
 *
 * Peers are set up as `agent run` sees global BGPPeers of the node's AS:
 * iBGP, not route-reflector clients, no cluster id; a best-path listener is
 * attached (the agent has one), an Adj-RIB-Out listener counts changes.
 *
 * Shapes: `one` (1 x 100k /26), `distinct` (10 x 100k distinct /26),
 * `same` (10 x the same 100k /26: 10 paths per prefix), `distinct6` (10 x 100k
 * distinct IPv6 /122 in MP_REACH_NLRI into the IPv6 RIB, as the ingest6-distinct
 * bench scenario sends them; issue 19).
 * Run: node --expose-gc dist/bench/profile/ingest.js <shape> [peers] [perPeer] [rr]
 * Prints one JSON line.
 */
import { DEFAULT_CONTEXT, decodeMessage, encodeAttributes, endOfRib, isEndOfRib, packUpdates, type DecodeContext, type UpdateMessage } from '../../src/bgp/codec/index.js';
import { encodeAttributes6, packUpdates6 } from '../../src/bgp/codec/pack6.js';
import { prefixKey } from '../../src/bgp/prefix.js';
import { prefix6Key } from '../../src/bgp/prefix6.js';
import { Rib } from '../../src/bgp/rib/rib.js';

const AS = 64512;
const CTX: DecodeContext = { ...DEFAULT_CONTEXT, as4: true, addPath: new Set<number>() };
const address = (i: number): string => `127.0.0.${11 + i}`;
const routerId = (i: number): string => `10.0.1.${1 + i}`;

function keys(base: number, n: number): number[] {
  const out = new Array<number>(n);
  for (let j = 0; j < n; j++) out[j] = prefixKey(base + j * 64, 26);
  return out;
}

const address6 = (i: number): string => `fd77::1:${(11 + i).toString(16)}`;

/** Feeder i's /122s: fd10:0:<i>::/48 + j * 64 (the bench feeder's set). */
function keys6(i: number, n: number): number[] {
  const out = new Array<number>(n);
  for (let j = 0; j < n; j++) out[j] = prefix6Key(0xfd100000, i << 16, 0, j * 64, 122);
  return out;
}

export function updates(shape: string, i: number, perPeer: number): Buffer[] {
  if (shape === 'distinct6') {
    const attrs6 = encodeAttributes6({ origin: 0, asPath: [], nextHop: address6(i), localPref: 100 }, CTX);
    const msgs6 = packUpdates6(attrs6, keys6(i, perPeer), null, CTX);
    msgs6.push(endOfRib(2, 1, CTX));
    return msgs6;
  }
  const attrs = encodeAttributes({ origin: 0, asPath: [], nextHop: address(i), localPref: 100 }, CTX);
  const base = shape === 'same' ? 0x20000000 : 0x20000000 + i * 0x800000;
  const msgs = packUpdates(attrs, keys(base, perPeer), null, CTX);
  msgs.push(endOfRib(1, 1, CTX));
  return msgs;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

const mem = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

export function run(shape: string, peers: number, perPeer: number, rr: boolean, flushEvery = 16) {
  const buffers = Array.from({ length: peers }, (_, i) => updates(shape, i, perPeer));
  gc();
  const heap0 = mem();
  const rss0 = process.memoryUsage().rss;
  const v6 = shape === 'distinct6';
  const rib4 = new Rib({ localAs: AS, routerId: '10.0.0.1', ...(rr ? { clusterId: '1.1.1.1' } : {}), localAddress: '127.0.0.1' });
  const rib = v6 ? rib4.ipv6Sibling('fd77::1') : rib4;
  let outChanges = 0;
  let bestChanges = 0;
  rib.onAdjRibOut((_p, c) => {
    outChanges += c.length;
  });
  rib.onBestPathChange((c) => {
    bestChanges += c.length;
  });
  for (let i = 0; i < peers; i++) {
    rib.addPeer({ name: `f${i}`, address: v6 ? address6(i) : address(i), asNumber: AS, rrClient: rr, keepOriginalNextHop: false, addPathSend: false });
    rib.peerUp(`f${i}`, { remoteRouterId: routerId(i), addPathSend: false, addPathReceive: false });
  }
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const max = Math.max(...buffers.map((b) => b.length));
  let n = 0;
  for (let m = 0; m < max; m++) {
    for (let i = 0; i < peers; i++) {
      const buf = buffers[i][m];
      if (buf === undefined) continue;
      const msg = decodeMessage(buf, CTX) as UpdateMessage;
      if (isEndOfRib(msg)) rib.endOfRib(`f${i}`);
      else rib.applyUpdate(`f${i}`, msg);
      if (++n % flushEvery === 0) rib.flush();
    }
  }
  rib.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const rssPeak = process.resourceUsage().maxRSS * 1024;
  let paths = 0;
  for (let i = 0; i < peers; i++) paths += rib.counters(`f${i}`).accepted;
  buffers.length = 0;
  gc();
  const heapBytes = mem() - heap0;
  const r = {
    shape,
    peers,
    perPeer,
    rr,
    paths,
    prefixes: rib.size(),
    seconds: +seconds.toFixed(3),
    cpuSeconds: +((cu.user + cu.system) / 1e6).toFixed(3),
    pathsPerSecond: Math.round(paths / seconds),
    bytesPerPath: Math.round(heapBytes / paths),
    rssGrowthPerPath: Math.round((rssPeak - rss0) / paths),
    outChanges,
    bestChanges,
  };
  if (rib.size() < 0) console.log('unreachable');
  return r;
}

if (process.argv[1]?.endsWith('ingest.js')) {
  const shape = process.argv[2] ?? 'same';
  const peers = Number(process.argv[3] ?? (shape === 'one' ? 1 : 10));
  const perPeer = Number(process.argv[4] ?? 100_000);
  console.log(JSON.stringify(run(shape, peers, perPeer, process.argv[5] === 'rr')));
}
