/**
 * Our side of the socket benchmark: Speaker + Rib as a route reflector on
 * 127.0.0.1:<port> for `peers` passive iBGP clients (127.0.0.11..), wired as
 * in src/bgp/rib/wiring.ts. Prints one JSON line when the RIB holds every
 * path (checked after each UPDATE, so the instant is exact), then memory.
 * Usage: node --expose-gc speaker-proc.js <port> <peers> <perPeer> [reflect|ingest]
 * (`ingest`: plain iBGP peers and no cluster id, so nothing is re-advertised.)
 */
import type { PeerConfig } from '../../src/datastore/desired.js';
import { Rib } from '../../src/bgp/rib/rib.js';
import { wireRib } from '../../src/bgp/rib/wiring.js';
import { Speaker } from '../../src/bgp/session/index.js';
import { BENCH_AS, feederAddress } from './workload.js';

const [portText, peersText, perPeerText, modeText] = process.argv.slice(2);
const reflect = modeText !== 'ingest';
const port = Number(portText);
const peers = Number(peersText);
const expected = peers * Number(perPeerText);

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
gc();
// Typed-array backing stores (the RIB's tables) live outside the V8 heap: count them too.
const heapNow = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const heap0 = heapNow();
const rss0 = process.memoryUsage().rss;
const rib = new Rib({ localAs: BENCH_AS, routerId: '10.0.0.1', ...(reflect ? { clusterId: '1.1.1.1' } : {}), localAddress: '127.0.0.1' });
const speaker = new Speaker({ asNumber: BENCH_AS, routerId: '10.0.0.1', listenAddress: '127.0.0.1', listenPort: port, fsm: { connectDelayTime: 0 } });
let accepted = 0;
let done = false;
const cpu0 = process.cpuUsage();
const wiring = wireRib(speaker, rib, {
  onEvent: (e) => {
    if (done || e.type !== 'update') return;
    accepted += e.update.nlri.keys.length; // distinct prefixes: every NLRI is a new accepted path
    if (accepted < expected) return;
    let total = 0;
    for (let i = 0; i < peers; i++) total += rib.counters(`f${i}`).accepted;
    if (total < expected) return;
    done = true;
    const t = Date.now();
    const cu = process.cpuUsage(cpu0);
    console.log(JSON.stringify({ event: 'done', t, paths: total, cpuSeconds: (cu.user + cu.system) / 1e6 }));
    setTimeout(() => {
      // Let the reflected output drain, then weigh what the RIB keeps.
      gc();
      const m = process.memoryUsage();
      console.log(JSON.stringify({ event: 'memory', heapBytes: heapNow() - heap0, rssBytes: m.rss - rss0, paths: total, advertised: rib.counters('f0').advertised }));
      if (process.env.RIB_BENCH_EXIT === '1') process.exit(0); // lets --cpu-prof write its profile
    }, 3000);
  },
});
await speaker.start();
const configs: PeerConfig[] = Array.from({ length: peers }, (_, i) => ({
  name: `f${i}`,
  type: 'global',
  address: feederAddress(i),
  port: 179,
  asNumber: BENCH_AS,
  passive: true,
  sourceAddress: '127.0.0.1',
  ...(reflect ? { routeReflectorClient: { clusterId: '1.1.1.1' } } : {}),
  keepOriginalNextHop: false,
  restartTime: 120,
}));
wiring.setPeers(configs);
console.log(JSON.stringify({ event: 'listening', port }));
