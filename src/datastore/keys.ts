/**
 * The etcd v3 key layout of Calico's etcd datastore (libcalico-go's
 * backend/model paths), for the kinds this agent reads:
 *
 *   /calico/resources/v3/projectcalico.org/<plural>/<name>
 *   /calico/ipam/v2/assignment/ipv4/block/10.8.94.64-26        (IPAM block)
 *   /calico/ipam/v2/host/<node>/ipv4/block/10.8.94.64-26       (block affinity)
 *
 * A block's CIDR appears in keys with its '/' replaced by '-', as Calico's
 * BlockKey / BlockAffinityKey do.
 */
import { canonicalCidr6 } from '../bgp/prefix6.js';

export const RESOURCES_PREFIX = '/calico/resources/v3/projectcalico.org/';
export const IPAM_PREFIX = '/calico/ipam/v2/';
export const BLOCK_PREFIX_V4 = '/calico/ipam/v2/assignment/ipv4/block/';
export const BLOCK_PREFIX_V6 = '/calico/ipam/v2/assignment/ipv6/block/';
export const HOST_AFFINITY_PREFIX = '/calico/ipam/v2/host/';

export type ResourceKind = 'Node' | 'BGPConfiguration' | 'BGPPeer' | 'IPPool' | 'BGPFilter';

export const KIND_PLURAL: Record<ResourceKind, string> = {
  Node: 'nodes',
  BGPConfiguration: 'bgpconfigurations',
  BGPPeer: 'bgppeers',
  IPPool: 'ippools',
  BGPFilter: 'bgpfilters',
};

const PLURAL_KIND = new Map<string, ResourceKind>(
  (Object.entries(KIND_PLURAL) as [ResourceKind, string][]).map(([k, p]) => [p, k]),
);

export type ParsedKey =
  | { type: 'resource'; kind: ResourceKind; name: string }
  | { type: 'block'; ipVersion: 4 | 6; cidr: string }
  | { type: 'affinity'; node: string; ipVersion: 4 | 6; cidr: string };

export function resourceKey(kind: ResourceKind, name: string): string {
  return `${RESOURCES_PREFIX}${KIND_PLURAL[kind]}/${name}`;
}

/**
 * "10.8.94.64/26" -> "10.8.94.64-26"; "fd00:245::/122" -> "fd00:245::-122".
 * libcalico-go writes `strings.Replace(cidr.String(), "/", "-", 1)` of a Go
 * net.IPNet: the network address in canonical compressed form (RFC 5952,
 * colons kept), so an IPv6 cidr is put in that form first.
 */
export function cidrToKeyPart(cidr: string): string {
  let c = cidr;
  if (c.includes(':')) {
    try {
      c = canonicalCidr6(c);
    } catch {
      // not a CIDR: left as given (callers validate)
    }
  }
  return c.replace('/', '-');
}

/**
 * "10.8.94.64-26" -> "10.8.94.64/26", "fd00:245::-122" -> "fd00:245::/122":
 * the last '-' separates the length (an address has none; a "::" ending is
 * followed by "-", so never split on ':').
 */
export function keyPartToCidr(part: string): string {
  const i = part.lastIndexOf('-');
  return i < 0 ? part : `${part.slice(0, i)}/${part.slice(i + 1)}`;
}

export function blockKey(cidr: string): string {
  return `${cidr.includes(':') ? BLOCK_PREFIX_V6 : BLOCK_PREFIX_V4}${cidrToKeyPart(cidr)}`;
}

export function affinityKey(node: string, cidr: string): string {
  return `${HOST_AFFINITY_PREFIX}${node}/ipv${cidr.includes(':') ? 6 : 4}/block/${cidrToKeyPart(cidr)}`;
}

export function affinityPrefix(node: string): string {
  return `${HOST_AFFINITY_PREFIX}${node}/`;
}

/** Classify a key; undefined for keys this agent does not read (other kinds, namespaced resources). */
export function parseKey(key: string): ParsedKey | undefined {
  if (key.startsWith(RESOURCES_PREFIX)) {
    const rest = key.slice(RESOURCES_PREFIX.length);
    const slash = rest.indexOf('/');
    if (slash < 0) return undefined;
    const kind = PLURAL_KIND.get(rest.slice(0, slash));
    const name = rest.slice(slash + 1);
    if (!kind || !name || name.includes('/')) return undefined;
    return { type: 'resource', kind, name };
  }
  if (key.startsWith(BLOCK_PREFIX_V4) || key.startsWith(BLOCK_PREFIX_V6)) {
    const v4 = key.startsWith(BLOCK_PREFIX_V4);
    const part = key.slice((v4 ? BLOCK_PREFIX_V4 : BLOCK_PREFIX_V6).length);
    if (!part || part.includes('/')) return undefined;
    // libcalico-go matches `ipv.` and takes the version from the CIDR itself.
    const cidr = keyPartToCidr(part);
    return { type: 'block', ipVersion: cidr.includes(':') ? 6 : 4, cidr };
  }
  if (key.startsWith(HOST_AFFINITY_PREFIX)) {
    // <node>/ipv4/block/<cidr>
    const parts = key.slice(HOST_AFFINITY_PREFIX.length).split('/');
    if (parts.length !== 4 || parts[2] !== 'block' || !parts[0]) return undefined;
    if (parts[1] !== 'ipv4' && parts[1] !== 'ipv6') return undefined;
    const cidr = keyPartToCidr(parts[3]);
    return { type: 'affinity', node: parts[0], ipVersion: cidr.includes(':') ? 6 : 4, cidr };
  }
  return undefined;
}
