/**
 * Which sessions an operator means by a name on the command line: the
 * session's own name as BIRD names its protocol (`Mesh_10_0_0_2`,
 * `Global_...`, `Node_...`), the peer's address, or the BGPPeer resource it
 * comes from (`kubectl get bgppeers` names; one resource can make several
 * sessions, e.g. with a peerSelector). The first kind that matches wins, so a
 * BGPPeer named like a session cannot shadow it. Pure, no imports: the CLI
 * and the agent both use it.
 */
export interface NamedPeer {
  name: string;
  address: string;
  bgpPeer?: string;
}

export function matchPeers<T extends NamedPeer>(peers: readonly T[], query: string): T[] {
  for (const pick of [(p: T) => p.name === query, (p: T) => p.address === query, (p: T) => p.bgpPeer === query]) {
    const found = peers.filter(pick);
    if (found.length) return found;
  }
  return [];
}

/** The error for a name that matches nothing, listing what would. */
export function noSuchPeer(peers: readonly NamedPeer[], query: string): string {
  const known = peers.map((p) => p.name + (p.bgpPeer ? ` (BGPPeer ${p.bgpPeer})` : ''));
  return `no peer "${query}" (by session name, address or BGPPeer name); known: ${known.join(', ') || 'none'}`;
}
