/**
 * The lab's pure parts: layout, expected routes in calico-node's exact form,
 * the confd-equivalent BIRD configuration, the Calico resources, the default
 * block move, and the lock that stops a second lab command.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { renderBirdConfig } from '../../../src/lab/bird-config.js';
import { pickMove } from '../../../src/lab/change.js';
import { agentRunArgs, agentFiles } from '../../../src/lab/agent-node.js';
import { initialAssignment, inSubnet, makePlan, peeringsOf } from '../../../src/lab/plan.js';
import { Progress, StepError } from '../../../src/lab/progress.js';
import { blockResources, clusterResources, toEtcdKeyValues } from '../../../src/lab/resources.js';
import { diffRoutes, expectedRoutes, isConverged, parseRouteLines, routeTargets } from '../../../src/lab/routes.js';
import { acquireLock, LabError } from '../../../src/lab/state.js';
import { manifestToKeyValue } from '../../../src/datastore/admin.js';
import { decodeKv } from '../../../src/datastore/model/resources.js';

const mesh = makePlan({ nodes: 3, topology: 'mesh', prefix: 'lab-' });
const rr = makePlan({ nodes: 4, topology: 'rr', prefix: 'lab-' });

describe('plan', () => {
  it('alternates nodes between two subnets, BIRD on node-1, one /26 each plus a spare on the last', () => {
    expect(mesh.nodes.map((n) => [n.name, n.ns, n.address, n.subnet, n.block, n.speaker])).toEqual([
      ['node-1', 'lab-n1', '10.0.1.11', '10.0.1.0/24', '10.244.1.0/26', 'bird'],
      ['node-2', 'lab-n2', '10.0.2.12', '10.0.2.0/24', '10.244.2.0/26', 'agent'],
      ['node-3', 'lab-n3', '10.0.1.13', '10.0.1.0/24', '10.244.3.0/26', 'agent'],
    ]);
    expect(initialAssignment(mesh)).toEqual({
      '10.244.1.0/26': 'node-1',
      '10.244.2.0/26': 'node-2',
      '10.244.3.0/26': 'node-3',
      '10.244.3.64/26': 'node-3',
    });
    // Tunnel addresses sit in the node's own first block, as Calico IPAM allocates them.
    for (const n of mesh.nodes) expect(inSubnet(n.tunnelAddr, n.block)).toBe(true);
  });

  it('makes node-2 the only route reflector in rr', () => {
    expect(rr.nodes.filter((n) => n.routeReflector).map((n) => n.name)).toEqual(['node-2']);
    expect(mesh.nodes.some((n) => n.routeReflector)).toBe(false);
  });

  it('refuses sizes and prefixes it cannot lay out', () => {
    expect(() => makePlan({ nodes: 1, topology: 'mesh', prefix: 'lab-' })).toThrow(/--nodes/);
    expect(() => makePlan({ nodes: 2, topology: 'rr', prefix: 'lab-' })).toThrow(/at least 3/);
    expect(() => makePlan({ nodes: 3, topology: 'mesh', prefix: 'much-too-long-' })).toThrow(/prefix/);
  });

  it('peers as confd renders: mesh passive toward greater IPs (string compare), rr clients to the reflector', () => {
    const p1 = peeringsOf(mesh, mesh.nodes[0]);
    expect(p1.map((p) => [p.name, p.passive])).toEqual([
      ['Mesh_10_0_2_12', true],
      ['Mesh_10_0_1_13', true],
    ]);
    const p2 = peeringsOf(mesh, mesh.nodes[1]);
    expect(p2.map((p) => [p.address, p.passive])).toEqual([
      ['10.0.1.11', false],
      ['10.0.1.13', false],
    ]);
    expect(peeringsOf(rr, rr.nodes[0]).map((p) => [p.name, p.rrClient])).toEqual([['Node_10_0_2_12', false]]);
    expect(peeringsOf(rr, rr.nodes[1]).map((p) => p.address)).toEqual(['10.0.1.11', '10.0.1.13', '10.0.2.14']);
    expect(peeringsOf(rr, rr.nodes[1]).every((p) => p.rrClient && !p.passive)).toBe(true);
  });
});

describe('expected routes', () => {
  const a = initialAssignment(mesh);

  it('are blackholes for own blocks, tunl0 onlink across subnets, direct within one (CrossSubnet)', () => {
    expect(expectedRoutes(mesh, a, mesh.nodes[0])).toEqual([
      'blackhole 10.244.1.0/26 proto bird',
      '10.244.2.0/26 via 10.0.2.12 dev tunl0 proto bird onlink',
      '10.244.3.0/26 via 10.0.1.13 dev eth0 proto bird',
      '10.244.3.64/26 via 10.0.1.13 dev eth0 proto bird',
    ]);
    expect(expectedRoutes(mesh, a, mesh.nodes[1])).toContain('10.244.3.0/26 via 10.0.1.13 dev tunl0 proto bird onlink');
  });

  it('are compared exactly with `ip route` output, extra routes included', () => {
    const want = expectedRoutes(mesh, a, mesh.nodes[0]);
    const text = `${want.join(' \n')} \n10.9.9.0/24 via 10.0.1.1 dev eth0 proto bird \n`;
    const d = diffRoutes(want, parseRouteLines(text));
    expect(d.missing).toEqual([]);
    expect(d.unexpected).toEqual(['10.9.9.0/24 via 10.0.1.1 dev eth0 proto bird']);
    expect(isConverged(d)).toBe(false);
    const wrongForm = want.map((r) => r.replace(' onlink', ''));
    expect(isConverged(diffRoutes(want, wrongForm))).toBe(false);
  });

  it('reduce to where each block goes, whatever the device', () => {
    const t = routeTargets(expectedRoutes(mesh, a, mesh.nodes[1]));
    expect(Object.fromEntries(t)).toEqual({
      '10.244.1.0/26': '10.0.1.11',
      '10.244.2.0/26': 'blackhole',
      '10.244.3.0/26': '10.0.1.13',
      '10.244.3.64/26': '10.0.1.13',
    });
  });
});

describe('BIRD configuration (calico-node\'s, for stock BIRD 2)', () => {
  const conf = renderBirdConfig(mesh, initialAssignment(mesh), mesh.nodes[0]);

  it('has calico-node\'s kernel protocol and the tunnel-route trick in the order stock BIRD needs', () => {
    for (const s of ['learn;', 'persist;', 'scan time 2;', 'graceful restart;', 'metric 0;', 'export filter calico_kernel_programming;']) {
      expect(conf).toContain(s);
    }
    expect(conf).toMatch(/ip nh;/);
    expect(conf).toContain('nh = gw; onlink = true; ifname = "tunl0"; gw = nh;');
    expect(conf).toContain('bgp_next_hop ~ 10.0.1.0/24'); // CrossSubnet: no tunnel within the subnet
  });

  it('blackholes and exports exactly its own blocks', () => {
    expect(conf).toContain('route 10.244.1.0/26 blackhole;');
    expect(conf).not.toContain('route 10.244.2.0/26 blackhole;');
    expect(conf).toContain('if ( net = 10.244.1.0/26 ) then { accept; }');
    expect(conf).toContain('if ( net ~ 10.244.1.0/26 ) then { reject; }');
  });

  it('has a session per peer with Calico\'s timers, passive toward greater IPs', () => {
    for (const s of ['add paths on;', 'gateway recursive;', 'multihop;', 'connect delay time 2;', 'connect retry time 5;', 'error wait time 5,30;']) {
      expect(conf).toContain(s);
    }
    const sessions = conf.split('protocol bgp ').slice(1);
    expect(sessions.map((s) => s.split(' ')[0])).toEqual(['Mesh_10_0_2_12', 'Mesh_10_0_1_13']);
    expect(sessions.every((s) => /passive on;/.test(s.split('}')[0]))).toBe(true);
    const rrConf = renderBirdConfig(rr, initialAssignment(rr), rr.nodes[1]);
    expect(rrConf).toContain('rr client;');
    expect(rrConf).toContain('rr cluster id 244.0.0.1;');
    expect(rrConf).not.toContain('passive on');
  });
});

describe('Calico resources', () => {
  it('set up the mesh or the documented route-reflector peering', () => {
    const m = clusterResources(mesh);
    expect(m.find((r) => r.kind === 'BGPConfiguration')?.spec).toMatchObject({ nodeToNodeMeshEnabled: true, asNumber: 64512 });
    expect(m.some((r) => r.kind === 'BGPPeer')).toBe(false);
    const r = clusterResources(rr);
    expect(r.find((x) => x.kind === 'BGPConfiguration')?.spec.nodeToNodeMeshEnabled).toBe(false);
    expect(r.find((x) => x.kind === 'BGPPeer')?.spec).toEqual({ nodeSelector: 'all()', peerSelector: 'has(route-reflector)' });
    const reflector = r.find((x) => x.kind === 'Node' && x.metadata.name === 'node-2')!;
    expect(reflector.metadata.labels).toEqual({ 'route-reflector': 'true' });
    expect(reflector.spec.bgp).toMatchObject({ routeReflectorClusterID: '244.0.0.1', ipv4Address: '10.0.2.12/24' });
  });

  it('pass the agent\'s own validation, and the etcdctl fallback writes the keys apply writes', () => {
    const all = [...clusterResources(rr), ...blockResources(initialAssignment(rr))];
    const fallback = new Map(toEtcdKeyValues(all));
    for (const res of all) {
      const kv = manifestToKeyValue(res);
      expect(decodeKv(kv.key, kv.value), kv.label).toBeDefined();
      expect(fallback.has(kv.key), kv.key).toBe(true);
      expect(decodeKv(kv.key, fallback.get(kv.key)!), `fallback ${kv.key}`).toBeDefined();
    }
  });
});

describe('change', () => {
  it('moves the spare block to the first agent node that does not own it', () => {
    const a = initialAssignment(mesh);
    expect(pickMove(mesh, a)).toEqual({ block: '10.244.3.64/26', from: 'node-3', to: 'node-2' });
    expect(pickMove(mesh, { ...a, '10.244.3.64/26': 'node-2' })).toEqual({ block: '10.244.3.64/26', from: 'node-2', to: 'node-3' });
    expect(() => pickMove(mesh, a, '10.244.3.64/26', 'node-3')).toThrow(/already on node-3/);
    expect(() => pickMove(mesh, a, '10.9.0.0/26')).toThrow(/no block/);
    expect(() => pickMove(mesh, a, undefined, 'node-9')).toThrow(/no node named/);
  });
});

describe('agent invocation', () => {
  it('runs `agent run` with the node\'s name, address with length, etcd and its own socket and pid file', () => {
    const n = mesh.nodes[1];
    const f = agentFiles('/state', n);
    expect(agentRunArgs(mesh, n, f)).toEqual([
      'run',
      '--node-name', 'node-2',
      '--ip', '10.0.2.12/24',
      '--etcd-endpoints', 'http://10.0.0.2:2379',
      '--control-socket', '/state/node-2/agent.sock',
      '--pid-file', '/state/node-2/agent.pid',
      '--log-level', 'info',
    ]);
  });
});

describe('progress and lock', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('names the failed step and the files to look at', async () => {
    const lines: string[] = [];
    const p = new Progress(2, (l) => lines.push(l));
    await p.step('first', [], () => 1);
    const err = await p
      .step('starting etcd', () => ['/x/etcd.log'], () => {
        throw new Error('boom');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepError);
    expect((err as StepError).explain()).toBe('lab: step "starting etcd" failed: boom\nlook at:\n  /x/etcd.log');
    expect(lines[0]).toBe('[1/2] first ...');
    expect(lines[2]).toBe('[2/2] starting etcd ...');
  });

  it('refuses a second holder while the first lives, takes over a dead one\'s lock', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-lock-'));
    dirs.push(dir);
    // A live other process holds it: our parent.
    writeFileSync(join(dir, 'lock'), `${process.ppid} npm run lab -- up\n`);
    expect(() => acquireLock(dir, 'npm run lab -- change')).toThrow(LabError);
    expect(() => acquireLock(dir, 'npm run lab -- change')).toThrow(/another lab command is working right now: `npm run lab -- up`/);
    // A dead holder (a pid that cannot exist).
    writeFileSync(join(dir, 'lock'), '4194305 npm run lab -- up\n');
    const release = acquireLock(dir, 'npm run lab -- down');
    expect(readFileSync(join(dir, 'lock'), 'utf8')).toBe(`${process.pid} npm run lab -- down\n`);
    release();
    expect(() => readFileSync(join(dir, 'lock'))).toThrow();
  });
});
