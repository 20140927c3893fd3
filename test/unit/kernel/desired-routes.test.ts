import { describe, expect, it } from 'vitest';
import { parseIpv4, parsePrefix } from '../../../src/bgp/prefix.js';
import type { LocalBlock, NodeIdentity, Pool } from '../../../src/datastore/desired.js';
import { blockRoute, clusterRoutesPolicy, computeDesiredRoutes, RouteContext } from '../../../src/kernel/desired-routes.js';
import { formatRoute } from '../../../src/kernel/route.js';

const node: NodeIdentity = { name: 'node-a', ipv4: '10.10.20.5', ipv4PrefixLen: 24, asNumber: 64512, routerId: '10.10.20.5' };

function pool(cidr: string, ipipMode: Pool['ipipMode'], vxlanMode: Pool['vxlanMode'] = 'Never'): Pool {
  return { name: cidr, cidr, ipipMode, vxlanMode, disabled: false, disableBGPExport: false, natOutgoing: true, blockSize: 26 };
}

function learned(ctx: RouteContext, cidr: string, nh: string): string | null {
  const r = ctx.learnedRoute(parsePrefix(cidr), parseIpv4(nh));
  return r ? formatRoute(r) : null;
}

describe('desired routes (calico-node BIRD forms)', () => {
  it('ipipMode Always: via the next hop over tunl0, onlink (seed form)', () => {
    const ctx = new RouteContext({ node, pools: [pool('192.168.0.0/16', 'Always')] });
    expect(learned(ctx, '192.168.163.0/26', '20.20.2.4')).toBe('192.168.163.0/26 via 20.20.2.4 dev tunl0 proto bird onlink');
    // Always tunnels even inside the node's own subnet.
    expect(learned(ctx, '192.168.164.0/26', '10.10.20.4')).toBe('192.168.164.0/26 via 10.10.20.4 dev tunl0 proto bird onlink');
  });

  it('CrossSubnet: direct inside the node subnet, tunl0 onlink outside it', () => {
    const ctx = new RouteContext({ node, pools: [pool('10.8.0.0/16', 'CrossSubnet')] });
    expect(learned(ctx, '10.8.5.0/26', '10.10.20.4')).toBe('10.8.5.0/26 via 10.10.20.4 proto bird');
    expect(learned(ctx, '10.8.6.0/26', '10.10.21.4')).toBe('10.8.6.0/26 via 10.10.21.4 dev tunl0 proto bird onlink');
  });

  it('CrossSubnet follows the node prefix length, not a fixed /24', () => {
    const wide = new RouteContext({ node: { ...node, ipv4PrefixLen: 16 }, pools: [pool('10.8.0.0/16', 'CrossSubnet')] });
    expect(learned(wide, '10.8.6.0/26', '10.10.21.4')).toBe('10.8.6.0/26 via 10.10.21.4 proto bird');
  });

  it('ipipMode Never and prefixes in no pool get the direct route', () => {
    const ctx = new RouteContext({ node, pools: [pool('10.8.0.0/16', 'Never')] });
    expect(learned(ctx, '10.8.5.0/26', '10.10.20.4')).toBe('10.8.5.0/26 via 10.10.20.4 proto bird');
    expect(learned(ctx, '172.16.0.0/26', '10.10.20.4')).toBe('172.16.0.0/26 via 10.10.20.4 proto bird');
  });

  it('VXLAN pools produce no route', () => {
    const ctx = new RouteContext({ node, pools: [pool('10.9.0.0/16', 'Never', 'Always'), pool('10.7.0.0/16', 'Never', 'CrossSubnet')] });
    expect(learned(ctx, '10.9.1.0/26', '10.10.20.4')).toBeNull();
    expect(learned(ctx, '10.7.1.0/26', '10.10.21.4')).toBeNull();
  });

  it('the most specific pool decides', () => {
    const ctx = new RouteContext({ node, pools: [pool('10.0.0.0/8', 'Always'), pool('10.8.0.0/16', 'Never')] });
    expect(learned(ctx, '10.8.1.0/26', '10.10.21.4')).toBe('10.8.1.0/26 via 10.10.21.4 proto bird');
    expect(learned(ctx, '10.9.1.0/26', '10.10.21.4')).toBe('10.9.1.0/26 via 10.10.21.4 dev tunl0 proto bird onlink');
  });

  it('programClusterRoutes Disabled / EnabledNoEncapOnly: no IPIP routes, direct routes stay, and status says so', () => {
    for (const value of ['Disabled', 'EnabledNoEncapOnly']) {
      const ctx = new RouteContext({ node, pools: [pool('192.168.0.0/16', 'Always'), pool('10.8.0.0/16', 'CrossSubnet')], programClusterRoutes: value });
      expect(learned(ctx, '192.168.163.0/26', '20.20.2.4')).toBeNull();
      expect(learned(ctx, '10.8.6.0/26', '10.10.21.4')).toBeNull();
      expect(learned(ctx, '10.8.5.0/26', '10.10.20.4')).toBe('10.8.5.0/26 via 10.10.20.4 proto bird');
      expect(ctx.policy.programIpip).toBe(false);
      expect(ctx.policy.note).toContain(value);
    }
    for (const value of [undefined, 'Enabled', 'EnabledIPIPOnly']) {
      expect(clusterRoutesPolicy(value).programIpip).toBe(true);
    }
  });

  it('a custom tunnel device name is used', () => {
    const ctx = new RouteContext({ node, pools: [pool('192.168.0.0/16', 'Always')], tunnelDevice: 'tun9' });
    expect(learned(ctx, '192.168.163.0/26', '20.20.2.4')).toBe('192.168.163.0/26 via 20.20.2.4 dev tun9 proto bird onlink');
  });

  it('blackholes: confirmed and legacy-empty blocks, not pending ones, not /32', () => {
    const b = (cidr: string, state: string) => blockRoute({ cidr, state } as LocalBlock);
    expect(formatRoute(b('192.168.160.192/26', 'confirmed')!)).toBe('blackhole 192.168.160.192/26 proto bird');
    expect(formatRoute(b('10.8.94.64/27', '')!)).toBe('blackhole 10.8.94.64/27 proto bird');
    expect(b('192.168.160.0/26', 'pending')).toBeNull();
    expect(b('192.168.160.64/26', 'pendingDeletion')).toBeNull();
    expect(b('192.168.160.7/32', 'confirmed')).toBeNull();
  });

  it('our own blocks win over learned routes; pending blocks do not', () => {
    const ctx = new RouteContext({ node, pools: [pool('192.168.0.0/16', 'Always')] });
    const paths = new Map([
      [parsePrefix('192.168.160.192/26'), parseIpv4('20.20.2.4')],
      [parsePrefix('192.168.161.0/26'), parseIpv4('20.20.2.4')],
      [parsePrefix('192.168.162.9/32'), parseIpv4('20.20.2.4')],
    ]);
    const blocks: LocalBlock[] = [
      { cidr: '192.168.160.192/26', state: 'confirmed' },
      { cidr: '192.168.161.0/26', state: 'pending' },
      { cidr: '192.168.162.9/32', state: 'confirmed' },
    ];
    const out = [...computeDesiredRoutes(ctx, paths, blocks).values()].map(formatRoute).sort();
    expect(out).toEqual([
      '192.168.161.0/26 via 20.20.2.4 dev tunl0 proto bird onlink',
      'blackhole 192.168.160.192/26 proto bird',
    ]);
  });

  it('blocks outside every pool still get their blackhole', () => {
    const ctx = new RouteContext({ node, pools: [] });
    const out = computeDesiredRoutes(ctx, new Map(), [{ cidr: '172.30.0.0/26', state: 'confirmed' }]);
    expect([...out.values()].map(formatRoute)).toEqual(['blackhole 172.30.0.0/26 proto bird']);
  });
});
