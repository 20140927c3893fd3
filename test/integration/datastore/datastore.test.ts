import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { EtcdServer } from '../../../src/testbed/etcd.js';
import { Datastore } from '../../../src/datastore/datastore.js';
import { createEtcdClient, etcdConfigFromEnv } from '../../../src/datastore/etcd-config.js';
import { registerNode } from '../../../src/datastore/registration.js';
import { resourceKey } from '../../../src/datastore/keys.js';
import { affinity, DiffLog, node, putAll, res, until } from './helpers.js';

const fast = { initialMs: 50, maxMs: 1000 };

describe('Datastore against a real etcd', () => {
  let etcd: EtcdServer;
  let client: Etcd3;
  const stoppers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    etcd = await EtcdServer.start();
    client = createEtcdClient(etcdConfigFromEnv(etcd.env()));
  });
  afterAll(async () => {
    for (const s of stoppers.reverse()) await s().catch(() => undefined);
    client?.close();
    await etcd?.destroy();
  });

  async function started(nodeName: string, extra: Partial<ConstructorParameters<typeof Datastore>[0]> = {}): Promise<{ ds: Datastore; log: DiffLog }> {
    const ds = new Datastore({ client, nodeName, backoff: fast, ...extra });
    const log = new DiffLog(ds);
    stoppers.push(() => ds.stop());
    await ds.start();
    return { ds, log };
  }

  it('lists, then follows the watch', async () => {
    await client.delete().all();
    await putAll(client, [
      node('a', '10.0.0.1/24'),
      node('b', '10.0.0.2/24'),
      res('IPPool', 'p1', { cidr: '10.8.0.0/16', ipipMode: 'Always' }),
      affinity('a', '10.8.0.0/26'),
      affinity('b', '10.8.0.64/26'),
    ]);
    const { ds, log } = await started('a');
    const s = ds.current()!;
    expect(s.node).toMatchObject({ name: 'a', ipv4: '10.0.0.1', ipv4PrefixLen: 24 });
    expect([...s.peers.keys()]).toEqual(['10.0.0.2:179']);
    expect([...s.blocks.keys()]).toEqual(['10.8.0.0/26']);
    expect(s.pools.get('p1')?.ipipMode).toBe('Always');
    expect(log.diffs).toHaveLength(1);
    expect(ds.status()).toMatchObject({ connected: true, synced: true });

    const peerAdded = log.next((d) => d.peersAdded.some((p) => p.address === '10.0.0.3'));
    await putAll(client, [node('c', '10.0.0.3/24')]);
    await peerAdded;
    const blockAdded = log.next((d) => d.blocksAdded.some((b) => b.cidr === '10.8.1.0/26'));
    await putAll(client, [affinity('a', '10.8.1.0/26')]);
    await blockAdded;
    // Another host's affinity emits nothing; a pool change re-evaluates export.
    const count = log.diffs.length;
    await putAll(client, [affinity('b', '10.8.2.0/26')]);
    const exportOff = log.next((d) => d.blocksChanged.length === 2 && d.blocksChanged.every((b) => b.exported === false));
    await putAll(client, [res('IPPool', 'p1', { cidr: '10.8.0.0/16', ipipMode: 'Always', disableBGPExport: true })]);
    await exportOff;
    expect(log.diffs.length).toBe(count + 1);
    const removed = log.next((d) => d.blocksRemoved.some((b) => b.cidr === '10.8.1.0/26'));
    await client.delete().key(affinity('a', '10.8.1.0/26')[0]);
    await removed;
    expect(ds.status().revision).toBeGreaterThan(0);
    expect(ds.status().revision).toBe(etcd.revision());
  });

  it('re-lists after a forced compaction without losing or duplicating events', async () => {
    await client.delete().all();
    await putAll(client, [node('a', '10.0.0.1/24'), node('b', '10.0.0.2/24'), affinity('a', '10.9.0.0/26'), affinity('a', '10.9.0.64/26')]);
    let compactedOnce = false;
    const { ds, log } = await started('a', {
      // The watcher falls behind: between its list and its watch, others write and etcd compacts.
      beforeWatch: async () => {
        if (compactedOnce) return;
        compactedOnce = true;
        await putAll(client, [affinity('a', '10.9.1.0/26'), node('c', '10.0.0.3/24')]);
        await client.delete().key(affinity('a', '10.9.0.64/26')[0]);
        await putAll(client, [affinity('a', '10.9.2.0/26')]);
        etcd.compact();
      },
    });
    await until(() => ds.current()?.blocks.has('10.9.2.0/26') ?? false, 15_000, 're-list after compaction');
    expect(ds.status().lastError).toMatch(/compacted/);
    expect([...ds.current()!.blocks.keys()].sort()).toEqual(['10.9.0.0/26', '10.9.1.0/26', '10.9.2.0/26']);
    expect([...ds.current()!.peers.keys()].sort()).toEqual(['10.0.0.2:179', '10.0.0.3:179']);
    // Every block added exactly once, the deleted one removed exactly once.
    expect(log.blocksAdded().sort()).toEqual(['10.9.0.0/26', '10.9.0.64/26', '10.9.1.0/26', '10.9.2.0/26']);
    expect(log.blocksRemoved()).toEqual(['10.9.0.64/26']);
    expect(log.peersAdded().sort()).toEqual(['10.0.0.2', '10.0.0.3']);
    // And the watch works after the re-list.
    const later = log.next((d) => d.blocksAdded.some((b) => b.cidr === '10.9.3.0/26'));
    await putAll(client, [affinity('a', '10.9.3.0/26')]);
    await later;
    expect(log.blocksAdded().filter((c) => c === '10.9.3.0/26')).toHaveLength(1);
  });

  it('keeps its state through an etcd outage, says since when, and reconverges (incl. compaction while down)', async () => {
    await client.delete().all();
    await putAll(client, [node('a', '10.0.0.1/24'), node('b', '10.0.0.2/24'), affinity('a', '10.10.0.0/26')]);
    const { ds, log } = await started('a');
    const before = ds.current()!;
    const t0 = Date.now();
    await etcd.kill();
    await until(() => !ds.status().connected, 15_000, 'disconnected status');
    const st = ds.status();
    expect(st.summary).toMatch(/^datastore disconnected since \d{4}-\d\d-\d\dT/);
    expect(st.since).toBeGreaterThanOrEqual(t0 - 1000);
    expect(ds.current()).toBe(before); // last known state held, nothing torn down
    // Outage lasts over a few retries.
    await new Promise((r) => setTimeout(r, 1500));
    expect(ds.current()).toBe(before);
    expect(log.diffs).toHaveLength(1);
    await etcd.restart();
    // Others change things and compact right after etcd is back.
    await client.delete().key(node('b', '')[0]);
    await putAll(client, [affinity('a', '10.10.1.0/26'), node('c', '10.0.0.3/24')]);
    etcd.compact();
    await until(() => ds.status().connected && (ds.current()?.blocks.has('10.10.1.0/26') ?? false) && (ds.current()?.peers.has('10.0.0.3:179') ?? false), 20_000, 'reconverge');
    expect([...ds.current()!.peers.keys()]).toEqual(['10.0.0.3:179']);
    expect(log.peersAdded().sort()).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(log.diffs.flatMap((d) => d.peersRemoved.map((p) => p.address))).toEqual(['10.0.0.2']);
    expect(log.blocksAdded().sort()).toEqual(['10.10.0.0/26', '10.10.1.0/26']);
    expect(ds.status().summary).toBe('datastore connected');
  });

  it('skips bad JSON and bad fields with clear errors, keeping good state', async () => {
    await client.delete().all();
    await putAll(client, [node('a', '10.0.0.1/24'), node('b', '10.0.0.2/24'), res('IPPool', 'p1', { cidr: '10.8.0.0/16', ipipMode: 'Always' })]);
    const { ds, log } = await started('a');
    const pk = resourceKey('IPPool', 'p1');
    const bad = resourceKey('BGPPeer', 'p-bad');
    await putAll(client, [
      [bad, JSON.stringify({ kind: 'BGPPeer', metadata: { name: 'p-bad' }, spec: { peerIP: '10.0.0', asNumber: 65000 } })],
      [resourceKey('BGPPeer', 'p-json'), '{"kind": "BGPPeer", '],
      [pk, JSON.stringify({ kind: 'IPPool', metadata: { name: 'p1' }, spec: { cidr: '10.8.0.0/16', ipipMode: 'Sometimes' } })],
      [resourceKey('Node', 'b'), 'not json'],
    ]);
    await until(() => ds.status().skipped.length === 4, 10_000, 'skipped resources');
    const skipped = Object.fromEntries(ds.status().skipped.map((s) => [s.key, s.error]));
    expect(skipped[bad]).toBe('spec.peerIP: "10.0.0" is not an IP address (or ip:port)');
    expect(skipped[resourceKey('BGPPeer', 'p-json')]).toMatch(/^value is not valid JSON/);
    expect(skipped[pk]).toContain('spec.ipipMode: "Sometimes" is not one of Never, Always, CrossSubnet');
    // Last good versions stay in force.
    expect(ds.current()!.pools.get('p1')?.ipipMode).toBe('Always');
    expect([...ds.current()!.peers.keys()]).toEqual(['10.0.0.2:179']);
    expect(log.diffs).toHaveLength(1);
    // Fixing one clears its error.
    await putAll(client, [node('b', '10.0.0.22/24')]);
    await until(() => ds.current()!.peers.has('10.0.0.22:179'), 10_000, 'fixed node');
    expect(ds.status().skipped.map((s) => s.key)).not.toContain(resourceKey('Node', 'b'));
  });

  it("with ipam: 'all' caches and validates every block and affinity", async () => {
    await client.delete().all();
    await putAll(client, [
      node('a', '10.0.0.1/24'),
      ['/calico/ipam/v2/assignment/ipv4/block/10.8.0.0-26', JSON.stringify({ cidr: '10.8.0.0/26', affinity: 'host:a', allocations: [0, null] })],
      ['/calico/ipam/v2/assignment/ipv4/block/10.8.0.64-26', JSON.stringify({ cidr: '10.8.9.64/26' })],
      affinity('b', '10.8.0.128/26'),
    ]);
    const { ds } = await started('a', { ipam: 'all' });
    expect(ds.cache.blocks.get('10.8.0.0/26')).toMatchObject({ affinity: 'host:a', allocated: 1 });
    expect(ds.cache.affinities.get('b')?.has('10.8.0.128/26')).toBe(true);
    expect(ds.status().skipped).toEqual([
      { key: '/calico/ipam/v2/assignment/ipv4/block/10.8.0.64-26', error: 'cidr: "10.8.9.64/26" does not match the key\'s block 10.8.0.64/26' },
    ]);
    // The default reads only this host's affinities, as confd does.
    const { ds: own } = await started('a');
    expect(own.cache.blocks.size).toBe(0);
    expect(own.cache.affinities.has('b')).toBe(false);
  });

  it('registers its node by compare-and-swap without clobbering a concurrent writer', async () => {
    await client.delete().all();
    const key = resourceKey('Node', 'reg');
    const theirs = { kind: 'Node', apiVersion: 'projectcalico.org/v3', metadata: { name: 'reg', labels: { zone: 'z1' } }, spec: { bgp: { routeReflectorClusterID: '224.0.0.1' }, orchRefs: [{ nodeName: 'reg', orchestrator: 'k8s' }] } };
    await client.put(key).value(JSON.stringify(theirs));
    // Someone else writes between our read and our transaction, once.
    let raced = false;
    const racing = new Proxy(client, {
      get(target, prop, recv) {
        if (prop === 'get') {
          return (k: string) => {
            const b = target.get(k);
            const exec = b.exec.bind(b);
            b.exec = async () => {
              const r = await exec();
              if (!raced) {
                raced = true;
                const doc = JSON.parse(r.kvs[0].value.toString());
                doc.metadata.labels.rack = 'r7';
                await target.put(k).value(JSON.stringify(doc));
              }
              return r;
            };
            return b;
          };
        }
        return Reflect.get(target, prop, recv);
      },
    });
    const r = await registerNode(racing, { name: 'reg', ipv4Cidr: '10.0.5.5/24', ipv4IPIPTunnelAddr: '192.168.5.1' });
    expect(r).toMatchObject({ created: false, changed: true, attempts: 2 });
    const stored = JSON.parse((await client.get(key).string())!);
    expect(stored.metadata.labels).toEqual({ zone: 'z1', rack: 'r7' });
    expect(stored.spec.orchRefs).toEqual(theirs.spec.orchRefs);
    expect(stored.spec.bgp).toEqual({ routeReflectorClusterID: '224.0.0.1', ipv4Address: '10.0.5.5/24', ipv4IPIPTunnelAddr: '192.168.5.1' });
    // Idempotent: nothing to change the second time.
    expect(await registerNode(client, { name: 'reg', ipv4Cidr: '10.0.5.5/24', ipv4IPIPTunnelAddr: '192.168.5.1' })).toMatchObject({ changed: false });
    // Creates when absent, and the Datastore sees itself.
    const { ds } = await started('fresh');
    expect(ds.current()).toBeUndefined();
    expect(ds.status().problems[0].message).toContain('no Node resource');
    const c = await ds.registerNode({ ipv4Cidr: '10.0.6.6/24' });
    expect(c).toMatchObject({ created: true });
    await until(() => ds.current()?.node.ipv4 === '10.0.6.6', 10_000, 'own node');
    expect(ds.current()!.peers.get('10.0.5.5:179')).toBeUndefined(); // reg is a route reflector: no mesh to it
  });
});

