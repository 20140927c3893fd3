/** Helpers to build a ResourceCache from plain Calico resources, through the real validation. */
import { ResourceCache } from '../../../src/datastore/cache.js';
import { affinityKey, resourceKey, type ResourceKind } from '../../../src/datastore/keys.js';

let rev = 1;

export function put(cache: ResourceCache, key: string, value: unknown): void {
  cache.apply({ type: 'put', key, value: typeof value === 'string' ? value : JSON.stringify(value), modRevision: rev++ });
  const s = cache.skipped.get(key);
  if (s) throw new Error(`fixture invalid: ${s.error}`);
}

export function resource(kind: ResourceKind, name: string, spec: unknown, labels?: Record<string, string>) {
  return { key: resourceKey(kind, name), value: { apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec } };
}

export interface NodeFx {
  name: string;
  ip?: string; // "10.0.0.1/24"
  as?: number;
  rr?: string;
  labels?: Record<string, string>;
}

export function cacheWith(opts: {
  nodes?: NodeFx[];
  bgpConfig?: Record<string, unknown>;
  nodeConfigs?: Record<string, Record<string, unknown>>;
  peers?: Record<string, Record<string, unknown>>;
  pools?: Record<string, Record<string, unknown>>;
  affinities?: { node: string; cidr: string; state?: string | '' }[];
}): ResourceCache {
  const c = new ResourceCache();
  for (const n of opts.nodes ?? []) {
    const bgp: Record<string, unknown> = {};
    if (n.ip) bgp.ipv4Address = n.ip;
    if (n.as) bgp.asNumber = n.as;
    if (n.rr) bgp.routeReflectorClusterID = n.rr;
    const r = resource('Node', n.name, { bgp }, n.labels);
    put(c, r.key, r.value);
  }
  if (opts.bgpConfig) {
    const r = resource('BGPConfiguration', 'default', opts.bgpConfig);
    put(c, r.key, r.value);
  }
  for (const [node, spec] of Object.entries(opts.nodeConfigs ?? {})) {
    const r = resource('BGPConfiguration', `node.${node}`, spec);
    put(c, r.key, r.value);
  }
  for (const [name, spec] of Object.entries(opts.peers ?? {})) {
    const r = resource('BGPPeer', name, spec);
    put(c, r.key, r.value);
  }
  for (const [name, spec] of Object.entries(opts.pools ?? {})) {
    const r = resource('IPPool', name, spec);
    put(c, r.key, r.value);
  }
  for (const a of opts.affinities ?? []) {
    put(c, affinityKey(a.node, a.cidr), a.state === '' ? '' : { state: a.state ?? 'confirmed', deleted: false });
  }
  return c;
}
