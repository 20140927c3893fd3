/**
 * In-process: a reflector's (or a mesh node's) RIB bringing up N ADD-PATH
 * peers, each announcing one /26 once its session is up, as in rr-scale and
 * the mesh scenarios. Prints the CPU of the RIB work, the OutChange objects
 * handed to the sessions and how many of them are distinct objects (shared
 * per export group, docs/ARCHITECTURE.md "Where the speed comes from"), and
 * the heap they hold. No sockets: what the RIB costs, apart from the rest.
 *
 *   node --expose-gc dist/bench/profile-session/rib-groups.js [dist dir] [N] [rr|mesh]
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OutChange } from '../../src/bgp/route.js';
import type { Rib as RibClass } from '../../src/bgp/rib/rib.js';

const dist = resolve(process.argv[2] ?? 'dist');
const n = Number(process.argv[3] ?? 1000);
const mode = process.argv[4] ?? 'rr';
const { Rib } = (await import(pathToFileURL(join(dist, 'src', 'bgp', 'rib', 'rib.js')).href)) as { Rib: typeof RibClass };
const ip = (i: number): string => `10.77.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
const rib = new Rib({ localAs: 64512, routerId: '10.77.0.1', clusterId: mode === 'rr' ? '10.77.0.1' : undefined, localAddress: '10.77.0.1', schedule: () => () => undefined });
let flushed = 0;
const objects = new Set<OutChange>();
rib.onAdjRibOut((_peer, changes) => {
  flushed += changes.length;
  for (const c of changes) objects.add(c);
});
for (let i = 0; i < n; i++) rib.addPeer({ name: `c${i}`, address: ip(i), asNumber: 64512, rrClient: mode === 'rr', keepOriginalNextHop: false, addPathSend: true });
(globalThis as { gc?: () => void }).gc?.();
const cpu0 = process.cpuUsage();
const heap0 = process.memoryUsage().heapUsed;
let full = 0;
for (let i = 0; i < n; i++) {
  const table = rib.peerUp(`c${i}`, { remoteRouterId: ip(i), addPathSend: true, addPathReceive: true });
  full += table.length;
  for (const c of table) objects.add(c);
  const key = (0x64400000 + i * 64) * 64 + 26;
  rib.applyUpdate(`c${i}`, { type: 'UPDATE', withdrawn: { keys: [], pathIds: null }, attributes: { origin: 0, asPath: [], nextHop: ip(i), localPref: 100 }, nlri: { keys: [key], pathIds: [1] } });
  rib.flush();
}
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ dist, mode, peers: n, cpuMs: Math.round((cpu.user + cpu.system) / 1000), fullExportChanges: full, flushedChanges: flushed, distinctOutChangeObjects: objects.size, heapHeldMB: Number(((process.memoryUsage().heapUsed - heap0) / 1e6).toFixed(1)) }));
