// Preloaded into the agent by mesh-fanout (PS_ELD=1, `--import`): prints the
// event-loop delay max so far (ms) and the heap figures each second on stderr.
import { monitorEventLoopDelay } from 'node:perf_hooks';
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
setInterval(() => {
  // PS_GC=1 with --expose-gc: collect first, so heapUsed is what is live.
  if (process.env.PS_GC && typeof globalThis.gc === 'function') globalThis.gc();
  const u = process.memoryUsage();
  const mb = (x) => (x / 1048576).toFixed(1);
  process.stderr.write(`PSELD ${(h.max / 1e6).toFixed(1)} heapTotal=${mb(u.heapTotal)} heapUsed=${mb(u.heapUsed)} external=${mb(u.external)} ab=${mb(u.arrayBuffers)}\n`);
}, 1000).unref();
