/** BGP sessions over TCP: peers, listener, speaker (issue 4). */
export { Speaker, type SpeakerOptions } from './speaker.js';
export { Peer, type PeerStatus, type PeerCounters, type BirdState, type LocalSpeaker, type Logger, fsmConfigFor } from './peer.js';
export { Listener } from './listener.js';
export { TxQueue, type TxEncoder, type TxSink } from './tx-queue.js';
export { checkOpen } from './open-check.js';
export { resolveCollision, collisionWinner } from './collision.js';
export { isGracefulDown } from './graceful.js';
export { ListenerSecurity, connectWithOptions, needsSocketOptions } from './session-security.js';
