/**
 * The mesh bring-up workload, shared by the feeder, our speaker process and
 * the runner: N Calico nodes in one /16 (10.77.0.0/16), the speaker under
 * test on 10.77.0.1, node i on its own address, every node announcing the
 * one /26 IPAM block affine to it (Calico's default block size).
 */
import { parseIpv4, prefixKey } from '../../src/bgp/prefix.js';

/** Calico's default AS: every mesh session is iBGP. */
export const MESH_AS = 64512;
export const SUT_ADDRESS = '10.77.0.1';
export const SUBNET_LENGTH = 16;
/** Most nodes one /16 holds with 250 addresses per third octet (10.77.1.1 .. 10.77.255.250). */
export const MAX_NODES = 255 * 250;

/** Node i (0-based) sits on 10.77.(1 + i/250).(1 + i%250): never 10.77.0.1, never .0 or .255. */
export function nodeAddress(i: number): string {
  if (i < 0 || i >= MAX_NODES) throw new Error(`node index ${i} out of range 0..${MAX_NODES - 1}`);
  return `10.77.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** Node i's block: 100.64.0.0 + i * 64, /26 (distinct for every node; 100.64.0.0/10 holds 65536 of them). */
export const BLOCK_BASE = parseIpv4('100.64.0.0');
export function nodeBlockKey(i: number): number {
  return prefixKey(BLOCK_BASE + i * 64, 26);
}

/** The session name confd renders for a mesh peer (Mesh_10_77_1_1). */
export function meshSessionName(address: string): string {
  return `Mesh_${address.replace(/[.:]/g, '_')}`;
}
