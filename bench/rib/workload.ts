/**
 * The benchmark's workload, shared by the in-process and the socket benches:
 * `peers` feeders, each announcing `perPeer` distinct /26 prefixes as iBGP
 * route-reflector clients, pre-encoded into full 4096-byte UPDATEs with the
 * codec's packUpdates (as a BIRD or agent peer would send them).
 */
import { DEFAULT_CONTEXT, encodeAttributes, endOfRib, packUpdates, type DecodeContext } from '../../src/bgp/codec/index.js';
import { prefixKey } from '../../src/bgp/prefix.js';

export const BENCH_AS = 64512;
/** Feeder i uses source address 127.0.0.(11 + i) and router id 10.0.1.(1 + i). */
export const feederAddress = (i: number): string => `127.0.0.${11 + i}`;
export const feederRouterId = (i: number): string => `10.0.1.${1 + i}`;

/** Feeder i's prefixes: 32.0.0.0 + i * 2^23 + j * 64, /26 (distinct across feeders). */
export function feederKeys(i: number, perPeer: number): number[] {
  const keys = new Array<number>(perPeer);
  const base = 0x20000000 + i * 0x800000;
  for (let j = 0; j < perPeer; j++) keys[j] = prefixKey(base + j * 64, 26);
  return keys;
}

export const SEND_CONTEXT: DecodeContext = { ...DEFAULT_CONTEXT, as4: true, addPath: new Set<number>() };

/** Pre-encoded UPDATEs (then End-of-RIB) for feeder i. */
export function feederUpdates(i: number, perPeer: number, ctx: DecodeContext = SEND_CONTEXT): Buffer[] {
  const attrs = encodeAttributes({ origin: 0, asPath: [], nextHop: feederAddress(i), localPref: 100 }, ctx);
  const msgs = packUpdates(attrs, feederKeys(i, perPeer), null, ctx);
  msgs.push(endOfRib(1, 1, ctx));
  return msgs;
}
