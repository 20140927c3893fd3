/**
 * Datastore benchmark against a real etcd-server (testbed):
 *   1. write N nodes (default 5000) and B IPAM blocks (default 50k), each with
 *      its block-affinity key (10 per node), as Calico lays them out;
 *   2. cold start: list everything at one revision, validate, and compute the
 *      desired state for one node (full mesh of N-1 peers)  -> target < 2 s;
 *   3. time from an affinity write for this node (put sent) to the Datastore's
 *      desired-state diff, over W writes (default 200)       -> target p99 < 10 ms;
 *   4. the same for a Node write (peer set recomputed over N nodes).
 *
 * Run: `node dist/bench/datastore/datastore-bench.js [--nodes 5000 --blocks 50000 --writes 200] [--tmpfs]`
 * (or `npx vite-node bench/datastore/datastore-bench.ts`). Bounded: the run
 * aborts after --max-seconds (default 240). Results: bench/results/datastore.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Datastore } from '../../src/datastore/datastore.js';
import { createEtcdClient, etcdConfigFromEnv } from '../../src/datastore/etcd-config.js';
import { affinityKey, blockKey, resourceKey } from '../../src/datastore/keys.js';
import type { DesiredStateDiff } from '../../src/datastore/desired.js';
import { EtcdServer } from '../../src/testbed/etcd.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const N = arg('nodes', 5000);
const B = arg('blocks', 50_000);
const W = arg('writes', 200);
const MAX_SECONDS = arg('max-seconds', 240);

function nodeIp(i: number): string {
  return `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}
function nodeName(i: number): string {
  return `node-${String(i).padStart(5, '0')}`;
}
/** Block i: 10.64.0.0/10 carved into /26s. */
function blockCidr(i: number): string {
  const n = (10 << 24) + (64 << 16) + i * 64;
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}/26`;
}

const EMPTY_ALLOC = JSON.stringify(new Array(64).fill(null));
const UNALLOC = JSON.stringify(Array.from({ length: 64 }, (_, i) => i));

function blockValue(cidr: string, node: string): string {
  return `{"cidr":"${cidr}","affinity":"host:${node}","strictAffinity":false,"allocations":${EMPTY_ALLOC},"unallocated":${UNALLOC},"attributes":[],"deleted":false}`;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const deadline = Date.now() + MAX_SECONDS * 1000;
  const guard = setTimeout(() => {
    console.error(`datastore bench: exceeded ${MAX_SECONDS} s, aborting`);
    process.exit(2); // the testbed's exit hook kills etcd and removes its dir
  }, MAX_SECONDS * 1000);
  guard.unref();
  // --tmpfs: etcd's data dir on /dev/shm, so the write->diff figure is not dominated by fsync on a shared disk.
  const tmpfs = process.argv.includes('--tmpfs') && existsSync('/dev/shm');
  const etcd = await EtcdServer.start({ args: ['--quota-backend-bytes', String(4 * 1024 ** 3)], ...(tmpfs ? { baseDir: '/dev/shm' } : {}) });
  const client = createEtcdClient(etcdConfigFromEnv(etcd.env()));
  const self = nodeName(0);
  try {
    // 1. load
    const t0 = performance.now();
    const kvs: [string, string][] = [];
    kvs.push([resourceKey('BGPConfiguration', 'default'), JSON.stringify({ kind: 'BGPConfiguration', apiVersion: 'projectcalico.org/v3', metadata: { name: 'default' }, spec: { nodeToNodeMeshEnabled: true, asNumber: 64512 } })]);
    kvs.push([resourceKey('IPPool', 'default-ipv4-ippool'), JSON.stringify({ kind: 'IPPool', apiVersion: 'projectcalico.org/v3', metadata: { name: 'default-ipv4-ippool' }, spec: { cidr: '10.64.0.0/10', ipipMode: 'Always', natOutgoing: true, blockSize: 26 } })]);
    for (let i = 0; i < N; i++) {
      const name = nodeName(i);
      kvs.push([resourceKey('Node', name), JSON.stringify({ kind: 'Node', apiVersion: 'projectcalico.org/v3', metadata: { name, labels: { 'kubernetes.io/hostname': name, rack: `r${i % 40}` } }, spec: { bgp: { ipv4Address: `${nodeIp(i + 1)}/16`, ipv4IPIPTunnelAddr: blockCidr(i).replace(/\.\d+\/26$/, '.1') } } })]);
    }
    for (let i = 0; i < B; i++) {
      const owner = nodeName(i % N);
      const cidr = blockCidr(i);
      kvs.push([blockKey(cidr), blockValue(cidr, owner)]);
      kvs.push([affinityKey(owner, cidr), '{"state":"confirmed","deleted":false}']);
    }
    for (let i = 0; i < kvs.length; i += 128) {
      if (Date.now() > deadline) throw new Error('load phase ran out of time');
      const ops = kvs.slice(i, i + 128).map(([k, v]) => client.put(k).value(v));
      await client.if(kvs[i][0], 'Version', '>', -1).then(...ops).commit();
    }
    const loadMs = performance.now() - t0;
    const bytes = kvs.reduce((a, [k, v]) => a + k.length + v.length, 0);

    // 2. cold start: list + validate + desired state
    const heapBefore = process.memoryUsage().heapUsed;
    const ds = new Datastore({ client, nodeName: self });
    const t1 = performance.now();
    await ds.start();
    const coldStartMs = performance.now() - t1;
    const coldApplyMs = ds.lastApplyMs; // validate + cache + desired state, after the list arrived
    const state = ds.current();
    if (!state) throw new Error(`no desired state: ${JSON.stringify(ds.status().problems)}`);
    const heapAfter = process.memoryUsage().heapUsed;

    // 2b. the same with every IPAM key read and validated (ipam: 'all'): all blocks and affinities.
    const dsAll = new Datastore({ client, nodeName: self, ipam: 'all' });
    const t2 = performance.now();
    await dsAll.start();
    const coldStartAllMs = performance.now() - t2;
    const coldApplyAllMs = dsAll.lastApplyMs;
    const cachedBlocks = dsAll.cache.blocks.size;
    const allPeers = dsAll.current()?.peers.size ?? 0;
    await dsAll.stop();

    // 3. affinity write -> diff
    /** Returns [write->diff latencies, watch event->diff (our processing) latencies], sorted. */
    const measure = async (count: number, write: (i: number) => Promise<unknown>, matches: (d: DesiredStateDiff, i: number) => boolean): Promise<[number[], number[]]> => {
      const lat: number[] = [];
      const proc: number[] = [];
      for (let i = 0; i < count && Date.now() < deadline; i++) {
        let start = 0;
        const got = new Promise<void>((res, rej) => {
          const t = setTimeout(() => rej(new Error(`no diff for write ${i}`)), 5000);
          const on = (d: DesiredStateDiff): void => {
            if (!matches(d, i)) return;
            clearTimeout(t);
            ds.off('diff', on);
            const now = performance.now();
            lat.push(now - start);
            proc.push(now - ds.batchStartedAt);
            res();
          };
          ds.on('diff', on);
        });
        start = performance.now();
        await write(i);
        await got;
      }
      return [lat.sort((a, b) => a - b), proc.sort((a, b) => a - b)];
    };
    const extra = (i: number) => blockCidr(B + i);
    const [affLat, affProc] = await measure(
      W,
      (i) => client.put(affinityKey(self, extra(i >> 1))).value(i % 2 === 0 ? '{"state":"confirmed","deleted":false}' : '{"state":"pending","deleted":false}').exec(),
      (d, i) => (i % 2 === 0 ? d.blocksAdded : d.blocksChanged).some((b) => b.cidr === extra(i >> 1)),
    );
    // Writes for other hosts must cost nothing visible: count diffs they cause.
    let strayDiffs = 0;
    const countStray = (): void => void strayDiffs++;
    ds.on('diff', countStray);
    for (let i = 0; i < 50; i++) await client.put(affinityKey(nodeName(1 + (i % (N - 1))), blockCidr(B + 10_000 + i))).value('{"state":"confirmed","deleted":false}');
    await new Promise((r) => setTimeout(r, 200));
    ds.off('diff', countStray);

    // 4. node write -> diff (peer set recomputed over N nodes)
    const NW = Math.min(50, W);
    const [nodeLat, nodeProc] = await measure(
      NW,
      (i) => client.put(resourceKey('Node', nodeName(N + i))).value(JSON.stringify({ kind: 'Node', apiVersion: 'projectcalico.org/v3', metadata: { name: nodeName(N + i) }, spec: { bgp: { ipv4Address: `${nodeIp(N + i + 1)}/16` } } })).exec(),
      (d, i) => d.peersAdded.some((p) => p.nodeName === nodeName(N + i)),
    );
    const status = ds.status();
    await ds.stop();

    const result = {
      bench: 'datastore',
      date: new Date().toISOString(),
      etcd: `etcd-server 3.4 (Debian), single member, loopback, data dir on ${tmpfs ? 'tmpfs (/dev/shm)' : 'disk (tmpdir)'}`,
      loadAverage: (await import('node:os')).loadavg().map((x) => +x.toFixed(1)),
      nodes: N,
      blocks: B,
      keys: kvs.length,
      bytes,
      loadMs: Math.round(loadMs),
      coldStart: {
        ms: Math.round(coldStartMs),
        targetMs: 2000,
        listMs: Math.round(coldStartMs - coldApplyMs),
        validateAndComputeMs: Math.round(coldApplyMs),
        peers: state.peers.size,
        localBlocks: state.blocks.size,
        heapDeltaMB: Math.round((heapAfter - heapBefore) / 1024 / 1024),
        revision: status.revision,
        ipam: 'own-affinities (as confd: /calico/ipam/v2/host/<node>/ only)',
      },
      coldStartAllIpam: {
        ms: Math.round(coldStartAllMs),
        listMs: Math.round(coldStartAllMs - coldApplyAllMs),
        validateAndComputeMs: Math.round(coldApplyAllMs),
        cachedBlocks,
        peers: allPeers,
        ipam: 'all (/calico/ipam/v2/: every block value and affinity listed and validated)',
      },
      affinityWriteToDiff: { writes: affLat.length, p50Ms: +pct(affLat, 50).toFixed(2), p99Ms: +pct(affLat, 99).toFixed(2), maxMs: +pct(affLat, 100).toFixed(2), targetP99Ms: 10, processingP50Ms: +pct(affProc, 50).toFixed(3), processingP99Ms: +pct(affProc, 99).toFixed(3) },
      otherHostAffinityWrites: { writes: 50, diffsEmitted: strayDiffs },
      nodeWriteToDiff: { writes: nodeLat.length, p50Ms: +pct(nodeLat, 50).toFixed(2), p99Ms: +pct(nodeLat, 99).toFixed(2), maxMs: +pct(nodeLat, 100).toFixed(2), processingP50Ms: +pct(nodeProc, 50).toFixed(3), processingP99Ms: +pct(nodeProc, 99).toFixed(3) },
      skipped: status.skipped.length,
    };
    const here = dirname(fileURLToPath(import.meta.url));
    // Works from bench/datastore (vite-node) and dist/bench/datastore (compiled).
    const root = here.includes(`${join('dist', 'bench')}`) ? resolve(here, '../../..') : resolve(here, '../..');
    const outFile = join(root, 'bench', 'results', 'datastore.json');
    mkdirSync(dirname(outFile), { recursive: true });
    writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');

    const rows: [string, string, string][] = [
      ['load into etcd', `${result.keys} keys, ${(bytes / 1e6).toFixed(1)} MB`, `${result.loadMs} ms`],
      ['cold start (list+validate+desired)', `${state.peers.size} peers, ${state.blocks.size} local blocks`, `${result.coldStart.ms} ms (target < 2000)`],
      ['  list from etcd / validate+compute', '', `${result.coldStart.listMs} ms / ${result.coldStart.validateAndComputeMs} ms`],
      ['cold start, ipam: all', `${cachedBlocks} blocks cached, ${allPeers} peers`, `${result.coldStartAllIpam.ms} ms (list ${result.coldStartAllIpam.listMs} / validate+compute ${result.coldStartAllIpam.validateAndComputeMs})`],
      ['affinity write -> diff', `${affLat.length} writes`, `p50 ${result.affinityWriteToDiff.p50Ms} ms, p99 ${result.affinityWriteToDiff.p99Ms} ms (target < 10)`],
      ['  of which event -> diff (ours)', '', `p50 ${result.affinityWriteToDiff.processingP50Ms} ms, p99 ${result.affinityWriteToDiff.processingP99Ms} ms`],
      ['other hosts\' affinity writes', '50 writes', `${strayDiffs} diffs emitted`],
      ['node write -> diff (mesh recompute)', `${nodeLat.length} writes`, `p50 ${result.nodeWriteToDiff.p50Ms} ms, p99 ${result.nodeWriteToDiff.p99Ms} ms`],
      ['  of which event -> diff (ours)', '', `p50 ${result.nodeWriteToDiff.processingP50Ms} ms, p99 ${result.nodeWriteToDiff.processingP99Ms} ms`],
    ];
    const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  |  '));
    console.log(`results: ${outFile}`);
  } finally {
    client.close();
    await etcd.destroy();
  }
}

await main();
