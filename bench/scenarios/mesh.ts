/**
 * Scenario 6: a 1000-node Calico mesh around the SUT, configured through etcd
 * (1000 Node resources, one block each, the SUT's own block), route
 * programming on. End: every session Established (the simulated nodes'
 * view) and every node's block in the SUT's kernel (netlink events).
 *
 * mesh-calico: the SUT's address sits among the nodes' (10.77.2.251): by
 *   confd's string rule it dials the smaller half with its own connect timers
 *   (BIRD: connect delay 2 s, retry 5 s) and the greater half dials it, retrying
 *   after 5 s as BIRD would.
 * mesh-storm: the SUT is 10.77.0.1, passive to all: all 1000 dial at once.
 */
import { NODE_POOL, nodeBlock } from '../feeders/workload.js';
import { formatPrefix } from '../feeders/wire.js';
import { Lab, clusterKvs, type ClusterSpec, type Side } from '../lib/lab.js';
import { memory, monoMs, sleep } from '../lib/proc.js';
import { kernelRouteCount } from '../lib/routes.js';
import { alternate, round, type RunRecord, type Scenario, type ScenarioOutput } from '../lib/runner.js';
import { bringUp } from './cluster.js';

function meshScenario(name: string, title: string, sutAddress: string, storm: boolean): Scenario {
  return {
    name,
    title,
    group: 'mesh',
    method:
      'Simulated nodes in one process (their CPU in the JSON); time zero = the first TCP connection either way; Established = the nodes saw the SUT\'s KEEPALIVE after OPEN; ' +
      'kernel = `ip monitor route` in the SUT namespace shows every node block as a proto bird route (then one dump confirms). CPU: schedstat, all threads, until both are done. ' +
      'Agent: agent run (kernel programming on) configured through etcd; BIRD 2: confd\'s rendering of the same cluster.',
    async run({ quick, runs }): Promise<ScenarioOutput> {
      const n = quick ? 50 : 1000;
      const spec: ClusterSpec = {
        mesh: true,
        sutAddress,
        nodes: n,
        pools: [{ name: 'bench-nodes', cidr: NODE_POOL, ipipMode: 'Always' }],
        sutBlocks: ['100.127.0.0/26'],
        nodeBlock: (i) => formatPrefix(nodeBlock(i)),
      };
      const lab = await Lab.create({ peers: n, sutAddress });
      const limitMs = quick ? 40_000 : 60_000;
      try {
        await lab.put(clusterKvs(spec));
        const rs = await alternate(runs, async (side: Side, run: number): Promise<RunRecord> => {
          lab.flushRoutes();
          const c = await bringUp(lab, spec, side, `${name}-${run}`, { listen: !storm, dialAll: storm, retryMs: 5000, expectEach: 0, sample: [], kernel: true, watchRoutes: true });
          try {
            const deadline = c.t0 + limitMs;
            const est = await c.waitEvent('all-established', deadline).catch(() => null);
            if (est === null) {
              // Not reached within the run limit: what the simulated nodes saw by then (a figure of its own, not a time).
              const ns = await c.nodeStats();
              return {
                side,
                run,
                reached: false,
                figures: { establishedSeconds: null, kernelSeconds: null, cpuSeconds: null, peakRssMB: round(memory(c.speaker.pid).hwmBytes / 1e6, 1), rssMB: null },
                detail: { nodes: n, establishedAtLimit: (ns?.established as number | undefined) ?? null, limitSeconds: limitMs / 1000, nodesProcess: ns ?? null },
                error: `${(ns?.established as number | undefined) ?? '?'} of ${n} sessions Established after the ${limitMs / 1000} s run limit`,
              };
            }
            const kernelAt = await Promise.race([c.routes!.when(n), sleep(Math.max(0, deadline - monoMs())).then(() => null)]);
            const end = Math.max(est.t as number, kernelAt ?? 0);
            await sleep(300);
            const counted = kernelRouteCount();
            const mem = memory(c.speaker.pid);
            const ns = await c.nodeStats();
            const flaps = c.events.filter((e) => e.event === 'flap').length;
            return {
              side,
              run,
              reached: kernelAt !== null && counted >= n,
              figures: {
                establishedSeconds: round(((est.t as number) - c.t0) / 1000),
                kernelSeconds: kernelAt !== null ? round((kernelAt - c.t0) / 1000) : null,
                cpuSeconds: round(c.watch.cpuAt(end) - c.watch.cpuBefore(c.t0)),
                peakRssMB: round(mem.hwmBytes / 1e6, 1),
                rssMB: round(mem.rssBytes / 1e6, 1),
              },
              detail: {
                nodes: n,
                establishedP50Seconds: round(((est.p50 as number) - c.t0) / 1000),
                kernelRoutesCounted: counted,
                idleRssMB: round(c.idleRss / 1e6, 1),
                flaps,
                monitorOverruns: c.routes!.overruns,
                nodesProcess: ns ?? null,
              },
            };
          } finally {
            await c.close();
          }
        });
        return {
          settings: { nodes: n, sutAddress, connectStorm: storm, retrySeconds: 5, runLimitSeconds: limitMs / 1000 },
          figures: [
            { name: 'establishedSeconds', unit: 's', what: 'first connect until every session is Established' },
            { name: 'kernelSeconds', unit: 's', what: 'first connect until every node block is in the kernel' },
            { name: 'cpuSeconds', unit: 's', what: 'speaker CPU until both' },
            { name: 'peakRssMB', unit: 'MB', what: 'VmHWM' },
            { name: 'rssMB', unit: 'MB', what: 'VmRSS at the end' },
          ],
          runs: rs,
        };
      } finally {
        await lab.destroy();
      }
    },
  };
}

export const meshCalico = meshScenario('mesh-calico', '1000-node mesh bring-up, Calico\'s dial rule and connect timers', '10.77.2.251', false);
export const meshStorm = meshScenario('mesh-storm', '1000-node mesh bring-up as a connect storm (all dial at once)', '10.77.0.1', true);
