import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { EtcdServer } from '../../../src/testbed/etcd.js';
import { datastoreApply, datastoreDelete, datastoreGet } from '../../../src/cli/commands/datastore.js';
import { decodeKv } from '../../../src/datastore/model/resources.js';

const manifest = `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-a}
spec: {cidr: 10.8.0.0/16, ipipMode: Always, natOutgoing: true}
---
apiVersion: projectcalico.org/v3
kind: List
items:
  - apiVersion: projectcalico.org/v3
    kind: Node
    metadata: {name: node-a, labels: {rack: r1}}
    spec: {bgp: {ipv4Address: 10.0.0.1/24, ipv4IPIPTunnelAddr: 10.8.94.65}}
  - kind: BGPPeer
    apiVersion: projectcalico.org/v3
    metadata: {name: tor}
    spec: {peerIP: "10.0.0.254:1179", asNumber: 65001, nodeSelector: "rack == 'r1'"}
  - kind: BGPConfiguration
    apiVersion: projectcalico.org/v3
    metadata: {name: default}
    spec: {nodeToNodeMeshEnabled: true, asNumber: 64512}
---
kind: IPAMBlock
spec: {cidr: 10.8.94.64/26, affinity: "host:node-a"}
---
kind: BlockAffinity
spec: {node: node-a, cidr: 10.8.94.64/26, state: confirmed}
`;

