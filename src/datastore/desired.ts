/**
 * The datastore's output types live in src/contracts.ts, shared by every
 * part; re-exported here for the datastore's own modules.
 */
export * from '../contracts.js';
