/**
 * `npm run lab`: etcd, N nodes in namespaces on a bridge (two subnets),
 * BIRD on node-1 as calico-node runs it, the agent on the others, Calico
 * resources written with `agent datastore apply`; then wait for every node to
 * hold every block's route in calico-node's exact form and show each node.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, Testbed } from '../testbed/netns.js';
import { agentCli, agentFiles, agentHasCommand, agentStatus, agentStatusJson, startAgent } from './agent-node.js';
import { birdFiles, birdStatus, reconfigureBird, startBird } from './bird-node.js';
import { birdRoutes, waitForRoutes, type Convergence } from './converge.js';
import { isAlive, type Daemon } from './daemon.js';
import { pickWriter, writeResources, type WriterKind } from './datastore-writer.js';
import { labNamespaces } from './down.js';
import { etcdLog, startEtcd } from './etcd-node.js';
import { blocksOf, initialAssignment, makePlan, type LabPlan, type Topology } from './plan.js';
import { agentSpeaksIpv6, birdRoutes6, initialAssignment6, ipv6Learned, ipv6Note, ipv6Resources, waitForRoutes6 } from './dual-stack.js';
import { Progress, secs } from './progress.js';
import { blockResources, clusterResources, toYaml } from './resources.js';
import { LabError, readState, writeState, type LabState } from './state.js';

export interface UpOptions {
  nodes: number;
  topology: Topology;
  prefix: string;
  dir: string;
  repo: string;
  timeoutMs: number;
  /** What the non-BIRD nodes run: the agent, or BIRD too (a reference lab); auto = the agent when built. */
  speaker: 'auto' | 'agent' | 'bird';
  /** --ipv6: dual stack (dual-stack.ts). */
  ipv6?: boolean;
}

export interface UpResult {
  state: LabState;
  convergence: Convergence;
  totalMs: number;
}

/** How each node runs, given what the built CLI offers. */
function resolveSpeakers(plan: LabPlan, opts: UpOptions): string[] {
  const notes: string[] = [];
  const hasRun = agentHasCommand(opts.repo, ['run']);
  if (opts.speaker === 'agent' && !hasRun) {
    throw new Error(`the built CLI (${agentCli(opts.repo)}) has no \`agent run\`; build it (npm run build) or use --speaker bird`);
  }
  if (opts.speaker === 'bird' || !hasRun) {
    for (const n of plan.nodes) n.speaker = 'bird';
    if (opts.speaker === 'bird') notes.push('every node runs BIRD (--speaker bird)');
    else {
      // A lab that silently runs BIRD everywhere passes every route check with no
      // agent in it: say so where nobody can miss it (stderr and the progress notes).
      const warning = `WARNING: \`agent run\` is not built (${agentCli(opts.repo)}): every node runs BIRD, NO AGENT IS TESTED (--speaker agent refuses this)`;
      process.stderr.write(`${warning}\n`);
      notes.push(warning);
    }
  }
  return notes;
}

export function nodeLogs(dir: string, plan: LabPlan): string[] {
  return plan.nodes.map((n) => (n.speaker === 'bird' ? birdFiles(dir, n).log : agentFiles(dir, n).log));
}

