// Preloaded into the agent by mesh-fanout (`--node-flags "--import .../eld-preload.mjs"`): prints
// the event-loop delay max so far (ms), its p99, the longest GC pause and the heap figures each
// second on stderr (reset by SIGWINCH). PS_GC=1 with --expose-gc: collect first, so heapUsed is what is live.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
let gcMax = 0;
let gcMaxKind = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.duration > gcMax) {
      gcMax = e.duration;
      gcMaxKind = e.detail?.kind ?? 0;
    }
  }
}).observe({ entryTypes: ['gc'] });
// The harness sends SIGWINCH when the sessions start: start and the etcd list are not counted.
process.on('SIGWINCH', () => {
  h.reset();
  gcMax = 0;
});
setInterval(() => {
  if (process.env.PS_GC && typeof globalThis.gc === 'function') globalThis.gc();
  const u = process.memoryUsage();
  const mb = (x) => (x / 1048576).toFixed(1);
  process.stderr.write(
    `PSELD ${(h.max / 1e6).toFixed(1)} p99=${(h.percentile(99) / 1e6).toFixed(1)} gcMax=${gcMax.toFixed(1)}(kind ${gcMaxKind}) heapTotal=${mb(u.heapTotal)} heapUsed=${mb(u.heapUsed)} external=${mb(u.external)} ab=${mb(u.arrayBuffers)}\n`,
  );
}, 1000).unref();
