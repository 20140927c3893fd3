/**
 * In-process RIB ingest: pre-encoded UPDATE buffers -> codec decode -> Rib ->
 * best path -> Adj-RIB-Out for every route-reflector client (OutChanges
 * produced and handed to a listener that counts them; no TCP, no encoding
 * of the outgoing UPDATEs). Run with --expose-gc for bytes per path.
 *
 * Prints one JSON line: { paths, seconds, pathsPerSecond, bytesPerPath, ... }.
 */
import { decodeMessage, type UpdateMessage } from '../../src/bgp/codec/index.js';
import { Rib } from '../../src/bgp/rib/rib.js';
import { BENCH_AS, feederAddress, feederRouterId, feederUpdates, SEND_CONTEXT } from './workload.js';

export interface IngestResult {
  peers: number;
  perPeer: number;
  paths: number;
  seconds: number;
  /** CPU seconds of this process (user + system) over the same span: the machine is shared. */
  cpuSeconds: number;
  pathsPerSecond: number;
  heapBytes: number;
  bytesPerPath: number;
  outChanges: number;
  attributeSets: number;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export function runIngest(peers: number, perPeer: number, flushEvery = 16, reflect = true): IngestResult {
  const buffers = Array.from({ length: peers }, (_, i) => feederUpdates(i, perPeer));
  gc();
  // Typed-array backing stores live outside the V8 heap: count them too.
  const mem = (): number => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const heap0 = mem();
  const rib = new Rib({ localAs: BENCH_AS, routerId: '10.0.0.1', ...(reflect ? { clusterId: '1.1.1.1' } : {}), localAddress: '127.0.0.1' });
  let outChanges = 0;
  rib.onAdjRibOut((_peer, changes) => {
    outChanges += changes.length;
  });
  for (let i = 0; i < peers; i++) {
    rib.addPeer({ name: `f${i}`, address: feederAddress(i), asNumber: BENCH_AS, rrClient: reflect, keepOriginalNextHop: false, addPathSend: false });
    rib.peerUp(`f${i}`, { remoteRouterId: feederRouterId(i), addPathSend: false, addPathReceive: false });
  }
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  // Interleave peers message by message, as sockets would deliver them; flush
  // every `flushEvery` messages (one event-loop turn's worth of reads).
  const max = Math.max(...buffers.map((b) => b.length));
  let n = 0;
  for (let m = 0; m < max; m++) {
    for (let i = 0; i < peers; i++) {
      const buf = buffers[i][m];
      if (buf === undefined) continue;
      const msg = decodeMessage(buf, SEND_CONTEXT) as UpdateMessage;
      if (msg.nlri.keys.length === 0 && msg.withdrawn.keys.length === 0) rib.endOfRib(`f${i}`);
      else rib.applyUpdate(`f${i}`, msg);
      if (++n % flushEvery === 0) rib.flush();
    }
  }
  rib.flush();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const cpuSeconds = (cu.user + cu.system) / 1e6;
  let paths = 0;
  for (let i = 0; i < peers; i++) paths += rib.counters(`f${i}`).accepted;
  buffers.length = 0;
  gc();
  const heapBytes = mem() - heap0;
  const result: IngestResult = {
    peers,
    perPeer,
    paths,
    seconds,
    cpuSeconds,
    pathsPerSecond: Math.round(paths / seconds),
    heapBytes,
    bytesPerPath: Math.round(heapBytes / paths),
    outChanges,
    attributeSets: rib.attributeSets(),
  };
  // Keep the RIB alive until measured.
  if (rib.size() < 0) console.log('unreachable');
  return result;
}

if (process.argv[1]?.endsWith('ingest-bench.js')) {
  const peers = Number(process.argv[2] ?? 10);
  const perPeer = Number(process.argv[3] ?? 100_000);
  const reflect = process.argv[4] !== 'ingest';
  console.log(JSON.stringify({ mode: reflect ? 'reflect' : 'ingest', ...runIngest(peers, perPeer, 16, reflect) }));
}
