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
import { checkName, manifestKind, unknownFields } from './strict.js';
import { decodeKv } from './model/resources.js';

export type AdminKind = ResourceKind | 'IPAMBlock' | 'BlockAffinity';

const KIND_ALIASES: Record<string, AdminKind> = {};
for (const [kind, names] of Object.entries({
  Node: ['node', 'nodes', 'no'],
  BGPConfiguration: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs'],
  BGPPeer: ['bgppeer', 'bgppeers'],
  IPPool: ['ippool', 'ippools', 'pool', 'pools'],
  BGPFilter: ['bgpfilter', 'bgpfilters'],
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
  // calicoctl: an empty file is an error, not a successful apply of nothing.
  if (out.length === 0) throw new Error('no resources specified');
  return out;
}

export interface KeyValue {
  key: string;
  value: string;
  /** "IPPool/p1" for messages. */
  label: string;
}

/** A manifest's operator name, `Kind/name`, for messages (never an etcd path). */
export function manifestLabel(m: Manifest): string {
  const spec = (m.spec ?? {}) as Record<string, unknown>;
  const name = typeof m.metadata?.name === 'string' ? m.metadata.name : undefined;
  if (m.kind === 'IPAMBlock') return `IPAMBlock/${name ?? ipamName(String(spec.cidr ?? '?'))}`;
  if (m.kind === 'BlockAffinity') return `BlockAffinity/${name ?? `${String(spec.node ?? '?')}/${ipamName(String(spec.cidr ?? '?'))}`}`;
  return `${m.kind}/${name ?? '(no name)'}`;
}

/** The one name of an IPAM block: its cidr as in its etcd key, "10.244.1.0-26". */
export function ipamName(cidr: string): string {
  const c = parseCidr(cidr);
  return c ? cidrToKeyPart(c.cidr) : cidr;
}

/** An error about one resource, naming it and the field, once per field. */
export class ManifestError extends Error {
  constructor(
    readonly label: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${label}: ${p}`).join('\n'));
  }
}

/** The etcd key and value a manifest becomes (validated as calicoctl would, then by the watcher's model). */
export function manifestToKeyValue(m: Manifest, existing?: string): KeyValue {
  const label = manifestLabel(m);
  const strict = manifestKind(m.kind);
  if ('error' in strict) throw new ManifestError(label, [strict.error]);
  const kind = strict.kind;
  const unknown = unknownFields(kind, m as unknown as Record<string, unknown>);
  if (typeof m.metadata?.name === 'string' && kind !== 'IPAMBlock' && kind !== 'BlockAffinity') {
    const bad = checkName(m.metadata.name);
    if (bad) unknown.unshift(`metadata.name: ${bad}`);
  }
  if (unknown.length) throw new ManifestError(label, unknown);
  const spec = (m.spec ?? {}) as Record<string, unknown>;
  if (kind === 'IPAMBlock') {
    const c = parseCidr(String(spec.cidr ?? ''));
    if (!c) throw new ManifestError(label, [`spec.cidr: "${String(spec.cidr)}" is not a CIDR`]);
    const size = c.ipVersion === 4 ? 2 ** (32 - c.prefixLen) : 0;
    if (spec.allocations === undefined && size > 65536) throw new ManifestError(label, ['spec.allocations: the block is too large to fill them in: give them']);
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
    return { key: blockKey(c.cidr), value: JSON.stringify(block), label: `IPAMBlock/${cidrToKeyPart(c.cidr)}` };
  }
  if (kind === 'BlockAffinity') {
    const c = parseCidr(String(spec.cidr ?? ''));
    if (!c) throw new ManifestError(label, [`spec.cidr: "${String(spec.cidr)}" is not a CIDR`]);
    if (typeof spec.node !== 'string' || !spec.node) throw new ManifestError(label, ['spec.node: required']);
    const value = { state: spec.state ?? 'confirmed', deleted: spec.deleted ?? false };
    return { key: affinityKey(spec.node, c.cidr), value: JSON.stringify(value), label: `BlockAffinity/${spec.node}/${cidrToKeyPart(c.cidr)}` };
  }
  if (m.apiVersion !== undefined && m.apiVersion !== 'projectcalico.org/v3') {
    throw new ManifestError(label, [`apiVersion: "${m.apiVersion}" is not projectcalico.org/v3`]);
  }
  const md = { ...(m.metadata ?? {}) } as Record<string, unknown>;
  const name = md.name;
  if (typeof name !== 'string' || !name) throw new ManifestError(label, ['metadata.name: required']);
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

/** One line per problem, `Kind/name: field: message`. */
function describeError(m: Manifest, index: number, err: unknown): string[] {
  if (err instanceof ManifestError) return err.problems.map((p) => `${err.label}: ${p}`);
  const label = typeof m.kind === 'string' ? manifestLabel(m) : `resource ${index + 1}`;
  if (err instanceof ValidationError) {
    const seen = new Set<string>();
    const out: string[] = [];
    for (const p of err.problems) {
      const line = `${label}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
      if (!seen.has(line)) out.push(line);
      seen.add(line);
    }
    return out;
  }
  return [`${label}: ${(err as Error).message}`];
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
      errors.push(...describeError(m, i, err));
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
      metadata: { name: `${pk.node}/${cidrToKeyPart(pk.cidr)}`, resourceVersion: modRevision },
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
    // One name per object, the one `get` prints (IPAM: the cidr as in the etcd key, "10.244.1.0-26").
    if (name !== undefined && r.metadata.name !== name) continue;
    out.push(r);
  }
  return out;
}

/** Delete by name, the name `get` prints: IPAMBlock "10.244.1.0-26", BlockAffinity "<node>/10.244.1.0-26". */
export async function deleteResource(client: Etcd3, kind: AdminKind, name: string): Promise<number> {
  let key: string;
  if (kind === 'IPAMBlock' || kind === 'BlockAffinity') {
    const found = (await getResources(client, kind, name))[0];
    if (!found) return 0;
    key = kind === 'IPAMBlock' ? blockKey(String(found.spec.cidr)) : affinityKey(String(found.spec.node), String(found.spec.cidr));
  } else key = resourceKey(kind, name);
  const res = await client.delete().key(key).exec();
  return Number(res.deleted);
}

/** For a "not found": the name an IPAM object has when `name` is another spelling of it. */
export function ipamNameHint(kind: AdminKind, name: string): string | undefined {
  if (kind === 'IPAMBlock') {
    const c = parseCidr(name.replace(/^(\d+)-(\d+)-(\d+)-(\d+)-(\d+)$/, '$1.$2.$3.$4/$5'));
    return c && cidrToKeyPart(c.cidr) !== name ? `IPAM blocks are named by their cidr as in etcd: ${cidrToKeyPart(c.cidr)}` : undefined;
  }
  if (kind === 'BlockAffinity') {
    const m = /^(.+?)\/(.+\/\d+)$/.exec(name);
    const c = m ? parseCidr(m[2]) : undefined;
    return m && c ? `block affinities are named <node>/<cidr as in etcd>: ${m[1]}/${cidrToKeyPart(c.cidr)}` : undefined;
  }
  return undefined;
}
