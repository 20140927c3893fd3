/**
 * Scenario 8: a peer's UPDATE until the route is in the kernel. One mesh peer
 * announces 1000 new /26 blocks (one UPDATE each, 10 ms apart); the same
 * process times the write and the route's arrival in `ip monitor route`.
 * Kernel programming on for both.
 */
import { join } from 'node:path';
import { jsonLines } from '../json-lines.js';
import { NODE_POOL } from '../feeders/workload.js';
import { BENCH_DIST, Lab, birdConfig, clusterKvs, startAgent, startBird, type ClusterSpec, type Side, type SpeakerProc } from '../lib/lab.js';
import { memory, monoMs, stopChild } from '../lib/proc.js';
import { alternate, percentile, round, type RunRecord, type Scenario, type ScenarioOutput } from '../lib/runner.js';
import { waitIn } from './cluster.js';

export const wireToKernel: Scenario = {
  name: 'wire-kernel',
  title: 'a peer\'s UPDATE until the route is in the kernel',
  group: 'kernel',
  method:
    'One simulated mesh peer writes one UPDATE (one /26) every 10 ms and watches `ip monitor route` in the SUT namespace itself: latency = route event arrival - UPDATE write, one process, one clock. ' +
    'Agent: agent run (kernel programming on) configured through etcd; BIRD 2: confd\'s rendering, kernel protocol exporting.',
  async run({ quick, runs }): Promise<ScenarioOutput> {
    const count = quick ? 50 : 1000;
    const sut = '10.77.0.1';
    const spec: ClusterSpec = { mesh: true, sutAddress: sut, nodes: 1, pools: [{ name: 'bench-nodes', cidr: NODE_POOL, ipipMode: 'Always' }], sutBlocks: ['100.127.0.0/26'] };
    const lab = await Lab.create({ peers: 1, sutAddress: sut });
    try {
      await lab.put(clusterKvs(spec));
      const rs = await alternate(runs, async (side: Side, run: number): Promise<RunRecord> => {
        lab.flushRoutes();
        let speaker: SpeakerProc | undefined;
        let driver: ReturnType<Lab['spawnIn']> | undefined;
        try {
          speaker =
            side === 'agent'
              ? await startAgent(lab, `wk-${run}`, { programRoutes: true, peers: 1 })
              : await startBird(lab, `wk-${run}`, (logFile) => birdConfig(spec, { kernel: true, logFile }));
          driver = lab.spawnIn('peers', process.execPath, [join(BENCH_DIST, 'feeders', 'wire-kernel.js'), sut, String(count), '10']);
          const ev = jsonLines(driver, '[wire-kernel] ');
          const res = await waitIn(ev, 'result', monoMs() + 60_000 + count * 20);
          const lat = res.latenciesMs as number[];
          const mem = memory(speaker.pid);
          return {
            side,
            run,
            reached: (res.missing as number) === 0,
            figures: { p50Ms: round(percentile(lat, 0.5), 3), p99Ms: round(percentile(lat, 0.99), 3), maxMs: round(Math.max(...lat), 3), peakRssMB: round(mem.hwmBytes / 1e6, 1) },
            detail: { updates: count, missing: res.missing, driverCpuSeconds: res.cpuSeconds, latenciesMs: lat },
          };
        } finally {
          await stopChild(driver);
          await speaker?.stop();
        }
      });
      return {
        settings: { updates: count, gapMs: 10 },
        figures: [
          { name: 'p50Ms', unit: 'ms', what: 'UPDATE written until the route is in the kernel, p50' },
          { name: 'p99Ms', unit: 'ms', what: 'same, p99' },
          { name: 'maxMs', unit: 'ms', what: 'same, max' },
          { name: 'peakRssMB', unit: 'MB', what: 'VmHWM' },
        ],
        runs: rs,
      };
    } finally {
      await lab.destroy();
    }
  },
};
