/**
 * calicoctl-like apply / get / delete against Calico's etcd layout, for labs,
 * tests and operators without calicoctl. Same validation as the watcher.
 *
 * Calico kinds (Node, BGPConfiguration, BGPPeer, IPPool) are stored as
 * calicoctl stores them: the resource JSON without resourceVersion, under
 * /calico/resources/v3/projectcalico.org/<plural>/<name>.
 *
 * IPAM has no calicoctl resource in etcd mode; this tool defines two:
 *   kind: IPAMBlock      spec: {cidr, affinity?: "host:<node>", allocations?, unallocated?, ...}
 *     -> /calico/ipam/v2/assignment/ipv4/block/<a.b.c.d-len>, value = Calico's
 *        AllocationBlock JSON (empty allocations for the block's size when not given)
 *   kind: BlockAffinity  spec: {node, cidr, state?: confirmed|pending|pendingDeletion, deleted?: false}
 *     -> /calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-len>, value {"state":..,"deleted":..}
 */
import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { parseAllDocuments } from 'yaml';
import {
  affinityKey,
  BLOCK_PREFIX_V4,
  blockKey,
  cidrToKeyPart,
  HOST_AFFINITY_PREFIX,
  KIND_PLURAL,
  parseKey,
  resourceKey,
  RESOURCES_PREFIX,
  type ResourceKind,
} from './keys.js';
import { ValidationError, parseCidr } from './model/fields.js';
import { decodeKv } from './model/resources.js';

export type AdminKind = ResourceKind | 'IPAMBlock' | 'BlockAffinity';

const KIND_ALIASES: Record<string, AdminKind> = {};
for (const [kind, names] of Object.entries({
  Node: ['node', 'nodes', 'no'],
  BGPConfiguration: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
  BGPPeer: ['bgppeer', 'bgppeers'],
  IPPool: ['ippool', 'ippools', 'pool', 'pools'],
  IPAMBlock: ['ipamblock', 'ipamblocks', 'block', 'blocks'],
  BlockAffinity: ['blockaffinity', 'blockaffinities', 'affinity', 'affinities'],
} as Record<AdminKind, string[]>)) {
  for (const n of names) KIND_ALIASES[n] = kind as AdminKind;
}

export function resolveKind(s: string): AdminKind {
  const k = KIND_ALIASES[s.toLowerCase()];
  if (!k) throw new Error(`unknown kind "${s}" (one of: ${Object.keys(KIND_PLURAL).join(', ')}, IPAMBlock, BlockAffinity)`);
  return k;
}

export interface Manifest {
  kind: string;
  apiVersion?: string;
  metadata?: Record<string, unknown>;
  spec?: Record<string, unknown>;
  items?: Manifest[];
}

/** YAML (one or many documents) or JSON; `kind: List` is flattened. */
export function parseManifests(text: string): Manifest[] {
  const out: Manifest[] = [];
  const push = (d: unknown, where: string): void => {
    if (d === null || d === undefined) return;
    if (typeof d !== 'object' || Array.isArray(d)) throw new Error(`${where}: not a resource object`);
    const m = d as Manifest;
    if (typeof m.kind !== 'string') throw new Error(`${where}: kind is required`);
    if (m.kind === 'List' || m.kind.endsWith('List')) {
      (m.items ?? []).forEach((it, i) => push(it, `${where}.items[${i}]`));
    } else out.push(m);
  };
  const docs = parseAllDocuments(text);
  docs.forEach((doc, i) => {
    if (doc.errors.length) throw new Error(`document ${i + 1}: ${doc.errors[0].message}`);
    const v = doc.toJS() as unknown;
    if (Array.isArray(v)) v.forEach((x, j) => push(x, `document ${i + 1}[${j}]`));
    else push(v, `document ${i + 1}`);
  });
  return out;
}

export interface KeyValue {
  key: string;
  value: string;
  /** "IPPool/p1" for messages. */
  label: string;
}

