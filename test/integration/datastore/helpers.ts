import type { Etcd3 } from 'etcd3';
import { affinityKey, resourceKey, type ResourceKind } from '../../../src/datastore/keys.js';
import type { Datastore } from '../../../src/datastore/datastore.js';
import type { DesiredState, DesiredStateDiff } from '../../../src/datastore/desired.js';

export function res(kind: ResourceKind, name: string, spec: unknown, labels?: Record<string, string>): [string, string] {
  return [resourceKey(kind, name), JSON.stringify({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec })];
}

export function node(name: string, ip: string, extra: Record<string, unknown> = {}): [string, string] {
  return res('Node', name, { bgp: { ipv4Address: ip, ...extra } });
}

export function affinity(nodeName: string, cidr: string, state = 'confirmed'): [string, string] {
  return [affinityKey(nodeName, cidr), JSON.stringify({ state, deleted: false })];
}

export async function putAll(client: Etcd3, kvs: [string, string][]): Promise<void> {
  for (let i = 0; i < kvs.length; i += 100) {
    const ops = kvs.slice(i, i + 100).map(([k, v]) => client.put(k).value(v));
    await client.if(kvs[i][0], 'Version', '>', -1).then(...ops).commit();
  }
}

/** Records every diff a Datastore emits. */
export class DiffLog {
  readonly diffs: DesiredStateDiff[] = [];
  private waiters: { pred: (d: DesiredStateDiff, s: DesiredState) => boolean; resolve: () => void }[] = [];
  constructor(ds: Datastore) {
    ds.on('diff', (d, s) => {
      this.diffs.push(d);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(d, s)) {
          w.resolve();
          return false;
        }
        return true;
      });
    });
  }
  next(pred: (d: DesiredStateDiff, s: DesiredState) => boolean, timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a diff')), timeoutMs);
      this.waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
    });
  }
  /** Every block cidr added, over all diffs, in order. */
  blocksAdded(): string[] {
    return this.diffs.flatMap((d) => d.blocksAdded.map((b) => b.cidr));
  }
  blocksRemoved(): string[] {
    return this.diffs.flatMap((d) => d.blocksRemoved.map((b) => b.cidr));
  }
  peersAdded(): string[] {
    return this.diffs.flatMap((d) => d.peersAdded.map((p) => p.address));
  }
}

export async function until(pred: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
