import { describe, expect, it } from 'vitest';
import type { LocalBlock, Pool } from '../../../src/datastore/desired.js';
import { parsePrefix } from '../../../src/bgp/prefix.js';
import { originatedRoutes, parseCommunity } from '../../../src/bgp/rib/calico-policy.js';
import { Rib } from '../../../src/bgp/rib/rib.js';

const pool = (name: string, cidr: string, extra: Partial<Pool> = {}): Pool => ({
  name, cidr, ipipMode: 'Always', vxlanMode: 'Never', disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26, ...extra,
});

const POOLS = [
  pool('default', '192.168.0.0/16'),
  pool('noexport', '10.50.0.0/16', { disableBGPExport: true }),
  pool('disabled', '10.60.0.0/16', { disabled: true }),
  pool('hosts', '10.70.0.0/24', { blockSize: 32 }),
];

const rows: { name: string; block: LocalBlock; exported: boolean; blackholed: boolean }[] = [
  { name: 'confirmed block in a pool', block: { cidr: '192.168.1.0/26', state: 'confirmed' }, exported: true, blackholed: true },
  { name: 'pending block', block: { cidr: '192.168.2.0/26', state: 'pending' }, exported: false, blackholed: false },
  { name: 'pendingDeletion block', block: { cidr: '192.168.3.0/26', state: 'pendingDeletion' }, exported: false, blackholed: false },
  { name: 'pool with disableBGPExport: blackholed, not exported', block: { cidr: '10.50.1.0/26', state: 'confirmed' }, exported: false, blackholed: true },
  { name: 'disabled pool still exports (docs/ARCHITECTURE.md: disabled plays no part)', block: { cidr: '10.60.1.0/26', state: 'confirmed' }, exported: true, blackholed: true },
  { name: '/32 block: exported, no blackhole', block: { cidr: '10.70.0.5/32', state: 'confirmed' }, exported: true, blackholed: false },
  { name: 'block outside any pool is still exported', block: { cidr: '172.31.0.0/26', state: 'confirmed' }, exported: true, blackholed: true },
  { name: 'a /28 block (block sizes vary)', block: { cidr: '192.168.9.16/28', state: 'confirmed' }, exported: true, blackholed: true },
];

describe('Calico export policy', () => {
  for (const row of rows) {
    it(row.name, () => {
      const r = originatedRoutes([row.block], POOLS);
      expect(r.decisions).toHaveLength(1);
      expect(r.decisions[0].exported).toBe(row.exported);
      expect(r.decisions[0].blackholed).toBe(row.blackholed);
      expect(r.routes.has(parsePrefix(row.block.cidr))).toBe(row.exported);
    });
  }

  it('attaches prefixAdvertisements communities to covered blocks only', () => {
    const r = originatedRoutes(
      [{ cidr: '192.168.1.0/26', state: 'confirmed' }, { cidr: '172.31.0.0/26', state: 'confirmed' }],
      POOLS,
      [
        { cidr: '192.168.0.0/16', communities: ['65001:100', '65001:200:300'] },
        { cidr: '192.168.1.0/26', communities: ['65001:50'] },
        { cidr: '10.0.0.0/8', communities: ['65001:999'] },
      ],
    );
    expect(r.routes.get(parsePrefix('192.168.1.0/26'))).toEqual({
      communities: [65001 * 65536 + 50, 65001 * 65536 + 100],
      largeCommunities: [[65001, 200, 300]],
    });
    expect(r.routes.get(parsePrefix('172.31.0.0/26'))).toEqual({});
    expect(r.problems).toEqual([]);
  });

  it('reports unusable communities and cidrs instead of failing', () => {
    const r = originatedRoutes([{ cidr: 'nonsense', state: 'confirmed' }, { cidr: '192.168.1.0/26', state: 'confirmed' }], POOLS, [
      { cidr: '192.168.0.0/16', communities: ['bogus', '70000:1'] },
    ]);
    expect(r.routes.size).toBe(1);
    expect(r.problems).toHaveLength(3);
  });

  it('parses community forms', () => {
    expect(parseCommunity('65535:65535')).toEqual({ standard: 0xffffffff });
    expect(parseCommunity('4200000000:1:2')).toEqual({ large: [4200000000, 1, 2] });
    expect(parseCommunity('1:2:3:4')).toBeNull();
  });

  it('feeds the RIB: own routes with ORIGIN IGP, empty AS_PATH, LOCAL_PREF 100, node IP next hop', () => {
    const rib = new Rib({ localAs: 64512, routerId: '10.0.0.1', localAddress: '10.0.0.1' });
    const r = originatedRoutes([{ cidr: '192.168.1.0/26', state: 'confirmed' }, { cidr: '10.50.1.0/26', state: 'confirmed' }], POOLS);
    rib.setLocalRoutes(r.routes);
    expect(rib.size()).toBe(1);
    const l = rib.lookup(parsePrefix('192.168.1.0/26'));
    expect(l.best?.peer).toBeNull();
    expect(l.best?.attrs.attrs).toEqual({ origin: 0, asPath: [], nextHop: '10.0.0.1', localPref: 100 });
    // A block turning pending disappears.
    rib.setLocalRoutes(originatedRoutes([{ cidr: '192.168.1.0/26', state: 'pendingDeletion' }], POOLS).routes);
    expect(rib.size()).toBe(0);
  });
});
