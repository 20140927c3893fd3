/**
 * Connection collision detection (RFC 4271 §6.8).
 *
 * When two connections to the same peer both reach OPEN, the BGP identifiers
 * decide: the connection initiated by the speaker with the higher identifier
 * survives. Compared as unsigned 32-bit integers ("treated as 4-octet
 * unsigned integers").
 */
import { parseIpv4 } from '../prefix.js';

export type Initiator = 'local' | 'remote';

/** Which side's connection to keep. */
export function collisionWinner(localId: string, remoteId: string): Initiator {
  return parseIpv4(localId) < parseIpv4(remoteId) ? 'remote' : 'local';
}

/**
 * Decide between the current connection (`existing`, with its initiator) and a
 * newly accepted one (always initiated by the peer) whose OPEN carried
 * `remoteId`. Returns which of the two to close.
 *
 * An Established connection always wins (§6.8: collision with an Established
 * connection closes the new one) unless `replaceEstablished`: the peer
 * negotiated graceful restart and its new OPEN sets the Restart State bit
 * (RFC 4724 §4.2), so it has restarted and the old session is treated as
 * dropped.
 */
export function resolveCollision(opts: {
  existing: Initiator;
  existingEstablished: boolean;
  replaceEstablished: boolean;
  localId: string;
  remoteId: string;
}): 'close-existing' | 'close-new' {
  if (opts.existingEstablished) return opts.replaceEstablished ? 'close-existing' : 'close-new';
  // Both initiated by the peer: the newer one is the one the peer still cares about.
  if (opts.existing === 'remote') return 'close-existing';
  return collisionWinner(opts.localId, opts.remoteId) === 'remote' ? 'close-existing' : 'close-new';
}
