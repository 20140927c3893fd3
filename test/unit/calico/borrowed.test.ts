/**
 * borrowedAddresses, confd's calico_export_to_bgp_peers order for a route of
 * the kernel protocol, in both families (bird and bird6 render the same).
 */
import { describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix } from '../../../src/bgp/prefix.js';
import { formatPrefix6, parsePrefix6 } from '../../../src/bgp/prefix6.js';
import { borrowedAddresses } from '../../../src/calico/borrowed.js';
import type { LocalBlock, Pool } from '../../../src/contracts.js';

const pool = (name: string, cidr: string, disableBGPExport = false): Pool => ({ name, cidr, ipipMode: 'Never', vxlanMode: 'Never', disabled: false, disableBGPExport, natOutgoing: false, blockSize: 26 });

describe('borrowedAddresses', () => {
  const pools = [pool('v4', '10.244.0.0/16'), pool('quiet', '10.250.0.0/16', true), pool('v6', 'fd00:245::/64')];
  const blocks: LocalBlock[] = [
    { cidr: '10.244.1.0/26', state: 'confirmed' },
    { cidr: '10.244.2.0/26', state: 'pendingDeletion' },
    { cidr: 'fd00:245::100/122', state: 'confirmed' },
  ];

  it('IPv4: inside an enabled pool and outside every confirmed own block, whatever the length', () => {
    const alien = ['10.244.9.5/32', '10.244.1.7/32', '10.244.2.9/32', '10.250.0.4/32', '192.168.1.1/32', '10.244.1.0/26', '10.244.40.0/28'].map((c) => parsePrefix(c));
    expect(borrowedAddresses(alien, blocks, pools).map(formatPrefix)).toEqual(['10.244.9.5/32', '10.244.2.9/32', '10.244.40.0/28']);
  });

  it('IPv6: /128s the same way, against IPv6 blocks and pools only', () => {
    const alien = ['fd00:245::5/128', 'fd00:245::105/128', 'fd00:999::1/128'].map((c) => parsePrefix6(c, true));
    expect(borrowedAddresses(alien, blocks, pools).map(formatPrefix6)).toEqual(['fd00:245::5/128']);
  });

  it('a malformed block covers nothing and stops nothing', () => {
    expect(borrowedAddresses([parsePrefix('10.244.9.5/32')], [{ cidr: 'nonsense', state: 'confirmed' }], pools).map(formatPrefix)).toEqual(['10.244.9.5/32']);
  });
});
