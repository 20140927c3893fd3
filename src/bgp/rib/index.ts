/** The RIB (issue 5): Adj-RIB-In -> best path -> Loc-RIB -> Adj-RIB-Out, Calico export policy. */
export { Rib, type RibOptions, type RibPeer, type PeerUpInfo, type BestPathChange, type LocalRoute, type LookupResult, type PathView, type PeerCounters } from './rib.js';
export { bestPath, comparePaths, BEST_PATH_STEPS, type BestPathResult, type BestPathStep } from './best-path.js';
export { importRejection, exportAttributes, prepend, type LocalSpeaker } from './propagation.js';
export { originatedRoutes, originatedFromDesired, decideBlock, poolOf, parseCommunity, type BlockDecision, type OriginatedRoutes, type PrefixAdvertisement } from './calico-policy.js';
