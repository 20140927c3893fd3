/**
 * In-process driver for the kernel route programmer (issue 16, docs/PERFORMANCE.md):
 * `n` best paths (/26s in an ipipMode Always pool, 10 next hops, handed over
 * 2000 per event-loop turn as the RIB's flushes do) through KernelProgrammer
 * to a backend that only counts what it is asked to apply (no kernel), so the
 * programmer's own CPU and memory are what is measured.
 * Run: node --expose-gc dist/bench/profile/kernel.js [n]   (add --cpu-prof to profile)
 * Prints one JSON line: ms to hand over every best path, ms until every op was
 * applied, and heap / array buffers / RSS in MB after a GC.
 */
import { KernelProgrammer } from '../../src/kernel/programmer.js';
import type { KernelBackend, RouteOp } from '../../src/kernel/backend.js';
import { RouteList, ShapeTable } from '../../src/kernel/route-table.js';

const n = Number(process.argv[2] ?? 1_000_000);
let applied = 0;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const backend: KernelBackend = {
  name: 'count',
  dump: async () => [],
  scan: async (shapes = new ShapeTable()) => ({ routes: new RouteList(shapes), foreign: new Map() }),
  apply: async (ops: RouteOp[]) => {
    applied += ops.length;
    await turn();
    return [];
  },
  linkIndex: async () => 5,
  close: () => undefined,
};
const programmer = new KernelProgrammer({ backend, scanIntervalMs: 0, initialHoldMs: 0 });
programmer.setNode({ name: 'n', ipv4: '10.77.0.1', ipv4PrefixLen: 16, asNumber: 64512, routerId: '10.77.0.1' });
programmer.setPools([{ name: 'p', cidr: '10.0.0.0/8', ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 }]);
await programmer.start();
const nextHops = Array.from({ length: 10 }, (_, i) => `10.77.1.${i + 1}`);
const t0 = performance.now();
for (let start = 0; start < n; start += 2000) {
  const changes = [];
  for (let i = start; i < Math.min(n, start + 2000); i++) changes.push({ key: (0x0a000000 + i * 64) * 64 + 26, nextHop: nextHops[i % 10] });
  programmer.applyBestPaths(changes);
  await turn();
}
const handedOver = performance.now();
while (applied < n) await turn();
await programmer.idle();
const done = performance.now();
(globalThis as { gc?: () => void }).gc?.();
const mu = process.memoryUsage();
const st = programmer.status();
console.log(JSON.stringify({ routes: n, handOverMs: Math.round(handedOver - t0), allAppliedMs: Math.round(done - t0), applied, programmed: st.programmed, heapMB: mu.heapUsed >> 20, arrayBuffersMB: mu.arrayBuffers >> 20, rssMB: mu.rss >> 20 }));
await programmer.stop();