describe('Datastore over TLS', () => {
  let etcd: EtcdServer | undefined;
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('connects with ETCD_CA_CERT_FILE / ETCD_CERT_FILE / ETCD_KEY_FILE made by openssl', async () => {
    etcd = await EtcdServer.start({ tls: true });
    expect(etcd.endpoint).toMatch(/^https:/);
    const env = etcd.env();
    expect(env.ETCD_CA_CERT_FILE).toBeTruthy();
    etcd.etcdctl(['put', resourceKey('Node', 'tls-a'), node('tls-a', '10.1.0.1/24')[1]]);
    etcd.etcdctl(['put', resourceKey('Node', 'tls-b'), node('tls-b', '10.1.0.2/24')[1]]);
    const ds = new Datastore({ etcd: etcdConfigFromEnv(env), nodeName: 'tls-a', backoff: fast });
    try {
      await ds.start();
      expect([...ds.current()!.peers.keys()]).toEqual(['10.1.0.2:179']);
    } finally {
      await ds.stop();
    }
    // Without the client certificate the server refuses us.
    const noCert = new Datastore({ etcd: etcdConfigFromEnv({ ETCD_ENDPOINTS: env.ETCD_ENDPOINTS, ETCD_CA_CERT_FILE: env.ETCD_CA_CERT_FILE }), nodeName: 'tls-a', backoff: fast });
    try {
      void noCert.start();
      await until(() => noCert.status().lastError !== undefined, 15_000, 'a TLS error');
      expect(noCert.status().synced).toBe(false);
      expect(noCert.status().connected).toBe(false);
    } finally {
      await noCert.stop();
    }
  });
});
