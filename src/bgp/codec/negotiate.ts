/**
 * What two OPENs agree on (RFC 5492 §3: a capability is in use when both
 * sides advertise it), and the decode contexts that follow for each
 * direction: 4-octet AS (RFC 6793 §4), ADD-PATH per AFI/SAFI and direction
 * (RFC 7911 §4), extended messages (RFC 8654 §3), multiprotocol families
 * (RFC 4760 §8; IPv4 unicast is implied for a side that sends no MP capability).
 */
import { familyKey, type Capability, type DecodeContext, type OpenMessage } from './types.js';

export interface Negotiated {
  as4: boolean;
  /** The peer's real AS: from its 4-octet AS capability when present, else My AS. */
  remoteAs: number;
  /** min of both Hold Times (RFC 4271 §4.2); 0 means no keepalives. */
  holdTime: number;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  extendedMessage: boolean;
  families: { afi: number; safi: number }[];
  /** familyKey()s for which received NLRI carry path ids. */
  addPathReceive: Set<number>;
  /** familyKey()s for which NLRI we send carry path ids. */
  addPathSend: Set<number>;
  gracefulRestart: {
    remote: {
      restartTime: number;
      restartState: boolean;
      notification: boolean;
      families: { afi: number; safi: number; forwardingState: boolean }[];
    } | null;
  };
  remoteHostname?: string;
  receiveContext: DecodeContext;
  sendContext: DecodeContext;
}

function find<N extends Capability['name']>(open: OpenMessage, name: N): Extract<Capability, { name: N }> | undefined {
  return open.capabilities.find((c) => c.name === name) as Extract<Capability, { name: N }> | undefined;
}

function has(open: OpenMessage, name: Capability['name']): boolean {
  return open.capabilities.some((c) => c.name === name);
}

function familiesOf(open: OpenMessage): Set<number> {
  const mp = open.capabilities.filter((c): c is Extract<Capability, { name: 'multiprotocol' }> => c.name === 'multiprotocol');
  return new Set(mp.length === 0 ? [familyKey(1, 1)] : mp.map((c) => familyKey(c.afi, c.safi)));
}

/** ADD-PATH Send/Receive value per family from one side's capability (last one wins, RFC 7911 §4). */
function addPathOf(open: OpenMessage): Map<number, number> {
  const out = new Map<number, number>();
  for (const c of open.capabilities) {
    if (c.name === 'add-path') for (const f of c.families) out.set(familyKey(f.afi, f.safi), f.sendReceive);
  }
  return out;
}

export function negotiate(local: OpenMessage, remote: OpenMessage): Negotiated {
  const localAs4 = find(local, 'as4');
  const remoteAs4 = find(remote, 'as4');
  const as4 = localAs4 !== undefined && remoteAs4 !== undefined;
  const localFamilies = familiesOf(local);
  const remoteFamilies = familiesOf(remote);
  const families: { afi: number; safi: number }[] = [];
  for (const key of localFamilies) if (remoteFamilies.has(key)) families.push({ afi: key >> 8, safi: key & 255 });

  const localAddPath = addPathOf(local);
  const remoteAddPath = addPathOf(remote);
  const addPathReceive = new Set<number>();
  const addPathSend = new Set<number>();
  for (const { afi, safi } of families) {
    const key = familyKey(afi, safi);
    const mine = localAddPath.get(key) ?? 0;
    const theirs = remoteAddPath.get(key) ?? 0;
    if (mine & 1 && theirs & 2) addPathReceive.add(key); // we receive, they send
    if (mine & 2 && theirs & 1) addPathSend.add(key);
  }

  const extendedMessage = has(local, 'extended-message') && has(remote, 'extended-message');
  const gr = find(remote, 'graceful-restart');
  const fqdn = find(remote, 'fqdn');
  const result: Negotiated = {
    as4,
    remoteAs: remoteAs4 ? remoteAs4.asn : remote.myAs,
    holdTime: Math.min(local.holdTime, remote.holdTime),
    routeRefresh:
      (has(local, 'route-refresh') || has(local, 'route-refresh-old')) &&
      (has(remote, 'route-refresh') || has(remote, 'route-refresh-old')),
    enhancedRouteRefresh: has(local, 'enhanced-route-refresh') && has(remote, 'enhanced-route-refresh'),
    extendedMessage,
    families,
    addPathReceive,
    addPathSend,
    gracefulRestart: {
      remote: gr
        ? {
            restartTime: gr.restartTime,
            restartState: gr.restartState,
            notification: gr.notification,
            families: gr.families.map((f) => ({ ...f })),
          }
        : null,
    },
    receiveContext: { as4, addPath: addPathReceive, extendedMessage },
    sendContext: { as4, addPath: addPathSend, extendedMessage },
  };
  if (fqdn) result.remoteHostname = fqdn.domain ? `${fqdn.hostname}.${fqdn.domain}` : fqdn.hostname;
  return result;
}
