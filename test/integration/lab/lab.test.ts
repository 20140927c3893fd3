/**
 * The lab end to end, as `npm run lab` runs it: etcd, 3 nodes in namespaces
 * (BIRD on node-1, the agent on the others), both topologies. Asserts every
 * node holds every block's route in calico-node's exact form (tunl0 onlink
 * across subnets, direct within one, blackhole for its own), that BIRD and the
 * agents route every block to the same node, and that a moved block is
 * followed by every node. Uses its own prefix and state dir, so a lab a
 * person is running is left alone; tears down always.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canUseNetns, sh } from '../../../src/testbed/netns.js';
import { birdRoutes } from '../../../src/lab/converge.js';
import { inSubnet, nodeByName } from '../../../src/lab/plan.js';
import { expectedRoutes, routeTargets } from '../../../src/lab/routes.js';
import { readState, type LabState } from '../../../src/lab/state.js';

const run = promisify(execFile);
const repo = resolve(__dirname, '../../..');
const labMain = join(repo, 'dist', 'src', 'lab', 'main.js');

function missingPrerequisite(): string | undefined {
  if (!canUseNetns()) return 'needs root on Linux (network namespaces)';
  for (const bin of ['etcd', 'etcdctl', 'bird', 'birdc']) {
    if (!sh('sh', ['-c', `command -v ${bin} || true`]).trim()) return `${bin} is not installed (scripts/setup.sh installs it)`;
  }
  if (!existsSync(labMain)) return `${labMain} is not built (npm run build)`;
  return undefined;
}

const missing = missingPrerequisite();
if (missing && process.env.CI === 'true') throw new Error(`lab integration test: ${missing}`);

async function lab(dir: string, prefix: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run(process.execPath, [labMain, ...args, '--state-dir', dir, '--prefix', prefix, '--timeout', '60'], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 150_000,
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

for (const topology of ['mesh', 'rr'] as const) {
  describe.skipIf(missing !== undefined)(`npm run lab --topology ${topology} (3 nodes)`, () => {
    const prefix = topology === 'mesh' ? 'lt9m-' : 'lt9r-';
    let dir = '';
    let state: LabState;
    let upOut = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `lab-it-${topology}-`));
      await lab(dir, prefix, ['down']); // leftovers of a crashed run of this test
      // --speaker agent: the lab refuses to fall back to BIRD or etcdctl, so a green run has agents in it.
      const r = await lab(dir, prefix, ['up', '--nodes', '3', '--topology', topology, '--speaker', 'agent']);
      upOut = r.out;
      if (r.code !== 0) throw new Error(`npm run lab failed (exit ${r.code}):\n${r.out}`);
      state = readState(dir)!;
    }, 180_000);

    afterAll(async () => {
      if (!dir) return;
      // rr: as after a crash that lost the state file, `down` must find everything by the prefix alone.
      if (topology === 'rr') rmSync(join(dir, 'state.json'), { force: true });
      const r = await lab(dir, prefix, ['down']);
      rmSync(dir, { recursive: true, force: true });
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Lab removed/);
      expect(sh('ip', ['netns', 'list']).split('\n').filter((l) => l.startsWith(prefix))).toEqual([]);
    }, 60_000);

    it('comes up with node-1 on BIRD and reports convergence', () => {
      expect(state.status).toBe('up');
      expect(state.plan.topology).toBe(topology);
      expect(state.plan.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3']);
      expect(state.plan.nodes[0].speaker).toBe('bird');
      expect(upOut).toMatch(/Converged: every node routes every block/);
    });

    it('every node holds every block in the exact form: tunl0 onlink across subnets, direct within one, blackhole for its own', () => {
      let tunnel = 0;
      let direct = 0;
      for (const node of state.plan.nodes) {
        const routes = birdRoutes(node);
        expect(new Set(routes)).toEqual(new Set(expectedRoutes(state.plan, state.assignment, node)));
        for (const [block, owner] of Object.entries(state.assignment)) {
          const o = nodeByName(state.plan, owner);
          if (o.name === node.name) {
            expect(routes).toContain(`blackhole ${block} proto bird`);
          } else if (inSubnet(o.address, node.subnet)) {
            expect(routes).toContain(`${block} via ${o.address} dev eth0 proto bird`);
            direct++;
          } else {
            expect(routes).toContain(`${block} via ${o.address} dev tunl0 proto bird onlink`);
            tunnel++;
          }
        }
      }
      // Three nodes over two subnets must show both kinds of CrossSubnet route.
      expect(tunnel).toBeGreaterThan(0);
      expect(direct).toBeGreaterThan(0);
    });

    it('BIRD and the agents route every block to the same node', () => {
      const birdNode = state.plan.nodes.find((n) => n.speaker === 'bird')!;
      const birdView = routeTargets(birdRoutes(birdNode));
      // BIRD's own RIB, not only what it wrote to the kernel.
      const rib = sh('birdc', ['-s', join(dir, birdNode.name, 'bird.ctl'), 'show', 'route']);
      for (const node of state.plan.nodes) {
        const view = routeTargets(birdRoutes(node));
        expect([...view.keys()].sort()).toEqual([...birdView.keys()].sort());
        for (const [block, owner] of Object.entries(state.assignment)) {
          const o = nodeByName(state.plan, owner);
          const want = o.name === node.name ? 'blackhole' : o.address;
          expect(view.get(block)).toBe(want);
          if (o.name !== birdNode.name && o.name !== node.name) expect(view.get(block)).toBe(birdView.get(block));
          expect(rib).toContain(block);
        }
      }
    });

    it('nodes 2..N are agents whose control sockets answer, and the resources went through `agent datastore apply`', () => {
      expect(state.plan.nodes.slice(1).map((n) => n.speaker)).toEqual(['agent', 'agent']);
      expect(upOut).not.toMatch(/WARNING/);
      expect(state.writer).toBe('agent datastore apply');
      // apply's own report, relayed by the lab: proof it ran, not only that it was chosen.
      expect(upOut).toMatch(/Successfully applied \d+ resource\(s\)/);
      for (const n of state.plan.nodes.slice(1)) {
        const live = sh(process.execPath, [join(repo, 'dist/src/cli/main.js'), 'live', '--control-socket', join(dir, n.name, 'agent.sock')]);
        expect(live).toMatch(/^ok +control: /m);
        const pid = Number(readFileSync(join(dir, n.name, 'agent.pid'), 'utf8'));
        // The answering process is an agent in that node's namespace, not a BIRD.
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('main.js\0run');
        expect(sh('ip', ['netns', 'identify', String(pid)]).trim()).toBe(n.ns);
      }
    });

    it('agents show every peer Established in `agent status`', () => {
      const agents = state.plan.nodes.filter((n) => n.speaker === 'agent');
      expect(agents.length).toBe(2);
      for (const n of agents) {
        const status = sh(process.execPath, [join(repo, 'dist/src/cli/main.js'), 'status', '--control-socket', join(dir, n.name, 'agent.sock')]);
        const want = topology === 'mesh' ? 2 : n.routeReflector ? 2 : 1;
        expect(status.match(/Established/g)?.length ?? 0).toBe(want);
      }
    });

    it('a second `npm run lab` while this one runs says so and exits 1', async () => {
      const r = await lab(dir, prefix, ['up', '--nodes', '3', '--topology', topology, '--speaker', 'agent']);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/a lab is already running/);
    });

    it('`change` moves a block and every node follows', async () => {
      const r = await lab(dir, prefix, ['change']);
      if (r.code !== 0) throw new Error(`npm run lab -- change failed:\n${r.out}`);
      const after = readState(dir)!;
      expect(after.assignment[after.plan.spareBlock]).not.toBe(state.assignment[state.plan.spareBlock]);
      for (const node of after.plan.nodes) {
        expect(new Set(birdRoutes(node))).toEqual(new Set(expectedRoutes(after.plan, after.assignment, node)));
      }
      expect(r.out).toMatch(/Time from the etcd transaction until each node showed/);
    });
  });
}
