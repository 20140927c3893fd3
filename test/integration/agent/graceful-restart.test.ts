/**
 * Graceful-restart clean-up end to end (RFC 4724), real etcd, real BIRD 2,
 * real kernel routes, both sides restarting in turn:
 *
 * 1. BIRD restarts (SIGKILL, back with -R as calico-node) while the agent runs
 *    and keeps BIRD's routes as stale; BIRD comes back without one of them.
 *    After BIRD's End-of-RIB exactly that route leaves the agent's kernel; the
 *    other is not touched (no replace, no delete).
 * 2. The agent restarts (SIGTERM: routes persist, BIRD keeps ours as stale).
 *    Meanwhile one of the agent's blocks is deleted in etcd and BIRD drops
 *    another of its own routes. After the agent's End-of-RIB, BIRD withdraws
 *    the block the agent no longer has (and only it, seen in BIRD's kernel);
 *    after BIRD's End-of-RIB the restarted agent releases the stale kernel
 *    route BIRD no longer sends (Routing.checkStaleRelease -> releaseStale).
 *
 * `ip monitor` runs in both namespaces between sentinel routes, so "no churn"
 * is observed, not assumed; every wait is for a condition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bird } from '../../../src/testbed/bird.js';
import { Netns, Testbed, canUseNetns } from '../../../src/testbed/netns.js';
import { AgentProcess, datastoreApply } from '../../helpers/agent-process.js';
import { affinityYaml, startEtcdIn } from '../../helpers/calico.js';
import { RouteMonitor } from '../../helpers/ip-monitor.js';

const PREFIX = 'tfgr';
const ETCD_PORT = 32379; // inside the etcd namespace; 2379 is left to everyone else

if (!canUseNetns()) throw new Error('graceful-restart integration test needs root (network namespaces)');

const AGENT_IP = '10.97.0.9';
const BIRD_IP = '10.97.0.3';

function birdConfig(blocks: string[]): string {
  return `
router id ${BIRD_IP};
log stderr all;
protocol device { scan time 2; }
protocol direct { ipv4; interface "eth0"; }
protocol kernel {
  metric 0;
  ipv4 { export filter { if source = RTS_BGP then accept; reject; }; };
}
protocol static blocks {
  ipv4 { export all; };
${blocks.map((b) => `  route ${b} blackhole;`).join('\n')}
}
protocol bgp Mesh_10_97_0_9 {
  local ${BIRD_IP} as 64512;
  neighbor ${AGENT_IP} as 64512;
  passive on;
  multihop;
  graceful restart on;
  connect delay time 2;
  connect retry time 5;
  error wait time 1, 5;
  ipv4 { gateway recursive; import all; export filter { if source = RTS_STATIC then accept; reject; }; add paths on; next hop self; };
}
`;
}

const resources = `
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: true, asNumber: 64512 }
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: { name: pool-a }
spec: { cidr: 10.244.0.0/16, ipipMode: Always, blockSize: 26 }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-b }
spec: { bgp: { ipv4Address: ${BIRD_IP}/24 } }
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: node-a }
spec: { bgp: { ipv4Address: ${AGENT_IP}/24, ipv4IPIPTunnelAddr: 10.244.9.1 } }
${affinityYaml('node-a', '10.244.9.0/26')}${affinityYaml('node-a', '10.244.9.64/26')}`;

describe('graceful restart clean-up with BIRD (RFC 4724), both directions', () => {
  const bed = new Testbed(PREFIX);
  const tmp = mkdtempSync(join(tmpdir(), 'tf-gr-'));
  const socket = join(tmp, 'agent.ctl');
  let etcdNs: Netns;
  let a: Netns;
  let b: Netns;
  let etcd: ChildProcess | undefined;
  let agent: AgentProcess;
  let bird: Bird;
  const etcdUrl = `http://10.97.0.100:${ETCD_PORT}`;
  const monitors: RouteMonitor[] = [];

  const established = (): boolean => {
    try {
      const p = agent.status().peers;
      return p.length === 1 && p[0].bgpState === 'Established';
    } catch {
      return false;
    }
  };
  const routesOf = (ns: Netns): string[] => ns.routes().filter((l) => l.includes('proto bird')).sort();
  const until = <T>(what: string, fn: () => T | undefined | false, timeoutMs = 40_000): Promise<T> =>
    agent.until(what, fn, timeoutMs, {
      everyMs: 100,
      context: () => `agent kernel: ${routesOf(a).join(' | ')}\nBIRD kernel: ${routesOf(b).join(' | ')}\nBIRD log tail:\n${bird.log.slice(-2000)}`,
    });

  beforeAll(async () => {
    Testbed.sweep(PREFIX);
    etcdNs = bed.addHost('etcd', { address: '10.97.0.100/24' });
    a = bed.addHost('a', { address: `${AGENT_IP}/24`, tunnelAddress: '10.244.9.1/32' });
    b = bed.addHost('b', { address: `${BIRD_IP}/24` });
    etcd = await startEtcdIn(etcdNs, tmp, etcdUrl, 'tfgr');
    datastoreApply(a, etcdUrl, resources);
    bird = new Bird(b, birdConfig(['10.244.3.0/26', '10.244.4.0/26']), 'tfgr-bird-');
    await bird.start();
    agent = new AgentProcess(a, { nodeName: 'node-a', ip: `${AGENT_IP}/24`, etcdEndpoints: etcdUrl, socket });
    agent.start();
    await until('session Established and routes both ways', () =>
      established() &&
      routesOf(a).includes(`10.244.4.0/26 via ${BIRD_IP} dev tunl0 proto bird onlink`) &&
      routesOf(b).includes(`10.244.9.64/26 via ${AGENT_IP} dev eth0 proto bird`),
    );
  }, 120_000);

  afterAll(async () => {
    for (const m of monitors) m.stop();
    agent?.proc?.kill('SIGKILL');
    await bird?.cleanup();
    etcd?.kill('SIGKILL');
    bed.destroy();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('BIRD restarts without one of its routes: after its End-of-RIB that route, and only it, leaves the agent\'s kernel', async () => {
    const before = routesOf(a);
    expect(before).toEqual([
      `10.244.3.0/26 via ${BIRD_IP} dev tunl0 proto bird onlink`,
      `10.244.4.0/26 via ${BIRD_IP} dev tunl0 proto bird onlink`,
      'blackhole 10.244.9.0/26 proto bird',
      'blackhole 10.244.9.64/26 proto bird',
    ]);
    const mon = new RouteMonitor(a, 0);
    monitors.push(mon);
    const s1 = await mon.mark();

    await bird.kill(); // no NOTIFICATION: the agent keeps BIRD's routes as stale (RFC 4724 §4.2)
    await until('the agent to see BIRD leave Established', () => !established());
    // While BIRD is away its routes stay: stale, not withdrawn.
    expect(routesOf(a)).toEqual(before);
    bird.setConfig(birdConfig(['10.244.3.0/26']));
    await bird.start({ recovery: true });

    await until('the session back', established);
    // BIRD's End-of-RIB follows its table: the stale route goes only after it.
    await until('the route BIRD no longer has to leave the kernel', () => !routesOf(a).some((r) => r.startsWith('10.244.4.0/26')));
    // A full scan period (2 s) of quiet, bracketed by the second sentinel, catches a late replace or delete.
    await new Promise((r) => setTimeout(r, 2500));
    const s2 = await mon.mark();
    expect(mon.birdSince(s1, s2)).toEqual([`Deleted 10.244.4.0/26 via ${BIRD_IP} dev tunl0 proto bird onlink`]);
    expect(routesOf(a)).toEqual(before.filter((r) => !r.startsWith('10.244.4.0/26')));
    mon.stop();
  }, 90_000);

  it('the agent restarts without one of its blocks and BIRD without one of its routes: each withdrawn after the other\'s End-of-RIB, nothing else moves', async () => {
    const aBefore = routesOf(a);
    const bBefore = routesOf(b);
    expect(bBefore).toEqual([`10.244.9.0/26 via ${AGENT_IP} dev eth0 proto bird`, `10.244.9.64/26 via ${AGENT_IP} dev eth0 proto bird`]);
    // Put BIRD's second route back first, so the agent holds it when it stops.
    bird.reconfigure(birdConfig(['10.244.3.0/26', '10.244.4.0/26']));
    await until('BIRD\'s route back in the agent\'s kernel', () => routesOf(a).includes(`10.244.4.0/26 via ${BIRD_IP} dev tunl0 proto bird onlink`));
    const aHeld = routesOf(a);

    const monA = new RouteMonitor(a, 10);
    const monB = new RouteMonitor(b, 20);
    monitors.push(monA, monB);
    const a1 = await monA.mark();
    const b1 = await monB.mark();

    expect(await agent.stop('SIGTERM')).toBe(0); // graceful: kernel routes persist, BIRD keeps ours as stale
    await bird.waitFor('show protocols Mesh_10_97_0_9', (o) => !/Established/.test(o));
    // Changes made while the agent is away: it must learn them only from etcd and BIRD after it restarts.
    etcdNs.exec('etcdctl', ['--endpoints', etcdUrl, 'del', '--prefix', '/calico/ipam/v2/host/node-a/ipv4/block/10.244.9.64-26']);
    etcdNs.exec('etcdctl', ['--endpoints', etcdUrl, 'del', '/calico/ipam/v2/assignment/ipv4/block/10.244.9.64-26']);
    bird.reconfigure(birdConfig(['10.244.3.0/26']));
    // BIRD keeps our routes (stale) while we are down; the agent's kernel keeps everything.
    expect(routesOf(b)).toEqual(bBefore);
    expect(routesOf(a)).toEqual(aHeld);

    agent.start();
    await until('the session back', established, 60_000);
    await until('BIRD to withdraw the block the agent no longer has', () => !routesOf(b).some((r) => r.startsWith('10.244.9.64/26')));
    await until('the agent to release the stale route BIRD no longer sends', () => !routesOf(a).some((r) => r.startsWith('10.244.4.0/26')));
    await new Promise((r) => setTimeout(r, 2500));
    const a2 = await monA.mark();
    const b2 = await monB.mark();

    expect(monB.birdSince(b1, b2)).toEqual([`Deleted 10.244.9.64/26 via ${AGENT_IP} dev eth0 proto bird`]);
    expect(monA.birdSince(a1, a2).sort()).toEqual([
      `Deleted 10.244.4.0/26 via ${BIRD_IP} dev tunl0 proto bird onlink`,
      'Deleted blackhole 10.244.9.64/26 proto bird',
    ]);
    expect(routesOf(a)).toEqual(aBefore.filter((r) => !r.includes('10.244.9.64/26')));
    expect(routesOf(b)).toEqual([`10.244.9.0/26 via ${AGENT_IP} dev eth0 proto bird`]);
    expect(agent.log).toMatch(/every peer sent End-of-RIB: stale routes from before the restart released/);
  }, 120_000);
});