export async function labUp(opts: UpOptions, write: (l: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<UpResult> {
  const t0 = performance.now();
  const existing = readState(opts.dir);
  if (existing) {
    const alive = existing.daemons.filter((d) => isAlive(d.pid));
    if (alive.length > 0) {
      throw new LabError(
        `a lab is already running (${existing.plan.nodes.length} nodes, ${existing.plan.topology}, started ${existing.startedAt}, state ${opts.dir}).\n` +
          '`npm run lab -- change` moves a block in it; `npm run lab -- down` removes it.',
      );
    }
  }
  const leftovers = labNamespaces(opts.prefix);
  if (existing || leftovers.length > 0) {
    throw new LabError(
      `namespaces ${leftovers.join(' ') || '(none)'}${existing ? ` and state ${opts.dir}` : ''} exist but no lab of this checkout is running: ` +
        'leftovers of a crashed lab, or a lab started from another checkout with the same prefix.\n' +
        `Run \`npm run lab -- down\` to remove them (or use --prefix and --state-dir to run a second lab beside it).`,
    );
  }

  const plan = makePlan({ nodes: opts.nodes, topology: opts.topology, prefix: opts.prefix, ipv6: opts.ipv6 });
  const assignment = initialAssignment(plan);
  const assignment6 = initialAssignment6(plan);
  const p = new Progress(plan.ipv6 ? 8 : 7, write);
  mkdirSync(opts.dir, { recursive: true });
  const state: LabState = { version: 1, startedAt: new Date().toISOString(), status: 'starting', plan, assignment, daemons: [] };
  if (plan.ipv6) state.assignment6 = assignment6;
  const remember = (d: Daemon) => {
    state.daemons.push(d);
    writeState(opts.dir, state);
  };
  writeState(opts.dir, state);

  await p.step('checking prerequisites', ['scripts/setup.sh installs them: etcd-server etcd-client bird2 iproute2'], (note) => {
    if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces)');
    for (const bin of ['ip', 'etcd', 'etcdctl', 'bird', 'birdc']) sh('sh', ['-c', `command -v ${bin}`]);
    if (!existsSync(agentCli(opts.repo))) throw new Error(`${agentCli(opts.repo)} is missing: run \`npm run build\``);
    for (const n of resolveSpeakers(plan, opts)) note(n);
    const agents = plan.nodes.filter((n) => n.speaker === 'agent').length;
    note(`${plan.nodes.length} nodes, topology ${plan.topology}: ${plan.nodes.length - agents} BIRD, ${agents} agent(s); state in ${opts.dir}`);
  });

  await p.step('creating namespaces, bridge and addresses', ['ip netns list', `ip -d link show ${plan.prefix}br`], (note) => {
    const tb = new Testbed(plan.prefix);
    const underlay = [[plan.underlay, 'dev', 'eth0']];
    tb.addHost('etcd', { address: `${plan.etcd.address}/${plan.etcd.prefixLen}`, routes: underlay });
    for (const n of plan.nodes) {
      const ns = tb.addHost(`n${n.index}`, { address: `${n.address}/${n.prefixLen}`, routes: underlay, tunnelAddress: `${n.tunnelAddr}/32` });
      note(`${n.name}: ${n.ns}  eth0 ${n.address}/${n.prefixLen}  tunl0 ${n.tunnelAddr}  blocks ${blocksOf(assignment, n.name).join(' ')}${n.routeReflector ? '  (route reflector)' : ''}`);
      if (n.address6 && plan.ipv6) {
        // nodad: usable at once, so a next hop on it is accepted without waiting for DAD.
        ns.ip(['-6', 'addr', 'add', `${n.address6}/${plan.ipv6.prefixLen}`, 'dev', 'eth0', 'nodad']);
        note(`${n.name}: eth0 ${n.address6}/${plan.ipv6.prefixLen}  IPv6 block ${n.block6}`);
      }
    }
    note(`etcd: ${plan.etcd.ns}  eth0 ${plan.etcd.address}/${plan.etcd.prefixLen}; subnets reach each other on-link over bridge ${plan.prefix}br`);
  });

  await p.step('starting etcd', [etcdLog(opts.dir)], async (note) => {
    await startEtcd(plan, opts.dir, remember);
    note(`etcd at ${plan.etcd.clientUrl} (log ${etcdLog(opts.dir)})`);
  });

  let writer: WriterKind = 'etcdctl';
  const resourcesFile = join(opts.dir, 'resources.yaml');
  await p.step('writing Calico resources', [resourcesFile, etcdLog(opts.dir)], (note) => {
    writer = pickWriter(opts.repo, opts.speaker === 'agent');
    const resources = [...clusterResources(plan), ...blockResources(assignment), ...ipv6Resources(plan, assignment6)];
    writeFileSync(resourcesFile, toYaml(resources));
    const out = writeResources(plan, opts.repo, writer, resources);
    state.writer = writer;
    writeState(opts.dir, state);
    const kinds = new Map<string, number>();
    for (const r of resources) kinds.set(r.kind, (kinds.get(r.kind) ?? 0) + 1);
    note(`${[...kinds].map(([k, c]) => `${c} ${k}`).join(', ')} with ${writer} (${resourcesFile})`);
    if (writer === 'etcdctl') {
      const warning = 'WARNING: `agent datastore apply` is not built: wrote the resources with etcdctl, the agent\'s apply path is NOT TESTED';
      process.stderr.write(`${warning}\n`);
      note(warning);
    }
    if (out.trim()) for (const l of out.trim().split('\n').slice(0, 20)) note(l);
  });

  const birdNodes = plan.nodes.filter((n) => n.speaker === 'bird');
  const agentNodes = plan.nodes.filter((n) => n.speaker === 'agent');
  const tSpeakers = performance.now();
  await p.step(`starting BIRD on ${birdNodes.map((n) => n.name).join(', ')}`, () => birdNodes.map((n) => birdFiles(opts.dir, n).log), async (note) => {
    for (const n of birdNodes) {
      await startBird(plan, assignment, n, opts.dir, remember);
      note(`${n.name}: bird -R -c ${birdFiles(opts.dir, n).conf}`);
    }
  });

  await p.step(
    agentNodes.length ? `starting the agent on ${agentNodes.map((n) => n.name).join(', ')}` : 'starting agents (none)',
    () => agentNodes.map((n) => agentFiles(opts.dir, n).log),
    async (note) => {
      await Promise.all(
        agentNodes.map(async (n) => {
          await startAgent(plan, n, opts.dir, opts.repo, remember);
          note(`${n.name}: agent run (log ${agentFiles(opts.dir, n).log})`);
        }),
      );
    },
  );

  const convergence = await p.step(
    `waiting for every node to route every block (timeout ${opts.timeoutMs / 1000} s)`,
    () => [...nodeLogs(opts.dir, plan), `ip -n <ns> route show (namespaces ${plan.nodes.map((n) => n.ns).join(' ')})`],
    async (note) => {
      const c = await waitForRoutes(plan, assignment, opts.timeoutMs, {
        onNode: (n, ms) => note(`${n.name} (${n.speaker}) holds its ${Object.keys(assignment).length} routes, ${secs(ms)} into the wait`),
      });
      return c;
    },
  );

  if (plan.ipv6) {
    await p.step(
      'IPv6: asking the agents whether they run IPv6 sessions, then waiting for the IPv6 routes',
      () => [...nodeLogs(opts.dir, plan), `ip -6 -n <ns> route show (namespaces ${plan.nodes.map((n) => n.ns).join(' ')})`],
      async (note) => {
        const probe = agentNodes[0];
        if (probe && agentSpeaksIpv6(agentStatusJson(opts.dir, probe, opts.repo))) {
          plan.ipv6!.agentSessions = true;
          writeState(opts.dir, state);
          for (const n of birdNodes) reconfigureBird(plan, assignment, n, opts.dir);
          note(`${probe.name} runs IPv6 sessions: BIRD's IPv6 sessions to the agents enabled (birdc configure)`);
        }
        note(ipv6Learned(plan) ? 'expecting every IPv6 block on every node' : 'expecting each node\'s own IPv6 blackhole only');
        const ms = await waitForRoutes6(plan, assignment6, opts.timeoutMs);
        note(`IPv6 routes as expected ${secs(ms)} into the wait`);
        note(ipv6Note(plan));
      },
    );
  }

  const speakersMs = performance.now() - tSpeakers;
  state.status = 'up';
  writeState(opts.dir, state);
  write('');
  showNodes(state, opts.dir, opts.repo, write);
  const totalMs = performance.now() - t0;
  write(
    `Converged: every node routes every block ${secs(speakersMs)} after BIRD and the agents were started ` +
      `(${secs(convergence.ms)} after the last agent answered on its control socket); ${secs(totalMs)} in all, set-up included.`,
  );
  write('Next: `npm run lab -- change` moves a block to another node; `npm run lab -- down` removes the lab.');
  return { state, convergence, totalMs };
}

/** Per node: its speaker's status and its proto bird routes. */
export function showNodes(state: LabState, dir: string, repo: string, write: (l: string) => void): void {
  for (const n of state.plan.nodes) {
    write(`=== ${n.name} (${n.speaker}${n.routeReflector ? ', route reflector' : ''})  ns ${n.ns}  ${n.address}/${n.prefixLen} ===`);
    write(n.speaker === 'bird' ? `$ birdc show protocols\n${birdStatus(dir, n)}` : `$ agent status\n${agentStatus(dir, n, repo)}`);
    write('$ ip route | grep "proto bird"');
    for (const r of birdRoutes(n)) write(r);
    if (state.plan.ipv6) {
      write('$ ip -6 route | grep "proto bird"');
      for (const r of birdRoutes6(n)) write(r);
    }
    write('');
  }
  if (state.plan.ipv6) write(ipv6Note(state.plan));
}
