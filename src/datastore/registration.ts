/**
 * Node registration as calico-node does it on start (startup.go): create or
 * update this node's Node resource with its BGP address (and IPIP tunnel
 * address), by compare-and-swap on the key's mod revision so a concurrent
 * writer (an operator, kube-controllers, another agent) is never clobbered:
 * only the fields this agent owns are set, everything else in the stored
 * JSON is kept verbatim; a lost race re-reads and tries again.
 */
import { randomUUID } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Etcd3 } from 'etcd3';
import { resourceKey } from './keys.js';
import { parseCidr } from './model/fields.js';

export interface NodeRegistration {
  name: string;
  /** "10.10.20.5/24": the node's address with its subnet length (spec.bgp.ipv4Address). */
  ipv4Cidr: string;
  ipv4IPIPTunnelAddr?: string;
  /** "fd00:199::2/64": spec.bgp.ipv6Address, as calico-node writes it from IP6 (issue 19). */
  ipv6Cidr?: string;
  /** Written to spec.bgp.asNumber when given (calico-node's AS env). */
  asNumber?: number;
}

export interface RegistrationResult {
  created: boolean;
  changed: boolean;
  /** etcd revision of the write (or the key's mod revision when nothing changed). */
  revision: number;
  attempts: number;
}

export async function registerNode(client: Etcd3, reg: NodeRegistration, opts: { maxAttempts?: number } = {}): Promise<RegistrationResult> {
  const v4 = parseCidr(reg.ipv4Cidr, false);
  if (!v4 || v4.ipVersion !== 4) throw new Error(`registerNode: ipv4Cidr "${reg.ipv4Cidr}" is not an IPv4 address with a prefix length`);
  if (reg.ipv6Cidr !== undefined) {
    const v6 = parseCidr(reg.ipv6Cidr, false);
    if (!v6 || v6.ipVersion !== 6) throw new Error(`registerNode: ipv6Cidr "${reg.ipv6Cidr}" is not an IPv6 address with a prefix length`);
  }
  if (reg.ipv4IPIPTunnelAddr && !isIPv4(reg.ipv4IPIPTunnelAddr)) throw new Error(`registerNode: ipv4IPIPTunnelAddr "${reg.ipv4IPIPTunnelAddr}" is not an IPv4 address`);
  const key = resourceKey('Node', reg.name);
  const max = opts.maxAttempts ?? 10;
  for (let attempt = 1; attempt <= max; attempt++) {
    const res = await client.get(key).exec();
    const kv = res.kvs[0];
    if (!kv) {
      const doc = {
        kind: 'Node',
        apiVersion: 'projectcalico.org/v3',
        metadata: { name: reg.name, uid: randomUUID(), creationTimestamp: new Date().toISOString() },
        spec: { bgp: ownedFields(reg, v4.cidr) },
      };
      const txn = await client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(doc))).commit();
      if (txn.succeeded) return { created: true, changed: true, revision: Number(txn.header.revision), attempts: attempt };
      continue; // someone created it meanwhile: merge into theirs
    }
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(kv.value.toString()) as Record<string, unknown>;
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
    } catch (err) {
      throw new Error(`registerNode: ${key}: existing value is not a JSON object (${(err as Error).message}); refusing to overwrite it`);
    }
    const spec = (doc.spec && typeof doc.spec === 'object' ? doc.spec : (doc.spec = {})) as Record<string, unknown>;
    const bgp = (spec.bgp && typeof spec.bgp === 'object' ? spec.bgp : (spec.bgp = {})) as Record<string, unknown>;
    const before = JSON.stringify(doc);
    Object.assign(bgp, ownedFields(reg, v4.cidr));
    const after = JSON.stringify(doc);
    if (before === after) return { created: false, changed: false, revision: Number(kv.mod_revision), attempts: attempt };
    const txn = await client.if(key, 'Mod', '==', kv.mod_revision).then(client.put(key).value(after)).commit();
    if (txn.succeeded) return { created: false, changed: true, revision: Number(txn.header.revision), attempts: attempt };
    await new Promise((r) => setTimeout(r, 5 * attempt));
  }
  throw new Error(`registerNode: ${key}: gave up after ${max} conflicting writes`);
}

function ownedFields(reg: NodeRegistration, cidr: string): Record<string, unknown> {
  const f: Record<string, unknown> = { ipv4Address: cidr };
  if (reg.ipv4IPIPTunnelAddr) f.ipv4IPIPTunnelAddr = reg.ipv4IPIPTunnelAddr;
  if (reg.ipv6Cidr) f.ipv6Address = reg.ipv6Cidr;
  if (reg.asNumber !== undefined) f.asNumber = reg.asNumber;
  return f;
}
