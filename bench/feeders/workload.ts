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

/** Feeder i's IPv6 address (dual-stack scenarios): fd77::<1 + i/250>:<1 + i%250>, beside its IPv4 address. */
export function feederAddress6(i: number): string {
  return `fd77::${(1 + Math.floor(i / 250)).toString(16)}:${(1 + (i % 250)).toString(16)}`;
}

/**
 * IPv6 ingest prefixes of feeder i in their wire form (length octet + 16 octets each):
 * fd10:0:<i>::/48 + j * 64 in the low 32 bits, /122 (Calico's IPv6 block size; inside FEED6_POOL).
 */
export function feederNlri6(i: number, perPeer: number): Buffer {
  const b = Buffer.alloc(perPeer * 17);
  for (let j = 0; j < perPeer; j++) {
    const p = j * 17;
    b[p] = 122;
    b.writeUInt32BE(0xfd100000, p + 1);
    b.writeUInt16BE(i, p + 5);
    b.writeUInt32BE(j * 64, p + 13);
  }
  return b;
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
export const FEED6_POOL = 'fd10::/16';
