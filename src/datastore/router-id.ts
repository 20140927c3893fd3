/**
 * BGP router id selection as calico-node's confd does it: `CALICO_ROUTER_ID`
 * set to a dotted quad is used as is; `hash` derives one from the node name;
 * otherwise the node's IPv4 address.
 *
 * The hash (confd's hashToIPv4): the first four bytes of sha256(nodeName) as
 * a dotted quad, with a first octet above 223 lowered by 32 so the id never
 * falls in the multicast/reserved ranges BGP implementations refuse.
 */
import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';

export function hashToIPv4(nodeName: string): string {
  const h = createHash('sha256').update(nodeName).digest();
  const first = h[0] > 223 ? h[0] - 32 : h[0];
  return `${first}.${h[1]}.${h[2]}.${h[3]}`;
}

/**
 * Returns the router id, or throws when CALICO_ROUTER_ID is neither `hash`
 * nor an IPv4 address, or when it is unset on a node without an IPv4 address:
 * the BGP identifier is 32 bits (RFC 6286 §2.1) and never an IPv6 address,
 * so an IPv6-only node needs CALICO_ROUTER_ID (Calico's documented `hash`).
 */
export function selectRouterId(nodeName: string, nodeIPv4: string | undefined, calicoRouterId?: string): string {
  if (!calicoRouterId) {
    if (!nodeIPv4) throw new Error('CALICO_ROUTER_ID is not set and this node has no IPv4 address: an IPv6-only node needs CALICO_ROUTER_ID ("hash" or an IPv4 address) for its 32-bit BGP identifier');
    return nodeIPv4;
  }
  if (calicoRouterId === 'hash') return hashToIPv4(nodeName);
  if (!isIPv4(calicoRouterId)) throw new Error(`CALICO_ROUTER_ID: "${calicoRouterId}" is neither "hash" nor an IPv4 address`);
  return calicoRouterId;
}
