/**
 * Our side of the mesh bring-up benchmark, run inside the `mbsut` namespace:
 * the agent's Speaker on 10.77.0.1:179 with N passive node-to-node mesh
 * peers (the feeders connect), and a Rib wired to it with wireRib, as the
 * agent builds them (listener first, then the peers, so the backlog is the
 * listener's floor of 1024 as in `agent run`).
 *
 * Prints JSON lines on stdout:
 *   {"event":"listening","port","backlog"}
 *   {"event":"all-established","t"}      the N-th 'established' session event
 *   {"event":"all-prefixes","t","cpuSeconds"}   the Loc-RIB holds N prefixes
 *                                        (checked after each UPDATE, so the instant is exact)
 *   {"event":"progress","t",established,prefixes,cpuSeconds,elDelayMaxMs} every 500 ms
 * Runs until killed.
 * Usage: node speaker-proc.js <nodes> [port=179]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { PeerConfig } from '../../src/datastore/desired.js';
import { Rib } from '../../src/bgp/rib/rib.js';
import { wireRib } from '../../src/bgp/rib/wiring.js';
import { Speaker } from '../../src/bgp/session/speaker.js';
import { MESH_AS, SUT_ADDRESS, meshSessionName, nodeAddress } from './workload.js';

const nodes = Number(process.argv[2]);
const port = Number(process.argv[3] ?? 179);
if (!Number.isInteger(nodes) || nodes < 1) {
  console.error('usage: speaker-proc.js <nodes> [port]');
  process.exit(2);
}

const cpu0 = process.cpuUsage();
const cpuSeconds = (): number => {
  const c = process.cpuUsage(cpu0);
  return (c.user + c.system) / 1e6;
};
const elDelay = monitorEventLoopDelay({ resolution: 10 });
elDelay.enable();

const rib = new Rib({ localAs: MESH_AS, routerId: SUT_ADDRESS, localAddress: SUT_ADDRESS });
const speaker = new Speaker({ asNumber: MESH_AS, routerId: SUT_ADDRESS, listenAddress: SUT_ADDRESS, listenPort: port });
let established = 0;
let allUp = false;
let allPrefixes = false;
const emit = (event: string, extra: object = {}): void => {
  console.log(JSON.stringify({ event, t: Date.now(), ...extra }));
};
const wiring = wireRib(speaker, rib, {
  onEvent: (e) => {
    if (e.type === 'established') {
      established++;
      if (!allUp && established >= nodes) {
        allUp = true;
        emit('all-established', { cpuSeconds: cpuSeconds() });
      }
    } else if (e.type === 'down') {
      established--;
    } else if (e.type === 'update' && !allPrefixes && rib.size() >= nodes) {
      allPrefixes = true;
      emit('all-prefixes', { prefixes: rib.size(), cpuSeconds: cpuSeconds() });
    }
  },
});

const boundPort = await speaker.start();
const configs: PeerConfig[] = Array.from({ length: nodes }, (_, i) => {
  const address = nodeAddress(i);
  return {
    name: meshSessionName(address),
    type: 'node-to-node mesh',
    address,
    port: 179,
    asNumber: MESH_AS,
    // Calico's rule: the greater address (as a string) connects; here every node connects to us.
    passive: true,
    sourceAddress: SUT_ADDRESS,
    keepOriginalNextHop: false,
    restartTime: 120,
  };
});
wiring.setPeers(configs);
emit('listening', { port: boundPort, peers: nodes, cpuSeconds: cpuSeconds() });
// SIGTERM ends the process normally, so `node --cpu-prof` writes its profile (MESH_PROFILE_DIR in the runner).
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {
  emit('progress', { established, prefixes: rib.size(), cpuSeconds: cpuSeconds(), elDelayMaxMs: Math.round(elDelay.max / 1e6) });
}, 500);
