/** Calico's block and pool rules (src/calico/ipam-rules.ts), the one source the datastore, RIB and kernel share. */
import { describe, expect, it } from 'vitest';
import { blockDisposition, learnedExported, PoolIndex } from '../../../src/calico/ipam-rules.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';

describe('block disposition (what confd renders for calico-node BIRD)', () => {
  const quiet = { name: 'quiet', disableBGPExport: true };
  const open = { name: 'open', disableBGPExport: false };
  it.each([
    ['confirmed, in a pool', 'confirmed', 26, open, { blackhole: true, exported: true, reason: 'confirmed, pool open' }],
    ['confirmed, outside any pool', 'confirmed', 26, undefined, { blackhole: true, exported: true, reason: 'confirmed, outside any pool' }],
    ['legacy empty affinity = confirmed', '', 26, open, { blackhole: true, exported: true, reason: 'confirmed, pool open' }],
    ['a /32 block: exported, no blackhole', 'confirmed', 32, open, { blackhole: false, exported: true, reason: 'confirmed, pool open' }],
    ['pool with disableBGPExport: blackhole only', 'confirmed', 26, quiet, { blackhole: true, exported: false, reason: 'pool quiet has disableBGPExport' }],
    ['pending: neither', 'pending', 26, open, { blackhole: false, exported: false, reason: 'affinity pending' }],
    ['pendingDeletion: neither', 'pendingDeletion', 26, open, { blackhole: false, exported: false, reason: 'affinity pendingDeletion' }],
  ] as const)('%s', (_n, state, len, pool, want) => {
    expect(blockDisposition(state, len, pool)).toEqual(want);
  });
});

describe('PoolIndex: the most specific IPv4 pool covering a prefix', () => {
  const index = new PoolIndex([
    { cidr: '10.244.0.0/16', name: 'wide' },
    { cidr: '10.244.128.0/17', name: 'narrow' },
    { cidr: 'fd00:244::/64', name: 'v6' },
    { cidr: 'not-a-cidr', name: 'bad' },
  ]);
  it('picks the longest covering pool whatever the order given, none outside', () => {
    expect(index.of(parsePrefix('10.244.1.0/26'))?.name).toBe('wide');
    expect(index.of(parsePrefix('10.244.200.0/26'))?.name).toBe('narrow');
    expect(index.of(parsePrefix('10.245.0.0/26'))).toBeUndefined();
  });
  it('learned routes go to peers only inside a pool whose export is on', () => {
    expect(learnedExported(undefined)).toBe(false);
    expect(learnedExported({ disableBGPExport: true })).toBe(false);
    expect(learnedExported({ disableBGPExport: false })).toBe(true);
  });
});
