/**
 * Addresses and prefixes shared by the feeders and the runner. Simulated node
 * / feeder i sits on 10.77.(1 + i/250).(1 + i%250) (lab.ts makes those
 * addresses), its router id is that address, and every session is iBGP in
 * Calico's default AS.
 */
import { pkey } from './wire.js';

export const AS_NUMBER = 64512;

export function feederAddress(i: number): string {
  return `10.77.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** Ingest prefixes of feeder i: 32.0.0.0 + i * 2^23 + j * 64, /26 (inside the benchmark pool 32.0.0.0/4). */
export function feederKeys(i: number, perPeer: number): number[] {
  const base = 0x20000000 + i * 0x800000;
  const keys = new Array<number>(perPeer);
  for (let j = 0; j < perPeer; j++) keys[j] = pkey(base + j * 64, 26);
  return keys;
}

/** Node i's block in the mesh and RR scenarios: 100.64.0.0 + i * 64, /26 (pool 100.64.0.0/10). */
export function nodeBlock(i: number): number {
  return pkey(0x64400000 + i * 64, 26);
}
/** Extra blocks used for changes: 100.96.0.0 + j * 64, /26. */
export function changeBlock(j: number): number {
  return pkey(0x64600000 + j * 64, 26);
}
export const NODE_POOL = '100.64.0.0/10';
export const FEED_POOL = '32.0.0.0/4';