/** The etcd key and value a manifest becomes (not yet validated). */
export function manifestToKeyValue(m: Manifest, existing?: string): KeyValue {
  const kind = resolveKind(m.kind);
  const spec = (m.spec ?? {}) as Record<string, unknown>;
  if (kind === 'IPAMBlock') {
    const c = parseCidr(String(spec.cidr ?? ''));
    if (!c) throw new Error(`IPAMBlock: spec.cidr: "${String(spec.cidr)}" is not a CIDR`);
    const size = c.ipVersion === 4 ? 2 ** (32 - c.prefixLen) : 0;
    if (spec.allocations === undefined && size > 65536) throw new Error(`IPAMBlock ${c.cidr}: block too large to fill allocations`);
    const block = {
      cidr: c.cidr,
      affinity: spec.affinity ?? null,
      strictAffinity: spec.strictAffinity ?? false,
      allocations: spec.allocations ?? new Array(size).fill(null),
      unallocated: spec.unallocated ?? Array.from({ length: size }, (_, i) => i),
      attributes: spec.attributes ?? [],
      deleted: spec.deleted ?? false,
      ...(spec.sequenceNumber !== undefined ? { sequenceNumber: spec.sequenceNumber } : {}),
    };
    return { key: blockKey(c.cidr), value: JSON.stringify(block), label: `IPAMBlock/${c.cidr}` };
  }
  if (kind === 'BlockAffinity') {
    const c = parseCidr(String(spec.cidr ?? ''));
    if (!c) throw new Error(`BlockAffinity: spec.cidr: "${String(spec.cidr)}" is not a CIDR`);
    if (typeof spec.node !== 'string' || !spec.node) throw new Error(`BlockAffinity ${c.cidr}: spec.node is required`);
    const value = { state: spec.state ?? 'confirmed', deleted: spec.deleted ?? false };
    return { key: affinityKey(spec.node, c.cidr), value: JSON.stringify(value), label: `BlockAffinity/${spec.node}/${c.cidr}` };
  }
  if (m.apiVersion !== undefined && m.apiVersion !== 'projectcalico.org/v3') {
    throw new Error(`${kind}: apiVersion "${m.apiVersion}" is not projectcalico.org/v3`);
  }
  const md = { ...(m.metadata ?? {}) } as Record<string, unknown>;
  const name = md.name;
  if (typeof name !== 'string' || !name) throw new Error(`${kind}: metadata.name is required`);
  delete md.resourceVersion;
  // Keep identity fields of an existing resource, as calicoctl apply does.
  let prevMd: Record<string, unknown> = {};
  if (existing) {
    try {
      prevMd = ((JSON.parse(existing) as Manifest).metadata ?? {}) as Record<string, unknown>;
    } catch {
      prevMd = {};
    }
  }
  md.uid = md.uid ?? prevMd.uid ?? randomUUID();
  md.creationTimestamp = md.creationTimestamp ?? prevMd.creationTimestamp ?? new Date().toISOString();
  const doc = { kind, apiVersion: 'projectcalico.org/v3', metadata: md, spec };
  return { key: resourceKey(kind, name), value: JSON.stringify(doc), label: `${kind}/${name}` };
}

export interface ApplyResult {
  applied: string[];
  errors: string[];
}

/**
 * Validate every resource, then write them all (one transaction per 100);
 * if any is invalid nothing is written and every error is returned.
 */
export async function applyManifests(client: Etcd3, manifests: Manifest[]): Promise<ApplyResult> {
  const kvs: KeyValue[] = [];
  const errors: string[] = [];
  for (const [i, m] of manifests.entries()) {
    try {
      const draftKey = manifestToKeyValue(m).key;
      const existing = parseKey(draftKey)?.type === 'resource' ? await client.get(draftKey).string() : null;
      const kv = manifestToKeyValue(m, existing ?? undefined);
      decodeKv(kv.key, kv.value);
      kvs.push(kv);
    } catch (err) {
      errors.push(err instanceof ValidationError ? err.message : `resource ${i + 1} (${m.kind}): ${(err as Error).message}`);
    }
  }
  if (errors.length) return { applied: [], errors };
  for (let i = 0; i < kvs.length; i += 100) {
    const ops = kvs.slice(i, i + 100).map((kv) => client.put(kv.key).value(kv.value));
    await client.if(kvs[i].key, 'Version', '>', -1).then(...ops).commit();
  }
  return { applied: kvs.map((k) => k.label), errors };
}