describe('agent datastore apply / get / delete', () => {
  let etcd: EtcdServer;
  let dir: string;
  let out: string[];
  let err: string[];

  beforeAll(async () => {
    etcd = await EtcdServer.start();
    dir = mkdtempSync(join(tmpdir(), 'agent-ds-cli-'));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await etcd?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function run<A>(cmd: { handler: (a: A) => unknown }, args: Record<string, unknown>): Promise<string> {
    out = [];
    err = [];
    process.exitCode = undefined;
    const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    try {
      await cmd.handler({ 'etcd-endpoints': etcd.endpoint, _: [], $0: 'agent', ...args } as A);
    } finally {
      o.mockRestore();
      e.mockRestore();
    }
    return out.join('');
  }

  it('applies YAML with several documents and a List, writing Calico keys', async () => {
    const f = join(dir, 'cluster.yaml');
    writeFileSync(f, manifest);
    expect(await run(datastoreApply, { filename: f })).toMatch(/Successfully applied 6 resource\(s\)/);
    expect(process.exitCode).toBeUndefined();
    const keys = etcd.etcdctl(['get', '--prefix', '/calico/', '--keys-only']).split('\n').filter(Boolean).sort();
    expect(keys).toEqual([
      '/calico/ipam/v2/assignment/ipv4/block/10.8.94.64-26',
      '/calico/ipam/v2/host/node-a/ipv4/block/10.8.94.64-26',
      '/calico/resources/v3/projectcalico.org/bgpconfigurations/default',
      '/calico/resources/v3/projectcalico.org/bgppeers/tor',
      '/calico/resources/v3/projectcalico.org/ippools/pool-a',
      '/calico/resources/v3/projectcalico.org/nodes/node-a',
    ]);
    const block = JSON.parse(etcd.etcdctl(['get', '--print-value-only', '/calico/ipam/v2/assignment/ipv4/block/10.8.94.64-26']));
    expect(block).toMatchObject({ cidr: '10.8.94.64/26', affinity: 'host:node-a', strictAffinity: false, deleted: false });
    expect(block.allocations).toHaveLength(64);
    expect(block.unallocated).toHaveLength(64);
    expect(JSON.parse(etcd.etcdctl(['get', '--print-value-only', '/calico/ipam/v2/host/node-a/ipv4/block/10.8.94.64-26']))).toEqual({ state: 'confirmed', deleted: false });
  });

  it('gets resources back as YAML and JSON, and the output applies again unchanged', async () => {
    const y = parse(await run(datastoreGet, { kind: 'ippools', output: 'yaml' }));
    expect(y.kind).toBe('List');
    expect(y.items[0]).toMatchObject({ kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: '10.8.0.0/16', ipipMode: 'Always', natOutgoing: true } });
    const n = JSON.parse(await run(datastoreGet, { kind: 'node', name: 'node-a', output: 'json' }));
    expect(n).toMatchObject({ kind: 'Node', metadata: { name: 'node-a', labels: { rack: 'r1' } }, spec: { bgp: { ipv4Address: '10.0.0.1/24' } } });
    const uid = n.metadata.uid;
    expect(uid).toBeTruthy();
    const aff = parse(await run(datastoreGet, { kind: 'blockaffinities', output: 'yaml' }));
    expect(aff.items).toEqual([expect.objectContaining({ kind: 'BlockAffinity', spec: { node: 'node-a', cidr: '10.8.94.64/26', state: 'confirmed', deleted: false } })]);
    const blocks = JSON.parse(await run(datastoreGet, { kind: 'ipamblocks', output: 'json' }));
    expect(blocks.items[0].spec).toMatchObject({ cidr: '10.8.94.64/26', affinity: 'host:node-a' });
    expect(await run(datastoreGet, { kind: 'ipamblocks', output: 'table' })).toMatch(/NAME\s+CIDR\s+AFFINITY\n10\.8\.94\.64-26\s+10\.8\.94\.64\/26\s+host:node-a/);
    // One name per IPAM object: the one `get` prints is the one get and delete take.
    expect(JSON.parse(await run(datastoreGet, { kind: 'blockaffinity', name: 'node-a/10.8.94.64-26', output: 'json' })).spec).toMatchObject({ node: 'node-a', cidr: '10.8.94.64/26' });
    await run(datastoreGet, { kind: 'ipamblock', name: '10.8.94.64/26', output: 'json' });
    expect(process.exitCode).toBe(1);
    expect(err.join('')).toContain('IPAMBlock "10.8.94.64/26" not found (IPAM blocks are named by their cidr as in etcd: 10.8.94.64-26)');
    process.exitCode = undefined;
    expect(await run(datastoreGet, { kind: 'ippools', output: 'wide' })).toMatch(/NAME\s+CIDR\s+IPIPMODE\s+DISABLEBGPEXPORT\s+SPEC\npool-a .*"cidr":"10\.8\.0\.0\/16"/);

    // Round trip: everything we got, applied again, leaves the stored values equal (uid kept).
    const all = [] as unknown[];
    for (const k of ['nodes', 'bgppeers', 'ippools', 'bgpconfigurations', 'ipamblocks', 'blockaffinities']) {
      all.push(...JSON.parse(await run(datastoreGet, { kind: k, output: 'json' })).items);
    }
    const before = etcd.etcdctl(['get', '--prefix', '/calico/', '-w', 'json']);
    const f = join(dir, 'roundtrip.json');
    writeFileSync(f, JSON.stringify({ kind: 'List', items: all }));
    expect(await run(datastoreApply, { filename: f })).toMatch(/Successfully applied 6/);
    const values = (s: string) => (JSON.parse(s).kvs as { key: string; value: string }[]).map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString()]);
    expect(values(etcd.etcdctl(['get', '--prefix', '/calico/', '-w', 'json']))).toEqual(values(before));
    for (const [k, v] of values(before)) expect(() => decodeKv(k, v)).not.toThrow();
  });

  it('refuses invalid resources with key and field, writing nothing', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(
      f,
      `kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: p1}
spec: {peerIP: "10.0.0", asNumber: 65000}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: good}
spec: {cidr: 10.9.0.0/16}
`,
    );
    await run(datastoreApply, { filename: f });
    expect(process.exitCode).toBe(1);
    expect(err.join('')).toContain('BGPPeer/p1: spec.peerIP: "10.0.0" is not an IP address');
    expect(err.join('')).not.toContain('/calico/');
    expect(etcd.etcdctl(['get', '/calico/resources/v3/projectcalico.org/ippools/good'])).toBe('');
    process.exitCode = undefined;
  });

  it('deletes, and reports what is not there', async () => {
    await run(datastoreDelete, { kind: 'blockaffinity', name: 'node-a/10.8.94.64/26' });
    expect(err.join('')).toContain('block affinities are named <node>/<cidr as in etcd>: node-a/10.8.94.64-26');
    expect(await run(datastoreDelete, { kind: 'blockaffinity', name: 'node-a/10.8.94.64-26' })).toMatch(/Deleted BlockAffinity node-a\/10\.8\.94\.64-26/);
    expect(etcd.etcdctl(['get', '--prefix', '/calico/ipam/v2/host/'])).toBe('');
    await run(datastoreGet, { kind: 'bgppeer', name: 'nope', output: 'json' });
    expect(process.exitCode).toBe(1);
    expect(err.join('')).toContain('BGPPeer "nope" not found');
    process.exitCode = undefined;
  });

  it('is as strict as calicoctl: kinds as calicoctl spells them, unknown fields by name, DNS-1123 names, an empty file (issue 23)', async () => {
    const f = join(dir, 'strict.yaml');
    writeFileSync(
      f,
      `kind: node
apiVersion: projectcalico.org/v3
metadata: {name: p2}
spec: {peerIP: 10.0.0.9, asNumber: 65000}
---
kind: BGPPeer
apiVersion: projectcalico.org/v3
metadata: {name: p3}
spec: {peerIp: 10.0.0.9, nodeSelecter: all(), asNumber: 65000}
---
kind: IPPool
apiVersion: projectcalico.org/v3
metadata: {name: Bad_Name}
spec: {cidr: 10.10.0.0/16}
`,
    );
    await run(datastoreApply, { filename: f });
    expect(process.exitCode).toBe(1);
    const e = err.join('');
    expect(e).toContain('node/p2: kind "node" is not a Calico kind (calicoctl spells it Node)');
    expect(e).toContain('BGPPeer/p3: spec.peerIp: unknown field (did you mean peerIP?)');
    expect(e).toContain('BGPPeer/p3: spec.nodeSelecter: unknown field (did you mean nodeSelector?)');
    expect(e).toContain('IPPool/Bad_Name: metadata.name: "Bad_Name" is not a valid name');
    expect(e.match(/spec\.peerIp/g)).toHaveLength(1);
    expect(etcd.etcdctl(['get', '--prefix', '/calico/resources/v3/projectcalico.org/nodes/p2'])).toBe('');
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '# nothing here\n');
    await run(datastoreApply, { filename: empty });
    expect(process.exitCode).toBe(1);
    expect(err.join('')).toContain('no resources specified');
    process.exitCode = undefined;
  });

  it('deletes what a file names (delete -f), and says etcd is unreachable in plain words', async () => {
    const f = join(dir, 'pool.yaml');
    writeFileSync(f, 'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: gone}\nspec: {cidr: 10.11.0.0/16}\n');
    expect(await run(datastoreApply, { filename: f })).toMatch(/Successfully applied 1/);
    expect(await run(datastoreDelete, { filename: f })).toMatch(/Deleted IPPool gone/);
    expect(etcd.etcdctl(['get', '/calico/resources/v3/projectcalico.org/ippools/gone'])).toBe('');
    await run(datastoreGet, { kind: 'nodes', output: 'table', 'etcd-endpoints': 'http://127.0.0.1:1' });
    expect(process.exitCode).toBe(1);
    expect(err.join('')).toBe('get failed: etcd at http://127.0.0.1:1 is unreachable (connection refused)\n');
    await run(datastoreGet, { kind: 'nodes', output: 'table', 'etcd-endpoints': 'localhost:2379' });
    expect(err.join('')).toBe('ETCD_ENDPOINTS: "localhost:2379" is not http(s)://host:port\n');
    process.exitCode = undefined;
  });
});