export interface StoredResource {
  apiVersion: string;
  kind: AdminKind;
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
}

function prefixFor(kind: AdminKind): string {
  if (kind === 'IPAMBlock') return BLOCK_PREFIX_V4;
  if (kind === 'BlockAffinity') return HOST_AFFINITY_PREFIX;
  return `${RESOURCES_PREFIX}${KIND_PLURAL[kind]}/`;
}

function toStored(kind: AdminKind, key: string, raw: string, modRevision: string): StoredResource | undefined {
  const pk = parseKey(key);
  if (!pk) return undefined;
  if (pk.type === 'block') {
    let spec: Record<string, unknown>;
    try {
      spec = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      spec = { cidr: pk.cidr, invalid: raw };
    }
    return { apiVersion: 'projectcalico.org/v3', kind: 'IPAMBlock', metadata: { name: cidrToKeyPart(pk.cidr), resourceVersion: modRevision }, spec };
  }
  if (pk.type === 'affinity') {
    let v: Record<string, unknown> = {};
    try {
      v = raw.trim() ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      v = { invalid: raw };
    }
    return {
      apiVersion: 'projectcalico.org/v3',
      kind: 'BlockAffinity',
      metadata: { name: `${pk.node}-${cidrToKeyPart(pk.cidr)}`, resourceVersion: modRevision },
      spec: { node: pk.node, cidr: pk.cidr, state: v.state || 'confirmed', deleted: v.deleted ?? false, ...(v.invalid ? { invalid: v.invalid } : {}) },
    };
  }
  if (pk.kind !== kind) return undefined;
  try {
    const doc = JSON.parse(raw) as StoredResource;
    doc.metadata = { ...(doc.metadata ?? {}), resourceVersion: modRevision };
    return doc;
  } catch {
    return { apiVersion: 'projectcalico.org/v3', kind, metadata: { name: pk.name, resourceVersion: modRevision }, spec: { invalid: raw } };
  }
}

/** Resources of a kind, optionally one by name (IPAM names as `get` prints them, or a cidr). */
export async function getResources(client: Etcd3, kind: AdminKind, name?: string): Promise<StoredResource[]> {
  const res = await client.getAll().prefix(prefixFor(kind)).exec();
  const out: StoredResource[] = [];
  for (const kv of res.kvs) {
    const r = toStored(kind, kv.key.toString(), kv.value.toString(), String(kv.mod_revision));
    if (!r) continue;
    if (name !== undefined && r.metadata.name !== name && r.spec.cidr !== name && cidrToKeyPart(String(r.spec.cidr ?? '')) !== name) continue;
    out.push(r);
  }
  return out;
}

/** Delete by name; for BlockAffinity the name is "<node>/<cidr>" or the name `get` prints. */
export async function deleteResource(client: Etcd3, kind: AdminKind, name: string): Promise<number> {
  let key: string;
  if (kind === 'IPAMBlock') {
    const c = parseCidr(name.includes('/') ? name : name.replace(/-(\d+)$/, '/$1'));
    if (!c) throw new Error(`IPAMBlock: "${name}" is not a block cidr`);
    key = blockKey(c.cidr);
  } else if (kind === 'BlockAffinity') {
    const m = /^(.+?)\/(.+\/\d+)$/.exec(name);
    if (m) key = affinityKey(m[1], m[2]);
    else {
      const found = (await getResources(client, kind, name))[0];
      if (!found) return 0;
      key = affinityKey(String(found.spec.node), String(found.spec.cidr));
    }
  } else key = resourceKey(kind, name);
  const res = await client.delete().key(key).exec();
  return Number(res.deleted);
}
